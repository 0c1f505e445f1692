//! # pfs-archive: the message archive behind Waku store v3
//!
//! [`Archive`] keeps the [`WakuMessage`]s a node has seen in one SQLite file and answers
//! store v3 queries (13/WAKU2-STORE, `/vac/waku/store-query/3.0.0`) completely on the
//! server side: the network layer only decodes a [`StoreQueryRequest`], calls
//! [`Archive::query`] and encodes the [`StoreQueryResponse`] it gets back.
//!
//! ## Archiving (nwaku's rules)
//! [`Archive::insert`] stores a message received on a pubsub topic unless it is
//! ephemeral, already stored (same deterministic hash), or refused by
//! [`pfs_transport::waku::validate`]: empty payload or content topic, `meta` longer than
//! 64 bytes, or a timestamp more than 20 s
//! ([`pfs_transport::waku::MAX_TIMESTAMP_DRIFT_NS`]) away from the time it was received.
//! A message without a timestamp (absent, or 0, which nwaku treats as unset) is stored
//! with the receive time as its timestamp; the stored hash is
//! [`pfs_transport::waku::message_hash`] over the message *as stored*, computed from the
//! field values, never from the encoded bytes. The archive does not bound the message
//! size: relay and lightpush refuse oversized messages before they get here.
//!
//! ## Queries (what js-waku 0.0.36 needs)
//! * `status_code` is always set (200, 400 for a bad request, 500 for an internal error)
//!   and `request_id` is echoed;
//! * every entry carries `message_hash`; `message` and `pubsub_topic` are set, together,
//!   only when `include_data` is true;
//! * entries are sorted by `(timestamp, hash)` and every page is returned in ascending
//!   order, backward queries included (the store selects descending and reverses the
//!   page, as nwaku does);
//! * the cursor is a message hash and exclusive; js-waku ignores the response's cursor and
//!   continues from `messages[last]` (forward) or `messages[0]` (backward) until a page
//!   comes back empty, so an exhausted query answers an empty page with status 200;
//! * `pagination_cursor` is set when more entries match than the page holds, to the hash
//!   of the last entry included *in query order*: the last entry of the page going
//!   forward, the first (oldest) going backward (13/WAKU2-STORE; nwaku). It is absent
//!   when nothing follows;
//! * `pagination_limit` unset or 0 means [`ArchiveConfig::default_page`] (20); larger than
//!   [`ArchiveConfig::max_page`] (100) is capped, not refused;
//! * `content_topics` without `pubsub_topic`, `message_hashes` together with a content
//!   filter, a hash or cursor that is not 32 bytes, more than [`MAX_CONTENT_TOPICS`]
//!   content topics or [`MAX_MESSAGE_HASHES`] hashes, and a cursor not in the archive
//!   (`"cursor not found"`) are answered with 400;
//! * `time_start` and `time_end` are inclusive nanosecond bounds (as nwaku's SQL; the
//!   spec text calls `time_end` exclusive);
//! * a `pubsub_topic` without content topics selects that pubsub topic (read along the
//!   time index and filtered, which is cheap while a node serves few pubsub topics).
//!
//! ## Storage
//! Bundled SQLite, `journal_mode=WAL`, `synchronous=NORMAL` (a commit survives the
//! process being killed; on power loss the last commits may be lost, never corrupted),
//! prepared statements cached per connection, 64 MiB of page cache, the first 1 GiB of
//! the file read through a memory map. The schema is versioned with
//! `PRAGMA user_version` (see `migrations/`); see [`Archive`] for the table and indexes.
//! A content-filtered page is read with one index range scan per content topic, so its
//! cost does not depend on how many messages are stored. [`Archive::purge`] deletes in
//! transactions of at most [`ArchiveConfig::purge_chunk`] messages.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use pfs_transport::waku::{message_hash, validate};
pub use pfs_wire::waku::{StoreQueryRequest, StoreQueryResponse, WakuMessage, WakuMessageKeyValue};
use prost::Message as _;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior, config::DbConfig, params};

mod query;

/// The schema migrations, in order: entry `i` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_initial.sql")];

/// Bytes of the archive file read through a memory map (`PRAGMA mmap_size`).
const MMAP_SIZE: i64 = 1 << 30;

/// Prepared statements kept per connection (more than the archive has distinct ones).
const STATEMENT_CACHE_CAPACITY: usize = 32;

/// Retention: the `?2` oldest received of everything received before `?1`.
const PURGE_RETENTION: &str = "DELETE FROM messages WHERE id IN
     (SELECT id FROM messages WHERE received < ?1 ORDER BY received, id LIMIT ?2)";
/// Message cap: the `?1` oldest received.
const PURGE_OLDEST_N: &str = "DELETE FROM messages WHERE id IN
     (SELECT id FROM messages ORDER BY received, id LIMIT ?1)";
/// Byte cap: sizes of the `?1` oldest received, oldest first.
const OLDEST_SIZES: &str = "SELECT received, id, size FROM messages ORDER BY received, id LIMIT ?1";
/// Byte cap: everything up to and including `(?1, ?2)` in (received, id) order.
const PURGE_UP_TO: &str = "DELETE FROM messages WHERE (received, id) <= (?1, ?2)";

/// Default [`ArchiveConfig::purge_chunk`]: messages deleted per transaction.
pub const DEFAULT_PURGE_CHUNK: u64 = 5000;

/// Default retention: 30 days.
pub const DEFAULT_RETENTION_SECS: u64 = 30 * 24 * 60 * 60;

/// Default page size when a query sets no limit (nwaku `DefaultPageSize`).
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// Largest page (nwaku `MaxPageSize`); larger limits are capped to it.
pub const MAX_PAGE_SIZE: u64 = 100;

/// Most content topics accepted in one query; more is answered with 400.
pub const MAX_CONTENT_TOPICS: usize = 100;

/// Most message hashes accepted in one lookup query; more is answered with 400.
pub const MAX_MESSAGE_HASHES: usize = 1000;

/// `status_code` of a successful query.
pub const STATUS_OK: u32 = 200;

/// `status_code` of a malformed query.
pub const STATUS_BAD_REQUEST: u32 = 400;

/// `status_code` when the archive failed (database error, corrupt row).
pub const STATUS_INTERNAL_ERROR: u32 = 500;

/// How the archive keeps and serves messages.
///
/// # Examples
///
/// Pages are capped by `max_page`; a query without a limit gets `default_page`:
///
/// ```
/// use pfs_archive::{Archive, ArchiveConfig, WakuMessage};
/// use pfs_wire::waku::StoreQueryRequest;
///
/// let config = ArchiveConfig { max_page: 3, default_page: 2, ..ArchiveConfig::default() };
/// assert_eq!(ArchiveConfig::default().retention_secs, 30 * 24 * 3600);
/// let mut archive = Archive::open_in_memory(config)?;
/// let now = 1_700_000_000_000_000_000i64;
/// for p in 0..5u8 {
///     let m = WakuMessage {
///         payload: vec![p],
///         content_topic: "/a/1/b/proto".into(),
///         ..WakuMessage::default()
///     };
///     archive.insert("/waku/2/rs/16/32", &m, now + i64::from(p))?;
/// }
/// let page = |limit| StoreQueryRequest {
///     request_id: "r".into(),
///     include_data: true,
///     pagination_limit: limit,
///     ..StoreQueryRequest::default()
/// };
/// assert_eq!(archive.query(&page(None)).messages.len(), 2);
/// assert_eq!(archive.query(&page(Some(50))).messages.len(), 3);
/// # Ok::<(), pfs_archive::ArchiveError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveConfig {
    /// Messages received longer ago than this are deleted by [`Archive::purge`]
    /// (default [`DEFAULT_RETENTION_SECS`], 30 days).
    pub retention_secs: u64,
    /// At most this many messages are kept; [`Archive::purge`] deletes the oldest
    /// received beyond it (default: no limit).
    pub max_messages: Option<u64>,
    /// At most this many bytes of encoded messages are kept; [`Archive::purge`] deletes
    /// the oldest received beyond it (default: no limit).
    pub max_bytes: Option<u64>,
    /// Largest page a query gets (default [`MAX_PAGE_SIZE`], 100).
    pub max_page: u64,
    /// Page size of a query without limit (default [`DEFAULT_PAGE_SIZE`], 20).
    pub default_page: u64,
    /// [`Archive::purge`] deletes at most this many messages per transaction (default
    /// [`DEFAULT_PURGE_CHUNK`], 5000; 0 counts as 1), committing between chunks, so that
    /// a large sweep neither holds the write lock nor grows the WAL for its whole length.
    pub purge_chunk: u64,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            retention_secs: DEFAULT_RETENTION_SECS,
            max_messages: None,
            max_bytes: None,
            max_page: MAX_PAGE_SIZE,
            default_page: DEFAULT_PAGE_SIZE,
            purge_chunk: DEFAULT_PURGE_CHUNK,
        }
    }
}

/// What one [`Archive::purge_step`] did.
///
/// # Examples
///
/// ```
/// use pfs_archive::{Archive, ArchiveConfig, PurgeStep};
///
/// // Nothing due: one step, nothing deleted, done.
/// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
/// assert_eq!(archive.purge_step(0)?, PurgeStep { deleted: 0, done: true });
/// # Ok::<(), pfs_archive::ArchiveError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeStep {
    /// Messages deleted by this step (at most [`ArchiveConfig::purge_chunk`]).
    pub deleted: u64,
    /// Nothing more was due when the step committed (it deleted less than a chunk).
    pub done: bool,
}

/// Why an archive operation failed.
///
/// # Examples
///
/// A file written by a newer schema is refused and left as it is:
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_archive::{Archive, ArchiveConfig, ArchiveError};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("archive.sqlite3");
/// rusqlite::Connection::open(&path)?.pragma_update(None, "user_version", 99)?;
/// let refused = Archive::open(&path, ArchiveConfig::default());
/// let Err(ArchiveError::SchemaTooNew { found, supported }) = refused else {
///     panic!("schema too new")
/// };
/// assert_eq!((found, supported), (99, Archive::SCHEMA_VERSION));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// SQLite failed.
    #[error("archive database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The file system failed, or the database cannot be used as the archive needs.
    #[error("archive i/o error: {0}")]
    Io(String),
    /// The file is not a database, or holds data the archive did not write.
    #[error("archive database is corrupt: {0}")]
    Corrupt(String),
    /// The database was written by a newer version of this crate.
    #[error("archive schema version {found} is newer than the supported {supported}")]
    SchemaTooNew {
        /// The version found in the file.
        found: u32,
        /// The newest version this code knows.
        supported: u32,
    },
}

impl From<rusqlite::Error> for ArchiveError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                ArchiveError::Corrupt(e.to_string())
            }
            _ => ArchiveError::Sqlite(e),
        }
    }
}

/// The message archive: one SQLite database.
///
/// Schema (version 1, `migrations/0001_initial.sql`): one table
/// `messages(id INTEGER PRIMARY KEY, hash BLOB UNIQUE, pubsub_topic, content_topic,
/// timestamp, received, size, message BLOB)`, where `message` is the encoded
/// [`WakuMessage`] as stored, with the indexes
/// `(pubsub_topic, content_topic, timestamp, hash)` for content-filtered pages,
/// `(timestamp, hash)` for queries without content filter, and `(received, id, size)`
/// for retention and the size caps.
///
/// An `Archive` is `Send` but not `Sync`: share it behind a mutex or own it in one task.
///
/// ```
/// use pfs_archive::{Archive, ArchiveConfig, StoreQueryRequest, WakuMessage, STATUS_OK};
///
/// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
/// let now = 1_700_000_000_000_000_000i64;
/// let message = WakuMessage {
///     payload: b"hello".to_vec(),
///     content_topic: "/waku/1/0x01020304/rfc26".into(),
///     timestamp: Some(now),
///     ..WakuMessage::default()
/// };
/// assert!(archive.insert("/waku/2/rs/16/32", &message, now)?);
/// assert!(!archive.insert("/waku/2/rs/16/32", &message, now)?); // duplicate
///
/// // What js-waku sends: both topics, include_data, forward, no limit.
/// let response = archive.query(&StoreQueryRequest {
///     request_id: "42".into(),
///     include_data: true,
///     pubsub_topic: Some("/waku/2/rs/16/32".into()),
///     content_topics: vec!["/waku/1/0x01020304/rfc26".into()],
///     pagination_forward: true,
///     ..StoreQueryRequest::default()
/// });
/// assert_eq!(response.request_id, "42");
/// assert_eq!(response.status_code, Some(STATUS_OK));
/// assert_eq!(response.messages.len(), 1);
/// let entry = &response.messages[0];
/// assert_eq!(entry.message.as_ref(), Some(&message));
/// assert_eq!(entry.pubsub_topic.as_deref(), Some("/waku/2/rs/16/32"));
/// assert_eq!(entry.message_hash.as_ref().map(Vec::len), Some(32));
/// assert_eq!(response.pagination_cursor, None); // nothing follows
/// # Ok::<(), pfs_archive::ArchiveError>(())
/// ```
pub struct Archive {
    conn: Connection,
    config: ArchiveConfig,
}

impl fmt::Debug for Archive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Archive")
            .field("path", &self.conn.path())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

// The node moves the archive into its own task or behind a mutex.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Archive>();
};

/// A message ready to be written: validated, timestamped, hashed and encoded.
struct Prepared<'m> {
    hash: [u8; 32],
    timestamp: i64,
    content_topic: &'m str,
    bytes: Vec<u8>,
}

/// Applies nwaku's archiving rules; `None` when the message is not to be stored.
fn prepare<'m>(
    pubsub_topic: &str,
    message: &'m WakuMessage,
    received_ns: i64,
) -> Option<Prepared<'m>> {
    if message.ephemeral == Some(true) {
        tracing::trace!(pubsub_topic, "ephemeral message not archived");
        return None;
    }
    let stored = match message.timestamp {
        Some(ts) if ts != 0 => Cow::Borrowed(message),
        _ => {
            let mut m = message.clone();
            m.timestamp = Some(received_ns);
            Cow::Owned(m)
        }
    };
    let bytes = stored.encode_to_vec();
    if let Err(e) = validate(&stored, bytes.len(), usize::MAX, Some(received_ns)) {
        tracing::debug!(pubsub_topic, error = %e, "message refused by the archive");
        return None;
    }
    Some(Prepared {
        hash: message_hash(pubsub_topic, &stored),
        timestamp: stored.timestamp.unwrap_or(received_ns),
        content_topic: &message.content_topic,
        bytes,
    })
}

/// Writes one prepared message; `false` when its hash is already stored.
fn insert_row(
    conn: &Connection,
    pubsub_topic: &str,
    row: &Prepared<'_>,
    received_ns: i64,
) -> Result<bool, ArchiveError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO messages
             (hash, pubsub_topic, content_topic, timestamp, received, size, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (hash) DO NOTHING",
    )?;
    let size = i64::try_from(row.bytes.len()).unwrap_or(i64::MAX);
    let n = stmt.execute(params![
        &row.hash[..],
        pubsub_topic,
        row.content_topic,
        row.timestamp,
        received_ns,
        size,
        &row.bytes
    ])?;
    Ok(n == 1)
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Archive {
    /// The schema version this code writes (and the newest it reads).
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

    /// Opens the archive at `path`, creating the file (and its parent directories) and
    /// the schema if needed; WAL mode, `synchronous=NORMAL`.
    ///
    /// Errors: [`ArchiveError::Corrupt`] when the file is not an archive database,
    /// [`ArchiveError::SchemaTooNew`] (the file is not modified), [`ArchiveError::Io`]
    /// when the directory cannot be created or WAL mode is unavailable,
    /// [`ArchiveError::Sqlite`] otherwise.
    ///
    /// # Examples
    ///
    /// The messages survive a reopen; a file that is not a database is refused.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_archive::{Archive, ArchiveConfig, ArchiveError, WakuMessage};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("node/archive.sqlite3"); // parents are created
    /// let now = 1_700_000_000_000_000_000i64;
    /// let msg = WakuMessage { payload: vec![1], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() };
    /// assert!(Archive::open(&path, ArchiveConfig::default())?.insert("/waku/2/rs/16/32", &msg, now)?);
    /// assert_eq!(Archive::open(&path, ArchiveConfig::default())?.len()?, 1);
    ///
    /// let junk = dir.path().join("junk");
    /// std::fs::write(&junk, [0xAB; 4096])?;
    /// assert!(matches!(Archive::open(&junk, ArchiveConfig::default()), Err(ArchiveError::Corrupt(_))));
    /// # Ok(())
    /// # }
    /// ```
    pub fn open(path: &Path, config: ArchiveConfig) -> Result<Archive, ArchiveError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                ArchiveError::Io(format!("cannot create directory {}: {e}", parent.display()))
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let archive = Self::init(conn, config, true)?;
        tracing::debug!(path = %path.display(), "archive opened");
        Ok(archive)
    }

    /// An archive in memory, lost when dropped (tests, or a node that keeps no history
    /// across restarts).
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_archive::{Archive, ArchiveConfig, WakuMessage};
    ///
    /// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
    /// let m = WakuMessage {
    ///     payload: vec![1],
    ///     content_topic: "/a/1/b/proto".into(),
    ///     ..WakuMessage::default()
    /// };
    /// assert!(archive.insert("/waku/2/rs/16/32", &m, 1_700_000_000_000_000_000)?);
    /// assert_eq!(archive.len()?, 1);
    /// drop(archive);
    /// // A new in-memory archive starts empty.
    /// assert!(Archive::open_in_memory(ArchiveConfig::default())?.is_empty()?);
    /// # Ok::<(), pfs_archive::ArchiveError>(())
    /// ```
    pub fn open_in_memory(config: ArchiveConfig) -> Result<Archive, ArchiveError> {
        Self::init(Connection::open_in_memory()?, config, false)
    }

    fn init(
        mut conn: Connection,
        config: ArchiveConfig,
        on_disk: bool,
    ) -> Result<Archive, ArchiveError> {
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        // Keep cached statements from being re-prepared when a bound LIMIT changes (the
        // bundled SQLite is built with STAT4); our plans never depend on bound values.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;

        // Reads only until the version is known to be ours. A file that is not a
        // database fails here.
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let version = u32::try_from(version)
            .map_err(|_| ArchiveError::Corrupt(format!("negative schema version {version}")))?;
        if version > Self::SCHEMA_VERSION {
            return Err(ArchiveError::SchemaTooNew {
                found: version,
                supported: Self::SCHEMA_VERSION,
            });
        }

        if on_disk {
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(ArchiveError::Io(format!(
                    "could not switch the archive to WAL mode (got {mode})"
                )));
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // 64 MiB of page cache (allocated as pages are used): the hash index is written at
        // random places, and at 10^6 messages it is ~44 MiB.
        conn.pragma_update(None, "cache_size", -65_536)?;
        if on_disk {
            // Reads of the first 1 GiB of the file through a memory map: a page that is
            // not in the page cache (a page of messages fetches ~20 table pages) costs a
            // memory access instead of a `pread` and a copy. Writes still go through the
            // page cache and the WAL. An I/O error on a mapped page is a SIGBUS rather
            // than an error code, as for any memory-mapped SQLite database.
            let _: i64 =
                conn.pragma_update_and_check(None, "mmap_size", MMAP_SIZE, |r| r.get(0))?;
        }
        // Checkpoint every 16384 pages (64 MiB) instead of SQLite's 1000: the hash index
        // is written at random places, so nearly every message dirties its own index page,
        // and a rarer checkpoint writes a page once for many commits (1.5 to 2 times the
        // ingest rate at 10^5 to 10^6 messages). The WAL is truncated back to 80 MiB after
        // a checkpoint (a large purge grows it).
        conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        conn.pragma_update(None, "journal_size_limit", 80 * 1024 * 1024)?;

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version_now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version_now != i64::from(version) {
            return Err(ArchiveError::Io(
                "the archive was changed by another process while opening".into(),
            ));
        }
        for (to, sql) in (1..=Self::SCHEMA_VERSION)
            .zip(MIGRATIONS)
            .skip(version as usize)
        {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", to)?;
        }
        tx.commit()?;
        Ok(Archive { conn, config })
    }

    /// The configuration the archive was opened with.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_archive::{Archive, ArchiveConfig};
    ///
    /// let config = ArchiveConfig { max_messages: Some(10), ..ArchiveConfig::default() };
    /// let archive = Archive::open_in_memory(config.clone())?;
    /// assert_eq!(archive.config(), &config);
    /// # Ok::<(), pfs_archive::ArchiveError>(())
    /// ```
    pub fn config(&self) -> &ArchiveConfig {
        &self.config
    }

    /// Archives one message received on `pubsub_topic` at `received_ns` (Unix ns).
    ///
    /// Returns `Ok(false)` when the message is not stored: ephemeral, duplicate hash, or
    /// refused (empty payload or content topic, `meta` over 64 bytes, timestamp more
    /// than 20 s from `received_ns`: nwaku's rules). A message without timestamp (absent
    /// or 0) gets `received_ns` as its timestamp, and the stored hash is over the
    /// message as stored. Errors only when SQLite fails.
    ///
    /// # Examples
    ///
    /// The stored hash is 14/WAKU2-MESSAGE's (here its third test vector); what nwaku
    /// would not archive is not stored:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_archive::{Archive, ArchiveConfig, StoreQueryRequest, WakuMessage};
    ///
    /// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
    /// let ts = 0x175789bfa23f8400;
    /// let msg = WakuMessage {
    ///     payload: hex::decode("010203045445535405060708")?,
    ///     content_topic: "/waku/2/default-content/proto".into(),
    ///     timestamp: Some(ts),
    ///     ..WakuMessage::default()
    /// };
    /// let topic = "/waku/2/default-waku/proto";
    /// assert!(archive.insert(topic, &msg, ts)?);
    /// assert!(!archive.insert(topic, &msg, ts + 1)?); // same hash: a duplicate
    /// assert!(!archive.insert(topic, &WakuMessage { ephemeral: Some(true), ..msg.clone() }, ts)?);
    /// assert!(!archive.insert(topic, &WakuMessage { payload: vec![], ..msg.clone() }, ts)?);
    /// assert!(!archive.insert(topic, &WakuMessage { payload: vec![9], ..msg.clone() }, ts + 21_000_000_000)?);
    ///
    /// let page = archive.query(&StoreQueryRequest { pagination_forward: true, ..StoreQueryRequest::default() });
    /// let hashes: Vec<String> = page.messages.iter().filter_map(|e| e.message_hash.as_ref()).map(hex::encode).collect();
    /// assert_eq!(hashes, ["a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn insert(
        &mut self,
        pubsub_topic: &str,
        message: &WakuMessage,
        received_ns: i64,
    ) -> Result<bool, ArchiveError> {
        match prepare(pubsub_topic, message, received_ns) {
            Some(row) => insert_row(&self.conn, pubsub_topic, &row, received_ns),
            None => Ok(false),
        }
    }

    /// Archives `(pubsub_topic, message)` pairs received at `received_ns`, in one
    /// transaction (all or nothing on error), with the rules of [`Archive::insert`].
    /// Returns how many were stored.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_archive::{Archive, ArchiveConfig, WakuMessage};
    ///
    /// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
    /// let now = 1_700_000_000_000_000_000i64;
    /// let msg = |p: u8| WakuMessage { payload: vec![p], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() };
    /// let shard = "/waku/2/rs/16/32".to_owned();
    /// let items = vec![(shard.clone(), msg(1)), (shard.clone(), msg(2)), (shard, msg(1))];
    /// assert_eq!(archive.insert_batch(&items, now)?, 2); // the second msg(1) is a duplicate
    /// assert_eq!(archive.len()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn insert_batch(
        &mut self,
        items: &[(String, WakuMessage)],
        received_ns: i64,
    ) -> Result<usize, ArchiveError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stored = 0;
        for (pubsub_topic, message) in items {
            if let Some(row) = prepare(pubsub_topic, message, received_ns)
                && insert_row(&tx, pubsub_topic, &row, received_ns)?
            {
                stored += 1;
            }
        }
        tx.commit()?;
        Ok(stored)
    }

    /// Answers a store v3 query (see the crate documentation for the exact semantics).
    /// Never fails and never panics: problems become a 400 or 500 `status_code`.
    ///
    /// # Examples
    ///
    /// Paging forward with the cursor, then one page backward (still in ascending order):
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_archive::{Archive, ArchiveConfig, StoreQueryRequest, WakuMessage, STATUS_OK};
    ///
    /// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
    /// let t0 = 1_700_000_000_000_000_000i64;
    /// for i in 0..5u8 {
    ///     let m = WakuMessage { payload: vec![i], content_topic: "/a/1/b/proto".into(), timestamp: Some(t0 + i64::from(i)), ..WakuMessage::default() };
    ///     archive.insert("/waku/2/rs/16/32", &m, t0)?;
    /// }
    /// let payloads = |r: &pfs_archive::StoreQueryResponse| -> Vec<u8> {
    ///     r.messages.iter().filter_map(|e| e.message.as_ref()).map(|m| m.payload[0]).collect()
    /// };
    /// let mut req = StoreQueryRequest {
    ///     include_data: true,
    ///     pubsub_topic: Some("/waku/2/rs/16/32".into()),
    ///     content_topics: vec!["/a/1/b/proto".into()],
    ///     pagination_forward: true,
    ///     pagination_limit: Some(2),
    ///     ..StoreQueryRequest::default()
    /// };
    /// let first = archive.query(&req);
    /// assert_eq!((first.status_code, payloads(&first)), (Some(STATUS_OK), vec![0, 1]));
    /// req.pagination_cursor = first.pagination_cursor.clone();
    /// assert_eq!(payloads(&archive.query(&req)), [2, 3]);
    ///
    /// req.pagination_forward = false;
    /// req.pagination_cursor = None;
    /// assert_eq!(payloads(&archive.query(&req)), [3, 4]); // the newest two, oldest first
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Malformed queries are answered with 400, and a hash lookup finds a message by its id:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_archive::{Archive, ArchiveConfig, StoreQueryRequest, WakuMessage, STATUS_BAD_REQUEST};
    /// use pfs_transport::waku::message_hash;
    ///
    /// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
    /// let now = 1_700_000_000_000_000_000i64;
    /// let m = WakuMessage { payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now), ..WakuMessage::default() };
    /// archive.insert("/waku/2/rs/16/32", &m, now)?;
    ///
    /// let no_pubsub = StoreQueryRequest { content_topics: vec!["/a/1/b/proto".into()], ..StoreQueryRequest::default() };
    /// assert_eq!(archive.query(&no_pubsub).status_code, Some(STATUS_BAD_REQUEST));
    /// let short_cursor = StoreQueryRequest { pagination_cursor: Some(vec![0; 31]), ..StoreQueryRequest::default() };
    /// assert_eq!(archive.query(&short_cursor).status_code, Some(STATUS_BAD_REQUEST));
    ///
    /// let hash = message_hash("/waku/2/rs/16/32", &m).to_vec();
    /// let lookup = StoreQueryRequest { message_hashes: vec![hash.clone()], ..StoreQueryRequest::default() };
    /// let found = archive.query(&lookup);
    /// assert_eq!(found.messages.len(), 1);
    /// assert_eq!(found.messages[0].message_hash.as_ref(), Some(&hash));
    /// assert_eq!(found.messages[0].message, None); // include_data is false
    /// # Ok(())
    /// # }
    /// ```
    pub fn query(&self, request: &StoreQueryRequest) -> StoreQueryResponse {
        query::answer(&self.conn, &self.config, request)
    }

    /// Deletes the messages received more than [`ArchiveConfig::retention_secs`] before
    /// `now_ns` and then, while over [`ArchiveConfig::max_messages`] or
    /// [`ArchiveConfig::max_bytes`], the oldest received first (ties by insertion
    /// order). Returns how many messages were deleted.
    ///
    /// Runs [`Archive::purge_step`] until it reports nothing more due: one transaction per
    /// [`ArchiveConfig::purge_chunk`] messages, committed before the next starts. A
    /// caller that shares the archive behind a lock and wants ingest and queries to run
    /// during a long sweep calls [`Archive::purge_step`] itself, releasing the lock
    /// between steps. A sweep stopped between chunks (error, crash) leaves a consistent
    /// archive, with the oldest part of what was due deleted; the next purge finishes it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_archive::{Archive, ArchiveConfig, WakuMessage};
    ///
    /// let config = ArchiveConfig { retention_secs: 60, max_messages: Some(2), ..ArchiveConfig::default() };
    /// let mut archive = Archive::open_in_memory(config)?;
    /// let sec = 1_000_000_000i64;
    /// let t0 = 1_700_000_000 * sec;
    /// for (i, received) in [t0, t0 + 100 * sec, t0 + 101 * sec, t0 + 102 * sec].into_iter().enumerate() {
    ///     let m = WakuMessage { payload: vec![i as u8], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() };
    ///     archive.insert("/waku/2/rs/16/32", &m, received)?;
    /// }
    /// // At t0 + 110 s: the first is past retention, then the oldest goes for the cap of 2.
    /// assert_eq!(archive.purge(t0 + 110 * sec)?, 2);
    /// assert_eq!(archive.len()?, 2);
    /// assert_eq!(archive.purge(t0 + 110 * sec)?, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn purge(&mut self, now_ns: i64) -> Result<u64, ArchiveError> {
        let mut deleted = 0u64;
        loop {
            let step = self.purge_step(now_ns)?;
            deleted = deleted.saturating_add(step.deleted);
            if step.done {
                break;
            }
        }
        if deleted > 0 {
            tracing::debug!(deleted, "archive purged");
        }
        Ok(deleted)
    }

    /// One bounded step of [`Archive::purge`]: deletes, in one transaction, at most
    /// [`ArchiveConfig::purge_chunk`] of the messages that purge would delete, oldest
    /// received first (retention, then the message cap, then the byte cap).
    /// [`PurgeStep::done`] is true when the step deleted fewer than a chunk, i.e. nothing
    /// more was due when it committed.
    ///
    /// With [`ArchiveConfig::max_messages`] or [`ArchiveConfig::max_bytes`] set, each
    /// step that gets to the caps counts the messages or sums their sizes (one pass over
    /// the `(received, id, size)` index).
    ///
    /// # Examples
    ///
    /// With a byte cap and chunks of 2 messages, a sweep of 3 takes two steps:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_archive::{Archive, ArchiveConfig, PurgeStep, WakuMessage};
    ///
    /// let m = |p: u8| WakuMessage { payload: vec![p; 100], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() };
    /// let now = 1_700_000_000_000_000_000i64;
    /// // Stored with the receive time as timestamp: the size of each message as stored.
    /// let size = prost::Message::encoded_len(&WakuMessage { timestamp: Some(now), ..m(0) }) as u64;
    /// let config = ArchiveConfig { max_bytes: Some(2 * size), purge_chunk: 2, ..ArchiveConfig::default() };
    /// let mut archive = Archive::open_in_memory(config)?;
    /// for p in 0..5 {
    ///     archive.insert("/waku/2/rs/16/32", &m(p), now)?;
    /// }
    /// assert_eq!(archive.purge_step(now)?, PurgeStep { deleted: 2, done: false });
    /// assert_eq!(archive.purge_step(now)?, PurgeStep { deleted: 1, done: true });
    /// assert_eq!(archive.len()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn purge_step(&mut self, now_ns: i64) -> Result<PurgeStep, ArchiveError> {
        let retention_ns = to_i64(self.config.retention_secs).saturating_mul(1_000_000_000);
        let cutoff = now_ns.saturating_sub(retention_ns);
        let chunk = self.config.purge_chunk.max(1);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut deleted = to_u64(
            tx.prepare_cached(PURGE_RETENTION)?
                .execute([cutoff, to_i64(chunk)])?,
        );

        if let Some(max) = self.config.max_messages
            && deleted < chunk
        {
            let count: i64 = tx
                .prepare_cached("SELECT COUNT(*) FROM messages")?
                .query_row([], |r| r.get(0))?;
            let excess = count.saturating_sub(to_i64(max));
            if excess > 0 {
                let n = excess.min(to_i64(chunk - deleted));
                deleted += to_u64(tx.prepare_cached(PURGE_OLDEST_N)?.execute([n])?);
            }
        }

        if let Some(max) = self.config.max_bytes
            && deleted < chunk
        {
            let total: i64 = tx
                .prepare_cached("SELECT COALESCE(SUM(size), 0) FROM messages")?
                .query_row([], |r| r.get(0))?;
            let excess = total.saturating_sub(to_i64(max));
            if excess > 0 {
                // The newest (received, id) that must go so that the rest fits, or the
                // last one this chunk can take.
                let mut boundary = None;
                {
                    let mut stmt = tx.prepare_cached(OLDEST_SIZES)?;
                    let mut rows = stmt.query([to_i64(chunk - deleted)])?;
                    let mut freed = 0i64;
                    while let Some(row) = rows.next()? {
                        boundary = Some((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?));
                        freed = freed.saturating_add(row.get::<_, i64>(2)?);
                        if freed >= excess {
                            break;
                        }
                    }
                }
                if let Some((received, id)) = boundary {
                    deleted += to_u64(tx.prepare_cached(PURGE_UP_TO)?.execute([received, id])?);
                }
            }
        }
        tx.commit()?;
        Ok(PurgeStep {
            deleted,
            done: deleted < chunk,
        })
    }

    /// How many messages are stored.
    ///
    /// # Examples
    ///
    /// A duplicate (same deterministic hash) is stored once:
    ///
    /// ```
    /// use pfs_archive::{Archive, ArchiveConfig, WakuMessage};
    ///
    /// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
    /// let now = 1_700_000_000_000_000_000i64;
    /// let m = WakuMessage {
    ///     payload: vec![1],
    ///     content_topic: "/a/1/b/proto".into(),
    ///     timestamp: Some(now),
    ///     ..WakuMessage::default()
    /// };
    /// assert!(archive.insert("/waku/2/rs/16/32", &m, now)?);
    /// assert!(!archive.insert("/waku/2/rs/16/32", &m, now)?);
    /// assert_eq!(archive.len()?, 1);
    /// # Ok::<(), pfs_archive::ArchiveError>(())
    /// ```
    pub fn len(&self) -> Result<u64, ArchiveError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM messages")?
            .query_row([], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Whether no message is stored.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_archive::{Archive, ArchiveConfig};
    ///
    /// let archive = Archive::open_in_memory(ArchiveConfig::default())?;
    /// assert!(archive.is_empty()?);
    /// assert_eq!(archive.len()?, 0);
    /// assert_eq!(archive.config().max_page, pfs_archive::MAX_PAGE_SIZE);
    /// # Ok::<(), pfs_archive::ArchiveError>(())
    /// ```
    pub fn is_empty(&self) -> Result<bool, ArchiveError> {
        let any: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM messages)")?
            .query_row([], |r| r.get(0))?;
        Ok(!any)
    }
}

#[cfg(test)]
mod tests;
