//! The stateful application layer of one account: what a Status client does between the
//! user and the engine.
//!
//! * outgoing: a `ChatMessage` (or contact message) is signed into an
//!   `ApplicationMetadataMessage`, put in an MVDS `Payload{messages}` of the 1:1 group,
//!   kept in the outbox and resent with backoff until the peer acknowledges it or it
//!   expires;
//! * incoming: MVDS payloads are parsed (acks clear the outbox, messages are acknowledged),
//!   wrappers are verified against the sender the transport authenticated, duplicates are
//!   dropped by status-go message id, and what remains is reported as typed [`Event`]s;
//! * a Lamport clock that never goes backwards across restarts.
//!
//! Sans-IO: state lives behind [`RecordStore`] (the client maps it onto the account's
//! encrypted store, inside the same transaction as the rest), time comes in as arguments.

use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_wire::app::{
    AcceptContactRequest, ContactCodeAdvertisement, ContactRequestPropagatedState, ContactUpdate,
    RetractContactRequest,
};
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::chat::{self, ChatError, Received as AppMessage, TextMessage};
use crate::mvds::{self, GroupId, MessageId, MvdsError, Parsed};
use crate::wrapper::{self, UnwrapError, WrapError};
use crate::{MessageKind, Unwrapped};

/// A failure of the record store behind the messenger (ours, never the peer's).
///
/// A store's own error is boxed; the messenger reports it as [`AppError::Store`], never as
/// the peer's fault:
///
/// ```
/// use pfs_app::messenger::{AppError, StoreFailure};
/// let e: StoreFailure = std::io::Error::other("disk full").into();
/// let app = AppError::Store(e);
/// assert!(!app.is_peer_fault());
/// assert_eq!(app.to_string(), "application store: disk full");
/// ```
pub type StoreFailure = Box<dyn std::error::Error + Send + Sync>;

/// A record as listed: (key, value).
///
/// ```
/// use pfs_app::messenger::{MemoryRecords, Record, RecordKind, RecordStore, StoreFailure};
/// # fn main() -> Result<(), StoreFailure> {
/// let mut db = MemoryRecords::default();
/// db.put_record(RecordKind::Meta, b"key", b"value", 0)?;
/// let listed: Vec<Record> = db.due_records(RecordKind::Meta, 0, 10)?;
/// assert_eq!(listed, [(b"key".to_vec(), b"value".to_vec())]);
/// # Ok(())
/// # }
/// ```
pub type Record = (Vec<u8>, Vec<u8>);

/// Which table a record belongs to.
///
/// Kinds are separate tables: the same key in two kinds is two records.
///
/// ```
/// use pfs_app::messenger::{MemoryRecords, RecordKind, RecordStore, StoreFailure};
/// # fn main() -> Result<(), StoreFailure> {
/// let mut db = MemoryRecords::default();
/// db.put_record(RecordKind::Outbox, b"k", b"out", 0)?;
/// db.put_record(RecordKind::Seen, b"k", b"seen", 0)?;
/// assert_eq!(db.record(RecordKind::Outbox, b"k")?, Some(b"out".to_vec()));
/// assert_eq!(db.record(RecordKind::Seen, b"k")?, Some(b"seen".to_vec()));
/// assert_eq!(db.record(RecordKind::Meta, b"k")?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// An outgoing MVDS message not yet acknowledged (key: MVDS id; due: next send).
    Outbox,
    /// The status-go id of a received message (key: id; due: when to forget it).
    Seen,
    /// Small named values: the Lamport clock, advertisement bookkeeping (due unused).
    Meta,
}

impl RecordKind {
    /// A stable name, for stores that keep kinds as text.
    ///
    /// ```
    /// use pfs_app::messenger::RecordKind;
    /// let kinds = [RecordKind::Outbox, RecordKind::Seen, RecordKind::Meta];
    /// let names = kinds.map(RecordKind::as_str);
    /// assert_eq!(names, ["outbox", "seen", "meta"]);
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbox => "outbox",
            Self::Seen => "seen",
            Self::Meta => "meta",
        }
    }
}

/// Where the messenger keeps its records. `due` is a Unix time in milliseconds whose
/// meaning depends on the kind (see [`RecordKind`]).
///
/// ```
/// use pfs_app::messenger::{MemoryRecords, RecordKind, RecordStore, StoreFailure};
/// # fn main() -> Result<(), StoreFailure> {
/// let mut db = MemoryRecords::default();
/// db.put_record(RecordKind::Outbox, b"late", b"2", 200)?;
/// db.put_record(RecordKind::Outbox, b"early", b"1", 100)?;
/// db.put_record(RecordKind::Seen, b"other kind", b"", 0)?;
/// // Due records of one kind, earliest first.
/// let due = db.due_records(RecordKind::Outbox, 150, 10)?;
/// assert_eq!(due, [(b"early".to_vec(), b"1".to_vec())]);
/// assert_eq!(db.due_records(RecordKind::Outbox, 300, 10)?.len(), 2);
/// db.delete_record(RecordKind::Outbox, b"early")?;
/// assert_eq!(db.count_records(RecordKind::Outbox)?, 1);
/// assert_eq!(db.record(RecordKind::Outbox, b"early")?, None);
/// # Ok(())
/// # }
/// ```
pub trait RecordStore {
    /// One record.
    fn record(&self, kind: RecordKind, key: &[u8]) -> Result<Option<Vec<u8>>, StoreFailure>;
    /// Inserts or replaces a record.
    fn put_record(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        due: i64,
    ) -> Result<(), StoreFailure>;
    /// Deletes a record (absent: nothing happens).
    fn delete_record(&mut self, kind: RecordKind, key: &[u8]) -> Result<(), StoreFailure>;
    /// Records of `kind` with `due <= until`, earliest first, at most `limit`.
    fn due_records(
        &self,
        kind: RecordKind,
        until: i64,
        limit: usize,
    ) -> Result<Vec<Record>, StoreFailure>;
    /// How many records of `kind` exist.
    fn count_records(&self, kind: RecordKind) -> Result<usize, StoreFailure>;
}

/// When unacknowledged messages are sent again.
///
/// ```
/// use pfs_app::messenger::{Config, ResendPolicy};
/// let p = ResendPolicy::default();
/// assert_eq!((p.first_delay_ms, p.max_delay_ms), (10_000, 30 * 60_000));
/// assert_eq!(p.expire_after_ms, 48 * 3_600_000);
/// // A client that gives up after an hour:
/// let resend = ResendPolicy {
///     expire_after_ms: 3_600_000,
///     ..p
/// };
/// let config = Config {
///     resend,
///     ..Config::default()
/// };
/// assert_eq!(config.max_clock_skew_ms, 120_000); // status-go's 120 s
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendPolicy {
    /// Delay before the first resend, ms; doubled after each send.
    pub first_delay_ms: i64,
    /// Longest delay between two sends, ms.
    pub max_delay_ms: i64,
    /// A message older than this is given up (reported as [`Event::Expired`]), ms.
    pub expire_after_ms: i64,
    /// Most messages resent by one call of [`Messenger::due_resends`].
    pub batch: usize,
}

impl Default for ResendPolicy {
    fn default() -> Self {
        Self {
            first_delay_ms: 10_000,
            max_delay_ms: 30 * 60_000,
            expire_after_ms: 48 * 3_600_000,
            batch: 64,
        }
    }
}

/// The messenger's configuration.
///
/// ```
/// use pfs_app::messenger::{AppError, Config, MemoryRecords, Messenger};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // status-go accepts Lamport clocks up to 120 s ahead of the transport timestamp.
/// assert_eq!(Config::default().max_clock_skew_ms, 120_000);
/// let bob = SecretKey::from_bytes(&[2; 32])?.public_key();
/// let config = Config { max_outbox: 1, ..Config::default() };
/// let alice = Messenger::new(SecretKey::from_bytes(&[1; 32])?, config);
/// let mut db = MemoryRecords::default();
/// let now = 1_700_000_000_000;
/// alice.text(&mut db, &bob, "one", None, now)?;
/// let full = alice.text(&mut db, &bob, "two", None, now);
/// assert!(matches!(full, Err(AppError::OutboxFull(1))));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Resends.
    pub resend: ResendPolicy,
    /// Bounds on received MVDS payloads.
    pub mvds_limits: mvds::Limits,
    /// How long a received message id is remembered for deduplication, ms.
    pub seen_retention_ms: i64,
    /// How far in the future a message's Lamport clock may be, relative to the time the
    /// transport says it was sent, ms (status-go: 120 s).
    pub max_clock_skew_ms: u64,
    /// Most outbox entries; a send beyond it is refused ([`AppError::OutboxFull`]).
    pub max_outbox: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            resend: ResendPolicy::default(),
            mvds_limits: mvds::Limits::default(),
            seen_retention_ms: 30 * 24 * 3_600_000,
            max_clock_skew_ms: 120_000,
            max_outbox: 10_000,
        }
    }
}

/// Why an operation of the messenger failed.
///
/// What a caller gets from bytes that are not a message, from its own bad input, and from a
/// text whose clock is far ahead of the time the transport says it was sent:
///
/// ```
/// # use pfs_app::messenger::{AppError, Config, Event, MemoryRecords, Messenger};
/// # use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
/// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
/// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
/// # let alice = Messenger::new(alice_key, Config::default());
/// # let bob = Messenger::new(bob_key, Config::default());
/// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
/// # let now: i64 = 1_700_000_000_000;
/// use pfs_app::{UnwrapError, chat::ChatError};
/// let junk = bob.receive(&mut bob_db, &alice_pk, b"\x0a\x05abc", now, now);
/// let Err(e @ AppError::Unwrap(UnwrapError::Malformed(_))) = junk else { panic!("malformed") };
/// assert!(e.is_peer_fault());
/// let empty = alice.text(&mut alice_db, &bob_pk, "", None, now);
/// assert!(matches!(empty, Err(AppError::Chat(ChatError::EmptyText))));
/// // The clock is at least `now`; a transport timestamp 121 s earlier is too far behind it.
/// let out = alice.text(&mut alice_db, &bob_pk, "from the future", None, now)?;
/// let got = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now - 121_000, now)?;
/// let [Event::Refused { reason, .. }] = &got.events[..] else { panic!("refused") };
/// assert!(reason.contains("clock"), "{reason}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The record store failed (our fault, not the peer's; retry later).
    #[error("application store: {0}")]
    Store(#[source] StoreFailure),
    /// A stored record does not decode (our store is damaged).
    #[error("corrupt {kind} record: {reason}")]
    CorruptRecord {
        /// Its kind.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The message to send breaks the rules of a chat message.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// A received message breaks the rules of its type (malformed, clock too far ahead).
    #[error("invalid received message: {0}")]
    Invalid(#[source] ChatError),
    /// Wrapping failed.
    #[error(transparent)]
    Wrap(#[from] WrapError),
    /// An MVDS payload could not be built or a received one is refused.
    #[error(transparent)]
    Mvds(#[from] MvdsError),
    /// A received wrapper is invalid or signed by another key than the sender.
    #[error(transparent)]
    Unwrap(#[from] UnwrapError),
    /// The outbox holds [`Config::max_outbox`] messages already.
    #[error("outbox full ({0} unacknowledged messages)")]
    OutboxFull(usize),
}

impl AppError {
    /// True when the received bytes are at fault (not our store or our input).
    ///
    /// ```
    /// use pfs_app::messenger::AppError;
    /// use pfs_app::{UnwrapError, chat::ChatError};
    /// assert!(AppError::Unwrap(UnwrapError::BadSignature).is_peer_fault());
    /// assert!(!AppError::Store("disk full".into()).is_peer_fault());
    /// assert!(!AppError::Chat(ChatError::EmptyText).is_peer_fault()); // our own input
    /// assert!(!AppError::OutboxFull(10_000).is_peer_fault());
    /// ```
    pub fn is_peer_fault(&self) -> bool {
        matches!(self, Self::Mvds(_) | Self::Unwrap(_) | Self::Invalid(_))
    }
}

fn store_err(e: StoreFailure) -> AppError {
    AppError::Store(e)
}

/// An engine plaintext to encrypt for `to`.
///
/// ```
/// # use pfs_app::messenger::{AppError, Config, Event, MemoryRecords, Messenger};
/// # use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
/// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
/// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
/// # let alice = Messenger::new(alice_key, Config::default());
/// # let bob = Messenger::new(bob_key, Config::default());
/// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
/// # let now: i64 = 1_700_000_000_000;
/// let out = alice.text(&mut alice_db, &bob_pk, "hello", None, now)?;
/// assert_eq!(out.to, bob_pk);
/// assert_eq!((out.message_ids.len(), out.mvds_ids.len(), out.resend), (1, 1, false));
/// let got = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
/// let Some(Event::Text { id, .. }) = got.events.first() else { panic!("a text") };
/// assert_eq!(*id, out.message_ids[0]);
/// // Bob's acknowledgement tracks nothing in his outbox.
/// let ack = got.ack.ok_or("no ack")?;
/// assert!(ack.mvds_ids.is_empty() && ack.to == alice_pk);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The recipient identity.
    pub to: PublicKey,
    /// The bytes for the engine (an MVDS payload, or a bare wrapper).
    pub plaintext: Vec<u8>,
    /// status-go ids of the application messages inside (what a Status client shows and
    /// what a reply's `response_to` names).
    pub message_ids: Vec<[u8; 32]>,
    /// MVDS ids tracked in the outbox until acknowledged (empty for acks and adverts).
    pub mvds_ids: Vec<MessageId>,
    /// True for a resend of messages already sent.
    pub resend: bool,
}

/// One thing that happened when a message was received.
///
/// A text, and the acknowledgement that comes back as [`Event::Delivered`]:
///
/// ```
/// # use pfs_app::messenger::{AppError, Config, Event, MemoryRecords, Messenger};
/// # use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
/// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
/// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
/// # let alice = Messenger::new(alice_key, Config::default());
/// # let bob = Messenger::new(bob_key, Config::default());
/// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
/// # let now: i64 = 1_700_000_000_000;
/// let out = alice.text(&mut alice_db, &bob_pk, "hello", None, now)?;
/// let got = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
/// let [Event::Text { from, message, .. }] = &got.events[..] else { panic!("one text") };
/// assert_eq!((from, message.text.as_str()), (&alice_pk, "hello"));
/// let ack = got.ack.ok_or("no ack")?;
/// let back = alice.receive(&mut alice_db, &bob_pk, &ack.plaintext, now, now)?;
/// let [Event::Delivered { message_ids, .. }] = &back.events[..] else { panic!("delivered") };
/// assert_eq!(message_ids, &out.message_ids);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A text message.
    Text {
        /// status-go message id.
        id: [u8; 32],
        /// The sender.
        from: PublicKey,
        /// The message.
        message: TextMessage,
    },
    /// A contact request (a `ChatMessage` of content type CONTACT_REQUEST).
    ContactRequest {
        /// status-go message id (what an accept names).
        id: [u8; 32],
        /// The sender.
        from: PublicKey,
        /// The message (its text is the request's text).
        message: TextMessage,
    },
    /// The peer accepted our contact request.
    ContactAccepted {
        /// The sender.
        from: PublicKey,
        /// The id of the request accepted (as the peer wrote it).
        request_id: String,
    },
    /// The peer retracted its contact request (or removed us).
    ContactRetracted {
        /// The sender.
        from: PublicKey,
    },
    /// A `ContactUpdate` (display name, propagated contact-request state).
    ContactUpdate {
        /// The sender.
        from: PublicKey,
        /// The update.
        update: ContactUpdate,
    },
    /// A contact-code advertisement (the bundle it came with is the engine's business).
    ContactCode {
        /// The sender.
        from: PublicKey,
        /// The advertisement.
        advert: ContactCodeAdvertisement,
    },
    /// The peer acknowledged messages of ours.
    Delivered {
        /// The peer.
        from: PublicKey,
        /// The status-go ids of the messages acknowledged.
        message_ids: Vec<[u8; 32]>,
    },
    /// A message of a type or content this layer does not handle: reported, not failed.
    Unsupported {
        /// The sender.
        from: PublicKey,
        /// status-go message id.
        id: [u8; 32],
        /// Wrapper type number.
        type_number: i32,
        /// `ChatMessage` content type, for chat messages of another content.
        content_type: Option<i32>,
    },
    /// One message inside a received payload was refused; the others were handled.
    Refused {
        /// The sender.
        from: PublicKey,
        /// Why.
        reason: String,
    },
    /// We gave up resending a message.
    Expired {
        /// The recipient.
        to: PublicKey,
        /// Its status-go id.
        message_id: [u8; 32],
    },
}

/// What [`Messenger::receive`] produced.
///
/// ```
/// # use pfs_app::messenger::{AppError, Config, Event, MemoryRecords, Messenger};
/// # use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
/// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
/// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
/// # let alice = Messenger::new(alice_key, Config::default());
/// # let bob = Messenger::new(bob_key, Config::default());
/// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
/// # let now: i64 = 1_700_000_000_000;
/// let out = alice.text(&mut alice_db, &bob_pk, "hello", None, now)?;
/// let first = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
/// assert_eq!((first.events.len(), first.duplicates), (1, 0));
/// assert!(first.ack.is_some());
/// let again = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
/// assert_eq!((again.events.len(), again.duplicates), (0, 1));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Incoming {
    /// What happened, in order.
    pub events: Vec<Event>,
    /// The acknowledgement to send back to the sender (engine plaintext), if any.
    pub ack: Option<Outgoing>,
    /// Messages dropped as already received.
    pub duplicates: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OutboxEntry {
    to: Vec<u8>,
    group_id: GroupId,
    timestamp: i64,
    body: Vec<u8>,
    message_id: [u8; 32],
    sends: u32,
    first_sent_ms: i64,
}

const META_CLOCK: &[u8] = b"lamport";

/// The meta key of the last contact request of `from`.
fn request_key(from: &PublicKey) -> Vec<u8> {
    [&b"contact-request:"[..], from.as_compressed()].concat()
}

/// The application layer of one account.
///
/// ```
/// use pfs_app::messenger::{Config, Messenger};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let messenger = Messenger::new(SecretKey::from_bytes(&[0x42; 32])?, Config::default());
/// assert!(!format!("{messenger:?}").contains("4242")); // the signing key is not printed
/// # Ok(())
/// # }
/// ```
pub struct Messenger {
    signer: SecretKey,
    me: PublicKey,
    config: Config,
}

impl std::fmt::Debug for Messenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messenger")
            .field("me", &self.me)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// `0x04…` hex of an identity, as status-go writes chat ids and public keys.
///
/// ```
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut one = [0u8; 32];
/// one[31] = 1;
/// let id = pfs_app::messenger::chat_id(&SecretKey::from_bytes(&one)?.public_key());
/// // The generator G, uncompressed (SEC 2).
/// let g = concat!(
///     "0x0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
///     "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
/// );
/// assert_eq!(id, g);
/// # Ok(())
/// # }
/// ```
pub fn chat_id(pk: &PublicKey) -> String {
    let mut s = String::from("0x");
    for b in pk.to_uncompressed() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `0x…` hex of a message id, as status-go writes ids in `response_to` and accepts.
///
/// ```
/// let mut id = [0u8; 32];
/// id[0] = 0xab;
/// id[31] = 0x01;
/// assert_eq!(
///     pfs_app::messenger::id_hex(&id),
///     format!("0xab{}01", "0".repeat(60))
/// );
/// ```
pub fn id_hex(id: &[u8; 32]) -> String {
    let mut s = String::from("0x");
    for b in id {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn backoff(policy: &ResendPolicy, sends: u32) -> i64 {
    let shift = sends.saturating_sub(1).min(30);
    policy
        .first_delay_ms
        .saturating_mul(1i64 << shift)
        .min(policy.max_delay_ms)
}

impl Messenger {
    /// A messenger signing with our identity key.
    ///
    /// ```
    /// use pfs_app::messenger::{Config, Messenger};
    /// use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let m = Messenger::new(SecretKey::from_bytes(&[1; 32])?, Config::default());
    /// assert_eq!(m.config(), &Config::default());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(signer: SecretKey, config: Config) -> Self {
        let me = signer.public_key();
        Self { signer, me, config }
    }

    /// The configuration.
    ///
    /// ```
    /// use pfs_app::messenger::{Config, Messenger};
    /// use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = Config { max_outbox: 5, ..Config::default() };
    /// let m = Messenger::new(SecretKey::from_bytes(&[1; 32])?, config);
    /// assert_eq!(m.config().max_outbox, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The next Lamport clock value: above every value used or seen, and at least the
    /// current time in ms (status-go's `chat.NextClockAndTimestamp`).
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let c1 = alice.next_clock(&mut alice_db, now)?;
    /// assert_eq!(c1, now as u64); // at least the time
    /// // The clock never goes back, even when the wall clock does.
    /// assert_eq!(alice.next_clock(&mut alice_db, now - 60_000)?, c1 + 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn next_clock(&self, store: &mut dyn RecordStore, now_ms: i64) -> Result<u64, AppError> {
        let last = self.stored_clock(store)?;
        let now = u64::try_from(now_ms).unwrap_or(0);
        let next = last.saturating_add(1).max(now).max(1);
        store
            .put_record(RecordKind::Meta, META_CLOCK, &next.to_le_bytes(), 0)
            .map_err(store_err)?;
        Ok(next)
    }

    fn stored_clock(&self, store: &dyn RecordStore) -> Result<u64, AppError> {
        match store
            .record(RecordKind::Meta, META_CLOCK)
            .map_err(store_err)?
        {
            None => Ok(0),
            Some(v) => {
                let b: [u8; 8] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| AppError::CorruptRecord {
                        kind: "meta",
                        reason: "clock is not 8 bytes".into(),
                    })?;
                Ok(u64::from_le_bytes(b))
            }
        }
    }

    fn observe_clock(&self, store: &mut dyn RecordStore, clock: u64) -> Result<(), AppError> {
        if clock > self.stored_clock(store)? {
            store
                .put_record(RecordKind::Meta, META_CLOCK, &clock.to_le_bytes(), 0)
                .map_err(store_err)?;
        }
        Ok(())
    }

    /// A text message to `to`, tracked until acknowledged.
    ///
    /// ```
    /// use pfs_app::{chat::ChatError, messenger::AppError};
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let first = alice.text(&mut alice_db, &bob_pk, "question?", None, now)?;
    /// let answer = Some(&first.message_ids[0]);
    /// let reply = bob.text(&mut bob_db, &alice_pk, "answer", answer, now)?;
    /// let got = alice.receive(&mut alice_db, &bob_pk, &reply.plaintext, now, now)?;
    /// let Event::Text { message, .. } = &got.events[0] else {
    ///     panic!("a text")
    /// };
    /// let first_id = pfs_app::messenger::id_hex(&first.message_ids[0]);
    /// assert_eq!(message.response_to, Some(first_id));
    ///
    /// let empty = alice.text(&mut alice_db, &bob_pk, "", None, now);
    /// assert!(matches!(empty, Err(AppError::Chat(ChatError::EmptyText))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn text(
        &self,
        store: &mut dyn RecordStore,
        to: &PublicKey,
        text: &str,
        response_to: Option<&[u8; 32]>,
        now_ms: i64,
    ) -> Result<Outgoing, AppError> {
        self.check_capacity(store, 1)?;
        let m = self.text_message(store, to, text, now_ms)?;
        let m = TextMessage {
            response_to: response_to.map(id_hex),
            ..m
        };
        self.send_tracked(
            store,
            to,
            &[(MessageKind::ChatMessage, m.encode()?)],
            now_ms,
        )
    }

    fn text_message(
        &self,
        store: &mut dyn RecordStore,
        to: &PublicKey,
        text: &str,
        now_ms: i64,
    ) -> Result<TextMessage, AppError> {
        // the rules on the text first: a refused text leaves the clock alone
        if text.is_empty() {
            return Err(ChatError::EmptyText.into());
        }
        let chars = text.chars().count();
        if chars > chat::MAX_TEXT_CHARS {
            return Err(ChatError::TextTooLong(chars).into());
        }
        let clock = self.next_clock(store, now_ms)?;
        Ok(TextMessage {
            clock,
            timestamp_ms: u64::try_from(now_ms).unwrap_or(0),
            text: text.to_owned(),
            chat_id: chat_id(to),
            ..TextMessage::default()
        })
    }

    fn contact_update(&self, clock: u64, state: ContactRequestPropagatedState) -> Vec<u8> {
        ContactUpdate {
            clock,
            contact_request_clock: clock,
            contact_request_propagated_state: Some(state),
            public_key: chat_id(&self.me),
            ..ContactUpdate::default()
        }
        .encode_to_vec()
    }

    /// A contact request with `text`, as today's Status sends it: a `ChatMessage` of content
    /// type CONTACT_REQUEST and a `ContactUpdate`, both with the propagated state
    /// `local_state = Sent`, in one MVDS payload.
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let request = alice.contact_request(&mut alice_db, &bob_pk, "Hi, it's Alice", now)?;
    /// assert_eq!(request.message_ids.len(), 2); // the request and a ContactUpdate
    /// let got = bob.receive(&mut bob_db, &alice_pk, &request.plaintext, now, now)?;
    /// let Event::ContactRequest { id, message, .. } = &got.events[0] else {
    ///     panic!("a request")
    /// };
    /// assert_eq!(message.text, "Hi, it's Alice");
    /// assert_eq!(bob.pending_request(&bob_db, &alice_pk)?, Some(*id));
    /// # Ok(())
    /// # }
    /// ```
    pub fn contact_request(
        &self,
        store: &mut dyn RecordStore,
        to: &PublicKey,
        text: &str,
        now_ms: i64,
    ) -> Result<Outgoing, AppError> {
        self.check_capacity(store, 2)?;
        let mut m = self.text_message(store, to, text, now_ms)?;
        let state = ContactRequestPropagatedState {
            local_clock: m.clock,
            local_state: PropagatedState::Sent as u64,
            remote_clock: 0,
            remote_state: PropagatedState::None as u64,
        };
        m.contact_request = Some(state);
        let update = self.contact_update(m.clock, state);
        self.send_tracked(
            store,
            to,
            &[
                (MessageKind::ChatMessage, m.encode()?),
                (MessageKind::ContactUpdate, update),
            ],
            now_ms,
        )
    }

    /// Accepts the contact request `request_id` of `to`: `AcceptContactRequest` and a
    /// `ContactUpdate` with both states Mutual.
    ///
    /// ```
    /// use pfs_app::messenger::id_hex;
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let request = alice.contact_request(&mut alice_db, &bob_pk, "Hi", now)?;
    /// bob.receive(&mut bob_db, &alice_pk, &request.plaintext, now, now)?;
    /// let id = bob
    ///     .pending_request(&bob_db, &alice_pk)?
    ///     .ok_or("a request is pending")?;
    /// let accept = bob.accept_contact_request(&mut bob_db, &alice_pk, &id, now)?;
    /// let got = alice.receive(&mut alice_db, &bob_pk, &accept.plaintext, now, now)?;
    /// let accepted = got.events.iter().find_map(|e| match e {
    ///     Event::ContactAccepted { request_id, .. } => Some(request_id.clone()),
    ///     _ => None,
    /// });
    /// assert_eq!(accepted, Some(id_hex(&id)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn accept_contact_request(
        &self,
        store: &mut dyn RecordStore,
        to: &PublicKey,
        request_id: &[u8; 32],
        now_ms: i64,
    ) -> Result<Outgoing, AppError> {
        let id = id_hex(request_id);
        self.send_with_update(
            store,
            to,
            now_ms,
            MessageKind::AcceptContactRequest,
            |clock| AcceptContactRequest { id, clock }.encode_to_vec(),
            |clock| ContactRequestPropagatedState {
                local_clock: clock,
                local_state: PropagatedState::Mutual as u64,
                remote_clock: clock,
                remote_state: PropagatedState::Mutual as u64,
            },
        )
    }

    /// The id of the last contact request received from `from`, if any (what
    /// [`Messenger::accept_contact_request`] names).
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// assert_eq!(bob.pending_request(&bob_db, &alice_pk)?, None);
    /// let text = alice.text(&mut alice_db, &bob_pk, "not a request", None, now)?;
    /// bob.receive(&mut bob_db, &alice_pk, &text.plaintext, now, now)?;
    /// assert_eq!(bob.pending_request(&bob_db, &alice_pk)?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pending_request(
        &self,
        store: &dyn RecordStore,
        from: &PublicKey,
    ) -> Result<Option<[u8; 32]>, AppError> {
        let v = store
            .record(RecordKind::Meta, &request_key(from))
            .map_err(store_err)?;
        Ok(v.and_then(|v| v.as_slice().try_into().ok()))
    }

    /// Retracts our contact request to `to` (or removes them): `RetractContactRequest` and a
    /// `ContactUpdate` with `local_state = None`.
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let retract = alice.retract_contact_request(&mut alice_db, &bob_pk, now)?;
    /// let got = bob.receive(&mut bob_db, &alice_pk, &retract.plaintext, now, now)?;
    /// assert!(got.events.iter().any(|e| match e {
    ///     Event::ContactRetracted { from } => *from == alice_pk,
    ///     _ => false,
    /// }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn retract_contact_request(
        &self,
        store: &mut dyn RecordStore,
        to: &PublicKey,
        now_ms: i64,
    ) -> Result<Outgoing, AppError> {
        self.send_with_update(
            store,
            to,
            now_ms,
            MessageKind::RetractContactRequest,
            |clock| {
                RetractContactRequest {
                    id: String::new(),
                    clock,
                }
                .encode_to_vec()
            },
            |clock| ContactRequestPropagatedState {
                local_clock: clock,
                local_state: PropagatedState::None as u64,
                remote_clock: 0,
                remote_state: PropagatedState::None as u64,
            },
        )
    }

    /// A contact message of `kind` and the `ContactUpdate` with the propagated state that
    /// goes with it, both at the next clock, tracked in one MVDS payload (capacity checked
    /// before the clock moves).
    fn send_with_update(
        &self,
        store: &mut dyn RecordStore,
        to: &PublicKey,
        now_ms: i64,
        kind: MessageKind,
        message: impl FnOnce(u64) -> Vec<u8>,
        state: impl FnOnce(u64) -> ContactRequestPropagatedState,
    ) -> Result<Outgoing, AppError> {
        self.check_capacity(store, 2)?;
        let clock = self.next_clock(store, now_ms)?;
        let update = self.contact_update(clock, state(clock));
        self.send_tracked(
            store,
            to,
            &[(kind, message(clock)), (MessageKind::ContactUpdate, update)],
            now_ms,
        )
    }

    /// The payload of our contact-code advertisement: a signed `ContactCodeAdvertisement`
    /// (type 15), sent as a public message with our bundle attached, without MVDS.
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let advert = alice.contact_code_advertisement()?;
    /// let event = bob.receive_public(&alice_pk, &advert)?;
    /// assert!(matches!(event, Event::ContactCode { from, .. } if from == alice_pk));
    /// // Claimed to come from Bob, signed by Alice: refused.
    /// assert!(bob.receive_public(&bob_pk, &advert).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn contact_code_advertisement(&self) -> Result<Vec<u8>, AppError> {
        let advert = ContactCodeAdvertisement::default().encode_to_vec();
        Ok(wrapper::wrap(
            &advert,
            MessageKind::ContactCodeAdvertisement,
            &self.signer,
        )?)
    }

    /// Wraps messages of any type into one MVDS payload for `to` and keeps each in the
    /// outbox until acknowledged.
    ///
    /// ```
    /// use pfs_app::MessageKind;
    /// use pfs_app::chat::TextMessage;
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let t = |text: &str| {
    ///     let (text, chat_id) = (text.into(), "c".into());
    ///     let m = TextMessage {
    ///         clock: 1,
    ///         timestamp_ms: 1,
    ///         text,
    ///         chat_id,
    ///         ..Default::default()
    ///     };
    ///     (MessageKind::ChatMessage, m.encode())
    /// };
    /// let ((k1, one), (k2, two)) = (t("one"), t("two"));
    /// let out = alice.send_tracked(&mut alice_db, &bob_pk, &[(k1, one?), (k2, two?)], now)?;
    /// assert_eq!(
    ///     (out.mvds_ids.len(), alice.unacknowledged(&alice_db)?),
    ///     (2, 2)
    /// );
    /// let got = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
    /// assert_eq!(got.events.len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_tracked(
        &self,
        store: &mut dyn RecordStore,
        to: &PublicKey,
        messages: &[(MessageKind, Vec<u8>)],
        now_ms: i64,
    ) -> Result<Outgoing, AppError> {
        self.check_capacity(store, messages.len())?;
        let mut bodies = Vec::with_capacity(messages.len());
        for (kind, payload) in messages {
            bodies.push(wrapper::wrap(payload, *kind, &self.signer)?);
        }
        let group_id = mvds::one_to_one_group_id(&self.me, to);
        let timestamp = now_ms.div_euclid(1000);
        let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
        let (plaintext, mvds_ids) = mvds::wrap_messages(&group_id, timestamp, &refs)?;
        let message_ids: Vec<[u8; 32]> = bodies
            .iter()
            .map(|b| wrapper::message_id(&self.me, b))
            .collect();
        let due = now_ms.saturating_add(backoff(&self.config.resend, 1));
        for ((body, id), mid) in bodies.into_iter().zip(&mvds_ids).zip(&message_ids) {
            let entry = OutboxEntry {
                to: to.as_compressed().to_vec(),
                group_id,
                timestamp,
                body,
                message_id: *mid,
                sends: 1,
                first_sent_ms: now_ms,
            };
            self.put_outbox(store, id, &entry, due)?;
        }
        Ok(Outgoing {
            to: to.clone(),
            plaintext,
            message_ids,
            mvds_ids,
            resend: false,
        })
    }

    fn check_capacity(&self, store: &dyn RecordStore, n: usize) -> Result<(), AppError> {
        let queued = store.count_records(RecordKind::Outbox).map_err(store_err)?;
        if queued.saturating_add(n) > self.config.max_outbox {
            return Err(AppError::OutboxFull(queued));
        }
        Ok(())
    }

    fn put_outbox(
        &self,
        store: &mut dyn RecordStore,
        id: &MessageId,
        entry: &OutboxEntry,
        due: i64,
    ) -> Result<(), AppError> {
        let bytes = postcard::to_allocvec(entry).map_err(|e| AppError::CorruptRecord {
            kind: "outbox",
            reason: e.to_string(),
        })?;
        store
            .put_record(RecordKind::Outbox, id, &bytes, due)
            .map_err(store_err)
    }

    fn outbox_entry(bytes: &[u8]) -> Result<OutboxEntry, AppError> {
        postcard::from_bytes(bytes).map_err(|e| AppError::CorruptRecord {
            kind: "outbox",
            reason: e.to_string(),
        })
    }

    /// Messages whose resend time has come, one payload per recipient, with their next
    /// send scheduled (doubling delay); messages older than the expiry are dropped and
    /// reported. Call it periodically and after coming back online.
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let out = alice.text(&mut alice_db, &bob_pk, "are you there?", None, now)?;
    /// assert!(alice.due_resends(&mut alice_db, now + 9_999)?.0.is_empty()); // not yet
    /// let (resends, _) = alice.due_resends(&mut alice_db, now + 10_000)?; // first delay: 10 s
    /// assert!(resends[0].resend && resends[0].mvds_ids == out.mvds_ids);
    ///
    /// // After 48 hours without an acknowledgement the message is given up.
    /// let (_, events) = alice.due_resends(&mut alice_db, now + 48 * 3_600_000 + 1)?;
    /// let expired: Vec<_> = events
    ///     .iter()
    ///     .filter_map(|e| match e {
    ///         Event::Expired { message_id, .. } => Some(*message_id),
    ///         _ => None,
    ///     })
    ///     .collect();
    /// assert_eq!(expired, out.message_ids);
    /// assert_eq!(alice.unacknowledged(&alice_db)?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn due_resends(
        &self,
        store: &mut dyn RecordStore,
        now_ms: i64,
    ) -> Result<(Vec<Outgoing>, Vec<Event>), AppError> {
        let due = store
            .due_records(RecordKind::Outbox, now_ms, self.config.resend.batch)
            .map_err(store_err)?;
        type PeerBatch = (Vec<u8>, Vec<(MessageId, OutboxEntry)>);
        let mut by_peer: Vec<PeerBatch> = Vec::new();
        let mut events = Vec::new();
        for (key, value) in due {
            let id: MessageId = key
                .as_slice()
                .try_into()
                .map_err(|_| AppError::CorruptRecord {
                    kind: "outbox",
                    reason: "key is not 32 bytes".into(),
                })?;
            let entry = Self::outbox_entry(&value)?;
            let to =
                PublicKey::from_compressed(&entry.to).map_err(|e| AppError::CorruptRecord {
                    kind: "outbox",
                    reason: e.to_string(),
                })?;
            if now_ms.saturating_sub(entry.first_sent_ms) > self.config.resend.expire_after_ms {
                store
                    .delete_record(RecordKind::Outbox, &id)
                    .map_err(store_err)?;
                events.push(Event::Expired {
                    to,
                    message_id: entry.message_id,
                });
                continue;
            }
            match by_peer.iter_mut().find(|(p, _)| *p == entry.to) {
                Some((_, v)) => v.push((id, entry)),
                None => by_peer.push((entry.to.clone(), vec![(id, entry)])),
            }
        }
        let mut out = Vec::new();
        for (peer, entries) in by_peer {
            let to = PublicKey::from_compressed(&peer).map_err(|e| AppError::CorruptRecord {
                kind: "outbox",
                reason: e.to_string(),
            })?;
            let messages = entries
                .iter()
                .map(|(_, e)| pfs_wire::app::MvdsMessage {
                    group_id: e.group_id.to_vec(),
                    timestamp: e.timestamp,
                    body: e.body.clone(),
                })
                .collect();
            let plaintext = pfs_wire::app::MvdsPayload {
                messages,
                ..Default::default()
            }
            .encode_to_vec();
            let mut message_ids = Vec::new();
            let mut mvds_ids = Vec::new();
            for (id, mut e) in entries {
                e.sends = e.sends.saturating_add(1);
                let next = now_ms.saturating_add(backoff(&self.config.resend, e.sends));
                message_ids.push(e.message_id);
                mvds_ids.push(id);
                self.put_outbox(store, &id, &e, next)?;
            }
            out.push(Outgoing {
                to,
                plaintext,
                message_ids,
                mvds_ids,
                resend: true,
            });
        }
        Ok((out, events))
    }

    /// How many messages await an acknowledgement.
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// alice.text(&mut alice_db, &bob_pk, "one", None, now)?;
    /// alice.text(&mut alice_db, &bob_pk, "two", None, now)?;
    /// assert_eq!(alice.unacknowledged(&alice_db)?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn unacknowledged(&self, store: &dyn RecordStore) -> Result<usize, AppError> {
        store.count_records(RecordKind::Outbox).map_err(store_err)
    }

    /// Forgets received ids older than the retention. Returns how many were dropped.
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let out = alice.text(&mut alice_db, &bob_pk, "hello", None, now)?;
    /// bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
    /// let retention = bob.config().seen_retention_ms;
    /// assert_eq!(bob.prune(&mut bob_db, now + retention - 1)?, 0);
    /// assert_eq!(bob.prune(&mut bob_db, now + retention)?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn prune(&self, store: &mut dyn RecordStore, now_ms: i64) -> Result<usize, AppError> {
        let old = store
            .due_records(RecordKind::Seen, now_ms, 10_000)
            .map_err(store_err)?;
        for (k, _) in &old {
            store
                .delete_record(RecordKind::Seen, k)
                .map_err(store_err)?;
        }
        Ok(old.len())
    }

    /// Handles an engine plaintext from `from` (the identity the transport and the engine
    /// authenticated) sent at `sent_ms` (the transport timestamp, for the clock check).
    ///
    /// An MVDS payload that breaks the limits, or a bare wrapper that is invalid, is an
    /// error and changes nothing. Inside a valid MVDS payload, each message stands alone:
    /// an invalid one is reported as [`Event::Refused`] and the others are handled; every
    /// message is acknowledged (also a refused or duplicate one: the peer should stop
    /// resending it).
    ///
    /// ```
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// let out = alice.text(&mut alice_db, &bob_pk, "hello", None, now)?;
    /// let first = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
    /// assert_eq!((first.events.len(), first.duplicates), (1, 0));
    /// // A resend that crossed the acknowledgement: dropped, acknowledged again.
    /// let again = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
    /// assert_eq!((again.events.len(), again.duplicates), (0, 1));
    /// assert!(again.ack.is_some());
    /// // The same bytes claimed by another sender are refused in the payload.
    /// let mallory = SecretKey::from_bytes(&[3; 32])?.public_key();
    /// let spoofed = bob.receive(&mut bob_db, &mallory, &out.plaintext, now, now)?;
    /// assert!(matches!(&spoofed.events[..], [Event::Refused { .. }]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn receive(
        &self,
        store: &mut dyn RecordStore,
        from: &PublicKey,
        plaintext: &[u8],
        sent_ms: i64,
        now_ms: i64,
    ) -> Result<Incoming, AppError> {
        let mut incoming = Incoming::default();
        match mvds::parse(plaintext, &self.config.mvds_limits)? {
            Parsed::NotMvds => {
                let u = wrapper::unwrap(plaintext, from)?;
                let app = chat::classify(&u).map_err(AppError::Invalid)?;
                self.check_clock(&app, sent_ms)?;
                self.deliver(store, from, &u, app, now_ms, &mut incoming)?;
            }
            Parsed::Mvds(r) => {
                let mut acked = Vec::new();
                for id in &r.acks {
                    if let Some(v) = store.record(RecordKind::Outbox, id).map_err(store_err)? {
                        let e = Self::outbox_entry(&v)?;
                        // only the recipient may acknowledge
                        if e.to == from.as_compressed() {
                            store
                                .delete_record(RecordKind::Outbox, id)
                                .map_err(store_err)?;
                            acked.push(e.message_id);
                        }
                    }
                }
                for id in &r.requests {
                    if let Some(v) = store.record(RecordKind::Outbox, id).map_err(store_err)? {
                        let e = Self::outbox_entry(&v)?;
                        if e.to == from.as_compressed() {
                            // send it again at the next resend pass
                            self.put_outbox(store, id, &e, now_ms)?;
                        }
                    }
                }
                if !acked.is_empty() {
                    incoming.events.push(Event::Delivered {
                        from: from.clone(),
                        message_ids: acked,
                    });
                }
                // a copy from one of our own devices: the chat is with the recipient its
                // ChatMessage names, the group is theirs and ours, nothing to acknowledge
                let own = *from == self.me;
                let expected_group = mvds::one_to_one_group_id(&self.me, from);
                for m in &r.messages {
                    if !own && m.group_id != expected_group {
                        incoming.events.push(Event::Refused {
                            from: from.clone(),
                            reason: "MVDS message of another group".into(),
                        });
                        continue;
                    }
                    let handled = wrapper::unwrap(&m.body, from)
                        .map_err(AppError::from)
                        .and_then(|u| {
                            let app = chat::classify(&u).map_err(AppError::Invalid)?;
                            self.check_clock(&app, sent_ms)?;
                            Ok((u, app))
                        });
                    match handled {
                        Ok((u, app)) => {
                            self.deliver(store, from, &u, app, now_ms, &mut incoming)?
                        }
                        Err(e) => incoming.events.push(Event::Refused {
                            from: from.clone(),
                            reason: e.to_string(),
                        }),
                    }
                }
                if !own && !r.messages.is_empty() {
                    let ids: Vec<MessageId> = r.messages.iter().map(|m| m.id).collect();
                    incoming.ack = Some(Outgoing {
                        to: from.clone(),
                        plaintext: mvds::ack_payload(&ids),
                        message_ids: Vec::new(),
                        mvds_ids: Vec::new(),
                        resend: false,
                    });
                }
            }
        }
        Ok(incoming)
    }

    /// A received public message (a contact-code advertisement, or anything else signed
    /// by `from`): verified and reported; never tracked.
    ///
    /// ```
    /// use pfs_app::MessageKind;
    /// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
    /// # use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
    /// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
    /// # let alice = Messenger::new(alice_key, Config::default());
    /// # let bob = Messenger::new(bob_key, Config::default());
    /// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
    /// # let now: i64 = 1_700_000_000_000;
    /// // Anything but an advertisement is reported as unsupported.
    /// let alice_key = SecretKey::from_bytes(&[1; 32])?;
    /// let other = pfs_app::wrap(b"", MessageKind::StatusUpdate, &alice_key)?;
    /// let event = bob.receive_public(&alice_pk, &other)?;
    /// assert!(matches!(
    ///     event,
    ///     Event::Unsupported {
    ///         type_number: 30,
    ///         ..
    ///     }
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn receive_public(&self, from: &PublicKey, plaintext: &[u8]) -> Result<Event, AppError> {
        let u = wrapper::unwrap(plaintext, from)?;
        Ok(match chat::classify(&u).map_err(AppError::Invalid)? {
            AppMessage::ContactCodeAdvertisement(advert) => Event::ContactCode {
                from: from.clone(),
                advert,
            },
            other => unsupported(from, &u, &other),
        })
    }

    fn check_clock(&self, app: &AppMessage, sent_ms: i64) -> Result<(), AppError> {
        if let AppMessage::Text(t) = app {
            let limit = u64::try_from(sent_ms)
                .unwrap_or(0)
                .saturating_add(self.config.max_clock_skew_ms);
            if sent_ms > 0 && t.clock > limit {
                return Err(AppError::Invalid(ChatError::ClockTooFarAhead {
                    clock: t.clock,
                    limit,
                }));
            }
        }
        Ok(())
    }

    fn deliver(
        &self,
        store: &mut dyn RecordStore,
        from: &PublicKey,
        u: &Unwrapped,
        app: AppMessage,
        now_ms: i64,
        incoming: &mut Incoming,
    ) -> Result<(), AppError> {
        if store
            .record(RecordKind::Seen, &u.id)
            .map_err(store_err)?
            .is_some()
        {
            incoming.duplicates += 1;
            return Ok(());
        }
        store
            .put_record(
                RecordKind::Seen,
                &u.id,
                &[],
                now_ms.saturating_add(self.config.seen_retention_ms),
            )
            .map_err(store_err)?;
        let from = from.clone();
        let event = match app {
            AppMessage::Text(message) => {
                self.observe_clock(store, message.clock)?;
                if message.contact_request.is_some() {
                    // remembered, so that accepting later names it
                    store
                        .put_record(RecordKind::Meta, &request_key(&from), &u.id, 0)
                        .map_err(store_err)?;
                    Event::ContactRequest {
                        id: u.id,
                        from,
                        message,
                    }
                } else {
                    Event::Text {
                        id: u.id,
                        from,
                        message,
                    }
                }
            }
            AppMessage::ContactUpdate(update) => Event::ContactUpdate { from, update },
            AppMessage::AcceptContactRequest(a) => Event::ContactAccepted {
                from,
                request_id: a.id,
            },
            AppMessage::RetractContactRequest(_) => Event::ContactRetracted { from },
            AppMessage::ContactCodeAdvertisement(advert) => Event::ContactCode { from, advert },
            other => unsupported(&from, u, &other),
        };
        incoming.events.push(event);
        Ok(())
    }
}

fn unsupported(from: &PublicKey, u: &Unwrapped, app: &AppMessage) -> Event {
    Event::Unsupported {
        from: from.clone(),
        id: u.id,
        type_number: u.type_number,
        content_type: match app {
            AppMessage::OtherContent { content_type, .. } => Some(*content_type),
            _ => None,
        },
    }
}

/// The contact-request states status-go propagates (`ContactRequestPropagatedState`).
///
/// The numbers are status-go's `ContactRequestPropagatedState` values:
///
/// ```
/// use pfs_app::messenger::PropagatedState;
/// let all = [0, 1, 2, 3, 4].map(PropagatedState::from_number);
/// assert_eq!(all, [
///     Some(PropagatedState::None),
///     Some(PropagatedState::Mutual),
///     Some(PropagatedState::Sent),
///     Some(PropagatedState::Received),
///     Some(PropagatedState::Dismissed),
/// ]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum PropagatedState {
    /// No request.
    None = 0,
    /// Both sides accepted.
    Mutual = 1,
    /// A request was sent.
    Sent = 2,
    /// A request was received.
    Received = 3,
    /// A request was dismissed (declined).
    Dismissed = 4,
}

impl PropagatedState {
    /// The state of a number, if known.
    ///
    /// ```
    /// use pfs_app::messenger::PropagatedState;
    /// assert_eq!(PropagatedState::from_number(2), Some(PropagatedState::Sent));
    /// assert_eq!(PropagatedState::Mutual as u64, 1);
    /// assert_eq!(PropagatedState::from_number(5), None);
    /// ```
    pub fn from_number(n: u64) -> Option<Self> {
        Some(match n {
            0 => Self::None,
            1 => Self::Mutual,
            2 => Self::Sent,
            3 => Self::Received,
            4 => Self::Dismissed,
            _ => return None,
        })
    }
}

/// A stored value and its due time.
type ValueDue = (Vec<u8>, i64);

/// A [`RecordStore`] in memory (tests, and clients that keep nothing on disk).
///
/// ```
/// # use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
/// # use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let alice_key = SecretKey::from_bytes(&[1; 32])?;
/// # let bob_key = SecretKey::from_bytes(&[2; 32])?;
/// # let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
/// # let alice = Messenger::new(alice_key, Config::default());
/// # let bob = Messenger::new(bob_key, Config::default());
/// # let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
/// # let now: i64 = 1_700_000_000_000;
/// alice.text(&mut alice_db, &bob_pk, "hello", None, now)?;
/// // A snapshot is a plain clone: the outbox and the clock come with it.
/// let snapshot = alice_db.clone();
/// assert_eq!(alice.unacknowledged(&snapshot)?, 1);
/// assert_eq!(snapshot, alice_db);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryRecords {
    map: std::collections::BTreeMap<(&'static str, Vec<u8>), ValueDue>,
}

impl RecordStore for MemoryRecords {
    fn record(&self, kind: RecordKind, key: &[u8]) -> Result<Option<Vec<u8>>, StoreFailure> {
        Ok(self
            .map
            .get(&(kind.as_str(), key.to_vec()))
            .map(|(v, _)| v.clone()))
    }
    fn put_record(
        &mut self,
        kind: RecordKind,
        key: &[u8],
        value: &[u8],
        due: i64,
    ) -> Result<(), StoreFailure> {
        self.map
            .insert((kind.as_str(), key.to_vec()), (value.to_vec(), due));
        Ok(())
    }
    fn delete_record(&mut self, kind: RecordKind, key: &[u8]) -> Result<(), StoreFailure> {
        self.map.remove(&(kind.as_str(), key.to_vec()));
        Ok(())
    }
    fn due_records(
        &self,
        kind: RecordKind,
        until: i64,
        limit: usize,
    ) -> Result<Vec<Record>, StoreFailure> {
        let mut v: Vec<_> = self
            .map
            .iter()
            .filter(|((k, _), (_, due))| *k == kind.as_str() && *due <= until)
            .map(|((_, key), (value, due))| (*due, key.clone(), value.clone()))
            .collect();
        v.sort();
        Ok(v.into_iter()
            .take(limit)
            .map(|(_, k, val)| (k, val))
            .collect())
    }
    fn count_records(&self, kind: RecordKind) -> Result<usize, StoreFailure> {
        Ok(self.map.keys().filter(|(k, _)| *k == kind.as_str()).count())
    }
}
