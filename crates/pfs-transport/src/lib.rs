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
//!
//! # Example
//!
//! Seal a signed message to a Status content topic, carry it through the in-memory
//! transport, fetch it from the history and open it:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use pfs_crypto::{ManualClock, OsRandom, secp256k1::SecretKey};
//! use pfs_transport::transport::{CarriedMessage, HistoryQuery, InMemoryTransport, Transport};
//! use pfs_transport::{OpenKey, SealKey, SymKey, Topic, payload, waku};
//!
//! let now = 1_700_000_000_000_000_000;
//! let hub = InMemoryTransport::with_clock(Arc::new(ManualClock::new(now)));
//! let (me, key) = (SecretKey::generate(&mut OsRandom)?, SymKey::from_password("chat")?);
//! let topic = waku::content_topic(&Topic::from_string("chat"));
//! let msg = payload::seal_message(b"hello", Some(&me), SealKey::Symmetric(&key), topic.clone(), now, false, &mut OsRandom)?;
//! hub.publish(CarriedMessage::on_default_shard(msg))?;
//!
//! let got = hub.fetch_history(&HistoryQuery::recent(vec![topic], now, 60))?;
//! let opened = payload::open_message(&got[0].message, OpenKey::Symmetric(&key))?;
//! assert_eq!((opened.payload.as_slice(), opened.signer), (&b"hello"[..], Some(me.public_key())));
//! # Ok(())
//! # }
//! ```
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
pub use topic::{ContentTopic, InvalidContentTopic, Topic};
