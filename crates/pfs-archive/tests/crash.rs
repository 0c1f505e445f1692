//! Durability of the archive with real process kills.
//!
//! `archive_survives_sigkill` re-runs this test binary as a child (`archive_crash_child`,
//! selected with `--ignored --exact` and the `PFS_ARCHIVE_CRASH_CHILD` environment variable
//! naming a directory). The child archives deterministic messages 1, 2, 3, … in a loop,
//! alternating single inserts and batches of [`BATCH`]; after each commit it appends the
//! numbers it committed to a log file and fsyncs it. The parent kills the child with
//! SIGKILL after a random 20–120 ms, [`ROUNDS`] times. After each kill it requires
//! `PRAGMA integrity_check` = `ok`, that the archive holds exactly messages `1..=c`
//! (each found by hash, byte for byte equal), and `log_last <= c <= log_last + BATCH`:
//! the log is written after the commit, so a kill between the two leaves the archive at
//! most one transaction ahead of the log, never behind (no reported commit is lost).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pfs_archive::{Archive, ArchiveConfig, StoreQueryRequest, WakuMessage};

const CHILD_ENV: &str = "PFS_ARCHIVE_CRASH_CHILD";
const PT: &str = "/waku/2/rs/16/32";
const BASE: i64 = 1_700_000_000_000_000_000;
const BATCH: u64 = 8;
const ROUNDS: usize = 12;

/// Message number `k` (k ≥ 1).
fn message(k: u64) -> WakuMessage {
    let mut payload = vec![(k % 251) as u8; 200];
    payload[..8].copy_from_slice(&k.to_be_bytes());
    WakuMessage {
        payload,
        content_topic: format!("/waku/1/0x0000000{}/rfc26", k % 3),
        timestamp: Some(BASE + k as i64),
        ..WakuMessage::default()
    }
}

/// The child process: archives until killed.
#[test]
#[ignore = "child process of archive_survives_sigkill (selected by it)"]
fn archive_crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let mut archive = Archive::open(&dir.join("archive.sqlite"), ArchiveConfig::default()).unwrap();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log"))
        .unwrap();
    let mut k = archive.len().unwrap();
    let mut single = true;
    loop {
        let ks: Vec<u64> = if single {
            vec![k + 1]
        } else {
            (k + 1..=k + BATCH).collect()
        };
        if single {
            assert!(
                archive
                    .insert(PT, &message(ks[0]), BASE + ks[0] as i64)
                    .unwrap()
            );
        } else {
            let items: Vec<_> = ks.iter().map(|&k| (PT.to_string(), message(k))).collect();
            let n = archive.insert_batch(&items, BASE + ks[0] as i64).unwrap();
            assert_eq!(n as u64, BATCH);
        }
        k += ks.len() as u64;
        let lines: String = ks.iter().map(|k| format!("{k}\n")).collect();
        log.write_all(lines.as_bytes()).unwrap();
        log.sync_data().unwrap();
        single = !single;
    }
}

/// The last complete line of the log (a kill may cut the last write short).
fn log_last(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i],
        None => "",
    };
    complete
        .lines()
        .last()
        .map(|l| l.parse().unwrap())
        .unwrap_or(0)
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Checks that the archive holds exactly messages `1..=c`, returning `c`.
fn check_contents(archive: &Archive) -> u64 {
    let c = archive.len().unwrap();
    let ks: Vec<u64> = (1..=c).collect();
    for chunk in ks.chunks(100) {
        let expected: Vec<WakuMessage> = chunk.iter().map(|&k| message(k)).collect();
        let r = archive.query(&StoreQueryRequest {
            include_data: true,
            message_hashes: expected
                .iter()
                .map(|m| pfs_transport::waku::message_hash(PT, m).to_vec())
                .collect(),
            pagination_forward: true,
            pagination_limit: Some(100),
            ..StoreQueryRequest::default()
        });
        assert_eq!(r.status_code, Some(200));
        let got: Vec<WakuMessage> = r.messages.into_iter().map(|e| e.message.unwrap()).collect();
        assert_eq!(
            got,
            expected,
            "messages {}..={}",
            chunk[0],
            chunk[chunk.len() - 1]
        );
    }
    c
}

#[test]
fn archive_survives_sigkill() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64)
        | 1;
    println!("crash test seed {seed:#x}");
    let mut previous = 0u64;
    let mut ahead = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "archive_crash_child", "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let wait_ms = 20 + xorshift(&mut seed) % 101;
        std::thread::sleep(Duration::from_millis(wait_ms));
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "child exited by itself ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let logged = log_last(dir.path());
        let path = dir.path().join("archive.sqlite");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let report: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(report, "ok", "round {round}");
        }
        let archive = Archive::open(&path, ArchiveConfig::default())
            .unwrap_or_else(|e| panic!("round {round}: reopen after kill failed: {e}"));
        let c = check_contents(&archive);
        assert!(
            logged <= c && c <= logged + BATCH,
            "round {round}: archive holds 1..={c}, log reports {logged}"
        );
        assert!(c >= previous, "round {round}: committed messages lost");
        if c > logged {
            ahead += 1;
        }
        previous = c;
        println!("round {round}: killed after {wait_ms} ms with {c} messages (log {logged})");
    }
    println!(
        "{ROUNDS} kills, {previous} messages, archive ahead of the log {ahead} times, {:?}",
        started.elapsed()
    );
    assert!(previous > 0, "the child never committed anything");
}
