//! Replaying the recorded randomness and time of a vector file (README §4, method A).

use pfs_crypto::{CryptoError, RandomSource, SecretBytes};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct State {
    keys: Vec<[u8; 32]>,
    key_pos: usize,
    reads: Vec<Vec<u8>>,
    read_pos: usize,
}

/// Hands out `generated_keys` in `seq` order for key generation and
/// `random_stream_reads` in order for other reads. Clones share the position.
#[derive(Debug, Clone, Default)]
pub struct Replay(Arc<Mutex<State>>);

impl Replay {
    pub fn new(keys: Vec<[u8; 32]>, reads: Vec<Vec<u8>>) -> Self {
        Self(Arc::new(Mutex::new(State {
            keys,
            reads,
            ..State::default()
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.0.lock() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Skips to key index `pos`.
    pub fn set_key_pos(&self, pos: usize) {
        self.with(|s| s.key_pos = pos);
    }

    /// (key position, read position), to restore after an attempt that must not count.
    pub fn position(&self) -> (usize, usize) {
        self.with(|s| (s.key_pos, s.read_pos))
    }

    pub fn restore(&self, pos: (usize, usize)) {
        self.with(|s| {
            s.key_pos = pos.0;
            s.read_pos = pos.1;
        });
    }

    /// (keys left, reads left)
    pub fn remaining(&self) -> (usize, usize) {
        self.with(|s| {
            (
                s.keys.len() - s.key_pos.min(s.keys.len()),
                s.reads.len() - s.read_pos.min(s.reads.len()),
            )
        })
    }
}

impl RandomSource for Replay {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        self.with(|s| {
            let Some(r) = s.reads.get(s.read_pos) else {
                return Err(CryptoError::RandomnessExhausted(
                    "random_stream_reads".into(),
                ));
            };
            if r.len() != dest.len() {
                return Err(CryptoError::RandomnessExhausted(format!(
                    "next recorded read has {} bytes, {} asked",
                    r.len(),
                    dest.len()
                )));
            }
            dest.copy_from_slice(r);
            s.read_pos += 1;
            Ok(())
        })
    }

    fn secp256k1_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        self.with(|s| {
            let Some(k) = s.keys.get(s.key_pos) else {
                return Err(CryptoError::RandomnessExhausted("generated_keys".into()));
            };
            let out = SecretBytes::new(*k);
            s.key_pos += 1;
            Ok(out)
        })
    }

    fn x25519_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        Err(CryptoError::RandomnessExhausted(
            "the vector files record no X25519 keys".into(),
        ))
    }
}
