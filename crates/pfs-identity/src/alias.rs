//! The three-word name ("alias", "generated name", §2): a 64-bit LFSR seeded with the
//! low 64 bits of X picks two adjectives and an animal.
//!
//! About 2^31.6 different names exist, so a name can be found for a chosen key by
//! brute force: it is a label, not a way to verify a key.

use crate::key::{KeyError, parse_public_key_string};
use crate::words::WordLists;
use pfs_crypto::secp256k1::PublicKey;

/// The Fibonacci LFSR of status-go's `alias/flfsr.go` (taps polynomial `0xB8`).
///
/// ```
/// use pfs_identity::Lfsr;
/// // status-go's `alias/generate_test.go`: seed 42.
/// let mut lfsr = Lfsr::new(42);
/// assert_eq!(
///     [lfsr.next_state(), lfsr.next_state(), lfsr.next_state()],
///     [0x54, 0xa9, 0x153]
/// );
/// // Zero is a fixed point.
/// assert_eq!(Lfsr::new(0).next_state(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lfsr {
    state: u64,
}

impl Lfsr {
    /// The tap mask.
    pub const POLY: u64 = 0xB8;

    /// An LFSR in state `seed`.
    ///
    /// ```
    /// use pfs_identity::Lfsr;
    /// // status-go's `alias/generate_test.go`: the first state after seed 42.
    /// assert_eq!(Lfsr::new(42).next_state(), 0x54);
    /// assert_eq!(Lfsr::new(42), Lfsr::new(42));
    /// ```
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// One step: shifts in the parity of `state & 0xB8` and returns the new state.
    ///
    /// 42 = 0b101010; `42 & 0xB8` = 0b101000 has two bits set, so a 0 is shifted in (0x54);
    /// then `0x54 & 0xB8` = 0x10 has one, so a 1 (0xa9):
    ///
    /// ```
    /// use pfs_identity::Lfsr;
    /// let mut lfsr = Lfsr::new(42);
    /// assert_eq!((lfsr.next_state(), lfsr.next_state()), (0x54, 0xa9));
    /// ```
    pub fn next_state(&mut self) -> u64 {
        let bit = u64::from((self.state & Self::POLY).count_ones() & 1);
        self.state = (self.state << 1) | bit;
        self.state
    }
}

/// The seed status-go derives from a key: X mod 2^64 (the last 8 bytes of X).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The generator G (the chat key of the secret key 1); expected values from status-go.
/// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
/// let pk = pfs_identity::parse_key_bytes(&g)?;
/// // X of G ends in …59f2815b16f81798.
/// assert_eq!(pfs_identity::alias::seed(&pk), 0x59f2815b16f81798);
/// # Ok(())
/// # }
/// ```
pub fn seed(pk: &PublicKey) -> u64 {
    let c = pk.to_compressed();
    let mut b = [0u8; 8];
    b.copy_from_slice(&c[25..33]);
    u64::from_be_bytes(b)
}

/// A three-word name with its intermediate values.
///
/// ```
/// use pfs_identity::{Alias, WordLists};
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
/// let alias = Alias::for_key(&pk, &words);
/// assert_eq!(alias.seed, 0x59f2815b16f81798); // the low 64 bits of X
/// // status-go: "Moral Overdue Bushviper", indices 943, 1162, 21.
/// assert_eq!(alias.indices, [943, 1162, 21]);
/// assert_eq!(alias.name, "Adj943 Adj1162 Animal21");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The LFSR seed.
    pub seed: u64,
    /// The three successive LFSR states.
    pub lfsr_outputs: [u64; 3],
    /// `[adjective1, adjective2, animal]` indices.
    pub indices: [usize; 3],
    /// `"Adjective Adjective Animal"`.
    pub name: String,
}

impl Alias {
    /// The name for an LFSR seed (`alias.generate(seed)`).
    ///
    /// The real lists are status-go's (loaded with [`WordLists::load_dir`]); numbered
    /// stand-ins show the indices:
    ///
    /// ```
    /// use pfs_identity::{Alias, WordLists};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use pfs_identity::words::{ADJECTIVES_LEN, ANIMALS_LEN, EMOJIS_LEN};
    /// let list = |name: &str, len| (0..len).map(|i| format!("{name}{i}")).collect::<Vec<_>>();
    /// let words = WordLists::from_vecs(
    ///     list("Adj", ADJECTIVES_LEN),
    ///     list("Animal", ANIMALS_LEN),
    ///     list("e", EMOJIS_LEN),
    /// )?;
    /// let alias = Alias::from_seed(42, &words);
    /// // status-go's indices for seed 42 ("Hard Tame Brownbutterfly" with its lists).
    /// assert_eq!(alias.indices, [84, 169, 339]);
    /// assert_eq!(alias.name, "Adj84 Adj169 Animal339");
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_seed(seed: u64, words: &WordLists) -> Self {
        let (adj, ani) = (words.adjectives(), words.animals());
        let mut lfsr = Lfsr::new(seed);
        let o = [lfsr.next_state(), lfsr.next_state(), lfsr.next_state()];
        let idx = |v: u64, len: usize| -> usize {
            // Lengths are checked non-zero by `WordLists`; `max(1)` keeps this total.
            let r = v % (len.max(1) as u64);
            usize::try_from(r).unwrap_or(0)
        };
        let indices = [
            idx(o[0], adj.len()),
            idx(o[1], adj.len()),
            idx(o[2], ani.len()),
        ];
        fn word(list: &[String], i: usize) -> &str {
            list.get(i).map(String::as_str).unwrap_or("")
        }
        let name = format!(
            "{} {} {}",
            word(adj, indices[0]),
            word(adj, indices[1]),
            word(ani, indices[2])
        );
        Self {
            seed,
            lfsr_outputs: o,
            indices,
            name,
        }
    }

    /// The name of a key.
    ///
    /// ```
    /// use pfs_identity::{Alias, WordLists};
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
    /// let alias = Alias::for_key(&pk, &words);
    /// // status-go: "Moral Overdue Bushviper", indices 943, 1162, 21.
    /// assert_eq!(alias.indices, [943, 1162, 21]);
    /// assert_eq!(alias.lfsr_outputs[0], 0xb3e502b62df02f31);
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_key(pk: &PublicKey, words: &WordLists) -> Self {
        Self::from_seed(seed(pk), words)
    }

    /// The name of a public-key string (`alias.GenerateFromPublicKeyString`); only X
    /// matters, so case does not.
    ///
    /// ```
    /// use pfs_identity::{Alias, WordLists, public_key_string};
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
    /// let s = public_key_string(&pk);
    /// let lower = Alias::from_public_key_string(&s, &words)?;
    /// let s_upper = s.to_uppercase().replacen("0X", "0x", 1);
    /// let upper = Alias::from_public_key_string(&s_upper, &words)?;
    /// assert_eq!(lower, upper);
    /// assert_eq!(lower, Alias::for_key(&pk, &words));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_public_key_string(s: &str, words: &WordLists) -> Result<Self, KeyError> {
        Ok(Self::for_key(&parse_public_key_string(s)?, words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_zero_is_a_fixed_point() {
        let mut l = Lfsr::new(0);
        for _ in 0..100 {
            assert_eq!(l.next_state(), 0);
        }
    }

    #[test]
    fn seed_42_outputs() {
        // alias_seed_case in shared/vectors/identity-visuals.json (upstream generate_test.go).
        let mut l = Lfsr::new(42);
        assert_eq!(
            [l.next_state(), l.next_state(), l.next_state()],
            [0x54, 0xa9, 0x153]
        );
    }
}
