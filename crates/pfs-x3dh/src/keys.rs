//! Key-role newtypes: identity, signed prekey, ephemeral, and the installation id.
//!
//! Every role wraps a `pfs_crypto` secp256k1 key pair so that an identity key cannot be
//! passed where a signed prekey is expected. Secrets zeroize on drop (through
//! `pfs_crypto::secp256k1::SecretKey`) and never appear in `Debug` output.

use core::fmt;

use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{CryptoError, RandomSource};

/// Length of a compressed secp256k1 public key, which is also the length of a signed
/// prekey id on the wire (`X3DHHeader.id`, `DRHeader.id`).
pub const SPK_ID_LEN: usize = 33;

/// The long-term identity key of an account (the "chat key"): a secp256k1 key pair.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::IdentityKeyPair;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let id = IdentityKeyPair::generate(&mut OsRandom)?;
/// assert_eq!(id.public(), &id.secret().public_key());
/// let secret_hex = hex::encode(id.secret().to_bytes().expose());
/// assert!(!format!("{id:?}").contains(&secret_hex)); // the secret is redacted
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityKeyPair {
    secret: SecretKey,
    public: PublicKey,
}

impl IdentityKeyPair {
    /// Wraps a secret key and derives its public key.
    ///
    /// ```
    /// use pfs_crypto::secp256k1::SecretKey;
    /// use pfs_x3dh::IdentityKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut one = [0u8; 32];
    /// one[31] = 1;
    /// let id = IdentityKeyPair::from_secret(SecretKey::from_bytes(&one)?);
    /// // The secret key 1 has the generator G as its public key (SEC 2).
    /// assert_eq!(
    ///     hex::encode(id.public().as_compressed()),
    ///     "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_secret(secret: SecretKey) -> Self {
        let public = secret.public_key();
        Self { secret, public }
    }

    /// Parses a 32-byte big-endian secret scalar.
    ///
    /// ```
    /// use pfs_x3dh::IdentityKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut one = [0u8; 32];
    /// one[31] = 1;
    /// let id = IdentityKeyPair::from_bytes(&one)?;
    /// // The secret key 1 has the generator G as its public key.
    /// assert_eq!(
    ///     hex::encode(id.public().to_compressed()),
    ///     "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    /// );
    /// assert!(IdentityKeyPair::from_bytes(&[0; 32]).is_err());
    /// assert!(!format!("{id:?}").contains(&hex::encode(one))); // the secret is redacted
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        SecretKey::from_bytes(bytes).map(Self::from_secret)
    }

    /// Generates a fresh identity from `rng` (one `secp256k1_secret` draw).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::IdentityKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let id = IdentityKeyPair::generate(&mut OsRandom)?;
    /// assert_eq!(id.public(), &id.secret().public_key());
    /// assert_ne!(IdentityKeyPair::generate(&mut OsRandom)?, id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn generate(rng: &mut dyn RandomSource) -> Result<Self, CryptoError> {
        SecretKey::generate(rng).map(Self::from_secret)
    }

    /// The secret key.
    ///
    /// ```
    /// use pfs_x3dh::IdentityKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let id = IdentityKeyPair::from_bytes(&[0x42; 32])?;
    /// assert_eq!(id.secret().to_bytes().expose(), &[0x42; 32]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The public identity key.
    ///
    /// ```
    /// use pfs_x3dh::IdentityKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut one = [0u8; 32];
    /// one[31] = 1;
    /// let id = IdentityKeyPair::from_bytes(&one)?;
    /// assert_eq!(
    ///     hex::encode(id.public().as_compressed()),
    ///     "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    /// ); // G
    /// # Ok(())
    /// # }
    /// ```
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A signed prekey of one installation, with its version (1 for the first, +1 at every
/// rotation) and the time it was generated (nanoseconds since the Unix epoch).
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::SignedPreKeyPair;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 3, 1_700_000_000_000_000_000)?;
/// assert_eq!(spk.version(), 3);
/// let secret_hex = hex::encode(spk.secret().to_bytes().expose());
/// assert!(!format!("{spk:?}").contains(&secret_hex)); // the secret is redacted
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SignedPreKeyPair {
    secret: SecretKey,
    public: PublicKey,
    version: u32,
    created_ns: i64,
}

impl SignedPreKeyPair {
    /// Wraps an existing secret key (e.g. loaded from the store).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::SignedPreKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A key saved by a store comes back as it was.
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 2, 1_700_000_000_000_000_000)?;
    /// let loaded = SignedPreKeyPair::new(spk.secret().clone(), spk.version(), spk.created_ns());
    /// assert_eq!(loaded, spk);
    /// assert_eq!(loaded.id(), spk.id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(secret: SecretKey, version: u32, created_ns: i64) -> Self {
        let public = secret.public_key();
        Self {
            secret,
            public,
            version,
            created_ns,
        }
    }

    /// Generates a new signed prekey from `rng` (one `secp256k1_secret` draw), created at
    /// `now_ns`.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BUNDLE_REFRESH_INTERVAL_NS, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let now = 1_700_000_000_000_000_000;
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, now)?;
    /// assert_eq!((spk.version(), spk.created_ns()), (1, now));
    /// // Its wire id is its compressed public key.
    /// assert_eq!(spk.id(), spk.public().to_compressed());
    /// assert!(!spk.needs_rotation(now + BUNDLE_REFRESH_INTERVAL_NS));
    /// assert!(spk.needs_rotation(now + BUNDLE_REFRESH_INTERVAL_NS + 1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn generate(
        rng: &mut dyn RandomSource,
        version: u32,
        now_ns: i64,
    ) -> Result<Self, CryptoError> {
        Ok(Self::new(SecretKey::generate(rng)?, version, now_ns))
    }

    /// The secret key.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::SignedPreKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 1_700_000_000_000_000_000)?;
    /// assert_eq!(spk.secret().public_key(), *spk.public());
    /// # Ok(())
    /// # }
    /// ```
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The public key.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::SignedPreKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 1_700_000_000_000_000_000)?;
    /// assert_eq!(spk.public(), &spk.secret().public_key());
    /// assert_eq!(spk.public().to_compressed(), spk.id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The version advertised in bundles.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::SignedPreKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 1_700_000_000_000_000_000)?;
    /// let rotated = SignedPreKeyPair::generate(&mut OsRandom, spk.version() + 1, 0)?;
    /// assert_eq!((spk.version(), rotated.version()), (1, 2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn version(&self) -> u32 {
        self.version
    }

    /// When the key was generated (ns since the epoch).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::SignedPreKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 1_700_000_000_000_000_000)?;
    /// assert_eq!(spk.created_ns(), 1_700_000_000_000_000_000);
    /// # Ok(())
    /// # }
    /// ```
    pub fn created_ns(&self) -> i64 {
        self.created_ns
    }

    /// The id that names this key on the wire: its 33-byte compressed encoding.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::SignedPreKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 1_700_000_000_000_000_000)?;
    /// assert_eq!(spk.id().len(), pfs_x3dh::SPK_ID_LEN);
    /// assert!(matches!(spk.id()[0], 2 | 3)); // SEC1 compressed
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> [u8; SPK_ID_LEN] {
        self.public.to_compressed()
    }

    /// True when this key is older than [`crate::BUNDLE_REFRESH_INTERVAL_NS`] at `now_ns`
    /// (see [`crate::spk_needs_rotation`]).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::SignedPreKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 1_700_000_000_000_000_000)?;
    /// use pfs_x3dh::BUNDLE_REFRESH_INTERVAL_NS;
    /// let created = spk.created_ns();
    /// assert!(!spk.needs_rotation(created));
    /// assert!(!spk.needs_rotation(created + BUNDLE_REFRESH_INTERVAL_NS));
    /// assert!(spk.needs_rotation(created + BUNDLE_REFRESH_INTERVAL_NS + 1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn needs_rotation(&self, now_ns: i64) -> bool {
        crate::bundle::spk_needs_rotation(self.created_ns, now_ns)
    }
}

impl fmt::Debug for SignedPreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPreKeyPair")
            .field("public", &self.public)
            .field("version", &self.version)
            .field("created_ns", &self.created_ns)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The one-time X3DH ephemeral key of the initiator.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::EphemeralKeyPair;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let e = EphemeralKeyPair::generate(&mut OsRandom)?;
/// let secret_hex = hex::encode(e.secret().to_bytes().expose());
/// assert!(!format!("{e:?}").contains(&secret_hex)); // the secret is redacted
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EphemeralKeyPair {
    secret: SecretKey,
    public: PublicKey,
}

impl EphemeralKeyPair {
    /// Wraps a secret key.
    ///
    /// ```
    /// use pfs_crypto::secp256k1::SecretKey;
    /// use pfs_x3dh::EphemeralKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut one = [0u8; 32];
    /// one[31] = 1;
    /// let e = EphemeralKeyPair::from_secret(SecretKey::from_bytes(&one)?);
    /// assert_eq!(
    ///     hex::encode(e.public().as_compressed()),
    ///     "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    /// ); // G
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_secret(secret: SecretKey) -> Self {
        let public = secret.public_key();
        Self { secret, public }
    }

    /// Generates a fresh ephemeral from `rng` (one `secp256k1_secret` draw).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::EphemeralKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let a = EphemeralKeyPair::generate(&mut OsRandom)?;
    /// let b = EphemeralKeyPair::generate(&mut OsRandom)?;
    /// assert_ne!(a.public(), b.public());
    /// assert_eq!(EphemeralKeyPair::from_secret(a.secret().clone()), a);
    /// # Ok(())
    /// # }
    /// ```
    pub fn generate(rng: &mut dyn RandomSource) -> Result<Self, CryptoError> {
        SecretKey::generate(rng).map(Self::from_secret)
    }

    /// The secret key.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::EphemeralKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let e = EphemeralKeyPair::generate(&mut OsRandom)?;
    /// assert_eq!(e.secret().public_key(), *e.public());
    /// # Ok(())
    /// # }
    /// ```
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The public key (sent as `X3DHHeader.key`).
    ///
    /// ```
    /// use pfs_crypto::secp256k1::SecretKey;
    /// use pfs_x3dh::EphemeralKeyPair;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let e = EphemeralKeyPair::from_secret(SecretKey::from_bytes(&[9; 32])?);
    /// assert_eq!(e.public(), &SecretKey::from_bytes(&[9; 32])?.public_key());
    /// # Ok(())
    /// # }
    /// ```
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

impl fmt::Debug for EphemeralKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralKeyPair")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Why a string is not an installation id.
///
/// ```
/// use pfs_x3dh::{InstallationId, InstallationIdError};
/// assert_eq!("".parse::<InstallationId>(), Err(InstallationIdError::Empty));
/// let long = "é".repeat(129); // 258 bytes in UTF-8
/// assert_eq!(
///     InstallationId::new(long),
///     Err(InstallationIdError::TooLong { len: 258, max: 256 })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstallationIdError {
    /// The id is empty.
    #[error("installation id is empty")]
    Empty,
    /// The id is longer than [`InstallationId::MAX_LEN`] bytes.
    #[error("installation id of {len} bytes exceeds the maximum of {max} bytes")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

/// The id of one installation (device) of an account: a non-empty UTF-8 string of at
/// most [`InstallationId::MAX_LEN`] bytes. Generated ids are lowercase UUID v4 strings, as
/// status-go makes them; ids received from peers may be any such string.
///
/// ```
/// use pfs_x3dh::InstallationId;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let id = InstallationId::try_from("b1f4c2e0-laptop")?;
/// assert_eq!(format!("{id}"), "b1f4c2e0-laptop");
/// assert_eq!(id.as_bytes(), b"b1f4c2e0-laptop");
/// assert_eq!(id.into_string(), "b1f4c2e0-laptop");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstallationId(String);

impl InstallationId {
    /// Longest accepted id in bytes (the default wire limit).
    pub const MAX_LEN: usize = 256;

    /// Validates an id.
    ///
    /// ```
    /// use pfs_x3dh::{InstallationId, InstallationIdError};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let id = InstallationId::new("phone-1")?;
    /// assert_eq!(
    ///     (id.as_str(), id.to_string()),
    ///     ("phone-1", "phone-1".to_string())
    /// );
    /// assert_eq!("phone-1".parse::<InstallationId>()?, id);
    /// assert_eq!(InstallationId::new(""), Err(InstallationIdError::Empty));
    /// assert_eq!(
    ///     InstallationId::new("x".repeat(257)),
    ///     Err(InstallationIdError::TooLong {
    ///         len: 257,
    ///         max: InstallationId::MAX_LEN
    ///     })
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(id: impl Into<String>) -> Result<Self, InstallationIdError> {
        let id = id.into();
        if id.is_empty() {
            return Err(InstallationIdError::Empty);
        }
        if id.len() > Self::MAX_LEN {
            return Err(InstallationIdError::TooLong {
                len: id.len(),
                max: Self::MAX_LEN,
            });
        }
        Ok(Self(id))
    }

    /// A new random id: a UUID v4 built from 16 bytes drawn from `rng` with
    /// `fill_bytes`, in its lowercase hyphenated form.
    ///
    /// ```
    /// use pfs_crypto::{CryptoError, RandomSource};
    /// use pfs_x3dh::InstallationId;
    ///
    /// struct Zeros;
    /// impl RandomSource for Zeros {
    ///     fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
    ///         dest.fill(0);
    ///         Ok(())
    ///     }
    /// }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // RFC 4122 version 4: only the version nibble and the variant bits are set.
    /// let id = InstallationId::generate(&mut Zeros)?;
    /// assert_eq!(id.as_str(), "00000000-0000-4000-8000-000000000000");
    /// # Ok(())
    /// # }
    /// ```
    pub fn generate(rng: &mut dyn RandomSource) -> Result<Self, CryptoError> {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes)?;
        let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        Ok(Self(uuid.hyphenated().to_string()))
    }

    /// The id as a string.
    ///
    /// ```
    /// use pfs_x3dh::InstallationId;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(InstallationId::new("phone-1")?.as_str(), "phone-1");
    /// # Ok(())
    /// # }
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id's UTF-8 bytes.
    ///
    /// ```
    /// use pfs_x3dh::InstallationId;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(InstallationId::new("tëst")?.as_bytes(), [b't', 0xc3, 0xab, b's', b't']);
    /// # Ok(())
    /// # }
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Unwraps the string.
    ///
    /// ```
    /// use pfs_x3dh::InstallationId;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let s: String = InstallationId::new("laptop")?.into_string();
    /// assert_eq!(s, "laptop");
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstallationId({:?})", self.0)
    }
}

/// As its string (the `serde` feature); deserializing validates it.
#[cfg(feature = "serde")]
impl serde::Serialize for InstallationId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for InstallationId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

impl PartialEq<str> for InstallationId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for InstallationId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for InstallationId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl fmt::Display for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for InstallationId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InstallationId {
    type Error = InstallationIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<&str> for InstallationId {
    type Error = InstallationIdError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl core::str::FromStr for InstallationId {
    type Err = InstallationIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u8);
    impl RandomSource for Counter {
        fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
            Ok(())
        }
    }

    #[test]
    fn installation_id_validation() {
        assert_eq!(InstallationId::new(""), Err(InstallationIdError::Empty));
        assert!(matches!(
            InstallationId::new("x".repeat(257)),
            Err(InstallationIdError::TooLong { len: 257, max: 256 })
        ));
        assert_eq!(InstallationId::new("a").unwrap().as_str(), "a");
        assert_eq!(
            InstallationId::new("ü".repeat(128))
                .unwrap()
                .as_bytes()
                .len(),
            256
        );
    }

    #[test]
    fn generated_installation_id_is_uuid_v4() {
        let id = InstallationId::generate(&mut Counter(0)).unwrap();
        // bytes 01..10 with the version nibble set to 4 and the variant bits to 10.
        assert_eq!(id.as_str(), "01020304-0506-4708-890a-0b0c0d0e0f10");
        let parsed = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn debug_is_redacted() {
        let ik = IdentityKeyPair::from_bytes(&[0x30; 32]).unwrap();
        let s = format!("{ik:?}");
        assert!(s.contains("<redacted>") && !s.contains("3030303030"));
        let spk = SignedPreKeyPair::new(SecretKey::from_bytes(&[0x33; 32]).unwrap(), 1, 5);
        let s = format!("{spk:?}");
        assert!(s.contains("<redacted>") && !s.contains("3333333333"));
        let ek = EphemeralKeyPair::from_secret(SecretKey::from_bytes(&[0x31; 32]).unwrap());
        let s = format!("{ek:?}");
        assert!(s.contains("<redacted>") && !s.contains("3131313131"));
    }
}
