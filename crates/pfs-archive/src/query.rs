//! Store v3 query semantics (13/WAKU2-STORE, as js-waku 0.0.36 and nwaku use them).
//!
//! A query runs in two phases inside one read transaction (one consistent snapshot):
//! 1. the keys `(timestamp, hash, id)` of at most `limit + 1` matching rows, in query
//!    order, read from the covering indexes only; the extra row tells whether more
//!    follow;
//! 2. for the `limit` rows of the page, and only when `include_data`, the stored
//!    message and pubsub topic, by rowid.
//!
//! Bounds are exclusive `(timestamp, hash)` row values: `time_start` becomes
//! `> (time_start, x'')` (every 32-byte hash sorts after the empty blob), `time_end`
//! becomes `< (time_end, x'ff' * 33)`, and a cursor replaces the lower (forward) or upper
//! (backward) bound when it is tighter. So every query is one index range scan with
//! both ends bound, and a deep page costs what the first page costs.

use std::collections::BTreeSet;

use pfs_wire::waku::{StoreQueryRequest, StoreQueryResponse, WakuMessage, WakuMessageKeyValue};
use prost::Message as _;
use rusqlite::{Connection, OptionalExtension, params};

use crate::{
    ArchiveConfig, MAX_CONTENT_TOPICS, MAX_MESSAGE_HASHES, STATUS_BAD_REQUEST,
    STATUS_INTERNAL_ERROR, STATUS_OK,
};

/// One content topic's range, ascending.
pub(crate) const TOPIC_ASC: &str = "SELECT timestamp, hash, id FROM messages
     WHERE pubsub_topic = ?1 AND content_topic = ?2
       AND (timestamp, hash) > (?3, ?4) AND (timestamp, hash) < (?5, ?6)
     ORDER BY timestamp ASC, hash ASC LIMIT ?7";
/// One content topic's range, descending.
pub(crate) const TOPIC_DESC: &str = "SELECT timestamp, hash, id FROM messages
     WHERE pubsub_topic = ?1 AND content_topic = ?2
       AND (timestamp, hash) > (?3, ?4) AND (timestamp, hash) < (?5, ?6)
     ORDER BY timestamp DESC, hash DESC LIMIT ?7";
/// Every topic, ascending (`?5` NULL) or one pubsub topic.
pub(crate) const TIME_ASC: &str = "SELECT timestamp, hash, id FROM messages
     WHERE (timestamp, hash) > (?1, ?2) AND (timestamp, hash) < (?3, ?4)
       AND (?5 IS NULL OR pubsub_topic = ?5)
     ORDER BY timestamp ASC, hash ASC LIMIT ?6";
/// Every topic, descending (`?5` NULL) or one pubsub topic.
pub(crate) const TIME_DESC: &str = "SELECT timestamp, hash, id FROM messages
     WHERE (timestamp, hash) > (?1, ?2) AND (timestamp, hash) < (?3, ?4)
       AND (?5 IS NULL OR pubsub_topic = ?5)
     ORDER BY timestamp DESC, hash DESC LIMIT ?6";
/// A hash lookup (also the cursor lookup).
pub(crate) const BY_HASH: &str = "SELECT timestamp, id FROM messages WHERE hash = ?1";
/// The value of one row.
const BY_ID: &str = "SELECT pubsub_topic, message FROM messages WHERE id = ?1";

/// The sort key of a stored message, and its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) timestamp: i64,
    pub(crate) hash: [u8; 32],
    pub(crate) id: i64,
}

impl Key {
    fn order(&self) -> (i64, &[u8]) {
        (self.timestamp, &self.hash)
    }
}

/// An exclusive `(timestamp, hash)` bound.
type Bound = (i64, Vec<u8>);

/// Why a query got no page.
#[derive(Debug)]
enum Failure {
    /// 400, with a description.
    BadRequest(String),
    /// 500, with a description.
    Internal(String),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Internal(format!("archive database error: {e}"))
    }
}

fn bad(desc: impl Into<String>) -> Failure {
    Failure::BadRequest(desc.into())
}

/// One page: the entries in ascending order, and the cursor when more follow.
struct Page {
    entries: Vec<WakuMessageKeyValue>,
    cursor: Option<Vec<u8>>,
}

pub(crate) fn answer(
    conn: &Connection,
    config: &ArchiveConfig,
    request: &StoreQueryRequest,
) -> StoreQueryResponse {
    let mut response = StoreQueryResponse {
        request_id: request.request_id.clone(),
        ..StoreQueryResponse::default()
    };
    match run(conn, config, request) {
        Ok(page) => {
            response.status_code = Some(STATUS_OK);
            response.status_desc = Some("OK".into());
            response.messages = page.entries;
            response.pagination_cursor = page.cursor;
        }
        Err(Failure::BadRequest(desc)) => {
            tracing::debug!(request_id = %request.request_id, %desc, "bad store query");
            response.status_code = Some(STATUS_BAD_REQUEST);
            response.status_desc = Some(desc);
        }
        Err(Failure::Internal(desc)) => {
            tracing::warn!(request_id = %request.request_id, %desc, "store query failed");
            response.status_code = Some(STATUS_INTERNAL_ERROR);
            response.status_desc = Some(desc);
        }
    }
    response
}

/// The page size for a requested limit: unset or 0 → the default, capped at the
/// maximum, never 0.
pub(crate) fn page_limit(config: &ArchiveConfig, requested: Option<u64>) -> usize {
    let max = config.max_page.max(1);
    let limit = match requested {
        Some(n) if n > 0 => n.min(max),
        _ => config.default_page.clamp(1, max),
    };
    usize::try_from(limit).unwrap_or(usize::MAX)
}

fn hash32(bytes: &[u8], what: &str) -> Result<[u8; 32], Failure> {
    bytes
        .try_into()
        .map_err(|_| bad(format!("{what} of {} bytes (32 expected)", bytes.len())))
}

fn run(
    conn: &Connection,
    config: &ArchiveConfig,
    request: &StoreQueryRequest,
) -> Result<Page, Failure> {
    let content_filter = request.pubsub_topic.is_some()
        || !request.content_topics.is_empty()
        || request.time_start.is_some()
        || request.time_end.is_some();
    if !request.content_topics.is_empty() && request.pubsub_topic.is_none() {
        return Err(bad("content_topics given without pubsub_topic"));
    }
    if !request.message_hashes.is_empty() && content_filter {
        return Err(bad(
            "message_hashes cannot be combined with content filter criteria",
        ));
    }
    if request.content_topics.len() > MAX_CONTENT_TOPICS {
        return Err(bad(format!(
            "too many content topics ({}, at most {MAX_CONTENT_TOPICS})",
            request.content_topics.len()
        )));
    }
    if request.message_hashes.len() > MAX_MESSAGE_HASHES {
        return Err(bad(format!(
            "too many message hashes ({}, at most {MAX_MESSAGE_HASHES})",
            request.message_hashes.len()
        )));
    }
    let hashes = request
        .message_hashes
        .iter()
        .map(|h| hash32(h, "message hash"))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let cursor = match &request.pagination_cursor {
        Some(c) => {
            let hash = hash32(c, "cursor")?;
            if hash == [0u8; 32] {
                return Err(bad("all-zero cursor"));
            }
            Some(hash)
        }
        None => None,
    };
    let limit = page_limit(config, request.pagination_limit);
    let forward = request.pagination_forward;

    // One snapshot for the cursor lookup and both phases.
    let tx = conn.unchecked_transaction()?;

    let mut lower: Bound = (request.time_start.unwrap_or(i64::MIN), Vec::new());
    let mut upper: Bound = (request.time_end.unwrap_or(i64::MAX), vec![0xff; 33]);
    if let Some(hash) = cursor {
        let Some((timestamp, _id)) = lookup(&tx, &hash)? else {
            return Err(bad("cursor not found"));
        };
        let at: Bound = (timestamp, hash.to_vec());
        if forward {
            lower = lower.max(at);
        } else {
            upper = upper.min(at);
        }
    }

    let fetch = limit.saturating_add(1);
    let mut keys = if lower >= upper {
        Vec::new()
    } else if !hashes.is_empty() {
        let mut keys = Vec::new();
        for hash in &hashes {
            if let Some((timestamp, id)) = lookup(&tx, hash)? {
                let key = Key {
                    timestamp,
                    hash: *hash,
                    id,
                };
                let at = key.order();
                if at > (lower.0, &lower.1[..]) && at < (upper.0, &upper.1[..]) {
                    keys.push(key);
                }
            }
        }
        keys
    } else if let Some(pubsub_topic) = request.pubsub_topic.as_deref()
        && !request.content_topics.is_empty()
    {
        let topics: BTreeSet<&str> = request.content_topics.iter().map(String::as_str).collect();
        let mut stmt = tx.prepare_cached(if forward { TOPIC_ASC } else { TOPIC_DESC })?;
        let mut keys = Vec::new();
        for content_topic in topics {
            let rows = stmt.query_map(
                params![
                    pubsub_topic,
                    content_topic,
                    lower.0,
                    lower.1,
                    upper.0,
                    upper.1,
                    sql_limit(fetch)
                ],
                key_row,
            )?;
            for row in rows {
                keys.push(row?);
            }
        }
        keys
    } else {
        let mut stmt = tx.prepare_cached(if forward { TIME_ASC } else { TIME_DESC })?;
        let rows = stmt.query_map(
            params![
                lower.0,
                lower.1,
                upper.0,
                upper.1,
                request.pubsub_topic,
                sql_limit(fetch)
            ],
            key_row,
        )?;
        rows.collect::<Result<Vec<_>, _>>()?
    };

    // Query order; several content topics or hashes are merged here.
    keys.sort_unstable_by(|a, b| {
        let o = a.order().cmp(&b.order());
        if forward { o } else { o.reverse() }
    });
    let more = keys.len() > limit;
    keys.truncate(limit);
    // The last entry included in query order: where the next page starts.
    let cursor = if more {
        keys.last().map(|k| k.hash.to_vec())
    } else {
        None
    };
    if !forward {
        keys.reverse();
    }

    let mut entries = Vec::with_capacity(keys.len());
    let mut by_id = if request.include_data {
        Some(tx.prepare_cached(BY_ID)?)
    } else {
        None
    };
    for key in &keys {
        let mut entry = WakuMessageKeyValue {
            message_hash: Some(key.hash.to_vec()),
            ..WakuMessageKeyValue::default()
        };
        if let Some(stmt) = by_id.as_mut() {
            let (pubsub_topic, bytes): (String, Vec<u8>) = stmt
                .query_row([key.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or_else(|| Failure::Internal(format!("row {} vanished", key.id)))?;
            let message = WakuMessage::decode(bytes.as_slice()).map_err(|e| {
                Failure::Internal(format!("stored message {} does not decode: {e}", key.id))
            })?;
            entry.message = Some(message);
            entry.pubsub_topic = Some(pubsub_topic);
        }
        entries.push(entry);
    }
    drop(by_id);
    tx.commit()?;
    Ok(Page { entries, cursor })
}

fn sql_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Key> {
    Ok(Key {
        timestamp: r.get(0)?,
        hash: r.get(1)?,
        id: r.get(2)?,
    })
}

/// `(timestamp, id)` of the stored message with this hash.
fn lookup(conn: &Connection, hash: &[u8; 32]) -> Result<Option<(i64, i64)>, Failure> {
    Ok(conn
        .prepare_cached(BY_HASH)?
        .query_row([&hash[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}
