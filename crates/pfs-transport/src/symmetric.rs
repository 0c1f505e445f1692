//! Whisper's symmetric encryption: AES-256-GCM, no associated data, with the 12-byte
//! nonce appended after the tag (`ciphertext ‖ tag(16) ‖ nonce(12)`), and keys derived
//! from passwords with PBKDF2.

use pfs_crypto::cipher::{
    GCM_NONCE_LEN, GCM_TAG_LEN, gcm_open_nonce_appended, gcm_seal_nonce_appended,
};
use pfs_crypto::{CryptoError, RandomSource, SecretBytes};

/// Bytes added by symmetric encryption: tag (16) and nonce (12).
pub const SYMMETRIC_OVERHEAD: usize = GCM_TAG_LEN + GCM_NONCE_LEN;
/// PBKDF2 iteration count of whisper's `AddSymKeyFromPassword` (really 65 356).
pub const PBKDF2_ITERATIONS: u32 = 65356;

/// Errors of symmetric encryption and decryption.
///
/// ```
/// use pfs_transport::symmetric::{self, SymmetricError};
/// use pfs_transport::SymKey;
///
/// assert_eq!(SymKey::from_bytes(&[1; 16]), Err(SymmetricError::KeyLength(16)));
/// let key = SymKey::from_bytes(&[1; 32])?;
/// // fewer bytes than a tag (16) and a nonce (12)
/// assert_eq!(symmetric::decrypt(&key, &[0; 27]), Err(SymmetricError::TooShort(27)));
/// assert_eq!(symmetric::decrypt(&key, &[0; 28]), Err(SymmetricError::AuthenticationFailed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymmetricError {
    /// The key is not 32 bytes long.
    #[error("symmetric key must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// The key is all zero (whisper refuses it).
    #[error("symmetric key is all zero")]
    ZeroKey,
    /// The random source produced an all-zero nonce.
    #[error("random GCM nonce is all zero")]
    ZeroNonce,
    /// The random source failed.
    #[error("randomness: {0}")]
    Randomness(CryptoError),
    /// The data is too short to hold a tag and a nonce.
    #[error("symmetric data of {0} bytes is shorter than tag and nonce (28 bytes)")]
    TooShort(usize),
    /// The GCM tag did not verify (wrong key or tampered data).
    #[error("symmetric decryption failed: wrong key or tampered data")]
    AuthenticationFailed,
    /// The key derivation failed.
    #[error("key derivation: {0}")]
    Kdf(CryptoError),
}

/// A 32-byte AES-256-GCM key, never all zero. Zeroized on drop, redacted in `Debug`.
///
/// ```
/// use pfs_transport::SymKey;
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// assert_eq!(key.expose(), &[3; 32]);
/// // Debug never prints the key
/// assert!(!format!("{key:?}").contains("3, 3"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SymKey(SecretBytes<32>);

impl SymKey {
    /// Takes a 32-byte key, rejecting the all-zero key.
    ///
    /// ```
    /// use pfs_transport::SymKey;
    /// use pfs_transport::symmetric::SymmetricError;
    ///
    /// assert_eq!(SymKey::from_bytes(&[9; 32])?.expose(), &[9; 32]);
    /// assert_eq!(SymKey::from_bytes(&[9; 33]), Err(SymmetricError::KeyLength(33)));
    /// assert_eq!(SymKey::from_bytes(&[0; 32]), Err(SymmetricError::ZeroKey));
    /// # Ok::<(), SymmetricError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SymmetricError> {
        let key = SecretBytes::<32>::from_slice("symmetric key", bytes)
            .map_err(|_| SymmetricError::KeyLength(bytes.len()))?;
        if key.is_zero() {
            return Err(SymmetricError::ZeroKey);
        }
        Ok(Self(key))
    }

    /// whisper `AddSymKeyFromPassword`: PBKDF2-HMAC-SHA256 of the UTF-8 password with an
    /// empty salt and 65 356 iterations, 32 bytes.
    ///
    /// ```
    /// use pfs_transport::SymKey;
    ///
    /// let key = SymKey::from_password("status")?;
    /// assert_eq!(key, SymKey::from_password_bytes(b"status")?);
    /// assert_ne!(key, SymKey::from_password("Status")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_password(password: &str) -> Result<Self, SymmetricError> {
        Self::from_password_bytes(password.as_bytes())
    }

    /// As [`SymKey::from_password`], for a password given as bytes.
    ///
    /// ```
    /// use pfs_transport::SymKey;
    ///
    /// // not necessarily UTF-8
    /// let key = SymKey::from_password_bytes(&[0xff, 0xfe])?;
    /// assert_ne!(key, SymKey::from_password_bytes(&[0xff])?);
    /// # Ok::<(), pfs_transport::symmetric::SymmetricError>(())
    /// ```
    pub fn from_password_bytes(password: &[u8]) -> Result<Self, SymmetricError> {
        let mut key = SecretBytes::<32>::zero();
        pfs_crypto::kdf::pbkdf2_hmac_sha256(password, &[], PBKDF2_ITERATIONS, key.expose_mut())
            .map_err(SymmetricError::Kdf)?;
        if key.is_zero() {
            return Err(SymmetricError::ZeroKey);
        }
        Ok(Self(key))
    }

    /// The key bytes. Handle with care.
    ///
    /// ```
    /// use pfs_transport::SymKey;
    ///
    /// let key = SymKey::from_bytes(&[0x42; 32])?;
    /// assert_eq!(key.expose().len(), 32);
    /// assert_eq!(key.expose()[0], 0x42);
    /// # Ok::<(), pfs_transport::symmetric::SymmetricError>(())
    /// ```
    pub const fn expose(&self) -> &[u8; 32] {
        self.0.expose()
    }
}

/// Encrypts `plaintext`, drawing a 12-byte nonce from `rng` (an all-zero nonce is refused).
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_crypto::OsRandom;
/// use pfs_transport::symmetric::{self, SYMMETRIC_OVERHEAD, SymmetricError};
/// use pfs_transport::SymKey;
///
/// assert_eq!(SymKey::from_bytes(&[1; 31]), Err(SymmetricError::KeyLength(31)));
/// assert_eq!(SymKey::from_bytes(&[0; 32]), Err(SymmetricError::ZeroKey));
/// let key = SymKey::from_bytes(&[1; 32])?;
/// let ct = symmetric::encrypt(&key, b"secret", &mut OsRandom)?;
/// assert_eq!(ct.len(), 6 + SYMMETRIC_OVERHEAD);
/// assert_eq!(symmetric::decrypt(&key, &ct)?, b"secret");
/// let other = SymKey::from_bytes(&[2; 32])?;
/// assert_eq!(symmetric::decrypt(&other, &ct), Err(SymmetricError::AuthenticationFailed));
/// # Ok(())
/// # }
/// ```
pub fn encrypt(
    key: &SymKey,
    plaintext: &[u8],
    rng: &mut dyn RandomSource,
) -> Result<Vec<u8>, SymmetricError> {
    let mut nonce = [0u8; GCM_NONCE_LEN];
    rng.fill_bytes(&mut nonce)
        .map_err(SymmetricError::Randomness)?;
    if nonce.iter().all(|b| *b == 0) {
        return Err(SymmetricError::ZeroNonce);
    }
    encrypt_with_nonce(key, &nonce, plaintext)
}

/// Encrypts with a given nonce: `AES-256-GCM(key, nonce, plaintext) ‖ nonce`.
///
/// ```
/// use pfs_transport::{SymKey, symmetric};
///
/// let key = SymKey::from_bytes(&[1; 32])?;
/// let ct = symmetric::encrypt_with_nonce(&key, &[7; 12], b"abc")?;
/// // ciphertext ‖ tag(16) ‖ nonce(12)
/// assert_eq!(ct.len(), 3 + 16 + 12);
/// assert_eq!(&ct[ct.len() - 12..], &[7; 12]);
/// assert_eq!(symmetric::decrypt(&key, &ct)?, b"abc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encrypt_with_nonce(
    key: &SymKey,
    nonce: &[u8; GCM_NONCE_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, SymmetricError> {
    gcm_seal_nonce_appended(key.expose(), nonce, plaintext)
        .map_err(|_| SymmetricError::AuthenticationFailed)
}

/// Decrypts `ciphertext ‖ tag ‖ nonce`.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::symmetric::{self, SymmetricError};
/// use pfs_transport::SymKey;
///
/// let key = SymKey::from_bytes(&[1; 32])?;
/// let mut ct = symmetric::encrypt(&key, b"secret", &mut OsRandom)?;
/// assert_eq!(symmetric::decrypt(&key, &ct)?, b"secret");
/// ct[0] ^= 1;
/// assert_eq!(symmetric::decrypt(&key, &ct), Err(SymmetricError::AuthenticationFailed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decrypt(key: &SymKey, data: &[u8]) -> Result<Vec<u8>, SymmetricError> {
    if data.len() < SYMMETRIC_OVERHEAD {
        return Err(SymmetricError::TooShort(data.len()));
    }
    gcm_open_nonce_appended(key.expose(), data).map_err(|_| SymmetricError::AuthenticationFailed)
}
