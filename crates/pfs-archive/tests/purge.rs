//! The retention sweep in bounded chunks: a purge of many chunks deletes exactly what is
//! due (expected sets computed from the inserted receive times, not by the archive), and
//! a sweep stopped between chunks leaves a consistent archive that the next purge finishes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;

use common::*;
use pfs_archive::{Archive, ArchiveConfig, PurgeStep, StoreQueryRequest, WakuMessage};

const CHUNK: u64 = 7;
const N: usize = 100;

/// Message `i`, received at `received[i]`; its own timestamp is its receive time.
fn message(i: usize, received: i64) -> WakuMessage {
    let ct = [CT_A, CT_B, CT_C][i % 3];
    msg(ct, received, &(i as u32).to_be_bytes())
}

/// Receive times `T0 + k s` for a permutation `k` of `0..N` (so insertion order is not
/// receive order), every fifth one sharing its second with the previous one (ties).
fn receive_times() -> Vec<i64> {
    (0..N)
        .map(|i| {
            let k = (i * 37) % N; // 37 is coprime with 100: a permutation
            let k = if k % 5 == 1 { k - 1 } else { k };
            T0 + k as i64 * SEC
        })
        .collect()
}

fn fill(a: &mut Archive, received: &[i64]) -> Vec<[u8; 32]> {
    received
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let m = message(i, r);
            assert!(a.insert(PT, &m, r).unwrap());
            hash(PT, &m)
        })
        .collect()
}

/// Every stored hash, by hash queries for all inserted ones (nothing else can be there).
fn stored(a: &Archive, all: &[[u8; 32]]) -> BTreeSet<[u8; 32]> {
    let mut out = BTreeSet::new();
    for chunk in all.chunks(100) {
        let r = a.query(&StoreQueryRequest {
            message_hashes: chunk.iter().map(|h| h.to_vec()).collect(),
            pagination_forward: true,
            pagination_limit: Some(100),
            ..StoreQueryRequest::default()
        });
        assert_eq!(r.status_code, Some(200));
        out.extend(hashes_of(&r));
    }
    out
}

/// Hashes of the messages whose index is in `keep`.
fn subset(all: &[[u8; 32]], keep: impl Fn(usize) -> bool) -> BTreeSet<[u8; 32]> {
    (0..all.len())
        .filter(|&i| keep(i))
        .map(|i| all[i])
        .collect()
}

/// Insertion indexes in (received, insertion) order: the order the caps delete in.
fn oldest_first(received: &[i64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..received.len()).collect();
    order.sort_by_key(|&i| (received[i], i));
    order
}

fn config() -> ArchiveConfig {
    ArchiveConfig {
        purge_chunk: CHUNK,
        ..ArchiveConfig::default()
    }
}

#[test]
fn retention_over_many_chunks_deletes_exactly_what_is_due() {
    let received = receive_times();
    // Retention 60 s at T0 + 113 s: due are the messages received before T0 + 53 s.
    let cutoff = T0 + 53 * SEC;
    let mut a = Archive::open_in_memory(ArchiveConfig {
        retention_secs: 60,
        ..config()
    })
    .unwrap();
    let all = fill(&mut a, &received);
    let due = received.iter().filter(|&&r| r < cutoff).count() as u64;
    assert!(due > 5 * CHUNK, "{due} due: several chunks");
    assert_eq!(a.purge(cutoff + 60 * SEC).unwrap(), due);
    assert_eq!(a.len().unwrap(), N as u64 - due);
    assert_eq!(stored(&a, &all), subset(&all, |i| received[i] >= cutoff));
    assert_eq!(a.purge(cutoff + 60 * SEC).unwrap(), 0);
    // A message received exactly at the cutoff is kept; one second later it is due.
    assert_eq!(
        a.purge(cutoff + 61 * SEC).unwrap(),
        received.iter().filter(|&&r| r == cutoff).count() as u64
    );
}

#[test]
fn a_due_count_that_is_a_multiple_of_the_chunk_ends_with_an_empty_step() {
    // 3 * CHUNK messages, all due.
    let mut a = Archive::open_in_memory(ArchiveConfig {
        retention_secs: 1,
        ..config()
    })
    .unwrap();
    let received: Vec<i64> = (0..3 * CHUNK as i64).map(|k| T0 + k).collect();
    fill(&mut a, &received);
    let now = T0 + 100 * SEC;
    let steps: Vec<PurgeStep> = (0..4).map(|_| a.purge_step(now).unwrap()).collect();
    let full = PurgeStep {
        deleted: CHUNK,
        done: false,
    };
    let empty = PurgeStep {
        deleted: 0,
        done: true,
    };
    assert_eq!(steps, vec![full, full, full, empty]);
    assert!(a.is_empty().unwrap());
}

#[test]
fn count_cap_over_many_chunks_keeps_the_newest_received() {
    let received = receive_times();
    let keep = 20usize;
    let mut a = Archive::open_in_memory(ArchiveConfig {
        max_messages: Some(keep as u64),
        ..config()
    })
    .unwrap();
    let all = fill(&mut a, &received);
    let order = oldest_first(&received);
    assert_eq!(
        a.purge(T0 + 200 * SEC).unwrap(),
        (N - keep) as u64,
        "80 > 11 chunks"
    );
    let kept: BTreeSet<usize> = order[N - keep..].iter().copied().collect();
    assert_eq!(stored(&a, &all), subset(&all, |i| kept.contains(&i)));
}

#[test]
fn byte_cap_over_many_chunks_keeps_the_newest_received() {
    let received = receive_times();
    // Every message encodes to the same size (same topic lengths, 4-byte payloads).
    let sizes: Vec<u64> = (0..N)
        .map(|i| prost::Message::encoded_len(&message(i, received[i])) as u64)
        .collect();
    let size = sizes[0];
    assert!(sizes.iter().all(|&s| s == size));
    let keep = 33usize;
    let mut a = Archive::open_in_memory(ArchiveConfig {
        max_bytes: Some(keep as u64 * size + size / 2),
        ..config()
    })
    .unwrap();
    let all = fill(&mut a, &received);
    let order = oldest_first(&received);
    assert_eq!(a.purge(T0 + 200 * SEC).unwrap(), (N - keep) as u64);
    let kept: BTreeSet<usize> = order[N - keep..].iter().copied().collect();
    assert_eq!(stored(&a, &all), subset(&all, |i| kept.contains(&i)));
}

#[test]
fn retention_then_caps_in_one_sweep() {
    // Retention removes what is older than T0 + 30 s, then the count cap the oldest of
    // the rest down to 25.
    let received = receive_times();
    let cutoff = T0 + 30 * SEC;
    let mut a = Archive::open_in_memory(ArchiveConfig {
        retention_secs: 100,
        max_messages: Some(25),
        ..config()
    })
    .unwrap();
    let all = fill(&mut a, &received);
    assert_eq!(a.purge(cutoff + 100 * SEC).unwrap(), (N - 25) as u64);
    let order = oldest_first(&received);
    let kept: BTreeSet<usize> = order[N - 25..].iter().copied().collect();
    assert!(kept.iter().all(|&i| received[i] >= cutoff));
    assert_eq!(stored(&a, &all), subset(&all, |i| kept.contains(&i)));
}

#[test]
fn a_sweep_stopped_between_chunks_leaves_a_consistent_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.sqlite");
    let received = receive_times();
    let cutoff = T0 + 53 * SEC;
    let cfg = ArchiveConfig {
        retention_secs: 60,
        ..config()
    };
    let now = cutoff + 60 * SEC;
    let order = oldest_first(&received);
    let all = {
        let mut a = Archive::open(&path, cfg.clone()).unwrap();
        let all = fill(&mut a, &received);
        // Two chunks, then the process stops (the archive is dropped mid-sweep).
        for _ in 0..2 {
            assert_eq!(
                a.purge_step(now).unwrap(),
                PurgeStep {
                    deleted: CHUNK,
                    done: false
                }
            );
        }
        all
    };
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let report: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(report, "ok");
    }
    let mut a = Archive::open(&path, cfg).unwrap();
    // Exactly the 14 oldest received are gone; everything else answers queries.
    let gone: BTreeSet<usize> = order[..2 * CHUNK as usize].iter().copied().collect();
    assert_eq!(a.len().unwrap(), N as u64 - 2 * CHUNK);
    assert_eq!(stored(&a, &all), subset(&all, |i| !gone.contains(&i)));
    let mut q = topic_query(PT, &[CT_A, CT_B, CT_C]);
    q.pagination_limit = Some(100);
    let page = a.query(&q);
    assert_eq!(page.status_code, Some(200));
    assert_eq!(page.messages.len(), N - 2 * CHUNK as usize);
    // The next purge finishes the sweep.
    let due = received.iter().filter(|&&r| r < cutoff).count() as u64;
    assert_eq!(a.purge(now).unwrap(), due - 2 * CHUNK);
    assert_eq!(stored(&a, &all), subset(&all, |i| received[i] >= cutoff));
}
