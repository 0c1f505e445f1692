//! The engine: accounts, bundles, devices, sending, receiving, maintenance.

use crate::adapters;
use crate::clock::Clock;
use crate::config::{Config, SuitePreference};
use crate::error::{EngineError, ReceiveError, SendError};
use crate::types::*;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{RandomSource, SecretBytes};
use pfs_ratchet::{RatchetState, SuiteId};
use pfs_store::{
    AccountRecord, ContactRecord, ContactState, EphemeralKey, IdentityKey, InstallationRecord,
    MessageId, OwnPreKeyRecord, PeerPreKeyRecord, SessionKey, SessionRecord, SignedPreKey,
    SkippedKeyRecord, Store, Transaction,
};
use pfs_wire::{Message, pb};
use pfs_x3dh::{BundleEntry, IdentityKeyPair, InstallationId, VerifiedBundle};
use std::collections::HashMap;
use std::sync::Arc;

mod app_records;
mod bundles;
mod cache;
mod contacts;
mod devices;
mod maintenance;
mod receive;
mod send;
mod sessions;
#[cfg(test)]
mod tests;

pub use app_records::AppRecords;
use bundles::{CachedBundle, CachedVerified};
use cache::TxCache;
use sessions::pfs_established;

/// Entries of the contact-state and heard-installation caches before they start over.
const ROW_CACHE_MAX: usize = 4096;

/// The protocol engine of one installation. Sans-IO: bytes in, bytes out.
///
/// The engine owns its store and must be its only user while it runs: besides the store
/// it keeps a few committed facts in memory (when maintenance last ran, our current
/// bundle, contact states, installations already marked as heard), updated only when a
/// transaction commits. Open a new engine on a store that was changed from outside.
pub struct Engine {
    store: Box<dyn Store>,
    ctx: Ctx,
}

struct Me {
    identity: IdentityKeyPair,
    installation_id: InstallationId,
}

impl Me {
    fn public(&self) -> &PublicKey {
        self.identity.public()
    }
    fn secret(&self) -> &SecretKey {
        self.identity.secret()
    }
    fn id(&self) -> &str {
        self.installation_id.as_str()
    }
}

struct Ctx {
    clock: Box<dyn Clock>,
    rng: Box<dyn RandomSource>,
    config: Config,
    me: Me,
    bundle_cache: Option<CachedBundle>,
    verified: HashMap<[u8; 32], CachedVerified>,
    /// ECDH(our identity, peer identity) per peer: both keys are fixed, and the scalar
    /// multiplication was the largest cost of a send.
    agreed: HashMap<IdentityKey, SecretBytes<32>>,
    /// When maintenance last ran (one entry; absent: not read from the store yet).
    maintenance: TxCache<(), i64>,
    /// Contact states (None: no contact row), for the contacts looked up on every message.
    contact_states: TxCache<IdentityKey, Option<ContactState>>,
    /// Installations known to exist with `heard_with_protocol_version` set (installation
    /// rows are never deleted and the flag is never cleared).
    heard: TxCache<(IdentityKey, InstallationId), ()>,
    outbox: Vec<Outgoing>,
    #[cfg(feature = "inspection")]
    inspect: Option<Inspection>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("identity", self.ctx.me.public())
            .field("installation_id", &self.ctx.me.id())
            .finish_non_exhaustive()
    }
}

fn identity_key(k: &PublicKey) -> IdentityKey {
    IdentityKey::from(k)
}

/// Begins a transaction of the engine (every transaction but account creation goes
/// through here and, when it commits, through [`commit`]).
fn begin<'s>(
    store: &'s mut Box<dyn Store>,
    ctx: &mut Ctx,
) -> Result<Box<dyn Transaction + 's>, pfs_store::StoreError> {
    begin_with(store, ctx, false)
}

/// [`begin`] for a transaction that consumes sending message keys: durable at commit when
/// [`Config::durable_sends`] is on (see [`Store::begin_durable`]).
fn begin_send<'s>(
    store: &'s mut Box<dyn Store>,
    ctx: &mut Ctx,
) -> Result<Box<dyn Transaction + 's>, pfs_store::StoreError> {
    let durable = ctx.config.durable_sends;
    begin_with(store, ctx, durable)
}

fn begin_with<'s>(
    store: &'s mut Box<dyn Store>,
    ctx: &mut Ctx,
    durable: bool,
) -> Result<Box<dyn Transaction + 's>, pfs_store::StoreError> {
    ctx.begun();
    if durable {
        store.begin_durable()
    } else {
        store.begin()
    }
}

/// Commits a transaction begun with [`begin`]; the in-memory caches then take what it
/// wrote.
fn commit(tx: Box<dyn Transaction + '_>, ctx: &mut Ctx) -> Result<(), pfs_store::StoreError> {
    tx.commit()?;
    ctx.committed();
    Ok(())
}

/// status-go's installation id of the entry of a message sent without a bundle (DH
/// header): [`pfs_wire::NO_INSTALLATION_ID`].
fn no_installation_id() -> Result<InstallationId, EngineError> {
    InstallationId::new(pfs_wire::NO_INSTALLATION_ID)
        .map_err(|e| EngineError::Invalid(format!("the no-bundle installation id: {e}")))
}

fn session_id(spk: &SignedPreKey, installation_id: &InstallationId) -> Vec<u8> {
    SessionId::new(spk, installation_id).into_bytes()
}

impl Engine {
    /// Creates a new account in an empty store: returns the engine and the 12-word
    /// mnemonic (show it once; it is not stored).
    ///
    /// ```
    /// # use pfs_protocol::{Config, Engine, ManualClock};
    /// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
    /// #     Ok(Engine::create_account(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         Box::new(clock.clone()),
    /// #         Box::new(pfs_crypto::OsRandom),
    /// #         Config::default(),
    /// #     )?.0)
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = ManualClock::new(1_700_000_000_000_000_000);
    /// let (engine, phrase) = Engine::create_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    /// )?;
    /// assert_eq!(phrase.phrase().split(' ').count(), 12);
    /// assert!(!engine.installation_id().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn create_account(
        mut store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        mut rng: Box<dyn RandomSource>,
        config: Config,
    ) -> Result<(Self, pfs_x3dh::Mnemonic), EngineError> {
        let (account, mnemonic) = pfs_x3dh::Account::create(&mut *rng)?;
        let me = Me {
            identity: account.identity().clone(),
            installation_id: account.installation_id().clone(),
        };
        Self::install(&mut *store, &*clock, &me)?;
        Ok((Self::new(store, clock, rng, config, me), mnemonic))
    }

    /// Recovers an account from its mnemonic into an empty store, with a new installation
    /// id (spec §4.3: recovery is a new device).
    ///
    /// ```
    /// # use pfs_protocol::{Config, Engine, ManualClock};
    /// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
    /// #     Ok(Engine::create_account(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         Box::new(clock.clone()),
    /// #         Box::new(pfs_crypto::OsRandom),
    /// #         Config::default(),
    /// #     )?.0)
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = ManualClock::new(1_700_000_000_000_000_000);
    /// let (laptop, phrase) = Engine::create_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    /// )?;
    /// let phone = Engine::recover_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    ///     phrase.phrase(),
    /// )?;
    /// assert_eq!(phone.identity(), laptop.identity(), "the same chat key");
    /// assert_ne!(phone.installation_id(), laptop.installation_id(), "a new device");
    /// // a wrong phrase is a typed error
    /// let wrong = Engine::recover_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    ///     "abandon abandon",
    /// );
    /// assert!(matches!(wrong, Err(pfs_protocol::EngineError::Account(_))));
    /// # Ok(()) }
    /// ```
    pub fn recover_account(
        mut store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        mut rng: Box<dyn RandomSource>,
        config: Config,
        phrase: &str,
    ) -> Result<Self, EngineError> {
        let account = pfs_x3dh::Account::recover(phrase, &mut *rng)?;
        let me = Me {
            identity: account.identity().clone(),
            installation_id: account.installation_id().clone(),
        };
        Self::install(&mut *store, &*clock, &me)?;
        Ok(Self::new(store, clock, rng, config, me))
    }

    /// Creates an account with a given identity key and installation id (tests, vector
    /// replays, imports) in an empty store.
    ///
    /// ```
    /// use pfs_protocol::{Config, Engine, ManualClock};
    /// use pfs_x3dh::{IdentityKeyPair, InstallationId};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::generate(&mut pfs_crypto::OsRandom)?;
    /// let engine = Engine::create_with_identity(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(ManualClock::new(1_700_000_000_000_000_000)),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    ///     &identity,
    ///     InstallationId::new("laptop")?,
    /// )?;
    /// assert_eq!(engine.identity(), identity.public());
    /// assert_eq!(engine.installation_id(), "laptop");
    /// # Ok(()) }
    /// ```
    pub fn create_with_identity(
        mut store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        rng: Box<dyn RandomSource>,
        config: Config,
        identity: &IdentityKeyPair,
        installation_id: InstallationId,
    ) -> Result<Self, EngineError> {
        let me = Me {
            identity: identity.clone(),
            installation_id,
        };
        Self::install(&mut *store, &*clock, &me)?;
        Ok(Self::new(store, clock, rng, config, me))
    }

    fn install(store: &mut dyn Store, clock: &dyn Clock, me: &Me) -> Result<(), EngineError> {
        let mut tx = store.begin()?;
        if tx.account()?.is_some() {
            return Err(EngineError::AccountExists);
        }
        tx.put_account(&AccountRecord {
            identity_secret: me.secret().to_bytes(),
            installation_id: me.installation_id.clone(),
            created_at: clock.now_ns(),
        })?;
        tx.commit()?;
        Ok(())
    }

    /// Opens the account held by `store`.
    ///
    /// ```
    /// # use pfs_protocol::{Config, Engine, ManualClock};
    /// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
    /// #     Ok(Engine::create_account(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         Box::new(clock.clone()),
    /// #         Box::new(pfs_crypto::OsRandom),
    /// #         Config::default(),
    /// #     )?.0)
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = ManualClock::new(1_700_000_000_000_000_000);
    /// let path = std::env::temp_dir().join(format!("pfs-doc-open-{}.sqlite", std::process::id()));
    /// let options = || pfs_store::SqliteOptions::default().with_kdf_iterations(1);
    /// let store = pfs_store::SqliteStore::open(&path, b"passphrase", options())?;
    /// let (engine, _) = Engine::create_account(
    ///     Box::new(store),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    /// )?;
    /// let identity = engine.identity().clone();
    /// drop(engine); // closes the store
    /// let store = pfs_store::SqliteStore::open(&path, b"passphrase", options())?;
    /// let engine = Engine::open(Box::new(store), Box::new(clock.clone()), Box::new(pfs_crypto::OsRandom), Config::default())?;
    /// assert_eq!(engine.identity(), &identity);
    /// # drop(engine);
    /// # for suffix in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{suffix}", path.display())); }
    /// // an empty store has no account
    /// let none = Engine::open(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    /// );
    /// assert!(matches!(none, Err(pfs_protocol::EngineError::NoAccount)));
    /// # Ok(()) }
    /// ```
    pub fn open(
        mut store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        rng: Box<dyn RandomSource>,
        config: Config,
    ) -> Result<Self, EngineError> {
        let account = {
            let tx = store.begin()?;
            tx.account()?.ok_or(EngineError::NoAccount)?
        };
        let identity = IdentityKeyPair::from_bytes(account.identity_secret.expose())
            .map_err(|e| EngineError::Corrupt(format!("account identity key: {e}")))?;
        let installation_id = account.installation_id.clone();
        let me = Me {
            identity,
            installation_id,
        };
        Ok(Self::new(store, clock, rng, config, me))
    }

    fn new(
        store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        rng: Box<dyn RandomSource>,
        config: Config,
        me: Me,
    ) -> Self {
        Self {
            store,
            ctx: Ctx {
                clock,
                rng,
                config,
                me,
                bundle_cache: None,
                verified: HashMap::new(),
                agreed: HashMap::new(),
                maintenance: TxCache::new(1),
                contact_states: TxCache::new(ROW_CACHE_MAX),
                heard: TxCache::new(ROW_CACHE_MAX),
                outbox: Vec::new(),
                #[cfg(feature = "inspection")]
                inspect: None,
            },
        }
    }

    /// Our identity (chat key).
    pub fn identity(&self) -> &PublicKey {
        self.ctx.me.public()
    }

    /// Our installation id.
    pub fn installation_id(&self) -> &str {
        self.ctx.me.id()
    }

    /// Our installation id, typed.
    pub fn installation(&self) -> &InstallationId {
        &self.ctx.me.installation_id
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    #[cfg(feature = "inspection")]
    /// Turns hazardous inspection (message keys of the last operation) on or off.
    pub fn set_inspection(&mut self, on: bool) {
        self.ctx.inspect = on.then(Inspection::default);
    }

    #[cfg(feature = "inspection")]
    /// The inspection data of the last operation, when inspection is on.
    pub fn inspection(&self) -> Option<&Inspection> {
        self.ctx.inspect.as_ref()
    }

    /// Messages the engine wants sent (bundle replies), in order. Drains the outbox.
    ///
    /// ```
    /// # use pfs_protocol::{Config, Engine, ManualClock, MessageId};
    /// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
    /// #     Ok(Engine::create_account(
    /// #         Box::new(pfs_store::MemoryStore::new()),
    /// #         Box::new(clock.clone()),
    /// #         Box::new(pfs_crypto::OsRandom),
    /// #         Config::default(),
    /// #     )?.0)
    /// # }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, mut bob) = (new_engine(&clock)?, new_engine(&clock)?);
    /// let (mut carol, _) = (new_engine(&clock)?, ());
    /// alice.process_bundle(&carol.own_bundle()?)?;
    /// // a message for Carol's devices reaches Bob: not addressed to him
    /// let for_carol = alice.encrypt_for(carol.identity(), b"hi", false)?;
    /// let err = bob.decrypt(alice.identity(), &for_carol.bytes, &MessageId::from(b"m1")).unwrap_err();
    /// assert!(matches!(err, pfs_protocol::ReceiveError::DeviceNotFound));
    /// // Bob answers with his bundle, so that Alice can reach this device next time
    /// let replies = bob.take_outgoing();
    /// assert_eq!(replies.len(), 1);
    /// assert_eq!(replies[0].kind, pfs_protocol::OutgoingKind::BundleReply);
    /// assert!(bob.take_outgoing().is_empty(), "drained");
    /// # Ok(()) }
    /// ```
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.ctx.outbox)
    }
}

impl Ctx {
    pub(super) fn me_key(&self) -> IdentityKey {
        identity_key(self.me.public())
    }

    /// A transaction begins: whatever an earlier one left pending was not committed.
    pub(super) fn begun(&mut self) {
        self.maintenance.rollback();
        self.contact_states.rollback();
        self.heard.rollback();
        if self.bundle_cache.as_ref().is_some_and(|c| !c.committed) {
            self.bundle_cache = None;
        }
    }

    /// The transaction committed.
    pub(super) fn committed(&mut self) {
        self.maintenance.commit();
        self.contact_states.commit();
        self.heard.commit();
        if let Some(c) = self.bundle_cache.as_mut() {
            c.committed = true;
        }
    }
}
