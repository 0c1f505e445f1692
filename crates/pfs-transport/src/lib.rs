//! # pfs-transport: envelopes and the network (level 3)
//!
//! The Whisper v6 envelope exactly as Status used it (signed, AES-256-GCM or ECIES,
//! RLP, proof of work, topics) and the `Transport` trait that carries envelopes.
//! The transport authenticates the sender's identity key; it never decrypts ratchet
//! messages.
#![forbid(unsafe_code)]
pub mod transport;
