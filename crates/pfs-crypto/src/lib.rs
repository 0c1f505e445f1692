//! # pfs-crypto: the primitives of the Status 1:1 protocol (level 0)
//!
//! This crate knows no protocol and no wire format. It offers typed keys and the
//! primitives the upper layers need, each behind a small newtype:
//!
//! * [`secp256k1`]: secret and public keys (33-byte compressed and 65-byte uncompressed
//!   SEC1 encodings), ECDH returning the 32-byte x-coordinate (as go-ethereum's
//!   `ecies.GenerateShared(…, 16, 16)`), Ethereum-style recoverable ECDSA over a
//!   Keccak-256 prehash (65 bytes `R‖S‖V`, `V ∈ {0,1}`, low-S, RFC 6979 nonces) and
//!   public-key recovery;
//! * [`x25519`]: Curve25519 Diffie-Hellman (x25519-dalek) for the specification's ratchet
//!   suite;
//! * [`hash`]: Keccak-256 (the original Keccak used by Ethereum, not SHA3-256) and SHA-256;
//! * [`kdf`]: HMAC-SHA256 and HKDF-SHA256 (RustCrypto `hmac`/`hkdf`: on the protocol's
//!   short inputs ring's per-call setup cost more than the hashing) and PBKDF2-HMAC-SHA256
//!   (ring), with constant-time tag verification; [`kdf_cached`] for the per-message KDFs;
//! * [`cipher`]: AES-256-CTR and AES-128-CTR (RustCrypto `aes` + `ctr`, since ring has no raw
//!   CTR mode) and AES-256-GCM (ring);
//! * [`rand`]: the injectable [`RandomSource`] trait object, so tests and vector replays
//!   can feed chosen keys and nonces.
//!
//! ## Optional libsecp256k1 backend
//!
//! The design's secp256k1 dependency is k256 (pure Rust), and it stays the default. The
//! opt-in cargo feature `libsecp256k1` (forwarded by the upper crates under the same name)
//! runs the expensive variable-base operations on libsecp256k1, the C library of Bitcoin
//! Core, through the `secp256k1` crate: ECDH, public-key recovery, ECDSA verification and
//! the decompression of 33-byte keys. Key generation, public-key derivation (k256's
//! precomputed base-point tables are as fast) and signing stay on k256, and so do the key
//! types. Results and errors are identical with and without the feature (shared input
//! validation, a differential property test). One caveat: libsecp256k1's secret-key type is
//! `Copy` and not zeroized on drop; the backend erases its temporaries explicitly (see
//! [`secp256k1`]), but copies the compiler may make of them are outside our control.
//!
//! Every secret type zeroizes its bytes on drop and prints as `<redacted>` in `Debug`.
//! Every constructor that takes bytes validates them and returns a typed
//! [`CryptoError`]; nothing here panics on bad input.
//!
//! ## Example
//!
//! Two parties agree on a secret with secp256k1 ECDH, derive a key with HKDF and exchange
//! an AES-256-GCM message; a signature over the Keccak-256 digest recovers the signer.
//!
//! ```
//! use pfs_crypto::{OsRandom, cipher, hash, kdf, secp256k1::SecretKey};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (alice, bob) = (
//!     SecretKey::generate(&mut OsRandom)?,
//!     SecretKey::generate(&mut OsRandom)?,
//! );
//! let shared = alice.diffie_hellman(&bob.public_key());
//! assert_eq!(shared, bob.diffie_hellman(&alice.public_key()));
//!
//! let key = kdf::hkdf_sha256_secret::<32>(&[], shared.expose(), b"example")?;
//! let sealed = cipher::aes256_gcm_seal(key.expose(), &[0; 12], b"", b"hello")?;
//! assert_eq!(
//!     cipher::aes256_gcm_open(key.expose(), &[0; 12], b"", &sealed)?,
//!     b"hello"
//! );
//!
//! let digest = hash::keccak256(&sealed);
//! let sig = alice.sign_prehash_recoverable(&digest)?;
//! assert_eq!(sig.recover(&digest)?, alice.public_key());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod cipher;
pub mod clock;
mod error;
pub mod hash;
pub mod kdf;
pub mod kdf_cached;
pub mod rand;
pub mod secp256k1;
mod secret;
pub mod x25519;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::CryptoError;
pub use rand::{OsRandom, RandomSource};
pub use secret::{SecretBytes, SecretVec};

/// Compares two byte strings in constant time (for equal lengths).
///
/// Lengths are not secret: strings of different length compare unequal at once.
///
/// ```
/// use pfs_crypto::ct_eq;
/// assert!(ct_eq(b"tag", b"tag"));
/// assert!(!ct_eq(b"tag", b"tah"));
/// assert!(!ct_eq(b"tag", b"tag2"));
/// ```
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
