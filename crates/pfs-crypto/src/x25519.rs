//! X25519 Diffie-Hellman (x25519-dalek) for the specification's ratchet suite.

use crate::{CryptoError, RandomSource, SecretBytes};
use core::fmt;

/// Length of an X25519 public key.
pub const PUBLIC_LEN: usize = 32;

/// An X25519 secret key (clamped on use). Zeroized on drop.
#[derive(Clone)]
pub struct SecretKey(x25519_dalek::StaticSecret);

impl SecretKey {
    /// Takes 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr = SecretBytes::<32>::from_slice("X25519 secret key", bytes)?;
        Ok(Self(x25519_dalek::StaticSecret::from(*arr.expose())))
    }

    /// Generates a key from `rng`.
    pub fn generate(rng: &mut dyn RandomSource) -> Result<Self, CryptoError> {
        let bytes = rng.x25519_secret()?;
        Ok(Self(x25519_dalek::StaticSecret::from(*bytes.expose())))
    }

    /// The 32 secret bytes as stored (before clamping).
    pub fn to_bytes(&self) -> SecretBytes<32> {
        SecretBytes::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// X25519. A non-contributory result (all zero, from a low-order point) is an error.
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
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; PUBLIC_LEN]);

impl PublicKey {
    /// Takes exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::InvalidLength {
            what: "X25519 public key",
            expected: PUBLIC_LEN,
            actual: bytes.len(),
        })?;
        Ok(Self(arr))
    }
    /// The 32 bytes.
    pub const fn to_bytes(&self) -> [u8; PUBLIC_LEN] {
        self.0
    }
    /// The 32 bytes, borrowed.
    pub const fn as_bytes(&self) -> &[u8; PUBLIC_LEN] {
        &self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "x25519::PublicKey({})", hex::encode(self.0))
    }
}
