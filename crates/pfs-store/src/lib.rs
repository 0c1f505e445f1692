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
pub type Nanos = i64;

/// A store: a factory of transactions.
pub trait Store: Send {
    /// Starts a transaction. Only one transaction is open at a time per store value.
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
pub trait Transaction {
    /// Makes every change of this transaction durable, atomically.
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
    fn delete_session(&mut self, key: &SessionKey) -> Result<(), StoreError>;

    // --- session maintenance (metadata only: no session secret is read) ---------------
    /// Deletes, each with all its skipped message keys, the sessions marked expired whose
    /// expiry and last use are both at or before `until`
    /// (`expired_at IS NOT NULL AND max(expired_at, last_used) <= until`). Returns how
    /// many were deleted.
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
    fn expire_sessions_on_invalid_prekeys(&mut self, at: Nanos) -> Result<usize, StoreError>;
    /// Marks expired at `at` every unexpired session we did not initiate whose
    /// `rooted_spk` is one of `spks` (our rotated prekeys). Only `expired_at` changes.
    /// Returns how many were marked.
    fn expire_responder_sessions_rooted_in(
        &mut self,
        spks: &[SignedPreKey],
        at: Nanos,
    ) -> Result<usize, StoreError>;
    /// Whether some session we did not initiate, expired or not, is rooted in `spk`.
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
    fn unconfirmed_keys(
        &self,
        message_id: &MessageId,
    ) -> Result<Vec<(SessionKey, SkippedKeyRecord)>, StoreError>;

    // --- X3DH replay defence ---------------------------------------------------------
    /// When an initial message with this (signed prekey, ephemeral key) was first accepted.
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
    fn delete_app_record(&mut self, kind: &str, key: &[u8]) -> Result<(), StoreError>;
    /// Records of `kind` with `due <= until`, earliest due first (ties by key), at most
    /// `limit`, as (key, value).
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
pub type AppRecord = (Vec<u8>, Vec<u8>);

/// The key that encrypts secrets at rest, derived by the application.
pub type StoreKey = SecretBytes<32>;

/// Checks that a skipped-key sequence number fits a signed 64-bit SQLite integer.
pub(crate) fn check_seq(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq)
        .map_err(|_| StoreError::Invalid(format!("skipped-key seq {seq} exceeds i64::MAX")))
}
