//! One protocol-like transaction on the SQLite store: `put_session` (300-byte state
//! blob) + `put_skipped_keys` (one key) + commit, in WAL mode with `synchronous`
//! NORMAL and FULL, on a temporary file.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use pfs_crypto::{SecretBytes, SecretVec};
use pfs_store::{
    SessionKey, SessionRecord, SkippedKeyRecord, SqliteOptions, SqliteStore, Store, StoreKey,
    Synchronous,
};

fn session(counter: u64) -> SessionRecord {
    let mut state = vec![0x5Au8; 300];
    state[..8].copy_from_slice(&counter.to_be_bytes());
    SessionRecord {
        key: SessionKey {
            peer_identity: pfs_store::IdentityKey::from_bytes([2u8; 33]),
            id: b"bench-session".to_vec(),
        },
        peer_installation: pfs_store::InstallationId::new("bench-installation").unwrap(),
        rooted_spk: pfs_store::SignedPreKey::from_bytes([3u8; 33]),
        we_initiated: true,
        suite: pfs_store::RatchetSuite::StatusGo,
        state: SecretVec::new(state),
        shared_secret: SecretBytes::new([7u8; 32]),
        pending_x3dh_ephemeral: None,
        created_at: 1,
        last_used: counter as i64,
        expired_at: None,
    }
}

fn skipped(counter: u64) -> SkippedKeyRecord {
    SkippedKeyRecord {
        ratchet_key: vec![4u8; 33],
        n: counter as u32,
        message_key: SecretBytes::new([counter as u8; 32]),
        seq: counter,
        pending_message_id: None,
    }
}

fn open(dir: &tempfile::TempDir, sync: Synchronous) -> SqliteStore {
    let opts = SqliteOptions::default().with_synchronous(sync);
    SqliteStore::open_with_key(
        dir.path().join("bench.sqlite"),
        &StoreKey::new([9; 32]),
        opts,
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_tx_put_session_and_1_skipped_key");
    for (name, sync) in [("normal", Synchronous::Normal), ("full", Synchronous::Full)] {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(&dir, sync);
        let mut counter = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                counter += 1;
                let s = session(counter);
                let mut tx = store.begin().unwrap();
                tx.put_session(&s).unwrap();
                tx.put_skipped_keys(&s.key, &[skipped(counter)]).unwrap();
                tx.commit().unwrap();
            });
        });
    }
    // The same plus status-go's per-session FIFO cap (keep 2000 keys), on a session that
    // is at the cap, so every transaction evicts one key.
    {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(&dir, Synchronous::Normal);
        {
            let s = session(0);
            let mut tx = store.begin().unwrap();
            tx.put_session(&s).unwrap();
            let keys: Vec<_> = (1..=2000).map(skipped).collect();
            tx.put_skipped_keys(&s.key, &keys).unwrap();
            tx.commit().unwrap();
        }
        let mut counter = 2000u64;
        group.bench_function("normal_with_truncate_at_2000", |b| {
            b.iter(|| {
                counter += 1;
                let s = session(counter);
                let mut tx = store.begin().unwrap();
                tx.put_session(&s).unwrap();
                tx.put_skipped_keys(&s.key, &[skipped(counter)]).unwrap();
                tx.truncate_skipped_keys(&s.key, 2000).unwrap();
                tx.commit().unwrap();
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
