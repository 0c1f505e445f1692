//! The compressed chat key `zQ3sh…` (§7): multibase base58btc of the multicodec
//! `secp256k1-pub` (`0xe7 0x01`) followed by the 33-byte compressed key. This is the key
//! the apps show; comparing it in full is a real verification.

use crate::key::{COMPRESSED_LEN, KeyError, parse_key_bytes};
use pfs_crypto::secp256k1::PublicKey;

/// The multicodec prefix of a secp256k1 public key (uvarint 0xe7).
pub const MULTICODEC_SECP256K1_PUB: [u8; 2] = [0xe7, 0x01];

/// `"z" + base58btc(0xe7 0x01 ‖ pub33)` (`multiformat.SerializeLegacyKey`).
pub fn to_zq3(pk: &PublicKey) -> String {
    let mut bytes = Vec::with_capacity(2 + COMPRESSED_LEN);
    bytes.extend_from_slice(&MULTICODEC_SECP256K1_PUB);
    bytes.extend_from_slice(pk.as_compressed());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Parses a `z…` compressed chat key back (`multiformat.DeserializeCompressedKey`).
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
