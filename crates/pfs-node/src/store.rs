//! The store (mailserver) role: envelopes kept in SQLite for the retention period.
//!
//! One table, `envelopes(seq, hash UNIQUE, topic, expiry, received, data)`. An envelope
//! is stored once (by hash) with its arrival time; history is read in `(received, seq)`
//! order, page by page; rows older than the retention period are deleted by
//! [`EnvelopeStore::purge`]. Rows that do not decode (wrong topic length, negative
//! numbers, empty or oversized data: only possible if the file was tampered with) are
//! skipped with a warning, never a panic.

use std::path::{Path, PathBuf};

use pfs_transport::transport::{
    CarriedEnvelope, EnvelopeMeta, HistoryQuery, MAX_ENVELOPE_SIZE, Topic, TransportError,
};
use rusqlite::{Connection, OptionalExtension, params, types::Value};

use crate::protocol::{Cursor, HistoryItem, PAGE_ITEM_OVERHEAD};

/// Schema version written to `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file could not be opened.
    #[error("cannot open store database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer version.
    #[error("store database has schema version {0}, newer than {SCHEMA_VERSION}")]
    SchemaTooNew(i64),
    /// A query failed.
    #[error("store database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The query is malformed.
    #[error(transparent)]
    Query(#[from] TransportError),
}

/// One page of history read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Envelopes in arrival order.
    pub items: Vec<HistoryItem>,
    /// Set when more rows remain after this page.
    pub next: Option<Cursor>,
}

/// Envelopes kept for the store role.
#[derive(Debug)]
pub struct EnvelopeStore {
    conn: Connection,
    retention_secs: u64,
}

fn to_sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl EnvelopeStore {
    /// Opens (creating if needed) the store database at `path`.
    pub fn open(path: &Path, retention_secs: u64) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::init(conn, retention_secs)
    }

    /// A store in memory (lost when dropped), for tests.
    pub fn open_in_memory(retention_secs: u64) -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, retention_secs)
    }

    fn init(conn: Connection, retention_secs: u64) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew(version));
        }
        // WAL keeps readers and the writer apart; in-memory databases answer "memory".
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS envelopes (
                 seq      INTEGER PRIMARY KEY AUTOINCREMENT,
                 hash     BLOB NOT NULL UNIQUE,
                 topic    BLOB NOT NULL,
                 expiry   INTEGER NOT NULL,
                 received INTEGER NOT NULL,
                 data     BLOB NOT NULL
             );
             CREATE INDEX IF NOT EXISTS envelopes_topic_received
                 ON envelopes(topic, received, seq);
             CREATE INDEX IF NOT EXISTS envelopes_received ON envelopes(received);
             PRAGMA user_version = 1;",
        )?;
        Ok(EnvelopeStore {
            conn,
            retention_secs,
        })
    }

    /// The retention period in seconds.
    pub fn retention_secs(&self) -> u64 {
        self.retention_secs
    }

    /// Stores an envelope that arrived at `received_unix`. Returns `false` if the same
    /// envelope (same hash) is already stored.
    pub fn insert(&self, e: &CarriedEnvelope, received_unix: u64) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO envelopes (hash, topic, expiry, received, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                e.hash().as_slice(),
                e.meta.topic.as_slice(),
                to_sql_int(e.meta.expiry_unix),
                to_sql_int(received_unix),
                e.envelope.as_slice()
            ],
        )?;
        Ok(n == 1)
    }

    /// Number of stored envelopes.
    pub fn len(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM envelopes", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Whether the store holds no envelope.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// Deletes envelopes that arrived more than the retention period before `now_unix`.
    /// Returns how many were deleted (and logs it).
    pub fn purge(&self, now_unix: u64) -> Result<usize, StoreError> {
        let cutoff = now_unix.saturating_sub(self.retention_secs);
        let n = self.conn.execute(
            "DELETE FROM envelopes WHERE received < ?1",
            params![to_sql_int(cutoff)],
        )?;
        if n > 0 {
            tracing::info!(
                deleted = n,
                cutoff,
                "store: envelopes past retention dropped"
            );
        }
        Ok(n)
    }

    /// Reads one page of history for `query`, starting after `after`, with at most
    /// `limit` envelopes and about `max_bytes` bytes (always at least one envelope if
    /// any matches).
    pub fn page(
        &self,
        query: &HistoryQuery,
        after: Option<Cursor>,
        limit: u32,
        max_bytes: usize,
    ) -> Result<Page, StoreError> {
        query.check()?;
        let mut topics: Vec<Topic> = query.topics.clone();
        topics.sort_unstable();
        topics.dedup();
        let limit = limit.max(1);
        let placeholders = vec!["?"; topics.len()].join(",");
        let sql = format!(
            "SELECT seq, received, topic, expiry, data FROM envelopes
             WHERE topic IN ({placeholders})
               AND received >= ? AND received <= ?
               AND (received > ? OR (received = ? AND seq > ?))
             ORDER BY received, seq
             LIMIT ?"
        );
        let (after_received, after_seq) = match after {
            Some(c) => (to_sql_int(c.received_unix), to_sql_int(c.seq)),
            None => (to_sql_int(query.since_unix), -1),
        };
        let mut args: Vec<Value> = topics.iter().map(|t| Value::Blob(t.to_vec())).collect();
        args.extend([
            Value::Integer(to_sql_int(query.since_unix)),
            Value::Integer(to_sql_int(query.until_unix)),
            Value::Integer(after_received),
            Value::Integer(after_received),
            Value::Integer(after_seq),
            // One more row than the limit tells whether a next page exists.
            Value::Integer(i64::from(limit) + 1),
        ]);
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut items = Vec::new();
        let mut bytes = 0usize;
        let mut last: Option<Cursor> = None;
        let mut more = false;
        let mut rows_read: u64 = 0;
        while let Some(row) = rows.next()? {
            rows_read += 1;
            let seq: i64 = row.get(0)?;
            let received: i64 = row.get(1)?;
            let topic: Vec<u8> = row.get(2)?;
            let expiry: i64 = row.get(3)?;
            let data: Vec<u8> = row.get(4)?;
            let size = data.len().saturating_add(PAGE_ITEM_OVERHEAD);
            let full = u32::try_from(items.len()).unwrap_or(u32::MAX) >= limit
                || (!items.is_empty() && bytes.saturating_add(size) > max_bytes);
            if full {
                more = true;
                break;
            }
            let (Ok(seq_u), Ok(received_u)) = (u64::try_from(seq), u64::try_from(received)) else {
                tracing::warn!(seq, received, "store: row with negative numbers skipped");
                continue;
            };
            last = Some(Cursor {
                received_unix: received_u,
                seq: seq_u,
            });
            let (Ok(topic), Ok(expiry_unix)) =
                (<Topic>::try_from(topic.as_slice()), u64::try_from(expiry))
            else {
                tracing::warn!(seq, "store: garbage row skipped (topic or expiry)");
                continue;
            };
            if data.is_empty() || data.len() > MAX_ENVELOPE_SIZE {
                tracing::warn!(seq, len = data.len(), "store: garbage row skipped (size)");
                continue;
            }
            bytes = bytes.saturating_add(size);
            items.push(HistoryItem {
                received_unix: received_u,
                topic,
                expiry_unix,
                envelope: data,
            });
        }
        // Skipped garbage rows use up the one extra row that signals a next page.
        if rows_read > u64::from(limit) {
            more = true;
        }
        Ok(Page {
            items,
            next: if more { last } else { None },
        })
    }

    /// Reads the whole history for `query` (all pages), for local use.
    pub fn query_all(&self, query: &HistoryQuery) -> Result<Vec<CarriedEnvelope>, StoreError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.page(
                query,
                after,
                crate::protocol::MAX_PAGE_ENVELOPES,
                crate::protocol::MAX_PAGE_BYTES,
            )?;
            out.extend(page.items.into_iter().map(item_to_carried));
            match page.next {
                Some(c) => after = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// The arrival time of the stored envelope with this hash, if any.
    pub fn received_at(&self, hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        let t: Option<i64> = self
            .conn
            .query_row(
                "SELECT received FROM envelopes WHERE hash = ?1",
                params![hash.as_slice()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(t.and_then(|t| u64::try_from(t).ok()))
    }
}

/// A history item as the transport's type.
pub fn item_to_carried(item: HistoryItem) -> CarriedEnvelope {
    CarriedEnvelope {
        meta: EnvelopeMeta {
            topic: item.topic,
            expiry_unix: item.expiry_unix,
        },
        envelope: item.envelope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: Topic = [1, 1, 1, 1];
    const T2: Topic = [2, 2, 2, 2];

    fn env(topic: Topic, id: u32) -> CarriedEnvelope {
        CarriedEnvelope {
            meta: EnvelopeMeta {
                topic,
                expiry_unix: 10,
            },
            envelope: id.to_be_bytes().to_vec(),
        }
    }

    fn all(topics: Vec<Topic>) -> HistoryQuery {
        HistoryQuery {
            topics,
            since_unix: 0,
            until_unix: u64::MAX,
        }
    }

    fn ids(v: &[CarriedEnvelope]) -> Vec<u32> {
        v.iter()
            .map(|e| u32::from_be_bytes(e.envelope.as_slice().try_into().unwrap()))
            .collect()
    }

    #[test]
    fn insert_dedup_and_query_in_arrival_order() {
        let s = EnvelopeStore::open_in_memory(100).unwrap();
        // Arrival times deliberately not in insertion order.
        assert!(s.insert(&env(T1, 1), 50).unwrap());
        assert!(s.insert(&env(T2, 2), 40).unwrap());
        assert!(s.insert(&env(T1, 3), 40).unwrap());
        assert!(!s.insert(&env(T1, 3), 60).unwrap(), "duplicate by hash");
        assert_eq!(s.len().unwrap(), 3);
        assert_eq!(s.received_at(&env(T1, 3).hash()).unwrap(), Some(40));
        assert_eq!(ids(&s.query_all(&all(vec![T1, T2])).unwrap()), [2, 3, 1]);
        assert_eq!(ids(&s.query_all(&all(vec![T1])).unwrap()), [3, 1]);
        let q = HistoryQuery {
            topics: vec![T1, T2],
            since_unix: 41,
            until_unix: 50,
        };
        assert_eq!(ids(&s.query_all(&q).unwrap()), [1]);
    }

    #[test]
    fn pages_by_count_and_bytes_cover_everything_once() {
        let s = EnvelopeStore::open_in_memory(u64::MAX).unwrap();
        for i in 0..25u32 {
            s.insert(&env(T1, i), u64::from(i / 4)).unwrap();
        }
        let q = all(vec![T1]);
        let mut after = None;
        let mut got = Vec::new();
        let mut pages = 0;
        loop {
            let p = s.page(&q, after, 7, usize::MAX).unwrap();
            assert!(p.items.len() <= 7);
            pages += 1;
            got.extend(p.items.into_iter().map(item_to_carried));
            match p.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        assert_eq!(pages, 4);
        assert_eq!(ids(&got), (0..25).collect::<Vec<_>>());
        // Byte limit: each item counts 4 + overhead bytes; room for 2 per page.
        let p = s.page(&q, None, 100, 2 * (4 + PAGE_ITEM_OVERHEAD)).unwrap();
        assert_eq!(p.items.len(), 2);
        assert!(p.next.is_some());
        // A limit smaller than one item still returns one.
        let p = s.page(&q, None, 100, 1).unwrap();
        assert_eq!(p.items.len(), 1);
    }

    #[test]
    fn purge_drops_rows_past_retention() {
        let s = EnvelopeStore::open_in_memory(100).unwrap();
        s.insert(&env(T1, 1), 1000).unwrap();
        s.insert(&env(T1, 2), 1050).unwrap();
        assert_eq!(s.purge(1100).unwrap(), 0);
        assert_eq!(s.purge(1101).unwrap(), 1);
        assert_eq!(ids(&s.query_all(&all(vec![T1])).unwrap()), [2]);
        assert_eq!(s.purge(u64::MAX).unwrap(), 1);
        assert!(s.is_empty().unwrap());
    }

    #[test]
    fn garbage_rows_are_skipped_not_fatal() {
        let s = EnvelopeStore::open_in_memory(u64::MAX).unwrap();
        s.insert(&env(T1, 1), 5).unwrap();
        s.conn
            .execute(
                "INSERT INTO envelopes (hash, topic, expiry, received, data)
                 VALUES (x'00', x'010101', 1, 6, x'00'), (x'01', x'01010101', -1, 7, x'00'),
                        (x'02', x'01010101', 1, 8, x'')",
                [],
            )
            .unwrap();
        s.insert(&env(T1, 2), 9).unwrap();
        assert_eq!(ids(&s.query_all(&all(vec![T1])).unwrap()), [1, 2]);
    }

    #[test]
    fn reopen_keeps_rows_and_refuses_newer_schema() {
        let dir = std::env::temp_dir().join(format!(
            "pfs-node-store-test-{}-{}",
            std::process::id(),
            line!()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("store.sqlite");
        {
            let s = EnvelopeStore::open(&path, 100).unwrap();
            s.insert(&env(T1, 7), 1).unwrap();
        }
        {
            let s = EnvelopeStore::open(&path, 100).unwrap();
            assert_eq!(ids(&s.query_all(&all(vec![T1])).unwrap()), [7]);
            s.conn.execute_batch("PRAGMA user_version = 2").unwrap();
        }
        assert!(matches!(
            EnvelopeStore::open(&path, 100),
            Err(StoreError::SchemaTooNew(2))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_query_is_an_error() {
        let s = EnvelopeStore::open_in_memory(100).unwrap();
        assert!(matches!(
            s.page(&all(vec![]), None, 1, 1),
            Err(StoreError::Query(TransportError::InvalidQuery(_)))
        ));
    }
}
