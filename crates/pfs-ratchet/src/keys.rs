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
            pub const fn new(secret: SecretBytes<32>) -> Self {
                Self(secret)
            }

            /// Copies 32 bytes (the caller's copy is not zeroized by this call).
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(SecretBytes::new(bytes))
            }

            /// The secret bytes. Handle with care.
            pub const fn expose(&self) -> &[u8; 32] {
                self.0.expose()
            }

            /// The inner secret.
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
