//! One installation: the protocol engine over a store, plus the identity key that signs
//! and opens Waku messages (payload version 1, status-go's choice of topic and key).
//!
//! The engine is sans-IO and never hands out the identity secret, so the device reads it
//! from the store's account record when it opens a store (or keeps it from the account it
//! just created) to sign messages and to open messages encrypted to us (ECIES).

use std::collections::HashMap;
use std::path::Path;

use pfs_crypto::OsRandom;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_protocol::{Clock, Config, Engine, EngineError, Outgoing, SystemClock};
use pfs_store::{InstallationId, SqliteOptions, SqliteStore, Store, StoreError};
use pfs_transport::PayloadError;
use pfs_transport::transport::CarriedMessage;
use pfs_transport::waku::{self, WakuMessage};
use pfs_transport::{ContentTopic, OpenKey, SealKey, SymKey};
use std::sync::Arc;

/// Largest encoded WakuMessage we send: the network's 150 KiB limit.
pub const MAX_MESSAGE_SIZE: usize = waku::DEFAULT_MAX_MESSAGE_SIZE;

/// An installation: engine and identity secret.
///
/// ```
/// use pfs_client::Device;
/// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
/// let (mut alice, _) = new()?;
/// assert_eq!(&alice.identity(), alice.engine.identity());
/// assert_eq!(&alice.installation_id(), alice.engine.installation());
/// // the engine is public: contacts, sessions, devices
/// assert!(alice.engine.contacts()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Device {
    /// The protocol engine.
    pub engine: Engine,
    secret: SecretKey,
    rng: OsRandom,
    /// The time of the engine, of WakuMessage timestamps and of the application layer.
    clock: SharedClock,
    /// Negotiated content topic -> AES key (PBKDF2 is slow: derived once per peer).
    negotiated: HashMap<ContentTopic, SymKey>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// A message opened with our key.
///
/// ```
/// use pfs_client::Device;
/// use pfs_transport::transport::CarriedMessage;
/// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
/// let ((mut alice, _), (mut bob, _)) = (new()?, new()?);
/// let out = alice.engine.encrypt_for(&bob.identity(), b"hi", false)?;
/// let carried = CarriedMessage::on_default_shard(alice.seal(&out, 1_700_000_000_000_000_000)?);
/// let opened = bob.open_message(&carried)?;
/// assert_eq!(opened.sender, alice.identity());
/// assert_eq!(opened.payload, out.bytes);
/// assert_eq!((opened.hash, opened.timestamp_ns), (carried.hash(), 1_700_000_000_000_000_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Opened {
    /// The verified signer: the sender identity.
    pub sender: PublicKey,
    /// The `ProtocolMessage` bytes.
    pub payload: Vec<u8>,
    /// The Waku message hash, used as message id.
    pub hash: [u8; 32],
    /// The message timestamp (Unix nanoseconds; 0 when absent).
    pub timestamp_ns: i64,
}

/// Why a message could not be opened.
///
/// ```
/// use pfs_client::{Device, OpenFailure};
/// use pfs_crypto::OsRandom;
/// use pfs_transport::transport::CarriedMessage;
/// use pfs_transport::{SealKey, ecies, payload, status, waku};
/// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
/// let ((mut alice, _), (mut bob, _), (mut carol, _)) = (new()?, new()?, new()?);
/// assert!(matches!(bob.open_bytes(b"\xff\xff"), Err(OpenFailure::Malformed(_))));
/// // sealed to Bob: Carol's key does not open it
/// let out = alice.engine.encrypt_for(&bob.identity(), b"hi", false)?;
/// let sealed = CarriedMessage::on_default_shard(alice.seal(&out, 1)?);
/// assert!(matches!(carol.open_message(&sealed), Err(OpenFailure::NotForUs)));
/// // to Bob's partitioned topic, but without a signature
/// let topic = waku::content_topic(&status::partitioned_topic(&bob.identity()));
/// let unsigned = payload::seal_message(b"hi", None, SealKey::Asymmetric(&bob.identity()), topic.clone(), 1, false, &mut OsRandom)?;
/// assert!(matches!(bob.open_message(&CarriedMessage::on_default_shard(unsigned)), Err(OpenFailure::Unsigned)));
/// // version 0 (unencrypted) is not for the 1:1 protocol
/// let plain = waku::WakuMessage { version: None, ..sealed.message.clone() };
/// assert!(matches!(bob.open_message(&CarriedMessage::on_default_shard(plain)), Err(OpenFailure::Rejected(_))));
/// // it decrypts, but the plaintext declares 9 payload bytes where there is 1
/// let damaged = waku::WakuMessage {
///     payload: ecies::encrypt(&bob.identity(), &[1, 9, 0], &mut OsRandom)?,
///     content_topic: topic.into(),
///     version: Some(1),
///     timestamp: Some(1),
///     ..waku::WakuMessage::default()
/// };
/// assert!(matches!(bob.open_message(&CarriedMessage::on_default_shard(damaged)), Err(OpenFailure::Corrupt(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
pub enum OpenFailure {
    /// The bytes are not a WakuMessage.
    #[error("corrupt message: {0}")]
    Malformed(#[source] pfs_transport::waku::InvalidMessage),
    /// The version 1 payload is damaged (it opened but does not decode: padding, sizes,
    /// signature).
    #[error("corrupt message: {0}")]
    Corrupt(#[source] PayloadError),
    /// Our key cannot decrypt it: it is for someone else (or was damaged in transit).
    #[error("not for us: our key cannot decrypt it (addressed to someone else, or damaged)")]
    NotForUs,
    /// It opened but carries no signature, so it has no sender.
    #[error("unsigned message: no sender identity")]
    Unsigned,
    /// Not a version 1 payload (unencrypted or Noise): not for the 1:1 protocol.
    #[error("rejected message: {0}")]
    Rejected(#[source] PayloadError),
}

/// Why a device could not be opened, created, or could not seal a message.
///
/// ```
/// use pfs_client::{Device, DeviceError};
/// use pfs_client::device::open_store;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("alice.sqlite");
/// let (alice, _) = Device::create(Box::new(open_store(&path, b"secret", Some(1))?), Default::default())?;
/// // another process (or another store value) while the first holds it
/// assert!(matches!(open_store(&path, b"secret", Some(1)), Err(DeviceError::Locked(_))));
/// drop(alice);
/// assert!(matches!(open_store(&path, b"wrong", Some(1)), Err(DeviceError::WrongPassphrase(p)) if p == path));
/// // the store already holds an account
/// let again = Device::create(Box::new(open_store(&path, b"secret", Some(1))?), Default::default());
/// assert!(matches!(again, Err(DeviceError::AccountExists)));
/// let bad = Device::recover(Box::new(pfs_store::MemoryStore::new()), Default::default(), "twelve wrong words");
/// assert!(matches!(bad, Err(DeviceError::Mnemonic(_))));
/// let empty = Device::open(Box::new(pfs_store::MemoryStore::new()), Default::default());
/// assert!(matches!(empty, Err(DeviceError::Engine(pfs_protocol::EngineError::NoAccount))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The passphrase does not open this store.
    #[error("wrong passphrase for {0}")]
    WrongPassphrase(std::path::PathBuf),
    /// Another process has the store open.
    #[error("{0} is in use by another process")]
    Locked(std::path::PathBuf),
    /// The store already holds an account.
    #[error("this store already holds an account")]
    AccountExists,
    /// The recovery phrase is not valid.
    #[error(transparent)]
    Mnemonic(pfs_x3dh::AccountError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// The engine refused.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The stored identity key does not decode (a damaged store).
    #[error("stored identity key is invalid: {0}")]
    BadIdentity(String),
    /// The message is larger than the network accepts.
    #[error("message of {size} bytes exceeds the network's maximum of {max} bytes")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Sealing (payload v1) failed.
    #[error("cannot build the message: {0}")]
    Seal(PayloadError),
    /// The negotiated key cannot be derived.
    #[error("cannot derive the negotiated key: {0}")]
    Negotiated(String),
}

/// Current Unix time in nanoseconds from the system clock.
///
/// ```
/// let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as i64;
/// let now = pfs_client::device::now_ns();
/// assert!(now >= before && now - before < 60_000_000_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn now_ns() -> i64 {
    pfs_transport::transport::now_unix_ns()
}

/// Opens (creating the file when `create`) a SQLite store.
///
/// ```
/// use pfs_client::device::open_store;
/// use pfs_store::Store;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("s.sqlite");
/// // created on first use; Some(1): one PBKDF2 iteration (tests only)
/// let mut store = open_store(&path, b"passphrase", Some(1))?;
/// let mut tx = store.begin()?;
/// tx.put_rate_limit("k", b"v", 3)?;
/// tx.commit()?;
/// drop(store);
/// assert_eq!(open_store(&path, b"passphrase", None)?.begin()?.rate_limit("k", b"v")?, Some(3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_store(
    path: &Path,
    passphrase: &[u8],
    kdf_iterations: Option<u32>,
) -> Result<SqliteStore, DeviceError> {
    let mut opts = SqliteOptions::default();
    if let Some(n) = kdf_iterations {
        opts = opts.with_kdf_iterations(n);
    }
    SqliteStore::open(path, passphrase, opts).map_err(|e| match e {
        StoreError::WrongKey => DeviceError::WrongPassphrase(path.to_path_buf()),
        StoreError::Locked(_) => DeviceError::Locked(path.to_path_buf()),
        other => DeviceError::Store(other),
    })
}

/// A clock shared by a device's engine and the client around it.
///
/// ```
/// use pfs_client::{Device, SharedClock};
/// use pfs_protocol::ManualClock;
///
/// let clock = ManualClock::new(1_000);
/// let shared: SharedClock = std::sync::Arc::new(clock.clone());
/// let (device, _) = Device::create_with_clock(Box::new(pfs_store::MemoryStore::new()), Default::default(), shared)?;
/// assert_eq!(device.now_ns(), 1_000);
/// clock.advance(5);
/// assert_eq!(device.now_ns(), 1_005);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type SharedClock = Arc<dyn Clock + Sync>;

impl Device {
    /// Creates a new account in `store`; returns the device and the mnemonic phrase.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_client::Device;
    /// let (device, phrase) = Device::create(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     pfs_protocol::Config::default(),
    /// )?;
    /// assert_eq!(phrase.split(' ').count(), 12, "show it once: it is not stored");
    /// // the same phrase on another device: the same account, a new installation
    /// let phone = Device::recover(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     pfs_protocol::Config::default(),
    ///     &phrase,
    /// )?;
    /// assert_eq!(phone.identity(), device.identity());
    /// assert_ne!(phone.installation_id(), device.installation_id());
    /// # Ok(()) }
    /// ```
    pub fn create(store: Box<dyn Store>, config: Config) -> Result<(Self, String), DeviceError> {
        Self::create_with_clock(store, config, Arc::new(SystemClock))
    }

    /// [`Device::create`] on a given clock (tests and simulations: a `ManualClock`).
    ///
    /// ```
    /// use pfs_client::Device;
    /// use pfs_protocol::ManualClock;
    ///
    /// let clock = ManualClock::new(1_700_000_000_000_000_000);
    /// let (mut alice, phrase) = Device::create_with_clock(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     pfs_protocol::Config::default(),
    ///     std::sync::Arc::new(clock.clone()),
    /// )?;
    /// assert_eq!(phrase.split(' ').count(), 12);
    /// // the engine's bundle is timestamped by the same clock
    /// let bundle = alice.engine.own_bundle()?;
    /// assert_eq!(bundle.timestamp, 1_700_000_000_000_000_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_with_clock(
        store: Box<dyn Store>,
        config: Config,
        clock: SharedClock,
    ) -> Result<(Self, String), DeviceError> {
        let mut rng = OsRandom;
        let (account, mnemonic) =
            pfs_x3dh::Account::create(&mut rng).map_err(DeviceError::Mnemonic)?;
        let device = Self::install(store, config, &account, clock)?;
        Ok((device, mnemonic.phrase().to_owned()))
    }

    /// Recovers an account from its phrase into `store` (a new installation).
    ///
    /// ```
    /// use pfs_client::{Device, DeviceError};
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let (laptop, phrase) = new()?;
    /// let phone = Device::recover(Box::new(pfs_store::MemoryStore::new()), Default::default(), &phrase)?;
    /// assert_eq!(phone.identity(), laptop.identity());
    /// assert_ne!(phone.installation_id(), laptop.installation_id());
    /// // a word that is not in the BIP39 list
    /// let mut words: Vec<&str> = phrase.split(' ').collect();
    /// words[0] = "notaword";
    /// let wrong = Device::recover(Box::new(pfs_store::MemoryStore::new()), Default::default(), &words.join(" "));
    /// assert!(matches!(wrong, Err(DeviceError::Mnemonic(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recover(
        store: Box<dyn Store>,
        config: Config,
        phrase: &str,
    ) -> Result<Self, DeviceError> {
        let mut rng = OsRandom;
        let account =
            pfs_x3dh::Account::recover(phrase, &mut rng).map_err(DeviceError::Mnemonic)?;
        Self::install(store, config, &account, Arc::new(SystemClock))
    }

    fn install(
        store: Box<dyn Store>,
        config: Config,
        account: &pfs_x3dh::Account,
        clock: SharedClock,
    ) -> Result<Self, DeviceError> {
        let secret = account.identity().secret().clone();
        let engine = Engine::create_with_identity(
            store,
            Box::new(clock.clone()),
            Box::new(OsRandom),
            config,
            account.identity(),
            account.installation_id().clone(),
        )
        .map_err(|e| match e {
            EngineError::AccountExists => DeviceError::AccountExists,
            other => DeviceError::Engine(other),
        })?;
        Ok(Self {
            engine,
            secret,
            rng: OsRandom,
            clock,
            negotiated: HashMap::new(),
        })
    }

    /// Opens the account of an existing store.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_client::Device;
    /// let path = std::env::temp_dir().join(format!("pfs-client-doc-{}.sqlite", std::process::id()));
    /// let store = || pfs_client::device::open_store(&path, b"passphrase", Some(1)).map(Box::new);
    /// let (created, _) = Device::create(store()?, pfs_protocol::Config::default())?;
    /// let identity = created.identity();
    /// drop(created);
    /// let opened = Device::open(store()?, pfs_protocol::Config::default())?;
    /// assert_eq!(opened.identity(), identity);
    /// # drop(opened);
    /// # for suffix in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{suffix}", path.display())); }
    /// # Ok(()) }
    /// ```
    pub fn open(store: Box<dyn Store>, config: Config) -> Result<Self, DeviceError> {
        Self::open_with_clock(store, config, Arc::new(SystemClock))
    }

    /// [`Device::open`] on a given clock.
    ///
    /// ```
    /// use pfs_client::Device;
    /// use pfs_client::device::open_store;
    /// use pfs_protocol::ManualClock;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("s.sqlite");
    /// let (created, _) = Device::create(Box::new(open_store(&path, b"pw", Some(1))?), Default::default())?;
    /// let identity = created.identity();
    /// drop(created);
    /// let clock = ManualClock::new(42);
    /// let opened = Device::open_with_clock(Box::new(open_store(&path, b"pw", Some(1))?), Default::default(), std::sync::Arc::new(clock))?;
    /// assert_eq!((opened.identity(), opened.now_ns()), (identity, 42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with_clock(
        mut store: Box<dyn Store>,
        config: Config,
        clock: SharedClock,
    ) -> Result<Self, DeviceError> {
        let account = {
            let tx = store.begin().map_err(DeviceError::Store)?;
            tx.account().map_err(DeviceError::Store)?
        };
        let Some(account) = account else {
            return Err(DeviceError::Engine(EngineError::NoAccount));
        };
        let secret = SecretKey::from_bytes(account.identity_secret.expose())
            .map_err(|e| DeviceError::BadIdentity(e.to_string()))?;
        let engine = Engine::open(store, Box::new(clock.clone()), Box::new(OsRandom), config)?;
        Ok(Self {
            engine,
            secret,
            rng: OsRandom,
            clock,
            negotiated: HashMap::new(),
        })
    }

    /// A copy of the identity key, for the application layer's signatures.
    ///
    /// ```
    /// use pfs_client::Device;
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let (alice, _) = new()?;
    /// assert_eq!(alice.signing_key().public_key(), alice.identity());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signing_key(&self) -> SecretKey {
        self.secret.clone()
    }

    /// Our identity (chat key).
    ///
    /// ```
    /// use pfs_client::Device;
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((alice, _), (bob, _)) = (new()?, new()?);
    /// assert_ne!(alice.identity(), bob.identity());
    /// assert_eq!(alice.identity().to_compressed().len(), 33);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn identity(&self) -> PublicKey {
        self.engine.identity().clone()
    }

    /// The device's time, Unix nanoseconds (its clock: the system's unless one was given).
    ///
    /// ```
    /// use pfs_client::Device;
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let (alice, _) = new()?;
    /// // the system clock unless one was given
    /// assert!((alice.now_ns() - pfs_client::device::now_ns()).abs() < 60_000_000_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn now_ns(&self) -> i64 {
        self.clock.now_ns()
    }

    /// Our installation id.
    ///
    /// ```
    /// use pfs_client::Device;
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((alice, _), (bob, _)) = (new()?, new()?);
    /// assert_ne!(alice.installation_id(), bob.installation_id());
    /// assert!(!alice.installation_id().as_str().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn installation_id(&self) -> InstallationId {
        self.engine.installation().clone()
    }

    /// Learns the negotiated topic and key of a shared secret; returns the content topic.
    fn negotiated_key(
        &mut self,
        secret: &pfs_crypto::SecretBytes<32>,
    ) -> Result<(ContentTopic, SymKey), DeviceError> {
        let topic = waku::content_topic(&pfs_transport::status::negotiated_topic(secret));
        if let Some(k) = self.negotiated.get(&topic) {
            return Ok((topic, k.clone()));
        }
        let key = pfs_transport::status::negotiated_key(secret)
            .map_err(|e| DeviceError::Negotiated(e.to_string()))?;
        self.negotiated.insert(topic.clone(), key.clone());
        Ok((topic, key))
    }

    /// The contact-code topic of `pk` and its key: `0x<hex>-contact-code`, the key
    /// PBKDF2 of that string (status-go's contact-code filter); learnt once.
    ///
    /// ```
    /// use pfs_client::Device;
    /// use pfs_transport::{SymKey, Topic, status, waku};
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((mut alice, _), (bob, _)) = (new()?, new()?);
    /// let (topic, key) = alice.contact_code_key(&bob.identity())?;
    /// let chat_id = status::contact_code_chat_id(&bob.identity());
    /// assert_eq!(topic, waku::content_topic(&Topic::from_string(&chat_id)));
    /// assert_eq!(key, SymKey::from_password(&chat_id)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contact_code_key(
        &mut self,
        pk: &PublicKey,
    ) -> Result<(ContentTopic, SymKey), DeviceError> {
        let chat_id = pfs_transport::status::contact_code_chat_id(pk);
        let topic = waku::content_topic(&pfs_transport::Topic::from_string(&chat_id));
        if let Some(k) = self.negotiated.get(&topic) {
            return Ok((topic, k.clone()));
        }
        let key =
            SymKey::from_password(&chat_id).map_err(|e| DeviceError::Negotiated(e.to_string()))?;
        self.negotiated.insert(topic.clone(), key.clone());
        Ok((topic, key))
    }

    /// The content topics this device receives on: our partitioned topic (ECIES), the
    /// negotiated topic shared with each contact (AES-GCM) and each contact's contact-code
    /// topic (their advertisements), as status-go's filters.
    ///
    /// ```
    /// use pfs_client::Device;
    /// use pfs_transport::{status, waku};
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((mut alice, _), (bob, _)) = (new()?, new()?);
    /// let partitioned = waku::content_topic(&status::partitioned_topic(&alice.identity()));
    /// assert_eq!(alice.content_topics()?, [partitioned.clone()]);
    /// alice.engine.add_contact_key(&bob.identity(), None)?;
    /// // and, for Bob, the negotiated topic and his contact-code topic
    /// let topics = alice.content_topics()?;
    /// assert_eq!(topics.len(), 3);
    /// assert!(topics.contains(&partitioned) && topics.contains(&alice.contact_code_key(&bob.identity())?.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn content_topics(&mut self) -> Result<Vec<ContentTopic>, DeviceError> {
        let mut topics = vec![waku::content_topic(
            &pfs_transport::status::partitioned_topic(&self.identity()),
        )];
        for c in self.engine.contacts()? {
            let Ok(pk) = c.identity.to_public_key() else {
                continue;
            };
            let secret = pfs_transport::status::shared_secret(&self.secret, &pk);
            topics.push(self.negotiated_key(&secret)?.0);
            topics.push(self.contact_code_key(&pk)?.0);
        }
        topics.sort();
        topics.dedup();
        Ok(topics)
    }

    /// Wraps an outgoing protocol message into a signed WakuMessage (payload version 1),
    /// timestamped `now_ns`: ECIES to the recipient identity on its partitioned topic
    /// (status-go `SendPrivateWithPartitioned`), which every Status installation always
    /// listens on, also a recovered one that knows none of its contacts yet. Refuses a
    /// message over the network's size limit before anything is printed or sent.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_client::Device;
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((mut alice, _), (mut bob, _)) = (new()?, new()?);
    /// let out = alice.engine.encrypt_for(&bob.identity(), b"sealed", false)?;
    /// let message = alice.seal(&out, 1_700_000_000_000_000_000)?;
    /// assert_eq!(message.version, Some(1), "payload version 1");
    /// // Bob opens it and learns who signed it
    /// let opened = bob.open_message(&pfs_transport::transport::CarriedMessage::on_default_shard(message))?;
    /// assert_eq!(opened.sender, alice.identity());
    /// let delivered = bob.engine.decrypt(&opened.sender, &opened.payload, &pfs_protocol::MessageId::from(opened.hash))?;
    /// assert_eq!(delivered.plaintext, b"sealed");
    /// # Ok(()) }
    /// ```
    pub fn seal(&mut self, out: &Outgoing, now_ns: i64) -> Result<WakuMessage, DeviceError> {
        self.seal_with(out, now_ns, false)
    }

    /// As [`Device::seal`], but when `negotiated` and the engine says the secret is
    /// agreed (every addressed installation speaks protocol version 1), on the topic
    /// negotiated with the recipient under its AES-256-GCM key, as status-go's
    /// `SendPrivateWithSharedSecret` does. We read such messages from contacts
    /// ([`Device::content_topics`]); we send on the partitioned topic by default because a
    /// recovered installation of the recipient does not listen on negotiated topics yet.
    ///
    /// ```
    /// use pfs_client::Device;
    /// use pfs_protocol::MessageId;
    /// use pfs_transport::{status, waku};
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((mut alice, _), (mut bob, _)) = (new()?, new()?);
    /// alice.engine.process_bundle(&bob.engine.own_bundle()?)?;
    /// let first = alice.engine.encrypt_for(&bob.identity(), b"hi", false)?;
    /// bob.engine.decrypt(&alice.identity(), &first.bytes, &MessageId::from(b"1"))?;
    /// let reply = bob.engine.encrypt_for(&alice.identity(), b"hello", false)?;
    /// alice.engine.decrypt(&bob.identity(), &reply.bytes, &MessageId::from(b"2"))?;
    /// // Bob's installation has now spoken protocol version >= 1 to Alice: the secret is agreed
    /// let out = alice.engine.encrypt_for(&bob.identity(), b"again", false)?;
    /// let secret = out.agreed_secret.clone().ok_or("agreed secret")?;
    /// let negotiated = alice.seal_with(&out, 1, true)?;
    /// assert_eq!(negotiated.content_topic, waku::content_topic(&status::negotiated_topic(&secret)));
    /// // without it: ECIES on Bob's partitioned topic
    /// let partitioned = alice.seal_with(&out, 1, false)?;
    /// assert_eq!(partitioned.content_topic, waku::content_topic(&status::partitioned_topic(&bob.identity())));
    /// bob.engine.add_contact_key(&alice.identity(), None)?; // Bob listens on the negotiated topic
    /// let opened = bob.open_message(&pfs_transport::transport::CarriedMessage::on_default_shard(negotiated))?;
    /// assert_eq!(opened.sender, alice.identity());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_with(
        &mut self,
        out: &Outgoing,
        now_ns: i64,
        negotiated: bool,
    ) -> Result<WakuMessage, DeviceError> {
        let negotiated = match &out.agreed_secret {
            Some(secret) if negotiated && out.recipient != self.identity() => {
                Some(self.negotiated_key(secret)?)
            }
            _ => None,
        };
        // a public message (our contact-code advertisement) goes on our contact-code topic
        let public = if out.kind == pfs_protocol::OutgoingKind::Public {
            let me = self.identity();
            Some(self.contact_code_key(&me)?)
        } else {
            None
        };
        let (topic, key) = match (&public, &negotiated) {
            (Some((topic, key)), _) | (None, Some((topic, key))) => {
                (topic.clone(), SealKey::Symmetric(key))
            }
            (None, None) => (
                waku::content_topic(&pfs_transport::status::partitioned_topic(&out.recipient)),
                SealKey::Asymmetric(&out.recipient),
            ),
        };
        let msg = pfs_transport::payload::seal_message(
            &out.bytes,
            Some(&self.secret),
            key,
            topic,
            now_ns,
            false,
            &mut self.rng,
        )
        .map_err(DeviceError::Seal)?;
        let size = waku::encoded_len(&msg);
        if size > MAX_MESSAGE_SIZE {
            return Err(DeviceError::TooLarge {
                size,
                max: MAX_MESSAGE_SIZE,
            });
        }
        Ok(msg)
    }

    /// Opens an encoded WakuMessage (as `pfs send` prints it) travelling on the default
    /// pubsub topic.
    ///
    /// ```
    /// use pfs_client::{Device, OpenFailure};
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((mut alice, _), (mut bob, _)) = (new()?, new()?);
    /// let out = alice.engine.encrypt_for(&bob.identity(), b"hi", false)?;
    /// let bytes = pfs_transport::waku::encode_message(&alice.seal(&out, 1)?);
    /// assert_eq!(bob.open_bytes(&bytes)?.sender, alice.identity());
    /// assert!(matches!(bob.open_bytes(&bytes[..bytes.len() - 1]), Err(OpenFailure::Malformed(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_bytes(&mut self, bytes: &[u8]) -> Result<Opened, OpenFailure> {
        let msg =
            waku::decode_message(bytes, MAX_MESSAGE_SIZE + 1024).map_err(OpenFailure::Malformed)?;
        self.open_message(&CarriedMessage::on_default_shard(msg))
    }

    /// Opens a message and recovers its signer: with the negotiated key when it is on a
    /// topic negotiated with a contact, else with our identity key (ECIES).
    ///
    /// ```
    /// use pfs_client::{Device, OpenFailure};
    /// use pfs_transport::transport::CarriedMessage;
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((mut alice, _), (mut bob, _), (mut carol, _)) = (new()?, new()?, new()?);
    /// let out = alice.engine.encrypt_for(&bob.identity(), b"hi", false)?;
    /// let carried = CarriedMessage::on_default_shard(alice.seal(&out, 1)?);
    /// assert_eq!(bob.open_message(&carried)?.payload, out.bytes);
    /// assert!(matches!(carol.open_message(&carried), Err(OpenFailure::NotForUs)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_message(&mut self, carried: &CarriedMessage) -> Result<Opened, OpenFailure> {
        let partitioned =
            waku::content_topic(&pfs_transport::status::partitioned_topic(&self.identity()));
        if carried.content_topic() != partitioned
            && !self.negotiated.contains_key(carried.content_topic())
        {
            // perhaps the topic of a contact added since: learn the contacts' topics again
            let _ = self.content_topics();
        }
        let key = match self.negotiated.get(carried.content_topic()) {
            Some(k) => OpenKey::Symmetric(k),
            None => OpenKey::Asymmetric(&self.secret),
        };
        let opened =
            pfs_transport::payload::open_message(&carried.message, key).map_err(|e| match e {
                pfs_transport::PayloadError::Ecies(_)
                | pfs_transport::PayloadError::Symmetric(_) => OpenFailure::NotForUs,
                pfs_transport::PayloadError::WrongVersion { .. } => OpenFailure::Rejected(e),
                other => OpenFailure::Corrupt(other),
            })?;
        let sender = opened.signer.ok_or(OpenFailure::Unsigned)?;
        Ok(Opened {
            sender,
            payload: opened.payload,
            hash: carried.hash(),
            timestamp_ns: carried.timestamp_ns(),
        })
    }

    /// True when `payload` (from `sender`) is a message this very installation sent
    /// (our own-devices copy coming back on our own topic).
    ///
    /// ```
    /// use pfs_client::Device;
    /// let new = || Device::create(Box::new(pfs_store::MemoryStore::new()), pfs_protocol::Config::default());
    /// let ((mut laptop, phrase), (bob, _)) = (new()?, new()?);
    /// let phone = Device::recover(Box::new(pfs_store::MemoryStore::new()), Default::default(), &phrase)?;
    /// let out = laptop.engine.encrypt_for(&bob.identity(), b"hi", false)?;
    /// assert!(laptop.is_own_echo(&laptop.identity(), &out.bytes));
    /// // the same account's other installation did not send it
    /// assert!(!phone.is_own_echo(&laptop.identity(), &out.bytes));
    /// assert!(!bob.is_own_echo(&laptop.identity(), &out.bytes));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_own_echo(&self, sender: &PublicKey, payload: &[u8]) -> bool {
        if *sender != self.identity() {
            return false;
        }
        pfs_wire::decode_protocol_message(payload, &self.engine.config().wire_limits)
            .is_ok_and(|m| m.installation_id == self.engine.installation_id())
    }
}
