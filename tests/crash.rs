//! Crash injection at the engine level: Bob's SQLite-backed engine runs in a child process
//! (this test binary re-invoked with `PFS_CRASH_DIR` set) that receives Alice's messages,
//! writes each plaintext to its own application log, confirms it (two-phase mode) and
//! replies, in a loop. The parent kills it with SIGKILL at random moments about 20 times,
//! restarting it each time, while Alice keeps sending and reading the replies.
//!
//! Checked at the end: every message Alice sent is in Bob's log exactly once (nothing lost,
//! nothing doubled: a message decrypted but not yet logged when the process died is
//! decrypted again after the restart, because its key is only deleted on confirmation);
//! every reply Bob wrote decrypts at Alice; and no (ratchet key, n) appears twice among
//! Bob's replies (no message key reused after a crash).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{OsRandom, RandomSource};
use pfs_protocol::config::ConfirmMode;
use pfs_protocol::{Config, Engine, ManualClock, SystemClock};
use pfs_store::{MemoryStore, SqliteOptions, SqliteStore};
use pfs_wire::{Message, pb};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const BOB_SECRET: [u8; 32] = [0xb0; 32];
const ALICE_SECRET: [u8; 32] = [0xa1; 32];
const KILLS: usize = 20;
const PER_ROUND: usize = 5;

fn config() -> Config {
    Config {
        confirm_mode: ConfirmMode::TwoPhase,
        ..Config::default()
    }
}

fn bob_store(dir: &Path) -> SqliteStore {
    SqliteStore::open(
        dir.join("bob.sqlite"),
        b"crash test",
        SqliteOptions::default().with_kdf_iterations(1),
    )
    .unwrap()
}

/// Writes `data` to `path` atomically (temporary file + rename).
fn write_atomic(path: &Path, data: &[u8]) {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn inbox(dir: &Path, i: usize) -> PathBuf {
    dir.join("in").join(format!("{i:06}"))
}

fn outbox(dir: &Path, i: usize) -> PathBuf {
    dir.join("out").join(format!("{i:06}"))
}

/// Bob's application log: one line per message, `index<TAB>plaintext`.
fn read_log(dir: &Path) -> Vec<(usize, String)> {
    let Ok(text) = std::fs::read_to_string(dir.join("app.log")) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let (i, t) = l.split_once('\t')?;
            Some((i.parse().ok()?, t.to_owned()))
        })
        .collect()
}

/// The child: Bob's "app". Runs until `done` exists and every inbox message is logged.
fn child(dir: &Path) {
    let alice = SecretKey::from_bytes(&ALICE_SECRET).unwrap().public_key();
    let mut bob = Engine::open(
        Box::new(bob_store(dir)),
        Box::new(SystemClock),
        Box::new(OsRandom),
        config(),
    )
    .unwrap();
    let mut logged: HashSet<usize> = read_log(dir).into_iter().map(|(i, _)| i).collect();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("app.log"))
        .unwrap();
    let mut i = 0;
    loop {
        let path = inbox(dir, i);
        let Ok(bytes) = std::fs::read(&path) else {
            if dir.join("done").exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let id = (i as u64).to_le_bytes();
        if !logged.contains(&i) {
            // decrypt (the key stays stored until confirmed), log durably, then confirm
            let d = bob.decrypt(&alice, &bytes, &id).unwrap();
            let text = String::from_utf8(d.plaintext).unwrap();
            writeln!(log, "{i}\t{text}").unwrap();
            log.sync_data().unwrap();
            logged.insert(i);
        }
        bob.confirm(&id).unwrap();
        if !outbox(dir, i).exists() {
            let out = bob
                .encrypt_for(&alice, format!("reply {i}").as_bytes(), false)
                .unwrap();
            write_atomic(&outbox(dir, i), &out.bytes);
        }
        i += 1;
    }
}

#[test]
#[ignore = "the child process of crash_injection (run by it, with PFS_CRASH_DIR set)"]
fn crash_child() {
    if let Some(dir) = std::env::var_os("PFS_CRASH_DIR") {
        child(Path::new(&dir));
    }
}

fn spawn(dir: &Path) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PFS_CRASH_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap()
}

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    OsRandom.fill_bytes(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}

/// Decodes every DR header (ratchet key, n) of an encoded `ProtocolMessage`.
fn dr_headers(bytes: &[u8]) -> Vec<(Vec<u8>, u32)> {
    let pm = pb::ProtocolMessage::decode(bytes).unwrap();
    pm.direct_message
        .iter()
        .filter_map(|e| e.message.as_ref()?.dr_header.as_ref())
        .map(|h| (h.key.clone(), h.n))
        .collect()
}

#[test]
fn crash_injection_loses_nothing_and_reuses_no_key() {
    let dir = std::env::temp_dir().join(format!("pfs-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let started = Instant::now();

    // Bob's account is created once; Alice learns his bundle (a contact code).
    let bob_bundle = {
        let mut bob = Engine::create_with_identity(
            Box::new(bob_store(&dir)),
            Box::new(SystemClock),
            Box::new(OsRandom),
            config(),
            &BOB_SECRET,
            "bob-1",
        )
        .unwrap();
        bob.own_bundle().unwrap()
    };
    let bob_id: PublicKey = SecretKey::from_bytes(&BOB_SECRET).unwrap().public_key();
    let mut alice = Engine::create_with_identity(
        Box::new(MemoryStore::new()),
        Box::new(ManualClock::new(1_700_000_000_000_000_000)),
        Box::new(OsRandom),
        Config::default(),
        &ALICE_SECRET,
        "alice-1",
    )
    .unwrap();
    alice.process_bundle(&bob_bundle).unwrap();

    let mut sent = 0;
    // rounds in which the kill came before Bob had handled everything (a kill mid-work)
    let mut interrupted = 0;
    let mut replies: BTreeMap<usize, String> = BTreeMap::new();
    let mut reply_keys = HashSet::new();
    let mut read_replies = |alice: &mut Engine, replies: &mut BTreeMap<usize, String>| {
        for i in 0..sent_upper_bound() {
            if replies.contains_key(&i) {
                continue;
            }
            let Ok(bytes) = std::fs::read(outbox(&dir, i)) else {
                continue;
            };
            for k in dr_headers(&bytes) {
                assert!(
                    reply_keys.insert(k),
                    "Bob reused a message key in reply {i}"
                );
            }
            let d = alice.decrypt(&bob_id, &bytes, &[]).unwrap();
            replies.insert(i, String::from_utf8(d.plaintext).unwrap());
        }
    };
    for _ in 0..KILLS {
        for _ in 0..PER_ROUND {
            let out = alice
                .encrypt_for(&bob_id, format!("message {sent}").as_bytes(), false)
                .unwrap();
            write_atomic(&inbox(&dir, sent), &out.bytes);
            sent += 1;
        }
        let mut child = spawn(&dir);
        std::thread::sleep(Duration::from_millis(5 + random_below(60)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        read_replies(&mut alice, &mut replies);
        if read_log(&dir).len() < sent || replies.len() < sent {
            interrupted += 1;
        }
    }
    // let Bob finish
    write_atomic(&dir.join("done"), b"");
    let status = spawn(&dir).wait().unwrap();
    assert!(status.success(), "the final child run failed");
    read_replies(&mut alice, &mut replies);

    let log = read_log(&dir);
    let mut seen = BTreeMap::new();
    for (i, text) in &log {
        assert!(
            seen.insert(*i, text.clone()).is_none(),
            "message {i} logged twice"
        );
    }
    assert_eq!(seen.len(), sent, "messages lost: {seen:?}");
    for (i, text) in &seen {
        assert_eq!(*text, format!("message {i}"));
    }
    assert_eq!(replies.len(), sent);
    for (i, text) in &replies {
        assert_eq!(*text, format!("reply {i}"));
    }
    eprintln!(
        "crash injection: {KILLS} kills ({interrupted} before Bob caught up), {sent} messages, {} replies, {} s",
        replies.len(),
        started.elapsed().as_secs_f32()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn sent_upper_bound() -> usize {
    KILLS * PER_ROUND
}
