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
#![forbid(unsafe_code)]

mod adapters;
pub mod clock;
pub mod config;
mod engine;
pub mod error;
mod types;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, SuitePreference};
pub use engine::{AppRecords, Engine};
pub use error::{EngineError, ReceiveError, SendError};
pub use pfs_ratchet::SuiteId;
pub use pfs_x3dh::{IdentityKeyPair, InstallationId};
pub use types::*;
