//! # pfs-protocol: the engine (level 3)
//!
//! The sans-IO engine an application calls: bytes in, bytes out. It builds and reads
//! `ProtocolMessage`s, manages sessions (concurrent sessions, re-keying, expiry),
//! multi-device fan-out and pairing, account recovery and contact requests. Stores,
//! clock, randomness and ratchet suites are injected trait objects; the engine never
//! opens a socket or a file and never reads the system clock or the OS RNG itself.
//!
//! Every operation runs as one store transaction: a message that fails to decrypt leaves
//! sessions and keys exactly as they were. See `docs/protocol.md` for every rule and
//! number, and for each place where we differ from status-go.
//!
//! Two accounts, one message (the bundle exchange is what a contact code or a QR code
//! carries; the transport, here a plain move of bytes, authenticates the sender):
//!
//! ```
//! use pfs_protocol::{Config, DeliveredKind, Engine, ManualClock, MessageId};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = ManualClock::new(1_700_000_000_000_000_000);
//! let new = || {
//!     Engine::create_account(
//!         Box::new(pfs_store::MemoryStore::new()),
//!         Box::new(clock.clone()),
//!         Box::new(pfs_crypto::OsRandom),
//!         Config::default(),
//!     )
//! };
//! let (mut alice, _phrase) = new()?;
//! let (mut bob, _) = new()?;
//! alice.process_bundle(&bob.own_bundle()?)?;
//!
//! let sent = alice.send(bob.identity(), b"hello Bob")?;
//! assert_eq!(sent.len(), 1, "no other device of Alice's to copy");
//! assert!(sent[0].forward_secret, "X3DH on Bob's bundle");
//! let got = bob.decrypt(alice.identity(), &sent[0].bytes, &MessageId::from(b"message-1"))?;
//! assert_eq!(got.plaintext, b"hello Bob");
//! assert_eq!(got.kind, DeliveredKind::Direct);
//!
//! // and back, on the same session
//! let reply = bob.encrypt_for(alice.identity(), b"hi Alice", false)?;
//! assert_eq!(alice.decrypt(bob.identity(), &reply.bytes, &MessageId::from(b"message-2"))?.plaintext, b"hi Alice");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod adapters;
/// Time, injected (the workspace's one clock, from `pfs-crypto`).
pub use pfs_crypto::clock;
pub mod config;
mod engine;
pub mod error;
mod types;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, SuitePreference};
pub use engine::{AppRecords, Engine};
pub use error::{EngineError, ReceiveError, SendError};
pub use pfs_ratchet::SuiteId;
/// The id an application gives a received message (for confirmation), as the store keeps it.
pub use pfs_store::MessageId;
pub use pfs_x3dh::{IdentityKeyPair, InstallationId};
pub use types::*;
