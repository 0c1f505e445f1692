//! Unit tests that need the connection: query plans and internal helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::query::page_limit;

fn plan(archive: &Archive, sql: &str, params: impl rusqlite::Params) -> String {
    let mut stmt = archive
        .conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows.join(" | ")
}

/// Every query of a page is one index range scan bounded on both sides, with no sort
/// and no table lookup (the key columns are covered by the index).
#[test]
fn query_plans_use_covering_index_ranges() {
    let archive = Archive::open_in_memory(ArchiveConfig::default()).unwrap();
    let lo = (0i64, Vec::<u8>::new());
    let hi = (i64::MAX, vec![0xffu8; 33]);
    for sql in [query::TOPIC_ASC, query::TOPIC_DESC] {
        let p = plan(
            &archive,
            sql,
            rusqlite::params!["/p", "/c", lo.0, lo.1, hi.0, hi.1, 21],
        );
        assert_eq!(
            p,
            "SEARCH messages USING COVERING INDEX messages_topic_time \
             (pubsub_topic=? AND content_topic=? AND (timestamp,hash)>(?,?) AND (timestamp,hash)<(?,?))",
            "{sql}"
        );
    }
    for sql in [query::TIME_ASC, query::TIME_DESC] {
        let p = plan(
            &archive,
            sql,
            rusqlite::params![lo.0, lo.1, hi.0, hi.1, None::<String>, 21],
        );
        assert!(
            p.starts_with("SEARCH messages USING INDEX messages_time ((timestamp,hash)>(?,?) AND (timestamp,hash)<(?,?))"),
            "{sql}: {p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{sql}: {p}");
    }
    let p = plan(&archive, query::BY_HASH, [&[1u8; 32][..]]);
    assert!(p.contains("USING INDEX messages_hash (hash=?)"), "{p}");
}

/// Retention and the caps walk the `(received, id, size)` index: no full table scan, no sort.
#[test]
fn purge_plans_use_the_received_index() {
    let archive = Archive::open_in_memory(ArchiveConfig::default()).unwrap();
    let p = plan(&archive, PURGE_RETENTION, [0, 5000]);
    assert!(
        p.contains("SEARCH messages USING COVERING INDEX messages_received (received<?)"),
        "{p}"
    );
    assert!(!p.contains("TEMP B-TREE"), "{p}");
    let p = plan(&archive, OLDEST_SIZES, [5000]);
    assert_eq!(p, "SCAN messages USING COVERING INDEX messages_received");
    let p = plan(&archive, PURGE_UP_TO, [0, 0]);
    assert!(p.contains("INDEX messages_received"), "{p}");
    let p = plan(&archive, PURGE_OLDEST_N, [5]);
    assert!(p.contains("messages_received"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
}

#[test]
fn page_limits() {
    let c = ArchiveConfig::default();
    assert_eq!(page_limit(&c, None), 20);
    assert_eq!(page_limit(&c, Some(0)), 20);
    assert_eq!(page_limit(&c, Some(1)), 1);
    assert_eq!(page_limit(&c, Some(100)), 100);
    assert_eq!(page_limit(&c, Some(101)), 100);
    assert_eq!(page_limit(&c, Some(u64::MAX)), 100);
    let odd = ArchiveConfig {
        max_page: 0,
        default_page: 0,
        ..ArchiveConfig::default()
    };
    assert_eq!(page_limit(&odd, None), 1);
    assert_eq!(page_limit(&odd, Some(50)), 1);
    let big = ArchiveConfig {
        max_page: u64::MAX,
        default_page: 500,
        ..ArchiveConfig::default()
    };
    assert_eq!(page_limit(&big, None), 500);
    assert_eq!(page_limit(&big, Some(u64::MAX)), usize::MAX);
}
