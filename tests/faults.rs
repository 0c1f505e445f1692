//! Who is at fault: a failure of our own store while a message is decrypted is reported
//! as ours (never as the peer's), and leaves the session as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_crypto::OsRandom;
use pfs_protocol::{Config, Engine, EngineError, MessageId, ReceiveError};
use pfs_scenarios::{StoreKind, World};
use pfs_store::{SqliteOptions, SqliteStore, StoreError};

fn open_store(path: &std::path::Path) -> Box<SqliteStore> {
    Box::new(
        SqliteStore::open(
            path,
            b"faults",
            SqliteOptions::default().with_kdf_iterations(1),
        )
        .unwrap(),
    )
}

/// Bob keeps the key of a message that arrives late as a skipped key; the stored key is
/// then damaged on disk (a store failure, nothing the peer did). The late message must be
/// refused as a local store failure, not as a forged message, and the next message must
/// still decrypt.
#[test]
fn a_store_failure_in_the_skipped_key_lookup_is_ours() {
    let dir = tempfile::tempdir().unwrap();
    let bob_path = dir.path().join("bob.sqlite");
    let mut world = World::new(StoreKind::Memory, Config::default());
    let clock = world.clock.clone();
    let alice_sk = world.new_identity();
    let bob_sk = world.new_identity();
    let mut alice = world.device(&alice_sk, "alice-1").engine;
    let mut bob = world
        .device_on(open_store(&bob_path), &bob_sk, "bob-1")
        .engine;
    let alice_id = alice_sk.public_key();
    let bob_id = bob_sk.public_key();
    alice.process_bundle(&bob.own_bundle().unwrap()).unwrap();
    let m1 = alice.encrypt_for(&bob_id, b"one", false).unwrap();
    let m2 = alice.encrypt_for(&bob_id, b"two", false).unwrap();
    let m3 = alice.encrypt_for(&bob_id, b"three", false).unwrap();
    // m1 establishes the session; m3 before m2 stores m2's key as a skipped key
    assert_eq!(
        bob.decrypt(&alice_id, &m1.bytes, &MessageId::from(b"1"))
            .unwrap()
            .plaintext,
        b"one"
    );
    assert_eq!(
        bob.decrypt(&alice_id, &m3.bytes, &MessageId::from(b"3"))
            .unwrap()
            .plaintext,
        b"three"
    );
    drop(bob);

    // damage the stored key on disk (the store's lock is released with the engine)
    {
        let db = rusqlite::Connection::open(&bob_path).unwrap();
        let n: i64 = db
            .query_row("SELECT count(*) FROM skipped_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "one skipped key (m2's) is stored");
        let mut enc: Vec<u8> = db
            .query_row("SELECT message_key_enc FROM skipped_keys", [], |r| r.get(0))
            .unwrap();
        let last = enc.len() - 1;
        enc[last] ^= 0x01;
        db.execute("UPDATE skipped_keys SET message_key_enc = ?1", [&enc])
            .unwrap();
    }
    let mut bob = Engine::open(
        open_store(&bob_path),
        Box::new(clock.clone()),
        Box::new(OsRandom),
        Config::default(),
    )
    .unwrap();
    let sessions_before = format!("{:?}", bob.sessions().unwrap());
    let err = bob
        .decrypt(&alice_id, &m2.bytes, &MessageId::from(b"2"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ReceiveError::Local(EngineError::Store(StoreError::Corrupt(_)))
        ),
        "a store failure, got {err:?}"
    );
    assert!(
        !err.is_peer_fault(),
        "our store failed, not the peer: {err:?}"
    );
    assert!(
        bob.take_outgoing().is_empty(),
        "no bundle reply for our own failure"
    );
    assert_eq!(format!("{:?}", bob.sessions().unwrap()), sessions_before);
    // the session still works
    let m4 = alice.encrypt_for(&bob_id, b"four", false).unwrap();
    assert_eq!(
        bob.decrypt(&alice_id, &m4.bytes, &MessageId::from(b"4"))
            .unwrap()
            .plaintext,
        b"four"
    );
}
