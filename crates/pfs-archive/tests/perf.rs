//! A quick sanity measurement, not a benchmark (those come later with criterion):
//! `cargo test -p pfs-archive --release --test perf -- --ignored --nocapture`
//! (`PFS_ARCHIVE_PERF_N=1000000` for a million messages; default 100 000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use pfs_archive::{Archive, ArchiveConfig, StoreQueryRequest, WakuMessage};

const PT: &str = "/waku/2/rs/16/32";
const T0: i64 = 1_700_000_000_000_000_000;
const TOPICS: u64 = 100;
/// 10 µs between messages.
const STEP: i64 = 10_000;

fn content_topic(j: u64) -> String {
    format!("/waku/1/0x{j:08x}/rfc26")
}

fn message(i: u64) -> WakuMessage {
    let mut payload = vec![(i % 251) as u8; 300];
    payload[..8].copy_from_slice(&i.to_be_bytes());
    WakuMessage {
        payload,
        content_topic: content_topic(i % TOPICS),
        version: Some(1),
        timestamp: Some(T0 + i as i64 * STEP),
        ..WakuMessage::default()
    }
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    let p50 = v[v.len() / 2];
    let p99 = v[v.len() * 99 / 100];
    format!("mean {mean:?}, p50 {p50:?}, p99 {p99:?}")
}

#[test]
#[ignore = "measurement; run with --ignored --nocapture (preferably --release)"]
fn ingest_and_query_rates() {
    let n: u64 = std::env::var("PFS_ARCHIVE_PERF_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.sqlite");
    let mut archive = Archive::open(&path, ArchiveConfig::default()).unwrap();

    // Batched ingest, 1000 per transaction.
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        let end = (i + 1000).min(n);
        let items: Vec<_> = (i..end).map(|k| (PT.to_string(), message(k))).collect();
        let received = T0 + i as i64 * STEP;
        assert_eq!(
            archive.insert_batch(&items, received).unwrap() as u64,
            end - i
        );
        i = end;
    }
    let batch_time = t.elapsed();
    println!(
        "insert_batch: {n} messages in {batch_time:?} = {:.0} messages/s",
        n as f64 / batch_time.as_secs_f64()
    );

    // Single inserts, one transaction each, on top.
    let singles = 5_000u64;
    let t = Instant::now();
    for k in n..n + singles {
        assert!(
            archive
                .insert(PT, &message(k), T0 + k as i64 * STEP)
                .unwrap()
        );
    }
    let single_time = t.elapsed();
    println!(
        "insert: {singles} messages in {single_time:?} = {:.0} messages/s",
        singles as f64 / single_time.as_secs_f64()
    );
    let total = n + singles;
    assert_eq!(archive.len().unwrap(), total);
    let wal = std::fs::metadata(dir.path().join("archive.sqlite-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    let db = std::fs::metadata(&path).unwrap().len();
    println!(
        "files: database {:.1} MiB + WAL {:.1} MiB (not checkpointed yet)",
        db as f64 / 1048576.0,
        wal as f64 / 1048576.0,
    );

    // One (pubsub, content topic) and a time range, 20 rows, at random places.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let span = total as i64 * STEP;
    for include_data in [true, false] {
        for forward in [true, false] {
            let mut times = Vec::new();
            for _ in 0..2000 {
                let j = next() % TOPICS;
                // A range holding ~40 of this topic's messages; the page takes 20.
                let start = T0 + (next() % (span as u64 / 2)) as i64;
                let q = StoreQueryRequest {
                    request_id: "perf".into(),
                    include_data,
                    pubsub_topic: Some(PT.into()),
                    content_topics: vec![content_topic(j)],
                    time_start: Some(start),
                    time_end: Some(start + 40 * TOPICS as i64 * STEP),
                    pagination_forward: forward,
                    ..StoreQueryRequest::default()
                };
                let t = Instant::now();
                let r = archive.query(&q);
                times.push(t.elapsed());
                assert_eq!(r.status_code, Some(200));
                assert_eq!(r.messages.len(), 20);
            }
            println!(
                "query 1 topic + time range, 20 rows, include_data={include_data}, forward={forward}: {}",
                stats(times)
            );
        }
    }

    // Ten content topics at once (status-go batches by 10), backward, 20 rows.
    let mut times = Vec::new();
    for _ in 0..1000 {
        let first = next() % (TOPICS - 10);
        let q = StoreQueryRequest {
            include_data: true,
            pubsub_topic: Some(PT.into()),
            content_topics: (first..first + 10).map(content_topic).collect(),
            ..StoreQueryRequest::default()
        };
        let t = Instant::now();
        let r = archive.query(&q);
        times.push(t.elapsed());
        assert_eq!(r.messages.len(), 20);
    }
    println!("query 10 topics, no time range, 20 rows: {}", stats(times));

    // The js loop over one whole topic, backward, pages of 100.
    let t = Instant::now();
    let mut cursor = None;
    let mut seen = 0u64;
    let mut pages = 0;
    loop {
        let r = archive.query(&StoreQueryRequest {
            include_data: true,
            pubsub_topic: Some(PT.into()),
            content_topics: vec![content_topic(7)],
            pagination_cursor: cursor,
            pagination_limit: Some(100),
            ..StoreQueryRequest::default()
        });
        pages += 1;
        if r.messages.is_empty() {
            break;
        }
        seen += r.messages.len() as u64;
        cursor = r.messages[0].message_hash.clone();
    }
    let walk = t.elapsed();
    assert_eq!(seen, total / TOPICS + u64::from(total % TOPICS > 7));
    println!(
        "js loop over one topic: {seen} messages in {pages} pages, {walk:?} ({:?}/page)",
        walk / pages
    );
}
