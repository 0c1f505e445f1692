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
pub fn aes256_ctr_apply(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    let mut c = Aes256Ctr::new(key.into(), iv.into());
    c.apply_keystream(data);
}

/// XORs the AES-128-CTR keystream for `key` and `iv` into `data` (used by ECIES).
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
