//! A deterministic [`RandomSource`]: SHA-256 in counter mode over a fixed seed.
//! Never use it outside tests and fuzzing.

use pfs_crypto::{CryptoError, RandomSource};

/// Deterministic randomness: block `i` is `SHA-256(seed ‖ LE64(i))`.
#[derive(Debug, Clone)]
pub struct DetRng {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl DetRng {
    /// A stream named by `label` (different labels give independent streams).
    pub fn new(label: &str) -> Self {
        Self {
            seed: pfs_crypto::hash::sha256(label.as_bytes()),
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }
}

impl RandomSource for DetRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        for b in dest.iter_mut() {
            if self.used == self.block.len() {
                self.block =
                    pfs_crypto::hash::sha256_concat(&[&self.seed, &self.counter.to_le_bytes()]);
                self.counter = self.counter.wrapping_add(1);
                self.used = 0;
            }
            *b = self.block.get(self.used).copied().unwrap_or(0);
            self.used += 1;
        }
        Ok(())
    }
}
