//! # pfs-protocol: the engine (level 3)
//!
//! The sans-IO engine an application calls: bytes in, bytes out. It builds and reads
//! `ProtocolMessage`s, manages sessions (concurrent sessions, re-keying, expiry),
//! multi-device fan-out and pairing, account recovery and contact requests. Stores,
//! clock, randomness and ratchet suites are injected trait objects.
#![forbid(unsafe_code)]
