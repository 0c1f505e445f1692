//! [`SqliteStore`]: the durable store, one SQLite file (bundled SQLite, WAL mode).
//!
//! ## Schema and migrations
//! The schema is versioned with `PRAGMA user_version`. Each version is one SQL file
//! under `crates/pfs-store/migrations/`, embedded with `include_str!`, and applied at
//! open inside the same `BEGIN IMMEDIATE` transaction that sets the new version, so a
//! crash during a migration leaves the old version intact. A file whose version is
//! higher than [`SqliteStore::SCHEMA_VERSION`] is refused with
//! [`StoreError::SchemaTooNew`] before anything is written. A released migration file is
//! never edited: see the crate's README.
//!
//! ## Durability and transactions
//! `journal_mode=WAL`, `synchronous=NORMAL` by default ([`Synchronous::Full`] on request:
//! NORMAL survives a process crash but may lose the last commits on power loss, FULL
//! survives both), `foreign_keys=ON`, and `secure_delete=ON` so deleted message keys are
//! overwritten in the database pages instead of lingering in free space. Each
//! [`Store::begin`] is one SQL `BEGIN IMMEDIATE` transaction; dropping it rolls back.
//!
//! ## One writer process
//! The store takes `PRAGMA locking_mode=EXCLUSIVE` and acquires the database write lock
//! while opening, with a busy timeout of zero. It keeps the lock until it is dropped, so a
//! second process (or a second [`SqliteStore`] in the same process) opening the same
//! file fails at once with [`StoreError::Locked`] instead of interleaving ratchet
//! updates, which would lose message keys. In exclusive mode SQLite also keeps the WAL
//! index in heap memory rather than in a shared `-shm` file.
//!
//! ## Encryption at rest: per-value AES-256-GCM rather than SQLCipher
//! Every secret column (account identity secret, prekey secrets, session state and X3DH
//! shared secret, message keys) holds `nonce(12) ‖ ciphertext ‖ tag(16)`:
//! AES-256-GCM under the store key with a fresh random nonce, and associated data
//! `"pfs-store/v1" ‖ table ‖ column ‖ the row's identifying columns` (each part
//! length-prefixed). Public keys, ids, counters and timestamps stay in clear so that
//! indexes and queries work. A 32-byte secret written again unchanged (a session's X3DH
//! shared secret, rewritten with every ratchet step; a prekey secret) keeps its previous
//! sealing instead of being sealed anew, and reading back the sealing we last wrote or
//! opened skips the decryption (an in-memory cache per store, by AAD). Why not SQLCipher (status-go's choice):
//! * it needs a system library or a vendored OpenSSL/codec build; the bundled SQLite of
//!   `rusqlite` has no codec, and we keep the build free of system dependencies;
//! * the AAD binds each ciphertext to its table, column and row: a value cannot be moved
//!   to another row or column (one session's state or message key into another
//!   session) without failing authentication. This is, at the record level, what
//!   SQLCipher's per-page HMAC (which covers the page number) gives at the page level.
//!   Neither stops rolling the whole file back to an older copy;
//! * secrets stay encrypted in every copy SQLite makes (WAL, rollback journals, temp
//!   files, backups), with no page cache in clear.
//!
//! ## Authenticated rows (schema version 2)
//! The rows that decide who a message goes to or what the user is shown (`contacts`,
//! `installations`, `peer_prekeys`) stay in clear, for lookups and ordering, and carry a
//! `row_mac`: HMAC-SHA256 under a key derived from the store key, over the table name
//! and every column value of the row (type and bytes), primary key included. Every read
//! checks it before decoding anything, and a row that fails is refused with
//! [`StoreError::Tampered`] naming the table and the row's key: editing a name, a state,
//! an enabled flag, or swapping fields or whole rows between two keys, is detected.
//! Deleting rows, or putting back an older row (or an older copy of the file) as a whole,
//! is not: see `docs/store.md`. Version 1 stores get their tags at open, in the
//! migration's transaction (`upgrade_rows`).
//!
//! The cost is that metadata is visible: who we talk to (peer identity keys), when, and
//! how many skipped keys each session holds. SQLCipher would hide that too; an
//! application that needs it can put the whole file on an encrypted volume.
//!
//! The store key is either given ([`SqliteStore::open_with_key`]) or derived from a
//! passphrase ([`SqliteStore::open`]) with PBKDF2-HMAC-SHA256 and a random 16-byte salt
//! kept in the `meta` table with the iteration count chosen at creation. A key-check
//! value (the GCM sealing of a fixed constant) in `meta` makes a wrong key fail at open
//! with [`StoreError::WrongKey`], before anything is written.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use pfs_crypto::{OsRandom, RandomSource, SecretBytes};
use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Params, Row, TransactionBehavior,
    config::DbConfig,
    params, params_from_iter,
    types::{FromSql, ToSqlOutput, ValueRef},
};

use crate::crypt::{self, KEY_CHECK_PLAINTEXT, RowValue, SALT_LEN, SealCache, aad};
use crate::{
    AccountRecord, ContactRecord, ContactState, EphemeralKey, IdentityKey, InstallationId,
    InstallationRecord, MessageId, Nanos, OwnPreKeyRecord, PeerPreKeyRecord, RatchetSuite,
    SessionKey, SessionRecord, SignedPreKey, SkippedKeyRecord, Store, StoreError, StoreKey,
    Transaction, check_seq,
};

/// The schema migrations, in order: entry `i` upgrades version `i` to `i + 1`.
/// A migration's Rust step (see [`upgrade_rows`]) runs right after its SQL, in the same
/// transaction.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_authenticated_rows.sql"),
    include_str!("../migrations/0003_app_records.sql"),
    include_str!("../migrations/0004_maintenance_indexes.sql"),
];

/// Prepared statements kept per connection (more than the store has distinct statements).
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// Default PBKDF2 iteration count (OWASP 2023 recommendation for PBKDF2-HMAC-SHA256).
pub const DEFAULT_KDF_ITERATIONS: u32 = 210_000;

/// SQLite `synchronous` setting.
///
/// ```
/// use pfs_store::{SqliteOptions, SqliteStore, Store, Synchronous};
///
/// assert_eq!(Synchronous::default(), Synchronous::Normal);
/// let dir = tempfile::tempdir()?;
/// let options = SqliteOptions::default().with_synchronous(Synchronous::Full);
/// let mut store = SqliteStore::open_with_key(dir.path().join("s.sqlite"), &pfs_crypto::SecretBytes::new([1; 32]), options)?;
/// let mut tx = store.begin()?;
/// tx.put_rate_limit("k", b"v", 1)?;
/// tx.commit()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `NORMAL`: in WAL mode, durable across process crashes; the last commits may be
    /// lost on power failure (never corrupted).
    #[default]
    Normal,
    /// `FULL`: every commit is fsync'ed, durable across power failures too.
    Full,
}

impl Synchronous {
    fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Options for opening a [`SqliteStore`].
///
/// ```
/// use pfs_store::sqlite::DEFAULT_KDF_ITERATIONS;
/// use pfs_store::{SqliteOptions, Synchronous};
///
/// let options = SqliteOptions::default();
/// assert_eq!((options.synchronous, options.kdf_iterations), (Synchronous::Normal, DEFAULT_KDF_ITERATIONS));
/// let fast = SqliteOptions::default().with_kdf_iterations(1).with_synchronous(Synchronous::Full);
/// assert_eq!((fast.synchronous, fast.kdf_iterations), (Synchronous::Full, 1));
/// ```
pub struct SqliteOptions {
    /// The `synchronous` setting (default [`Synchronous::Normal`]).
    pub synchronous: Synchronous,
    /// PBKDF2 iterations used when a **new** store is created from a passphrase (default
    /// [`DEFAULT_KDF_ITERATIONS`]). An existing store always uses the count stored in it.
    pub kdf_iterations: u32,
    /// Randomness for the salt and the nonces (default [`OsRandom`]).
    pub rng: Box<dyn RandomSource>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Normal,
            kdf_iterations: DEFAULT_KDF_ITERATIONS,
            rng: Box::new(OsRandom),
        }
    }
}

impl SqliteOptions {
    /// Sets the `synchronous` setting.
    ///
    /// ```
    /// use pfs_store::{SqliteOptions, Synchronous};
    ///
    /// assert_eq!(SqliteOptions::default().with_synchronous(Synchronous::Full).synchronous, Synchronous::Full);
    /// ```
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }
    /// Sets the PBKDF2 iteration count for new stores.
    ///
    /// ```
    /// use pfs_store::SqliteOptions;
    ///
    /// assert_eq!(SqliteOptions::default().with_kdf_iterations(1_000).kdf_iterations, 1_000);
    /// ```
    pub fn with_kdf_iterations(mut self, iterations: u32) -> Self {
        self.kdf_iterations = iterations;
        self
    }
    /// Sets the randomness source.
    ///
    /// ```
    /// use pfs_store::{SqliteOptions, SqliteStore};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let options = SqliteOptions::default().with_kdf_iterations(1).with_rng(Box::new(pfs_crypto::OsRandom));
    /// SqliteStore::open(dir.path().join("s.sqlite"), b"passphrase", options)?.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_rng(mut self, rng: Box<dyn RandomSource>) -> Self {
        self.rng = rng;
        self
    }
}

impl fmt::Debug for SqliteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteOptions")
            .field("synchronous", &self.synchronous)
            .field("kdf_iterations", &self.kdf_iterations)
            .finish_non_exhaustive()
    }
}

/// A [`Store`] in one SQLite file, secrets encrypted at rest.
///
/// ```
/// use pfs_store::{ContactRecord, ContactState, IdentityKey, SqliteOptions, SqliteStore, Store};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("s.sqlite");
/// let key = pfs_crypto::SecretBytes::new([1; 32]);
/// let bob = ContactRecord { identity: IdentityKey::from_bytes([2; 33]), state: ContactState::Added, name: Some("Bob".into()), updated_at: 1 };
/// let mut store = SqliteStore::open_with_key(&path, &key, SqliteOptions::default())?;
/// let mut tx = store.begin()?;
/// tx.put_contact(&bob)?;
/// tx.commit()?;
/// store.close()?;
/// // the data survives closing and reopening
/// let mut store = SqliteStore::open_with_key(&path, &key, SqliteOptions::default())?;
/// assert_eq!(store.begin()?.contacts()?, [bob]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    conn: Connection,
    key: StoreKey,
    /// The key of the row tags (derived from `key`, see [`crypt::row_key`]).
    row_key: SecretBytes<32>,
    rng: Box<dyn RandomSource>,
    seals: RefCell<SealCache>,
    /// The configured `synchronous` setting.
    synchronous: Synchronous,
    /// The connection's current one (`FULL` after a [`Store::begin_durable`]).
    sync_now: Synchronous,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

/// How the store key is obtained.
enum KeySource<'a> {
    Passphrase(&'a [u8]),
    Key(&'a StoreKey),
}

/// Maps a SQLite error to a store error.
fn sql_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked(format!(
            "the database file is locked by another connection, most likely another process \
             using the same store ({e})"
        )),
        Some(ErrorCode::ConstraintViolation) => StoreError::Invalid(e.to_string()),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt(e.to_string())
        }
        _ => StoreError::Io(e.to_string()),
    }
}

const META_KDF: &str = "kdf";
const META_SALT: &str = "kdf_salt";
const META_ITERATIONS: &str = "kdf_iterations";
const META_KEY_CHECK: &str = "key_check";
const KDF_PBKDF2: &[u8] = b"pbkdf2-hmac-sha256";
const KDF_RAW: &[u8] = b"raw-key";

fn meta_get(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .map_err(sql_err)
}

fn meta_required(conn: &Connection, name: &str) -> Result<Vec<u8>, StoreError> {
    meta_get(conn, name)?.ok_or_else(|| StoreError::Corrupt(format!("meta entry {name} missing")))
}

/// `meta` entries (name, value) to write.
type MetaEntries = Vec<(&'static str, Vec<u8>)>;

fn key_check_aad() -> Vec<u8> {
    aad("meta", META_KEY_CHECK, &[])
}

impl SqliteStore {
    /// The highest schema version this code knows (the version of new stores).
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

    /// Opens (creating it if needed) the store at `path`, with the store key derived
    /// from `passphrase` by PBKDF2-HMAC-SHA256.
    ///
    /// Errors: [`StoreError::Locked`] when another connection holds the file,
    /// [`StoreError::SchemaTooNew`], [`StoreError::WrongKey`] (in both cases the file
    /// is not modified), [`StoreError::Invalid`] when the store was created with a raw
    /// key, [`StoreError::Io`]/[`StoreError::Corrupt`] otherwise.
    ///
    /// ```
    /// use pfs_store::{SqliteOptions, SqliteStore, Store, StoreError};
    /// # fn main() -> Result<(), StoreError> {
    /// let path = std::env::temp_dir().join(format!("pfs-store-doc-{}.sqlite", std::process::id()));
    /// let options = || SqliteOptions::default().with_kdf_iterations(1);
    /// let mut store = SqliteStore::open(&path, b"correct horse", options())?;
    /// let mut tx = store.begin()?;
    /// tx.put_rate_limit("example", b"key", 42)?;
    /// tx.commit()?;
    /// // one process at a time: a second open is refused while the first holds the file
    /// assert!(matches!(SqliteStore::open(&path, b"correct horse", options()), Err(StoreError::Locked(_))));
    /// store.close()?;
    /// // the wrong passphrase changes nothing and says so
    /// assert!(matches!(SqliteStore::open(&path, b"wrong", options()), Err(StoreError::WrongKey)));
    /// let mut store = SqliteStore::open(&path, b"correct horse", options())?;
    /// assert_eq!(store.begin()?.rate_limit("example", b"key")?, Some(42));
    /// # store.close()?;
    /// # for suffix in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{suffix}", path.display())); }
    /// # Ok(()) }
    /// ```
    pub fn open(
        path: impl AsRef<Path>,
        passphrase: &[u8],
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        Self::open_inner(path.as_ref(), KeySource::Passphrase(passphrase), options)
    }

    /// Opens (creating it if needed) the store at `path` with an explicit store key.
    /// A store created from a passphrase can also be opened with the derived key.
    /// Errors as for [`SqliteStore::open`].
    ///
    /// ```
    /// use pfs_crypto::SecretBytes;
    /// use pfs_store::{SqliteOptions, SqliteStore, Store, StoreError};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("s.sqlite");
    /// let mut store = SqliteStore::open_with_key(&path, &SecretBytes::new([1; 32]), SqliteOptions::default())?;
    /// let mut tx = store.begin()?;
    /// tx.put_rate_limit("k", b"v", 9)?;
    /// tx.commit()?;
    /// store.close()?;
    /// let wrong = SqliteStore::open_with_key(&path, &SecretBytes::new([2; 32]), SqliteOptions::default());
    /// assert!(matches!(wrong, Err(StoreError::WrongKey)));
    /// // a store created with a raw key has no passphrase
    /// assert!(matches!(SqliteStore::open(&path, b"anything", SqliteOptions::default()), Err(StoreError::Invalid(_))));
    /// let mut store = SqliteStore::open_with_key(&path, &SecretBytes::new([1; 32]), SqliteOptions::default())?;
    /// assert_eq!(store.begin()?.rate_limit("k", b"v")?, Some(9));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with_key(
        path: impl AsRef<Path>,
        key: &StoreKey,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        Self::open_inner(path.as_ref(), KeySource::Key(key), options)
    }

    fn open_inner(
        path: &Path,
        source: KeySource<'_>,
        options: SqliteOptions,
    ) -> Result<Self, StoreError> {
        let SqliteOptions {
            synchronous,
            kdf_iterations,
            mut rng,
        } = options;
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err)?;
        conn.busy_timeout(Duration::ZERO).map_err(sql_err)?;
        // The engine uses a few dozen distinct statements per message; rusqlite's default
        // cache of 16 made them evict each other and re-parse the SQL on every call.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        // Query planner stability: without it, the bundled SQLite (built with STAT4)
        // marks statements whose plan could depend on a bound value (`LIMIT`/`OFFSET`
        // parameters, ORDER BY elimination) and re-prepares them whenever that value
        // changes, which made cached statements recompile on nearly every message. Our
        // plans never depend on values (every lookup is by key; see the query-plan test).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(sql_err)?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(sql_err)?;

        // Reads only, until the version and the key are known to be good.
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql_err)?;
        let version = u32::try_from(version)
            .map_err(|_| StoreError::Corrupt(format!("negative schema version {version}")))?;
        if version > Self::SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: Self::SCHEMA_VERSION,
            });
        }
        // The key: checked against an existing store; for a new one, made here and written
        // with the schema below (`new_meta`), before the migrations that may need it.
        let (key, new_meta) = if version > 0 {
            (Self::check_key(&conn, &source)?, None)
        } else {
            let (k, m) = Self::new_key(&source, &mut *rng, kdf_iterations)?;
            (k, Some(m))
        };
        let row_key = crypt::row_key(&key);

        // From here on we may write.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(sql_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Io(format!(
                "could not switch the database to WAL mode (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", synchronous.pragma_value())
            .map_err(sql_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql_err)?;
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(sql_err)?;
        // At most 2000 KiB of page cache, SQLite's default made explicit (docs/store.md,
        // "Page cache"): a message touches a few pages per B-tree, and maintenance reads its
        // indexes once, so a larger cache measured no faster at 10^5 sessions (8 and
        // 16 MiB) and only raised the peak memory of maintenance to the cache size.
        conn.pragma_update(None, "cache_size", -2000)
            .map_err(sql_err)?;

        // Migrations, and the key material of a new store, in one immediate transaction.
        // This also takes the write lock, which exclusive locking mode then keeps.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        // Re-read inside the write transaction (another process may have raced us).
        let version_now: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql_err)?;
        if version_now != i64::from(version) {
            return Err(StoreError::Locked(
                "the database was changed by another process while opening".into(),
            ));
        }
        for (to, sql) in (1..=Self::SCHEMA_VERSION)
            .zip(MIGRATIONS)
            .skip(version as usize)
        {
            tx.execute_batch(sql).map_err(sql_err)?;
            upgrade_rows(&tx, to, &row_key)?;
            tx.pragma_update(None, "user_version", to)
                .map_err(sql_err)?;
        }
        if let Some(meta) = new_meta {
            let mut ins = tx
                .prepare("INSERT INTO meta (name, value) VALUES (?1, ?2)")
                .map_err(sql_err)?;
            for (name, value) in &meta {
                ins.execute(params![name, value]).map_err(sql_err)?;
            }
            let check = crypt::seal(&key, &mut *rng, &key_check_aad(), KEY_CHECK_PLAINTEXT)?;
            ins.execute(params![META_KEY_CHECK, check])
                .map_err(sql_err)?;
        }
        tx.commit().map_err(sql_err)?;
        tracing::debug!(path = %path.display(), version = Self::SCHEMA_VERSION, "store opened");
        Ok(Self {
            conn,
            key,
            row_key,
            rng,
            seals: RefCell::default(),
            synchronous,
            sync_now: synchronous,
        })
    }

    /// The key of a new store and the `meta` entries that record how it was obtained (the
    /// key-check value is added when they are written). Writes nothing.
    fn new_key(
        source: &KeySource<'_>,
        rng: &mut dyn RandomSource,
        kdf_iterations: u32,
    ) -> Result<(StoreKey, MetaEntries), StoreError> {
        Ok(match source {
            KeySource::Key(k) => ((*k).clone(), vec![(META_KDF, KDF_RAW.to_vec())]),
            KeySource::Passphrase(p) => {
                let mut salt = [0u8; SALT_LEN];
                rng.fill_bytes(&mut salt)
                    .map_err(|e| StoreError::Io(format!("no randomness for the salt: {e}")))?;
                let key = crypt::derive_key(p, &salt, kdf_iterations)?;
                let meta = vec![
                    (META_KDF, KDF_PBKDF2.to_vec()),
                    (META_SALT, salt.to_vec()),
                    (META_ITERATIONS, kdf_iterations.to_be_bytes().to_vec()),
                ];
                (key, meta)
            }
        })
    }

    /// Derives or takes the key of an existing store and checks it against the key-check
    /// value. Reads only.
    fn check_key(conn: &Connection, source: &KeySource<'_>) -> Result<StoreKey, StoreError> {
        let kdf = meta_required(conn, META_KDF)?;
        let key = match source {
            KeySource::Key(k) => (*k).clone(),
            KeySource::Passphrase(p) => {
                if kdf != KDF_PBKDF2 {
                    return Err(StoreError::Invalid(
                        "this store was created with a raw key; open it with open_with_key".into(),
                    ));
                }
                let salt = meta_required(conn, META_SALT)?;
                let iterations = meta_required(conn, META_ITERATIONS)?;
                let iterations: [u8; 4] = iterations.as_slice().try_into().map_err(|_| {
                    StoreError::Corrupt("meta kdf_iterations is not 4 bytes".into())
                })?;
                crypt::derive_key(p, &salt, u32::from_be_bytes(iterations))?
            }
        };
        let check = meta_required(conn, META_KEY_CHECK)?;
        let pt = crypt::open(&key, &key_check_aad(), &check, "key check")
            .map_err(|_| StoreError::WrongKey)?;
        if !pfs_crypto::ct_eq(pt.expose(), KEY_CHECK_PLAINTEXT) {
            return Err(StoreError::WrongKey);
        }
        Ok(key)
    }

    /// Runs `PRAGMA integrity_check` and returns its report lines (`["ok"]` when sound).
    ///
    /// ```
    /// use pfs_store::{SqliteOptions, SqliteStore};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut store = SqliteStore::open_with_key(dir.path().join("s.sqlite"), &pfs_crypto::SecretBytes::new([1; 32]), SqliteOptions::default())?;
    /// assert_eq!(store.integrity_check()?, ["ok"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn integrity_check(&mut self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
    }

    /// Copies the WAL into the database file and truncates the WAL.
    ///
    /// ```
    /// use pfs_store::{SqliteOptions, SqliteStore, Store};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("s.sqlite");
    /// let mut store = SqliteStore::open_with_key(&path, &pfs_crypto::SecretBytes::new([1; 32]), SqliteOptions::default())?;
    /// let mut tx = store.begin()?;
    /// tx.put_rate_limit("k", b"v", 1)?;
    /// tx.commit()?;
    /// store.checkpoint()?;
    /// // the WAL is truncated: everything is in the database file
    /// let wal = dir.path().join("s.sqlite-wal");
    /// assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(sql_err)
    }

    /// Checkpoints and closes the database, reporting errors that dropping would hide.
    ///
    /// ```
    /// use pfs_store::{SqliteOptions, SqliteStore};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("s.sqlite");
    /// let key = pfs_crypto::SecretBytes::new([1; 32]);
    /// let store = SqliteStore::open_with_key(&path, &key, SqliteOptions::default())?;
    /// store.close()?;
    /// // closed: the file can be opened again at once
    /// SqliteStore::open_with_key(&path, &key, SqliteOptions::default())?.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) -> Result<(), StoreError> {
        self.conn.close().map_err(|(_, e)| sql_err(e))
    }
}

impl Store for SqliteStore {
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        self.begin_at(self.synchronous)
    }

    /// With `synchronous=NORMAL`, this one transaction runs with `FULL` (SQLite only lets
    /// the setting change between transactions); the next [`Store::begin`] lowers it back.
    fn begin_durable(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        self.begin_at(Synchronous::Full)
    }
}

impl SqliteStore {
    /// Begins a transaction with the connection at `level` (changed only if it differs
    /// from the current one).
    fn begin_at(&mut self, level: Synchronous) -> Result<Box<dyn Transaction + '_>, StoreError> {
        let Self {
            conn,
            key,
            row_key,
            rng,
            seals,
            synchronous: _,
            sync_now,
        } = self;
        if *sync_now != level {
            conn.pragma_update(None, "synchronous", level.pragma_value())
                .map_err(sql_err)?;
            *sync_now = level;
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        Ok(Box::new(SqliteTx {
            tx,
            key,
            row_key,
            rng: &mut **rng,
            seals,
        }))
    }
}

struct SqliteTx<'a> {
    tx: rusqlite::Transaction<'a>,
    key: &'a StoreKey,
    /// The key of the row tags.
    row_key: &'a SecretBytes<32>,
    rng: &'a mut dyn RandomSource,
    /// Sealings of the secrets that stay the same across writes (see [`SealCache`]).
    seals: &'a RefCell<SealCache>,
}

fn col<T: FromSql>(row: &Row<'_>, i: usize) -> Result<T, StoreError> {
    row.get(i).map_err(sql_err)
}

fn key33(v: Vec<u8>, what: &str) -> Result<[u8; 33], StoreError> {
    v.as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what}: expected 33 bytes, found {}", v.len())))
}

fn inst_col(row: &Row<'_>, i: usize) -> Result<InstallationId, StoreError> {
    let v: String = col(row, i)?;
    InstallationId::new(v).map_err(|e| StoreError::Corrupt(format!("stored installation id: {e}")))
}

fn u32_col(row: &Row<'_>, i: usize, what: &str) -> Result<u32, StoreError> {
    let v: i64 = col(row, i)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what}: {v} out of range")))
}

fn bool_col(row: &Row<'_>, i: usize) -> Result<bool, StoreError> {
    Ok(col::<i64>(row, i)? != 0)
}

fn contact_state_code(s: ContactState) -> i64 {
    match s {
        ContactState::Added => 0,
        ContactState::RequestReceived => 1,
        ContactState::Accepted => 2,
        ContactState::Declined => 3,
        ContactState::Blocked => 4,
    }
}

fn contact_state(code: i64) -> Result<ContactState, StoreError> {
    Ok(match code {
        0 => ContactState::Added,
        1 => ContactState::RequestReceived,
        2 => ContactState::Accepted,
        3 => ContactState::Declined,
        4 => ContactState::Blocked,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown contact state {other}"
            )));
        }
    })
}

const ACCOUNT_ROW: i64 = 1;

fn account_aad() -> Vec<u8> {
    aad("account", "identity_secret", &[&ACCOUNT_ROW.to_be_bytes()])
}
fn own_prekey_aad(public: &[u8]) -> Vec<u8> {
    aad("own_prekeys", "secret", &[public])
}
fn app_record_aad(kind: &str, key: &[u8], due: i64) -> Vec<u8> {
    aad(
        "app_records",
        "value",
        &[kind.as_bytes(), key, &due.to_be_bytes()],
    )
}
fn session_aad(column: &str, peer: &[u8], id: &[u8]) -> Vec<u8> {
    aad("sessions", column, &[peer, id])
}
fn skipped_aad(peer: &[u8], id: &[u8], ratchet_key: &[u8], n: u32) -> Vec<u8> {
    aad(
        "skipped_keys",
        "message_key",
        &[peer, id, ratchet_key, &n.to_be_bytes()],
    )
}

const OWN_PREKEY_COLS: &str = "public, secret_enc, version, created_at, expired_at";
const INSTALLATION_COLS: &str = "identity, installation_id, timestamp, enabled, protocol_version, \
     first_seen, last_bundle_at, missing_since, stale, heard_with_protocol_version";
const PEER_PREKEY_COLS: &str = "identity, installation_id, public, version, protocol_version, \
     bundle_timestamp, expired, received_at";
const SESSION_COLS: &str = "peer_identity, id, peer_installation, rooted_spk, we_initiated, suite, \
     state_enc, shared_secret_enc, pending_x3dh_ephemeral, created_at, last_used, expired_at";
const SKIPPED_COLS: &str =
    "session_peer, session_id, ratchet_key, n, message_key_enc, seq, pending_message_id";
const CONTACT_COLS: &str = "identity, state, name, updated_at";

// --- authenticated rows (schema version 2) ---------------------------------------------

/// A table whose rows carry a tag (`row_mac`) over every column, see [`crypt::row_mac`].
struct AuthTable {
    name: &'static str,
    /// The columns of the tag input, in the order of the table's `*_COLS` list (the
    /// `SELECT`s put `row_mac` right after them).
    columns: &'static [&'static str],
    /// How many of the first `columns` are the primary key (named in errors).
    key_columns: usize,
}

const CONTACTS: AuthTable = AuthTable {
    name: "contacts",
    columns: &["identity", "state", "name", "updated_at"],
    key_columns: 1,
};
const INSTALLATIONS: AuthTable = AuthTable {
    name: "installations",
    columns: &[
        "identity",
        "installation_id",
        "timestamp",
        "enabled",
        "protocol_version",
        "first_seen",
        "last_bundle_at",
        "missing_since",
        "stale",
        "heard_with_protocol_version",
    ],
    key_columns: 2,
};
const PEER_PREKEYS: AuthTable = AuthTable {
    name: "peer_prekeys",
    columns: &[
        "identity",
        "installation_id",
        "public",
        "version",
        "protocol_version",
        "bundle_timestamp",
        "expired",
        "received_at",
    ],
    key_columns: 3,
};

fn row_value(v: ValueRef<'_>) -> RowValue<'_> {
    match v {
        ValueRef::Null => RowValue::Null,
        ValueRef::Integer(i) => RowValue::Integer(i),
        ValueRef::Real(f) => RowValue::Real(f),
        ValueRef::Text(t) => RowValue::Text(t),
        ValueRef::Blob(b) => RowValue::Blob(b),
    }
}

fn sql_value(v: RowValue<'_>) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match v {
        RowValue::Null => ValueRef::Null,
        RowValue::Integer(i) => ValueRef::Integer(i),
        RowValue::Real(f) => ValueRef::Real(f),
        RowValue::Text(t) => ValueRef::Text(t),
        RowValue::Blob(b) => ValueRef::Blob(b),
    })
}

fn text(s: &str) -> RowValue<'_> {
    RowValue::Text(s.as_bytes())
}

fn opt_int(v: Option<i64>) -> RowValue<'static> {
    v.map_or(RowValue::Null, RowValue::Integer)
}

/// The primary key of a row as stored, for errors: `identity 0x02ab…, installation_id "x"`.
fn describe_row(t: &AuthTable, values: &[RowValue<'_>]) -> String {
    let mut out = Vec::new();
    for (name, v) in t.columns.iter().zip(values).take(t.key_columns) {
        let shown = match *v {
            RowValue::Null => "NULL".to_owned(),
            RowValue::Integer(i) => i.to_string(),
            RowValue::Real(f) => f.to_string(),
            RowValue::Text(b) => format!("{:?}", String::from_utf8_lossy(b)),
            RowValue::Blob(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("0x{hex}")
            }
        };
        out.push(format!("{name} {shown}"));
    }
    out.join(", ")
}

/// The tag input of a row read with `SELECT {cols}, row_mac`, checked against its tag.
/// Runs before anything of the row is decoded: a tampered row is never used.
fn verify_row(row_key: &SecretBytes<32>, t: &AuthTable, row: &Row<'_>) -> Result<(), StoreError> {
    let n = t.columns.len();
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        values.push(row_value(row.get_ref(i).map_err(sql_err)?));
    }
    let stored = match row.get_ref(n).map_err(sql_err)? {
        ValueRef::Blob(b) => Some(b),
        _ => None,
    };
    if crypt::row_mac_ok(row_key, t.name, &values, stored) {
        Ok(())
    } else {
        tracing::warn!(table = t.name, "store row failed authentication");
        Err(StoreError::Tampered {
            table: t.name,
            row: describe_row(t, &values),
        })
    }
}

/// The Rust step of migration `to`, run right after its SQL in the same transaction.
/// Version 2 computes the tag of every row that has none yet (rows of a version 1 store);
/// it is idempotent, and it is only ever run by that migration, so a tag removed later is
/// refused at read time rather than recomputed.
fn upgrade_rows(
    tx: &rusqlite::Transaction<'_>,
    to: u32,
    row_key: &SecretBytes<32>,
) -> Result<(), StoreError> {
    if to != 2 {
        return Ok(());
    }
    for (t, cols) in [
        (&CONTACTS, CONTACT_COLS),
        (&INSTALLATIONS, INSTALLATION_COLS),
        (&PEER_PREKEYS, PEER_PREKEY_COLS),
    ] {
        let n = t.columns.len();
        let mut tags: Vec<(i64, [u8; crypt::ROW_MAC_LEN])> = Vec::new();
        {
            let mut select = tx
                .prepare(&format!(
                    "SELECT {cols}, rowid FROM {} WHERE row_mac IS NULL",
                    t.name
                ))
                .map_err(sql_err)?;
            let mut rows = select.query([]).map_err(sql_err)?;
            while let Some(row) = rows.next().map_err(sql_err)? {
                let mut values = Vec::with_capacity(n);
                for i in 0..n {
                    values.push(row_value(row.get_ref(i).map_err(sql_err)?));
                }
                tags.push((col(row, n)?, crypt::row_mac(row_key, t.name, &values)));
            }
        }
        let mut update = tx
            .prepare(&format!(
                "UPDATE {} SET row_mac = ?1 WHERE rowid = ?2",
                t.name
            ))
            .map_err(sql_err)?;
        for (rowid, tag) in &tags {
            update.execute(params![&tag[..], rowid]).map_err(sql_err)?;
        }
        if !tags.is_empty() {
            tracing::info!(table = t.name, rows = tags.len(), "rows authenticated");
        }
    }
    Ok(())
}

fn contact_values(c: &ContactRecord) -> [RowValue<'_>; 4] {
    [
        RowValue::Blob(c.identity.as_bytes()),
        RowValue::Integer(contact_state_code(c.state)),
        c.name.as_deref().map_or(RowValue::Null, text),
        RowValue::Integer(c.updated_at),
    ]
}

fn installation_values(i: &InstallationRecord) -> [RowValue<'_>; 10] {
    [
        RowValue::Blob(i.identity.as_bytes()),
        text(i.installation_id.as_str()),
        RowValue::Integer(i.timestamp),
        RowValue::Integer(i64::from(i.enabled)),
        RowValue::Integer(i64::from(i.protocol_version)),
        RowValue::Integer(i.first_seen),
        RowValue::Integer(i.last_bundle_at),
        opt_int(i.missing_since),
        RowValue::Integer(i64::from(i.stale)),
        RowValue::Integer(i64::from(i.heard_with_protocol_version)),
    ]
}

fn peer_prekey_values(p: &PeerPreKeyRecord) -> [RowValue<'_>; 8] {
    [
        RowValue::Blob(p.identity.as_bytes()),
        text(p.installation_id.as_str()),
        RowValue::Blob(p.public.as_bytes()),
        RowValue::Integer(i64::from(p.version)),
        RowValue::Integer(i64::from(p.protocol_version)),
        RowValue::Integer(p.bundle_timestamp),
        RowValue::Integer(i64::from(p.expired)),
        RowValue::Integer(p.received_at),
    ]
}

fn decode_installation(
    row_key: &SecretBytes<32>,
    row: &Row<'_>,
) -> Result<InstallationRecord, StoreError> {
    verify_row(row_key, &INSTALLATIONS, row)?;
    Ok(InstallationRecord {
        identity: IdentityKey::from_bytes(key33(col(row, 0)?, "installation identity")?),
        installation_id: inst_col(row, 1)?,
        timestamp: col(row, 2)?,
        enabled: bool_col(row, 3)?,
        protocol_version: u32_col(row, 4, "protocol version")?,
        first_seen: col(row, 5)?,
        last_bundle_at: col(row, 6)?,
        missing_since: col(row, 7)?,
        stale: bool_col(row, 8)?,
        heard_with_protocol_version: bool_col(row, 9)?,
    })
}

fn decode_peer_prekey(
    row_key: &SecretBytes<32>,
    row: &Row<'_>,
) -> Result<PeerPreKeyRecord, StoreError> {
    verify_row(row_key, &PEER_PREKEYS, row)?;
    Ok(PeerPreKeyRecord {
        identity: IdentityKey::from_bytes(key33(col(row, 0)?, "peer prekey identity")?),
        installation_id: inst_col(row, 1)?,
        public: SignedPreKey::from_bytes(key33(col(row, 2)?, "peer prekey")?),
        version: u32_col(row, 3, "peer prekey version")?,
        protocol_version: u32_col(row, 4, "peer prekey protocol version")?,
        bundle_timestamp: col(row, 5)?,
        expired: bool_col(row, 6)?,
        received_at: col(row, 7)?,
    })
}

fn decode_contact(row_key: &SecretBytes<32>, row: &Row<'_>) -> Result<ContactRecord, StoreError> {
    verify_row(row_key, &CONTACTS, row)?;
    Ok(ContactRecord {
        identity: IdentityKey::from_bytes(key33(col(row, 0)?, "contact identity")?),
        state: contact_state(col(row, 1)?)?,
        name: col(row, 2)?,
        updated_at: col(row, 3)?,
    })
}

#[cfg(test)]
thread_local! {
    /// Every SQL statement prepared by a transaction on this thread (query-plan test).
    static PREPARED_SQL: std::cell::RefCell<std::collections::BTreeSet<String>> =
        const { std::cell::RefCell::new(std::collections::BTreeSet::new()) };
}

impl SqliteTx<'_> {
    fn prepare(&self, sql: &str) -> Result<rusqlite::CachedStatement<'_>, StoreError> {
        #[cfg(test)]
        PREPARED_SQL.with(|s| s.borrow_mut().insert(sql.to_owned()));
        self.tx.prepare_cached(sql).map_err(sql_err)
    }

    fn collect<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        mut decode: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.prepare(sql)?;
        let mut rows = stmt.query(params).map_err(sql_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sql_err)? {
            out.push(decode(row)?);
        }
        Ok(out)
    }

    fn first<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        decode: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut stmt = self.prepare(sql)?;
        let mut rows = stmt.query(params).map_err(sql_err)?;
        match rows.next().map_err(sql_err)? {
            Some(row) => decode(row).map(Some),
            None => Ok(None),
        }
    }

    fn exec<P: Params>(&self, sql: &str, params: P) -> Result<usize, StoreError> {
        let mut stmt = self.prepare(sql)?;
        stmt.execute(params).map_err(sql_err)
    }

    /// Runs `sql` (an upsert of `t` whose parameters are its columns then `row_mac`) with
    /// `values` and their tag.
    fn put_authenticated(
        &self,
        t: &AuthTable,
        sql: &str,
        values: &[RowValue<'_>],
    ) -> Result<(), StoreError> {
        let tag = crypt::row_mac(self.row_key, t.name, values);
        let mut stmt = self.prepare(sql)?;
        stmt.execute(params_from_iter(
            values
                .iter()
                .copied()
                .chain([RowValue::Blob(&tag)])
                .map(sql_value),
        ))
        .map_err(sql_err)?;
        Ok(())
    }

    fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        crypt::seal(self.key, &mut *self.rng, aad, plaintext)
    }

    fn decode_own_prekey(&self, row: &Row<'_>) -> Result<OwnPreKeyRecord, StoreError> {
        let public = key33(col(row, 0)?, "own prekey")?;
        let sealed: Vec<u8> = col(row, 1)?;
        Ok(OwnPreKeyRecord {
            secret: self.seals.borrow_mut().open32(
                self.key,
                own_prekey_aad(&public),
                &sealed,
                "prekey secret",
            )?,
            public: SignedPreKey::from_bytes(public),
            version: u32_col(row, 2, "prekey version")?,
            created_at: col(row, 3)?,
            expired_at: col(row, 4)?,
        })
    }

    /// Sets `expired_at` of the session rows `rowids` to `at`; returns how many changed.
    fn expire_rows(&self, rowids: &[i64], at: Nanos) -> Result<usize, StoreError> {
        let mut marked = 0;
        for rowid in rowids {
            marked += self.exec(
                "UPDATE sessions SET expired_at = ?1 WHERE rowid = ?2",
                params![at, rowid],
            )?;
        }
        Ok(marked)
    }

    fn decode_session(&self, row: &Row<'_>) -> Result<SessionRecord, StoreError> {
        let peer = key33(col(row, 0)?, "session peer identity")?;
        let id: Vec<u8> = col(row, 1)?;
        let state: Vec<u8> = col(row, 6)?;
        let shared: Vec<u8> = col(row, 7)?;
        let pending: Option<Vec<u8>> = col(row, 8)?;
        let suite: i64 = col(row, 5)?;
        Ok(SessionRecord {
            state: crypt::open(
                self.key,
                &session_aad("state", &peer, &id),
                &state,
                "session state",
            )?,
            shared_secret: self.seals.borrow_mut().open32(
                self.key,
                session_aad("shared_secret", &peer, &id),
                &shared,
                "session shared secret",
            )?,
            peer_installation: inst_col(row, 2)?,
            rooted_spk: SignedPreKey::from_bytes(key33(col(row, 3)?, "session rooted prekey")?),
            we_initiated: bool_col(row, 4)?,
            suite: RatchetSuite::from_code(
                u8::try_from(suite).map_err(|_| {
                    StoreError::Corrupt(format!("session suite {suite} out of range"))
                })?,
            ),
            pending_x3dh_ephemeral: pending
                .map(|p| key33(p, "pending X3DH ephemeral").map(EphemeralKey::from_bytes))
                .transpose()?,
            created_at: col(row, 9)?,
            last_used: col(row, 10)?,
            expired_at: col(row, 11)?,
            key: SessionKey {
                peer_identity: IdentityKey::from_bytes(peer),
                id,
            },
        })
    }

    /// Decodes a skipped-key row (all of [`SKIPPED_COLS`]).
    fn decode_skipped(&self, row: &Row<'_>) -> Result<(SessionKey, SkippedKeyRecord), StoreError> {
        let peer = key33(col(row, 0)?, "skipped key session")?;
        let id: Vec<u8> = col(row, 1)?;
        let ratchet_key: Vec<u8> = col(row, 2)?;
        let n = u32_col(row, 3, "skipped key number")?;
        let sealed: Vec<u8> = col(row, 4)?;
        let seq: i64 = col(row, 5)?;
        let record = SkippedKeyRecord {
            message_key: crypt::open32(
                self.key,
                &skipped_aad(&peer, &id, &ratchet_key, n),
                &sealed,
                "message key",
            )?,
            ratchet_key,
            n,
            seq: u64::try_from(seq)
                .map_err(|_| StoreError::Corrupt(format!("negative skipped key seq {seq}")))?,
            pending_message_id: col::<Option<Vec<u8>>>(row, 6)?.map(MessageId::from),
        };
        Ok((
            SessionKey {
                peer_identity: IdentityKey::from_bytes(peer),
                id,
            },
            record,
        ))
    }
}

impl Transaction for SqliteTx<'_> {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().map_err(sql_err)
    }

    fn account(&self) -> Result<Option<AccountRecord>, StoreError> {
        self.first(
            "SELECT identity_secret_enc, installation_id, created_at FROM account WHERE id = ?1",
            [ACCOUNT_ROW],
            |row| {
                let sealed: Vec<u8> = col(row, 0)?;
                Ok(AccountRecord {
                    identity_secret: crypt::open32(
                        self.key,
                        &account_aad(),
                        &sealed,
                        "identity secret",
                    )?,
                    installation_id: inst_col(row, 1)?,
                    created_at: col(row, 2)?,
                })
            },
        )
    }

    fn put_account(&mut self, account: &AccountRecord) -> Result<(), StoreError> {
        let sealed = self.seal(&account_aad(), account.identity_secret.expose())?;
        self.exec(
            "INSERT INTO account (id, identity_secret_enc, installation_id, created_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET \
             identity_secret_enc = excluded.identity_secret_enc, \
             installation_id = excluded.installation_id, created_at = excluded.created_at",
            params![
                ACCOUNT_ROW,
                sealed,
                account.installation_id.as_str(),
                account.created_at
            ],
        )?;
        Ok(())
    }

    fn own_prekeys(&self) -> Result<Vec<OwnPreKeyRecord>, StoreError> {
        self.collect(
            &format!("SELECT {OWN_PREKEY_COLS} FROM own_prekeys ORDER BY version, public"),
            [],
            |row| self.decode_own_prekey(row),
        )
    }

    fn own_prekey(&self, public: &SignedPreKey) -> Result<Option<OwnPreKeyRecord>, StoreError> {
        self.first(
            &format!("SELECT {OWN_PREKEY_COLS} FROM own_prekeys WHERE public = ?1"),
            [&public.as_bytes()[..]],
            |row| self.decode_own_prekey(row),
        )
    }

    fn put_own_prekey(&mut self, prekey: &OwnPreKeyRecord) -> Result<(), StoreError> {
        let sealed = self.seals.borrow_mut().seal32(
            self.key,
            &mut *self.rng,
            own_prekey_aad(prekey.public.as_bytes()),
            &prekey.secret,
        )?;
        self.exec(
            "INSERT INTO own_prekeys (public, secret_enc, version, created_at, expired_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (public) DO UPDATE SET \
             secret_enc = excluded.secret_enc, version = excluded.version, \
             created_at = excluded.created_at, expired_at = excluded.expired_at",
            params![
                &prekey.public.as_bytes()[..],
                sealed,
                prekey.version,
                prekey.created_at,
                prekey.expired_at
            ],
        )?;
        Ok(())
    }

    fn delete_own_prekey(&mut self, public: &SignedPreKey) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM own_prekeys WHERE public = ?1",
            [&public.as_bytes()[..]],
        )?;
        Ok(())
    }

    fn installation(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Option<InstallationRecord>, StoreError> {
        self.first(
            &format!(
                "SELECT {INSTALLATION_COLS}, row_mac FROM installations \
                 WHERE identity = ?1 AND installation_id = ?2"
            ),
            params![&identity.as_bytes()[..], installation_id.as_str()],
            |row| decode_installation(self.row_key, row),
        )
    }

    fn installations(&self, identity: &IdentityKey) -> Result<Vec<InstallationRecord>, StoreError> {
        self.collect(
            &format!(
                "SELECT {INSTALLATION_COLS}, row_mac FROM installations WHERE identity = ?1 \
                 ORDER BY installation_id"
            ),
            [&identity.as_bytes()[..]],
            |row| decode_installation(self.row_key, row),
        )
    }

    fn all_installations(&self) -> Result<Vec<InstallationRecord>, StoreError> {
        self.collect(
            &format!(
                "SELECT {INSTALLATION_COLS}, row_mac FROM installations \
                 ORDER BY identity, installation_id"
            ),
            [],
            |row| decode_installation(self.row_key, row),
        )
    }

    fn installations_missing_until(
        &self,
        until: Nanos,
    ) -> Result<Vec<InstallationRecord>, StoreError> {
        self.collect(
            &format!(
                "SELECT {INSTALLATION_COLS}, row_mac FROM installations \
                 WHERE missing_since IS NOT NULL AND stale = 0 AND missing_since <= ?1 \
                 ORDER BY missing_since, identity, installation_id"
            ),
            [until],
            |row| decode_installation(self.row_key, row),
        )
    }

    fn put_installation(&mut self, i: &InstallationRecord) -> Result<(), StoreError> {
        self.put_authenticated(
            &INSTALLATIONS,
            &format!(
                "INSERT INTO installations ({INSTALLATION_COLS}, row_mac) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                 ON CONFLICT (identity, installation_id) DO UPDATE SET \
                 timestamp = excluded.timestamp, enabled = excluded.enabled, \
                 protocol_version = excluded.protocol_version, first_seen = excluded.first_seen, \
                 last_bundle_at = excluded.last_bundle_at, missing_since = excluded.missing_since, \
                 stale = excluded.stale, \
                 heard_with_protocol_version = excluded.heard_with_protocol_version, \
                 row_mac = excluded.row_mac"
            ),
            &installation_values(i),
        )
    }

    fn delete_installation(
        &mut self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM installations WHERE identity = ?1 AND installation_id = ?2",
            params![&identity.as_bytes()[..], installation_id.as_str()],
        )?;
        Ok(())
    }

    fn peer_prekeys(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Vec<PeerPreKeyRecord>, StoreError> {
        self.collect(
            &format!(
                "SELECT {PEER_PREKEY_COLS}, row_mac FROM peer_prekeys \
                 WHERE identity = ?1 AND installation_id = ?2 ORDER BY version DESC, public"
            ),
            params![&identity.as_bytes()[..], installation_id.as_str()],
            |row| decode_peer_prekey(self.row_key, row),
        )
    }

    fn put_peer_prekey(&mut self, p: &PeerPreKeyRecord) -> Result<(), StoreError> {
        self.put_authenticated(
            &PEER_PREKEYS,
            &format!(
                "INSERT INTO peer_prekeys ({PEER_PREKEY_COLS}, row_mac) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (identity, installation_id, public) DO UPDATE SET \
                 version = excluded.version, protocol_version = excluded.protocol_version, \
                 bundle_timestamp = excluded.bundle_timestamp, expired = excluded.expired, \
                 received_at = excluded.received_at, row_mac = excluded.row_mac"
            ),
            &peer_prekey_values(p),
        )
    }

    fn session(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.first(
            &format!("SELECT {SESSION_COLS} FROM sessions WHERE peer_identity = ?1 AND id = ?2"),
            params![&key.peer_identity.as_bytes()[..], key.id],
            |row| self.decode_session(row),
        )
    }

    fn sessions_with(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.collect(
            &format!(
                "SELECT {SESSION_COLS} FROM sessions \
                 WHERE peer_identity = ?1 AND peer_installation = ?2 ORDER BY id"
            ),
            params![&identity.as_bytes()[..], installation_id.as_str()],
            |row| self.decode_session(row),
        )
    }

    fn all_sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        self.collect(
            &format!("SELECT {SESSION_COLS} FROM sessions ORDER BY peer_identity, id"),
            [],
            |row| self.decode_session(row),
        )
    }

    fn put_session(&mut self, s: &SessionRecord) -> Result<(), StoreError> {
        let peer = &s.key.peer_identity.as_bytes()[..];
        let state = self.seal(&session_aad("state", peer, &s.key.id), s.state.expose())?;
        // Unchanged since the session was created: the same sealing is written back.
        let shared = self.seals.borrow_mut().seal32(
            self.key,
            &mut *self.rng,
            session_aad("shared_secret", peer, &s.key.id),
            &s.shared_secret,
        )?;
        let values = params![
            peer,
            s.key.id,
            s.peer_installation.as_str(),
            &s.rooted_spk.as_bytes()[..],
            s.we_initiated,
            s.suite.code(),
            state,
            shared,
            s.pending_x3dh_ephemeral.as_ref().map(|k| &k.as_bytes()[..]),
            s.created_at,
            s.last_used,
            s.expired_at
        ];
        // Nearly every write is a ratchet step of an existing session: a plain UPDATE of
        // the row when it exists with the same installation, root, side, suite and
        // expiry, which sets no indexed column (SQLite then leaves every index alone);
        // any other change goes through the upsert below.
        let updated = self.exec(
            "UPDATE sessions SET \
             state_enc = ?7, shared_secret_enc = ?8, pending_x3dh_ephemeral = ?9, \
             created_at = ?10, last_used = ?11 \
             WHERE peer_identity = ?1 AND id = ?2 AND peer_installation = ?3 \
             AND rooted_spk = ?4 AND we_initiated = ?5 AND suite = ?6 AND expired_at IS ?12",
            values,
        )?;
        if updated > 0 {
            return Ok(());
        }
        // An upsert, not INSERT OR REPLACE: REPLACE would delete the row first and the
        // foreign key would cascade to the session's skipped keys.
        self.exec(
            &format!(
                "INSERT INTO sessions ({SESSION_COLS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (peer_identity, id) DO UPDATE SET \
                 peer_installation = excluded.peer_installation, rooted_spk = excluded.rooted_spk, \
                 we_initiated = excluded.we_initiated, suite = excluded.suite, \
                 state_enc = excluded.state_enc, shared_secret_enc = excluded.shared_secret_enc, \
                 pending_x3dh_ephemeral = excluded.pending_x3dh_ephemeral, \
                 created_at = excluded.created_at, last_used = excluded.last_used, \
                 expired_at = excluded.expired_at"
            ),
            values,
        )?;
        Ok(())
    }

    fn delete_session(&mut self, key: &SessionKey) -> Result<(), StoreError> {
        let p = params![&key.peer_identity.as_bytes()[..], key.id];
        // The foreign key cascades too; deleting explicitly keeps the rule independent of
        // the `foreign_keys` pragma.
        self.exec(
            "DELETE FROM skipped_keys WHERE session_peer = ?1 AND session_id = ?2",
            p,
        )?;
        self.exec(
            "DELETE FROM sessions WHERE peer_identity = ?1 AND id = ?2",
            p,
        )?;
        Ok(())
    }

    fn delete_sessions_expired_until(&mut self, until: Nanos) -> Result<usize, StoreError> {
        let doomed = self.collect(
            "SELECT peer_identity, id FROM sessions \
             WHERE expired_at IS NOT NULL AND expired_at <= ?1 AND last_used <= ?1",
            [until],
            |row| {
                Ok(SessionKey {
                    peer_identity: IdentityKey::from_bytes(key33(
                        col(row, 0)?,
                        "session peer identity",
                    )?),
                    id: col(row, 1)?,
                })
            },
        )?;
        for key in &doomed {
            self.delete_session(key)?;
        }
        Ok(doomed.len())
    }

    fn expire_sessions_on_invalid_prekeys(&mut self, at: Nanos) -> Result<usize, StoreError> {
        // Sessions we initiated: their peer prekey row is absent, or present and expired;
        // the candidates come from the two indexes alone, then each present row is read
        // and its tag checked (a session is expired on authenticated data only). Every
        // candidate is collected before anything is written.
        let candidates = self.collect(
            "SELECT s.rowid, p.rowid \
             FROM sessions AS s \
             LEFT JOIN peer_prekeys AS p INDEXED BY peer_prekeys_expired \
             ON p.identity = s.peer_identity AND p.installation_id = s.peer_installation \
             AND p.public = s.rooted_spk \
             WHERE s.we_initiated = 1 AND s.expired_at IS NULL \
             AND (p.rowid IS NULL OR p.expired <> 0)",
            [],
            |row| Ok((col::<i64>(row, 0)?, col::<Option<i64>>(row, 1)?)),
        )?;
        let mut doomed = Vec::with_capacity(candidates.len());
        for (session, prekey) in candidates {
            if let Some(prekey) = prekey {
                self.first(
                    &format!(
                        "SELECT {PEER_PREKEY_COLS}, row_mac FROM peer_prekeys WHERE rowid = ?1"
                    ),
                    [prekey],
                    |row| verify_row(self.row_key, &PEER_PREKEYS, row),
                )?;
            }
            doomed.push(session);
        }
        // Sessions we answered: our prekey is absent or expired.
        doomed.extend(self.collect(
            "SELECT rowid FROM sessions AS s \
             WHERE s.we_initiated = 0 AND s.expired_at IS NULL AND NOT EXISTS \
             (SELECT 1 FROM own_prekeys AS o \
              WHERE o.public = s.rooted_spk AND o.expired_at IS NULL)",
            [],
            |row| col::<i64>(row, 0),
        )?);
        self.expire_rows(&doomed, at)
    }

    fn expire_responder_sessions_rooted_in(
        &mut self,
        spks: &[SignedPreKey],
        at: Nanos,
    ) -> Result<usize, StoreError> {
        let mut marked = 0;
        for spk in spks {
            marked += self.exec(
                "UPDATE sessions SET expired_at = ?1 \
                 WHERE we_initiated = 0 AND rooted_spk = ?2 AND expired_at IS NULL",
                params![at, &spk.as_bytes()[..]],
            )?;
        }
        Ok(marked)
    }

    fn responder_session_rooted_in(&self, spk: &SignedPreKey) -> Result<bool, StoreError> {
        Ok(self
            .first(
                "SELECT 1 FROM sessions WHERE we_initiated = 0 AND rooted_spk = ?1 LIMIT 1",
                [&spk.as_bytes()[..]],
                |_| Ok(()),
            )?
            .is_some())
    }

    fn skipped_key(
        &self,
        session: &SessionKey,
        ratchet_key: &[u8],
        n: u32,
    ) -> Result<Option<SkippedKeyRecord>, StoreError> {
        self.first(
            &format!(
                "SELECT {SKIPPED_COLS} FROM skipped_keys WHERE session_peer = ?1 \
                 AND session_id = ?2 AND ratchet_key = ?3 AND n = ?4"
            ),
            params![
                &session.peer_identity.as_bytes()[..],
                session.id,
                ratchet_key,
                n
            ],
            |row| self.decode_skipped(row).map(|(_, r)| r),
        )
    }

    fn put_skipped_keys(
        &mut self,
        session: &SessionKey,
        keys: &[SkippedKeyRecord],
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let exists = self
            .first(
                "SELECT 1 FROM sessions WHERE peer_identity = ?1 AND id = ?2",
                params![&session.peer_identity.as_bytes()[..], session.id],
                |_| Ok(()),
            )?
            .is_some();
        if !exists {
            return Err(StoreError::Invalid(
                "skipped keys stored for a session that does not exist".into(),
            ));
        }
        let mut seqs = Vec::with_capacity(keys.len());
        for k in keys {
            seqs.push(check_seq(k.seq)?);
        }
        let peer = &session.peer_identity.as_bytes()[..];
        let mut sealed = Vec::with_capacity(keys.len());
        for k in keys {
            let aad = skipped_aad(peer, &session.id, &k.ratchet_key, k.n);
            sealed.push(self.seal(&aad, k.message_key.expose())?);
        }
        let mut stmt = self.prepare(&format!(
            "INSERT INTO skipped_keys ({SKIPPED_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (session_peer, session_id, ratchet_key, n) DO UPDATE SET \
                 message_key_enc = excluded.message_key_enc, seq = excluded.seq, \
                 pending_message_id = excluded.pending_message_id"
        ))?;
        for ((k, enc), seq) in keys.iter().zip(&sealed).zip(&seqs) {
            stmt.execute(params![
                peer,
                session.id,
                k.ratchet_key,
                k.n,
                enc,
                seq,
                k.pending_message_id.as_ref().map(MessageId::as_bytes)
            ])
            .map_err(sql_err)?;
        }
        Ok(())
    }

    fn delete_skipped_key(
        &mut self,
        session: &SessionKey,
        ratchet_key: &[u8],
        n: u32,
    ) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM skipped_keys WHERE session_peer = ?1 AND session_id = ?2 \
             AND ratchet_key = ?3 AND n = ?4",
            params![
                &session.peer_identity.as_bytes()[..],
                session.id,
                ratchet_key,
                n
            ],
        )?;
        Ok(())
    }

    fn truncate_skipped_keys(
        &mut self,
        session: &SessionKey,
        keep: usize,
    ) -> Result<(), StoreError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.exec(
            // The (keep+1)-th best key and every key ranked below it go; with at most
            // `keep` keys the subquery is empty, the comparison NULL, nothing deleted.
            // One index walk of `keep` entries, no list of rowids to build.
            "DELETE FROM skipped_keys WHERE session_peer = ?1 AND session_id = ?2 \
             AND (seq, ratchet_key, n) <= (SELECT seq, ratchet_key, n FROM skipped_keys \
                 WHERE session_peer = ?1 AND session_id = ?2 \
                 ORDER BY seq DESC, ratchet_key DESC, n DESC LIMIT 1 OFFSET ?3)",
            params![&session.peer_identity.as_bytes()[..], session.id, keep],
        )?;
        Ok(())
    }

    fn delete_skipped_keys_upto(
        &mut self,
        session: &SessionKey,
        seq: u64,
    ) -> Result<(), StoreError> {
        // Stored seqs are at most i64::MAX, so clamping keeps the meaning.
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.exec(
            "DELETE FROM skipped_keys WHERE session_peer = ?1 AND session_id = ?2 AND seq <= ?3",
            params![&session.peer_identity.as_bytes()[..], session.id, seq],
        )?;
        Ok(())
    }

    fn count_skipped_keys(&self, session: &SessionKey) -> Result<usize, StoreError> {
        let n = self.first(
            "SELECT count(*) FROM skipped_keys WHERE session_peer = ?1 AND session_id = ?2",
            params![&session.peer_identity.as_bytes()[..], session.id],
            |row| col::<i64>(row, 0),
        )?;
        let n = n.unwrap_or(0);
        usize::try_from(n).map_err(|_| StoreError::Corrupt(format!("count {n}")))
    }

    fn unconfirmed_keys(
        &self,
        message_id: &MessageId,
    ) -> Result<Vec<(SessionKey, SkippedKeyRecord)>, StoreError> {
        self.collect(
            &format!(
                "SELECT {SKIPPED_COLS} FROM skipped_keys WHERE pending_message_id = ?1 \
                 ORDER BY session_peer, session_id, ratchet_key, n"
            ),
            [message_id.as_bytes()],
            |row| self.decode_skipped(row),
        )
    }

    fn x3dh_seen(
        &self,
        spk: &SignedPreKey,
        ephemeral: &EphemeralKey,
    ) -> Result<Option<Nanos>, StoreError> {
        self.first(
            "SELECT at FROM x3dh_seen WHERE spk = ?1 AND ephemeral = ?2",
            params![&spk.as_bytes()[..], &ephemeral.as_bytes()[..]],
            |row| col(row, 0),
        )
    }

    fn put_x3dh_seen(
        &mut self,
        spk: &SignedPreKey,
        ephemeral: &EphemeralKey,
        at: Nanos,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO x3dh_seen (spk, ephemeral, at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (spk, ephemeral) DO UPDATE SET at = excluded.at",
            params![&spk.as_bytes()[..], &ephemeral.as_bytes()[..], at],
        )?;
        Ok(())
    }

    fn delete_x3dh_seen_for(&mut self, spk: &SignedPreKey) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM x3dh_seen WHERE spk = ?1",
            [&spk.as_bytes()[..]],
        )?;
        Ok(())
    }

    fn rate_limit(&self, kind: &str, key: &[u8]) -> Result<Option<Nanos>, StoreError> {
        self.first(
            "SELECT at FROM rate_limits WHERE kind = ?1 AND key = ?2",
            params![kind, key],
            |row| col(row, 0),
        )
    }

    fn put_rate_limit(&mut self, kind: &str, key: &[u8], at: Nanos) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO rate_limits (kind, key, at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (kind, key) DO UPDATE SET at = excluded.at",
            params![kind, key, at],
        )?;
        Ok(())
    }

    fn app_record(&self, kind: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.first(
            "SELECT value, due FROM app_records WHERE kind = ?1 AND key = ?2",
            params![kind, key],
            |row| {
                let sealed: Vec<u8> = col(row, 0)?;
                let due: i64 = col(row, 1)?;
                crypt::open(
                    self.key,
                    &app_record_aad(kind, key, due),
                    &sealed,
                    "app record",
                )
                .map(|v| v.expose().to_vec())
            },
        )
    }

    fn put_app_record(
        &mut self,
        kind: &str,
        key: &[u8],
        value: &[u8],
        due: i64,
    ) -> Result<(), StoreError> {
        let sealed = self.seal(&app_record_aad(kind, key, due), value)?;
        self.exec(
            "INSERT INTO app_records (kind, key, value, due) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, due = excluded.due",
            params![kind, key, sealed, due],
        )?;
        Ok(())
    }

    fn delete_app_record(&mut self, kind: &str, key: &[u8]) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM app_records WHERE kind = ?1 AND key = ?2",
            params![kind, key],
        )?;
        Ok(())
    }

    fn due_app_records(
        &self,
        kind: &str,
        until: i64,
        limit: usize,
    ) -> Result<Vec<crate::AppRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.collect(
            "SELECT key, value, due FROM app_records WHERE kind = ?1 AND due <= ?2 \
             ORDER BY due, key LIMIT ?3",
            params![kind, until, limit],
            |row| {
                let key: Vec<u8> = col(row, 0)?;
                let sealed: Vec<u8> = col(row, 1)?;
                let due: i64 = col(row, 2)?;
                let value = crypt::open(
                    self.key,
                    &app_record_aad(kind, &key, due),
                    &sealed,
                    "app record",
                )?;
                Ok((key, value.expose().to_vec()))
            },
        )
    }

    fn count_app_records(&self, kind: &str) -> Result<usize, StoreError> {
        let n: Option<i64> = self.first(
            "SELECT COUNT(*) FROM app_records WHERE kind = ?1",
            params![kind],
            |row| col(row, 0),
        )?;
        Ok(usize::try_from(n.unwrap_or(0)).unwrap_or(0))
    }

    fn contact(&self, identity: &IdentityKey) -> Result<Option<ContactRecord>, StoreError> {
        self.first(
            &format!("SELECT {CONTACT_COLS}, row_mac FROM contacts WHERE identity = ?1"),
            [&identity.as_bytes()[..]],
            |row| decode_contact(self.row_key, row),
        )
    }

    fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError> {
        self.collect(
            &format!("SELECT {CONTACT_COLS}, row_mac FROM contacts ORDER BY identity"),
            [],
            |row| decode_contact(self.row_key, row),
        )
    }

    fn put_contact(&mut self, c: &ContactRecord) -> Result<(), StoreError> {
        self.put_authenticated(
            &CONTACTS,
            &format!(
                "INSERT INTO contacts ({CONTACT_COLS}, row_mac) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (identity) DO UPDATE SET state = excluded.state, \
                 name = excluded.name, updated_at = excluded.updated_at, \
                 row_mac = excluded.row_mac"
            ),
            &contact_values(c),
        )
    }

    fn delete_contact(&mut self, identity: &IdentityKey) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM contacts WHERE identity = ?1",
            params![&identity.as_bytes()[..]],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// The `*_COLS` lists and the tag inputs name the same columns in the same order, and
    /// together with `row_mac` they are every column of the table.
    #[test]
    fn authenticated_tables_cover_every_column() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open_with_key(
            dir.path().join("s.sqlite"),
            &StoreKey::new([1; 32]),
            SqliteOptions::default(),
        )
        .unwrap();
        for (t, cols) in [
            (&CONTACTS, CONTACT_COLS),
            (&INSTALLATIONS, INSTALLATION_COLS),
            (&PEER_PREKEYS, PEER_PREKEY_COLS),
        ] {
            let listed: Vec<&str> = cols.split(',').map(str::trim).collect();
            assert_eq!(listed, t.columns, "{}", t.name);
            let mut stmt = store
                .conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{}')", t.name))
                .unwrap();
            let mut in_schema: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            in_schema.sort();
            let mut expected: Vec<String> = t
                .columns
                .iter()
                .map(|c| (*c).to_owned())
                .chain(["row_mac".to_owned()])
                .collect();
            expected.sort();
            assert_eq!(in_schema, expected, "{}", t.name);
        }
    }

    fn synchronous_now(store: &SqliteStore) -> i64 {
        store
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap()
    }

    /// A durable transaction on a NORMAL store runs with `synchronous=FULL` (2) and the
    /// next transaction is back at NORMAL (1); the data of both commits is there after
    /// reopening. A FULL store stays FULL.
    #[test]
    fn durable_transaction_raises_synchronous_for_that_transaction_only() {
        let added = |b: u8| crate::ContactRecord {
            identity: crate::IdentityKey::from_bytes([b; 33]),
            state: crate::ContactState::Added,
            name: None,
            updated_at: 1,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let key = StoreKey::new([2; 32]);
        let mut store = SqliteStore::open_with_key(&path, &key, SqliteOptions::default()).unwrap();
        assert_eq!(synchronous_now(&store), 1);
        let mut tx = store.begin_durable().unwrap();
        tx.put_contact(&added(7)).unwrap();
        tx.commit().unwrap();
        assert_eq!(synchronous_now(&store), 2);
        let mut tx = store.begin().unwrap();
        tx.put_contact(&added(8)).unwrap();
        tx.commit().unwrap();
        assert_eq!(synchronous_now(&store), 1);
        // A rolled-back transaction after a durable one lowers it back too.
        drop(store.begin_durable().unwrap());
        assert_eq!(synchronous_now(&store), 2);
        drop(store.begin().unwrap());
        assert_eq!(synchronous_now(&store), 1);
        drop(store);
        let mut store = SqliteStore::open_with_key(&path, &key, SqliteOptions::default()).unwrap();
        let tx = store.begin().unwrap();
        assert!(
            tx.contact(&crate::IdentityKey::from_bytes([7; 33]))
                .unwrap()
                .is_some()
        );
        assert!(
            tx.contact(&crate::IdentityKey::from_bytes([8; 33]))
                .unwrap()
                .is_some()
        );
        drop(tx);

        let full_path = dir.path().join("f.sqlite");
        let mut full = SqliteStore::open_with_key(
            &full_path,
            &key,
            SqliteOptions::default().with_synchronous(Synchronous::Full),
        )
        .unwrap();
        full.begin_durable().unwrap().commit().unwrap();
        assert_eq!(synchronous_now(&full), 2);
        full.begin().unwrap().commit().unwrap();
        assert_eq!(synchronous_now(&full), 2);
    }

    /// Cached statements run with changing parameters are never re-prepared (SQLite
    /// re-prepares a statement whose plan may depend on a bound value each time that
    /// value changes, unless the query planner stability guarantee is on).
    #[test]
    fn changing_parameters_do_not_reprepare_statements() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::new([1; 32]);
        let mut store =
            SqliteStore::open_with_key(dir.path().join("s.sqlite"), &key, SqliteOptions::default())
                .unwrap();
        let mut used = std::collections::BTreeSet::new();
        for round in 0u8..4 {
            let before = PREPARED_SQL.with(|s| s.borrow().clone());
            let peer = IdentityKey::from_bytes([round; 33]);
            let inst = InstallationId::new(format!("inst-{round}")).unwrap();
            let sk = SessionKey {
                peer_identity: peer,
                id: vec![round; 40],
            };
            let mut tx = store.begin().unwrap();
            tx.installations(&peer).unwrap();
            tx.installation(&peer, &inst).unwrap();
            tx.peer_prekeys(&peer, &inst).unwrap();
            tx.sessions_with(&peer, &inst).unwrap();
            tx.contact(&peer).unwrap();
            tx.rate_limit("k", &[round]).unwrap();
            tx.put_session(&SessionRecord {
                key: sk.clone(),
                peer_installation: inst.clone(),
                rooted_spk: SignedPreKey::from_bytes([round; 33]),
                we_initiated: round % 2 == 0,
                suite: RatchetSuite::StatusGo,
                state: pfs_crypto::SecretVec::new(vec![round; 10]),
                shared_secret: pfs_crypto::SecretBytes::new([round; 32]),
                pending_x3dh_ephemeral: None,
                created_at: i64::from(round),
                last_used: i64::from(round),
                expired_at: None,
            })
            .unwrap();
            tx.session(&sk).unwrap();
            tx.skipped_key(&sk, &[round], u32::from(round)).unwrap();
            tx.truncate_skipped_keys(&sk, 1000 + usize::from(round))
                .unwrap();
            tx.delete_skipped_keys_upto(&sk, u64::from(round)).unwrap();
            tx.commit().unwrap();
            let after = PREPARED_SQL.with(|s| s.borrow().clone());
            used.extend(after.difference(&before).cloned());
        }
        assert!(used.len() >= 10, "{}", used.len());
        for sql in &used {
            let stmt = store.conn.prepare_cached(sql).unwrap();
            assert_eq!(
                stmt.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "re-prepared: {sql}"
            );
        }
    }

    /// Runs every trait method once, then checks the plan of every statement the
    /// transactions prepared: lookups and deletes with a WHERE clause use an index
    /// (no full `SCAN`), and no statement needs a temporary B-tree to sort.
    #[test]
    fn every_statement_uses_an_index_and_needs_no_sort() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::new([1; 32]);
        let mut store =
            SqliteStore::open_with_key(dir.path().join("s.sqlite"), &key, SqliteOptions::default())
                .unwrap();
        let k = IdentityKey::from_bytes([2u8; 33]);
        let spk = SignedPreKey::from_bytes([2u8; 33]);
        let ek = EphemeralKey::from_bytes([2u8; 33]);
        let i = InstallationId::new("i").unwrap();
        let sk = SessionKey {
            peer_identity: k,
            id: b"id".to_vec(),
        };
        {
            let mut tx = store.begin().unwrap();
            tx.account().unwrap();
            tx.put_account(&AccountRecord {
                identity_secret: pfs_crypto::SecretBytes::new([3; 32]),
                installation_id: i.clone(),
                created_at: 0,
            })
            .unwrap();
            tx.own_prekeys().unwrap();
            tx.own_prekey(&spk).unwrap();
            tx.put_own_prekey(&OwnPreKeyRecord {
                public: spk,
                secret: pfs_crypto::SecretBytes::new([4; 32]),
                version: 1,
                created_at: 0,
                expired_at: None,
            })
            .unwrap();
            tx.delete_own_prekey(&spk).unwrap();
            tx.installation(&k, &i).unwrap();
            tx.installations(&k).unwrap();
            tx.all_installations().unwrap();
            tx.delete_installation(&k, &i).unwrap();
            tx.peer_prekeys(&k, &i).unwrap();
            tx.put_session(&SessionRecord {
                key: sk.clone(),
                peer_installation: i.clone(),
                rooted_spk: spk,
                we_initiated: true,
                suite: RatchetSuite::StatusGo,
                state: pfs_crypto::SecretVec::new(vec![1; 10]),
                shared_secret: pfs_crypto::SecretBytes::new([5; 32]),
                pending_x3dh_ephemeral: None,
                created_at: 0,
                last_used: 0,
                expired_at: None,
            })
            .unwrap();
            tx.session(&sk).unwrap();
            tx.sessions_with(&k, &i).unwrap();
            tx.all_sessions().unwrap();
            tx.expire_sessions_on_invalid_prekeys(1).unwrap();
            tx.expire_responder_sessions_rooted_in(&[spk], 1).unwrap();
            tx.responder_session_rooted_in(&spk).unwrap();
            tx.installations_missing_until(1).unwrap();
            tx.put_skipped_keys(
                &sk,
                &[SkippedKeyRecord {
                    ratchet_key: vec![1],
                    n: 1,
                    message_key: pfs_crypto::SecretBytes::new([6; 32]),
                    seq: 1,
                    pending_message_id: Some(MessageId::from(b"m")),
                }],
            )
            .unwrap();
            tx.skipped_key(&sk, b"r", 1).unwrap();
            tx.delete_skipped_key(&sk, b"r", 1).unwrap();
            tx.truncate_skipped_keys(&sk, 1).unwrap();
            tx.delete_skipped_keys_upto(&sk, 1).unwrap();
            tx.count_skipped_keys(&sk).unwrap();
            tx.unconfirmed_keys(&MessageId::from(b"m")).unwrap();
            tx.delete_session(&sk).unwrap();
            tx.delete_sessions_expired_until(2).unwrap();
            tx.x3dh_seen(&spk, &ek).unwrap();
            tx.put_x3dh_seen(&spk, &ek, 1).unwrap();
            tx.delete_x3dh_seen_for(&spk).unwrap();
            tx.rate_limit("k", b"v").unwrap();
            tx.put_rate_limit("k", b"v", 1).unwrap();
            tx.contact(&k).unwrap();
            tx.contacts().unwrap();
        }
        let statements = PREPARED_SQL.with(|s| s.borrow().clone());
        assert!(statements.len() >= 30, "{}", statements.len());
        let mut checked = 0;
        for sql in statements.iter().filter(|s| !s.starts_with("INSERT")) {
            let mut stmt = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            // Parameters stay unbound (NULL): the plan does not depend on them.
            let mut rows = stmt.raw_query();
            let mut details = Vec::new();
            while let Some(r) = rows.next().unwrap() {
                details.push(r.get::<_, String>(3).unwrap());
            }
            println!("{sql}\n    {details:?}");
            for d in &details {
                assert!(
                    !d.contains("TEMP B-TREE"),
                    "sort needed: {sql}\n{details:?}"
                );
                if sql.contains("WHERE") {
                    assert!(!d.starts_with("SCAN"), "full scan: {sql}\n{details:?}");
                }
            }
            checked += 1;
        }
        assert!(checked >= 20, "{checked}");
    }
}
