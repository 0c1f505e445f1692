//! The three-word name ("alias", "generated name", §2): a 64-bit LFSR seeded with the
//! low 64 bits of X picks two adjectives and an animal.
//!
//! About 2^31.6 different names exist, so a name can be found for a chosen key by
//! brute force: it is a label, not a way to verify a key.

use crate::key::{KeyError, parse_public_key_string};
use crate::words::WordLists;
use pfs_crypto::secp256k1::PublicKey;

/// The Fibonacci LFSR of status-go's `alias/flfsr.go` (taps polynomial `0xB8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lfsr {
    state: u64,
}

impl Lfsr {
    /// The tap mask.
    pub const POLY: u64 = 0xB8;

    /// An LFSR in state `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// One step: shifts in the parity of `state & 0xB8` and returns the new state.
    pub fn next_state(&mut self) -> u64 {
        let bit = u64::from((self.state & Self::POLY).count_ones() & 1);
        self.state = (self.state << 1) | bit;
        self.state
    }
}

/// The seed status-go derives from a key: X mod 2^64 (the last 8 bytes of X).
pub fn seed(pk: &PublicKey) -> u64 {
    let c = pk.to_compressed();
    let mut b = [0u8; 8];
    b.copy_from_slice(&c[25..33]);
    u64::from_be_bytes(b)
}

/// A three-word name with its intermediate values.
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
    pub fn for_key(pk: &PublicKey, words: &WordLists) -> Self {
        Self::from_seed(seed(pk), words)
    }

    /// The name of a public-key string (`alias.GenerateFromPublicKeyString`); only X
    /// matters, so case does not.
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
