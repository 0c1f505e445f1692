//! HMAC-SHA256, HKDF-SHA256 and PBKDF2-HMAC-SHA256 (all from ring).

use crate::{CryptoError, SecretBytes};
use ring::{hkdf, hmac, pbkdf2};

/// HMAC-SHA256 of `data` under `key` (any key length).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac_sha256_parts(key, &[data])
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256_parts(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&k);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
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

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
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
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk
        .expand(&info, Len(out.len()))
        .map_err(|_| CryptoError::KdfLength(out.len()))?;
    okm.fill(out).map_err(|_| CryptoError::KdfLength(out.len()))
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
