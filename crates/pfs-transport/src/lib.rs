//! # pfs-transport: envelopes and the network (level 3)
//!
//! The Whisper v6 envelope exactly as Status used it (signed, AES-256-GCM or ECIES,
//! RLP, proof of work, topics) and the `Transport` trait that carries envelopes.
//! The transport authenticates the sender's identity key; it never decrypts ratchet
//! messages.
//!
//! The envelope layer (this version has no network yet):
//!
//! * [`message`]: the Whisper message (flags, size field, padding, recoverable signature);
//! * [`symmetric`]: AES-256-GCM with the nonce appended, PBKDF2 keys from passwords;
//! * [`ecies`]: go-ethereum's ECIES (AES-128-CTR, HMAC-SHA256, concatKDF);
//! * [`rlp`]: a small strict RLP codec;
//! * [`envelope`]: the envelope, its hash, size limit, sealing and opening;
//! * [`pow`]: both proof-of-work formulas ([`PowVariant`]);
//! * [`topic`] and [`status`]: topics, blooms and the status-go topic and key rules;
//! * [`payload`]: 26/WAKU2-PAYLOAD version 1, the same message and encryption carried in
//!   `WakuMessage.payload` without envelope, RLP or proof of work.
//!
//! Nothing here reads a clock or the OS random generator by itself: the time (`now`) and a
//! [`pfs_crypto::RandomSource`] are passed in. The byte layouts are in `docs/transport.md`.
#![forbid(unsafe_code)]

pub mod ecies;
pub mod envelope;
pub mod message;
pub mod payload;
pub mod pow;
pub mod rlp;
pub mod status;
pub mod symmetric;
pub mod topic;
pub mod transport;
pub mod waku;

pub use envelope::{
    DEFAULT_MAX_ENVELOPE_SIZE, Envelope, EnvelopeDecodeError, OpenError, OpenKey, OpenOptions,
    OpenedMessage, SealError, SealKey, SealOptions, open, open_bytes, seal_message,
};
pub use payload::{OpenedPayload, PayloadError};
pub use pow::PowVariant;
pub use symmetric::SymKey;
pub use topic::Topic;
