//! One newtype per key role, so a chain key cannot be passed where a root key is expected.

use core::fmt;
use pfs_crypto::SecretBytes;

macro_rules! key_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// 32 secret bytes: zeroized on drop, redacted in `Debug`, compared in constant time.
        ///
        /// ```
        #[doc = concat!("use pfs_ratchet::", stringify!($name), ";")]
        #[doc = concat!("let key = ", stringify!($name), "::from_bytes([7; 32]);")]
        /// assert_eq!(key.expose(), &[7; 32]);
        #[doc = concat!("assert_eq!(format!(\"{key:?}\"), \"", stringify!($name), "(<redacted>)\");")]
        /// ```
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(SecretBytes<32>);

        impl $name {
            /// Wraps a secret.
            ///
            /// ```
            /// use pfs_ratchet::SecretBytes;
            #[doc = concat!("use pfs_ratchet::", stringify!($name), ";")]
            #[doc = concat!("let key = ", stringify!($name), "::new(SecretBytes::new([7; 32]));")]
            #[doc = concat!("assert_eq!(key, ", stringify!($name), "::from_bytes([7; 32]));")]
            /// ```
            pub const fn new(secret: SecretBytes<32>) -> Self {
                Self(secret)
            }

            /// Copies 32 bytes (the caller's copy is not zeroized by this call).
            ///
            /// ```
            #[doc = concat!("use pfs_ratchet::", stringify!($name), ";")]
            #[doc = concat!("let a = ", stringify!($name), "::from_bytes([1; 32]);")]
            #[doc = concat!("let b = ", stringify!($name), "::from_bytes([2; 32]);")]
            /// assert_ne!(a, b);
            /// assert_eq!(a.expose(), &[1; 32]);
            /// ```
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(SecretBytes::new(bytes))
            }

            /// The secret bytes. Handle with care.
            ///
            /// ```
            #[doc = concat!("use pfs_ratchet::", stringify!($name), ";")]
            /// let mut bytes = [0u8; 32];
            /// bytes[0] = 0xab;
            #[doc = concat!("let key = ", stringify!($name), "::from_bytes(bytes);")]
            /// assert_eq!(key.expose()[0], 0xab);
            /// ```
            pub const fn expose(&self) -> &[u8; 32] {
                self.0.expose()
            }

            /// The inner secret.
            ///
            /// ```
            /// use pfs_ratchet::SecretBytes;
            #[doc = concat!("use pfs_ratchet::", stringify!($name), ";")]
            #[doc = concat!("let key = ", stringify!($name), "::from_bytes([3; 32]);")]
            /// assert_eq!(key.secret(), &SecretBytes::new([3; 32]));
            /// ```
            pub const fn secret(&self) -> &SecretBytes<32> {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

key_newtype!(
    /// The root key of the DH ratchet.
    RootKey
);
key_newtype!(
    /// A sending or receiving chain key of the symmetric ratchet.
    ChainKey
);
key_newtype!(
    /// A message key: the input of the AEAD for exactly one message.
    MessageKey
);
key_newtype!(
    /// The third output of `KDF_RK`. Header encryption is not used by status-go, so nothing
    /// consumes it, but it is part of the recorded vectors.
    HeaderKey
);

/// A ratchet key pair: a 32-byte secret (zeroized on drop) and the public key as it
/// appears on the wire (33-byte compressed secp256k1, or 32-byte X25519).
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_ratchet::{DhKeyPair, SuiteId, suite};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (a, b) = (SecretKey::generate(&mut OsRandom)?, SecretKey::generate(&mut OsRandom)?);
/// let pair = |k: &SecretKey| DhKeyPair {
///     secret: k.to_bytes(),
///     public: k.public_key().to_compressed().to_vec(),
/// };
/// let s = suite(SuiteId::StatusGo);
/// // The status-go suite's DH is secp256k1 ECDH (the x-coordinate), both ways.
/// let ab = s.dh(&pair(&a), &pair(&b).public)?;
/// assert_eq!(ab, s.dh(&pair(&b), &pair(&a).public)?);
/// assert_eq!(ab, a.diffie_hellman(&b.public_key()));
/// assert!(!format!("{:?}", pair(&a)).contains(&hex::encode(a.to_bytes().expose())));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DhKeyPair {
    /// The secret scalar (secp256k1, big-endian) or X25519 secret bytes.
    pub secret: SecretBytes<32>,
    /// The public key as on the wire.
    pub public: Vec<u8>,
}

impl fmt::Debug for DhKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DhKeyPair")
            .field("secret", &"<redacted>")
            .field("public", &HexBytes(&self.public))
            .finish()
    }
}

/// Lowercase-hex `Debug` of a public byte string.
pub(crate) struct HexBytes<'a>(pub &'a [u8]);

impl fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
