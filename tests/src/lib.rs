//! A small world of users and devices for scenario tests: every device is an engine
//! with its own store; messages are delivered by hand, in any order, any number of times.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{OsRandom, RandomSource};
use pfs_protocol::MessageId;
use pfs_protocol::{Config, Delivered, Engine, ManualClock, Outgoing, ReceiveError};
use pfs_store::{MemoryStore, SqliteOptions, SqliteStore, Store};

/// Which store the devices use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    Sqlite,
}

pub const STORES: [StoreKind; 2] = [StoreKind::Memory, StoreKind::Sqlite];

pub struct World {
    pub clock: ManualClock,
    pub kind: StoreKind,
    pub config: Config,
    dir: std::path::PathBuf,
    counter: usize,
}

impl World {
    pub fn new(kind: StoreKind, config: Config) -> Self {
        let dir =
            std::env::temp_dir().join(format!("pfs-scenario-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            clock: ManualClock::new(1_700_000_000_000_000_000),
            kind,
            config,
            dir,
            counter: 0,
        }
    }

    pub fn store(&mut self) -> Box<dyn Store> {
        self.counter += 1;
        match self.kind {
            StoreKind::Memory => Box::new(MemoryStore::new()),
            StoreKind::Sqlite => {
                let path = self.dir.join(format!("device-{}.sqlite", self.counter));
                Box::new(
                    SqliteStore::open(
                        &path,
                        b"scenario",
                        SqliteOptions::default().with_kdf_iterations(1),
                    )
                    .unwrap(),
                )
            }
        }
    }

    /// A device of a (possibly new) identity.
    pub fn device(&mut self, identity: &SecretKey, installation: &str) -> Device {
        let store = self.store();
        self.device_on(store, identity, installation)
    }

    /// [`World::device`] on a store the test opened itself (one whose file it damages or
    /// reopens).
    pub fn device_on(
        &mut self,
        store: Box<dyn Store>,
        identity: &SecretKey,
        installation: &str,
    ) -> Device {
        let engine = Engine::create_with_identity(
            store,
            Box::new(self.clock.clone()),
            Box::new(OsRandom),
            self.config.clone(),
            &pfs_protocol::IdentityKeyPair::from_secret(identity.clone()),
            pfs_protocol::InstallationId::new(installation).expect("installation id"),
        )
        .unwrap();
        Device { engine }
    }

    pub fn new_identity(&self) -> SecretKey {
        SecretKey::generate(&mut OsRandom).unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

pub struct Device {
    pub engine: Engine,
}

impl Device {
    pub fn id(&self) -> PublicKey {
        self.engine.identity().clone()
    }

    /// Learns `other`'s current bundle (as from a contact code).
    pub fn learn(&mut self, other: &mut Device) {
        let b = other.engine.own_bundle().unwrap();
        self.engine.process_bundle(&b).unwrap();
    }

    /// Sends to one identity; returns the message for the peer (not the own-device copy).
    pub fn send(&mut self, to: &PublicKey, text: &str) -> Outgoing {
        self.engine.encrypt_for(to, text.as_bytes(), false).unwrap()
    }

    pub fn recv(&mut self, from: &Device, msg: &Outgoing) -> Result<Delivered, ReceiveError> {
        self.engine
            .decrypt(&from.id(), &msg.bytes, &message_id(msg))
    }

    pub fn recv_text(&mut self, from: &Device, msg: &Outgoing) -> String {
        let d = self.recv(from, msg).unwrap();
        String::from_utf8(d.plaintext).unwrap()
    }
}

/// An installation id (test code: panics on an invalid one).
pub fn iid(id: &str) -> pfs_protocol::InstallationId {
    pfs_protocol::InstallationId::new(id).expect("installation id")
}

pub fn message_id(msg: &Outgoing) -> MessageId {
    MessageId::from(pfs_crypto::hash::keccak256(&msg.bytes))
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    OsRandom.fill_bytes(&mut v).unwrap();
    v
}
