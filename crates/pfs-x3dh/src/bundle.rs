//! Signed prekey bundles: signature material, signing, verification and rotation.
//!
//! A bundle advertises, for one identity, the signed prekey (SPK) of each installation.
//! It is signed with the identity key over a material built exactly as status-go's
//! `buildSignatureMaterial`:
//!
//! ```text
//! for each installation id in byte-wise sorted order:
//!     id (UTF-8) ‖ SPK (raw 33 bytes) ‖ ASCII decimal of version ("0" for 0)
//! then, only if timestamp ≠ 0: ASCII decimal of timestamp (int64 nanoseconds)
//! signature = recoverable ECDSA(identity key, Keccak-256(material))   // 65 bytes R‖S‖V
//! ```
//!
//! `protocol_version` and the identity are not covered. The entries keep the order in
//! which they are given (or were received) on the wire: protobuf map order carries no
//! meaning, and status-go emits it in random order.

use pfs_crypto::CryptoError;
use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::{PublicKey, RecoverableSignature, SIGNATURE_LEN};
use pfs_wire::pb;

use crate::keys::{
    IdentityKeyPair, InstallationId, InstallationIdError, SPK_ID_LEN, SignedPreKeyPair,
};

/// How long a signed prekey is used before it is rotated: 24 hours, in nanoseconds
/// (status-go `BundleRefreshInterval`).
pub const BUNDLE_REFRESH_INTERVAL_NS: i64 = 24 * 60 * 60 * 1_000_000_000;

/// True when a signed prekey created at `created_ns` must be rotated at `now_ns`:
/// strictly older than [`BUNDLE_REFRESH_INTERVAL_NS`], as status-go's
/// `timestamp < now − interval`.
///
/// ```
/// use pfs_x3dh::{BUNDLE_REFRESH_INTERVAL_NS, spk_needs_rotation};
/// let day = BUNDLE_REFRESH_INTERVAL_NS;
/// assert_eq!(day, 86_400 * 1_000_000_000);
/// let created = 5 * day;
/// assert!(!spk_needs_rotation(created, created + day)); // exactly 24 h old: kept
/// assert!(spk_needs_rotation(created, created + day + 1));
/// ```
pub fn spk_needs_rotation(created_ns: i64, now_ns: i64) -> bool {
    created_ns < now_ns.saturating_sub(BUNDLE_REFRESH_INTERVAL_NS)
}

/// One installation's entry of a bundle.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
/// let wire = pfs_x3dh::sign_bundle(&identity, &entries, 42)?;
/// let verified = pfs_x3dh::verify_bundle(&wire)?;
/// let entry = &verified.entries()[0];
/// assert_eq!(entry.installation_id.as_str(), "phone");
/// assert_eq!(&entry.signed_pre_key, spk.public());
/// assert_eq!((entry.version, entry.protocol_version), (1, 1));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry {
    /// The installation.
    pub installation_id: InstallationId,
    /// Its signed prekey.
    pub signed_pre_key: PublicKey,
    /// The signed prekey's version (covered by the signature).
    pub version: u32,
    /// The installation's protocol version (not covered by the signature).
    pub protocol_version: u32,
}

impl BundleEntry {
    /// The entry advertising our own signed prekey.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BundleEntry, InstallationId, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 3, 0)?;
    /// let entry = BundleEntry::own(InstallationId::new("phone")?, &spk, 1);
    /// assert_eq!((entry.version, entry.protocol_version), (3, 1));
    /// assert_eq!(entry.spk_id(), spk.id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn own(
        installation_id: InstallationId,
        spk: &SignedPreKeyPair,
        protocol_version: u32,
    ) -> Self {
        Self {
            installation_id,
            signed_pre_key: spk.public().clone(),
            version: spk.version(),
            protocol_version,
        }
    }

    /// The signed prekey id (its compressed encoding), as used in X3DH and DR headers.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BundleEntry, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
    /// let entry = BundleEntry::own("phone".parse()?, &spk, 1);
    /// assert_eq!(entry.spk_id(), spk.public().to_compressed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn spk_id(&self) -> [u8; SPK_ID_LEN] {
        self.signed_pre_key.to_compressed()
    }
}

/// Why a bundle could not be signed or does not verify.
///
/// ```
/// use pfs_x3dh::BundleError;
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
/// let wire = pfs_x3dh::sign_bundle(&identity, &entries, 42)?;
/// // A truncated identity.
/// let mut bad = wire.clone();
/// bad.identity.truncate(32);
/// assert_eq!(pfs_x3dh::verify_bundle(&bad), Err(BundleError::InvalidIdentity { len: 32 }));
/// // The same installation twice.
/// let mut bad = wire.clone();
/// bad.signed_pre_keys.push(bad.signed_pre_keys[0].clone());
/// assert_eq!(
///     pfs_x3dh::verify_bundle(&bad),
///     Err(BundleError::DuplicateInstallationId("phone".into()))
/// );
/// // Signed by someone else: another identity put in front of Alice's signature.
/// let mut bad = wire.clone();
/// bad.identity = IdentityKeyPair::generate(&mut OsRandom)?.public().to_compressed().to_vec();
/// assert_eq!(pfs_x3dh::verify_bundle(&bad), Err(BundleError::SignerMismatch));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The identity field is not a 33-byte compressed secp256k1 point.
    #[error("bundle identity is not a valid 33-byte compressed key ({len} bytes)")]
    InvalidIdentity {
        /// Length of the field.
        len: usize,
    },
    /// An installation id is empty or too long.
    #[error("invalid installation id in bundle: {0}")]
    InvalidInstallationId(#[from] InstallationIdError),
    /// The same installation id appears twice.
    #[error("installation id {0:?} appears twice in the bundle")]
    DuplicateInstallationId(String),
    /// An entry has no `SignedPreKey` value.
    #[error("installation {0:?} has no signed prekey")]
    MissingSignedPreKey(String),
    /// A signed prekey is not a 33-byte compressed secp256k1 point.
    #[error(
        "signed prekey of installation {installation_id:?} is not a valid 33-byte compressed key"
    )]
    InvalidSignedPreKey {
        /// The installation whose key is invalid.
        installation_id: String,
    },
    /// The signature is not 65 bytes.
    #[error("bundle signature has {len} bytes, expected 65")]
    InvalidSignatureLength {
        /// Its length.
        len: usize,
    },
    /// No key can be recovered from the signature (bad recovery id or scalars).
    #[error("bundle signature is malformed")]
    MalformedSignature,
    /// The signature was made by another key than the bundle's identity (or over
    /// different contents).
    #[error("bundle signature was not made by the bundle's identity key")]
    SignerMismatch,
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(CryptoError),
}

fn material_from<'a>(
    entries: impl Iterator<Item = (&'a str, &'a [u8], u32)>,
    timestamp_ns: i64,
) -> Vec<u8> {
    let mut sorted: Vec<(&str, &[u8], u32)> = entries.collect();
    // `str` orders by its UTF-8 bytes, exactly as Go's sort.Strings.
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::new();
    for (id, spk, version) in sorted {
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(spk);
        out.extend_from_slice(version.to_string().as_bytes());
    }
    if timestamp_ns != 0 {
        out.extend_from_slice(timestamp_ns.to_string().as_bytes());
    }
    out
}

/// The signature material of `entries` at `timestamp_ns` (see the module documentation).
/// The order of `entries` does not matter.
///
/// ```
/// use pfs_x3dh::{BundleEntry, IdentityKeyPair, InstallationId, signature_material};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut one = [0u8; 32];
/// one[31] = 1;
/// let g = IdentityKeyPair::from_bytes(&one)?.public().clone(); // any valid key
/// let entry = |id: &str, version| -> Result<BundleEntry, Box<dyn std::error::Error>> {
///     Ok(BundleEntry {
///         installation_id: InstallationId::new(id)?,
///         signed_pre_key: g.clone(),
///         version,
///         protocol_version: 1,
///     })
/// };
/// let (b, a) = (entry("b", 7)?, entry("a", 0)?);
/// // Sorted by id: "a" ‖ SPK ‖ "0", "b" ‖ SPK ‖ "7", then the timestamp in decimal.
/// let expected = [
///     &b"a"[..],
///     &g.to_compressed(),
///     b"0",
///     b"b",
///     &g.to_compressed(),
///     b"7",
///     b"42",
/// ]
/// .concat();
/// assert_eq!(signature_material(&[b.clone(), a.clone()], 42), expected);
/// assert_eq!(signature_material(&[a, b], 42), expected);
/// # Ok(())
/// # }
/// ```
pub fn signature_material(entries: &[BundleEntry], timestamp_ns: i64) -> Vec<u8> {
    let keys: Vec<[u8; SPK_ID_LEN]> = entries.iter().map(BundleEntry::spk_id).collect();
    material_from(
        entries
            .iter()
            .zip(keys.iter())
            .map(|(e, k)| (e.installation_id.as_str(), k.as_slice(), e.version)),
        timestamp_ns,
    )
}

/// The signature material of a wire bundle, over the raw bytes of its fields exactly as
/// received (an entry without a value contributes its id, no key bytes and `"0"`).
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
/// let bundle = pfs_x3dh::sign_bundle(&identity, &entries, 99)?;
/// assert_eq!(
///     pfs_x3dh::bundle_signature_material(&bundle),
///     pfs_x3dh::signature_material(&entries, 99)
/// );
/// # Ok(())
/// # }
/// ```
pub fn bundle_signature_material(bundle: &pb::Bundle) -> Vec<u8> {
    material_from(
        bundle
            .signed_pre_keys
            .iter()
            .map(|e| match &e.signed_pre_key {
                Some(spk) => (
                    e.installation_id.as_str(),
                    spk.signed_pre_key.as_slice(),
                    spk.version,
                ),
                None => (e.installation_id.as_str(), &[][..], 0),
            }),
        bundle.timestamp,
    )
}

/// Signs a bundle: `entries` are encoded in the given order, `timestamp_ns` is the
/// signing time (status-go re-signs its bundle with a fresh timestamp for every message).
///
/// ```
/// use pfs_crypto::{OsRandom, hash::keccak256, secp256k1::RecoverableSignature};
/// use pfs_x3dh::{BundleEntry, BundleError, IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
/// let bundle = pfs_x3dh::sign_bundle(&identity, &entries, 1_000)?;
/// // The signature is over Keccak-256 of the material and recovers the identity.
/// let digest = keccak256(&pfs_x3dh::signature_material(&entries, 1_000));
/// let signer = RecoverableSignature::from_bytes(&bundle.signature)?.recover(&digest)?;
/// assert_eq!(&signer, identity.public());
///
/// let twice = [entries[0].clone(), entries[0].clone()];
/// let refused = pfs_x3dh::sign_bundle(&identity, &twice, 1_000);
/// assert_eq!(
///     refused,
///     Err(BundleError::DuplicateInstallationId("phone".into()))
/// );
/// # Ok(())
/// # }
/// ```
pub fn sign_bundle(
    identity: &IdentityKeyPair,
    entries: &[BundleEntry],
    timestamp_ns: i64,
) -> Result<pb::Bundle, BundleError> {
    let mut seen = std::collections::BTreeSet::new();
    for e in entries {
        if !seen.insert(e.installation_id.as_str()) {
            return Err(BundleError::DuplicateInstallationId(
                e.installation_id.as_str().to_owned(),
            ));
        }
    }
    let hash = keccak256(&signature_material(entries, timestamp_ns));
    let sig = identity
        .secret()
        .sign_prehash_recoverable(&hash)
        .map_err(BundleError::Signing)?;
    Ok(pb::Bundle {
        identity: identity.public().to_compressed().to_vec(),
        signed_pre_keys: entries
            .iter()
            .map(|e| pb::SignedPreKeyEntry {
                installation_id: e.installation_id.as_str().to_owned(),
                signed_pre_key: Some(pb::SignedPreKey {
                    signed_pre_key: e.signed_pre_key.to_compressed().to_vec(),
                    version: e.version,
                    protocol_version: e.protocol_version,
                }),
            })
            .collect(),
        signature: sig.to_bytes().to_vec(),
        timestamp: timestamp_ns,
    })
}

/// A bundle whose keys are valid points and whose signature was made by its identity.
/// Only [`verify_bundle`] makes one.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
/// let wire = pfs_x3dh::sign_bundle(&identity, &entries, 42)?;
/// let verified = pfs_x3dh::verify_bundle(&wire)?;
/// assert_eq!(verified.entries(), entries);
/// assert_eq!(verified.bundle(), &wire);
/// assert_eq!(verified.into_bundle(), wire); // kept as received, to forward
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedBundle {
    identity: PublicKey,
    entries: Vec<BundleEntry>,
    timestamp_ns: i64,
    bundle: pb::Bundle,
}

impl VerifiedBundle {
    /// The identity key that signed the bundle.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
    /// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
    /// let wire = pfs_x3dh::sign_bundle(&identity, &entries, 42)?;
    /// let verified = pfs_x3dh::verify_bundle(&wire)?;
    /// assert_eq!(verified.identity(), identity.public());
    /// # Ok(())
    /// # }
    /// ```
    pub fn identity(&self) -> &PublicKey {
        &self.identity
    }

    /// The entries, in wire order.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
    /// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
    /// let wire = pfs_x3dh::sign_bundle(&identity, &entries, 42)?;
    /// let verified = pfs_x3dh::verify_bundle(&wire)?;
    /// assert_eq!(verified.entries(), entries);
    /// # Ok(())
    /// # }
    /// ```
    pub fn entries(&self) -> &[BundleEntry] {
        &self.entries
    }

    /// The entry of `installation_id`, if listed.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 2, 0)?;
    /// let entries = [BundleEntry::own("laptop".parse()?, &spk, 1)];
    /// let verified = pfs_x3dh::verify_bundle(&pfs_x3dh::sign_bundle(&identity, &entries, 5)?)?;
    /// assert_eq!(verified.entry("laptop").map(|e| e.version), Some(2));
    /// assert!(verified.entry("phone").is_none());
    /// assert_eq!((verified.entries().len(), verified.timestamp_ns()), (1, 5));
    /// # Ok(())
    /// # }
    /// ```
    pub fn entry(&self, installation_id: &str) -> Option<&BundleEntry> {
        self.entries
            .iter()
            .find(|e| e.installation_id.as_str() == installation_id)
    }

    /// The signed timestamp (ns since the epoch; 0 = not set).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
    /// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
    /// let wire = pfs_x3dh::sign_bundle(&identity, &entries, 42)?;
    /// let verified = pfs_x3dh::verify_bundle(&wire)?;
    /// assert_eq!(verified.timestamp_ns(), 42);
    /// assert_eq!(verified.bundle().timestamp, 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn timestamp_ns(&self) -> i64 {
        self.timestamp_ns
    }

    /// The bundle as received.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
    /// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
    /// let wire = pfs_x3dh::sign_bundle(&identity, &entries, 42)?;
    /// let verified = pfs_x3dh::verify_bundle(&wire)?;
    /// assert_eq!(verified.bundle(), &wire);
    /// assert_eq!(pfs_x3dh::contact_code(verified.bundle()), pfs_x3dh::contact_code(&wire));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bundle(&self) -> &pb::Bundle {
        &self.bundle
    }

    /// Takes the bundle as received.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{BundleEntry, IdentityKeyPair, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
    /// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
    /// let wire = pfs_x3dh::sign_bundle(&identity, &entries, 42)?;
    /// let verified = pfs_x3dh::verify_bundle(&wire)?;
    /// let forwarded = verified.into_bundle(); // kept as received
    /// assert_eq!(forwarded, wire);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_bundle(self) -> pb::Bundle {
        self.bundle
    }
}

/// Verifies a bundle: the identity is a 33-byte compressed point, every installation id
/// is valid and unique, every signed prekey is a 33-byte compressed point, the signature
/// has 65 bytes, and the key recovered from Keccak-256(material) and the signature equals
/// the identity (status-go `ExtractIdentity`).
///
/// ```
/// use pfs_x3dh::{BundleEntry, BundleError, IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let identity = IdentityKeyPair::from_bytes(&[0x11; 32])?;
/// let spk = SignedPreKeyPair::new(
///     pfs_crypto::secp256k1::SecretKey::from_bytes(&[0x22; 32])?,
///     1,
///     0,
/// );
/// let entries = [BundleEntry::own("phone".parse()?, &spk, 1)];
/// let mut bundle = pfs_x3dh::sign_bundle(&identity, &entries, 1_000)?;
/// assert_eq!(
///     pfs_x3dh::verify_bundle(&bundle)?.identity(),
///     identity.public()
/// );
///
/// bundle.timestamp += 1; // any change to the signed contents is detected
/// assert_eq!(
///     pfs_x3dh::verify_bundle(&bundle),
///     Err(BundleError::SignerMismatch)
/// );
/// bundle.signature.pop();
/// assert_eq!(
///     pfs_x3dh::verify_bundle(&bundle),
///     Err(BundleError::InvalidSignatureLength { len: 64 })
/// );
/// # Ok(())
/// # }
/// ```
pub fn verify_bundle(bundle: &pb::Bundle) -> Result<VerifiedBundle, BundleError> {
    let identity =
        PublicKey::from_compressed(&bundle.identity).map_err(|_| BundleError::InvalidIdentity {
            len: bundle.identity.len(),
        })?;
    let mut entries = Vec::with_capacity(bundle.signed_pre_keys.len());
    let mut seen = std::collections::BTreeSet::new();
    for e in &bundle.signed_pre_keys {
        let installation_id = InstallationId::new(e.installation_id.as_str())?;
        if !seen.insert(e.installation_id.as_str()) {
            return Err(BundleError::DuplicateInstallationId(
                e.installation_id.clone(),
            ));
        }
        let spk = e
            .signed_pre_key
            .as_ref()
            .ok_or_else(|| BundleError::MissingSignedPreKey(e.installation_id.clone()))?;
        let signed_pre_key = PublicKey::from_compressed(&spk.signed_pre_key).map_err(|_| {
            BundleError::InvalidSignedPreKey {
                installation_id: e.installation_id.clone(),
            }
        })?;
        entries.push(BundleEntry {
            installation_id,
            signed_pre_key,
            version: spk.version,
            protocol_version: spk.protocol_version,
        });
    }
    if bundle.signature.len() != SIGNATURE_LEN {
        return Err(BundleError::InvalidSignatureLength {
            len: bundle.signature.len(),
        });
    }
    let sig = RecoverableSignature::from_bytes(&bundle.signature)
        .map_err(|_| BundleError::MalformedSignature)?;
    let hash = keccak256(&bundle_signature_material(bundle));
    let recovered = sig
        .recover(&hash)
        .map_err(|_| BundleError::MalformedSignature)?;
    if recovered != identity {
        return Err(BundleError::SignerMismatch);
    }
    Ok(VerifiedBundle {
        identity,
        entries,
        timestamp_ns: bundle.timestamp,
        bundle: bundle.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_boundary() {
        let now = 10 * BUNDLE_REFRESH_INTERVAL_NS;
        assert!(!spk_needs_rotation(now - BUNDLE_REFRESH_INTERVAL_NS, now));
        assert!(spk_needs_rotation(
            now - BUNDLE_REFRESH_INTERVAL_NS - 1,
            now
        ));
        assert!(!spk_needs_rotation(now, now));
        assert!(!spk_needs_rotation(i64::MIN, i64::MIN));
        assert!(spk_needs_rotation(i64::MIN, i64::MAX));
    }

    #[test]
    fn material_sorts_bytewise_and_omits_zero_timestamp() {
        let m = material_from([("a", &[1u8][..], 0), ("B", &[2u8][..], 12)].into_iter(), 0);
        assert_eq!(m, b"B\x0212a\x010".to_vec());
        let m = material_from([("x", &[][..], 7)].into_iter(), -5);
        assert_eq!(m, b"x7-5".to_vec());
    }
}
