//! The [`Transport`] trait: how Waku messages travel between devices.
//!
//! A transport carries [`WakuMessage`]s on a pubsub topic (a [`CarriedMessage`]). It never
//! decrypts: the payload is opaque bytes (26/WAKU2-PAYLOAD version 1, see
//! [`crate::payload`]) and only the fields that routing and storage need are read
//! (content topic, timestamp, ephemeral). A message's id is the deterministic Waku message
//! hash ([`CarriedMessage::hash`]), used to drop duplicates and as the store's key.
//!
//! Three operations, all synchronous (blocking) so that the protocol layer and the CLI
//! need no async runtime:
//! * [`Transport::publish`] sends a message to everyone listening on its content topic
//!   (relay, or lightpush through a service node) and reports how far it got.
//! * [`Transport::subscribe`] returns a [`Subscription`], a channel receiving every
//!   message on one of the given content topics from then on, **including those
//!   published through the same transport handle** (the protocol layer must accept its
//!   own messages anyway: they also come back from the store).
//! * [`Transport::fetch_history`] asks a store node (13/WAKU2-STORE) for the messages it
//!   archived on a pubsub topic and a set of content topics within a time range over the
//!   **message timestamps** (nanoseconds), in chronological order, so that a device that
//!   was offline catches up. Ephemeral messages are never archived.
//!
//! Two implementations exist: [`InMemoryTransport`] here (a shared hub for tests and
//! single-process simulations) and the Waku node in the `pfs-node` crate.
//!
//! Delivery is at most once per subscription and best effort: a subscription whose
//! receiver is dropped is forgotten; a subscription that does not keep up (more than
//! [`SUBSCRIPTION_CAPACITY`] messages waiting) loses the newest ones (logged), which it can
//! recover from the store.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::topic::ContentTopic;
use crate::waku::{self, InvalidMessage, WakuMessage};

/// Largest number of content topics in one history query or subscription.
pub const MAX_TOPICS: usize = 1024;

/// Messages a subscription buffers before new ones are dropped.
pub const SUBSCRIPTION_CAPACITY: usize = 4096;

/// How long a store keeps messages by default (30 days).
pub const DEFAULT_RETENTION_SECS: u64 = 30 * 24 * 3600;

/// Why a transport operation failed.
///
/// ```
/// use pfs_transport::transport::{CarriedMessage, HistoryQuery, InMemoryTransport, Transport, TransportError};
/// use pfs_transport::waku::{InvalidMessage, WakuMessage};
///
/// let net = InMemoryTransport::new();
/// let empty = CarriedMessage::on_default_shard(WakuMessage {
///     content_topic: "/a/1/b/proto".into(),
///     timestamp: Some(pfs_transport::transport::now_unix_ns()),
///     ..WakuMessage::default()
/// });
/// assert_eq!(net.publish(empty), Err(TransportError::Invalid(InvalidMessage::EmptyPayload)));
/// assert!(matches!(net.subscribe(&[]), Err(TransportError::InvalidQuery(_))));
/// let no_topics = HistoryQuery::recent(vec![], 0, 60);
/// assert!(matches!(net.fetch_history(&no_topics), Err(TransportError::InvalidQuery(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The message fails the relay's validation (empty, too large, bad timestamp...).
    #[error("invalid message: {0}")]
    Invalid(#[from] InvalidMessage),
    /// A history query or subscription is malformed.
    #[error("invalid query: {0}")]
    InvalidQuery(&'static str),
    /// Nobody could be given the message (no relay peer, no service node, no local store).
    #[error("no peer to deliver the message to")]
    NoPeers,
    /// No store node is known or reachable.
    #[error("no store node is reachable")]
    NoStore,
    /// A service node refused the request (lightpush, filter or store status code).
    #[error("refused by the service node: {status} {description}")]
    Refused {
        /// The status code (HTTP-like, as the Waku protocols use).
        status: u32,
        /// The service node's description.
        description: String,
    },
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

/// A Waku message and the pubsub topic it travels on.
///
/// ```
/// use pfs_transport::transport::CarriedMessage;
/// use pfs_transport::waku::{WakuMessage, message_hash};
///
/// let message = WakuMessage { payload: vec![1], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() };
/// let on_64 = CarriedMessage { pubsub_topic: "/waku/2/rs/16/64".into(), message: message.clone() };
/// // the pubsub topic is part of the message's id
/// assert_eq!(on_64.hash(), message_hash("/waku/2/rs/16/64", &message));
/// assert_ne!(on_64.hash(), CarriedMessage::on_default_shard(message).hash());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedMessage {
    /// The pubsub topic (shard), for example [`waku::DEFAULT_PUBSUB_TOPIC`].
    pub pubsub_topic: String,
    /// The message.
    pub message: WakuMessage,
}

impl CarriedMessage {
    /// A message on the default pubsub topic `/waku/2/rs/16/32`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_transport::transport::CarriedMessage;
    /// use pfs_transport::waku::{DEFAULT_PUBSUB_TOPIC, WakuMessage, message_hash, pubsub_topic};
    ///
    /// let msg = WakuMessage {
    ///     payload: b"hi".to_vec(),
    ///     content_topic: "/waku/1/0x01020304/rfc26".into(),
    ///     timestamp: Some(5),
    ///     ephemeral: Some(true),
    ///     ..WakuMessage::default()
    /// };
    /// let carried = CarriedMessage::on_default_shard(msg.clone());
    /// assert_eq!(carried.pubsub_topic, pubsub_topic(16, 32));
    /// assert_eq!(carried.hash(), message_hash(DEFAULT_PUBSUB_TOPIC, &msg));
    /// assert_eq!((carried.content_topic(), carried.timestamp_ns()), ("/waku/1/0x01020304/rfc26", 5));
    /// assert!(carried.is_ephemeral());
    /// ```
    pub fn on_default_shard(message: WakuMessage) -> Self {
        CarriedMessage {
            pubsub_topic: waku::DEFAULT_PUBSUB_TOPIC.to_owned(),
            message,
        }
    }

    /// The content topic.
    ///
    /// ```
    /// use pfs_transport::transport::CarriedMessage;
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let m = CarriedMessage::on_default_shard(WakuMessage { content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() });
    /// assert_eq!(m.content_topic(), "/a/1/b/proto");
    /// ```
    pub fn content_topic(&self) -> &str {
        &self.message.content_topic
    }

    /// The deterministic message hash (14/WAKU2-MESSAGE), the message's id.
    ///
    /// ```
    /// use pfs_transport::transport::CarriedMessage;
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// // the third test vector of 14/WAKU2-MESSAGE (no meta)
    /// let m = CarriedMessage {
    ///     pubsub_topic: "/waku/2/default-waku/proto".into(),
    ///     message: WakuMessage {
    ///         payload: hex::decode("010203045445535405060708")?,
    ///         content_topic: "/waku/2/default-content/proto".into(),
    ///         timestamp: Some(0x175789bfa23f8400),
    ///         ..WakuMessage::default()
    ///     },
    /// };
    /// assert_eq!(hex::encode(m.hash()), "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hash(&self) -> [u8; 32] {
        waku::message_hash(&self.pubsub_topic, &self.message)
    }

    /// The message timestamp in nanoseconds (0 when absent).
    ///
    /// ```
    /// use pfs_transport::transport::CarriedMessage;
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let mut m = CarriedMessage::on_default_shard(WakuMessage::default());
    /// assert_eq!(m.timestamp_ns(), 0); // absent
    /// m.message.timestamp = Some(7);
    /// assert_eq!(m.timestamp_ns(), 7);
    /// ```
    pub fn timestamp_ns(&self) -> i64 {
        self.message.timestamp.unwrap_or(0)
    }

    /// Whether the message asks not to be stored.
    ///
    /// ```
    /// use pfs_transport::transport::CarriedMessage;
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let mut m = CarriedMessage::on_default_shard(WakuMessage::default());
    /// assert!(!m.is_ephemeral()); // absent means stored
    /// m.message.ephemeral = Some(true);
    /// assert!(m.is_ephemeral());
    /// ```
    pub fn is_ephemeral(&self) -> bool {
        self.message.ephemeral.unwrap_or(false)
    }
}

/// How far a publish got.
///
/// ```
/// use pfs_transport::transport::{CarriedMessage, InMemoryTransport, Transport, now_unix_ns};
/// use pfs_transport::waku::WakuMessage;
///
/// let net = InMemoryTransport::new();
/// let _sub = net.subscribe(&["/a/1/b/proto".parse()?])?;
/// let msg = |ephemeral| CarriedMessage::on_default_shard(WakuMessage {
///     payload: vec![1],
///     content_topic: "/a/1/b/proto".into(),
///     timestamp: Some(now_unix_ns()),
///     ephemeral: Some(ephemeral),
///     ..WakuMessage::default()
/// });
/// let report = net.publish(msg(false))?;
/// assert_eq!((report.relay_peers, report.stored), (1, true));
/// assert!(!net.publish(msg(true))?.stored); // ephemeral messages are not kept
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishReport {
    /// Relay peers the message was handed to (by us, or by the lightpush service node).
    pub relay_peers: usize,
    /// Whether a store archived it (our own store role, or the in-memory hub).
    pub stored: bool,
}

/// Checks a content-topic list for a subscription or a history query: 1 to
/// [`MAX_TOPICS`] topics (each one is checked when it is made, [`ContentTopic::new`]).
///
/// # Examples
///
/// ```
/// use pfs_transport::transport::{MAX_TOPICS, TransportError, check_topics};
///
/// assert_eq!(check_topics(&["/a/1/b/proto".parse()?]), Ok(()));
/// assert!(matches!(check_topics(&[]), Err(TransportError::InvalidQuery(_))));
/// assert!(check_topics(&vec!["/a/1/b/proto".parse()?; MAX_TOPICS + 1]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_topics(topics: &[ContentTopic]) -> Result<(), TransportError> {
    if topics.is_empty() {
        return Err(TransportError::InvalidQuery("no content topic"));
    }
    if topics.len() > MAX_TOPICS {
        return Err(TransportError::InvalidQuery("too many content topics"));
    }
    Ok(())
}

/// The current time in Unix nanoseconds (0 if the clock is before 1970): the system
/// clock ([`pfs_crypto::SystemClock`]).
///
/// ```
/// use pfs_transport::transport::{now_unix, now_unix_ns};
///
/// let (s, ns) = (now_unix(), now_unix_ns());
/// assert!(s > 1_600_000_000); // after September 2020
/// assert!((ns / 1_000_000_000).abs_diff(s as i64) <= 1);
/// ```
pub fn now_unix_ns() -> i64 {
    pfs_crypto::Clock::now_ns(&pfs_crypto::SystemClock)
}

/// The current time in Unix seconds (0 if the clock is before 1970).
///
/// ```
/// use pfs_transport::transport::now_unix;
///
/// let a = now_unix();
/// assert!(a > 1_600_000_000 && now_unix() >= a);
/// ```
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A history request: messages on `pubsub_topic` with one of `content_topics` whose
/// timestamp lies between `start_ns` and `end_ns` (both inclusive, Unix nanoseconds).
///
/// ```
/// use pfs_transport::transport::{CarriedMessage, HistoryQuery, InMemoryTransport, Transport, now_unix_ns};
/// use pfs_transport::waku::{DEFAULT_PUBSUB_TOPIC, WakuMessage};
///
/// let net = InMemoryTransport::new();
/// let m = CarriedMessage::on_default_shard(WakuMessage {
///     payload: vec![1],
///     content_topic: "/a/1/b/proto".into(),
///     timestamp: Some(now_unix_ns()),
///     ..WakuMessage::default()
/// });
/// net.publish(m.clone())?;
/// let query = HistoryQuery {
///     pubsub_topic: DEFAULT_PUBSUB_TOPIC.into(),
///     content_topics: vec!["/a/1/b/proto".parse()?],
///     start_ns: m.timestamp_ns(),
///     end_ns: m.timestamp_ns(),
/// };
/// assert_eq!(net.fetch_history(&query)?, [m.clone()]);
/// let later = HistoryQuery { start_ns: m.timestamp_ns() + 1, end_ns: m.timestamp_ns() + 2, ..query };
/// assert!(net.fetch_history(&later)?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The pubsub topic (shard).
    pub pubsub_topic: String,
    /// Content topics of interest (1 to [`MAX_TOPICS`]).
    pub content_topics: Vec<ContentTopic>,
    /// Earliest timestamp, inclusive.
    pub start_ns: i64,
    /// Latest timestamp, inclusive.
    pub end_ns: i64,
}

impl HistoryQuery {
    /// Messages on the default pubsub topic for `content_topics` within the last
    /// `secs` seconds before `now_ns` (and up to a minute after it).
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_transport::transport::{HistoryQuery, TransportError};
    /// use pfs_transport::waku::DEFAULT_PUBSUB_TOPIC;
    ///
    /// const SEC: i64 = 1_000_000_000;
    /// let q = HistoryQuery::recent(vec!["/a/1/b/proto".parse()?], 1_000 * SEC, 60);
    /// assert_eq!(q.pubsub_topic, DEFAULT_PUBSUB_TOPIC);
    /// assert_eq!((q.start_ns, q.end_ns), (940 * SEC, 1_060 * SEC));
    /// assert_eq!(q.check(), Ok(()));
    /// let backwards = HistoryQuery { start_ns: q.end_ns + 1, ..q };
    /// assert_eq!(backwards.check(), Err(TransportError::InvalidQuery("start is after end")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recent(content_topics: Vec<ContentTopic>, now_ns: i64, secs: u64) -> Self {
        let span = i64::try_from(secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        HistoryQuery {
            pubsub_topic: waku::DEFAULT_PUBSUB_TOPIC.to_owned(),
            content_topics,
            start_ns: now_ns.saturating_sub(span),
            end_ns: now_ns.saturating_add(60_000_000_000),
        }
    }

    /// Checks the topic list and that `start_ns <= end_ns`.
    ///
    /// ```
    /// use pfs_transport::transport::{HistoryQuery, TransportError};
    ///
    /// let q = HistoryQuery::recent(vec!["/a/1/b/proto".parse()?], 1_000_000_000_000, 60);
    /// assert_eq!(q.check(), Ok(()));
    /// let no_shard = HistoryQuery { pubsub_topic: String::new(), ..q.clone() };
    /// assert_eq!(no_shard.check(), Err(TransportError::InvalidQuery("empty pubsub topic")));
    /// let no_topics = HistoryQuery { content_topics: vec![], ..q };
    /// assert!(matches!(no_topics.check(), Err(TransportError::InvalidQuery(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self) -> Result<(), TransportError> {
        check_topics(&self.content_topics)?;
        if self.pubsub_topic.is_empty() {
            return Err(TransportError::InvalidQuery("empty pubsub topic"));
        }
        if self.start_ns > self.end_ns {
            return Err(TransportError::InvalidQuery("start is after end"));
        }
        Ok(())
    }

    /// Whether a message matches the query.
    ///
    /// ```
    /// use pfs_transport::transport::{CarriedMessage, HistoryQuery};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let q = HistoryQuery::recent(vec!["/a/1/b/proto".parse()?], 1_000_000_000_000, 60);
    /// let at = |topic: &str, ts| CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1],
    ///     content_topic: topic.into(),
    ///     timestamp: Some(ts),
    ///     ..WakuMessage::default()
    /// });
    /// assert!(q.matches(&at("/a/1/b/proto", q.start_ns)));
    /// assert!(q.matches(&at("/a/1/b/proto", q.end_ns)));
    /// assert!(!q.matches(&at("/a/1/b/proto", q.end_ns + 1)));
    /// assert!(!q.matches(&at("/c/1/d/proto", q.start_ns)));
    /// let mut other_shard = at("/a/1/b/proto", q.start_ns);
    /// other_shard.pubsub_topic = "/waku/2/rs/16/64".into();
    /// assert!(!q.matches(&other_shard));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches(&self, m: &CarriedMessage) -> bool {
        m.pubsub_topic == self.pubsub_topic
            && (self.start_ns..=self.end_ns).contains(&m.timestamp_ns())
            && self
                .content_topics
                .iter()
                .any(|t| *t == m.message.content_topic)
    }
}

/// The receiving end of a subscription.
///
/// ```
/// use std::time::Duration;
/// use pfs_transport::transport::{CarriedMessage, InMemoryTransport, Transport, now_unix_ns};
/// use pfs_transport::waku::WakuMessage;
///
/// let net = InMemoryTransport::new();
/// let sub = net.subscribe(&["/a/1/b/proto".parse()?])?;
/// let m = CarriedMessage::on_default_shard(WakuMessage {
///     payload: vec![1],
///     content_topic: "/a/1/b/proto".into(),
///     timestamp: Some(now_unix_ns()),
///     ..WakuMessage::default()
/// });
/// net.publish(m.clone())?;
/// assert_eq!(sub.recv_timeout(Duration::from_secs(1))?, Some(m));
/// assert_eq!(sub.try_recv()?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Subscription {
    topics: Vec<ContentTopic>,
    rx: Receiver<CarriedMessage>,
}

/// The sending end of a subscription, kept by the transport implementation.
///
/// ```
/// use pfs_transport::transport::{CarriedMessage, Delivery, Subscription};
/// use pfs_transport::waku::WakuMessage;
///
/// // what a Transport implementation keeps for each subscriber
/// let (sender, sub) = Subscription::channel(&["/a/1/b/proto".parse()?])?;
/// let m = CarriedMessage::on_default_shard(WakuMessage { payload: vec![1], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() });
/// assert_eq!(sender.clone().offer(&m), Delivery::Delivered); // clones feed the same subscription
/// assert_eq!(sub.try_recv()?, Some(m));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SubscriptionSender {
    topics: HashSet<ContentTopic>,
    tx: SyncSender<CarriedMessage>,
}

/// What happened when a transport offered a message to a subscription.
///
/// ```
/// use pfs_transport::transport::{CarriedMessage, Delivery, SUBSCRIPTION_CAPACITY, Subscription};
/// use pfs_transport::waku::WakuMessage;
///
/// let (tx, sub) = Subscription::channel(&["/a/1/b/proto".parse()?])?;
/// let m = CarriedMessage::on_default_shard(WakuMessage { payload: vec![1], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() });
/// for _ in 0..SUBSCRIPTION_CAPACITY {
///     assert_eq!(tx.offer(&m), Delivery::Delivered);
/// }
/// // a subscriber that does not read loses what does not fit
/// assert_eq!(tx.offer(&m), Delivery::Full);
/// drop(sub);
/// assert_eq!(tx.offer(&m), Delivery::Closed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The subscription does not listen on that content topic.
    NotWanted,
    /// Queued for the subscriber.
    Delivered,
    /// The subscriber's queue is full; the message was dropped for it.
    Full,
    /// The subscriber is gone; the implementation should forget this sender.
    Closed,
}

impl Subscription {
    /// Makes a connected pair for `topics` (checked with [`check_topics`]). Transport
    /// implementations keep the [`SubscriptionSender`] and return the [`Subscription`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_transport::transport::{CarriedMessage, Delivery, Subscription};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let topics = ["/b/1/x/proto".parse()?, "/a/1/x/proto".parse()?, "/a/1/x/proto".parse()?];
    /// let (tx, sub) = Subscription::channel(&topics)?;
    /// assert_eq!(sub.topics(), ["/a/1/x/proto", "/b/1/x/proto"]);
    /// let m = |t: &str| CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1],
    ///     content_topic: t.into(),
    ///     ..WakuMessage::default()
    /// });
    /// assert_eq!(tx.offer(&m("/c/1/x/proto")), Delivery::NotWanted);
    /// assert_eq!(tx.offer(&m("/a/1/x/proto")), Delivery::Delivered);
    /// assert_eq!(sub.try_recv()?.map(|c| c.message.content_topic), Some("/a/1/x/proto".into()));
    /// drop(sub);
    /// assert_eq!(tx.offer(&m("/a/1/x/proto")), Delivery::Closed);
    /// # Ok(())
    /// # }
    /// ```
    pub fn channel(
        topics: &[ContentTopic],
    ) -> Result<(SubscriptionSender, Subscription), TransportError> {
        check_topics(topics)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(SUBSCRIPTION_CAPACITY);
        let mut unique = topics.to_vec();
        unique.sort_unstable();
        unique.dedup();
        Ok((
            SubscriptionSender {
                topics: unique.iter().cloned().collect(),
                tx,
            },
            Subscription { topics: unique, rx },
        ))
    }

    /// The content topics this subscription listens on (sorted, without duplicates).
    ///
    /// ```
    /// use pfs_transport::transport::Subscription;
    ///
    /// let (_tx, sub) = Subscription::channel(&["/b/1/x/proto".parse()?, "/a/1/x/proto".parse()?])?;
    /// assert_eq!(sub.topics(), ["/a/1/x/proto", "/b/1/x/proto"]); // sorted
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn topics(&self) -> &[ContentTopic] {
        &self.topics
    }

    /// Waits for the next message. Fails with [`TransportError::Closed`] when the
    /// transport is gone.
    ///
    /// ```
    /// use pfs_transport::transport::{CarriedMessage, Subscription, TransportError};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let (tx, sub) = Subscription::channel(&["/a/1/b/proto".parse()?])?;
    /// let m = CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1],
    ///     content_topic: "/a/1/b/proto".into(),
    ///     ..WakuMessage::default()
    /// });
    /// tx.offer(&m);
    /// assert_eq!(sub.recv()?, m);
    /// drop(tx);
    /// assert_eq!(sub.recv(), Err(TransportError::Closed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv(&self) -> Result<CarriedMessage, TransportError> {
        self.rx.recv().map_err(|_| TransportError::Closed)
    }

    /// Waits at most `timeout` for the next message; `Ok(None)` on timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pfs_transport::transport::{Subscription, TransportError};
    ///
    /// let (tx, sub) = Subscription::channel(&["/a/1/b/proto".parse()?])?;
    /// assert_eq!(sub.recv_timeout(Duration::from_millis(10))?, None);
    /// drop(tx);
    /// assert_eq!(sub.recv_timeout(Duration::from_millis(10)), Err(TransportError::Closed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<CarriedMessage>, TransportError> {
        match self.rx.recv_timeout(timeout) {
            Ok(e) => Ok(Some(e)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(TransportError::Closed),
        }
    }

    /// Returns the next message if one is waiting.
    ///
    /// ```
    /// use pfs_transport::transport::{Subscription, TransportError};
    ///
    /// let (tx, sub) = Subscription::channel(&["/a/1/b/proto".parse()?])?;
    /// assert_eq!(sub.try_recv()?, None);
    /// drop(tx);
    /// assert_eq!(sub.try_recv(), Err(TransportError::Closed));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_recv(&self) -> Result<Option<CarriedMessage>, TransportError> {
        match self.rx.try_recv() {
            Ok(e) => Ok(Some(e)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(TransportError::Closed),
        }
    }
}

impl SubscriptionSender {
    /// Whether the subscription listens on `content_topic`.
    ///
    /// ```
    /// use pfs_transport::transport::Subscription;
    ///
    /// let (tx, _sub) = Subscription::channel(&["/a/1/b/proto".parse()?])?;
    /// assert!(tx.wants("/a/1/b/proto"));
    /// assert!(!tx.wants("/a/1/c/proto"));
    /// assert_eq!(tx.topics().collect::<Vec<_>>(), ["/a/1/b/proto"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wants(&self, content_topic: &str) -> bool {
        self.topics.contains(content_topic)
    }

    /// The content topics of this subscription.
    ///
    /// ```
    /// use pfs_transport::transport::Subscription;
    ///
    /// let topics = ["/a/1/x/proto".parse()?, "/a/1/x/proto".parse()?];
    /// let (tx, _sub) = Subscription::channel(&topics)?;
    /// assert_eq!(tx.topics().count(), 1); // without duplicates
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn topics(&self) -> impl Iterator<Item = &ContentTopic> {
        self.topics.iter()
    }

    /// Offers a message: queued if the subscription listens on its content topic.
    ///
    /// ```
    /// use pfs_transport::transport::{CarriedMessage, Delivery, Subscription};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let (tx, sub) = Subscription::channel(&["/a/1/b/proto".parse()?])?;
    /// let on = |t: &str| CarriedMessage::on_default_shard(WakuMessage { payload: vec![1], content_topic: t.into(), ..WakuMessage::default() });
    /// assert_eq!(tx.offer(&on("/a/1/c/proto")), Delivery::NotWanted);
    /// assert_eq!(tx.offer(&on("/a/1/b/proto")), Delivery::Delivered);
    /// assert_eq!(sub.try_recv()?.map(|m| m.message.content_topic), Some("/a/1/b/proto".to_owned()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offer(&self, message: &CarriedMessage) -> Delivery {
        if !self.wants(message.content_topic()) {
            return Delivery::NotWanted;
        }
        match self.tx.try_send(message.clone()) {
            Ok(()) => Delivery::Delivered,
            Err(TrySendError::Full(_)) => {
                tracing::warn!(
                    content_topic = %message.content_topic(),
                    "subscriber queue full, message dropped for it"
                );
                Delivery::Full
            }
            Err(TrySendError::Disconnected(_)) => Delivery::Closed,
        }
    }
}

/// Offers `message` to every sender and forgets those whose subscriber is gone.
///
/// ```
/// use pfs_transport::transport::{CarriedMessage, Subscription, fan_out};
/// use pfs_transport::waku::WakuMessage;
///
/// let topics = ["/a/1/b/proto".parse()?];
/// let (tx1, sub1) = Subscription::channel(&topics)?;
/// let (tx2, sub2) = Subscription::channel(&topics)?;
/// let mut senders = vec![tx1, tx2];
/// drop(sub2);
/// let m = CarriedMessage::on_default_shard(WakuMessage {
///     payload: vec![1],
///     content_topic: "/a/1/b/proto".into(),
///     ..WakuMessage::default()
/// });
/// fan_out(&mut senders, &m);
/// assert_eq!(sub1.try_recv()?, Some(m));
/// assert_eq!(senders.len(), 1); // the closed subscription is forgotten
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fan_out(senders: &mut Vec<SubscriptionSender>, message: &CarriedMessage) {
    senders.retain(|s| s.offer(message) != Delivery::Closed);
}

/// Carries Waku messages between devices. Object safe; all methods block.
///
/// ```
/// use pfs_transport::transport::{CarriedMessage, HistoryQuery, InMemoryTransport, Transport, now_unix_ns};
/// use pfs_transport::waku::WakuMessage;
///
/// // used as a trait object, as pfs-client does
/// let net: Box<dyn Transport> = Box::new(InMemoryTransport::new());
/// let topic = "/a/1/b/proto".parse()?;
/// let sub = net.subscribe(std::slice::from_ref(&topic))?;
/// let m = CarriedMessage::on_default_shard(WakuMessage {
///     payload: b"hi".to_vec(),
///     content_topic: topic.to_string(),
///     timestamp: Some(now_unix_ns()),
///     ..WakuMessage::default()
/// });
/// net.publish(m.clone())?;
/// assert_eq!(sub.try_recv()?, Some(m.clone()));
/// assert_eq!(net.fetch_history(&HistoryQuery::recent(vec![topic], now_unix_ns(), 60))?, [m]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Transport: Send + Sync {
    /// Sends a message to everyone listening on its content topic (and to the stores).
    /// The message is validated first ([`waku::validate`]). Publishing the same message
    /// twice is not an error; the second copy is dropped as a duplicate.
    fn publish(&self, message: CarriedMessage) -> Result<PublishReport, TransportError>;

    /// Starts receiving every message on one of `content_topics` from now on.
    fn subscribe(&self, content_topics: &[ContentTopic]) -> Result<Subscription, TransportError>;

    /// Fetches from a store the messages matching the query, in chronological order.
    fn fetch_history(&self, query: &HistoryQuery) -> Result<Vec<CarriedMessage>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn publish(&self, message: CarriedMessage) -> Result<PublishReport, TransportError> {
        (**self).publish(message)
    }

    fn subscribe(&self, content_topics: &[ContentTopic]) -> Result<Subscription, TransportError> {
        (**self).subscribe(content_topics)
    }

    fn fetch_history(&self, query: &HistoryQuery) -> Result<Vec<CarriedMessage>, TransportError> {
        (**self).fetch_history(query)
    }
}

/// The time source of the in-memory transport (the workspace's one clock,
/// [`pfs_crypto::Clock`]), shared.
///
/// ```
/// use std::sync::Arc;
/// use pfs_crypto::ManualClock;
/// use pfs_transport::transport::{CarriedMessage, Clock, InMemoryTransport, Transport, TransportError};
/// use pfs_transport::waku::{InvalidMessage, WakuMessage};
///
/// let now = ManualClock::new(1_000_000_000_000);
/// let clock: Clock = Arc::new(now.clone());
/// let net = InMemoryTransport::with_clock(clock);
/// let m = CarriedMessage::on_default_shard(WakuMessage {
///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(1_000_000_000_000), ..WakuMessage::default()
/// });
/// net.publish(m.clone())?;
/// // 21 s later the same timestamp is too far from the hub's clock
/// now.advance(21_000_000_000);
/// let again = CarriedMessage { message: WakuMessage { payload: vec![2], ..m.message }, ..m };
/// assert!(matches!(net.publish(again), Err(TransportError::Invalid(InvalidMessage::TimestampSkew { .. }))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Clock = Arc<dyn pfs_crypto::Clock + Sync>;

struct StoredMessage {
    received_ns: i64,
    hash: [u8; 32],
    message: CarriedMessage,
}

#[derive(Default)]
struct Hub {
    subscribers: Vec<SubscriptionSender>,
    history: Vec<StoredMessage>,
    seen: HashSet<[u8; 32]>,
}

/// An in-process transport: every clone shares one hub, sees every other clone's
/// publishes, and the hub is also a store keeping non-ephemeral messages (for
/// [`DEFAULT_RETENTION_SECS`] unless configured otherwise). It validates messages as a
/// relay does, with [`waku::DEFAULT_MAX_MESSAGE_SIZE`] and the 20 s timestamp rule.
///
/// ```
/// use std::time::Duration;
/// use pfs_transport::transport::{CarriedMessage, InMemoryTransport, Transport, now_unix_ns};
/// use pfs_transport::waku::WakuMessage;
///
/// let alice = InMemoryTransport::new();
/// let bob = alice.clone(); // every clone shares the hub
/// let inbox = bob.subscribe(&["/a/1/b/proto".parse()?])?;
/// let m = CarriedMessage::on_default_shard(WakuMessage {
///     payload: vec![1],
///     content_topic: "/a/1/b/proto".into(),
///     timestamp: Some(now_unix_ns()),
///     ..WakuMessage::default()
/// });
/// alice.publish(m.clone())?;
/// assert_eq!(inbox.recv_timeout(Duration::from_secs(1))?, Some(m));
/// assert_eq!(bob.history_len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct InMemoryTransport {
    hub: Arc<Mutex<Hub>>,
    clock: Clock,
    retention_secs: u64,
    max_message_size: usize,
}

impl std::fmt::Debug for InMemoryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryTransport")
            .field("retention_secs", &self.retention_secs)
            .field("max_message_size", &self.max_message_size)
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
    ///
    /// ```
    /// use pfs_transport::transport::InMemoryTransport;
    ///
    /// let net = InMemoryTransport::new();
    /// assert_eq!(net.history_len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_clock(Arc::new(pfs_crypto::SystemClock))
    }

    /// A new, empty hub reading the time (Unix nanoseconds) from `clock`.
    ///
    /// # Examples
    ///
    /// Publish, receive on a subscription, fetch the history; duplicates and stale
    /// timestamps are handled as a relay does.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use pfs_crypto::ManualClock;
    /// use pfs_transport::transport::{CarriedMessage, HistoryQuery, InMemoryTransport, Transport, TransportError};
    /// use pfs_transport::waku::{InvalidMessage, WakuMessage};
    ///
    /// const SEC: i64 = 1_000_000_000;
    /// let clock = ManualClock::new(1_000 * SEC);
    /// let hub = InMemoryTransport::with_clock(Arc::new(clock.clone()));
    /// let topic = "/waku/1/0x01020304/rfc26".parse()?;
    /// let sub = hub.clone().subscribe(std::slice::from_ref(&topic))?;
    /// let msg = |ts: i64| CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: b"hi".to_vec(),
    ///     content_topic: topic.to_string(),
    ///     timestamp: Some(ts),
    ///     ..WakuMessage::default()
    /// });
    /// assert!(hub.publish(msg(1_000 * SEC))?.stored);
    /// hub.publish(msg(1_000 * SEC))?; // the same message again: dropped as a duplicate
    /// assert_eq!(sub.try_recv()?.map(|m| m.message.payload), Some(b"hi".to_vec()));
    /// assert_eq!(sub.try_recv()?, None);
    ///
    /// clock.advance(60 * SEC); // the first message's timestamp is now a minute old
    /// assert!(matches!(
    ///     hub.publish(msg(1_000 * SEC)),
    ///     Err(TransportError::Invalid(InvalidMessage::TimestampSkew { .. }))
    /// ));
    /// let history = hub.fetch_history(&HistoryQuery::recent(vec![topic.clone()], 1_060 * SEC, 3600))?;
    /// assert_eq!(history, vec![msg(1_000 * SEC)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_clock(clock: Clock) -> Self {
        InMemoryTransport {
            hub: Arc::new(Mutex::new(Hub::default())),
            clock,
            retention_secs: DEFAULT_RETENTION_SECS,
            max_message_size: waku::DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// Sets how long history is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use pfs_crypto::ManualClock;
    /// use pfs_transport::transport::{CarriedMessage, InMemoryTransport, Transport};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let clock = ManualClock::new(1_000_000_000_000);
    /// let hub = InMemoryTransport::with_clock(Arc::new(clock.clone())).with_retention_secs(10);
    /// hub.publish(CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1],
    ///     content_topic: "/a/1/b/proto".into(),
    ///     timestamp: Some(1_000_000_000_000),
    ///     ..WakuMessage::default()
    /// }))?;
    /// assert_eq!(hub.history_len(), 1);
    /// clock.advance(11_000_000_000);
    /// // Past retention: dropped at the next operation.
    /// hub.publish(CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![2],
    ///     content_topic: "/a/1/b/proto".into(),
    ///     timestamp: Some(1_011_000_000_000),
    ///     ephemeral: Some(true),
    ///     ..WakuMessage::default()
    /// }))?;
    /// assert_eq!(hub.history_len(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_retention_secs(mut self, secs: u64) -> Self {
        self.retention_secs = secs;
        self
    }

    /// Sets the largest encoded message accepted.
    ///
    /// ```
    /// use pfs_transport::transport::{CarriedMessage, InMemoryTransport, Transport, TransportError, now_unix_ns};
    /// use pfs_transport::waku::{InvalidMessage, WakuMessage};
    ///
    /// let net = InMemoryTransport::new().with_max_message_size(100);
    /// let big = CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1; 200],
    ///     content_topic: "/a/1/b/proto".into(),
    ///     timestamp: Some(now_unix_ns()),
    ///     ..WakuMessage::default()
    /// });
    /// assert!(matches!(
    ///     net.publish(big),
    ///     Err(TransportError::Invalid(InvalidMessage::TooLarge { max: 100, .. }))
    /// ));
    /// assert_eq!(net.history_len(), 0);
    /// ```
    pub fn with_max_message_size(mut self, max: usize) -> Self {
        self.max_message_size = max;
        self
    }

    /// Number of messages kept in history.
    ///
    /// ```
    /// use pfs_transport::transport::{CarriedMessage, InMemoryTransport, Transport, now_unix_ns};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let net = InMemoryTransport::new();
    /// let m = CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1],
    ///     content_topic: "/a/1/b/proto".into(),
    ///     timestamp: Some(now_unix_ns()),
    ///     ..WakuMessage::default()
    /// });
    /// net.publish(m.clone())?;
    /// net.publish(m)?; // a duplicate is not stored twice
    /// assert_eq!(net.history_len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn history_len(&self) -> usize {
        self.lock().history.len()
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        // A panic while holding the lock cannot leave the hub inconsistent in a way that
        // matters more than losing the transport, so recover the guard.
        self.hub.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn purge(&self, hub: &mut Hub, now_ns: i64) {
        let retention_ns = i64::try_from(self.retention_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        let before = hub.history.len();
        let mut dropped = Vec::new();
        hub.history.retain(|s| {
            let keep = s.received_ns.saturating_add(retention_ns) >= now_ns;
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
    fn publish(&self, message: CarriedMessage) -> Result<PublishReport, TransportError> {
        let now = self.clock.now_ns();
        let len = waku::encoded_len(&message.message);
        waku::validate(&message.message, len, self.max_message_size, Some(now))?;
        let hash = message.hash();
        let mut hub = self.lock();
        self.purge(&mut hub, now);
        let stored = !message.is_ephemeral();
        if !hub.seen.insert(hash) {
            tracing::debug!("duplicate message dropped");
            return Ok(PublishReport {
                relay_peers: 0,
                stored,
            });
        }
        fan_out(&mut hub.subscribers, &message);
        if stored {
            hub.history.push(StoredMessage {
                received_ns: now,
                hash,
                message,
            });
        }
        Ok(PublishReport {
            relay_peers: hub.subscribers.len(),
            stored,
        })
    }

    fn subscribe(&self, content_topics: &[ContentTopic]) -> Result<Subscription, TransportError> {
        let (tx, sub) = Subscription::channel(content_topics)?;
        self.lock().subscribers.push(tx);
        Ok(sub)
    }

    fn fetch_history(&self, query: &HistoryQuery) -> Result<Vec<CarriedMessage>, TransportError> {
        query.check()?;
        let now = self.clock.now_ns();
        let mut hub = self.lock();
        self.purge(&mut hub, now);
        let mut out: Vec<(i64, [u8; 32], CarriedMessage)> = hub
            .history
            .iter()
            .filter(|s| query.matches(&s.message))
            .map(|s| (s.message.timestamp_ns(), s.hash, s.message.clone()))
            .collect();
        out.sort_by_key(|a| (a.0, a.1));
        Ok(out.into_iter().map(|(_, _, m)| m).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::InvalidContentTopic;

    const T1: &str = "/waku/1/0x01020304/rfc26";
    const T2: &str = "/waku/1/0x05060708/rfc26";
    const SEC: i64 = 1_000_000_000;

    fn clocked(start_ns: i64) -> (InMemoryTransport, pfs_crypto::ManualClock) {
        let now = pfs_crypto::ManualClock::new(start_ns);
        (InMemoryTransport::with_clock(Arc::new(now.clone())), now)
    }

    fn msg(topic: &str, ts: i64, payload: &[u8]) -> CarriedMessage {
        CarriedMessage::on_default_shard(WakuMessage {
            payload: payload.to_vec(),
            content_topic: topic.to_owned(),
            version: Some(1),
            timestamp: Some(ts),
            ..WakuMessage::default()
        })
    }

    fn topics(t: &[&str]) -> Vec<ContentTopic> {
        t.iter().map(|s| ContentTopic::new(*s).unwrap()).collect()
    }

    const NOW: i64 = 1_000 * SEC;

    #[test]
    fn clones_see_each_others_publishes_by_topic() {
        let (a, _) = clocked(NOW);
        let b = a.clone();
        let sub_b = b.subscribe(&topics(&[T1])).unwrap();
        let sub_a = a.subscribe(&topics(&[T1, T2])).unwrap();
        a.publish(msg(T1, NOW, b"one")).unwrap();
        b.publish(msg(T2, NOW, b"two")).unwrap();

        let got = sub_b.try_recv().unwrap().unwrap();
        assert_eq!(got.message.payload, b"one");
        assert_eq!(got.content_topic(), T1);
        assert_eq!(sub_b.try_recv().unwrap(), None, "T2 not subscribed by b");

        // a's own publish comes back to a's subscription too (documented echo).
        assert_eq!(sub_a.try_recv().unwrap().unwrap().message.payload, b"one");
        assert_eq!(sub_a.try_recv().unwrap().unwrap().message.payload, b"two");
        assert_eq!(sub_a.try_recv().unwrap(), None);
    }

    #[test]
    fn subscription_only_sees_later_messages() {
        let (a, _) = clocked(NOW);
        a.publish(msg(T1, NOW, b"before")).unwrap();
        let sub = a.subscribe(&topics(&[T1])).unwrap();
        a.publish(msg(T1, NOW, b"after")).unwrap();
        assert_eq!(sub.try_recv().unwrap().unwrap().message.payload, b"after");
        assert_eq!(sub.try_recv().unwrap(), None);
    }

    #[test]
    fn duplicates_are_dropped_and_ephemeral_not_stored() {
        let (a, _) = clocked(NOW);
        let sub = a.subscribe(&topics(&[T1])).unwrap();
        assert!(a.publish(msg(T1, NOW, b"x")).unwrap().stored);
        a.publish(msg(T1, NOW, b"x")).unwrap();
        assert!(sub.try_recv().unwrap().is_some());
        assert_eq!(sub.try_recv().unwrap(), None);
        assert_eq!(a.history_len(), 1);
        let mut e = msg(T1, NOW, b"ephemeral");
        e.message.ephemeral = Some(true);
        let report = a.publish(e).unwrap();
        assert!(!report.stored);
        assert!(sub.try_recv().unwrap().is_some(), "still relayed");
        assert_eq!(a.history_len(), 1, "not archived");
    }

    #[test]
    fn invalid_messages_are_refused() {
        let (a, _) = clocked(NOW);
        assert_eq!(
            a.publish(msg(T1, NOW, b"")),
            Err(TransportError::Invalid(InvalidMessage::EmptyPayload))
        );
        assert_eq!(
            a.publish(msg("", NOW, b"x")),
            Err(TransportError::Invalid(InvalidMessage::EmptyContentTopic))
        );
        assert!(matches!(
            a.publish(msg(T1, NOW, &vec![0; waku::DEFAULT_MAX_MESSAGE_SIZE])),
            Err(TransportError::Invalid(InvalidMessage::TooLarge { .. }))
        ));
        assert!(matches!(
            a.publish(msg(T1, NOW - 21 * SEC, b"old")),
            Err(TransportError::Invalid(
                InvalidMessage::TimestampSkew { .. }
            ))
        ));
        assert!(matches!(
            a.publish(msg(T1, NOW + 21 * SEC, b"future")),
            Err(TransportError::Invalid(
                InvalidMessage::TimestampSkew { .. }
            ))
        ));
        assert_eq!(a.history_len(), 0);
    }

    #[test]
    fn history_by_topic_and_time_range_in_chronological_order() {
        let (a, now) = clocked(NOW);
        // published out of timestamp order: history comes back sorted by timestamp
        for i in [3i64, 0, 9, 1, 8, 2, 7, 4, 6, 5] {
            now.set(NOW + i * SEC);
            let topic = if i % 2 == 0 { T1 } else { T2 };
            a.publish(msg(topic, NOW + i * SEC, &[i as u8])).unwrap();
        }
        let q = |t: &[&str], s: i64, e: i64| HistoryQuery {
            pubsub_topic: waku::DEFAULT_PUBSUB_TOPIC.into(),
            content_topics: topics(t),
            start_ns: NOW + s * SEC,
            end_ns: NOW + e * SEC,
        };
        let ids = |v: Vec<CarriedMessage>| {
            v.into_iter()
                .map(|m| m.message.payload[0])
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(a.fetch_history(&q(&[T1], 0, 100)).unwrap()),
            [0, 2, 4, 6, 8]
        );
        assert_eq!(ids(a.fetch_history(&q(&[T2], 3, 7)).unwrap()), [3, 5, 7]);
        assert_eq!(ids(a.fetch_history(&q(&[T1, T2], 4, 5)).unwrap()), [4, 5]);
        assert!(
            a.fetch_history(&q(&["/other/1/t/proto"], 0, 100))
                .unwrap()
                .is_empty()
        );
        let mut other_shard = q(&[T1], 0, 100);
        other_shard.pubsub_topic = "/waku/2/rs/16/64".into();
        assert!(a.fetch_history(&other_shard).unwrap().is_empty());
    }

    #[test]
    fn history_past_retention_is_dropped() {
        let (a, now) = clocked(NOW);
        let a = a.with_retention_secs(100);
        a.publish(msg(T1, NOW, b"old")).unwrap();
        now.set(NOW + 50 * SEC);
        a.publish(msg(T1, NOW + 50 * SEC, b"new")).unwrap();
        let all = HistoryQuery::recent(topics(&[T1]), NOW, 3600);
        let all = HistoryQuery {
            end_ns: i64::MAX,
            ..all
        };
        assert_eq!(a.fetch_history(&all).unwrap().len(), 2);
        now.set(NOW + 101 * SEC);
        let got = a.fetch_history(&all).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].message.payload, b"new");
        now.set(NOW + 151 * SEC);
        assert!(a.fetch_history(&all).unwrap().is_empty());
        assert_eq!(a.history_len(), 0);
    }

    #[test]
    fn bad_queries_are_refused() {
        let (a, _) = clocked(NOW);
        let q = |t: Vec<ContentTopic>, s, e| HistoryQuery {
            pubsub_topic: waku::DEFAULT_PUBSUB_TOPIC.into(),
            content_topics: t,
            start_ns: s,
            end_ns: e,
        };
        assert_eq!(
            a.fetch_history(&q(vec![], 0, 1)),
            Err(TransportError::InvalidQuery("no content topic"))
        );
        assert_eq!(
            a.fetch_history(&q(topics(&[T1]), 2, 1)),
            Err(TransportError::InvalidQuery("start is after end"))
        );
        assert_eq!(
            a.fetch_history(&q(topics(&[T1; MAX_TOPICS + 1]), 0, 1)),
            Err(TransportError::InvalidQuery("too many content topics"))
        );
        assert!(matches!(
            a.subscribe(&[]),
            Err(TransportError::InvalidQuery(_))
        ));
        // an empty string cannot even be named as a content topic
        assert_eq!(ContentTopic::new(""), Err(InvalidContentTopic::Format));
    }

    #[test]
    fn dropped_subscriptions_are_forgotten_and_full_ones_do_not_block() {
        let (a, _) = clocked(NOW);
        let sub = a.subscribe(&topics(&[T1])).unwrap();
        drop(a.subscribe(&topics(&[T1])).unwrap());
        a.publish(msg(T1, NOW, &[0])).unwrap();
        assert_eq!(a.lock().subscribers.len(), 1);
        for i in 1..(SUBSCRIPTION_CAPACITY + 10) {
            let bytes = (i as u64).to_be_bytes();
            a.publish(msg(T1, NOW, &bytes)).unwrap();
        }
        let mut n = 0;
        while sub.try_recv().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, SUBSCRIPTION_CAPACITY);
        drop(sub);
        a.publish(msg(T1, NOW, &[1])).unwrap();
        assert!(a.lock().subscribers.is_empty());
    }

    #[test]
    fn trait_is_object_safe_and_works_through_arc() {
        let (a, _) = clocked(NOW);
        let t: Arc<dyn Transport> = Arc::new(a.clone());
        let sub = t.subscribe(&topics(&[T1])).unwrap();
        t.publish(msg(T1, NOW, b"dyn")).unwrap();
        assert_eq!(
            sub.recv_timeout(Duration::from_secs(1))
                .unwrap()
                .unwrap()
                .message
                .payload,
            b"dyn"
        );
        assert_eq!(sub.recv_timeout(Duration::from_millis(10)).unwrap(), None);
        drop(t);
        drop(a);
        assert_eq!(sub.recv(), Err(TransportError::Closed));
    }
}
