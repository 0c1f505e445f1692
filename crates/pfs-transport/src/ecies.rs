//! go-ethereum's ECIES (`crypto/ecies`) with the secp256k1 parameters
//! `ECIES_AES128_SHA256`, as whisper uses it (`s1` and `s2` empty).
//!
//! ```text
//! data = R(65, 04‖X‖Y) ‖ IV(16) ‖ AES-128-CTR(Ke, IV, plaintext) ‖ HMAC-SHA256(Km, IV ‖ ct)(32)
//! Z  = x-coordinate of r·K_B (32 bytes, big-endian)
//! K  = SHA256(00000001 ‖ Z)          (concatKDF, one round)
//! Ke = K[0..16],  Km = SHA256(K[16..32])
//! ```
//!
//! Decryption checks in go-ethereum's order and reports its two error texts
//! (`ecies: invalid message`, `ecies: invalid public key`): empty input, first byte not
//! 2/3/4, length below 65 + 32 + 1, R not an uncompressed curve point, then the tag (in
//! constant time) before any decryption.

use pfs_crypto::hash::{sha256, sha256_concat};
use pfs_crypto::kdf::{hmac_sha256_parts, hmac_sha256_verify};
use pfs_crypto::secp256k1::{PublicKey, SecretKey, UNCOMPRESSED_LEN};
use pfs_crypto::{CryptoError, RandomSource, SecretBytes};

/// Length of the IV.
pub const IV_LEN: usize = 16;
/// Length of the HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;
/// Bytes ECIES adds to a plaintext: R (65), IV (16) and tag (32).
pub const ECIES_OVERHEAD: usize = UNCOMPRESSED_LEN + IV_LEN + TAG_LEN;

/// Errors of ECIES. The first two print exactly as go-ethereum's errors.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::ecies::{self, EciesError};
///
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// assert_eq!(ecies::encrypt(&bob.public_key(), b"", &mut OsRandom), Err(EciesError::EmptyPlaintext));
/// assert_eq!(ecies::decrypt(&bob, &[]), Err(EciesError::InvalidMessage));
/// // the first byte must start an uncompressed point (04)
/// assert_eq!(ecies::decrypt(&bob, &[5; 120]), Err(EciesError::InvalidPublicKey));
/// assert_eq!(EciesError::InvalidMessage.to_string(), "ecies: invalid message");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EciesError {
    /// Malformed, truncated or tampered ciphertext, or the wrong key.
    #[error("ecies: invalid message")]
    InvalidMessage,
    /// The ephemeral key R is not a valid uncompressed secp256k1 point.
    #[error("ecies: invalid public key")]
    InvalidPublicKey,
    /// go-ethereum encrypts an empty plaintext to an empty output without an error;
    /// this implementation refuses instead (whisper never encrypts an empty message).
    #[error("ecies: refusing to encrypt an empty plaintext")]
    EmptyPlaintext,
    /// The random source failed.
    #[error("ecies: randomness: {0}")]
    Randomness(CryptoError),
}

/// The keys ECIES derives from the shared secret `Z`. Zeroized on drop.
///
/// ```
/// use pfs_crypto::SecretBytes;
/// use pfs_crypto::hash::sha256;
/// use pfs_transport::ecies::EciesKeys;
///
/// let keys = EciesKeys::derive(&SecretBytes::new([9; 32]));
/// // K = SHA256(00000001 ‖ Z); Ke = K[0..16]; Km = SHA256(K[16..32])
/// let mut input = vec![0, 0, 0, 1];
/// input.extend_from_slice(&[9; 32]);
/// assert_eq!(keys.kdf_output(), &sha256(&input));
/// assert_eq!(keys.ke()[..], keys.kdf_output()[..16]);
/// assert_eq!(keys.km_raw(), &keys.kdf_output()[16..]);
/// assert_eq!(keys.km(), &sha256(keys.km_raw()));
/// ```
#[derive(Debug, Clone)]
pub struct EciesKeys {
    kdf_output: SecretBytes<32>,
    km: SecretBytes<32>,
}

impl EciesKeys {
    /// concatKDF-SHA256(Z, empty s1, 32 bytes), then `Km = SHA256(K[16..32])`.
    ///
    /// ```
    /// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// use pfs_transport::ecies::EciesKeys;
    ///
    /// // both sides derive the same keys from ECDH
    /// let (a, b) = (SecretKey::generate(&mut OsRandom)?, SecretKey::generate(&mut OsRandom)?);
    /// let ka = EciesKeys::derive(&a.diffie_hellman(&b.public_key()));
    /// let kb = EciesKeys::derive(&b.diffie_hellman(&a.public_key()));
    /// assert_eq!((ka.ke(), ka.km()), (kb.ke(), kb.km()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn derive(z: &SecretBytes<32>) -> Self {
        let kdf_output = SecretBytes::new(sha256_concat(&[&[0, 0, 0, 1], z.expose()]));
        let km = SecretBytes::new(sha256(kdf_output.expose().get(16..).unwrap_or_default()));
        Self { kdf_output, km }
    }

    /// The 32-byte concatKDF output `K`.
    ///
    /// ```
    /// use pfs_crypto::{SecretBytes, hash::sha256};
    /// use pfs_transport::ecies::EciesKeys;
    ///
    /// // one round of concatKDF: SHA-256(counter 00000001 ‖ Z)
    /// let keys = EciesKeys::derive(&SecretBytes::new([0; 32]));
    /// assert_eq!(keys.kdf_output(), &sha256(&[[0, 0, 0, 1].as_slice(), &[0; 32]].concat()));
    /// ```
    pub const fn kdf_output(&self) -> &[u8; 32] {
        self.kdf_output.expose()
    }

    /// The AES-128 key `Ke = K[0..16]`.
    ///
    /// ```
    /// use pfs_crypto::SecretBytes;
    /// use pfs_transport::ecies::EciesKeys;
    ///
    /// let keys = EciesKeys::derive(&SecretBytes::new([5; 32]));
    /// assert_eq!(keys.ke().as_slice(), &keys.kdf_output()[..16]);
    /// ```
    pub fn ke(&self) -> [u8; 16] {
        let mut ke = [0u8; 16];
        ke.copy_from_slice(self.kdf_output.expose().get(..16).unwrap_or(&[0u8; 16]));
        ke
    }

    /// The raw second half `K[16..32]` (hashed to give the MAC key).
    ///
    /// ```
    /// use pfs_crypto::SecretBytes;
    /// use pfs_transport::ecies::EciesKeys;
    ///
    /// let keys = EciesKeys::derive(&SecretBytes::new([5; 32]));
    /// assert_eq!(keys.km_raw(), &keys.kdf_output()[16..]);
    /// ```
    pub fn km_raw(&self) -> &[u8] {
        self.kdf_output.expose().get(16..).unwrap_or_default()
    }

    /// The MAC key `Km = SHA256(K[16..32])`.
    ///
    /// ```
    /// use pfs_crypto::{SecretBytes, hash::sha256};
    /// use pfs_transport::ecies::EciesKeys;
    ///
    /// let keys = EciesKeys::derive(&SecretBytes::new([5; 32]));
    /// assert_eq!(keys.km(), &sha256(keys.km_raw()));
    /// assert_ne!(keys.km().as_slice(), keys.km_raw());
    /// ```
    pub const fn km(&self) -> &[u8; 32] {
        self.km.expose()
    }
}

/// Encrypts to `recipient` with an ephemeral key (`SecretKey::generate(rng)`) and an IV
/// (16 bytes from `rng`), in that order, as go-ethereum draws them.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::ecies::{self, ECIES_OVERHEAD, EciesError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// let sealed = ecies::encrypt(&bob.public_key(), b"for Bob", &mut OsRandom)?;
/// // 65-byte ephemeral key, 16-byte IV, the ciphertext, a 32-byte HMAC-SHA-256 tag
/// assert_eq!(sealed.len(), 7 + ECIES_OVERHEAD);
/// assert_eq!(ecies::decrypt(&bob, &sealed)?, b"for Bob");
/// // another key, or one changed byte, is refused
/// let eve = SecretKey::generate(&mut OsRandom)?;
/// assert_eq!(ecies::decrypt(&eve, &sealed), Err(EciesError::InvalidMessage));
/// let mut bad = sealed.clone();
/// bad[70] ^= 1;
/// assert_eq!(ecies::decrypt(&bob, &bad), Err(EciesError::InvalidMessage));
/// # Ok(()) }
/// ```
pub fn encrypt(
    recipient: &PublicKey,
    plaintext: &[u8],
    rng: &mut dyn RandomSource,
) -> Result<Vec<u8>, EciesError> {
    if plaintext.is_empty() {
        return Err(EciesError::EmptyPlaintext);
    }
    let ephemeral = SecretKey::generate(rng).map_err(EciesError::Randomness)?;
    let mut iv = [0u8; IV_LEN];
    rng.fill_bytes(&mut iv).map_err(EciesError::Randomness)?;
    encrypt_with(&ephemeral, &iv, recipient, plaintext)
}

/// Deterministic core of [`encrypt`] with a given ephemeral key and IV.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::ecies;
///
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// let ephemeral = SecretKey::generate(&mut OsRandom)?;
/// let a = ecies::encrypt_with(&ephemeral, &[1; 16], &bob.public_key(), b"hi")?;
/// // deterministic: the same ephemeral key and IV give the same bytes
/// assert_eq!(a, ecies::encrypt_with(&ephemeral, &[1; 16], &bob.public_key(), b"hi")?);
/// assert_eq!(&a[..65], &ephemeral.public_key().to_uncompressed()[..]);
/// assert_eq!(&a[65..81], &[1; 16]);
/// assert_eq!(ecies::decrypt(&bob, &a)?, b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encrypt_with(
    ephemeral: &SecretKey,
    iv: &[u8; IV_LEN],
    recipient: &PublicKey,
    plaintext: &[u8],
) -> Result<Vec<u8>, EciesError> {
    if plaintext.is_empty() {
        return Err(EciesError::EmptyPlaintext);
    }
    let keys = EciesKeys::derive(&ephemeral.diffie_hellman(recipient));
    let mut out = Vec::with_capacity(plaintext.len() + ECIES_OVERHEAD);
    out.extend_from_slice(&ephemeral.public_key().to_uncompressed());
    out.extend_from_slice(iv);
    let ct_start = out.len();
    out.extend_from_slice(plaintext);
    let ke = SecretBytes::new(keys.ke());
    if let Some(ct) = out.get_mut(ct_start..) {
        pfs_crypto::cipher::aes128_ctr_apply(ke.expose(), iv, ct);
    }
    let tag = hmac_sha256_parts(
        keys.km(),
        &[out.get(UNCOMPRESSED_LEN..).unwrap_or_default()],
    );
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts go-ethereum ECIES `data` with the recipient's private key.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::ecies::{self, EciesError};
///
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// let sealed = ecies::encrypt(&bob.public_key(), b"for Bob", &mut OsRandom)?;
/// assert_eq!(ecies::decrypt(&bob, &sealed)?, b"for Bob");
/// // truncated: shorter than R, IV and tag
/// assert_eq!(ecies::decrypt(&bob, &sealed[..90]), Err(EciesError::InvalidMessage));
/// // a tampered tag
/// let mut bad = sealed.clone();
/// *bad.last_mut().ok_or("empty")? ^= 1;
/// assert_eq!(ecies::decrypt(&bob, &bad), Err(EciesError::InvalidMessage));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decrypt(key: &SecretKey, data: &[u8]) -> Result<Vec<u8>, EciesError> {
    let Some(&first) = data.first() else {
        return Err(EciesError::InvalidMessage);
    };
    if !matches!(first, 2..=4) {
        return Err(EciesError::InvalidPublicKey);
    }
    if data.len() < UNCOMPRESSED_LEN + TAG_LEN + 1 {
        return Err(EciesError::InvalidMessage);
    }
    // go-ethereum always reads 65 bytes and unmarshals them as an uncompressed point, so
    // a 02/03 prefix passes the length check but fails here.
    if first != 4 {
        return Err(EciesError::InvalidPublicKey);
    }
    let (r_bytes, rest) = data.split_at(UNCOMPRESSED_LEN);
    let r = PublicKey::from_sec1(r_bytes).map_err(|_| EciesError::InvalidPublicKey)?;
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    // go-ethereum would slice an IV out of a body shorter than 16 bytes; refuse it.
    if body.len() < IV_LEN {
        return Err(EciesError::InvalidMessage);
    }
    let keys = EciesKeys::derive(&key.diffie_hellman(&r));
    hmac_sha256_verify(keys.km(), &[body], tag).map_err(|_| EciesError::InvalidMessage)?;
    let (iv, ct) = body.split_at(IV_LEN);
    let mut iv_arr = [0u8; IV_LEN];
    iv_arr.copy_from_slice(iv);
    let mut out = ct.to_vec();
    let ke = SecretBytes::new(keys.ke());
    pfs_crypto::cipher::aes128_ctr_apply(ke.expose(), &iv_arr, &mut out);
    Ok(out)
}
