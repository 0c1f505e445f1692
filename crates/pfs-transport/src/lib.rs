//! # pfs-transport: Waku messages and the `Transport` trait (level 2)
//!
//! What the network carries and how a device seals and opens it; the network itself is
//! the `pfs-node` crate. The transport authenticates the sender's identity key (a
//! recoverable signature inside the payload); it never decrypts ratchet messages.
//!
//! * [`waku`]: the WakuMessage (14/WAKU2-MESSAGE), its deterministic hash, Status content
//!   topics `/waku/1/0x<8 hex>/rfc26`, the relay's validation rules;
//! * [`payload`]: 26/WAKU2-PAYLOAD version 1, the Whisper message and encryption carried
//!   in `WakuMessage.payload` without envelope, RLP or proof of work;
//! * [`transport`]: the [`transport::Transport`] trait (publish, subscribe, store history)
//!   and an in-memory implementation;
//! * [`message`]: the Whisper message (flags, size field, padding, recoverable signature);
//! * [`symmetric`]: AES-256-GCM with the nonce appended, PBKDF2 keys from passwords;
//! * [`ecies`]: go-ethereum's ECIES (AES-128-CTR, HMAC-SHA256, concatKDF);
//! * [`topic`] and [`status`]: 4-byte topics, blooms and the status-go topic and key rules
//!   (partitioned, personal, contact code, negotiated);
//! * [`envelope`], [`rlp`], [`pow`]: the Whisper v6 envelope as a format (its known-answer
//!   vectors keep passing); the network no longer carries it.
//!
//! Nothing here reads a clock or the OS random generator by itself, except
//! [`transport::now_unix_ns`] and the in-memory transport's default clock: the time and a
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
