//! MVDS datasync for 1:1 chats (status-im/mvds, status-go `protocol/datasync`).
//!
//! ```text
//! Payload { acks = 5001 (32-B ids), offers = 5002, requests = 5003, messages = 5004,
//!           group_offers = 5005 }
//! Message { group_id = 6001 (32 B), timestamp = 6002 (int64, unix s), body = 6003 }
//! 1:1 group id   = keccak256(compressed(A) ‖ compressed(B)), A the key with the smaller X
//! MVDS message id = sha256("MESSAGE_ID" ‖ group_id ‖ LE64(timestamp) ‖ body)
//! ```
//!
//! A received payload that does not decode as MVDS, or decodes to a payload with no acks,
//! offers, requests or messages (a bare `ApplicationMetadataMessage` does), is not MVDS and
//! falls through to the wrapper decoder, as in status-go.

use pfs_crypto::hash::{keccak256_concat, sha256_concat};
use pfs_crypto::secp256k1::PublicKey;
use pfs_wire::app::{MvdsMessage, MvdsPayload};
use prost::Message;

use crate::MAX_MESSAGE_SIZE;

/// An MVDS message id.
///
/// ```
/// use pfs_app::mvds::{MessageId, message_id};
/// let id: MessageId = message_id(&[7; 32], 1, b"body");
/// assert_eq!(id.len(), 32);
/// assert_ne!(id, message_id(&[7; 32], 2, b"body")); // the timestamp is part of the id
/// ```
pub type MessageId = [u8; 32];
/// An MVDS group id.
///
/// ```
/// use pfs_app::mvds::{GroupId, one_to_one_group_id};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let a = SecretKey::from_bytes(&[1; 32])?.public_key();
/// let b = SecretKey::from_bytes(&[2; 32])?.public_key();
/// let g: GroupId = one_to_one_group_id(&a, &b);
/// assert_ne!(g, one_to_one_group_id(&a, &a));
/// # Ok(())
/// # }
/// ```
pub type GroupId = [u8; 32];

/// Bounds on a received payload.
///
/// ```
/// use pfs_app::mvds::{self, Limits, MvdsError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (bytes, _) = mvds::wrap_messages(&[7; 32], 1, &[b"a", b"b", b"c"])?;
/// let tight = Limits {
///     max_messages: 2,
///     ..Limits::default()
/// };
/// assert_eq!(
///     mvds::parse(&bytes, &tight),
///     Err(MvdsError::TooMany {
///         what: "messages",
///         count: 3,
///         max: 2
///     })
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most messages in one payload.
    pub max_messages: usize,
    /// Most ids in acks, offers and requests together.
    pub max_ids: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_messages: 256,
            max_ids: 4096,
        }
    }
}

/// Why a payload could not be built or an MVDS payload is refused.
///
/// ```
/// use pfs_app::mvds::{self, Limits, MvdsError};
/// // An ack (field 5001) of 3 bytes: ids are 32 bytes.
/// let short_ack = [0xca, 0xb8, 0x02, 3, 1, 2, 3];
/// assert_eq!(
///     mvds::parse(&short_ack, &Limits::default()),
///     Err(MvdsError::BadId { what: "ack", len: 3 })
/// );
/// let big = vec![0u8; pfs_app::MAX_MESSAGE_SIZE];
/// assert!(matches!(mvds::wrap_messages(&[7; 32], 1, &[&big]), Err(MvdsError::TooLarge(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MvdsError {
    /// More items than the limits allow.
    #[error("too many {what}: {count} (maximum {max})")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A group id or message id that is not 32 bytes.
    #[error("{what} of {len} bytes, expected 32")]
    BadId {
        /// Which id.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// An outgoing payload would exceed [`MAX_MESSAGE_SIZE`].
    #[error("payload of {0} bytes exceeds the maximum")]
    TooLarge(usize),
}

/// The MVDS group id of the 1:1 chat between `a` and `b` (symmetric), status-go
/// `datasync.ToOneToOneGroupID`.
///
/// ```
/// use pfs_app::mvds::one_to_one_group_id;
/// use pfs_crypto::{hash::keccak256, secp256k1::SecretKey};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let a = SecretKey::from_bytes(&[1; 32])?.public_key();
/// let b = SecretKey::from_bytes(&[2; 32])?.public_key();
/// let id = one_to_one_group_id(&a, &b);
/// assert_eq!(id, one_to_one_group_id(&b, &a)); // both sides compute the same id
/// // keccak256 of both compressed keys, the one with the smaller X first.
/// let (lo, hi) = if a.as_compressed()[1..] < b.as_compressed()[1..] {
///     (&a, &b)
/// } else {
///     (&b, &a)
/// };
/// assert_eq!(
///     id,
///     keccak256(&[&lo.as_compressed()[..], hi.as_compressed()].concat())
/// );
/// # Ok(())
/// # }
/// ```
pub fn one_to_one_group_id(a: &PublicKey, b: &PublicKey) -> GroupId {
    let (ua, ub) = (a.to_uncompressed(), b.to_uncompressed());
    // X is bytes 1..33 of the uncompressed key, big-endian: byte order = numeric order.
    let (first, second) = if ua[1..33] < ub[1..33] {
        (a, b)
    } else {
        (b, a)
    };
    keccak256_concat(&[first.as_compressed(), second.as_compressed()])
}

/// The MVDS message id.
///
/// ```
/// use pfs_app::mvds::message_id;
/// use pfs_crypto::hash::sha256;
/// // sha256("MESSAGE_ID" ‖ group_id ‖ LE64(timestamp) ‖ body)
/// let by_hand = sha256(
///     &[
///         &b"MESSAGE_ID"[..],
///         &[7; 32],
///         &1_700_000_000i64.to_le_bytes(),
///         b"body",
///     ]
///     .concat(),
/// );
/// assert_eq!(message_id(&[7; 32], 1_700_000_000, b"body"), by_hand);
/// ```
pub fn message_id(group_id: &[u8], timestamp: i64, body: &[u8]) -> MessageId {
    // Go: binary.LittleEndian.PutUint64(t, uint64(m.Timestamp)); the cast keeps the bits.
    let ts = u64::from_ne_bytes(timestamp.to_ne_bytes()).to_le_bytes();
    sha256_concat(&[b"MESSAGE_ID", group_id, &ts, body])
}

/// Wraps application messages (signed wrappers) into one MVDS payload of `group_id` with
/// `timestamp` (unix seconds). Returns the payload and the id of each message, in order.
///
/// ```
/// use pfs_app::mvds::{self, Limits, Parsed};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let group = [7u8; 32];
/// let (bytes, ids) = mvds::wrap_messages(&group, 1_700_000_000, &[b"first", b"second"])?;
/// assert_eq!(ids[1], mvds::message_id(&group, 1_700_000_000, b"second"));
/// let Parsed::Mvds(received) = mvds::parse(&bytes, &Limits::default())? else {
///     panic!("an MVDS payload");
/// };
/// let bodies: Vec<&[u8]> = received
///     .messages
///     .iter()
///     .map(|m| m.body.as_slice())
///     .collect();
/// assert_eq!(bodies, [&b"first"[..], b"second"]);
/// assert_eq!(received.messages[0].id, ids[0]);
/// # Ok(())
/// # }
/// ```
pub fn wrap_messages(
    group_id: &GroupId,
    timestamp: i64,
    bodies: &[&[u8]],
) -> Result<(Vec<u8>, Vec<MessageId>), MvdsError> {
    let mut ids = Vec::with_capacity(bodies.len());
    let mut messages = Vec::with_capacity(bodies.len());
    for body in bodies {
        ids.push(message_id(group_id, timestamp, body));
        messages.push(MvdsMessage {
            group_id: group_id.to_vec(),
            timestamp,
            body: body.to_vec(),
        });
    }
    let payload = MvdsPayload {
        messages,
        ..MvdsPayload::default()
    };
    let bytes = payload.encode_to_vec();
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(MvdsError::TooLarge(bytes.len()));
    }
    Ok((bytes, ids))
}

/// An MVDS payload that only acknowledges `ids`.
///
/// ```
/// use pfs_app::mvds::{self, Limits, Parsed};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let ack = mvds::ack_payload(&[[1; 32], [2; 32]]);
/// // acks are field 5001: tag varint (5001 << 3 | 2) = ca b8 02, then length 32.
/// assert_eq!(ack[..4], [0xca, 0xb8, 0x02, 32]);
/// let Parsed::Mvds(r) = mvds::parse(&ack, &Limits::default())? else {
///     panic!("MVDS")
/// };
/// assert_eq!((r.acks, r.messages.len()), (vec![[1; 32], [2; 32]], 0));
/// # Ok(())
/// # }
/// ```
pub fn ack_payload(ids: &[MessageId]) -> Vec<u8> {
    MvdsPayload {
        acks: ids.iter().map(|i| i.to_vec()).collect(),
        ..MvdsPayload::default()
    }
    .encode_to_vec()
}

/// One message received through MVDS.
///
/// ```
/// use pfs_app::mvds::{self, Limits, Parsed};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (bytes, ids) = mvds::wrap_messages(&[7; 32], 1_700_000_000, &[b"body"])?;
/// let Parsed::Mvds(r) = mvds::parse(&bytes, &Limits::default())? else { panic!("MVDS") };
/// let m = &r.messages[0];
/// assert_eq!((m.id, m.group_id, m.timestamp), (ids[0], [7; 32], 1_700_000_000));
/// assert_eq!(m.body, b"body");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Its MVDS id (to acknowledge).
    pub id: MessageId,
    /// Its group id.
    pub group_id: GroupId,
    /// Its timestamp (unix seconds).
    pub timestamp: i64,
    /// The body (a signed wrapper).
    pub body: Vec<u8>,
}

/// A decoded MVDS payload.
///
/// ```
/// use pfs_app::mvds::{self, Limits, Parsed, Received};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let ack = mvds::ack_payload(&[[1; 32]]);
/// let Parsed::Mvds(r) = mvds::parse(&ack, &Limits::default())? else { panic!("MVDS") };
/// assert_eq!(r, Received { acks: vec![[1; 32]], ..Received::default() });
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Received {
    /// Messages carried.
    pub messages: Vec<ReceivedMessage>,
    /// Our message ids the peer acknowledges.
    pub acks: Vec<MessageId>,
    /// Ids the peer offers.
    pub offers: Vec<MessageId>,
    /// Ids the peer requests.
    pub requests: Vec<MessageId>,
}

impl Received {
    /// The acknowledgement payload for the messages received, if any.
    ///
    /// ```
    /// use pfs_app::mvds::{self, Limits, Parsed};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (bytes, ids) = mvds::wrap_messages(&[7; 32], 1, &[b"hello"])?;
    /// let Parsed::Mvds(r) = mvds::parse(&bytes, &Limits::default())? else {
    ///     panic!("MVDS")
    /// };
    /// assert_eq!(r.ack(), Some(mvds::ack_payload(&ids)));
    /// assert_eq!(mvds::Received::default().ack(), None); // nothing to acknowledge
    /// # Ok(())
    /// # }
    /// ```
    pub fn ack(&self) -> Option<Vec<u8>> {
        (!self.messages.is_empty())
            .then(|| ack_payload(&self.messages.iter().map(|m| m.id).collect::<Vec<_>>()))
    }
}

/// What a decrypted payload is.
///
/// ```
/// use pfs_app::mvds::{self, Limits, Parsed};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (bytes, _) = mvds::wrap_messages(&[7; 32], 1, &[b"x"])?;
/// assert!(matches!(mvds::parse(&bytes, &Limits::default())?, Parsed::Mvds(_)));
/// assert_eq!(mvds::parse(b"", &Limits::default())?, Parsed::NotMvds);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An MVDS payload.
    Mvds(Received),
    /// Not MVDS: the bytes go to the wrapper decoder as they are.
    NotMvds,
}

fn id32(what: &'static str, b: &[u8]) -> Result<[u8; 32], MvdsError> {
    b.try_into()
        .map_err(|_| MvdsError::BadId { what, len: b.len() })
}

/// Parses a decrypted payload: MVDS, or not (fall through). An MVDS payload that breaks
/// the limits or carries ids that are not 32 bytes is an error.
///
/// ```
/// use pfs_app::MessageKind;
/// use pfs_app::mvds::{self, Limits, MvdsError, Parsed};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A bare signed wrapper is not MVDS: it falls through to the wrapper decoder.
/// let wrapper = pfs_app::wrap(
///     b"hi",
///     MessageKind::ChatMessage,
///     &SecretKey::from_bytes(&[1; 32])?,
/// )?;
/// assert_eq!(mvds::parse(&wrapper, &Limits::default())?, Parsed::NotMvds);
/// // An ack of 3 bytes (field 5001, length 3) is MVDS, and refused.
/// let short_ack = [0xca, 0xb8, 0x02, 3, 1, 2, 3];
/// assert_eq!(
///     mvds::parse(&short_ack, &Limits::default()),
///     Err(MvdsError::BadId {
///         what: "ack",
///         len: 3
///     })
/// );
/// # Ok(())
/// # }
/// ```
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Parsed, MvdsError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Ok(Parsed::NotMvds);
    }
    let Ok(p) = MvdsPayload::decode(bytes) else {
        return Ok(Parsed::NotMvds);
    };
    if p.acks.is_empty() && p.offers.is_empty() && p.requests.is_empty() && p.messages.is_empty() {
        return Ok(Parsed::NotMvds);
    }
    if p.messages.len() > limits.max_messages {
        return Err(MvdsError::TooMany {
            what: "messages",
            count: p.messages.len(),
            max: limits.max_messages,
        });
    }
    let ids = p.acks.len() + p.offers.len() + p.requests.len();
    if ids > limits.max_ids {
        return Err(MvdsError::TooMany {
            what: "ids",
            count: ids,
            max: limits.max_ids,
        });
    }
    let conv = |what, v: &[Vec<u8>]| -> Result<Vec<MessageId>, MvdsError> {
        v.iter().map(|b| id32(what, b)).collect()
    };
    let mut messages = Vec::with_capacity(p.messages.len());
    for m in p.messages {
        let group_id = id32("group id", &m.group_id)?;
        messages.push(ReceivedMessage {
            id: message_id(&group_id, m.timestamp, &m.body),
            group_id,
            timestamp: m.timestamp,
            body: m.body,
        });
    }
    Ok(Parsed::Mvds(Received {
        messages,
        acks: conv("ack", &p.acks)?,
        offers: conv("offer", &p.offers)?,
        requests: conv("request", &p.requests)?,
    }))
}
