//! # pfs-ratchet: the Double Ratchet (level 1)
//!
//! A pure, in-memory Double Ratchet. It knows nothing of protobufs, stores or I/O:
//! a session state goes in, a new state (or a typed error and the old state) comes out.
//! The primitives come from a suite trait with two implementations: the status-go
//! wire-compatible secp256k1 suite and the specification's X25519 suite.
//!
//! * [`Suite`] / [`suite`]: the primitives (DH, `KDF_RK`, `KDF_CK`, the AEAD, the header
//!   encoding). [`SuiteId::StatusGo`] is byte-exact with status-go (secp256k1, 33-byte
//!   compressed ratchet keys); [`SuiteId::Spec`] uses X25519 ratchet keys with the same KDF
//!   and AEAD constructions.
//! * [`RatchetState`]: one session's ratchet state. [`RatchetState::encrypt`] mutates the
//!   state; [`RatchetState::decrypt`] is atomic and pure: it reads the skipped-key store
//!   through the [`SkippedKeys`] trait and returns the new state together with the exact
//!   [`SkippedKeyChanges`] the caller must apply to its store. A failed decryption leaves
//!   nothing to apply.
//! * [`Session`]: a state plus an in-memory skipped-key store, for tests and benchmarks.
//!
//! Everything secret is zeroized on drop and redacted in `Debug`.
#![forbid(unsafe_code)]

mod error;
mod keys;
mod session;
mod skipped;
mod state;
mod suite;

pub use error::{DecryptError, RatchetError, SkippedKeysError, StateDecodeError};
pub use keys::{ChainKey, DhKeyPair, HeaderKey, MessageKey, RootKey};
pub use pfs_crypto::{RandomSource, SecretBytes, SecretVec};
pub use session::Session;
pub use skipped::{
    ConfirmMode, Decrypted, Limits, NewSkippedKey, Receipt, SkippedKeyChanges, SkippedKeys,
};
pub use state::{Encrypted, Header, RatchetState, STATE_FORMAT_VERSION};
pub use suite::{
    AEAD_INFO, KDF_RK_INFO, MIN_CIPHERTEXT_LEN, SPEC_INITIAL_CHAIN_INFO, SpecSuite, StatusGoSuite,
    Suite, SuiteId, suite, suite_for_key_len,
};
