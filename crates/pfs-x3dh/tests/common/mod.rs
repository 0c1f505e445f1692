//! Shared helpers for the integration tests.
#![allow(dead_code)]

use pfs_crypto::{CryptoError, RandomSource, SecretBytes};
use std::collections::VecDeque;

/// A deterministic source: `fill_bytes` serves a byte stream (then zeros), and
/// `secp256k1_secret` serves the queued keys first.
#[derive(Default)]
pub struct ScriptedRng {
    pub keys: VecDeque<[u8; 32]>,
    pub bytes: VecDeque<u8>,
    pub counter: u64,
}

impl ScriptedRng {
    pub fn with_keys(keys: &[[u8; 32]]) -> Self {
        Self {
            keys: keys.iter().copied().collect(),
            ..Self::default()
        }
    }
    pub fn with_bytes(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.iter().copied().collect(),
            ..Self::default()
        }
    }
}

impl RandomSource for ScriptedRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        for d in dest {
            *d = match self.bytes.pop_front() {
                Some(b) => b,
                None => {
                    // A simple counter-based stream once the script is exhausted.
                    self.counter = self.counter.wrapping_add(1);
                    pfs_crypto::hash::keccak256(&self.counter.to_le_bytes())[0]
                }
            };
        }
        Ok(())
    }
    fn secp256k1_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        match self.keys.pop_front() {
            Some(k) => Ok(SecretBytes::new(k)),
            None => {
                let mut s = SecretBytes::zero();
                self.fill_bytes(s.expose_mut())?;
                Ok(s)
            }
        }
    }
}

pub fn vectors(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../../../shared/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

pub fn hexf(v: &serde_json::Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap_or_else(|| panic!("missing {key}"))).unwrap()
}

pub fn arr32(v: &[u8]) -> [u8; 32] {
    v.try_into().unwrap()
}
