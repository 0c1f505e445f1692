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
#![forbid(unsafe_code)]

/// The generated prost types.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    include!("generated/pfs.encryption.rs");
}

/// The Waku v2 messages (`proto/waku.proto`): `WakuMessage` (14/WAKU2-MESSAGE) and the
/// request/response messages of metadata, lightpush (v3 and legacy v2), store v3 and
/// filter v2, with the field numbers js-waku and nwaku use.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod waku {
    include!("generated/waku.rs");
}

/// The Status application-layer messages (`proto/status_app.proto`): the signed
/// `ApplicationMetadataMessage`, `ChatMessage`, the contact-request messages, the
/// contact-code advertisement, MVDS datasync and `SegmentMessage`, with status-go's field
/// numbers. Bounded decoding and the rules are in the `pfs-app` crate.
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
pub const NO_INSTALLATION_ID: &str = "none";

/// Most hash-ratchet keys (and rekey-group entries) accepted in one `HR_header`.
pub const MAX_GROUP_KEYS: usize = 64;

/// Bounds applied when decoding untrusted bytes.
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
pub fn encode<M: Message>(msg: &M) -> Vec<u8> {
    msg.encode_to_vec()
}

impl ProtocolMessage {
    /// The entry addressed to `installation_id`, if any.
    pub fn entry(&self, installation_id: &str) -> Option<&DirectMessageProtocol> {
        self.direct_message
            .iter()
            .find(|e| e.installation_id == installation_id)
            .and_then(|e| e.message.as_ref())
    }
}

impl Bundle {
    /// The signed prekey of `installation_id`, if listed.
    pub fn signed_pre_key(&self, installation_id: &str) -> Option<&SignedPreKey> {
        self.signed_pre_keys
            .iter()
            .find(|e| e.installation_id == installation_id)
            .and_then(|e| e.signed_pre_key.as_ref())
    }
}
