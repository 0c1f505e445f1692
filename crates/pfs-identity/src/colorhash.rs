//! The colour hash (identity ring, §5) and the colour ID (§6).

use crate::bigint::{minimal_hex, rem_small, to_base};
use crate::emoji::Slices;
use crate::key::{KeyError, parse_public_key_string};
use crate::words::RingPalette;
use pfs_crypto::secp256k1::PublicKey;

/// Base of the colour-hash digits (5 unit counts × 32 colours).
pub const COLOR_HASH_BASE: u32 = 160;
/// Number of colours a colour index selects from.
pub const COLORS: u8 = 32;
/// Modulus of the colour ID (`colorPalletLength - 1`).
pub const COLOR_ID_MODULUS: u32 = 11;

/// A colour hash: segments `[units 1..5, colour index 0..31]`.
///
/// ```
/// use pfs_identity::ColorHash;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// let c = ColorHash::for_key(&pk);
/// assert_eq!(c.value_hex(), "dce28d959f2815b16f81"); // X nibbles 41..60
/// assert_eq!(c.segments.len(), c.raw_digits.len());
/// assert_eq!(c.segments[0], [3, 30]); // status-go's first segment for G
/// assert!(c.segments.iter().all(|[units, color]| (1..=5).contains(units) && *color < 32));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColorHash {
    /// The 80-bit value (X nibbles 41..60), big-endian.
    pub value: [u8; 10],
    /// Base-160 digits of the value, most significant first, before de-duplication.
    pub raw_digits: Vec<u8>,
    /// The segments, as status-go's `[][2]int`.
    pub segments: Vec<[u8; 2]>,
}

impl ColorHash {
    /// The colour hash of a key (`colorhash.GenerateFor`).
    ///
    /// ```
    /// use pfs_identity::ColorHash;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let c = ColorHash::for_key(&pk);
    /// assert_eq!(c.value_hex(), "dce28d959f2815b16f81");
    /// assert_eq!(
    ///     c.raw_digits,
    ///     [94, 139, 15, 153, 124, 135, 60, 32, 85, 95, 33]
    /// );
    /// let expected = [
    ///     [3, 30],
    ///     [5, 11],
    ///     [1, 15],
    ///     [5, 25],
    ///     [4, 28],
    ///     [5, 7],
    ///     [2, 28],
    ///     [2, 0],
    ///     [3, 21],
    ///     [3, 31],
    ///     [2, 1],
    /// ];
    /// assert_eq!(c.segments, expected);
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_key(pk: &PublicKey) -> Self {
        let value = Slices::for_key(pk).color_value;
        let raw_digits: Vec<u8> = to_base(&value, COLOR_HASH_BASE)
            .unwrap_or_default()
            .into_iter()
            .map(|d| u8::try_from(d).unwrap_or(0))
            .collect();
        let mut segments: Vec<[u8; 2]> = Vec::with_capacity(raw_digits.len());
        for &d in &raw_digits {
            let units = d / COLORS + 1;
            let mut color = d % COLORS;
            // De-duplicate against the already adjusted previous colour.
            if let Some([_, prev]) = segments.last()
                && *prev == color
            {
                color = (color + 1) % COLORS;
            }
            segments.push([units, color]);
        }
        Self {
            value,
            raw_digits,
            segments,
        }
    }

    /// The colour hash of a public-key string; only X matters, so case does not.
    ///
    /// ```
    /// use pfs_identity::{ColorHash, KeyError, public_key_string};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let c = ColorHash::from_public_key_string(&public_key_string(&pk))?;
    /// assert_eq!(c, ColorHash::for_key(&pk));
    /// assert_eq!(
    ///     ColorHash::from_public_key_string("0x04"),
    ///     Err(KeyError::WrongLength {
    ///         expected: "65 (uncompressed, 0x04…)",
    ///         actual: 1
    ///     })
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_public_key_string(s: &str) -> Result<Self, KeyError> {
        Ok(Self::for_key(&parse_public_key_string(s)?))
    }

    /// The value as minimal lowercase hex (`"0"` for zero).
    ///
    /// ```
    /// use pfs_identity::ColorHash;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// assert_eq!(ColorHash::for_key(&pk).value_hex(), "dce28d959f2815b16f81");
    /// let zero = ColorHash { value: [0; 10], raw_digits: vec![], segments: vec![] };
    /// assert_eq!(zero.value_hex(), "0");
    /// # Ok(())
    /// # }
    /// ```
    pub fn value_hex(&self) -> String {
        minimal_hex(&self.value)
    }

    /// The ring colour of each segment, `palette[colour index]`.
    ///
    /// ```
    /// use pfs_identity::{ColorHash, RingPalette};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// // A stand-in palette: colour i is #0000ii.
    /// let palette = RingPalette::from_vec((0..32).map(|i| format!("#0000{i:02x}")).collect())?;
    /// let rings = ColorHash::for_key(&pk).ring_colors(&palette);
    /// assert_eq!(rings.len(), 11);
    /// assert_eq!(rings[..3], ["#00001e", "#00000b", "#00000f"]); // colour indices 30, 11, 15
    /// # Ok(())
    /// # }
    /// ```
    pub fn ring_colors(&self, palette: &RingPalette) -> Vec<String> {
        self.segments
            .iter()
            .map(|[_, c]| {
                palette
                    .colors()
                    .get(usize::from(*c))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// The colour ID of a key: its public-key string read as a number, mod 11
/// (`identity.ToColorID`), computed on the 65 uncompressed bytes.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// assert_eq!(pfs_identity::color_id(&pk), 9);
/// # Ok(())
/// # }
/// ```
pub fn color_id(pk: &PublicKey) -> u8 {
    let r = rem_small(&pk.to_uncompressed(), COLOR_ID_MODULUS).unwrap_or(0);
    u8::try_from(r).unwrap_or(0)
}

/// `identity.ToColorID(s)` on any `0x`-prefixed hex string (either case, any length):
/// the number it denotes, mod 11. The key itself is not validated, as in status-go.
///
/// ```
/// use pfs_identity::{KeyError, color_id_from_str};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(color_id_from_str("0x0b")?, 0); // 11 mod 11
/// assert_eq!(color_id_from_str("0X10")?, 5); // 16 mod 11
/// assert_eq!(color_id_from_str("0x"), Err(KeyError::BadHex));
/// assert_eq!(color_id_from_str("10"), Err(KeyError::BadPrefix("\"0x\"")));
/// # Ok(())
/// # }
/// ```
pub fn color_id_from_str(s: &str) -> Result<u8, KeyError> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(KeyError::BadPrefix("\"0x\""))?;
    if digits.is_empty() {
        return Err(KeyError::BadHex);
    }
    let mut r = 0u32;
    for c in digits.chars() {
        let d = c.to_digit(16).ok_or(KeyError::BadHex)?;
        r = (r * 16 + d) % COLOR_ID_MODULUS;
    }
    u8::try_from(r).map_err(|_| KeyError::BadHex)
}

/// Parses a public-key string and returns its colour ID (validating the key).
///
/// ```
/// use pfs_identity::colorhash::color_id_from_public_key_string;
/// use pfs_identity::{color_id_from_str, public_key_string};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// assert_eq!(color_id_from_public_key_string(&public_key_string(&pk))?, 9);
/// // `color_id_from_str` takes any number; this one insists on a key.
/// assert_eq!(color_id_from_str("0x0b")?, 0);
/// assert!(color_id_from_public_key_string("0x0b").is_err());
/// # Ok(())
/// # }
/// ```
pub fn color_id_from_public_key_string(s: &str) -> Result<u8, KeyError> {
    parse_public_key_string(s)?;
    color_id_from_str(s)
}
