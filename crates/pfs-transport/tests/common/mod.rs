//! Shared helpers of the integration tests (included with `mod common;`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::SecretKey;
use pfs_crypto::{CryptoError, RandomSource};
use pfs_transport::envelope::{DEFAULT_MAX_ENVELOPE_SIZE, OpenOptions, SealOptions};
use pfs_transport::{PowVariant, Topic};

/// A deterministic byte stream (Keccak of a counter).
pub struct TestRng(pub u64);

impl RandomSource for TestRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        for chunk in dest.chunks_mut(32) {
            self.0 += 1;
            let h = keccak256(&self.0.to_le_bytes());
            chunk.copy_from_slice(&h[..chunk.len()]);
        }
        Ok(())
    }
}

/// A source returning only zero bytes.
pub struct ZeroRng;

impl RandomSource for ZeroRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        dest.fill(0);
        Ok(())
    }
}

/// The vector key rule: `Keccak256("whisper-interop-key-" + name)`.
pub fn key(name: &str) -> SecretKey {
    SecretKey::from_bytes(&keccak256(format!("whisper-interop-key-{name}").as_bytes())).unwrap()
}

pub const NOW: u32 = 1_574_294_400;

pub fn seal_opts(variant: PowVariant) -> SealOptions {
    SealOptions {
        now: NOW,
        ttl: 15,
        topic: Topic::from_string("status"),
        pow_target: 0.002,
        variant,
        max_iterations: 1 << 20,
        max_envelope_size: DEFAULT_MAX_ENVELOPE_SIZE,
    }
}

pub fn open_opts(variant: PowVariant) -> OpenOptions {
    OpenOptions {
        now: NOW,
        variant,
        min_pow: 0.001,
        max_envelope_size: DEFAULT_MAX_ENVELOPE_SIZE,
    }
}
