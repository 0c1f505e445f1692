//! The full engine on SQLite stores: Alice and Bob's devices, each with its own file.

use pfs_crypto::OsRandom;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_protocol::MessageId;
use pfs_protocol::{Config, Engine, ManualClock, Outgoing};
use pfs_store::{SqliteOptions, SqliteStore, Synchronous};

/// Alice's engine and `n` devices of Bob, sessions established and warmed up.
pub struct EnginePair {
    _dir: tempfile::TempDir,
    /// Alice.
    pub alice: Engine,
    /// Bob's devices.
    pub bobs: Vec<Engine>,
    alice_id: PublicKey,
    bob_id: PublicKey,
}

fn engine(
    dir: &std::path::Path,
    name: &str,
    sync: Synchronous,
    clock: &ManualClock,
    identity: &SecretKey,
    durable_sends: bool,
) -> Engine {
    let store = SqliteStore::open(
        dir.join(format!("{name}.sqlite")),
        b"bench",
        SqliteOptions::default()
            .with_kdf_iterations(1)
            .with_synchronous(sync),
    )
    .unwrap();
    Engine::create_with_identity(
        Box::new(store),
        Box::new(clock.clone()),
        Box::new(OsRandom),
        Config {
            durable_sends,
            ..Config::default()
        },
        &pfs_protocol::IdentityKeyPair::from_secret(identity.clone()),
        pfs_protocol::InstallationId::new(name).expect("installation id"),
    )
    .unwrap()
}

fn id(m: &Outgoing) -> MessageId {
    MessageId::from(pfs_crypto::hash::keccak256(&m.bytes))
}

impl EnginePair {
    /// Default configuration (X25519 suite between pfs peers) but for `durable_sends`,
    /// stores with `sync`.
    pub fn new(sync: Synchronous, bob_devices: usize, durable_sends: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(1_700_000_000_000_000_000);
        let a_id = SecretKey::generate(&mut OsRandom).unwrap();
        let b_id = SecretKey::generate(&mut OsRandom).unwrap();
        let mut alice = engine(dir.path(), "alice", sync, &clock, &a_id, durable_sends);
        let mut bobs: Vec<Engine> = (0..bob_devices)
            .map(|i| {
                engine(
                    dir.path(),
                    &format!("bob-{i}"),
                    sync,
                    &clock,
                    &b_id,
                    durable_sends,
                )
            })
            .collect();
        let ab = alice.own_bundle().unwrap();
        for b in &mut bobs {
            let bb = b.own_bundle().unwrap();
            alice.process_bundle(&bb).unwrap();
            b.process_bundle(&ab).unwrap();
        }
        let mut p = Self {
            _dir: dir,
            alice,
            bobs,
            alice_id: a_id.public_key(),
            bob_id: b_id.public_key(),
        };
        // warm up: a first message, replies from every device, then steady state
        p.round(b"hello");
        for i in 0..p.bobs.len() {
            p.reply(i, b"hi");
        }
        p.round(b"again");
        p
    }

    /// Alice encrypts `pt` to Bob (every device) and every device decrypts it.
    pub fn round(&mut self, pt: &[u8]) {
        let m = self.alice.encrypt_for(&self.bob_id, pt, false).unwrap();
        let mid = id(&m);
        for b in &mut self.bobs {
            let d = b.decrypt(&self.alice_id, &m.bytes, &mid).unwrap();
            debug_assert_eq!(d.plaintext, pt);
        }
    }

    /// Bob's device `i` sends `pt` to Alice, who decrypts it.
    pub fn reply(&mut self, i: usize, pt: &[u8]) {
        let m = self.bobs[i].encrypt_for(&self.alice_id, pt, false).unwrap();
        let mid = id(&m);
        self.alice.decrypt(&self.bob_id, &m.bytes, &mid).unwrap();
    }
}
