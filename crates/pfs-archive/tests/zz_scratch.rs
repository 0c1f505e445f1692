#![allow(clippy::unwrap_used, missing_docs)]
use rusqlite::{Connection, params};
use std::time::Instant;

fn run(name: &str, n: u64, pragmas: &str, drop_hash: bool, cache_kb: i64) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("a.sqlite")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", -cache_kb).unwrap();
    conn.execute_batch(pragmas).unwrap();
    conn.execute_batch(include_str!("../migrations/0001_initial.sql"))
        .unwrap();
    if drop_hash {
        conn.execute_batch("DROP INDEX messages_hash; CREATE UNIQUE INDEX mt ON messages(timestamp, hash); DROP INDEX messages_time;").unwrap();
    }
    let t = Instant::now();
    let mut i = 0u64;
    let mut conn = conn;
    while i < n {
        let tx = conn.transaction().unwrap();
        for k in i..i + 1000 {
            let mut payload = vec![(k % 251) as u8; 330];
            payload[..8].copy_from_slice(&k.to_be_bytes());
            let h: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&payload).into();
            let mut st = tx.prepare_cached("INSERT INTO messages (hash, pubsub_topic, content_topic, timestamp, received, size, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING").unwrap();
            st.execute(params![
                &h[..],
                "/waku/2/rs/16/32",
                format!("/waku/1/0x{:08x}/rfc26", k % 100),
                1_700_000_000_000_000_000i64 + k as i64 * 10_000,
                1_700_000_000_000_000_000i64 + k as i64 * 10_000,
                360,
                payload
            ])
            .unwrap();
        }
        tx.commit().unwrap();
        i += 1000;
    }
    let e = t.elapsed();
    println!("{name}: {:.0}/s", n as f64 / e.as_secs_f64());
}

#[test]
#[ignore]
fn scratch() {
    let n: u64 = std::env::var("N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300_000);
    run(
        "ckpt10000",
        n,
        "PRAGMA wal_autocheckpoint=10000;",
        false,
        32768,
    );
    run(
        "ckpt30000",
        n,
        "PRAGMA wal_autocheckpoint=30000;",
        false,
        32768,
    );
    run(
        "ckpt10000+c128",
        n,
        "PRAGMA wal_autocheckpoint=10000;",
        false,
        131072,
    );
}
