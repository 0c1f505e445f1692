//! The emoji hash (§4): 14 emojis encoding 160 bits of X, and the slicing of the
//! compressed key shared with the colour hash (`identity.Slices`).

use crate::bigint::{minimal_hex, strip_leading_zeros, to_base};
use crate::key::{KeyError, parse_public_key_string};
use crate::words::WordLists;
use pfs_crypto::secp256k1::PublicKey;

/// Number of emojis in an emoji hash.
pub const EMOJI_HASH_LEN: usize = 14;
/// The base of the emoji-hash digits (the alphabet size).
pub const EMOJI_BASE: u32 = 2757;

/// `identity.Slices(pub33)`: the 33-byte compressed key seen as 66 hex nibbles, cut
/// into `[0,3)`, `[3,43)` (emoji value), `[43,63)` (colour value) and `[63,66)`.
///
/// ```
/// use pfs_identity::{ColorHash, EmojiHash, Slices};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// let s = Slices::for_key(&pk);
/// // The emoji and colour hashes read their values from these slices.
/// assert_eq!(s.emoji_value, EmojiHash::for_key(&pk).value);
/// assert_eq!(s.color_value, ColorHash::for_key(&pk).value);
/// assert_eq!((s.cut_a, s.cut_b), ([0x00, 0x27], [0x07, 0x98])); // "027…" and "…798"
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slices {
    /// Nibbles 0..3 (the SEC1 tag and the first nibble of X), big-endian, 12 bits.
    pub cut_a: [u8; 2],
    /// Nibbles 3..43: the 160-bit emoji value.
    pub emoji_value: [u8; 20],
    /// Nibbles 43..63: the 80-bit colour value.
    pub color_value: [u8; 10],
    /// Nibbles 63..66 (the last three nibbles of X), big-endian, 12 bits.
    pub cut_b: [u8; 2],
}

fn pack(nibbles: &[u8], out: &mut [u8]) {
    // Right-aligned: an odd count gets a leading zero nibble.
    let pad = out.len() * 2 - nibbles.len();
    let padded = std::iter::repeat_n(0u8, pad).chain(nibbles.iter().copied());
    let v: Vec<u8> = padded.collect();
    for (o, pair) in out.iter_mut().zip(v.chunks_exact(2)) {
        if let [hi, lo] = pair {
            *o = (hi << 4) | lo;
        }
    }
}

impl Slices {
    /// Slices a compressed key.
    ///
    /// ```
    /// use pfs_identity::Slices;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let slices = Slices::of_compressed(&g.as_slice().try_into()?);
    /// assert_eq!(slices, Slices::for_key(&pk));
    /// // status-go's `identity.Slices` of G.
    /// assert_eq!(
    ///     slices.to_hex(),
    ///     [
    ///         "27",
    ///         "9be667ef9dcbbac55a06295ce870b07029bfcdb2",
    ///         "dce28d959f2815b16f81",
    ///         "0798"
    ///     ]
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn of_compressed(pub33: &[u8; 33]) -> Self {
        let nib: Vec<u8> = pub33.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect();
        let mut s = Self {
            cut_a: [0; 2],
            emoji_value: [0; 20],
            color_value: [0; 10],
            cut_b: [0; 2],
        };
        pack(nib.get(0..3).unwrap_or(&[]), &mut s.cut_a);
        pack(nib.get(3..43).unwrap_or(&[]), &mut s.emoji_value);
        pack(nib.get(43..63).unwrap_or(&[]), &mut s.color_value);
        pack(nib.get(63..66).unwrap_or(&[]), &mut s.cut_b);
        s
    }

    /// Slices a key.
    ///
    /// ```
    /// use pfs_identity::Slices;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// assert_eq!(Slices::for_key(&pk), Slices::of_compressed(pk.as_compressed()));
    /// assert_eq!(Slices::for_key(&pk).to_hex()[3], "0798"); // status-go's last slice of G
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_key(pk: &PublicKey) -> Self {
        Self::of_compressed(pk.as_compressed())
    }

    /// The four slices as status-go returns them: minimal big-endian bytes, hex
    /// (`""` for zero).
    ///
    /// ```
    /// use pfs_identity::Slices;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// // status-go's `identity.Slices` of G.
    /// let [a, emoji, color, b] = Slices::for_key(&pk).to_hex();
    /// assert_eq!((a.as_str(), b.as_str()), ("27", "0798"));
    /// assert_eq!(emoji, "9be667ef9dcbbac55a06295ce870b07029bfcdb2");
    /// assert_eq!(color, "dce28d959f2815b16f81");
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_hex(&self) -> [String; 4] {
        [
            hex::encode(strip_leading_zeros(&self.cut_a)),
            hex::encode(strip_leading_zeros(&self.emoji_value)),
            hex::encode(strip_leading_zeros(&self.color_value)),
            hex::encode(strip_leading_zeros(&self.cut_b)),
        ]
    }
}

/// An emoji hash: the 160-bit value and its 14 base-2757 digits.
///
/// ```
/// use pfs_identity::{EmojiHash, WordLists};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use pfs_identity::words::{ADJECTIVES_LEN, ANIMALS_LEN, EMOJIS_LEN};
/// let list = |name: &str, len| (0..len).map(|i| format!("{name}{i}")).collect::<Vec<_>>();
/// let words = WordLists::from_vecs(
///     list("Adj", ADJECTIVES_LEN),
///     list("Animal", ANIMALS_LEN),
///     list("e", EMOJIS_LEN),
/// )?;
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// let e = EmojiHash::for_key(&pk);
/// assert_eq!(e.indices[0], 1673); // status-go's first index for G
/// assert!(e.indices.iter().all(|&i| i < 2757));
/// assert_eq!(e.emojis(&words)[0], "e1673");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmojiHash {
    /// The 160-bit value (X nibbles 1..40), big-endian.
    pub value: [u8; 20],
    /// The 14 digits (indices into the emoji alphabet), most significant first.
    pub indices: [u16; EMOJI_HASH_LEN],
}

impl EmojiHash {
    /// The emoji hash of a key (`emojihash.GenerateFor`).
    ///
    /// ```
    /// use pfs_identity::EmojiHash;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let e = EmojiHash::for_key(&pk);
    /// assert_eq!(e.value_hex(), "9be667ef9dcbbac55a06295ce870b07029bfcdb2");
    /// assert_eq!(
    ///     e.indices,
    ///     [
    ///         1673, 2460, 1673, 1988, 2507, 775, 439, 154, 2292, 568, 562, 2058, 955, 2262
    ///     ]
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_key(pk: &PublicKey) -> Self {
        let value = Slices::for_key(pk).emoji_value;
        let digits = to_base(&value, EMOJI_BASE).unwrap_or_default();
        let mut indices = [0u16; EMOJI_HASH_LEN];
        // Left-pad to 14 digits: 2757^14 > 2^160, so the digits always fit.
        for (slot, d) in indices.iter_mut().rev().zip(digits.iter().rev()) {
            *slot = u16::try_from(*d).unwrap_or(0);
        }
        Self { value, indices }
    }

    /// The emoji hash of a public-key string; only X matters, so case does not.
    ///
    /// ```
    /// use pfs_identity::{EmojiHash, public_key_string};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let upper = public_key_string(&pk)
    ///     .to_uppercase()
    ///     .replacen("0X", "0x", 1);
    /// assert_eq!(
    ///     EmojiHash::from_public_key_string(&upper)?,
    ///     EmojiHash::for_key(&pk)
    /// );
    /// assert!(EmojiHash::from_public_key_string("zQ3sh").is_err()); // a public-key string only
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_public_key_string(s: &str) -> Result<Self, KeyError> {
        Ok(Self::for_key(&parse_public_key_string(s)?))
    }

    /// The value as minimal lowercase hex (`"0"` for zero).
    ///
    /// ```
    /// use pfs_identity::EmojiHash;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// assert_eq!(EmojiHash::for_key(&pk).value_hex(), "9be667ef9dcbbac55a06295ce870b07029bfcdb2");
    /// let zero = EmojiHash { value: [0; 20], indices: [0; 14] };
    /// assert_eq!(zero.value_hex(), "0");
    /// # Ok(())
    /// # }
    /// ```
    pub fn value_hex(&self) -> String {
        minimal_hex(&self.value)
    }

    /// The 14 emojis (exact UTF-8 strings of the alphabet).
    ///
    /// ```
    /// use pfs_identity::{EmojiHash, WordLists};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use pfs_identity::words::{ADJECTIVES_LEN, ANIMALS_LEN, EMOJIS_LEN};
    /// let list = |name: &str, len| (0..len).map(|i| format!("{name}{i}")).collect::<Vec<_>>();
    /// let words = WordLists::from_vecs(
    ///     list("Adj", ADJECTIVES_LEN),
    ///     list("Animal", ANIMALS_LEN),
    ///     list("e", EMOJIS_LEN),
    /// )?;
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let emojis = EmojiHash::for_key(&pk).emojis(&words);
    /// assert_eq!(emojis.len(), 14);
    /// assert_eq!(emojis[..3], ["e1673", "e2460", "e1673"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn emojis(&self, words: &WordLists) -> Vec<String> {
        self.indices
            .iter()
            .map(|&i| {
                words
                    .emojis()
                    .get(usize::from(i))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }
}
