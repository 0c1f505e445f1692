//! Errors, split by who is at fault (as rustls does): the peer (a malformed, forged or
//! replayed message), the situation (not addressed to us, unknown session — recoverable
//! by a bundle reply), or us (storage, randomness).

use pfs_crypto::CryptoError;
use pfs_store::StoreError;

/// A local failure: nothing the peer did.
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
/// use pfs_protocol::EngineError;
/// use pfs_store::{AccountRecord, MemoryStore, Store};
/// // a store without an account
/// let none = Engine::open(Box::new(MemoryStore::new()), Box::new(clock.clone()), Box::new(pfs_crypto::OsRandom), Config::default());
/// assert!(matches!(none, Err(EngineError::NoAccount)));
/// // a store that already has one
/// let mut store = MemoryStore::new();
/// let mut tx = store.begin()?;
/// tx.put_account(&AccountRecord {
///     identity_secret: pfs_crypto::SecretBytes::new([1; 32]),
///     installation_id: pfs_x3dh::InstallationId::new("old")?,
///     created_at: 0,
/// })?;
/// tx.commit()?;
/// let again = Engine::create_account(Box::new(store), Box::new(clock.clone()), Box::new(pfs_crypto::OsRandom), Config::default());
/// assert!(matches!(again, Err(EngineError::AccountExists)));
/// // a wrong recovery phrase
/// let bad = Engine::recover_account(Box::new(MemoryStore::new()), Box::new(clock.clone()), Box::new(pfs_crypto::OsRandom), Config::default(), "not a phrase");
/// assert!(matches!(bad, Err(EngineError::Account(_))));
/// let mut alice = new_engine(&clock)?;
/// let me = alice.identity().clone();
/// assert!(matches!(alice.block_contact(&me), Err(EngineError::Invalid(_))));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store has no account yet.
    #[error("no account in this store: create or recover one first")]
    NoAccount,
    /// The mnemonic is wrong (word count, unknown word, checksum) or derivation failed.
    #[error("account: {0}")]
    Account(#[from] pfs_x3dh::AccountError),
    /// The store already holds an account.
    #[error("this store already holds an account")]
    AccountExists,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Randomness or a local key operation failed.
    #[error("local cryptographic failure: {0}")]
    Crypto(#[from] CryptoError),
    /// Stored data could not be decoded (a session state, a key).
    #[error("corrupt stored state: {0}")]
    Corrupt(String),
    /// An unknown installation was named.
    #[error("unknown installation {:?}", .0.as_str())]
    UnknownInstallation(pfs_x3dh::InstallationId),
    /// Too many devices are already enabled.
    #[error("at most {0} devices can be enabled; disable one first")]
    TooManyDevices(usize),
    /// The caller asked for something the state does not allow.
    #[error("{0}")]
    Invalid(String),
}

/// Why sending failed.
///
/// ```
/// # use pfs_protocol::{Config, Engine, ManualClock};
/// # use pfs_store::{MemoryStore, Store, StoreError, Transaction};
/// # use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// # /// A store whose disk can be made to fail.
/// # struct Flaky(MemoryStore, Arc<AtomicBool>);
/// # impl Store for Flaky {
/// #     fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
/// #         if self.1.load(Ordering::SeqCst) { return Err(StoreError::Io("disk failed".into())); }
/// #         self.0.begin()
/// #     }
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_protocol::{EngineError, SendError};
/// let clock = ManualClock::new(1_700_000_000_000_000_000);
/// let failing = Arc::new(AtomicBool::new(false));
/// let store = Flaky(MemoryStore::new(), failing.clone());
/// let (mut alice, _) = Engine::create_account(Box::new(store), Box::new(clock.clone()), Box::new(pfs_crypto::OsRandom), Config::default())?;
/// let (bob, _) = Engine::create_account(Box::new(MemoryStore::new()), Box::new(clock), Box::new(pfs_crypto::OsRandom), Config::default())?;
/// failing.store(true, Ordering::SeqCst);
/// let err = alice.send(bob.identity(), b"hi").unwrap_err();
/// assert!(matches!(err, SendError::Local(EngineError::Store(StoreError::Io(_)))));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A local failure.
    #[error(transparent)]
    Local(#[from] EngineError),
}

impl From<StoreError> for SendError {
    fn from(e: StoreError) -> Self {
        Self::Local(EngineError::Store(e))
    }
}
impl From<CryptoError> for SendError {
    fn from(e: CryptoError) -> Self {
        Self::Local(EngineError::Crypto(e))
    }
}

/// Why a received message was not delivered.
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
/// use pfs_protocol::ReceiveError;
/// let (mut alice, mut bob, mut carol) = (new_engine(&clock)?, new_engine(&clock)?, new_engine(&clock)?);
/// // not a ProtocolMessage
/// assert!(matches!(bob.decrypt(alice.identity(), b"garbage", &MessageId::from(b"1")), Err(ReceiveError::Malformed(_))));
/// alice.process_bundle(&bob.own_bundle()?)?;
/// let m = alice.encrypt_for(bob.identity(), b"for Bob", false)?;
/// // Carol has no entry in it
/// assert!(matches!(carol.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"2")), Err(ReceiveError::DeviceNotFound)));
/// bob.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"3"))?;
/// // the same message again: its key is gone
/// assert!(matches!(bob.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"3")), Err(ReceiveError::Ratchet(_))));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The bytes are not a valid `ProtocolMessage` (peer's fault).
    #[error("malformed message: {0}")]
    Malformed(#[from] pfs_wire::WireError),
    /// A bundle in the message failed verification (peer's fault); nothing was stored.
    #[error("invalid bundle: {0}")]
    InvalidBundle(#[source] pfs_x3dh::BundleError),
    /// A contact code does not decode to a valid bundle.
    #[error("invalid contact code: {0}")]
    InvalidContactCode(#[source] pfs_x3dh::ContactCodeError),
    /// A header is malformed (wrong key length, missing DR header, …) (peer's fault).
    #[error("invalid header: {0}")]
    InvalidHeader(String),
    /// The message has no entry for this installation (status-go `ErrDeviceNotFound`):
    /// a partitioned or unpaired device. A bundle reply may have been queued.
    #[error("device not found: the message is not addressed to this installation")]
    DeviceNotFound,
    /// The message came from one of our own devices but has no entry for us
    /// (status-go `ErrNotPairedDevice`).
    #[error("received a message from not paired device")]
    NotPairedDevice,
    /// The X3DH header names a signed prekey we do not have (e.g. after account recovery).
    /// A bundle reply may have been queued.
    #[error("unknown signed prekey: the sender used a bundle this installation does not have")]
    UnknownSignedPreKey,
    /// No session matches the DR header (status-go "session not found"). A bundle reply may
    /// have been queued so that the peer starts a new session.
    #[error("session not found")]
    SessionNotFound,
    /// An initial (X3DH) message was replayed after its session was deleted.
    #[error("replayed initial message")]
    Replay,
    /// The ratchet refused the message: bad MAC, duplicate, gap too large, …
    #[error("ratchet: {0}")]
    Ratchet(#[from] pfs_ratchet::DecryptError),
    /// The no-PFS (DH header) payload failed to decrypt.
    #[error("DH-header message failed to decrypt: {0}")]
    DhDecrypt(CryptoError),
    /// The sender's contact request was declined: the message is dropped.
    #[error("message dropped: the sender's contact request was declined")]
    Declined,
    /// The sender is blocked: every message of theirs is dropped (contact requests too),
    /// before its bundles are stored, and no bundle reply is sent.
    #[error("message dropped: the sender is blocked")]
    Blocked,
    /// A local failure.
    #[error(transparent)]
    Local(#[from] EngineError),
}

impl ReceiveError {
    /// True for the situations a bundle reply resolves (the message was not for this
    /// device, or for a session or prekey it does not have: a partitioned device, a
    /// recovered account). [`crate::Engine::decrypt`] queues one for these, rate-limited.
    ///
    /// ```
    /// use pfs_protocol::ReceiveError;
    /// assert!(ReceiveError::SessionNotFound.wants_bundle_reply());
    /// assert!(!ReceiveError::Replay.wants_bundle_reply());
    /// assert!(!ReceiveError::SessionNotFound.is_peer_fault());
    /// ```
    pub fn wants_bundle_reply(&self) -> bool {
        matches!(
            self,
            Self::DeviceNotFound
                | Self::NotPairedDevice
                | Self::SessionNotFound
                | Self::UnknownSignedPreKey
        )
    }

    /// True when the peer (or an attacker) is at fault, false for local failures and for
    /// situations a bundle reply resolves.
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
    /// let (alice, mut bob) = (new_engine(&clock)?, new_engine(&clock)?);
    /// let garbage = bob.decrypt(alice.identity(), &[0xff; 10], &MessageId::from(b"1")).unwrap_err();
    /// assert!(garbage.is_peer_fault() && !garbage.wants_bundle_reply());
    /// assert!(!pfs_protocol::ReceiveError::DeviceNotFound.is_peer_fault());
    /// # Ok(()) }
    /// ```
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            Self::Malformed(_)
                | Self::InvalidBundle(_)
                | Self::InvalidContactCode(_)
                | Self::InvalidHeader(_)
                | Self::Replay
                | Self::Ratchet(_)
                | Self::DhDecrypt(_)
        )
    }
}

impl From<StoreError> for ReceiveError {
    fn from(e: StoreError) -> Self {
        Self::Local(EngineError::Store(e))
    }
}
impl From<CryptoError> for ReceiveError {
    fn from(e: CryptoError) -> Self {
        Self::Local(EngineError::Crypto(e))
    }
}
