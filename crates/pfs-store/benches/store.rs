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
            peer_identity: [2u8; 33],
            id: b"bench-session".to_vec(),
        },
        peer_installation: "bench-installation".into(),
        rooted_spk: [3u8; 33],
        we_initiated: true,
        suite: 1,
        state: SecretVec::new(state),
        shared_secret: SecretBytes::new([7u8; 32]),
        pending_x3dh_ephemeral: None,
        created_at: 1,
        last_used: counter as i64,
        expired_at: None,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite_tx_put_session_and_1_skipped_key");
    for (name, sync) in [("normal", Synchronous::Normal), ("full", Synchronous::Full)] {
        let dir = tempfile::tempdir().unwrap();
        let opts = SqliteOptions::default().with_synchronous(sync);
        let mut store = SqliteStore::open_with_key(
            dir.path().join("bench.sqlite"),
            &StoreKey::new([9; 32]),
            opts,
        )
        .unwrap();
        let mut counter = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                counter += 1;
                let s = session(counter);
                let mut tx = store.begin().unwrap();
                tx.put_session(&s).unwrap();
                tx.put_skipped_keys(
                    &s.key,
                    &[SkippedKeyRecord {
                        ratchet_key: vec![4u8; 33],
                        n: (counter % 2000) as u32,
                        message_key: SecretBytes::new([counter as u8; 32]),
                        seq: counter,
                        pending_message_id: None,
                    }],
                )
                .unwrap();
                tx.truncate_skipped_keys(&s.key, 2000).unwrap();
                tx.commit().unwrap();
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
