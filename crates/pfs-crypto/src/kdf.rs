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
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac_sha256_parts(key, &[data])
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = keyed(key);
    for p in parts {
        mac.update(p);
    }
    finish(mac)
}

/// Verifies a full 32-byte HMAC-SHA256 tag over the concatenation of `parts`,
/// in constant time.
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
