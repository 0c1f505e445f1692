//! # pfs-ratchet: the Double Ratchet (level 1)
//!
//! A pure, in-memory Double Ratchet. It knows nothing of protobufs, stores or I/O:
//! a session state goes in, a new state (or a typed error and the old state) comes out.
//! The primitives come from a suite trait with two implementations: the status-go
//! wire-compatible secp256k1 suite and the specification's X25519 suite.
#![forbid(unsafe_code)]
