//! HMAC-SHA256 and HKDF-SHA256 (RustCrypto `hmac`/`hkdf` over `sha2`) and
//! PBKDF2-HMAC-SHA256 (ring).
//!
//! HMAC and HKDF come from RustCrypto rather than ring because the protocol runs them on
//! short inputs (1 to ~200 bytes) several times per message, where ring's per-call setup
//! dominated: on the benchmark machine a `KDF_CK` pair, a 156-byte tag and an 80-byte HKDF
//! cost 446, 308 and 901 ns with ring against 244, 224 and 590 ns here (both on the CPU's
//! SHA extensions). The keyed states are zeroized on drop (`zeroize` features).

use crate::{CryptoError, SecretBytes};
use hmac::{Hmac, KeyInit, Mac};
use ring::pbkdf2;
use sha2::Sha256;

/// A keyed HMAC-SHA256 state (RustCrypto).
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 keyed with `key` (HMAC accepts any key length).
pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    // `new_from_slice` cannot fail for HMAC: every key length is valid (long keys are
    // hashed). The fallback only satisfies the type.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

/// Finishes an HMAC state into a 32-byte array.
pub(crate) fn finish(mac: HmacSha256) -> [u8; 32] {
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `data` under `key` (any key length).
///
/// ```
/// use pfs_crypto::kdf::hmac_sha256;
/// // RFC 4231, test case 2.
/// assert_eq!(
///     hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
///     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
/// );
/// ```
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac_sha256_parts(key, &[data])
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
///
/// ```
/// use pfs_crypto::kdf::hmac_sha256_parts;
/// // RFC 4231, test case 1 (key 0x0b × 20, data "Hi There"), the data given in two parts.
/// assert_eq!(
///     hex::encode(hmac_sha256_parts(&[0x0b; 20], &[b"Hi ", b"There"])),
///     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
/// );
/// ```
pub fn hmac_sha256_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed(key);
    for p in parts {
        mac.update(p);
    }
    finish(mac)
}

/// Verifies a full 32-byte HMAC-SHA256 tag over the concatenation of `parts`,
/// in constant time.
///
/// ```
/// use pfs_crypto::{CryptoError, kdf};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut tag = kdf::hmac_sha256(b"key", b"header body");
/// kdf::hmac_sha256_verify(b"key", &[b"header ", b"body"], &tag)?;
///
/// tag[0] ^= 1; // one flipped bit is refused
/// assert_eq!(
///     kdf::hmac_sha256_verify(b"key", &[b"header body"], &tag),
///     Err(CryptoError::AuthenticationFailed)
/// );
/// // So is a truncated tag.
/// assert!(kdf::hmac_sha256_verify(b"key", &[b"header body"], &tag[..16]).is_err());
/// # Ok(())
/// # }
/// ```
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> Result<(), CryptoError> {
    let computed = hmac_sha256_parts(key, parts);
    if crate::ct_eq(&computed, tag) {
        Ok(())
    } else {
        Err(CryptoError::AuthenticationFailed)
    }
}

/// HKDF-SHA256 (RFC 5869): extract with `salt` (an empty salt means 32 zero bytes, as the
/// RFC says) and expand with `info` into `out`. At most 255 × 32 bytes of output.
///
/// ```
/// use pfs_crypto::{CryptoError, kdf::hkdf_sha256};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // RFC 5869, test case 1.
/// let salt = hex::decode("000102030405060708090a0b0c")?;
/// let info = hex::decode("f0f1f2f3f4f5f6f7f8f9")?;
/// let mut okm = [0u8; 42];
/// hkdf_sha256(&salt, &[0x0b; 22], &info, &mut okm)?;
/// assert_eq!(
///     hex::encode(okm),
///     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
/// );
/// let mut too_long = vec![0u8; 255 * 32 + 1];
/// assert_eq!(
///     hkdf_sha256(&salt, b"ikm", b"", &mut too_long),
///     Err(CryptoError::KdfLength(8161))
/// );
/// # Ok(())
/// # }
/// ```
pub fn hkdf_sha256(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    if out.len() > 255 * 32 {
        return Err(CryptoError::KdfLength(out.len()));
    }
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| CryptoError::KdfLength(out.len()))
}

/// HKDF-SHA256 into a fixed-size secret.
///
/// ```
/// use pfs_crypto::kdf::hkdf_sha256_secret;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // RFC 5869, test case 3 (empty salt and info): the first 32 of its 42 output bytes.
/// let key = hkdf_sha256_secret::<32>(&[], &[0x0b; 22], &[])?;
/// assert_eq!(
///     hex::encode(key.expose()),
///     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
/// );
/// # Ok(())
/// # }
/// ```
pub fn hkdf_sha256_secret<const N: usize>(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
) -> Result<SecretBytes<N>, CryptoError> {
    let mut out = SecretBytes::<N>::zero();
    hkdf_sha256(salt, ikm, info, out.expose_mut())?;
    Ok(out)
}

/// PBKDF2-HMAC-SHA256 of `password` with `salt` and `iterations` rounds into `out`.
/// Zero iterations are rejected.
///
/// ```
/// use pfs_crypto::kdf::pbkdf2_hmac_sha256;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The widely published PBKDF2-HMAC-SHA256 vector: "password", "salt", 1 iteration.
/// let mut out = [0u8; 32];
/// pbkdf2_hmac_sha256(b"password", b"salt", 1, &mut out)?;
/// assert_eq!(
///     hex::encode(out),
///     "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
/// );
/// assert!(pbkdf2_hmac_sha256(b"password", b"salt", 0, &mut out).is_err());
/// # Ok(())
/// # }
/// ```
pub fn pbkdf2_hmac_sha256(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let rounds = core::num::NonZeroU32::new(iterations).ok_or(CryptoError::KdfLength(0))?;
    if out.is_empty() {
        return Err(CryptoError::KdfLength(0));
    }
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, rounds, salt, password, out);
    Ok(())
}
