//! Public keys by role, in the 33-byte compressed form the wire and the stores carry.
//!
//! An [`IdentityKey`], a [`SignedPreKey`] and an [`EphemeralKey`] are each the compressed
//! SEC1 encoding of a secp256k1 public key, but of a different role: one cannot be passed
//! where another is expected (the stores' records, session keys and the engine's lookups
//! use these types instead of bare `[u8; 33]`). They hold bytes, not a parsed point: a
//! value read back from a store is not decompressed (a square root per key) until it is
//! used, with [`IdentityKey::to_public_key`] and its siblings, which check it is on the
//! curve. Values built from a [`PublicKey`] are valid by construction.
//!
//! ```
//! use pfs_crypto::secp256k1::SecretKey;
//! use pfs_x3dh::{IdentityKey, SignedPreKey};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pk = SecretKey::from_bytes(&[7; 32])?.public_key();
//! let identity = IdentityKey::from(&pk);
//! assert_eq!(identity.as_bytes(), &pk.to_compressed());
//! assert_eq!(identity.to_public_key()?, pk);
//!
//! // The same bytes in another role are another type: comparing them needs a conversion.
//! let spk = SignedPreKey::from_bytes(*identity.as_bytes());
//! assert_eq!(spk.as_bytes(), identity.as_bytes());
//! # Ok(())
//! # }
//! ```

use core::fmt;

use pfs_crypto::CryptoError;
use pfs_crypto::secp256k1::PublicKey;

/// Length of the compressed encoding every role type holds.
pub const COMPRESSED_KEY_LEN: usize = 33;

macro_rules! role_key {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; COMPRESSED_KEY_LEN]);

        impl $name {
            /// Wraps 33 bytes as they were stored or received (not checked to be on the
            /// curve; [`Self::to_public_key`] checks).
            pub const fn from_bytes(bytes: [u8; COMPRESSED_KEY_LEN]) -> Self {
                Self(bytes)
            }

            /// Wraps a slice of exactly 33 bytes.
            ///
            /// # Errors
            /// [`CryptoError::InvalidLength`] for any other length.
            ///
            #[doc = concat!("```\nuse pfs_x3dh::", stringify!($name), ";\n")]
            /// // G of secp256k1, compressed (SEC 2, section 2.4.1)
            /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
            #[doc = concat!("let key = ", stringify!($name), "::from_slice(&g)?;")]
            /// assert_eq!(key.as_bytes().as_slice(), g.as_slice());
            /// assert_eq!(key.to_bytes().to_vec(), g);
            /// assert_eq!(key.to_public_key()?.to_compressed().to_vec(), g);
            #[doc = concat!("assert!(", stringify!($name), "::from_slice(&g[1..]).is_err());")]
            /// let mut off = [0u8; 33];
            /// off[0] = 2;
            /// off[32] = 5; // x = 5: x³ + 7 = 132 is not a square mod p
            #[doc = concat!("assert!(", stringify!($name), "::from_bytes(off).to_public_key().is_err());")]
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
                bytes
                    .try_into()
                    .map(Self)
                    .map_err(|_| CryptoError::InvalidLength {
                        what: $what,
                        expected: COMPRESSED_KEY_LEN,
                        actual: bytes.len(),
                    })
            }

            /// The compressed encoding.
            pub const fn as_bytes(&self) -> &[u8; COMPRESSED_KEY_LEN] {
                &self.0
            }

            /// The compressed encoding, by value.
            pub const fn to_bytes(self) -> [u8; COMPRESSED_KEY_LEN] {
                self.0
            }

            /// Parses the key (decompresses the point).
            ///
            /// # Errors
            /// [`CryptoError::InvalidPublicKey`] when the bytes are not a point of
            /// secp256k1 in compressed form.
            pub fn to_public_key(&self) -> Result<PublicKey, CryptoError> {
                PublicKey::from_sec1(&self.0)
            }
        }

        impl From<&PublicKey> for $name {
            fn from(pk: &PublicKey) -> Self {
                Self(pk.to_compressed())
            }
        }

        impl TryFrom<&[u8]> for $name {
            type Error = CryptoError;
            fn try_from(bytes: &[u8]) -> Result<Self, CryptoError> {
                Self::from_slice(bytes)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl PartialEq<[u8; COMPRESSED_KEY_LEN]> for $name {
            fn eq(&self, other: &[u8; COMPRESSED_KEY_LEN]) -> bool {
                &self.0 == other
            }
        }

        /// Public data: the whole key in hex.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }
    };
}

role_key!(
    /// The public identity key of an account (its chat key), compressed.
    ///
    /// ```
    /// use pfs_crypto::CryptoError;
    /// use pfs_x3dh::IdentityKey;
    /// // The generator G of secp256k1 (SEC 2, section 2.4.1) as a key.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let key = IdentityKey::from_slice(&g)?;
    /// assert_eq!(key.to_public_key()?.to_compressed().as_slice(), g.as_slice());
    /// assert!(matches!(
    ///     IdentityKey::from_slice(&g[..32]),
    ///     Err(CryptoError::InvalidLength { actual: 32, .. })
    /// ));
    /// // 33 bytes that are no point: wrapped, refused when parsed.
    /// let mut bad = [0u8; 33];
    /// bad[0] = 5;
    /// assert!(IdentityKey::from_bytes(bad).to_public_key().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    IdentityKey,
    "identity key"
);

role_key!(
    /// The public half of a signed prekey, compressed: also its id on the wire
    /// (`X3DHHeader.id`, `DRHeader.id`) and the key a session is rooted in.
    ///
    /// ```
    /// use pfs_crypto::secp256k1::SecretKey;
    /// use pfs_x3dh::{SignedPreKey, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::new(SecretKey::from_bytes(&[3; 32])?, 1, 0);
    /// let public = SignedPreKey::from(spk.public());
    /// assert_eq!(public.to_bytes(), spk.id());
    /// assert_eq!(SignedPreKey::try_from(&spk.id()[..])?, public);
    /// # Ok(())
    /// # }
    /// ```
    SignedPreKey,
    "signed prekey"
);

role_key!(
    /// The public half of an X3DH ephemeral key, compressed, as repeated in message
    /// headers until the peer answers.
    ///
    /// ```
    /// use pfs_crypto::secp256k1::SecretKey;
    /// use pfs_x3dh::{EphemeralKey, EphemeralKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pair = EphemeralKeyPair::from_secret(SecretKey::from_bytes(&[9; 32])?);
    /// let key = EphemeralKey::from(pair.public());
    /// assert_eq!(&key.to_public_key()?, pair.public());
    /// assert!(format!("{key:?}").starts_with("EphemeralKey("));
    /// # Ok(())
    /// # }
    /// ```
    EphemeralKey,
    "X3DH ephemeral key"
);

#[cfg(test)]
mod tests {
    use super::*;
    use pfs_crypto::secp256k1::SecretKey;

    #[test]
    fn every_length_but_33_is_refused() {
        for len in [0usize, 1, 32, 34, 65] {
            let v = vec![2u8; len];
            assert!(matches!(
                SignedPreKey::from_slice(&v),
                Err(CryptoError::InvalidLength { actual, .. }) if actual == len
            ));
            assert!(EphemeralKey::try_from(v.as_slice()).is_err());
        }
    }

    #[test]
    fn round_trips_through_a_parsed_key() {
        let pk = SecretKey::from_bytes(&[0x11; 32]).unwrap().public_key();
        let e = EphemeralKey::from(&pk);
        assert_eq!(e.to_public_key().ok(), Some(pk));
    }
}
