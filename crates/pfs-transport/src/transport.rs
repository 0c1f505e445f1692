//! The [`Transport`] trait: how envelopes travel between devices.
//!
//! A transport carries **opaque envelope bytes** (the RLP of a Whisper v6 envelope, see
//! the envelope module) labelled with the little metadata that routing and storage need.
//! It never decrypts and never parses the envelope: to stay independent of the envelope
//! encoder, the sender passes that metadata beside the bytes as an [`EnvelopeMeta`]
//! (the 4-byte topic and the expiry in Unix seconds, both already inside the RLP). The
//! envelope hash (Whisper's id, `Keccak256(RLP)`) is the Keccak-256 of the bytes as a
//! whole, so the transport computes it without parsing ([`CarriedEnvelope::hash`]); it is
//! used to drop duplicates.
//!
//! Three operations, all synchronous (blocking) so that the protocol layer and the CLI
//! need no async runtime:
//! * [`Transport::publish`] sends an envelope to everyone listening on its topic.
//! * [`Transport::subscribe`] returns a [`Subscription`], a channel receiving every
//!   envelope published on one of the given topics from then on, **including those
//!   published through the same transport handle** (the protocol layer must accept its
//!   own messages anyway: they also come back from history).
//! * [`Transport::fetch_history`] asks a store (mailserver) for the envelopes it received
//!   on a set of topics within a time range, so that a device that was offline catches up.
//!   The time range is over the **arrival time at the store** (Unix seconds), not over the
//!   envelope's expiry; results come in arrival order. Stores keep envelopes for their
//!   retention period (30 days by default) even after the envelope's own expiry (Status
//!   TTLs are 10–15 s, far too short for offline devices).
//!
//! Two implementations exist: [`InMemoryTransport`] here (a shared hub for tests and
//! single-process simulations) and the libp2p node in the `pfs-node` crate.
//!
//! Delivery is at most once per subscription and best effort: a subscription whose
//! receiver is dropped is forgotten; a subscription that does not keep up (more than
//! [`SUBSCRIPTION_CAPACITY`] envelopes waiting) loses the newest ones (logged), which it can
//! recover from history.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A 4-byte Whisper topic (`Keccak256(name)[..4]` for Status topics).
pub type Topic = [u8; 4];

/// Largest envelope a transport accepts, in bytes (1 MiB).
pub const MAX_ENVELOPE_SIZE: usize = 1024 * 1024;

/// Largest number of topics in one history query or subscription.
pub const MAX_TOPICS: usize = 1024;

/// Envelopes a subscription buffers before new ones are dropped.
pub const SUBSCRIPTION_CAPACITY: usize = 4096;

/// How far in the future an expiry may lie before the envelope is refused (2 days).
/// Status TTLs are seconds; this only rejects garbage.
pub const MAX_EXPIRY_AHEAD_SECS: u64 = 2 * 24 * 3600;

/// How long a store keeps envelopes by default (30 days).
pub const DEFAULT_RETENTION_SECS: u64 = 30 * 24 * 3600;

/// Why a transport operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The envelope has no bytes.
    #[error("empty envelope")]
    Empty,
    /// The envelope is larger than [`MAX_ENVELOPE_SIZE`].
    #[error("envelope of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the refused envelope.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The envelope's expiry is already past.
    #[error("envelope expired at {expiry_unix} (now {now_unix})")]
    Expired {
        /// Expiry of the envelope, Unix seconds.
        expiry_unix: u64,
        /// The transport's current time, Unix seconds.
        now_unix: u64,
    },
    /// The envelope's expiry is more than [`MAX_EXPIRY_AHEAD_SECS`] ahead.
    #[error("envelope expiry {expiry_unix} is too far ahead of now ({now_unix})")]
    ExpiryTooFar {
        /// Expiry of the envelope, Unix seconds.
        expiry_unix: u64,
        /// The transport's current time, Unix seconds.
        now_unix: u64,
    },
    /// A history query or subscription is malformed.
    #[error("invalid query: {0}")]
    InvalidQuery(&'static str),
    /// Nobody could be given the envelope (no connected peer and no local store).
    #[error("no peer to deliver the envelope to")]
    NoPeers,
    /// No store (mailserver) is known or reachable.
    #[error("no store (mailserver) is reachable")]
    NoStore,
    /// The store refused or failed a history request.
    #[error("history request failed: {0}")]
    History(String),
    /// A network-level failure.
    #[error("network error: {0}")]
    Network(String),
    /// The operation did not complete in time.
    #[error("timed out")]
    Timeout,
    /// The transport (or the subscription) is shut down.
    #[error("transport closed")]
    Closed,
}

/// What the transport needs to know about an envelope besides its bytes.
///
/// Both fields are copies of fields inside the envelope's RLP; the sender fills them in
/// from the envelope it built, so the transport never parses RLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnvelopeMeta {
    /// The envelope's 4-byte topic.
    pub topic: Topic,
    /// The envelope's expiry (`now + ttl` at sending), Unix seconds.
    pub expiry_unix: u64,
}

/// An envelope as a transport carries it: metadata and the opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedEnvelope {
    /// Topic and expiry.
    pub meta: EnvelopeMeta,
    /// The envelope bytes (RLP), never interpreted by the transport.
    pub envelope: Vec<u8>,
}

impl CarriedEnvelope {
    /// The envelope's topic.
    pub fn topic(&self) -> Topic {
        self.meta.topic
    }

    /// The envelope id: `Keccak256` of the envelope bytes (Whisper's envelope hash).
    pub fn hash(&self) -> [u8; 32] {
        pfs_crypto::hash::keccak256(&self.envelope)
    }
}

/// Checks what every transport checks before carrying an envelope: not empty, at most
/// [`MAX_ENVELOPE_SIZE`] bytes, not expired, expiry not absurdly far ahead.
pub fn check_envelope(
    meta: &EnvelopeMeta,
    envelope: &[u8],
    now_unix: u64,
) -> Result<(), TransportError> {
    if envelope.is_empty() {
        return Err(TransportError::Empty);
    }
    if envelope.len() > MAX_ENVELOPE_SIZE {
        return Err(TransportError::TooLarge {
            size: envelope.len(),
            max: MAX_ENVELOPE_SIZE,
        });
    }
    if meta.expiry_unix < now_unix {
        return Err(TransportError::Expired {
            expiry_unix: meta.expiry_unix,
            now_unix,
        });
    }
    if meta.expiry_unix > now_unix.saturating_add(MAX_EXPIRY_AHEAD_SECS) {
        return Err(TransportError::ExpiryTooFar {
            expiry_unix: meta.expiry_unix,
            now_unix,
        });
    }
    Ok(())
}

/// Checks a topic list for a subscription or a history query: 1 to [`MAX_TOPICS`] topics.
pub fn check_topics(topics: &[Topic]) -> Result<(), TransportError> {
    if topics.is_empty() {
        return Err(TransportError::InvalidQuery("no topic"));
    }
    if topics.len() > MAX_TOPICS {
        return Err(TransportError::InvalidQuery("too many topics"));
    }
    Ok(())
}

/// The current time in Unix seconds (0 if the clock is before 1970).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A history request: envelopes on any of `topics` that arrived at the store between
/// `since_unix` and `until_unix` (both inclusive, Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Topics of interest (1 to [`MAX_TOPICS`]).
    pub topics: Vec<Topic>,
    /// Earliest arrival time, inclusive.
    pub since_unix: u64,
    /// Latest arrival time, inclusive.
    pub until_unix: u64,
}

impl HistoryQuery {
    /// Checks the topic count and that `since_unix <= until_unix`.
    pub fn check(&self) -> Result<(), TransportError> {
        check_topics(&self.topics)?;
        if self.since_unix > self.until_unix {
            return Err(TransportError::InvalidQuery("since is after until"));
        }
        Ok(())
    }
}

/// The receiving end of a subscription.
#[derive(Debug)]
pub struct Subscription {
    topics: Vec<Topic>,
    rx: Receiver<CarriedEnvelope>,
}

/// The sending end of a subscription, kept by the transport implementation.
#[derive(Debug, Clone)]
pub struct SubscriptionSender {
    topics: HashSet<Topic>,
    tx: SyncSender<CarriedEnvelope>,
}

/// What happened when a transport offered an envelope to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The subscription does not listen on that topic.
    NotWanted,
    /// Queued for the subscriber.
    Delivered,
    /// The subscriber's queue is full; the envelope was dropped for it.
    Full,
    /// The subscriber is gone; the implementation should forget this sender.
    Closed,
}

impl Subscription {
    /// Makes a connected pair for `topics` (checked with [`check_topics`]). Transport
    /// implementations keep the [`SubscriptionSender`] and return the [`Subscription`].
    pub fn channel(topics: &[Topic]) -> Result<(SubscriptionSender, Subscription), TransportError> {
        check_topics(topics)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(SUBSCRIPTION_CAPACITY);
        let mut unique = topics.to_vec();
        unique.sort_unstable();
        unique.dedup();
        Ok((
            SubscriptionSender {
                topics: unique.iter().copied().collect(),
                tx,
            },
            Subscription { topics: unique, rx },
        ))
    }

    /// The topics this subscription listens on (sorted, without duplicates).
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// Waits for the next envelope. Fails with [`TransportError::Closed`] when the
    /// transport is gone.
    pub fn recv(&self) -> Result<CarriedEnvelope, TransportError> {
        self.rx.recv().map_err(|_| TransportError::Closed)
    }

    /// Waits at most `timeout` for the next envelope; `Ok(None)` on timeout.
    pub fn recv_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<CarriedEnvelope>, TransportError> {
        match self.rx.recv_timeout(timeout) {
            Ok(e) => Ok(Some(e)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(TransportError::Closed),
        }
    }

    /// Returns the next envelope if one is waiting.
    pub fn try_recv(&self) -> Result<Option<CarriedEnvelope>, TransportError> {
        match self.rx.try_recv() {
            Ok(e) => Ok(Some(e)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(TransportError::Closed),
        }
    }
}

impl SubscriptionSender {
    /// Whether the subscription listens on `topic`.
    pub fn wants(&self, topic: &Topic) -> bool {
        self.topics.contains(topic)
    }

    /// Offers an envelope: queued if the subscription listens on its topic.
    pub fn offer(&self, envelope: &CarriedEnvelope) -> Delivery {
        if !self.wants(&envelope.meta.topic) {
            return Delivery::NotWanted;
        }
        match self.tx.try_send(envelope.clone()) {
            Ok(()) => Delivery::Delivered,
            Err(TrySendError::Full(_)) => {
                tracing::warn!(
                    topic = %hex_topic(&envelope.meta.topic),
                    "subscriber queue full, envelope dropped for it"
                );
                Delivery::Full
            }
            Err(TrySendError::Disconnected(_)) => Delivery::Closed,
        }
    }
}

/// Offers `envelope` to every sender and forgets those whose subscriber is gone.
pub fn fan_out(senders: &mut Vec<SubscriptionSender>, envelope: &CarriedEnvelope) {
    senders.retain(|s| s.offer(envelope) != Delivery::Closed);
}

/// Lowercase hex of a topic, for logs and docs.
pub fn hex_topic(topic: &Topic) -> String {
    topic.iter().map(|b| format!("{b:02x}")).collect()
}

/// Carries envelopes between devices. Object safe; all methods block.
pub trait Transport: Send + Sync {
    /// Sends an envelope to everyone listening on `meta.topic` (and to the stores).
    /// The envelope is checked with [`check_envelope`] first. Publishing the same bytes
    /// twice is not an error; the second copy is dropped as a duplicate.
    fn publish(&self, meta: EnvelopeMeta, envelope: Vec<u8>) -> Result<(), TransportError>;

    /// Starts receiving every envelope published on one of `topics` from now on.
    fn subscribe(&self, topics: &[Topic]) -> Result<Subscription, TransportError>;

    /// Fetches from a store the envelopes that arrived there on one of the query's topics
    /// within its time range, in arrival order.
    fn fetch_history(&self, query: &HistoryQuery) -> Result<Vec<CarriedEnvelope>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn publish(&self, meta: EnvelopeMeta, envelope: Vec<u8>) -> Result<(), TransportError> {
        (**self).publish(meta, envelope)
    }

    fn subscribe(&self, topics: &[Topic]) -> Result<Subscription, TransportError> {
        (**self).subscribe(topics)
    }

    fn fetch_history(&self, query: &HistoryQuery) -> Result<Vec<CarriedEnvelope>, TransportError> {
        (**self).fetch_history(query)
    }
}

/// A source of the current Unix time, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

struct StoredEnvelope {
    received_unix: u64,
    hash: [u8; 32],
    envelope: CarriedEnvelope,
}

#[derive(Default)]
struct Hub {
    subscribers: Vec<SubscriptionSender>,
    history: Vec<StoredEnvelope>,
    seen: HashSet<[u8; 32]>,
}

/// An in-process transport: every clone shares one hub, sees every other clone's
/// publishes, and the hub is also a store keeping history (for
/// [`DEFAULT_RETENTION_SECS`] unless configured otherwise).
#[derive(Clone)]
pub struct InMemoryTransport {
    hub: Arc<Mutex<Hub>>,
    clock: Clock,
    retention_secs: u64,
}

impl std::fmt::Debug for InMemoryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryTransport")
            .field("retention_secs", &self.retention_secs)
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryTransport {
    /// A new, empty hub using the system clock and the default retention.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(now_unix))
    }

    /// A new, empty hub reading the time from `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        InMemoryTransport {
            hub: Arc::new(Mutex::new(Hub::default())),
            clock,
            retention_secs: DEFAULT_RETENTION_SECS,
        }
    }

    /// Sets how long history is kept (applies to this hub, through every clone made
    /// afterwards from this value).
    pub fn with_retention_secs(mut self, secs: u64) -> Self {
        self.retention_secs = secs;
        self
    }

    /// Number of envelopes kept in history.
    pub fn history_len(&self) -> usize {
        self.lock().history.len()
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        // A panic while holding the lock cannot leave the hub inconsistent in a way that
        // matters more than losing the transport, so recover the guard.
        self.hub.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn purge(&self, hub: &mut Hub, now: u64) {
        let retention = self.retention_secs;
        let before = hub.history.len();
        let mut dropped = Vec::new();
        hub.history.retain(|s| {
            let keep = s.received_unix.saturating_add(retention) >= now;
            if !keep {
                dropped.push(s.hash);
            }
            keep
        });
        for h in &dropped {
            hub.seen.remove(h);
        }
        if hub.history.len() != before {
            tracing::debug!(
                dropped = before - hub.history.len(),
                "history past retention dropped"
            );
        }
    }
}

impl Transport for InMemoryTransport {
    fn publish(&self, meta: EnvelopeMeta, envelope: Vec<u8>) -> Result<(), TransportError> {
        let now = (self.clock)();
        check_envelope(&meta, &envelope, now)?;
        let carried = CarriedEnvelope { meta, envelope };
        let hash = carried.hash();
        let mut hub = self.lock();
        self.purge(&mut hub, now);
        if !hub.seen.insert(hash) {
            tracing::debug!("duplicate envelope dropped");
            return Ok(());
        }
        fan_out(&mut hub.subscribers, &carried);
        hub.history.push(StoredEnvelope {
            received_unix: now,
            hash,
            envelope: carried,
        });
        Ok(())
    }

    fn subscribe(&self, topics: &[Topic]) -> Result<Subscription, TransportError> {
        let (tx, sub) = Subscription::channel(topics)?;
        self.lock().subscribers.push(tx);
        Ok(sub)
    }

    fn fetch_history(&self, query: &HistoryQuery) -> Result<Vec<CarriedEnvelope>, TransportError> {
        query.check()?;
        let now = (self.clock)();
        let wanted: HashSet<Topic> = query.topics.iter().copied().collect();
        let mut hub = self.lock();
        self.purge(&mut hub, now);
        // `history` is in arrival order already (pushes happen under the lock with a
        // clock that is read under it too, except for clock jumps, hence the stable sort).
        let mut out: Vec<(u64, CarriedEnvelope)> = hub
            .history
            .iter()
            .filter(|s| {
                s.received_unix >= query.since_unix
                    && s.received_unix <= query.until_unix
                    && wanted.contains(&s.envelope.meta.topic)
            })
            .map(|s| (s.received_unix, s.envelope.clone()))
            .collect();
        out.sort_by_key(|(t, _)| *t);
        Ok(out.into_iter().map(|(_, e)| e).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    const T1: Topic = [1, 2, 3, 4];
    const T2: Topic = [5, 6, 7, 8];

    fn clocked(start: u64) -> (InMemoryTransport, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(start));
        let n = now.clone();
        (
            InMemoryTransport::with_clock(Arc::new(move || n.load(Ordering::SeqCst))),
            now,
        )
    }

    fn meta(topic: Topic, expiry_unix: u64) -> EnvelopeMeta {
        EnvelopeMeta { topic, expiry_unix }
    }

    #[test]
    fn clones_see_each_others_publishes_by_topic() {
        let (a, _) = clocked(1000);
        let b = a.clone();
        let sub_b = b.subscribe(&[T1]).unwrap();
        let sub_a = a.subscribe(&[T1, T2]).unwrap();
        a.publish(meta(T1, 1010), b"one".to_vec()).unwrap();
        b.publish(meta(T2, 1010), b"two".to_vec()).unwrap();

        let got = sub_b.try_recv().unwrap().unwrap();
        assert_eq!(got.envelope, b"one");
        assert_eq!(got.meta, meta(T1, 1010));
        assert_eq!(sub_b.try_recv().unwrap(), None, "T2 not subscribed by b");

        // a's own publish comes back to a's subscription too (documented echo).
        assert_eq!(sub_a.try_recv().unwrap().unwrap().envelope, b"one");
        assert_eq!(sub_a.try_recv().unwrap().unwrap().envelope, b"two");
        assert_eq!(sub_a.try_recv().unwrap(), None);
    }

    #[test]
    fn subscription_only_sees_later_envelopes() {
        let (a, _) = clocked(1000);
        a.publish(meta(T1, 1010), b"before".to_vec()).unwrap();
        let sub = a.subscribe(&[T1]).unwrap();
        a.publish(meta(T1, 1010), b"after".to_vec()).unwrap();
        assert_eq!(sub.try_recv().unwrap().unwrap().envelope, b"after");
        assert_eq!(sub.try_recv().unwrap(), None);
    }

    #[test]
    fn duplicates_are_dropped() {
        let (a, _) = clocked(1000);
        let sub = a.subscribe(&[T1]).unwrap();
        a.publish(meta(T1, 1010), b"x".to_vec()).unwrap();
        a.publish(meta(T1, 1010), b"x".to_vec()).unwrap();
        assert!(sub.try_recv().unwrap().is_some());
        assert_eq!(sub.try_recv().unwrap(), None);
        assert_eq!(a.history_len(), 1);
    }

    #[test]
    fn hash_is_keccak_of_bytes() {
        // Keccak-256 of the empty string (the well-known constant) and of "abc"
        // (Keccak team's test value).
        let e = CarriedEnvelope {
            meta: meta(T1, 0),
            envelope: b"abc".to_vec(),
        };
        let hex: String = e.hash().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
        );
    }

    #[test]
    fn bad_envelopes_are_refused() {
        let (a, _) = clocked(1000);
        assert_eq!(
            a.publish(meta(T1, 1010), vec![]),
            Err(TransportError::Empty)
        );
        assert_eq!(
            a.publish(meta(T1, 1010), vec![0; MAX_ENVELOPE_SIZE + 1]),
            Err(TransportError::TooLarge {
                size: MAX_ENVELOPE_SIZE + 1,
                max: MAX_ENVELOPE_SIZE
            })
        );
        assert!(
            a.publish(meta(T1, 1010), vec![0; MAX_ENVELOPE_SIZE])
                .is_ok()
        );
        assert_eq!(
            a.publish(meta(T1, 999), b"x".to_vec()),
            Err(TransportError::Expired {
                expiry_unix: 999,
                now_unix: 1000
            })
        );
        assert!(matches!(
            a.publish(meta(T1, 1000 + MAX_EXPIRY_AHEAD_SECS + 1), b"x".to_vec()),
            Err(TransportError::ExpiryTooFar { .. })
        ));
        assert_eq!(a.history_len(), 1);
    }

    #[test]
    fn history_by_topic_and_time_range_in_arrival_order() {
        let (a, now) = clocked(1000);
        for i in 0..10u64 {
            now.store(1000 + i, Ordering::SeqCst);
            let topic = if i % 2 == 0 { T1 } else { T2 };
            a.publish(meta(topic, 2000), vec![i as u8]).unwrap();
        }
        let q = |topics: Vec<Topic>, since_unix, until_unix| HistoryQuery {
            topics,
            since_unix,
            until_unix,
        };
        let ids =
            |v: Vec<CarriedEnvelope>| v.into_iter().map(|e| e.envelope[0]).collect::<Vec<_>>();
        assert_eq!(
            ids(a.fetch_history(&q(vec![T1], 0, u64::MAX)).unwrap()),
            [0, 2, 4, 6, 8]
        );
        assert_eq!(
            ids(a.fetch_history(&q(vec![T2], 1003, 1007)).unwrap()),
            [3, 5, 7]
        );
        assert_eq!(
            ids(a.fetch_history(&q(vec![T1, T2], 1004, 1005)).unwrap()),
            [4, 5]
        );
        assert!(
            a.fetch_history(&q(vec![[9; 4]], 0, u64::MAX))
                .unwrap()
                .is_empty()
        );
        // History outlives the envelopes' own expiry (mailserver semantics).
        now.store(5000, Ordering::SeqCst);
        assert_eq!(
            a.fetch_history(&q(vec![T1, T2], 0, u64::MAX))
                .unwrap()
                .len(),
            10
        );
    }

    #[test]
    fn history_past_retention_is_dropped() {
        let (a, now) = clocked(1000);
        let a = a.with_retention_secs(100);
        a.publish(meta(T1, 1010), b"old".to_vec()).unwrap();
        now.store(1050, Ordering::SeqCst);
        a.publish(meta(T1, 1060), b"new".to_vec()).unwrap();
        let all = HistoryQuery {
            topics: vec![T1],
            since_unix: 0,
            until_unix: u64::MAX,
        };
        assert_eq!(a.fetch_history(&all).unwrap().len(), 2);
        now.store(1101, Ordering::SeqCst);
        let got = a.fetch_history(&all).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].envelope, b"new");
        now.store(1151, Ordering::SeqCst);
        assert!(a.fetch_history(&all).unwrap().is_empty());
        assert_eq!(a.history_len(), 0);
    }

    #[test]
    fn bad_queries_are_refused() {
        let (a, _) = clocked(1000);
        let q = |topics: Vec<Topic>, since_unix, until_unix| HistoryQuery {
            topics,
            since_unix,
            until_unix,
        };
        assert_eq!(
            a.fetch_history(&q(vec![], 0, 1)),
            Err(TransportError::InvalidQuery("no topic"))
        );
        assert_eq!(
            a.fetch_history(&q(vec![T1], 2, 1)),
            Err(TransportError::InvalidQuery("since is after until"))
        );
        assert_eq!(
            a.fetch_history(&q(vec![T1; MAX_TOPICS + 1], 0, 1)),
            Err(TransportError::InvalidQuery("too many topics"))
        );
        assert!(matches!(
            a.subscribe(&[]),
            Err(TransportError::InvalidQuery(_))
        ));
    }

    #[test]
    fn dropped_subscriptions_are_forgotten_and_full_ones_do_not_block() {
        let (a, _) = clocked(1000);
        let sub = a.subscribe(&[T1]).unwrap();
        drop(a.subscribe(&[T1]).unwrap());
        a.publish(meta(T1, 1010), vec![0]).unwrap();
        assert_eq!(a.lock().subscribers.len(), 1);
        for i in 1..(SUBSCRIPTION_CAPACITY + 10) {
            let bytes = (i as u64).to_be_bytes().to_vec();
            a.publish(meta(T1, 1010), bytes).unwrap();
        }
        let mut n = 0;
        while sub.try_recv().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, SUBSCRIPTION_CAPACITY);
        drop(sub);
        a.publish(meta(T1, 1010), vec![1]).unwrap();
        assert!(a.lock().subscribers.is_empty());
    }

    #[test]
    fn trait_is_object_safe_and_works_through_arc() {
        let (a, _) = clocked(1000);
        let t: Arc<dyn Transport> = Arc::new(a.clone());
        let sub = t.subscribe(&[T1]).unwrap();
        t.publish(meta(T1, 1010), b"dyn".to_vec()).unwrap();
        assert_eq!(
            sub.recv_timeout(Duration::from_secs(1))
                .unwrap()
                .unwrap()
                .envelope,
            b"dyn"
        );
        assert_eq!(sub.recv_timeout(Duration::from_millis(10)).unwrap(), None);
        drop(t);
        drop(a);
        assert_eq!(sub.recv(), Err(TransportError::Closed));
    }
}
