//! AES-256-CTR and AES-128-CTR (RustCrypto) and AES-256-GCM (ring).
//!
//! CTR mode treats the whole 16-byte IV as a 128-bit big-endian counter, incremented
//! once per block, like Go's `cipher.NewCTR`.

use crate::CryptoError;
use aes::cipher::{KeyIvInit, StreamCipher};
use ring::aead;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Length of an AES-GCM nonce.
pub const GCM_NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag.
pub const GCM_TAG_LEN: usize = 16;

/// XORs the AES-256-CTR keystream for `key` and `iv` into `data` (encrypts and decrypts).
///
/// ```
/// use pfs_crypto::cipher::aes256_ctr_apply;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // NIST SP 800-38A, F.5.5 (CTR-AES256.Encrypt), first block.
/// let key: [u8; 32] =
///     hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")?[..]
///         .try_into()?;
/// let iv: [u8; 16] = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")?[..].try_into()?;
/// let mut block = hex::decode("6bc1bee22e409f96e93d7e117393172a")?;
/// aes256_ctr_apply(&key, &iv, &mut block);
/// assert_eq!(hex::encode(&block), "601ec313775789a5b7a7f504bbf3d228");
/// aes256_ctr_apply(&key, &iv, &mut block); // the same call decrypts
/// assert_eq!(hex::encode(&block), "6bc1bee22e409f96e93d7e117393172a");
/// # Ok(())
/// # }
/// ```
pub fn aes256_ctr_apply(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    let mut c = Aes256Ctr::new(key.into(), iv.into());
    c.apply_keystream(data);
}

/// XORs the AES-128-CTR keystream for `key` and `iv` into `data` (used by ECIES).
///
/// ```
/// use pfs_crypto::cipher::aes128_ctr_apply;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // NIST SP 800-38A, F.5.1 (CTR-AES128.Encrypt), first block.
/// let key: [u8; 16] = hex::decode("2b7e151628aed2a6abf7158809cf4f3c")?[..].try_into()?;
/// let iv: [u8; 16] = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")?[..].try_into()?;
/// let mut block = hex::decode("6bc1bee22e409f96e93d7e117393172a")?;
/// aes128_ctr_apply(&key, &iv, &mut block);
/// assert_eq!(hex::encode(&block), "874d6191b620e3261bef6864990db6ce");
/// # Ok(())
/// # }
/// ```
pub fn aes128_ctr_apply(key: &[u8; 16], iv: &[u8; 16], data: &mut [u8]) {
    let mut c = Aes128Ctr::new(key.into(), iv.into());
    c.apply_keystream(data);
}

fn gcm_key(key: &[u8; 32]) -> Result<aead::LessSafeKey, CryptoError> {
    let k =
        aead::UnboundKey::new(&aead::AES_256_GCM, key).map_err(|_| CryptoError::InvalidLength {
            what: "AES-256 key",
            expected: 32,
            actual: key.len(),
        })?;
    Ok(aead::LessSafeKey::new(k))
}

/// AES-256-GCM seal: returns `ciphertext ‖ tag(16)`.
///
/// ```
/// use pfs_crypto::cipher::aes256_gcm_seal;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The GCM specification's test case 14: zero key, zero nonce, one zero block.
/// let sealed = aes256_gcm_seal(&[0; 32], &[0; 12], b"", &[0; 16])?;
/// assert_eq!(
///     hex::encode(sealed),
///     "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
/// );
/// # Ok(())
/// # }
/// ```
pub fn aes256_gcm_seal(
    key: &[u8; 32],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let k = gcm_key(key)?;
    let mut buf = Vec::with_capacity(plaintext.len() + GCM_TAG_LEN + GCM_NONCE_LEN);
    buf.extend_from_slice(plaintext);
    k.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(*nonce),
        aead::Aad::from(aad),
        &mut buf,
    )
    .map_err(|_| CryptoError::AuthenticationFailed)?;
    Ok(buf)
}

/// AES-256-GCM open of `ciphertext ‖ tag(16)`: returns the plaintext, or
/// [`CryptoError::AuthenticationFailed`].
///
/// ```
/// use pfs_crypto::{CryptoError, cipher};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (key, nonce) = ([7u8; 32], [1u8; 12]);
/// let mut sealed = cipher::aes256_gcm_seal(&key, &nonce, b"header", b"attack at dawn")?;
/// assert_eq!(
///     cipher::aes256_gcm_open(&key, &nonce, b"header", &sealed)?,
///     b"attack at dawn"
/// );
///
/// // Other associated data, or one flipped ciphertext bit, is refused.
/// let wrong_aad = cipher::aes256_gcm_open(&key, &nonce, b"other", &sealed);
/// assert_eq!(wrong_aad, Err(CryptoError::AuthenticationFailed));
/// sealed[0] ^= 1;
/// let tampered = cipher::aes256_gcm_open(&key, &nonce, b"header", &sealed);
/// assert_eq!(tampered, Err(CryptoError::AuthenticationFailed));
/// # Ok(())
/// # }
/// ```
pub fn aes256_gcm_open(
    key: &[u8; 32],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if ciphertext_and_tag.len() < GCM_TAG_LEN {
        return Err(CryptoError::InvalidLength {
            what: "AES-GCM ciphertext",
            expected: GCM_TAG_LEN,
            actual: ciphertext_and_tag.len(),
        });
    }
    let k = gcm_key(key)?;
    let mut buf = ciphertext_and_tag.to_vec();
    let len = k
        .open_in_place(
            aead::Nonce::assume_unique_for_key(*nonce),
            aead::Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| CryptoError::AuthenticationFailed)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// status-go's `EncryptSymmetric` layout: `AES-256-GCM(key, nonce, pt, no AAD) ‖ nonce`
/// (ciphertext ‖ tag(16) ‖ nonce(12), the nonce last).
///
/// ```
/// use pfs_crypto::cipher::{GCM_NONCE_LEN, GCM_TAG_LEN, gcm_seal_nonce_appended};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let nonce = [9u8; GCM_NONCE_LEN];
/// let out = gcm_seal_nonce_appended(&[3; 32], &nonce, b"hi")?;
/// assert_eq!(out.len(), 2 + GCM_TAG_LEN + GCM_NONCE_LEN);
/// assert_eq!(out[out.len() - GCM_NONCE_LEN..], nonce);
/// # Ok(())
/// # }
/// ```
pub fn gcm_seal_nonce_appended(
    key: &[u8; 32],
    nonce: &[u8; GCM_NONCE_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut out = aes256_gcm_seal(key, nonce, &[], plaintext)?;
    out.extend_from_slice(nonce);
    Ok(out)
}

/// Inverse of [`gcm_seal_nonce_appended`]: the last 12 bytes are the nonce.
///
/// ```
/// use pfs_crypto::{CryptoError, cipher};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = [3u8; 32];
/// let mut data = cipher::gcm_seal_nonce_appended(&key, &[9; 12], b"status")?;
/// assert_eq!(cipher::gcm_open_nonce_appended(&key, &data)?, b"status");
/// let last = data.len() - 1;
/// data[last] ^= 1; // a different nonce no longer authenticates
/// assert_eq!(
///     cipher::gcm_open_nonce_appended(&key, &data),
///     Err(CryptoError::AuthenticationFailed)
/// );
/// assert!(matches!(
///     cipher::gcm_open_nonce_appended(&key, &[0; 27]),
///     Err(CryptoError::InvalidLength {
///         expected: 28,
///         actual: 27,
///         ..
///     })
/// ));
/// # Ok(())
/// # }
/// ```
pub fn gcm_open_nonce_appended(key: &[u8; 32], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if data.len() < GCM_NONCE_LEN + GCM_TAG_LEN {
        return Err(CryptoError::InvalidLength {
            what: "AES-GCM payload with appended nonce",
            expected: GCM_NONCE_LEN + GCM_TAG_LEN,
            actual: data.len(),
        });
    }
    let (ct, nonce) = data.split_at(data.len() - GCM_NONCE_LEN);
    let mut n = [0u8; GCM_NONCE_LEN];
    n.copy_from_slice(nonce);
    aes256_gcm_open(key, &n, &[], ct)
}
