//! X25519 Diffie-Hellman (x25519-dalek) for the specification's ratchet suite.
//!
//! ```
//! use pfs_crypto::{OsRandom, x25519::SecretKey};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let alice = SecretKey::generate(&mut OsRandom)?;
//! let bob = SecretKey::generate(&mut OsRandom)?;
//! let k1 = alice.diffie_hellman(&bob.public_key())?;
//! let k2 = bob.diffie_hellman(&alice.public_key())?;
//! assert_eq!(k1, k2);
//! # Ok(())
//! # }
//! ```

use crate::{CryptoError, RandomSource, SecretBytes};
use core::fmt;

/// Length of an X25519 public key.
pub const PUBLIC_LEN: usize = 32;

/// An X25519 secret key (clamped on use). Zeroized on drop.
///
/// ```
/// use pfs_crypto::{OsRandom, x25519::SecretKey};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretKey::generate(&mut OsRandom)?;
/// let again = SecretKey::from_bytes(sk.to_bytes().expose())?;
/// assert_eq!(again.public_key(), sk.public_key());
/// let secret_hex = hex::encode(sk.to_bytes().expose());
/// assert!(!format!("{sk:?}").contains(&secret_hex)); // never the secret
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SecretKey(x25519_dalek::StaticSecret);

impl SecretKey {
    /// Takes 32 bytes.
    ///
    /// ```
    /// use pfs_crypto::x25519::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // RFC 7748, section 6.1: Alice's key pair.
    /// let sk = SecretKey::from_bytes(&hex::decode(
    ///     "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    /// )?)?;
    /// assert_eq!(
    ///     hex::encode(sk.public_key().as_bytes()),
    ///     "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    /// );
    /// assert!(SecretKey::from_bytes(&[0; 31]).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr = SecretBytes::<32>::from_slice("X25519 secret key", bytes)?;
        Ok(Self(x25519_dalek::StaticSecret::from(*arr.expose())))
    }

    /// Generates a key from `rng`.
    ///
    /// The key is the source's 32 bytes; here a source that replays RFC 7748's Alice secret
    /// (section 6.1):
    ///
    /// ```
    /// use pfs_crypto::{CryptoError, RandomSource, x25519::SecretKey};
    ///
    /// struct Replay(Vec<u8>);
    /// impl RandomSource for Replay {
    ///     fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
    ///         dest.copy_from_slice(&self.0);
    ///         Ok(())
    ///     }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let alice = hex::decode(
    ///     "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    /// )?;
    /// let sk = SecretKey::generate(&mut Replay(alice))?;
    /// assert_eq!(
    ///     hex::encode(sk.public_key().as_bytes()),
    ///     "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn generate(rng: &mut dyn RandomSource) -> Result<Self, CryptoError> {
        let bytes = rng.x25519_secret()?;
        Ok(Self(x25519_dalek::StaticSecret::from(*bytes.expose())))
    }

    /// The 32 secret bytes as stored (before clamping).
    ///
    /// The bytes as given, not clamped:
    ///
    /// ```
    /// use pfs_crypto::x25519::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretKey::from_bytes(&[0xff; 32])?;
    /// // clamping would clear bits of bytes 0 and 31
    /// assert_eq!(sk.to_bytes().expose(), &[0xff; 32]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_bytes(&self) -> SecretBytes<32> {
        SecretBytes::new(self.0.to_bytes())
    }

    /// The matching public key.
    ///
    /// RFC 7748, section 6.1: Alice's public key.
    ///
    /// ```
    /// use pfs_crypto::x25519::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretKey::from_bytes(&hex::decode(
    ///     "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    /// )?)?;
    /// assert_eq!(
    ///     hex::encode(sk.public_key().to_bytes()),
    ///     "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn public_key(&self) -> PublicKey {
        PublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// X25519. A non-contributory result (all zero, from a low-order point) is an error.
    ///
    /// ```
    /// use pfs_crypto::CryptoError;
    /// use pfs_crypto::x25519::{PublicKey, SecretKey};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // RFC 7748, section 6.1: Alice's secret with Bob's public key.
    /// let alice = SecretKey::from_bytes(&hex::decode(
    ///     "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    /// )?)?;
    /// let bob = PublicKey::from_bytes(&hex::decode(
    ///     "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
    /// )?)?;
    /// assert_eq!(
    ///     hex::encode(alice.diffie_hellman(&bob)?.expose()),
    ///     "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    /// );
    /// // The all-zero point has low order: the result would be all zero.
    /// let low_order = PublicKey::from_bytes(&[0; 32])?;
    /// assert_eq!(
    ///     alice.diffie_hellman(&low_order),
    ///     Err(CryptoError::NonContributory)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn diffie_hellman(&self, their: &PublicKey) -> Result<SecretBytes<32>, CryptoError> {
        let shared = self
            .0
            .diffie_hellman(&x25519_dalek::PublicKey::from(their.0));
        if !shared.was_contributory() {
            return Err(CryptoError::NonContributory);
        }
        Ok(SecretBytes::new(shared.to_bytes()))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("x25519::SecretKey(<redacted>)")
    }
}

/// An X25519 public key (32 bytes, any value accepted as RFC 7748 says).
///
/// Any 32 bytes are a key; another length is refused:
///
/// ```
/// use pfs_crypto::{CryptoError, x25519::PublicKey};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pk = PublicKey::from_bytes(&[0xff; 32])?;
/// assert_eq!(pk, PublicKey::from_bytes(&pk.to_bytes())?);
/// assert!(matches!(PublicKey::from_bytes(&[0; 31]), Err(CryptoError::InvalidLength { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; PUBLIC_LEN]);

impl PublicKey {
    /// Takes exactly 32 bytes.
    ///
    /// ```
    /// use pfs_crypto::{CryptoError, x25519::PublicKey};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pk = PublicKey::from_bytes(&[9; 32])?;
    /// assert_eq!(pk.to_bytes(), [9; 32]);
    /// assert!(matches!(
    ///     PublicKey::from_bytes(&[9; 33]),
    ///     Err(CryptoError::InvalidLength {
    ///         expected: 32,
    ///         actual: 33,
    ///         ..
    ///     })
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::InvalidLength {
            what: "X25519 public key",
            expected: PUBLIC_LEN,
            actual: bytes.len(),
        })?;
        Ok(Self(arr))
    }
    /// The 32 bytes.
    ///
    /// ```
    /// use pfs_crypto::x25519::PublicKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(PublicKey::from_bytes(&[9; 32])?.to_bytes(), [9; 32]);
    /// # Ok(())
    /// # }
    /// ```
    pub const fn to_bytes(&self) -> [u8; PUBLIC_LEN] {
        self.0
    }
    /// The 32 bytes, borrowed.
    ///
    /// ```
    /// use pfs_crypto::x25519::PublicKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pk = PublicKey::from_bytes(&[9; 32])?;
    /// assert_eq!(pk.as_bytes(), &pk.to_bytes());
    /// # Ok(())
    /// # }
    /// ```
    pub const fn as_bytes(&self) -> &[u8; PUBLIC_LEN] {
        &self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "x25519::PublicKey({})", hex::encode(self.0))
    }
}
