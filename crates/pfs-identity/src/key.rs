//! Chat-key input forms and their parsing (§1 of the identity-visuals notes).
//!
//! A chat key is a secp256k1 point. status-go passes it around as the **public-key
//! string** `"0x" + lowercase_hex(04 ‖ X ‖ Y)` (132 characters); the apps display the
//! compressed `zQ3sh…` form ([`crate::zq3`]). Raw bytes come as SEC1 compressed
//! (33 bytes) or uncompressed (65 bytes).

use pfs_crypto::secp256k1::PublicKey;

/// Length of a compressed SEC1 key.
pub const COMPRESSED_LEN: usize = 33;
/// Length of an uncompressed SEC1 key.
pub const UNCOMPRESSED_LEN: usize = 65;

/// Why a chat key could not be parsed.
///
/// ```
/// use pfs_identity::{KeyError, parse_key_bytes, parse_public_key_string};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert!(matches!(parse_key_bytes(&[2; 32]), Err(KeyError::WrongLength { actual: 32, .. })));
/// assert_eq!(parse_public_key_string("0xzz"), Err(KeyError::BadHex));
/// let mut x_too_big = [0xff; 33];
/// x_too_big[0] = 0x02; // x ≥ p: not a field element
/// assert_eq!(parse_key_bytes(&x_too_big), Err(KeyError::NotOnCurve));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text was not valid hexadecimal.
    #[error("chat key is not valid hex")]
    BadHex,
    /// The text was not valid base58btc (Bitcoin alphabet).
    #[error("chat key is not valid base58btc")]
    BadBase58,
    /// The decoded key had the wrong number of bytes.
    #[error("chat key has {actual} bytes, expected {expected}")]
    WrongLength {
        /// The accepted length(s), in words.
        expected: &'static str,
        /// The length received.
        actual: usize,
    },
    /// A prefix (text prefix, SEC1 tag byte or multicodec) was not the expected one.
    #[error("bad chat key prefix: expected {0}")]
    BadPrefix(&'static str),
    /// The bytes are well formed but do not encode a point on secp256k1.
    #[error("chat key is not a point on secp256k1")]
    NotOnCurve,
}

/// Parses a SEC1 key: 33 bytes (`02`/`03` ‖ X) or 65 bytes (`04` ‖ X ‖ Y).
///
/// ```
/// use pfs_identity::{KeyError, parse_key_bytes};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// assert_eq!(parse_key_bytes(&pk.to_uncompressed())?, pk);
/// let mut bad = g.clone();
/// bad[0] = 0x04;
/// assert!(matches!(parse_key_bytes(&bad), Err(KeyError::BadPrefix(_))));
/// assert!(matches!(
///     parse_key_bytes(&g[..32]),
///     Err(KeyError::WrongLength { actual: 32, .. })
/// ));
/// bad[0] = 0x02;
/// bad[1..].fill(0xff); // x ≥ p: not a field element
/// assert_eq!(parse_key_bytes(&bad), Err(KeyError::NotOnCurve));
/// # Ok(())
/// # }
/// ```
pub fn parse_key_bytes(bytes: &[u8]) -> Result<PublicKey, KeyError> {
    match (bytes.len(), bytes.first()) {
        (COMPRESSED_LEN, Some(2 | 3)) | (UNCOMPRESSED_LEN, Some(4)) => {}
        (COMPRESSED_LEN, _) => return Err(KeyError::BadPrefix("0x02 or 0x03 for a 33-byte key")),
        (UNCOMPRESSED_LEN, _) => return Err(KeyError::BadPrefix("0x04 for a 65-byte key")),
        (actual, _) => {
            return Err(KeyError::WrongLength {
                expected: "33 (compressed) or 65 (uncompressed)",
                actual,
            });
        }
    }
    PublicKey::from_sec1(bytes).map_err(|_| KeyError::NotOnCurve)
}

/// Strips a `0x` or `0X` prefix and hex-decodes the rest (either case).
pub(crate) fn decode_0x_hex(s: &str) -> Result<Vec<u8>, KeyError> {
    let rest = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(KeyError::BadPrefix("\"0x\""))?;
    hex::decode(rest).map_err(|_| KeyError::BadHex)
}

/// Parses the status-go public-key string `"0x04…"`: a `0x`/`0X` prefix and the hex
/// (either case) of a 65-byte uncompressed key, as `crypto.UnmarshalPubkey` requires.
///
/// status-go's alias parser drops the first two characters without looking at them and
/// the emoji/colour hash accept any Go `big.Int` base-0 syntax; this parser is strict and
/// accepts exactly the strings status-go itself produces (in either case).
///
/// ```
/// use pfs_identity::{KeyError, parse_public_key_string, public_key_string};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// let s = public_key_string(&pk);
/// assert_eq!(
///     parse_public_key_string(&s.to_uppercase().replacen("0X", "0x", 1))?,
///     pk
/// );
/// // A compressed key is not a status-go public-key string.
/// let compressed = format!("0x{}", hex::encode(&g));
/// assert!(matches!(
///     parse_public_key_string(&compressed),
///     Err(KeyError::WrongLength { actual: 33, .. })
/// ));
/// assert_eq!(
///     parse_public_key_string(&s[2..]),
///     Err(KeyError::BadPrefix("\"0x\""))
/// );
/// # Ok(())
/// # }
/// ```
pub fn parse_public_key_string(s: &str) -> Result<PublicKey, KeyError> {
    let bytes = decode_0x_hex(s)?;
    if bytes.len() != UNCOMPRESSED_LEN {
        return Err(KeyError::WrongLength {
            expected: "65 (uncompressed, 0x04…)",
            actual: bytes.len(),
        });
    }
    parse_key_bytes(&bytes)
}

/// Parses any textual chat key: the `zQ3…` compressed form, or `0x` + hex of a
/// compressed (33-byte) or uncompressed (65-byte) key.
///
/// ```
/// use pfs_identity::{parse_chat_key, public_key_string};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// assert_eq!(
///     parse_chat_key(" zQ3shVc2UkAfJCdc1TR8E66J85h48P43r93q8jGPkPpjF9Ef9\n")?,
///     pk
/// );
/// assert_eq!(parse_chat_key(&format!("0x{}", hex::encode(&g)))?, pk);
/// assert_eq!(parse_chat_key(&public_key_string(&pk))?, pk);
/// assert!(parse_chat_key("0xnothex").is_err());
/// # Ok(())
/// # }
/// ```
pub fn parse_chat_key(s: &str) -> Result<PublicKey, KeyError> {
    let s = s.trim();
    if s.starts_with('z') {
        return crate::zq3::parse_zq3(s);
    }
    parse_key_bytes(&decode_0x_hex(s)?)
}

/// The canonical public-key string of a key: `"0x" + lowercase_hex(04 ‖ X ‖ Y)`.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// let s = pfs_identity::public_key_string(&pk);
/// assert_eq!(s.len(), 132);
/// assert_eq!(
///     s,
///     "0x0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\
///      483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
/// );
/// # Ok(())
/// # }
/// ```
pub fn public_key_string(pk: &PublicKey) -> String {
    format!("0x{}", hex::encode(pk.to_uncompressed()))
}
