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
//!
//! ## Example
//!
//! After X3DH both sides hold the shared secret SK; the responder (Bob) also holds the
//! signed prekey the initiator (Alice) used. Alice writes first, Bob answers.
//!
//! ```
//! use pfs_crypto::{OsRandom, secp256k1::SecretKey};
//! use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spk = SecretKey::generate(&mut OsRandom)?;
//! let spk = DhKeyPair {
//!     secret: spk.to_bytes(),
//!     public: spk.public_key().to_compressed().to_vec(),
//! };
//! let sk = SecretBytes::new([7; 32]); // from X3DH
//! let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
//! let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
//! let bob = RatchetState::new_status_go_responder(&sk, spk)?;
//! let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
//!
//! let (header, ct) = alice.encrypt(b"hi Bob", b"ad")?;
//! assert_eq!(
//!     bob.decrypt(&header, &ct, b"ad", &mut OsRandom)?.0,
//!     b"hi Bob"
//! );
//! let (header, ct) = bob.encrypt(b"hi Alice", b"ad")?;
//! assert_eq!(
//!     alice.decrypt(&header, &ct, b"ad", &mut OsRandom)?.0,
//!     b"hi Alice"
//! );
//! # Ok(())
//! # }
//! ```
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
