//! Everything shown for one chat key, bundled (serialisable for `--json` output).

use crate::alias::Alias;
use crate::colorhash::{ColorHash, color_id};
use crate::emoji::EmojiHash;
use crate::identicon::Identicon;
use crate::key::{KeyError, parse_chat_key, parse_public_key_string, public_key_string};
use crate::words::{RingPalette, WordLists};
use crate::zq3::to_zq3;
use pfs_crypto::secp256k1::PublicKey;
use serde::Serialize;

/// All human-checkable representations of one chat key.
///
/// It serialises (for `--json` output):
///
/// ```
/// use pfs_identity::Visuals;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let v = Visuals::from_chat_key(
///     "zQ3shVc2UkAfJCdc1TR8E66J85h48P43r93q8jGPkPpjF9Ef9",
///     None,
///     None,
/// )?;
/// let json = serde_json::to_value(&v)?;
/// assert_eq!(json["color_id"], 9);
/// assert_eq!(
///     json["identicon"]["md5_hex"],
///     "d586bd87f69f4c810b556893e47c842d"
/// );
/// assert!(json["alias"].is_null());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visuals {
    /// `"0x04…"`: the string the identicon was computed from.
    pub public_key_string: String,
    /// Hex of the 33-byte compressed key.
    pub public_key_compressed_hex: String,
    /// The `zQ3sh…` compressed chat key (compare this in full to verify a key).
    pub compressed_key_zq3: String,
    /// The three-word name; `None` without word lists. A label only.
    pub alias: Option<String>,
    /// The 14 emojis; `None` without word lists.
    pub emoji_hash: Option<Vec<String>>,
    /// The 14 emoji indices (always available).
    pub emoji_hash_indices: [u16; 14],
    /// The colour hash segments `[units, colour index]`.
    pub color_hash: Vec<[u8; 2]>,
    /// Ring colour per colour-hash segment; `None` without a palette.
    pub ring_colors: Option<Vec<String>>,
    /// The colour ID (0..10).
    pub color_id: u8,
    /// The block identicon.
    pub identicon: Identicon,
}

impl Visuals {
    fn build(
        pk: &PublicKey,
        pk_string: String,
        words: Option<&WordLists>,
        palette: Option<&RingPalette>,
    ) -> Self {
        let emoji = EmojiHash::for_key(pk);
        let color = ColorHash::for_key(pk);
        Self {
            identicon: Identicon::from_string(&pk_string),
            public_key_string: pk_string,
            public_key_compressed_hex: hex::encode(pk.as_compressed()),
            compressed_key_zq3: to_zq3(pk),
            alias: words.map(|w| Alias::for_key(pk, w).name),
            emoji_hash: words.map(|w| emoji.emojis(w)),
            emoji_hash_indices: emoji.indices,
            ring_colors: palette.map(|p| color.ring_colors(p)),
            color_hash: color.segments,
            color_id: color_id(pk),
        }
    }

    /// The representations of a key, with the identicon of its canonical lowercase
    /// public-key string.
    ///
    /// ```
    /// use pfs_identity::{RingPalette, Visuals};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let palette = RingPalette::from_vec(vec!["#000000".to_string(); 32])?;
    /// let v = Visuals::for_key(&pk, None, Some(&palette));
    /// assert_eq!(
    ///     v.compressed_key_zq3,
    ///     "zQ3shVc2UkAfJCdc1TR8E66J85h48P43r93q8jGPkPpjF9Ef9"
    /// );
    /// assert_eq!(v.color_hash.len(), 11);
    /// assert_eq!(v.ring_colors.map(|r| r.len()), Some(11));
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_key(
        pk: &PublicKey,
        words: Option<&WordLists>,
        palette: Option<&RingPalette>,
    ) -> Self {
        Self::build(pk, public_key_string(pk), words, palette)
    }

    /// The representations of a status-go public-key string, with the identicon of that
    /// string exactly as given (status-go hashes it case-sensitively).
    ///
    /// ```
    /// use pfs_identity::{Visuals, public_key_string};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let lower = public_key_string(&pk);
    /// let upper = lower.to_uppercase().replacen("0X", "0x", 1);
    /// let (a, b) = (
    ///     Visuals::from_public_key_string(&lower, None, None)?,
    ///     Visuals::from_public_key_string(&upper, None, None)?,
    /// );
    /// // The same key, but another identicon: status-go hashes the string as given.
    /// assert_eq!(a.compressed_key_zq3, b.compressed_key_zq3);
    /// assert_ne!(a.identicon.md5(), b.identicon.md5());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_public_key_string(
        s: &str,
        words: Option<&WordLists>,
        palette: Option<&RingPalette>,
    ) -> Result<Self, KeyError> {
        let pk = parse_public_key_string(s)?;
        Ok(Self::build(&pk, s.to_owned(), words, palette))
    }

    /// The representations of any textual chat key (`zQ3…`, `0x02…`/`0x03…`, `0x04…`).
    /// A `0x04…` string keeps its case for the identicon, as status-go does; other
    /// forms use the canonical lowercase string.
    ///
    /// ```
    /// use pfs_identity::{KeyError, Visuals};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let from_hex = Visuals::from_chat_key(&format!("0x{}", hex::encode(&g)), None, None)?;
    /// assert_eq!(from_hex, Visuals::for_key(&pk, None, None));
    /// // '0' is not in the base58btc alphabet.
    /// assert_eq!(
    ///     Visuals::from_chat_key("zQ3sh0", None, None).err(),
    ///     Some(KeyError::BadBase58)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_chat_key(
        s: &str,
        words: Option<&WordLists>,
        palette: Option<&RingPalette>,
    ) -> Result<Self, KeyError> {
        let s = s.trim();
        if let Ok(v) = Self::from_public_key_string(s, words, palette) {
            return Ok(v);
        }
        Ok(Self::for_key(&parse_chat_key(s)?, words, palette))
    }
}
