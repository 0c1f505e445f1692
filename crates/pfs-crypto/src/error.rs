/// Errors of the primitives. Each names what was wrong with the input.
///
/// A caller gets the reason from the operation that refused its input:
///
/// ```
/// use pfs_crypto::CryptoError;
/// use pfs_crypto::secp256k1::{PublicKey, SecretKey};
///
/// let short = PublicKey::from_compressed(&[2; 32]);
/// assert!(matches!(short, Err(CryptoError::InvalidLength { expected: 33, actual: 32, .. })));
/// assert_eq!(SecretKey::from_bytes(&[0; 32]), Err(CryptoError::InvalidSecretKey));
/// // x = 5 is not the x-coordinate of a point on secp256k1 (5^3 + 7 = 132 is not a square mod p)
/// let mut bytes = [0u8; 33];
/// bytes[0] = 2;
/// bytes[32] = 5;
/// assert!(matches!(PublicKey::from_compressed(&bytes), Err(CryptoError::InvalidPublicKey(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A byte string had the wrong length for what it encodes.
    #[error("invalid length for {what}: expected {expected} bytes, got {actual}")]
    InvalidLength {
        /// What was being decoded.
        what: &'static str,
        /// The expected length (or the minimum length).
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// A public key was not a valid encoding of a point on the curve (or was the identity).
    #[error("invalid {0} public key: not a point on the curve")]
    InvalidPublicKey(&'static str),
    /// A secret scalar was zero or not below the group order.
    #[error("invalid secret key: zero or not below the group order")]
    InvalidSecretKey,
    /// A signature could not be parsed (bad recovery id, zero or out-of-range scalars).
    #[error("malformed signature")]
    MalformedSignature,
    /// No public key could be recovered from the signature and digest.
    #[error("signature recovery failed")]
    RecoveryFailed,
    /// A MAC or AEAD tag did not verify: the data was tampered with or the key is wrong.
    #[error("authentication failed: wrong key or tampered data")]
    AuthenticationFailed,
    /// The Diffie-Hellman output was all zero (a low-order or non-contributory key).
    #[error("non-contributory Diffie-Hellman key")]
    NonContributory,
    /// A key derivation was asked for more output than it can produce.
    #[error("key derivation output length {0} is out of range")]
    KdfLength(usize),
    /// The randomness source failed.
    #[error("randomness source failed: {0}")]
    Randomness(String),
    /// A randomness source that replays recorded values ran out of them.
    #[error("recorded randomness exhausted: {0}")]
    RandomnessExhausted(String),
}
