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
    pub fn from_public_key_string(s: &str) -> Result<Self, KeyError> {
        Ok(Self::for_key(&parse_public_key_string(s)?))
    }

    /// The value as minimal lowercase hex (`"0"` for zero).
    pub fn value_hex(&self) -> String {
        minimal_hex(&self.value)
    }

    /// The ring colour of each segment, `palette[colour index]`.
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
pub fn color_id(pk: &PublicKey) -> u8 {
    let r = rem_small(&pk.to_uncompressed(), COLOR_ID_MODULUS).unwrap_or(0);
    u8::try_from(r).unwrap_or(0)
}

/// `identity.ToColorID(s)` on any `0x`-prefixed hex string (either case, any length):
/// the number it denotes, mod 11. The key itself is not validated, as in status-go.
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
pub fn color_id_from_public_key_string(s: &str) -> Result<u8, KeyError> {
    parse_public_key_string(s)?;
    color_id_from_str(s)
}
