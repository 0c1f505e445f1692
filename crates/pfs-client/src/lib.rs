//! # pfs-client: one object for apps (level 4)
//!
//! A [`Client`] holds an installation ([`Device`]: the engine over its store and the
//! identity key), the Status application layer ([`pfs_app::messenger::Messenger`], its
//! records in the same encrypted store) and a transport (the Waku node, a light-node
//! connection, or the in-memory transport). It turns user intents into WakuMessages and
//! received WakuMessages into typed [`ClientEvent`]s, and drives the background work a user
//! would otherwise forget: MVDS acks and resends, bundle replies, segmentation and
//! reassembly, contact-code advertisements, maintenance.
//!
//! The send path, as status-go's (`../shared/reference/status-app-layer.md` §4):
//! `ChatMessage` → signed `ApplicationMetadataMessage` → MVDS `Payload` → engine
//! (`ProtocolMessage`, one per identity: the peer's devices and our own other devices) →
//! [`SegmentMessage`](pfs_wire::app::SegmentMessage)s when large → payload v1 (signed,
//! ECIES to the recipient's partitioned topic) → `WakuMessage` on the pubsub topic.
//!
//! ```
//! use pfs_client::{Client, ClientConfig, ClientEvent, Device};
//! use pfs_app::messenger::Event;
//! use pfs_transport::transport::InMemoryTransport;
//!
//! let net = InMemoryTransport::new();
//! let store = || Box::new(pfs_store::MemoryStore::new());
//! let (alice, _phrase) = Device::create(store(), pfs_protocol::Config::default())?;
//! let (bob, _phrase) = Device::create(store(), pfs_protocol::Config::default())?;
//! let mut alice = Client::new(alice, Box::new(net.clone()), ClientConfig::default());
//! let mut bob = Client::new(bob, Box::new(net.clone()), ClientConfig::default());
//! bob.listen()?;
//! alice.listen()?;
//!
//! let bob_key = bob.identity();
//! alice.send_text(&bob_key, "hello Bob")?;
//! let events = bob.poll(std::time::Duration::from_secs(2))?;
//! assert!(events.iter().any(|e| matches!(e,
//!     ClientEvent::App(Event::Text { message, .. }) if message.text == "hello Bob")));
//! # Ok::<(), pfs_client::ClientError>(())
//! ```
#![forbid(unsafe_code)]

pub mod device;

/// The README's Rust program, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctest;

use pfs_protocol::MessageId;
use std::time::Duration;

use pfs_app::messenger::{self, Event, Messenger, RecordKind, RecordStore, StoreFailure};
use pfs_app::segment::{self, Outcome, Reassembler};
use pfs_crypto::secp256k1::PublicKey;
use pfs_protocol::{AppRecords, DeliveredKind, EngineError, GroupKey, Outgoing, OutgoingKind};
use pfs_transport::transport::{CarriedMessage, Subscription, Transport, TransportError};
use pfs_transport::waku;
pub use pfs_x3dh::InstallationId;

pub use device::{Device, DeviceError, OpenFailure, Opened, SharedClock};

/// How the client behaves.
///
/// ```
/// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
/// # use pfs_app::messenger::Event;
/// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
/// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
/// #     let (device, _) = Device::create_with_clock(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         pfs_protocol::Config::default(),
/// #         shared,
/// #     )?;
/// #     Ok(Core::new(device, ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
/// assert_eq!(ClientConfig::default().pubsub_topic, "/waku/2/rs/16/32"); // cluster 16, shard 32
/// assert_eq!(ClientConfig::default().advert_interval_ms, Some(6 * 3_600_000)); // status-go: 6 h
/// // raw mode: bare-protocol plaintexts, no application layer
/// let raw = |c: &pfs_protocol::ManualClock| -> Result<Core, Box<dyn std::error::Error>> {
///     let (device, _) = Device::create_with_clock(Box::new(pfs_store::MemoryStore::new()), Default::default(), std::sync::Arc::new(c.clone()))?;
///     Ok(Core::new(device, ClientConfig { raw: true, ..ClientConfig::default() }))
/// };
/// let (mut alice, mut bob) = (raw(&clock)?, raw(&clock)?);
/// alice.send_text(&bob.identity(), "plain")?;
/// let mut got = Vec::new();
/// for sealed in alice.take_messages() {
///     for event in bob.handle(&sealed.carried)? {
///         if let ClientEvent::Raw { plaintext, .. } = event {
///             got.push(plaintext);
///         }
///     }
/// }
/// assert_eq!(got, [b"plain".to_vec()]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The application layer's configuration (resends, limits).
    pub app: messenger::Config,
    /// Bare-protocol mode: plaintexts are sent and reported as they are, without the Status
    /// application layer (no wrapper, no MVDS, no acks).
    pub raw: bool,
    /// The pubsub topic (shard) messages travel on.
    pub pubsub_topic: String,
    /// Largest engine message sent in one WakuMessage; larger ones are segmented.
    pub segment_size: usize,
    /// Bounds on incomplete segment sets.
    pub segment_limits: segment::Limits,
    /// How long an incomplete segment set is kept, ms.
    pub segment_expiry_ms: u64,
    /// How often our contact-code advertisement (our bundle, as a public message on our
    /// contact-code topic) is published, ms; also whenever the bundle changes. `None`:
    /// never (status-go: every 6 h).
    pub advert_interval_ms: Option<i64>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            app: messenger::Config::default(),
            raw: false,
            pubsub_topic: waku::DEFAULT_PUBSUB_TOPIC.to_owned(),
            // ¾ of the network's message size, as status-go does with its own maximum
            segment_size: waku::DEFAULT_MAX_MESSAGE_SIZE / 4 * 3 - 4096,
            segment_limits: segment::Limits::default(),
            segment_expiry_ms: 10 * 60_000,
            advert_interval_ms: Some(6 * 3_600_000),
        }
    }
}

/// Why a client operation failed.
///
/// ```
/// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
/// # use pfs_app::messenger::Event;
/// # use pfs_transport::transport::InMemoryTransport;
/// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
/// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
/// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let net = InMemoryTransport::new();
/// use pfs_client::{ClientError, Fault};
/// let mut alice = client(&net)?;
/// // poll before listen
/// let err = alice.poll(std::time::Duration::ZERO).unwrap_err();
/// assert!(matches!(err, ClientError::NotListening));
/// assert_eq!(err.fault(), Fault::Local);
/// // a network that takes nothing this large
/// let tiny = InMemoryTransport::new().with_max_message_size(100);
/// let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
/// let mut carol = Client::new(device, Box::new(tiny), ClientConfig::default());
/// let err = carol.send_text(&alice.identity(), "hi").unwrap_err();
/// assert!(matches!(err, ClientError::Transport(_)));
/// assert_eq!(err.fault(), Fault::Transient);
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The device (store, engine, sealing) failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The engine refused to send.
    #[error(transparent)]
    Send(#[from] pfs_protocol::SendError),
    /// The application layer failed.
    #[error(transparent)]
    App(#[from] messenger::AppError),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Segmentation failed.
    #[error("segmentation: {0}")]
    Segment(#[from] segment::SplitError),
    /// An operation that needs [`Client::listen`] first.
    #[error("not listening: call listen() first")]
    NotListening,
}

impl From<EngineError> for ClientError {
    fn from(e: EngineError) -> Self {
        Self::Device(DeviceError::Engine(e))
    }
}

/// Who is at fault for a failure, for callers that decide whether to retry.
///
/// ```
/// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
/// # use pfs_app::messenger::Event;
/// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
/// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
/// #     let (device, _) = Device::create_with_clock(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         pfs_protocol::Config::default(),
/// #         shared,
/// #     )?;
/// #     Ok(Core::new(device, ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
/// use pfs_client::{DropCause, Fault};
/// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
/// alice.send_text(&bob.identity(), "hi")?;
/// let mut carried = alice.take_messages().remove(0).carried;
/// carried.message.version = None; // not payload version 1: the peer's fault
/// let events = bob.handle(&carried)?;
/// assert!(matches!(events[..], [ClientEvent::Dropped { fault: Fault::Peer, cause: DropCause::Unreadable(_), .. }]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The received bytes are bad (forged, malformed, replayed): drop them.
    Peer,
    /// Our side (store, configuration, input): fix and retry.
    Local,
    /// The network: retry later (the outbox resends).
    Transient,
}

impl ClientError {
    /// Who is at fault.
    ///
    /// ```
    /// use pfs_client::{ClientError, Fault};
    /// use pfs_transport::transport::TransportError;
    ///
    /// assert_eq!(ClientError::from(TransportError::Timeout).fault(), Fault::Transient);
    /// assert_eq!(ClientError::NotListening.fault(), Fault::Local);
    /// ```
    pub fn fault(&self) -> Fault {
        match self {
            Self::Transport(_) => Fault::Transient,
            Self::App(e) if e.is_peer_fault() => Fault::Peer,
            _ => Fault::Local,
        }
    }
}

/// Why a received message was dropped.
///
/// ```
/// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
/// # use pfs_app::messenger::Event;
/// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
/// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
/// #     let (device, _) = Device::create_with_clock(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         pfs_protocol::Config::default(),
/// #         shared,
/// #     )?;
/// #     Ok(Core::new(device, ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
/// use pfs_client::{DropCause, OpenFailure};
/// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
/// alice.send_text(&bob.identity(), "hi")?;
/// let sealed = alice.take_messages().remove(0);
/// bob.handle(&sealed.carried)?;
/// // a WakuMessage that opens but carries no ProtocolMessage
/// let out = pfs_protocol::Outgoing {
///     recipient: bob.identity(),
///     bytes: b"not a protocol message".to_vec(),
///     kind: pfs_protocol::OutgoingKind::Message,
///     targeted: Vec::new(),
///     entries: Vec::new(),
///     forward_secret: false,
///     agreed_secret: None,
/// };
/// let junk = alice.device().seal(&out, 1_700_000_000_000_000_000)?;
/// let events = bob.handle(&pfs_transport::transport::CarriedMessage::on_default_shard(junk))?;
/// assert!(matches!(events[..], [ClientEvent::Dropped { cause: DropCause::Engine(_), .. }]));
/// // not payload version 1
/// let mut v0 = sealed.carried.clone();
/// v0.message.version = None;
/// assert!(matches!(bob.handle(&v0)?[..], [ClientEvent::Dropped { cause: DropCause::Unreadable(OpenFailure::Rejected(_)), .. }]));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DropCause {
    /// The WakuMessage could not be opened (corrupt, unsigned, not payload v1).
    #[error(transparent)]
    Unreadable(OpenFailure),
    /// A segment was refused.
    #[error("segment: {0}")]
    Segment(segment::SegmentError),
    /// The engine did not deliver it (a bundle reply may have been queued).
    #[error(transparent)]
    Engine(pfs_protocol::ReceiveError),
    /// The application layer refused it.
    #[error(transparent)]
    App(messenger::AppError),
}

/// Why a received message was skipped without being an error.
///
/// ```
/// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
/// # use pfs_app::messenger::Event;
/// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
/// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
/// #     let (device, _) = Device::create_with_clock(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         pfs_protocol::Config::default(),
/// #         shared,
/// #     )?;
/// #     Ok(Core::new(device, ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
/// use pfs_client::SkipReason;
/// let (mut alice, bob, mut carol) = (core(&clock)?, core(&clock)?, core(&clock)?);
/// alice.send_text(&bob.identity(), "for Bob")?;
/// let sealed = alice.take_messages().remove(0);
/// assert!(matches!(carol.handle(&sealed.carried)?[..], [ClientEvent::Skipped { reason: SkipReason::NotForUs }]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Our key cannot open it: it is for someone else.
    NotForUs,
    /// Our own message, sent by this very installation.
    OwnEcho,
    /// One segment of a message still incomplete.
    SegmentHeld,
    /// A hash-ratchet (community) message: not for a 1:1 client.
    HashRatchet,
}

/// What happened, as the client reports it.
///
/// ```
/// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
/// # use pfs_app::messenger::Event;
/// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
/// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
/// #     let (device, _) = Device::create_with_clock(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         pfs_protocol::Config::default(),
/// #         shared,
/// #     )?;
/// #     Ok(Core::new(device, ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
/// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
/// alice.send_text(&bob.identity(), "hi")?;
/// let events = bob.handle(&alice.take_messages().remove(0).carried)?;
/// // what the engine saw, the devices it learnt, then the content
/// let [
///     ClientEvent::Received { from, forward_secret, contact_request, sent_ns, .. },
///     ClientEvent::DevicesSeen { installations },
///     ClientEvent::App(Event::Text { message, .. }),
/// ] = &events[..] else {
///     return Err(format!("unexpected events {events:?}").into());
/// };
/// assert_eq!(from, &alice.identity());
/// assert!(!forward_secret, "Alice had no bundle of Bob's");
/// assert!(contact_request, "Alice is not Bob's contact");
/// assert_eq!(*sent_ns, 1_700_000_000_000_000_000);
/// assert_eq!(message.text, "hi");
/// // Alice's installation, learnt from the bundle in her message
/// assert_eq!(installations[..], [(alice.identity(), alice.device().installation_id())]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// An application-layer event (text, contact request, delivery ack, ...).
    App(Event),
    /// A plaintext in raw mode (or one that is not an application message).
    Raw {
        /// The sender.
        from: PublicKey,
        /// The plaintext.
        plaintext: Vec<u8>,
        /// True when it was forward secret.
        forward_secret: bool,
    },
    /// A peer's (or our own new device's) bundle arrived without a message.
    BundleReceived {
        /// Whose.
        from: PublicKey,
    },
    /// New installations were learnt from a bundle (own ones await approval).
    DevicesSeen {
        /// Identity and installation id of each.
        installations: Vec<(PublicKey, InstallationId)>,
    },
    /// Hash-ratchet group keys arrived (communities); a 1:1 application may ignore them.
    GroupKeys {
        /// The sender.
        from: PublicKey,
        /// The keys.
        keys: Vec<GroupKey>,
    },
    /// A received message was dropped.
    Dropped {
        /// The sender, when known.
        from: Option<PublicKey>,
        /// Why.
        cause: DropCause,
        /// Who is at fault.
        fault: Fault,
    },
    /// A received message was skipped (not an error).
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// A message was delivered by the engine (before the application layer): who sent it,
    /// from which installation, whether it was forward secret and whether it counts as a
    /// contact request. Reported before the events of its content.
    Received {
        /// The sender.
        from: PublicKey,
        /// The sending installation, as the message names it (`None` for a public
        /// message that names none).
        installation: Option<InstallationId>,
        /// Forward secret.
        forward_secret: bool,
        /// True when a session with the sender now exists ("PFS established").
        pfs_established: bool,
        /// The sender is not an accepted contact.
        contact_request: bool,
        /// The WakuMessage timestamp (Unix ns).
        sent_ns: i64,
    },
}

/// What a send did.
///
/// ```
/// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
/// # use pfs_app::messenger::Event;
/// # use pfs_transport::transport::InMemoryTransport;
/// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
/// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
/// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let net = InMemoryTransport::new();
/// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
/// bob.listen()?;
/// let report = alice.send_text(&bob.identity(), "hi")?;
/// assert_eq!((report.published, report.unpublished), (1, 0));
/// assert!(report.relay_peers >= 1);
/// assert_eq!(report.message_ids.len(), 1);
/// assert!(!report.forward_secret);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// status-go ids of the application messages sent.
    pub message_ids: Vec<[u8; 32]>,
    /// WakuMessages published.
    pub published: usize,
    /// Relay peers the publishes reached (summed).
    pub relay_peers: usize,
    /// WakuMessages that no peer took (kept in the outbox for resending).
    pub unpublished: usize,
    /// True when the message is forward secret for the peer.
    pub forward_secret: bool,
}

/// A sealed WakuMessage to publish, with what it is.
///
/// ```
/// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
/// # use pfs_app::messenger::Event;
/// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
/// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
/// #     let (device, _) = Device::create_with_clock(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         pfs_protocol::Config::default(),
/// #         shared,
/// #     )?;
/// #     Ok(Core::new(device, ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
/// let (mut alice, bob) = (core(&clock)?, core(&clock)?);
/// alice.send_text(&bob.identity(), "hi")?;
/// let sealed = alice.take_messages().remove(0);
/// assert_eq!(sealed.kind, pfs_protocol::OutgoingKind::Message);
/// assert_eq!(sealed.recipient, bob.identity());
/// assert_eq!(sealed.carried.message.version, Some(1));
/// assert!(!sealed.forward_secret && sealed.entries.len() == 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The message and its pubsub topic.
    pub carried: CarriedMessage,
    /// Why the engine made it.
    pub kind: OutgoingKind,
    /// The identity it is encrypted to.
    pub recipient: PublicKey,
    /// The installations it was built for.
    pub entries: Vec<InstallationId>,
    /// False when sent without forward secrecy.
    pub forward_secret: bool,
}

/// The client without a network: one account's engine and application layer. Every
/// operation queues the WakuMessages it wants published ([`Core::take_messages`]); the
/// caller (the [`Client`], or a tool that prints them) delivers them.
///
/// ```
/// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
/// # use pfs_app::messenger::Event;
/// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
/// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
/// #     let (device, _) = Device::create_with_clock(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         pfs_protocol::Config::default(),
/// #         shared,
/// #     )?;
/// #     Ok(Core::new(device, ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
/// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
/// alice.send_text(&bob.identity(), "hi")?;
/// assert_eq!(alice.unacknowledged()?, 1);
/// for sealed in alice.take_messages() {
///     bob.handle(&sealed.carried)?;
/// }
/// for sealed in bob.take_messages() {
///     alice.handle(&sealed.carried)?; // Bob's ack
/// }
/// assert_eq!(alice.unacknowledged()?, 0);
/// # Ok(()) }
/// ```
pub struct Core {
    device: Device,
    messenger: Messenger,
    reassembler: Reassembler,
    config: ClientConfig,
    queued: Vec<Sealed>,
    /// When the advertisement was last looked at, Unix ms.
    advert_checked: Option<i64>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("device", &self.device)
            .field("queued", &self.queued.len())
            .finish_non_exhaustive()
    }
}

/// One account, connected: see the crate documentation.
///
/// ```
/// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
/// # use pfs_app::messenger::Event;
/// # use pfs_transport::transport::InMemoryTransport;
/// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
/// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
/// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let net = InMemoryTransport::new();
/// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
/// bob.listen()?;
/// alice.send_text(&bob.identity(), "hello")?;
/// let events = bob.poll(std::time::Duration::from_secs(2))?;
/// assert!(events.iter().any(|e| matches!(e, ClientEvent::App(Event::Text { message, .. }) if message.text == "hello")));
/// # Ok(()) }
/// ```
pub struct Client {
    core: Core,
    transport: Box<dyn Transport>,
    subscription: Option<Subscription>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("core", &self.core)
            .field("listening", &self.subscription.is_some())
            .finish_non_exhaustive()
    }
}

/// The messenger's records inside an engine transaction.
struct Records<'a, 'b>(&'a mut AppRecords<'b>);

fn boxed(e: pfs_store::StoreError) -> StoreFailure {
    Box::new(e)
}

impl RecordStore for Records<'_, '_> {
    fn record(&self, kind: RecordKind, key: &[u8]) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.0.get(kind.as_str(), key).map_err(boxed)
    }
    fn put_record(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        due: i64,
    ) -> Result<(), StoreFailure> {
        self.0.put(kind.as_str(), key, value, due).map_err(boxed)
    }
    fn delete_record(&mut self, kind: RecordKind, key: &[u8]) -> Result<(), StoreFailure> {
        self.0.delete(kind.as_str(), key).map_err(boxed)
    }
    fn due_records(
        &self,
        kind: RecordKind,
        until: i64,
        limit: usize,
    ) -> Result<Vec<pfs_app::messenger::Record>, StoreFailure> {
        self.0.due(kind.as_str(), until, limit).map_err(boxed)
    }
    fn count_records(&self, kind: RecordKind) -> Result<usize, StoreFailure> {
        self.0.count(kind.as_str()).map_err(boxed)
    }
}

/// Runs `f` with `messenger` on the application records of `device`'s store, in one
/// transaction (committed when `f` succeeds): for tools that drive the application layer
/// themselves instead of through a [`Core`].
///
/// ```
/// use pfs_app::messenger::{Config, Messenger};
/// use pfs_client::Device;
///
/// let (mut device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
/// let messenger = Messenger::new(device.signing_key(), Config::default());
/// let pending = pfs_client::with_app_records(&mut device, &messenger, |m, r| m.unacknowledged(r))?;
/// assert_eq!(pending, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn with_app_records<T>(
    device: &mut Device,
    messenger: &Messenger,
    f: impl FnOnce(&Messenger, &mut dyn RecordStore) -> Result<T, messenger::AppError>,
) -> Result<T, ClientError> {
    device
        .engine
        .with_app_records(|r| -> Result<T, ClientError> { Ok(f(messenger, &mut Records(r))?) })
}

/// The meta record of the last advertisement: LE64 time (ms) ‖ keccak256(our bundle).
const ADVERT_RECORD: &[u8] = b"contact-code-advert";
/// How often [`Core::tick`] looks whether the advertisement is due.
const ADVERT_CHECK_EVERY: Duration = Duration::from_secs(60);

impl Core {
    /// The device's time, Unix ms.
    fn now_ms(&self) -> i64 {
        self.device.now_ns().div_euclid(1_000_000)
    }

    /// The core of `device`.
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// // two accounts without a network: what one queues, the other handles
    /// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
    /// let bob_key = bob.identity();
    /// alice.send_text(&bob_key, "hello")?;
    /// let mut texts = Vec::new();
    /// for sealed in alice.take_messages() {
    ///     for event in bob.handle(&sealed.carried)? {
    ///         if let ClientEvent::App(Event::Text { message, .. }) = event {
    ///             texts.push(message.text);
    ///         }
    ///     }
    /// }
    /// assert_eq!(texts, ["hello"]);
    /// # Ok(()) }
    /// ```
    pub fn new(device: Device, config: ClientConfig) -> Self {
        let messenger = Messenger::new(device.signing_key(), config.app);
        Self {
            device,
            messenger,
            reassembler: Reassembler::new(config.segment_limits),
            config,
            queued: Vec::new(),
            advert_checked: None,
        }
    }

    /// The device, giving up the core (to build a [`Client`] on it).
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let alice = core(&clock)?;
    /// let identity = alice.identity();
    /// let device = alice.into_device();
    /// assert_eq!(device.identity(), identity);
    /// # Ok(()) }
    /// ```
    pub fn into_device(self) -> Device {
        self.device
    }

    /// The WakuMessages queued for publication, in order (and forgets them).
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, bob) = (core(&clock)?, core(&clock)?);
    /// alice.send_text(&bob.identity(), "hi")?;
    /// let queued = alice.take_messages();
    /// assert_eq!(queued.len(), 1, "one WakuMessage for Bob (Alice has no other device)");
    /// assert_eq!(queued[0].carried.pubsub_topic, ClientConfig::default().pubsub_topic);
    /// assert!(alice.take_messages().is_empty(), "drained");
    /// # Ok(()) }
    /// ```
    pub fn take_messages(&mut self) -> Vec<Sealed> {
        std::mem::take(&mut self.queued)
    }

    /// The configuration.
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let alice = core(&clock)?;
    /// assert_eq!(alice.config().segment_size, ClientConfig::default().segment_size);
    /// assert!(!alice.config().raw);
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Our identity (chat key).
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, bob) = (core(&clock)?, core(&clock)?);
    /// assert_ne!(alice.identity(), bob.identity());
    /// assert_eq!(alice.identity(), alice.device().identity());
    /// # Ok(()) }
    /// ```
    pub fn identity(&self) -> PublicKey {
        self.device.identity()
    }

    /// The device (engine, contacts, installations).
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, bob) = (core(&clock)?, core(&clock)?);
    /// alice.device().engine.add_contact_key(&bob.identity(), None)?;
    /// assert_eq!(alice.device().engine.contacts()?.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn device(&mut self) -> &mut Device {
        &mut self.device
    }

    fn with_records<T>(
        &mut self,
        f: impl FnOnce(&Messenger, &mut dyn RecordStore) -> Result<T, messenger::AppError>,
    ) -> Result<T, ClientError> {
        with_app_records(&mut self.device, &self.messenger, f)
    }

    /// Sends a text to `to` (and copies to our own other devices); tracked until the peer
    /// acknowledges it. In raw mode the text bytes are sent as they are.
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
    /// // without Bob's bundle the first message is not forward secret
    /// let report = alice.send_text(&bob.identity(), "first")?;
    /// assert!(!report.forward_secret);
    /// assert_eq!(report.message_ids.len(), 1);
    /// // with it (a contact code), it is
    /// let code = bob.device().engine.contact_code()?;
    /// alice.device().engine.add_contact_code(&code, Some("Bob"))?;
    /// assert!(alice.send_text(&bob.identity(), "second")?.forward_secret);
    /// # Ok(()) }
    /// ```
    pub fn send_text(&mut self, to: &PublicKey, text: &str) -> Result<SendReport, ClientError> {
        if self.config.raw {
            return self.send_plaintext(to, text.as_bytes(), false, Vec::new());
        }
        let now = self.now_ms();
        let out = self.with_records(|m, r| m.text(r, to, text, None, now))?;
        self.send_plaintext(to, &out.plaintext, false, out.message_ids)
    }

    /// Sends a contact request with `text` (today's Status flow: a CONTACT_REQUEST chat
    /// message and a `ContactUpdate`); the only message that reaches a peer who declined
    /// us.
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
    /// alice.send_contact_request(&bob.identity(), "it's Alice")?;
    /// let mut request = None;
    /// for sealed in alice.take_messages() {
    ///     for event in bob.handle(&sealed.carried)? {
    ///         if let ClientEvent::App(Event::ContactRequest { id, message, .. }) = event {
    ///             request = Some((id, message.text));
    ///         }
    ///     }
    /// }
    /// let (id, text) = request.expect("a contact request");
    /// assert_eq!(text, "it's Alice");
    /// // Bob accepts it: Alice is told
    /// bob.accept_contact_request(&alice.identity(), &id)?;
    /// let accepted = bob
    ///     .take_messages()
    ///     .iter()
    ///     .map(|s| alice.handle(&s.carried))
    ///     .collect::<Result<Vec<_>, _>>()?
    ///     .into_iter()
    ///     .flatten()
    ///     .any(|e| matches!(e, ClientEvent::App(Event::ContactAccepted { .. })));
    /// assert!(accepted);
    /// # Ok(()) }
    /// ```
    pub fn send_contact_request(
        &mut self,
        to: &PublicKey,
        text: &str,
    ) -> Result<SendReport, ClientError> {
        if self.config.raw {
            return self.send_plaintext(to, text.as_bytes(), true, Vec::new());
        }
        let now = self.now_ms();
        let out = self.with_records(|m, r| m.contact_request(r, to, text, now))?;
        self.send_plaintext(to, &out.plaintext, true, out.message_ids)
    }

    /// Accepts the contact request `request_id` of `from`: marks them accepted and tells
    /// them (`AcceptContactRequest` + `ContactUpdate`).
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
    /// alice.send_contact_request(&bob.identity(), "it's Alice")?;
    /// let mut request = None;
    /// for sealed in alice.take_messages() {
    ///     for event in bob.handle(&sealed.carried)? {
    ///         if let ClientEvent::App(Event::ContactRequest { id, .. }) = event {
    ///             request = Some(id);
    ///         }
    ///     }
    /// }
    /// bob.accept_contact_request(&alice.identity(), &request.ok_or("no request")?)?;
    /// assert_eq!(bob.device().engine.contacts()?[0].state, pfs_store::ContactState::Accepted);
    /// let accepted = bob.take_messages().iter().map(|s| alice.handle(&s.carried)).collect::<Result<Vec<_>, _>>()?;
    /// assert!(accepted.iter().flatten().any(|e| matches!(e, ClientEvent::App(Event::ContactAccepted { .. }))));
    /// # Ok(()) }
    /// ```
    pub fn accept_contact_request(
        &mut self,
        from: &PublicKey,
        request_id: &[u8; 32],
    ) -> Result<SendReport, ClientError> {
        self.device.engine.accept_contact(from)?;
        if self.config.raw {
            return Ok(SendReport::default());
        }
        let now = self.now_ms();
        let out = self.with_records(|m, r| m.accept_contact_request(r, from, request_id, now))?;
        self.send_plaintext(from, &out.plaintext, false, out.message_ids)
    }

    /// Accepts `from` as a contact; when a contact request of theirs came through the
    /// application layer, tells them (`AcceptContactRequest` naming it + `ContactUpdate`),
    /// as a Status app does. Returns the send report when something was sent.
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, mut bob, carol) = (core(&clock)?, core(&clock)?, core(&clock)?);
    /// alice.send_contact_request(&bob.identity(), "it's Alice")?;
    /// for sealed in alice.take_messages() {
    ///     bob.handle(&sealed.carried)?;
    /// }
    /// // a request came through the application layer: Alice is told
    /// let report = bob.accept_contact(&alice.identity())?.ok_or("a reply")?;
    /// assert_eq!(report.message_ids.len(), 2); // AcceptContactRequest and ContactUpdate
    /// // no request from Carol: only marked accepted
    /// assert!(bob.accept_contact(&carol.identity())?.is_none());
    /// assert!(bob.device().engine.contacts()?.iter().all(|c| c.state == pfs_store::ContactState::Accepted));
    /// # Ok(()) }
    /// ```
    pub fn accept_contact(&mut self, from: &PublicKey) -> Result<Option<SendReport>, ClientError> {
        let pending = if self.config.raw {
            None
        } else {
            self.with_records(|m, r| m.pending_request(r, from))?
        };
        match pending {
            Some(id) => Ok(Some(self.accept_contact_request(from, &id)?)),
            None => {
                self.device.engine.accept_contact(from)?;
                Ok(None)
            }
        }
    }

    /// Encrypts an engine plaintext for `to` and publishes it.
    fn send_plaintext(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
        contact_request: bool,
        message_ids: Vec<[u8; 32]>,
    ) -> Result<SendReport, ClientError> {
        let outs = if contact_request {
            self.device.engine.send_contact_request(to, plaintext)?
        } else {
            self.device.engine.send(to, plaintext)?
        };
        let report = SendReport {
            message_ids,
            forward_secret: outs
                .iter()
                .any(|o| o.kind == OutgoingKind::Message && o.forward_secret),
            ..SendReport::default()
        };
        for out in &outs {
            self.queue(out)?;
        }
        Ok(report)
    }

    /// Seals (segmenting when large) and queues one engine message.
    fn queue(&mut self, out: &Outgoing) -> Result<(), ClientError> {
        let now_ns = self.device.now_ns();
        let pieces = if out.bytes.len() > self.config.segment_size {
            segment::split(&out.bytes, self.config.segment_size)?
        } else {
            vec![out.bytes.clone()]
        };
        let mut sealed = Vec::with_capacity(pieces.len());
        // seal everything first: a refusal (size) queues nothing
        for piece in pieces {
            let piece_out = Outgoing {
                bytes: piece,
                ..out.clone()
            };
            let msg = self.device.seal(&piece_out, now_ns)?;
            sealed.push(Sealed {
                carried: CarriedMessage {
                    pubsub_topic: self.config.pubsub_topic.clone(),
                    message: msg,
                },
                kind: out.kind,
                recipient: out.recipient.clone(),
                entries: out.entries.clone(),
                forward_secret: out.forward_secret,
            });
        }
        self.queued.extend(sealed);
        Ok(())
    }

    /// Background work: resends of unacknowledged messages that are due, replies the engine
    /// queued (bundle replies), expiry of incomplete segment sets.
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, bob) = (core(&clock)?, core(&clock)?);
    /// alice.send_text(&bob.identity(), "are you there?")?;
    /// alice.take_messages(); // lost in the network
    /// assert_eq!(alice.unacknowledged()?, 1);
    /// // the first tick publishes our contact-code advertisement; no resend is due
    /// // before the first interval (10 s)...
    /// alice.tick()?;
    /// let queued = alice.take_messages();
    /// assert_eq!(queued.len(), 1);
    /// let me = alice.identity();
    /// assert_eq!(queued[0].carried.content_topic(), alice.device().contact_code_key(&me)?.0);
    /// // ...then the message is sent again
    /// clock.advance(11 * 1_000_000_000);
    /// alice.tick()?;
    /// assert_eq!(alice.take_messages().len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn tick(&mut self) -> Result<Vec<ClientEvent>, ClientError> {
        let mut events = Vec::new();
        let now = self.now_ms();
        self.reassembler.expire(
            u64::try_from(now)
                .unwrap_or(0)
                .saturating_sub(self.config.segment_expiry_ms),
        );
        let check_every = i64::try_from(ADVERT_CHECK_EVERY.as_millis()).unwrap_or(i64::MAX);
        if self
            .advert_checked
            .is_none_or(|t| now.saturating_sub(t) >= check_every || now < t)
        {
            self.advert_checked = Some(now);
            if let Err(e) = self.advertise_if_due() {
                tracing::warn!(error = %e, "contact-code advertisement failed");
            }
        }
        if !self.config.raw {
            let (resends, expired) = self.with_records(|m, r| m.due_resends(r, now))?;
            events.extend(expired.into_iter().map(ClientEvent::App));
            for out in resends {
                if let Err(e) = self.send_plaintext(&out.to, &out.plaintext, false, Vec::new()) {
                    // our fault or the network's: the outbox keeps it for the next pass
                    tracing::warn!(error = %e, "resend failed");
                }
            }
        }
        self.flush_engine_outbox()?;
        Ok(events)
    }

    /// Publishes our contact-code advertisement when it is due: never sent, older than
    /// the interval, or our bundle changed since (rotation, a new paired device).
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let mut alice = core(&clock)?;
    /// assert!(alice.advertise_if_due()?); // never sent
    /// let me = alice.identity();
    /// let advert = alice.take_messages().remove(0);
    /// assert_eq!(advert.kind, pfs_protocol::OutgoingKind::Public);
    /// assert_eq!(advert.carried.content_topic(), alice.device().contact_code_key(&me)?.0);
    /// assert!(!alice.advertise_if_due()?); // just sent
    /// clock.advance(6 * 3_600 * 1_000_000_000); // the 6 h interval
    /// assert!(alice.advertise_if_due()?);
    /// # Ok(()) }
    /// ```
    pub fn advertise_if_due(&mut self) -> Result<bool, ClientError> {
        let Some(interval) = self.config.advert_interval_ms else {
            return Ok(false);
        };
        if self.config.raw {
            return Ok(false);
        }
        let now = self.now_ms();
        let bundle = self.device.engine.own_bundle()?;
        let digest = pfs_crypto::hash::keccak256(&pfs_wire::Message::encode_to_vec(&bundle));
        let due = self.with_records(|_, r| {
            let last = r
                .record(RecordKind::Meta, ADVERT_RECORD)
                .map_err(messenger::AppError::Store)?;
            Ok(match last.as_deref() {
                Some(v) if v.len() == 40 => {
                    let mut at = [0u8; 8];
                    at.copy_from_slice(&v[..8]);
                    now.saturating_sub(i64::from_le_bytes(at)) >= interval || v[8..] != digest
                }
                _ => true,
            })
        })?;
        if !due {
            return Ok(false);
        }
        let wrapper = self.messenger.contact_code_advertisement()?;
        let out = self.device.engine.encrypt_public(&wrapper)?;
        self.queue(&out)?;
        let mut value = now.to_le_bytes().to_vec();
        value.extend_from_slice(&digest);
        self.with_records(|_, r| {
            r.put_record(RecordKind::Meta, ADVERT_RECORD, &value, 0)
                .map_err(messenger::AppError::Store)
        })?;
        Ok(true)
    }

    fn flush_engine_outbox(&mut self) -> Result<(), ClientError> {
        for out in self.device.engine.take_outgoing() {
            self.queue(&out)?;
        }
        Ok(())
    }

    /// Handles one received WakuMessage: opens it, reassembles segments, decrypts it, runs
    /// the application layer, queues the replies (acks, bundle replies), and reports what
    /// happened. A message that cannot be delivered is an event, not an error: errors are
    /// our own failures (store, sealing).
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// use pfs_client::SkipReason;
    /// let (mut alice, mut bob, mut carol) = (core(&clock)?, core(&clock)?, core(&clock)?);
    /// alice.send_text(&bob.identity(), "hi")?;
    /// let sealed = alice.take_messages().remove(0);
    /// // for Bob only: Carol skips it, it is no error
    /// assert!(matches!(carol.handle(&sealed.carried)?[..], [ClientEvent::Skipped { reason: SkipReason::NotForUs }]));
    /// let events = bob.handle(&sealed.carried)?;
    /// assert!(events.iter().any(|e| matches!(e, ClientEvent::App(Event::Text { .. }))));
    /// // the acknowledgement is queued for Alice
    /// assert!(!bob.take_messages().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn handle(&mut self, carried: &CarriedMessage) -> Result<Vec<ClientEvent>, ClientError> {
        let opened = match self.device.open_message(carried) {
            Ok(o) => o,
            Err(OpenFailure::NotForUs) => {
                return Ok(vec![ClientEvent::Skipped {
                    reason: SkipReason::NotForUs,
                }]);
            }
            Err(e) => {
                return Ok(vec![ClientEvent::Dropped {
                    from: None,
                    cause: DropCause::Unreadable(e),
                    fault: Fault::Peer,
                }]);
            }
        };
        if self.device.is_own_echo(&opened.sender, &opened.payload) {
            return Ok(vec![ClientEvent::Skipped {
                reason: SkipReason::OwnEcho,
            }]);
        }
        let now = self.now_ms();
        // a segment first, as status-go
        let payload = match self.reassembler.push(
            &opened.sender,
            &opened.payload,
            u64::try_from(now).unwrap_or(0),
        ) {
            Ok(Outcome::Complete(whole)) => whole,
            Ok(Outcome::Incomplete) => {
                return Ok(vec![ClientEvent::Skipped {
                    reason: SkipReason::SegmentHeld,
                }]);
            }
            Err(segment::SegmentError::Malformed(_) | segment::SegmentError::BadHash(_)) => {
                opened.payload.clone()
            }
            Err(e) => {
                return Ok(vec![ClientEvent::Dropped {
                    from: Some(opened.sender),
                    cause: DropCause::Segment(e),
                    fault: Fault::Peer,
                }]);
            }
        };
        let delivered = match self.device.engine.decrypt(
            &opened.sender,
            &payload,
            &MessageId::from(&opened.hash),
        ) {
            Ok(d) => d,
            Err(e) => {
                let fault = if e.is_peer_fault() {
                    Fault::Peer
                } else {
                    Fault::Local
                };
                self.flush_engine_outbox()?;
                return Ok(vec![ClientEvent::Dropped {
                    from: Some(opened.sender),
                    cause: DropCause::Engine(e),
                    fault,
                }]);
            }
        };
        let from = delivered.sender.clone();
        let mut events = vec![ClientEvent::Received {
            from: from.clone(),
            installation: delivered.sender_installation.clone(),
            forward_secret: delivered.forward_secret,
            pfs_established: delivered.pfs_established,
            contact_request: delivered.contact_request,
            sent_ns: opened.timestamp_ns,
        }];
        if !delivered.new_installations.is_empty() {
            events.push(ClientEvent::DevicesSeen {
                installations: delivered.new_installations.clone(),
            });
        }
        if !delivered.group_keys.is_empty() {
            events.push(ClientEvent::GroupKeys {
                from: from.clone(),
                keys: delivered.group_keys.clone(),
            });
        }
        match delivered.kind {
            DeliveredKind::BundleOnly => events.push(ClientEvent::BundleReceived { from }),
            DeliveredKind::HashRatchet => events.push(ClientEvent::Skipped {
                reason: SkipReason::HashRatchet,
            }),
            DeliveredKind::Public if !self.config.raw => {
                match self.messenger.receive_public(&from, &delivered.plaintext) {
                    Ok(e) => events.push(ClientEvent::App(e)),
                    Err(e) => events.push(ClientEvent::Dropped {
                        from: Some(from),
                        cause: DropCause::App(e),
                        fault: Fault::Peer,
                    }),
                }
            }
            DeliveredKind::Direct if !self.config.raw => {
                let sent_ms = opened.timestamp_ns.div_euclid(1_000_000);
                let plaintext = delivered.plaintext;
                let result =
                    self.with_records(|m, r| m.receive(r, &from, &plaintext, sent_ms, now));
                match result {
                    Ok(incoming) => {
                        events.extend(incoming.events.into_iter().map(ClientEvent::App));
                        if let Some(ack) = incoming.ack {
                            // to the sender's devices only: our own devices need no ack
                            let out = self
                                .device
                                .engine
                                .encrypt_automatic(&ack.to, &ack.plaintext)?;
                            self.queue(&out)?;
                        }
                    }
                    Err(ClientError::App(e)) if e.is_peer_fault() => {
                        events.push(ClientEvent::Dropped {
                            from: Some(from),
                            cause: DropCause::App(e),
                            fault: Fault::Peer,
                        })
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => events.push(ClientEvent::Raw {
                from,
                plaintext: delivered.plaintext,
                forward_secret: delivered.forward_secret,
            }),
        }
        self.flush_engine_outbox()?;
        Ok(events)
    }

    /// Messages sent and not yet acknowledged.
    ///
    /// ```
    /// # use pfs_client::{ClientConfig, ClientEvent, Core, Device, SharedClock};
    /// # use pfs_app::messenger::Event;
    /// # fn core(clock: &pfs_protocol::ManualClock) -> Result<Core, Box<dyn std::error::Error>> {
    /// #     let shared: SharedClock = std::sync::Arc::new(clock.clone());
    /// #     let (device, _) = Device::create_with_clock(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         pfs_protocol::Config::default(),
    /// #         shared,
    /// #     )?;
    /// #     Ok(Core::new(device, ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = pfs_protocol::ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, mut bob) = (core(&clock)?, core(&clock)?);
    /// alice.send_text(&bob.identity(), "ack me")?;
    /// assert_eq!(alice.unacknowledged()?, 1);
    /// for sealed in alice.take_messages() {
    ///     bob.handle(&sealed.carried)?;
    /// }
    /// // Bob's acknowledgement comes back
    /// for sealed in bob.take_messages() {
    ///     alice.handle(&sealed.carried)?;
    /// }
    /// assert_eq!(alice.unacknowledged()?, 0);
    /// # Ok(()) }
    /// ```
    pub fn unacknowledged(&mut self) -> Result<usize, ClientError> {
        self.with_records(|m, r| m.unacknowledged(r))
    }
}

impl Client {
    /// A client for `device` over `transport`.
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// let identity = device.identity();
    /// let mut client = Client::new(device, Box::new(net.clone()), ClientConfig::default());
    /// assert_eq!(client.identity(), identity);
    /// client.listen()?;
    /// # Ok(()) }
    /// ```
    pub fn new(device: Device, transport: Box<dyn Transport>, config: ClientConfig) -> Self {
        Self {
            core: Core::new(device, config),
            transport,
            subscription: None,
        }
    }

    /// Our identity (chat key).
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let mut alice = client(&net)?;
    /// let me = alice.identity();
    /// assert_eq!(alice.device().identity(), me);
    /// # Ok(()) }
    /// ```
    pub fn identity(&self) -> PublicKey {
        self.core.identity()
    }

    /// The device (engine, contacts, installations).
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, bob) = (client(&net)?, client(&net)?);
    /// alice.device().engine.add_contact_key(&bob.identity(), Some("Bob"))?;
    /// assert_eq!(alice.device().engine.contacts()?[0].name.as_deref(), Some("Bob"));
    /// # Ok(()) }
    /// ```
    pub fn device(&mut self) -> &mut Device {
        self.core.device()
    }

    /// The core (the account without the network).
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let mut alice = client(&net)?;
    /// let me = alice.identity();
    /// assert_eq!(alice.core().identity(), me);
    /// assert!(alice.core().take_messages().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn core(&mut self) -> &mut Core {
        &mut self.core
    }

    /// Subscribes to the content topics we receive on (our partitioned topic and the topics
    /// negotiated with contacts). Call again after adding contacts.
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// use pfs_client::ClientError;
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// assert!(matches!(bob.poll(std::time::Duration::ZERO), Err(ClientError::NotListening)));
    /// bob.listen()?;
    /// alice.send_text(&bob.identity(), "hi")?;
    /// assert!(!bob.poll(std::time::Duration::from_secs(2))?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn listen(&mut self) -> Result<(), ClientError> {
        let topics = self.core.device.content_topics()?;
        self.subscription = Some(self.transport.subscribe(&topics)?);
        Ok(())
    }

    /// Publishes what the core queued; a publish no peer takes is counted in `report`, not
    /// an error (tracked messages are resent).
    fn flush(&mut self, report: &mut SendReport) -> Result<(), ClientError> {
        for m in self.core.take_messages() {
            match self.transport.publish(m.carried) {
                Ok(r) => {
                    report.published += 1;
                    report.relay_peers += r.relay_peers;
                }
                Err(TransportError::NoPeers) => report.unpublished += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn flushed<T>(&mut self, r: Result<T, ClientError>) -> Result<T, ClientError> {
        let mut report = SendReport::default();
        let flushed = self.flush(&mut report);
        let v = r?;
        flushed?;
        Ok(v)
    }

    /// Sends a text: see [`Core::send_text`]. The report counts the publishes.
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// bob.listen()?;
    /// let report = alice.send_text(&bob.identity(), "hi")?;
    /// assert_eq!((report.published, report.unpublished, report.message_ids.len()), (1, 0, 1));
    /// # Ok(()) }
    /// ```
    pub fn send_text(&mut self, to: &PublicKey, text: &str) -> Result<SendReport, ClientError> {
        let mut report = self.core.send_text(to, text)?;
        self.flush(&mut report)?;
        Ok(report)
    }

    /// Sends a contact request: see [`Core::send_contact_request`].
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// bob.listen()?;
    /// assert_eq!(alice.send_contact_request(&bob.identity(), "it's Alice")?.published, 1);
    /// let events = bob.poll(std::time::Duration::from_secs(2))?;
    /// assert!(events.iter().any(|e| matches!(e, ClientEvent::App(Event::ContactRequest { message, .. }) if message.text == "it's Alice")));
    /// # Ok(()) }
    /// ```
    pub fn send_contact_request(
        &mut self,
        to: &PublicKey,
        text: &str,
    ) -> Result<SendReport, ClientError> {
        let mut report = self.core.send_contact_request(to, text)?;
        self.flush(&mut report)?;
        Ok(report)
    }

    /// Accepts a contact request: see [`Core::accept_contact_request`].
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// bob.listen()?;
    /// alice.send_contact_request(&bob.identity(), "it's Alice")?;
    /// let request = bob.poll(std::time::Duration::from_secs(2))?.into_iter().find_map(|e| match e {
    ///     ClientEvent::App(Event::ContactRequest { id, .. }) => Some(id),
    ///     _ => None,
    /// }).ok_or("no contact request")?;
    /// let report = bob.accept_contact_request(&alice.identity(), &request)?;
    /// assert_eq!(report.published, 1);
    /// assert_eq!(bob.device().engine.contacts()?[0].state, pfs_store::ContactState::Accepted);
    /// # Ok(()) }
    /// ```
    pub fn accept_contact_request(
        &mut self,
        from: &PublicKey,
        request_id: &[u8; 32],
    ) -> Result<SendReport, ClientError> {
        let mut report = self.core.accept_contact_request(from, request_id)?;
        self.flush(&mut report)?;
        Ok(report)
    }

    /// Handles one received message and publishes the replies (acks, bundle replies).
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// // queued by the core, not published: hand it to Bob directly
    /// alice.core().send_text(&bob.identity(), "hi")?;
    /// let sealed = alice.core().take_messages().remove(0);
    /// let before = net.history_len();
    /// let events = bob.handle(&sealed.carried)?;
    /// assert!(events.iter().any(|e| matches!(e, ClientEvent::App(Event::Text { message, .. }) if message.text == "hi")));
    /// assert!(net.history_len() > before, "Bob's acknowledgement was published");
    /// # Ok(()) }
    /// ```
    pub fn handle(&mut self, carried: &CarriedMessage) -> Result<Vec<ClientEvent>, ClientError> {
        let r = self.core.handle(carried);
        self.flushed(r)
    }

    /// Background work (resends due, engine replies), published.
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let mut alice = client(&net)?;
    /// // the first tick publishes the contact-code advertisement (our bundle)
    /// let before = net.history_len();
    /// alice.tick()?;
    /// assert_eq!(net.history_len(), before + 1);
    /// # Ok(()) }
    /// ```
    pub fn tick(&mut self) -> Result<Vec<ClientEvent>, ClientError> {
        let r = self.core.tick();
        self.flushed(r)
    }

    /// Messages sent and not yet acknowledged.
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, bob) = (client(&net)?, client(&net)?);
    /// alice.send_text(&bob.identity(), "one")?;
    /// alice.send_text(&bob.identity(), "two")?;
    /// assert_eq!(alice.unacknowledged()?, 2); // nobody acknowledged them yet
    /// # Ok(()) }
    /// ```
    pub fn unacknowledged(&mut self) -> Result<usize, ClientError> {
        self.core.unacknowledged()
    }

    /// Waits up to `timeout` for messages, handles everything that arrived, then runs
    /// [`Client::tick`]. Returns what happened.
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// bob.listen()?;
    /// alice.listen()?;
    /// alice.send_text(&bob.identity(), "hi")?;
    /// let events = bob.poll(std::time::Duration::from_secs(2))?;
    /// assert!(events.iter().any(|e| matches!(e, ClientEvent::App(Event::Text { message, .. }) if message.text == "hi")));
    /// // Bob's acknowledgement reaches Alice
    /// alice.poll(std::time::Duration::from_secs(2))?;
    /// assert_eq!(alice.unacknowledged()?, 0);
    /// # Ok(()) }
    /// ```
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<ClientEvent>, ClientError> {
        self.poll_filtered(timeout, |_| true)
    }

    /// [`Client::poll`], handling only the messages `keep` accepts (an application that
    /// remembers which WakuMessages it processed across restarts filters them here).
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// bob.listen()?;
    /// alice.send_text(&bob.identity(), "skipped")?;
    /// // an application that already processed this message filters it out
    /// let events = bob.poll_filtered(std::time::Duration::from_secs(2), |_| false)?;
    /// assert!(!events.iter().any(|e| matches!(e, ClientEvent::App(Event::Text { .. }))));
    /// # Ok(()) }
    /// ```
    pub fn poll_filtered(
        &mut self,
        timeout: Duration,
        mut keep: impl FnMut(&CarriedMessage) -> bool,
    ) -> Result<Vec<ClientEvent>, ClientError> {
        let mut received = Vec::new();
        {
            let sub = self
                .subscription
                .as_ref()
                .ok_or(ClientError::NotListening)?;
            if let Some(m) = sub.recv_timeout(timeout)? {
                received.push(m);
                while let Some(m) = sub.try_recv()? {
                    received.push(m);
                }
            }
        }
        let mut events = Vec::new();
        for m in received.iter().filter(|m| keep(m)) {
            events.extend(self.handle(m)?);
        }
        events.extend(self.tick()?);
        Ok(events)
    }

    /// Fetches what a store holds for our topics between `start_ns` and now (after being
    /// offline) and handles it.
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// let start = pfs_client::device::now_ns();
    /// // Bob is not listening: the message waits in the store (the in-memory hub keeps history)
    /// alice.send_text(&bob.identity(), "while you were away")?;
    /// let events = bob.catch_up(start)?;
    /// assert!(events.iter().any(|e| matches!(e, ClientEvent::App(Event::Text { message, .. }) if message.text == "while you were away")));
    /// # Ok(()) }
    /// ```
    pub fn catch_up(&mut self, start_ns: i64) -> Result<Vec<ClientEvent>, ClientError> {
        self.catch_up_filtered(start_ns, |_| true)
    }

    /// [`Client::catch_up`], handling only the messages `keep` accepts.
    ///
    /// ```
    /// # use pfs_client::{Client, ClientConfig, ClientEvent, Device};
    /// # use pfs_app::messenger::Event;
    /// # use pfs_transport::transport::InMemoryTransport;
    /// # fn client(net: &InMemoryTransport) -> Result<Client, Box<dyn std::error::Error>> {
    /// #     let (device, _) = Device::create(Box::new(pfs_store::MemoryStore::new()), Default::default())?;
    /// #     Ok(Client::new(device, Box::new(net.clone()), ClientConfig::default()))
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let net = InMemoryTransport::new();
    /// let (mut alice, mut bob) = (client(&net)?, client(&net)?);
    /// let start = pfs_client::device::now_ns();
    /// alice.send_text(&bob.identity(), "one")?;
    /// alice.send_text(&bob.identity(), "two")?;
    /// // handle only the first message the store returns
    /// let mut n = 0;
    /// let events = bob.catch_up_filtered(start, |_| { n += 1; n == 1 })?;
    /// let texts: Vec<_> = events.iter().filter_map(|e| match e { ClientEvent::App(Event::Text { message, .. }) => Some(message.text.as_str()), _ => None }).collect();
    /// assert_eq!(texts, ["one"]);
    /// # Ok(()) }
    /// ```
    pub fn catch_up_filtered(
        &mut self,
        start_ns: i64,
        mut keep: impl FnMut(&CarriedMessage) -> bool,
    ) -> Result<Vec<ClientEvent>, ClientError> {
        let query = pfs_transport::transport::HistoryQuery {
            pubsub_topic: self.core.config.pubsub_topic.clone(),
            content_topics: self.core.device.content_topics()?,
            start_ns,
            end_ns: self.core.device.now_ns(),
        };
        let history = self.transport.fetch_history(&query)?;
        let mut events = Vec::new();
        for m in history.iter().filter(|m| keep(m)) {
            events.extend(self.handle(m)?);
        }
        Ok(events)
    }
}
