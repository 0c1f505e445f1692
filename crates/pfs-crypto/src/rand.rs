//! The injectable randomness source.
//!
//! Every random value the protocol needs goes through [`RandomSource`]: key pairs are
//! asked for by kind ([`RandomSource::secp256k1_secret`], [`RandomSource::x25519_secret`]),
//! other bytes (nonces, IVs, padding, installation ids) through
//! [`RandomSource::fill_bytes`]. A replaying source can therefore hand out recorded
//! private keys in order while serving nonces from a separate recorded stream, which is
//! exactly how the status-go vector files record a run.

use crate::{CryptoError, SecretBytes};

/// A source of randomness, passed around as `&mut dyn RandomSource`.
///
/// Only [`fill_bytes`](Self::fill_bytes) is required. A deterministic source for tests:
///
/// ```
/// use pfs_crypto::{CryptoError, RandomSource, secp256k1::SecretKey};
///
/// /// Hands out the same byte forever (fine for a test, never for real keys).
/// struct Fixed(u8);
/// impl RandomSource for Fixed {
///     fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
///         dest.fill(self.0);
///         Ok(())
///     }
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SecretKey::generate(&mut Fixed(0x11))?;
/// assert_eq!(key.to_bytes().expose(), &[0x11; 32]);
/// # Ok(())
/// # }
/// ```
pub trait RandomSource: Send {
    /// Fills `dest` with random bytes.
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError>;

    /// 32 bytes for a new secp256k1 secret key. Values that are not valid scalars are
    /// rejected by the caller, which asks again.
    fn secp256k1_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        let mut s = SecretBytes::zero();
        self.fill_bytes(s.expose_mut())?;
        Ok(s)
    }

    /// 32 bytes for a new X25519 secret key.
    fn x25519_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        let mut s = SecretBytes::zero();
        self.fill_bytes(s.expose_mut())?;
        Ok(s)
    }
}

/// The operating system's randomness (`getrandom`).
///
/// ```
/// use pfs_crypto::{OsRandom, RandomSource};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
/// OsRandom.fill_bytes(&mut a)?;
/// OsRandom.fill_bytes(&mut b)?;
/// assert_ne!(a, b);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        getrandom::fill(dest).map_err(|e| CryptoError::Randomness(e.to_string()))
    }
}

impl<R: RandomSource + ?Sized> RandomSource for &mut R {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        (**self).fill_bytes(dest)
    }
    fn secp256k1_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        (**self).secp256k1_secret()
    }
    fn x25519_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        (**self).x25519_secret()
    }
}

impl<R: RandomSource + ?Sized> RandomSource for Box<R> {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        (**self).fill_bytes(dest)
    }
    fn secp256k1_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        (**self).secp256k1_secret()
    }
    fn x25519_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        (**self).x25519_secret()
    }
}
