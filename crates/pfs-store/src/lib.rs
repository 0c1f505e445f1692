//! # pfs-store: persistence (level 2)
//!
//! Everything the protocol engine must remember, behind object-safe traits, with an
//! in-memory implementation and a SQLite implementation that pass one conformance
//! suite. Stores serve the engine and
//! never call it.
//!
//! ## Transactions
//! The engine runs every protocol operation (encrypt to N devices, decrypt one message,
//! process a bundle, …) as **one** [`Transaction`]: it reads and writes through the
//! transaction and calls [`Transaction::commit`] at the end. Dropping a transaction
//! without committing rolls every change back, so an operation that fails half way (bad
//! MAC, unknown session, …) leaves the store exactly as it was.
//!
//! ```
//! use pfs_store::{ContactRecord, ContactState, IdentityKey, MemoryStore, Store};
//! # fn main() -> Result<(), pfs_store::StoreError> {
//! let mut store = MemoryStore::new();
//! let bob = ContactRecord {
//!     identity: IdentityKey::from_bytes([2; 33]),
//!     state: ContactState::Added,
//!     name: Some("Bob".into()),
//!     updated_at: 1,
//! };
//! // dropped without commit: rolled back
//! let mut tx = store.begin()?;
//! tx.put_contact(&bob)?;
//! assert_eq!(tx.contacts()?.len(), 1, "the transaction reads its own writes");
//! drop(tx);
//! assert!(store.begin()?.contacts()?.is_empty());
//! // committed: kept
//! let mut tx = store.begin()?;
//! tx.put_contact(&bob)?;
//! tx.commit()?;
//! assert_eq!(store.begin()?.contact(&IdentityKey::from_bytes([2; 33]))?, Some(bob));
//! # Ok(()) }
//! ```
//!
//! ## What is stored
//! Records are plain data: public keys as their role's type ([`IdentityKey`],
//! [`SignedPreKey`], [`EphemeralKey`]: 33 compressed bytes each), installation ids as a
//! checked [`InstallationId`], secrets in
//! [`pfs_crypto::SecretBytes`]/[`pfs_crypto::SecretVec`], ratchet state as an opaque
//! serialized blob that the engine produces with `pfs-ratchet`. The store never
//! interprets protocol state; it only keeps it, atomically, and (for SQLite) encrypted at
//! rest.
//!
//! ## Implementations
//! * [`MemoryStore`] ([`memory`]): `BTreeMap` tables, copy-on-write per table inside a
//!   transaction.
//! * [`SqliteStore`] ([`sqlite`]): one SQLite file in WAL mode, one process at a time
//!   (exclusive lock taken at open), versioned embedded migrations, secrets sealed value by
//!   value with AES-256-GCM bound to their row. The module docs explain the choices.
//!
//! Both pass the same conformance suite (`pfs_store::conformance`, feature `conformance`). The crate's README states
//! the schema-stability rule: a released schema version is never changed in place, new
//! versions add migrations, and the checked-in database of every released version must
//! keep opening.
//!
//! ## Rules every store follows beyond the method docs
//! * Deleting something that does not exist is not an error.
//! * A call rejected as [`StoreError::Invalid`] has changed nothing and the transaction
//!   stays usable. After any other error the transaction should be dropped (rolled back).
#![forbid(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod crypt;
pub mod memory;
mod records;
pub mod sqlite;

pub use memory::MemoryStore;
/// The typed keys and ids the records carry (from `pfs-x3dh`), re-exported.
pub use pfs_x3dh::{EphemeralKey, IdentityKey, InstallationId, SignedPreKey};
pub use records::*;
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

use pfs_crypto::SecretBytes;

/// Why a store operation failed.
///
/// ```
/// use pfs_crypto::SecretBytes;
/// use pfs_store::{MemoryStore, SessionKey, IdentityKey, SkippedKeyRecord, SqliteOptions, SqliteStore, Store, StoreError};
///
/// // a skipped key for a session that does not exist is refused, and nothing is stored
/// let mut store = MemoryStore::new();
/// let mut tx = store.begin()?;
/// let nobody = SessionKey { peer_identity: IdentityKey::from_bytes([2; 33]), id: b"none".to_vec() };
/// let key = SkippedKeyRecord {
///     ratchet_key: vec![2; 33], n: 0, message_key: SecretBytes::new([1; 32]), seq: 1, pending_message_id: None,
/// };
/// assert!(matches!(tx.put_skipped_keys(&nobody, &[key]), Err(StoreError::Invalid(_))));
/// assert_eq!(tx.count_skipped_keys(&nobody)?, 0);
/// drop(tx);
///
/// // a SQLite store opened with another key
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("store.sqlite");
/// SqliteStore::open_with_key(&path, &SecretBytes::new([1; 32]), SqliteOptions::default())?.close()?;
/// let wrong = SqliteStore::open_with_key(&path, &SecretBytes::new([2; 32]), SqliteOptions::default());
/// assert!(matches!(wrong, Err(StoreError::WrongKey)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened or an I/O error occurred.
    #[error("storage I/O error: {0}")]
    Io(String),
    /// Another process holds the database open for writing.
    #[error("the store is in use by another process ({0})")]
    Locked(String),
    /// The database was written by a newer version of this software.
    #[error(
        "the store has schema version {found}, newer than the {supported} this version knows; refusing to open it"
    )]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Highest version this code knows.
        supported: u32,
    },
    /// The key supplied to open the store is wrong (nothing was changed).
    #[error("wrong passphrase or store key")]
    WrongKey,
    /// Stored data failed to decrypt or decode.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// A stored row failed authentication under the store key: it was changed, or moved
    /// from another row, by something that does not hold the key (an edit of the file).
    /// The row is not used. Only the SQLite store authenticates rows (schema version 2:
    /// contacts, installations, peer prekeys).
    #[error(
        "store row failed authentication: table {table}, row {row}; it was modified outside the store (without the store key) and is not used"
    )]
    Tampered {
        /// The table of the row.
        table: &'static str,
        /// The row, by its primary key as stored (hex for bytes).
        row: String,
    },
    /// A uniqueness or consistency rule of the store was violated by the caller.
    #[error("invalid store operation: {0}")]
    Invalid(String),
}

/// Nanoseconds since the Unix epoch.
///
/// ```
/// use pfs_store::Nanos;
///
/// // Unix time in nanoseconds, signed as SQLite integers are
/// let created: Nanos = 1_700_000_000_000_000_000;
/// assert!(created < Nanos::MAX);
/// ```
pub type Nanos = i64;

/// A store: a factory of transactions.
///
/// ```
/// use pfs_store::{MemoryStore, Store};
///
/// let mut store: Box<dyn Store> = Box::new(MemoryStore::new());
/// let mut tx = store.begin_durable()?;
/// tx.put_rate_limit("bundle", b"peer", 7)?;
/// tx.commit()?;
/// assert_eq!(store.begin()?.rate_limit("bundle", b"peer")?, Some(7));
/// # Ok::<(), pfs_store::StoreError>(())
/// ```
pub trait Store: Send {
    /// Starts a transaction. Only one transaction is open at a time per store value.
    ///
    /// ```
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// tx.put_rate_limit("k", b"v", 1)?;
    /// drop(tx); // not committed
    /// assert_eq!(store.begin()?.rate_limit("k", b"v")?, None);
    /// # Ok::<(), pfs_store::StoreError>(())
    /// ```
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError>;

    /// Like [`Store::begin`], for a transaction whose commit must survive a power failure
    /// once [`Transaction::commit`] returns, whatever the store's usual durability setting
    /// (a SQLite store opened with `synchronous=NORMAL` runs this one transaction with
    /// `FULL`, which syncs the WAL at commit). The engine uses it for transactions that
    /// consume sending message keys: losing such a commit would make the next message
    /// reuse a key. Stores without such a setting begin as usual (the default).
    fn begin_durable(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        self.begin()
    }
}

/// One atomic unit of work. Reads see the transaction's own writes.
/// Dropping it without [`Transaction::commit`] discards every change.
///
/// ```
/// # use pfs_crypto::{SecretBytes, SecretVec};
/// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
/// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
/// #     Ok(SessionRecord {
/// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
/// #         peer_installation: InstallationId::new("their-phone")?,
/// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
/// #         we_initiated: true,
/// #         suite: RatchetSuite::StatusGo,
/// #         state: SecretVec::new(vec![1, 2, 3]),
/// #         shared_secret: SecretBytes::new([4; 32]),
/// #         pending_x3dh_ephemeral: None,
/// #         created_at: 1,
/// #         last_used: 2,
/// #         expired_at: None,
/// #     })
/// # }
/// use pfs_store::{MemoryStore, Store};
///
/// let mut store = MemoryStore::new();
/// let s = session(2, b"sid")?;
/// let mut tx = store.begin()?;
/// tx.put_session(&s)?;
/// assert_eq!(tx.session(&s.key)?, Some(s.clone())); // reads its own writes
/// drop(tx); // rolled back
/// assert_eq!(store.begin()?.session(&s.key)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Transaction {
    /// Makes every change of this transaction durable, atomically.
    ///
    /// ```
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// tx.put_app_record("outbox", b"m1", b"hello", 10)?;
    /// tx.commit()?;
    /// assert_eq!(store.begin()?.app_record("outbox", b"m1")?, Some(b"hello".to_vec()));
    /// # Ok::<(), pfs_store::StoreError>(())
    /// ```
    fn commit(self: Box<Self>) -> Result<(), StoreError>;

    // --- our account -------------------------------------------------------------
    /// Our account (identity secret and installation id), if one was created.
    fn account(&self) -> Result<Option<AccountRecord>, StoreError>;
    /// Creates or replaces our account.
    fn put_account(&mut self, account: &AccountRecord) -> Result<(), StoreError>;

    // --- our signed prekeys ----------------------------------------------------------
    /// All our signed prekeys (current and rotated), ordered by version ascending
    /// (equal versions by public key bytes).
    fn own_prekeys(&self) -> Result<Vec<OwnPreKeyRecord>, StoreError>;
    /// Our signed prekey with this public key.
    fn own_prekey(&self, public: &SignedPreKey) -> Result<Option<OwnPreKeyRecord>, StoreError>;
    /// Creates or replaces a signed prekey (keyed by its public key).
    fn put_own_prekey(&mut self, prekey: &OwnPreKeyRecord) -> Result<(), StoreError>;
    /// Deletes a signed prekey (its private key is gone for good).
    fn delete_own_prekey(&mut self, public: &SignedPreKey) -> Result<(), StoreError>;

    // --- installations (ours and peers') -------------------------------------------
    /// One installation of `identity`.
    fn installation(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Option<InstallationRecord>, StoreError>;
    /// All installations of `identity`, ordered by installation id bytes.
    fn installations(&self, identity: &IdentityKey) -> Result<Vec<InstallationRecord>, StoreError>;
    /// Every installation known, ordered by identity bytes then installation id bytes.
    fn all_installations(&self) -> Result<Vec<InstallationRecord>, StoreError>;
    /// The installations not marked stale whose `missing_since` is at or before `until`,
    /// ordered by `missing_since`, then identity bytes, then installation id bytes.
    fn installations_missing_until(
        &self,
        until: Nanos,
    ) -> Result<Vec<InstallationRecord>, StoreError>;
    /// Creates or replaces an installation (keyed by identity and installation id).
    fn put_installation(&mut self, installation: &InstallationRecord) -> Result<(), StoreError>;
    /// Deletes an installation.
    ///
    /// ```
    /// use pfs_store::{IdentityKey, InstallationId, InstallationRecord, MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// let (alice, phone) = (IdentityKey::from_bytes([2; 33]), InstallationId::new("phone")?);
    /// tx.put_installation(&InstallationRecord {
    ///     identity: alice, installation_id: phone.clone(), timestamp: 1, enabled: true, protocol_version: 1,
    ///     first_seen: 1, last_bundle_at: 1, missing_since: None, stale: false, heard_with_protocol_version: false,
    /// })?;
    /// assert!(tx.installation(&alice, &phone)?.is_some());
    /// assert_eq!(tx.all_installations()?.len(), 1);
    /// tx.delete_installation(&alice, &phone)?;
    /// assert_eq!(tx.installation(&alice, &phone)?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn delete_installation(
        &mut self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<(), StoreError>;

    // --- peers' signed prekeys ------------------------------------------------------
    /// The signed prekeys received for one installation of a peer, highest version first
    /// (equal versions by public key bytes, ascending).
    fn peer_prekeys(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Vec<PeerPreKeyRecord>, StoreError>;
    /// Creates or replaces a peer's signed prekey (keyed by identity, installation id and
    /// public key).
    fn put_peer_prekey(&mut self, prekey: &PeerPreKeyRecord) -> Result<(), StoreError>;

    // --- sessions ------------------------------------------------------------------
    /// A session by its key.
    fn session(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError>;
    /// Every session with one installation of a peer, ordered by session id bytes.
    fn sessions_with(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Vec<SessionRecord>, StoreError>;
    /// Every session, ordered by peer identity then session id.
    fn all_sessions(&self) -> Result<Vec<SessionRecord>, StoreError>;
    /// Creates or replaces a session.
    fn put_session(&mut self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Deletes a session **and all its skipped message keys**.
    ///
    /// ```
    /// # use pfs_crypto::{SecretBytes, SecretVec};
    /// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
    /// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
    /// #     Ok(SessionRecord {
    /// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
    /// #         peer_installation: InstallationId::new("their-phone")?,
    /// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
    /// #         we_initiated: true,
    /// #         suite: RatchetSuite::StatusGo,
    /// #         state: SecretVec::new(vec![1, 2, 3]),
    /// #         shared_secret: SecretBytes::new([4; 32]),
    /// #         pending_x3dh_ephemeral: None,
    /// #         created_at: 1,
    /// #         last_used: 2,
    /// #         expired_at: None,
    /// #     })
    /// # }
    /// # use pfs_store::SkippedKeyRecord;
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let s = session(2, b"sid")?;
    /// let mut tx = store.begin()?;
    /// tx.put_session(&s)?;
    /// let key = SkippedKeyRecord {
    ///     ratchet_key: vec![5; 33], n: 3, message_key: SecretBytes::new([9; 32]), seq: 1, pending_message_id: None,
    /// };
    /// tx.put_skipped_keys(&s.key, &[key])?;
    /// assert_eq!(tx.count_skipped_keys(&s.key)?, 1);
    /// tx.delete_session(&s.key)?;
    /// assert_eq!(tx.session(&s.key)?, None);
    /// assert_eq!(tx.count_skipped_keys(&s.key)?, 0);
    /// tx.delete_session(&s.key)?; // deleting again is not an error
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn delete_session(&mut self, key: &SessionKey) -> Result<(), StoreError>;

    // --- session maintenance (metadata only: no session secret is read) ---------------
    /// Deletes, each with all its skipped message keys, the sessions marked expired whose
    /// expiry and last use are both at or before `until`
    /// (`expired_at IS NOT NULL AND max(expired_at, last_used) <= until`). Returns how
    /// many were deleted.
    ///
    /// ```
    /// # use pfs_crypto::{SecretBytes, SecretVec};
    /// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
    /// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
    /// #     Ok(SessionRecord {
    /// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
    /// #         peer_installation: InstallationId::new("their-phone")?,
    /// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
    /// #         we_initiated: true,
    /// #         suite: RatchetSuite::StatusGo,
    /// #         state: SecretVec::new(vec![1, 2, 3]),
    /// #         shared_secret: SecretBytes::new([4; 32]),
    /// #         pending_x3dh_ephemeral: None,
    /// #         created_at: 1,
    /// #         last_used: 2,
    /// #         expired_at: None,
    /// #     })
    /// # }
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// // expired at 10, last used at 2; a live session next to it
    /// tx.put_session(&SessionRecord { expired_at: Some(10), ..session(2, b"old")? })?;
    /// tx.put_session(&session(2, b"live")?)?;
    /// assert_eq!(tx.delete_sessions_expired_until(9)?, 0);
    /// assert_eq!(tx.delete_sessions_expired_until(10)?, 1);
    /// assert_eq!(tx.all_sessions()?.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn delete_sessions_expired_until(&mut self, until: Nanos) -> Result<usize, StoreError>;
    /// Marks expired at `at` (sets `expired_at`) every unexpired session whose signed
    /// prekey is no longer valid: for a session we initiated, the peer prekey
    /// (`peer_identity`, `peer_installation`, `rooted_spk`) is not stored or is `expired`;
    /// for the others, our prekey `rooted_spk` is not stored or has an `expired_at`. Only
    /// `expired_at` changes. Returns how many were marked.
    ///
    /// Authenticated rows: the SQLite store checks the tag of every peer prekey row that
    /// makes it mark a session ([`StoreError::Tampered`] otherwise, nothing changed by
    /// the call); a row that leaves a session alone is not read as a record.
    ///
    /// ```
    /// # use pfs_crypto::{SecretBytes, SecretVec};
    /// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
    /// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
    /// #     Ok(SessionRecord {
    /// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
    /// #         peer_installation: InstallationId::new("their-phone")?,
    /// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
    /// #         we_initiated: true,
    /// #         suite: RatchetSuite::StatusGo,
    /// #         state: SecretVec::new(vec![1, 2, 3]),
    /// #         shared_secret: SecretBytes::new([4; 32]),
    /// #         pending_x3dh_ephemeral: None,
    /// #         created_at: 1,
    /// #         last_used: 2,
    /// #         expired_at: None,
    /// #     })
    /// # }
    /// use pfs_store::{MemoryStore, PeerPreKeyRecord, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// let (kept, gone) = (session(2, b"a")?, session(4, b"b")?); // both initiated by us, rooted in [3; 33]
    /// tx.put_session(&kept)?;
    /// tx.put_session(&gone)?;
    /// // the peer prekey of the first one is still valid; the second one's is unknown
    /// tx.put_peer_prekey(&PeerPreKeyRecord {
    ///     identity: kept.key.peer_identity, installation_id: kept.peer_installation.clone(), public: kept.rooted_spk,
    ///     version: 1, protocol_version: 1, bundle_timestamp: 0, expired: false, received_at: 0,
    /// })?;
    /// assert_eq!(tx.expire_sessions_on_invalid_prekeys(77)?, 1);
    /// assert_eq!(tx.session(&gone.key)?.and_then(|s| s.expired_at), Some(77));
    /// assert_eq!(tx.session(&kept.key)?.and_then(|s| s.expired_at), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn expire_sessions_on_invalid_prekeys(&mut self, at: Nanos) -> Result<usize, StoreError>;
    /// Marks expired at `at` every unexpired session we did not initiate whose
    /// `rooted_spk` is one of `spks` (our rotated prekeys). Only `expired_at` changes.
    /// Returns how many were marked.
    ///
    /// ```
    /// # use pfs_crypto::{SecretBytes, SecretVec};
    /// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
    /// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
    /// #     Ok(SessionRecord {
    /// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
    /// #         peer_installation: InstallationId::new("their-phone")?,
    /// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
    /// #         we_initiated: true,
    /// #         suite: RatchetSuite::StatusGo,
    /// #         state: SecretVec::new(vec![1, 2, 3]),
    /// #         shared_secret: SecretBytes::new([4; 32]),
    /// #         pending_x3dh_ephemeral: None,
    /// #         created_at: 1,
    /// #         last_used: 2,
    /// #         expired_at: None,
    /// #     })
    /// # }
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// // a session the peer started, rooted in our prekey [3; 33]
    /// let theirs = SessionRecord { we_initiated: false, ..session(2, b"a")? };
    /// tx.put_session(&theirs)?;
    /// assert_eq!(tx.expire_responder_sessions_rooted_in(&[SignedPreKey::from_bytes([9; 33])], 50)?, 0);
    /// assert_eq!(tx.expire_responder_sessions_rooted_in(&[theirs.rooted_spk], 50)?, 1);
    /// assert_eq!(tx.session(&theirs.key)?.and_then(|s| s.expired_at), Some(50));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn expire_responder_sessions_rooted_in(
        &mut self,
        spks: &[SignedPreKey],
        at: Nanos,
    ) -> Result<usize, StoreError>;
    /// Whether some session we did not initiate, expired or not, is rooted in `spk`.
    ///
    /// ```
    /// # use pfs_crypto::{SecretBytes, SecretVec};
    /// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
    /// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
    /// #     Ok(SessionRecord {
    /// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
    /// #         peer_installation: InstallationId::new("their-phone")?,
    /// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
    /// #         we_initiated: true,
    /// #         suite: RatchetSuite::StatusGo,
    /// #         state: SecretVec::new(vec![1, 2, 3]),
    /// #         shared_secret: SecretBytes::new([4; 32]),
    /// #         pending_x3dh_ephemeral: None,
    /// #         created_at: 1,
    /// #         last_used: 2,
    /// #         expired_at: None,
    /// #     })
    /// # }
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// let ours = session(2, b"a")?; // we initiated it
    /// tx.put_session(&ours)?;
    /// assert!(!tx.responder_session_rooted_in(&ours.rooted_spk)?);
    /// tx.put_session(&SessionRecord { we_initiated: false, expired_at: Some(1), ..session(4, b"b")? })?;
    /// assert!(tx.responder_session_rooted_in(&ours.rooted_spk)?); // expired or not
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn responder_session_rooted_in(&self, spk: &SignedPreKey) -> Result<bool, StoreError>;

    // --- skipped (and unconfirmed) message keys --------------------------------------
    /// The stored key for message `n` of the chain with ratchet key `ratchet_key`.
    fn skipped_key(
        &self,
        session: &SessionKey,
        ratchet_key: &[u8],
        n: u32,
    ) -> Result<Option<SkippedKeyRecord>, StoreError>;
    /// Stores keys (replacing any with the same session, ratchet key and number).
    ///
    /// The session must exist (in the store or earlier in this transaction), otherwise
    /// [`StoreError::Invalid`]; so must every `seq` be at most `i64::MAX` (SQLite
    /// integers are signed). A rejected call stores none of the keys.
    ///
    /// ```
    /// # use pfs_crypto::{SecretBytes, SecretVec};
    /// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
    /// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
    /// #     Ok(SessionRecord {
    /// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
    /// #         peer_installation: InstallationId::new("their-phone")?,
    /// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
    /// #         we_initiated: true,
    /// #         suite: RatchetSuite::StatusGo,
    /// #         state: SecretVec::new(vec![1, 2, 3]),
    /// #         shared_secret: SecretBytes::new([4; 32]),
    /// #         pending_x3dh_ephemeral: None,
    /// #         created_at: 1,
    /// #         last_used: 2,
    /// #         expired_at: None,
    /// #     })
    /// # }
    /// # use pfs_store::SkippedKeyRecord;
    /// use pfs_store::{MemoryStore, Store, StoreError};
    ///
    /// let mut store = MemoryStore::new();
    /// let s = session(2, b"sid")?;
    /// let mut tx = store.begin()?;
    /// tx.put_session(&s)?;
    /// let key = |n, seq| SkippedKeyRecord {
    ///     ratchet_key: vec![5; 33], n, message_key: SecretBytes::new([n as u8; 32]), seq, pending_message_id: None,
    /// };
    /// tx.put_skipped_keys(&s.key, &[key(0, 1), key(1, 2)])?;
    /// assert_eq!(tx.skipped_key(&s.key, &[5; 33], 1)?, Some(key(1, 2)));
    /// // a seq above i64::MAX is refused, and the other key of the call is not stored either
    /// assert!(matches!(tx.put_skipped_keys(&s.key, &[key(2, 3), key(3, u64::MAX)]), Err(StoreError::Invalid(_))));
    /// assert_eq!(tx.count_skipped_keys(&s.key)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn put_skipped_keys(
        &mut self,
        session: &SessionKey,
        keys: &[SkippedKeyRecord],
    ) -> Result<(), StoreError>;
    /// Deletes one key.
    fn delete_skipped_key(
        &mut self,
        session: &SessionKey,
        ratchet_key: &[u8],
        n: u32,
    ) -> Result<(), StoreError>;
    /// Keeps only the `keep` keys with the highest `seq` of the session (keys with equal
    /// `seq` are ranked by ratchet key bytes then `n`, the highest kept first).
    ///
    /// ```
    /// # use pfs_crypto::{SecretBytes, SecretVec};
    /// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
    /// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
    /// #     Ok(SessionRecord {
    /// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
    /// #         peer_installation: InstallationId::new("their-phone")?,
    /// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
    /// #         we_initiated: true,
    /// #         suite: RatchetSuite::StatusGo,
    /// #         state: SecretVec::new(vec![1, 2, 3]),
    /// #         shared_secret: SecretBytes::new([4; 32]),
    /// #         pending_x3dh_ephemeral: None,
    /// #         created_at: 1,
    /// #         last_used: 2,
    /// #         expired_at: None,
    /// #     })
    /// # }
    /// # use pfs_store::SkippedKeyRecord;
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let s = session(2, b"sid")?;
    /// let mut tx = store.begin()?;
    /// tx.put_session(&s)?;
    /// let keys: Vec<_> = (0..5).map(|n| SkippedKeyRecord {
    ///     ratchet_key: vec![5; 33], n, message_key: SecretBytes::new([1; 32]), seq: u64::from(n), pending_message_id: None,
    /// }).collect();
    /// tx.put_skipped_keys(&s.key, &keys)?;
    /// tx.truncate_skipped_keys(&s.key, 2)?;
    /// assert_eq!(tx.count_skipped_keys(&s.key)?, 2);
    /// assert!(tx.skipped_key(&s.key, &[5; 33], 4)?.is_some()); // the highest seq stays
    /// assert!(tx.skipped_key(&s.key, &[5; 33], 0)?.is_none());
    /// tx.delete_skipped_keys_upto(&s.key, 3)?;
    /// assert_eq!(tx.count_skipped_keys(&s.key)?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn truncate_skipped_keys(
        &mut self,
        session: &SessionKey,
        keep: usize,
    ) -> Result<(), StoreError>;
    /// Deletes the keys of the session whose `seq` is at most `seq`.
    fn delete_skipped_keys_upto(
        &mut self,
        session: &SessionKey,
        seq: u64,
    ) -> Result<(), StoreError>;
    /// Number of keys stored for the session.
    fn count_skipped_keys(&self, session: &SessionKey) -> Result<usize, StoreError>;
    /// Keys kept for messages awaiting the application's confirmation, by message id,
    /// ordered by session (peer identity, session id), then ratchet key bytes, then `n`.
    ///
    /// ```
    /// # use pfs_crypto::{SecretBytes, SecretVec};
    /// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
    /// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
    /// #     Ok(SessionRecord {
    /// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
    /// #         peer_installation: InstallationId::new("their-phone")?,
    /// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
    /// #         we_initiated: true,
    /// #         suite: RatchetSuite::StatusGo,
    /// #         state: SecretVec::new(vec![1, 2, 3]),
    /// #         shared_secret: SecretBytes::new([4; 32]),
    /// #         pending_x3dh_ephemeral: None,
    /// #         created_at: 1,
    /// #         last_used: 2,
    /// #         expired_at: None,
    /// #     })
    /// # }
    /// # use pfs_store::SkippedKeyRecord;
    /// use pfs_store::{MemoryStore, MessageId, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let s = session(2, b"sid")?;
    /// let mut tx = store.begin()?;
    /// tx.put_session(&s)?;
    /// let used = SkippedKeyRecord {
    ///     ratchet_key: vec![5; 33], n: 0, message_key: SecretBytes::new([1; 32]), seq: 1,
    ///     pending_message_id: Some(MessageId::from(b"m1")),
    /// };
    /// tx.put_skipped_keys(&s.key, std::slice::from_ref(&used))?;
    /// assert_eq!(tx.unconfirmed_keys(&MessageId::from(b"m1"))?, [(s.key.clone(), used)]);
    /// assert!(tx.unconfirmed_keys(&MessageId::from(b"m2"))?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn unconfirmed_keys(
        &self,
        message_id: &MessageId,
    ) -> Result<Vec<(SessionKey, SkippedKeyRecord)>, StoreError>;

    // --- X3DH replay defence ---------------------------------------------------------
    /// When an initial message with this (signed prekey, ephemeral key) was first accepted.
    ///
    /// ```
    /// use pfs_store::{EphemeralKey, MemoryStore, SignedPreKey, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// let (spk, ek) = (SignedPreKey::from_bytes([3; 33]), EphemeralKey::from_bytes([4; 33]));
    /// assert_eq!(tx.x3dh_seen(&spk, &ek)?, None);
    /// tx.put_x3dh_seen(&spk, &ek, 100)?;
    /// assert_eq!(tx.x3dh_seen(&spk, &ek)?, Some(100));
    /// tx.delete_x3dh_seen_for(&spk)?;
    /// assert_eq!(tx.x3dh_seen(&spk, &ek)?, None);
    /// # Ok::<(), pfs_store::StoreError>(())
    /// ```
    fn x3dh_seen(
        &self,
        spk: &SignedPreKey,
        ephemeral: &EphemeralKey,
    ) -> Result<Option<Nanos>, StoreError>;
    /// Records an accepted initial message.
    fn put_x3dh_seen(
        &mut self,
        spk: &SignedPreKey,
        ephemeral: &EphemeralKey,
        at: Nanos,
    ) -> Result<(), StoreError>;
    /// Forgets every record for a signed prekey (when its private key is deleted).
    fn delete_x3dh_seen_for(&mut self, spk: &SignedPreKey) -> Result<(), StoreError>;

    // --- rate limits --------------------------------------------------------------
    /// When an action of `kind` was last done for `key` (e.g. a bundle reply to a peer).
    ///
    /// ```
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// tx.put_rate_limit("bundle-reply", b"peer", 10)?;
    /// tx.put_rate_limit("bundle-reply", b"peer", 20)?; // replaced
    /// assert_eq!(tx.rate_limit("bundle-reply", b"peer")?, Some(20));
    /// assert_eq!(tx.rate_limit("other", b"peer")?, None); // kinds are separate
    /// # Ok::<(), pfs_store::StoreError>(())
    /// ```
    fn rate_limit(&self, kind: &str, key: &[u8]) -> Result<Option<Nanos>, StoreError>;
    /// Records when an action of `kind` was done for `key`.
    fn put_rate_limit(&mut self, kind: &str, key: &[u8], at: Nanos) -> Result<(), StoreError>;

    // --- contacts ---------------------------------------------------------------------
    /// A contact by identity.
    fn contact(&self, identity: &IdentityKey) -> Result<Option<ContactRecord>, StoreError>;
    /// Every contact, ordered by identity bytes.
    fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError>;
    /// Creates or replaces a contact.
    fn put_contact(&mut self, contact: &ContactRecord) -> Result<(), StoreError>;
    /// Deletes a contact (nothing else: its sessions and installations stay). Deleting an
    /// unknown identity does nothing.
    fn delete_contact(&mut self, identity: &IdentityKey) -> Result<(), StoreError>;

    // --- application records ----------------------------------------------------------
    /// An application-layer record (the app layer's outbox, seen ids, clock), by kind and
    /// key; the value is encrypted at rest like every secret.
    fn app_record(&self, kind: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Creates or replaces an application record; `due` is a time the record is looked up
    /// by (see [`Transaction::due_app_records`]).
    fn put_app_record(
        &mut self,
        kind: &str,
        key: &[u8],
        value: &[u8],
        due: i64,
    ) -> Result<(), StoreError>;
    /// Deletes an application record (absent: nothing happens).
    ///
    /// ```
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// tx.put_app_record("seen", b"m1", b"", 0)?;
    /// tx.delete_app_record("seen", b"m1")?;
    /// tx.delete_app_record("seen", b"absent")?; // nothing happens
    /// assert_eq!((tx.app_record("seen", b"m1")?, tx.count_app_records("seen")?), (None, 0));
    /// # Ok::<(), pfs_store::StoreError>(())
    /// ```
    fn delete_app_record(&mut self, kind: &str, key: &[u8]) -> Result<(), StoreError>;
    /// Records of `kind` with `due <= until`, earliest due first (ties by key), at most
    /// `limit`, as (key, value).
    ///
    /// ```
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let mut tx = store.begin()?;
    /// tx.put_app_record("outbox", b"b", b"2", 20)?;
    /// tx.put_app_record("outbox", b"a", b"1", 10)?;
    /// tx.put_app_record("outbox", b"c", b"3", 30)?;
    /// tx.put_app_record("seen", b"x", b"", 0)?;
    /// assert_eq!(tx.due_app_records("outbox", 20, 10)?, [(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"2".to_vec())]);
    /// assert_eq!(tx.due_app_records("outbox", 30, 1)?.len(), 1);
    /// assert_eq!(tx.count_app_records("outbox")?, 3);
    /// # Ok::<(), pfs_store::StoreError>(())
    /// ```
    fn due_app_records(
        &self,
        kind: &str,
        until: i64,
        limit: usize,
    ) -> Result<Vec<AppRecord>, StoreError>;
    /// How many records of `kind` exist.
    fn count_app_records(&self, kind: &str) -> Result<usize, StoreError>;
}

/// An application record as listed: (key, value).
///
/// ```
/// use pfs_store::{AppRecord, MemoryStore, Store};
///
/// let mut store = MemoryStore::new();
/// let mut tx = store.begin()?;
/// tx.put_app_record("clock", b"lamport", b"\x05", 0)?;
/// let due: Vec<AppRecord> = tx.due_app_records("clock", 0, 10)?;
/// assert_eq!(due, [(b"lamport".to_vec(), vec![5])]);
/// # Ok::<(), pfs_store::StoreError>(())
/// ```
pub type AppRecord = (Vec<u8>, Vec<u8>);

/// The key that encrypts secrets at rest, derived by the application.
///
/// ```
/// use pfs_store::{SqliteOptions, SqliteStore, StoreKey};
///
/// let key: StoreKey = pfs_crypto::SecretBytes::new([7; 32]);
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open_with_key(dir.path().join("s.sqlite"), &key, SqliteOptions::default())?;
/// store.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type StoreKey = SecretBytes<32>;

/// Checks that a skipped-key sequence number fits a signed 64-bit SQLite integer.
pub(crate) fn check_seq(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq)
        .map_err(|_| StoreError::Invalid(format!("skipped-key seq {seq} exceeds i64::MAX")))
}
