//! The compressed chat key `zQ3sh…` (§7): multibase base58btc of the multicodec
//! `secp256k1-pub` (`0xe7 0x01`) followed by the 33-byte compressed key. This is the key
//! the apps show; comparing it in full is a real verification.

use crate::key::{COMPRESSED_LEN, KeyError, parse_key_bytes};
use pfs_crypto::secp256k1::PublicKey;

/// The multicodec prefix of a secp256k1 public key (uvarint 0xe7).
pub const MULTICODEC_SECP256K1_PUB: [u8; 2] = [0xe7, 0x01];

/// `"z" + base58btc(0xe7 0x01 ‖ pub33)` (`multiformat.SerializeLegacyKey`).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// let zq3 = pfs_identity::to_zq3(&pk);
/// assert_eq!(zq3, "zQ3shVc2UkAfJCdc1TR8E66J85h48P43r93q8jGPkPpjF9Ef9");
/// // The same construction by hand.
/// assert_eq!(
///     zq3,
///     format!(
///         "z{}",
///         bs58::encode([&[0xe7, 0x01][..], &g].concat()).into_string()
///     )
/// );
/// # Ok(())
/// # }
/// ```
pub fn to_zq3(pk: &PublicKey) -> String {
    let mut bytes = Vec::with_capacity(2 + COMPRESSED_LEN);
    bytes.extend_from_slice(&MULTICODEC_SECP256K1_PUB);
    bytes.extend_from_slice(pk.as_compressed());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Parses a `z…` compressed chat key back (`multiformat.DeserializeCompressedKey`).
///
/// ```
/// use pfs_identity::{KeyError, parse_zq3};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pk = parse_zq3("zQ3shVc2UkAfJCdc1TR8E66J85h48P43r93q8jGPkPpjF9Ef9")?;
/// assert_eq!(
///     hex::encode(pk.to_compressed()),
///     "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
/// );
/// assert_eq!(
///     parse_zq3("Q3sh").err(),
///     Some(KeyError::BadPrefix("multibase \"z\" (base58btc)"))
/// );
/// // '0' is not in the base58btc alphabet.
/// assert_eq!(parse_zq3("zQ3sh0").err(), Some(KeyError::BadBase58));
/// # Ok(())
/// # }
/// ```
pub fn parse_zq3(s: &str) -> Result<PublicKey, KeyError> {
    let body = s
        .strip_prefix('z')
        .ok_or(KeyError::BadPrefix("multibase \"z\" (base58btc)"))?;
    let bytes = bs58::decode(body)
        .into_vec()
        .map_err(|_| KeyError::BadBase58)?;
    let key = bytes
        .strip_prefix(&MULTICODEC_SECP256K1_PUB[..])
        .ok_or(KeyError::BadPrefix("multicodec 0xe7 0x01 (secp256k1-pub)"))?;
    if key.len() != COMPRESSED_LEN {
        return Err(KeyError::WrongLength {
            expected: "33 (compressed) after the multicodec prefix",
            actual: key.len(),
        });
    }
    parse_key_bytes(key)
}
