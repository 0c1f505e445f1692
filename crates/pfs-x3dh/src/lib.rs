//! # pfs-x3dh: accounts, prekey bundles and X3DH (level 1)
//!
//! This layer owns the identity of an account (a secp256k1 key derived from a BIP39
//! mnemonic), the signed prekey bundles that advertise its installations, the contact
//! codes and QR codes that carry those bundles, and the X3DH key agreement without
//! one-time prekeys that turns a bundle into a shared secret. It builds on `pfs-crypto`
//! and `pfs-wire` and performs no I/O: time and randomness are passed in.
#![forbid(unsafe_code)]
