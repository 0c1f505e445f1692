//! Shared helpers of the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_ratchet::{
    ConfirmMode, Limits, RandomSource, RatchetState, SecretBytes, Session, SuiteId, suite,
};

/// A deterministic random source: SHA-256(seed ‖ counter) blocks. Counts the draws.
pub struct TestRng {
    seed: u64,
    counter: u64,
    pub draws: u64,
}

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: 0,
            draws: 0,
        }
    }
}

impl RandomSource for TestRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), pfs_crypto::CryptoError> {
        self.draws += 1;
        for chunk in dest.chunks_mut(32) {
            let block = pfs_crypto::hash::sha256_concat(&[
                &self.seed.to_le_bytes(),
                &self.counter.to_le_bytes(),
            ]);
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

pub const SUITES: [SuiteId; 2] = [SuiteId::StatusGo, SuiteId::Spec];

/// A fresh (initiator, responder) pair of sessions sharing a random SK.
pub fn pair(
    id: SuiteId,
    rng: &mut TestRng,
    limits: Limits,
    mode: ConfirmMode,
) -> (Session, Session) {
    let mut sk = SecretBytes::<32>::zero();
    rng.fill_bytes(sk.expose_mut()).unwrap();
    let (a, b) = match id {
        SuiteId::StatusGo => {
            let spk = suite(id).generate_keypair(rng).unwrap();
            let a = RatchetState::new_status_go_initiator(&sk, &spk.public, rng).unwrap();
            let b = RatchetState::new_status_go_responder(&sk, spk).unwrap();
            (a, b)
        }
        SuiteId::Spec => {
            let a = RatchetState::new_spec_initiator(&sk, rng).unwrap();
            let b = RatchetState::new_spec_responder(&sk).unwrap();
            (a, b)
        }
    };
    (Session::new(a, limits, mode), Session::new(b, limits, mode))
}

/// The session's observable persistent data: serialized state and skipped-key entries.
pub type Snapshot = (Vec<u8>, Vec<(Vec<u8>, u32, u64)>);

pub fn snapshot(s: &Session) -> Snapshot {
    (s.state().to_bytes().expose().to_vec(), s.skipped_entries())
}
