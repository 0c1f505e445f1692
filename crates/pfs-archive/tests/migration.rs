//! Upgrade of a schema version 1 archive (one `messages` table holding the encoded
//! messages) to version 2 (the messages clustered in `bodies`). The version 1 file is
//! written here by hand, with the version 1 schema SQL and rows as that code wrote them,
//! so the test does not depend on the code under test to make it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;

use common::*;
use pfs_archive::{Archive, ArchiveConfig, StoreQueryRequest, WakuMessage};
use prost::Message as _;

/// `migrations/0001_initial.sql` as released (comments dropped).
const SCHEMA_V1: &str = "
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    hash          BLOB    NOT NULL,
    pubsub_topic  TEXT    NOT NULL,
    content_topic TEXT    NOT NULL,
    timestamp     INTEGER NOT NULL,
    received      INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    message       BLOB    NOT NULL
);
CREATE UNIQUE INDEX messages_hash ON messages (hash);
CREATE INDEX messages_topic_time ON messages (pubsub_topic, content_topic, timestamp, hash);
CREATE INDEX messages_time ON messages (timestamp, hash);
CREATE INDEX messages_received ON messages (received, id, size);
PRAGMA user_version = 1;
";

/// 60 messages on two pubsub and three content topics, received one second apart
/// (message `i` at `T0 + i s`), in insertion order.
fn messages() -> Vec<(&'static str, WakuMessage)> {
    (0..60i64)
        .map(|i| {
            let pt = if i % 4 == 3 { PT2 } else { PT };
            let ct = [CT_A, CT_B, CT_C][(i % 3) as usize];
            (
                pt,
                msg(ct, T0 + i * SEC, format!("v1 message {i}").as_bytes()),
            )
        })
        .collect()
}

/// A version 1 archive file holding `messages()`, as the version 1 code stored them.
fn write_v1(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(SCHEMA_V1).unwrap();
    for (i, (pt, m)) in messages().into_iter().enumerate() {
        let bytes = m.encode_to_vec();
        conn.execute(
            "INSERT INTO messages
                 (hash, pubsub_topic, content_topic, timestamp, received, size, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                &hash(pt, &m)[..],
                pt,
                m.content_topic,
                m.timestamp.unwrap(),
                T0 + i as i64 * SEC,
                bytes.len() as i64,
                bytes
            ],
        )
        .unwrap();
    }
}

#[test]
fn a_version_1_archive_opens_and_keeps_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.sqlite");
    write_v1(&path);
    let all = messages();

    let mut a = Archive::open(&path, ArchiveConfig::default()).unwrap();
    assert_eq!(a.len().unwrap(), all.len() as u64);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 2);
        let report: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(report, "ok");
    }

    // Every content topic of every pubsub topic pages back exactly its messages, in
    // timestamp order (= insertion order here), with their data.
    for pt in [PT, PT2] {
        for ct in [CT_A, CT_B, CT_C] {
            let expected: Vec<WakuMessage> = all
                .iter()
                .filter(|(p, m)| *p == pt && m.content_topic == ct)
                .map(|(_, m)| m.clone())
                .collect();
            assert!(!expected.is_empty());
            let mut q = topic_query(pt, &[ct]);
            q.pagination_limit = Some(4);
            let mut got = Vec::new();
            loop {
                let r = a.query(&q);
                assert_eq!(r.status_code, Some(200));
                if r.messages.is_empty() {
                    break;
                }
                for e in &r.messages {
                    assert_eq!(e.pubsub_topic.as_deref(), Some(pt));
                    got.push(e.message.clone().unwrap());
                }
                q.pagination_cursor = r.messages.last().unwrap().message_hash.clone();
            }
            assert_eq!(got, expected, "{pt} {ct}");
        }
    }

    // Hash lookups, and a time query without content filter, find the old messages.
    let r = a.query(&StoreQueryRequest {
        include_data: true,
        message_hashes: vec![hash(all[7].0, &all[7].1).to_vec()],
        ..StoreQueryRequest::default()
    });
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.messages[0].message.as_ref(), Some(&all[7].1));
    assert_eq!(r.messages[0].pubsub_topic.as_deref(), Some(all[7].0));
    let r = a.query(&StoreQueryRequest {
        include_data: true,
        time_start: Some(T0 + 10 * SEC),
        time_end: Some(T0 + 14 * SEC),
        pagination_forward: true,
        ..StoreQueryRequest::default()
    });
    let got: Vec<_> = r
        .messages
        .iter()
        .map(|e| e.message.clone().unwrap())
        .collect();
    let expected: Vec<_> = all[10..=14].iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(got, expected);

    // Deduplication still sees them; new messages go in beside them.
    assert!(!a.insert(all[0].0, &all[0].1, T0 + 100 * SEC).unwrap());
    let new = msg(CT_A, T0 + 100 * SEC, b"v2 message");
    assert!(a.insert(PT, &new, T0 + 100 * SEC).unwrap());
    assert_eq!(a.len().unwrap(), all.len() as u64 + 1);

    // Retention deletes migrated messages with their bodies: received before T0 + 30 s.
    drop(a);
    let mut a = Archive::open(
        &path,
        ArchiveConfig {
            retention_secs: 70,
            ..ArchiveConfig::default()
        },
    )
    .unwrap();
    assert_eq!(a.purge(T0 + 100 * SEC).unwrap(), 30);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let bodies: i64 = conn
        .query_row("SELECT COUNT(*) FROM bodies", [], |r| r.get(0))
        .unwrap();
    assert_eq!(bodies, 31, "one body per remaining message");
    let mut q = topic_query(PT, &[CT_A]);
    q.pagination_limit = Some(100);
    let got: Vec<_> = a
        .query(&q)
        .messages
        .into_iter()
        .map(|e| e.message.unwrap())
        .collect();
    let mut expected: Vec<_> = all[30..]
        .iter()
        .filter(|(p, m)| *p == PT && m.content_topic == CT_A)
        .map(|(_, m)| m.clone())
        .collect();
    expected.push(new);
    assert_eq!(got, expected);
}
