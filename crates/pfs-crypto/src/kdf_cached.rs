//! Per-message KDF helpers that avoid repeated HMAC key schedules: two MACs under one key,
//! and HKDF with the all-zero 32-byte salt whose HMAC key is prepared once per process.
//! Byte-identical to [`crate::kdf::hmac_sha256`] and [`crate::kdf::hkdf_sha256`].

use crate::kdf::{HmacSha256, finish, keyed};
use crate::{CryptoError, SecretBytes};
use hmac::Mac;
use std::sync::OnceLock;
use zeroize::Zeroize;

/// HMAC-SHA256 of `a` and of `b` under the same `key`, with one key schedule.
///
/// ```
/// use pfs_crypto::kdf::hmac_sha256;
/// use pfs_crypto::kdf_cached::hmac_sha256_pair;
/// let (a, b) = hmac_sha256_pair(b"Jefe", b"what do ya want for nothing?", b"\x02");
/// // RFC 4231, test case 2.
/// assert_eq!(
///     hex::encode(a),
///     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
/// );
/// assert_eq!(b, hmac_sha256(b"Jefe", b"\x02"));
/// ```
pub fn hmac_sha256_pair(key: &[u8], a: &[u8], b: &[u8]) -> ([u8; 32], [u8; 32]) {
    let k = keyed(key);
    let mut mac_a = k.clone();
    mac_a.update(a);
    let mut mac_b = k;
    mac_b.update(b);
    (finish(mac_a), finish(mac_b))
}

/// The HMAC key of the all-zero 32-byte salt (RFC 5869: also the empty salt's).
fn zero_salt() -> &'static HmacSha256 {
    static SALT: OnceLock<HmacSha256> = OnceLock::new();
    SALT.get_or_init(|| keyed(&[0u8; 32]))
}

/// HKDF-SHA256 with a salt of 32 zero bytes (equivalently, the empty salt) into a
/// fixed-size secret; the salt's HMAC key is computed once per process.
///
/// ```
/// use pfs_crypto::kdf_cached::hkdf_sha256_zero_salt;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // RFC 5869, test case 3 (zero-length salt and info), all 42 bytes.
/// let okm = hkdf_sha256_zero_salt::<42>(&[0x0b; 22], &[])?;
/// assert_eq!(
///     hex::encode(okm.expose()),
///     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
/// );
/// # Ok(())
/// # }
/// ```
pub fn hkdf_sha256_zero_salt<const N: usize>(
    ikm: &[u8],
    info: &[u8],
) -> Result<SecretBytes<N>, CryptoError> {
    if N > 255 * 32 {
        return Err(CryptoError::KdfLength(N));
    }
    let mut extract = zero_salt().clone();
    extract.update(ikm);
    let mut prk = finish(extract);
    let expanded = hkdf::Hkdf::<sha2::Sha256>::from_prk(&prk);
    prk.zeroize();
    let mut out = SecretBytes::<N>::zero();
    expanded
        .map_err(|_| CryptoError::KdfLength(N))?
        .expand(info, out.expose_mut())
        .map_err(|_| CryptoError::KdfLength(N))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdf::{hkdf_sha256_secret, hmac_sha256};

    /// RFC 4231 test case 2 (key "Jefe").
    #[test]
    fn pair_matches_rfc4231() {
        let data = b"what do ya want for nothing?";
        let (a, b) = hmac_sha256_pair(b"Jefe", data, data);
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(hex::encode(a), want);
        assert_eq!(a, b);
    }

    /// RFC 5869 test case 3 (zero-length salt and info): the empty salt is 32 zero bytes.
    #[test]
    fn zero_salt_matches_rfc5869_case3() {
        let ikm = [0x0bu8; 22];
        let okm = hkdf_sha256_zero_salt::<42>(&ikm, &[]).unwrap();
        assert_eq!(
            hex::encode(okm.expose()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        );
        let general = hkdf_sha256_secret::<42>(&[0u8; 32], &ikm, &[]).unwrap();
        assert_eq!(okm.expose(), general.expose());
        assert_eq!(
            hmac_sha256(b"k", b"a"),
            hmac_sha256_pair(b"k", b"a", b"b").0
        );
    }
}
