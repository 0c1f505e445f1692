//! # pfs-wire: the protobuf wire messages (level 1)
//!
//! The messages of the Status 1:1 protocol (`ProtocolMessage`, `Bundle`, `SignedPreKey`,
//! `DirectMessageProtocol`, `X3DHHeader`, `DRHeader`, `DHHeader`) as prost structs
//! generated from `proto/encryption.proto` by `cargo xtask codegen` (checked in under
//! `src/generated/`, no `protoc` needed), with the field numbers status-go uses.
//!
//! The two protobuf maps of the protocol (`Bundle.signed_pre_keys` and
//! `ProtocolMessage.direct_message`) are declared as repeated entry messages, which is
//! byte-identical on the wire and keeps the order of entries as received (see the
//! proto file).
//!
//! Decoding untrusted bytes goes through [`decode_protocol_message`] and
//! [`decode_bundle`], which enforce a configurable maximum size before parsing, bound
//! the number of bundles and entries, reject duplicated map keys and empty ids, and return
//! a typed [`WireError`]. prost itself never allocates more than the input holds: a
//! length prefix larger than the remaining input is a decode error, not an allocation.
//!
//! ## Example
//!
//! A sender builds a `ProtocolMessage` with one entry per recipient installation and
//! encodes it; the recipient decodes it under [`Limits`] and looks up its entry.
//!
//! ```
//! use pfs_wire::{DirectMessageEntry, DirectMessageProtocol, Limits, ProtocolMessage};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let msg = ProtocolMessage {
//!     installation_id: "alice-1".into(),
//!     direct_message: vec![DirectMessageEntry {
//!         installation_id: "bob-1".into(),
//!         message: Some(DirectMessageProtocol {
//!             payload: b"ciphertext".to_vec(),
//!             ..Default::default()
//!         }),
//!     }],
//!     ..Default::default()
//! };
//! let bytes = pfs_wire::encode(&msg);
//! let received = pfs_wire::decode_protocol_message(&bytes, &Limits::default())?;
//! assert_eq!(received, msg);
//! assert_eq!(
//!     received.entry("bob-1").map(|m| &m.payload[..]),
//!     Some(&b"ciphertext"[..])
//! );
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

/// The generated prost types.
///
/// They are plain prost messages: [`Message::encode_to_vec`] and [`Message::decode`]
/// follow the protobuf encoding rules.
///
/// ```
/// use pfs_wire::{DhHeader, Message};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let header = DhHeader { key: vec![2; 33] };
/// let bytes = header.encode_to_vec();
/// // Field 1, wire type 2 (tag byte 0x0a), length 33, then the key.
/// assert_eq!(bytes[..2], [0x0a, 33]);
/// assert_eq!(bytes.len(), 35);
/// assert_eq!(DhHeader::decode(&bytes[..])?, header);
/// # Ok(())
/// # }
/// ```
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    include!("generated/pfs.encryption.rs");
}

/// The Waku v2 messages (`proto/waku.proto`): `WakuMessage` (14/WAKU2-MESSAGE) and the
/// request/response messages of metadata, lightpush (v3 and legacy v2), store v3 and
/// filter v2, with the field numbers js-waku and nwaku use.
///
/// ```
/// use pfs_wire::{Message, waku::WakuMessage};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let msg = WakuMessage {
///     payload: b"hi".to_vec(),
///     content_topic: "/t/1/c/proto".into(),
///     timestamp: Some(-1),
///     ..Default::default()
/// };
/// // payload (field 1), content_topic (field 2), timestamp (field 10, ZigZag: -1 is 1).
/// let expected = "0a026869120c2f742f312f632f70726f746f5001";
/// assert_eq!(hex::encode(msg.encode_to_vec()), expected);
/// assert_eq!(WakuMessage::decode(&hex::decode(expected)?[..])?, msg);
/// # Ok(())
/// # }
/// ```
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod waku {
    include!("generated/waku.rs");
}

/// The Status application-layer messages (`proto/status_app.proto`): the signed
/// `ApplicationMetadataMessage`, `ChatMessage`, the contact-request messages, the
/// contact-code advertisement, MVDS datasync and `SegmentMessage`, with status-go's field
/// numbers. Bounded decoding and the rules are in the `pfs-app` crate.
///
/// ```
/// use pfs_wire::{Message, app::ChatMessage};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let chat = ChatMessage {
///     clock: 1,
///     text: "hello".into(),
///     ..Default::default()
/// };
/// // clock (field 1, varint 1), then text (field 3, 5 bytes).
/// assert_eq!(hex::encode(chat.encode_to_vec()), "08011a0568656c6c6f");
/// assert_eq!(ChatMessage::decode(&chat.encode_to_vec()[..])?, chat);
/// # Ok(())
/// # }
/// ```
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod app {
    include!("generated/pfs.app.rs");
}

pub use pb::{
    Bundle, DhHeader, DirectMessageEntry, DirectMessageProtocol, DrHeader, ProtocolMessage,
    SignedPreKey, SignedPreKeyEntry, X3dhHeader,
};
pub use prost::Message;

/// The map key status-go uses for a message sent without any bundle of the recipient.
///
/// ```
/// use pfs_wire::{DirectMessageEntry, NO_INSTALLATION_ID, ProtocolMessage};
/// let msg = ProtocolMessage {
///     direct_message: vec![DirectMessageEntry {
///         installation_id: NO_INSTALLATION_ID.into(),
///         message: Some(Default::default()),
///     }],
///     ..Default::default()
/// };
/// assert_eq!(NO_INSTALLATION_ID, "none");
/// assert!(msg.entry("none").is_some());
/// ```
pub const NO_INSTALLATION_ID: &str = "none";

/// Most hash-ratchet keys (and rekey-group entries) accepted in one `HR_header`.
pub const MAX_GROUP_KEYS: usize = 64;

/// Bounds applied when decoding untrusted bytes.
///
/// ```
/// use pfs_wire::{Bundle, Limits, WireError};
/// let tight = Limits {
///     max_message_size: 8,
///     ..Limits::default()
/// };
/// let bundle = Bundle {
///     identity: vec![2; 33],
///     ..Default::default()
/// };
/// let bytes = pfs_wire::encode(&bundle);
/// assert_eq!(
///     pfs_wire::decode_bundle(&bytes, &tight),
///     Err(WireError::TooLarge { size: 35, max: 8 })
/// );
/// assert_eq!(
///     pfs_wire::decode_bundle(&bytes, &Limits::default()),
///     Ok(bundle)
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted encoded message, in bytes.
    pub max_message_size: usize,
    /// Most bundles in one `ProtocolMessage`.
    pub max_bundles: usize,
    /// Most installations in one bundle.
    pub max_installations_per_bundle: usize,
    /// Most `direct_message` entries in one `ProtocolMessage`.
    pub max_direct_messages: usize,
    /// Longest installation id, in bytes.
    pub max_installation_id_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 1 << 20,
            max_bundles: 8,
            max_installations_per_bundle: 16,
            max_direct_messages: 32,
            max_installation_id_len: 256,
        }
    }
}

/// Why untrusted bytes were refused.
///
/// A caller matches the reason:
///
/// ```
/// use pfs_wire::{Limits, WireError};
/// // dh_header (field 101: tag varint aa 06) holding key [1, 2]; payload (field 3) "hi".
/// let bytes = [0xaa, 0x06, 4, 0x0a, 2, 1, 2, 0x1a, 2, b'h', b'i'];
/// assert!(pfs_wire::decode_direct_message(&bytes, &Limits::default()).is_ok());
/// // Truncated: the payload announces 2 bytes, 1 follows.
/// let truncated = pfs_wire::decode_direct_message(&bytes[..10], &Limits::default());
/// assert!(matches!(truncated, Err(WireError::Malformed { .. })));
/// // Larger than the configured maximum: refused before decoding.
/// let small = Limits { max_message_size: 8, ..Limits::default() };
/// assert_eq!(
///     pfs_wire::decode_direct_message(&bytes, &small),
///     Err(WireError::TooLarge { size: 11, max: 8 })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input is larger than the configured maximum.
    #[error("message of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Input size.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The bytes are not a valid protobuf encoding of the expected message
    /// (truncated input, bad varint, wrong wire type, invalid UTF-8, ...).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which message was being decoded.
        what: &'static str,
        /// prost's description.
        reason: String,
    },
    /// More repeated items than allowed.
    #[error("too many {what}: {count} (maximum {max})")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many were present.
        count: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The same installation id appears twice in one map.
    #[error("duplicate installation id {id:?} in {what}")]
    DuplicateKey {
        /// Which map.
        what: &'static str,
        /// The repeated id.
        id: String,
    },
    /// An installation id is empty or too long.
    #[error("invalid installation id in {what} ({len} bytes)")]
    BadInstallationId {
        /// Which map.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A map entry has no value.
    #[error("entry {id:?} of {what} has no value")]
    MissingValue {
        /// Which map.
        what: &'static str,
        /// The entry's id.
        id: String,
    },
}

fn check_size(bytes: &[u8], limits: &Limits) -> Result<(), WireError> {
    if bytes.len() > limits.max_message_size {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            max: limits.max_message_size,
        });
    }
    Ok(())
}

fn check_count(what: &'static str, count: usize, max: usize) -> Result<(), WireError> {
    if count > max {
        return Err(WireError::TooMany { what, count, max });
    }
    Ok(())
}

fn check_ids<'a>(
    what: &'static str,
    ids: impl Iterator<Item = &'a str>,
    limits: &Limits,
) -> Result<(), WireError> {
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        if id.is_empty() || id.len() > limits.max_installation_id_len {
            return Err(WireError::BadInstallationId {
                what,
                len: id.len(),
            });
        }
        if !seen.insert(id) {
            return Err(WireError::DuplicateKey {
                what,
                id: id.to_owned(),
            });
        }
    }
    Ok(())
}

/// Validates a decoded bundle's structure (counts, ids, entries present). Keys and the
/// signature are checked by the X3DH layer.
///
/// ```
/// use pfs_wire::{Bundle, Limits, SignedPreKey, SignedPreKeyEntry, WireError};
/// let entry = SignedPreKeyEntry {
///     installation_id: "phone".into(),
///     signed_pre_key: Some(SignedPreKey {
///         signed_pre_key: vec![2; 33],
///         version: 1,
///         protocol_version: 1,
///     }),
/// };
/// let mut bundle = Bundle { signed_pre_keys: vec![entry.clone()], ..Default::default() };
/// assert_eq!(pfs_wire::validate_bundle(&bundle, &Limits::default()), Ok(()));
///
/// bundle.signed_pre_keys.push(entry); // the same installation twice
/// assert!(matches!(
///     pfs_wire::validate_bundle(&bundle, &Limits::default()),
///     Err(WireError::DuplicateKey { id, .. }) if id == "phone"
/// ));
/// ```
pub fn validate_bundle(bundle: &Bundle, limits: &Limits) -> Result<(), WireError> {
    const WHAT: &str = "bundle signed_pre_keys";
    check_count(
        WHAT,
        bundle.signed_pre_keys.len(),
        limits.max_installations_per_bundle,
    )?;
    check_ids(
        WHAT,
        bundle
            .signed_pre_keys
            .iter()
            .map(|e| e.installation_id.as_str()),
        limits,
    )?;
    for e in &bundle.signed_pre_keys {
        if e.signed_pre_key.is_none() {
            return Err(WireError::MissingValue {
                what: WHAT,
                id: e.installation_id.clone(),
            });
        }
    }
    Ok(())
}

/// Validates a decoded `ProtocolMessage`'s structure.
///
/// ```
/// use pfs_wire::{DirectMessageEntry, Limits, ProtocolMessage, WireError};
/// let msg = ProtocolMessage {
///     direct_message: vec![DirectMessageEntry {
///         installation_id: "bob-1".into(),
///         message: None,
///     }],
///     ..Default::default()
/// };
/// assert!(matches!(
///     pfs_wire::validate_protocol_message(&msg, &Limits::default()),
///     Err(WireError::MissingValue {
///         what: "direct_message",
///         ..
///     })
/// ));
/// assert_eq!(
///     pfs_wire::validate_protocol_message(&ProtocolMessage::default(), &Limits::default()),
///     Ok(())
/// );
/// ```
pub fn validate_protocol_message(msg: &ProtocolMessage, limits: &Limits) -> Result<(), WireError> {
    const WHAT: &str = "direct_message";
    check_count("bundles", msg.bundles.len(), limits.max_bundles)?;
    for b in &msg.bundles {
        validate_bundle(b, limits)?;
    }
    check_count(WHAT, msg.direct_message.len(), limits.max_direct_messages)?;
    check_ids(
        WHAT,
        msg.direct_message
            .iter()
            .map(|e| e.installation_id.as_str()),
        limits,
    )?;
    for e in &msg.direct_message {
        let Some(m) = &e.message else {
            return Err(WireError::MissingValue {
                what: WHAT,
                id: e.installation_id.clone(),
            });
        };
        if let Some(keys) = m.hr_header.as_ref().and_then(|h| h.keys.as_ref()) {
            check_count("HR_header keys", keys.keys.len(), MAX_GROUP_KEYS)?;
            if let Some(r) = &keys.rekey_group {
                check_count("HR_header rekey_group keys", r.keys.len(), MAX_GROUP_KEYS)?;
            }
        }
    }
    if msg.installation_id.len() > limits.max_installation_id_len {
        return Err(WireError::BadInstallationId {
            what: "installation_id",
            len: msg.installation_id.len(),
        });
    }
    Ok(())
}

/// Decodes and validates an untrusted `ProtocolMessage`.
///
/// ```
/// use pfs_wire::{Limits, WireError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Field 2 (installation_id), length 3, "abc".
/// let msg = pfs_wire::decode_protocol_message(&[0x12, 3, b'a', b'b', b'c'], &Limits::default())?;
/// assert_eq!(msg.installation_id, "abc");
/// // Cut inside the string: a typed error, never a panic.
/// let cut = pfs_wire::decode_protocol_message(&[0x12, 3, b'a'], &Limits::default());
/// assert!(matches!(
///     cut,
///     Err(WireError::Malformed {
///         what: "ProtocolMessage",
///         ..
///     })
/// ));
/// # Ok(())
/// # }
/// ```
pub fn decode_protocol_message(
    bytes: &[u8],
    limits: &Limits,
) -> Result<ProtocolMessage, WireError> {
    check_size(bytes, limits)?;
    let msg = ProtocolMessage::decode(bytes).map_err(|e| WireError::Malformed {
        what: "ProtocolMessage",
        reason: e.to_string(),
    })?;
    validate_protocol_message(&msg, limits)?;
    Ok(msg)
}

/// Decodes and validates an untrusted `Bundle`.
///
/// ```
/// use pfs_wire::{Bundle, Limits, SignedPreKeyEntry, WireError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bundle = Bundle {
///     identity: vec![3; 33],
///     timestamp: 1,
///     ..Default::default()
/// };
/// assert_eq!(
///     pfs_wire::decode_bundle(&pfs_wire::encode(&bundle), &Limits::default())?,
///     bundle
/// );
///
/// let empty_id = Bundle {
///     signed_pre_keys: vec![SignedPreKeyEntry {
///         installation_id: String::new(),
///         signed_pre_key: None,
///     }],
///     ..Default::default()
/// };
/// let refused = pfs_wire::decode_bundle(&pfs_wire::encode(&empty_id), &Limits::default());
/// assert!(matches!(
///     refused,
///     Err(WireError::BadInstallationId { len: 0, .. })
/// ));
/// # Ok(())
/// # }
/// ```
pub fn decode_bundle(bytes: &[u8], limits: &Limits) -> Result<Bundle, WireError> {
    check_size(bytes, limits)?;
    let b = Bundle::decode(bytes).map_err(|e| WireError::Malformed {
        what: "Bundle",
        reason: e.to_string(),
    })?;
    validate_bundle(&b, limits)?;
    Ok(b)
}

/// Decodes an untrusted `DirectMessageProtocol` (size-checked).
///
/// ```
/// use pfs_wire::Limits;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // dh_header (field 101: tag varint aa 06) holding key [1, 2]; payload (field 3) "hi".
/// let bytes = [0xaa, 0x06, 4, 0x0a, 2, 1, 2, 0x1a, 2, b'h', b'i'];
/// let dm = pfs_wire::decode_direct_message(&bytes, &Limits::default())?;
/// assert_eq!(dm.dh_header.map(|h| h.key), Some(vec![1, 2]));
/// assert_eq!(dm.payload, b"hi");
/// assert!(dm.dr_header.is_none() && dm.x3dh_header.is_none());
/// # Ok(())
/// # }
/// ```
pub fn decode_direct_message(
    bytes: &[u8],
    limits: &Limits,
) -> Result<DirectMessageProtocol, WireError> {
    check_size(bytes, limits)?;
    DirectMessageProtocol::decode(bytes).map_err(|e| WireError::Malformed {
        what: "DirectMessageProtocol",
        reason: e.to_string(),
    })
}

/// Encodes any message of this crate.
///
/// ```
/// use pfs_wire::{DrHeader, ProtocolMessage};
/// // proto3 leaves default values out: an empty message is zero bytes.
/// assert!(pfs_wire::encode(&ProtocolMessage::default()).is_empty());
/// // n (field 2) = 1 and pn (field 3) = 300 as varints (300 = ac 02).
/// let header = DrHeader {
///     n: 1,
///     pn: 300,
///     ..Default::default()
/// };
/// assert_eq!(pfs_wire::encode(&header), [0x10, 1, 0x18, 0xac, 0x02]);
/// ```
pub fn encode<M: Message>(msg: &M) -> Vec<u8> {
    msg.encode_to_vec()
}

impl ProtocolMessage {
    /// The entry addressed to `installation_id`, if any.
    ///
    /// ```
    /// use pfs_wire::{DirectMessageEntry, DirectMessageProtocol, ProtocolMessage};
    /// let entry = |id: &str, payload: &[u8]| DirectMessageEntry {
    ///     installation_id: id.into(),
    ///     message: Some(DirectMessageProtocol {
    ///         payload: payload.to_vec(),
    ///         ..Default::default()
    ///     }),
    /// };
    /// let msg = ProtocolMessage {
    ///     direct_message: vec![entry("a", b"1"), entry("b", b"2")],
    ///     ..Default::default()
    /// };
    /// assert_eq!(
    ///     msg.entry("b").map(|m| m.payload.clone()),
    ///     Some(b"2".to_vec())
    /// );
    /// assert!(msg.entry("c").is_none());
    /// ```
    pub fn entry(&self, installation_id: &str) -> Option<&DirectMessageProtocol> {
        self.direct_message
            .iter()
            .find(|e| e.installation_id == installation_id)
            .and_then(|e| e.message.as_ref())
    }
}

impl Bundle {
    /// The signed prekey of `installation_id`, if listed.
    ///
    /// ```
    /// use pfs_wire::{Bundle, SignedPreKey, SignedPreKeyEntry};
    /// let spk = SignedPreKey {
    ///     signed_pre_key: vec![2; 33],
    ///     version: 1,
    ///     protocol_version: 1,
    /// };
    /// let bundle = Bundle {
    ///     signed_pre_keys: vec![SignedPreKeyEntry {
    ///         installation_id: "laptop".into(),
    ///         signed_pre_key: Some(spk.clone()),
    ///     }],
    ///     ..Default::default()
    /// };
    /// assert_eq!(bundle.signed_pre_key("laptop"), Some(&spk));
    /// assert_eq!(bundle.signed_pre_key("phone"), None);
    /// ```
    pub fn signed_pre_key(&self, installation_id: &str) -> Option<&SignedPreKey> {
        self.signed_pre_keys
            .iter()
            .find(|e| e.installation_id == installation_id)
            .and_then(|e| e.signed_pre_key.as_ref())
    }
}
