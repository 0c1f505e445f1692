//! # pfs-transport: envelopes and the network (level 3)
//!
//! The Whisper v6 envelope exactly as Status used it (signed, AES-256-GCM or ECIES,
//! RLP, proof of work, topics) and the `Transport` trait that carries envelopes.
//! The transport authenticates the sender's identity key; it never decrypts ratchet
//! messages.
#![forbid(unsafe_code)]

pub mod ecies;
pub mod envelope;
pub mod message;
pub mod pow;
pub mod rlp;
pub mod status;
pub mod symmetric;
pub mod topic;

pub use envelope::{
    DEFAULT_MAX_ENVELOPE_SIZE, Envelope, EnvelopeDecodeError, OpenError, OpenKey, OpenOptions,
    OpenedMessage, SealError, SealKey, SealOptions, open, open_bytes, seal_message,
};
pub use pow::PowVariant;
pub use symmetric::SymKey;
pub use topic::Topic;
