//! # pfs-bench: benchmarks side by side with vodozemac (level 4, not published)
//!
//! Fixtures shared by the criterion benchmarks in `benches/compare.rs` and by
//! `cargo xtask bench` (which also reads [`memory::sizes`]): ratchet session pairs for
//! our two suites, Olm session pairs from vodozemac, signed bundles for session
//! establishment, and engine pairs on SQLite stores; and [`relay`], two pfs users talking
//! through three `pfs-node` relay nodes on 127.0.0.1 (compared with js-waku's relay by
//! `cargo xtask bench`). Nothing here is used by the protocol crates; the crate exists only
//! to measure them.
//!
//! The crypto fixtures panic on setup failure: they are benchmark scaffolding, never
//! library code run on untrusted input. [`relay`] returns errors instead.
#![forbid(unsafe_code)]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod engine;
pub mod memory;
pub mod olm;
pub mod ratchet;
pub mod relay;
pub mod scale;

/// The two ratchet suites of pfs, with the names used in benchmark ids.
pub const SUITES: [(pfs_ratchet::SuiteId, &str); 2] = [
    (pfs_ratchet::SuiteId::StatusGo, "secp256k1"),
    (pfs_ratchet::SuiteId::Spec, "x25519"),
];

/// A 100-byte plaintext.
pub const SMALL: [u8; 100] = [0x42; 100];

/// Size of the large payload (64 KiB).
pub const LARGE_LEN: usize = 64 * 1024;

/// Number of messages skipped in the gap benchmark.
pub const GAP: usize = 1000;
