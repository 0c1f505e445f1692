//! Engine internals: cache coherence across committed and rolled-back transactions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::maintenance::RATE_MAINTENANCE;
use super::*;
use crate::clock::ManualClock;
use pfs_crypto::OsRandom;
use pfs_store::MemoryStore;

fn engine(clock: &ManualClock, name: &str) -> (Engine, PublicKey) {
    let sk = SecretKey::generate(&mut OsRandom).unwrap();
    let e = Engine::create_with_identity(
        Box::new(MemoryStore::new()),
        Box::new(clock.clone()),
        Box::new(OsRandom),
        Config::default(),
        &IdentityKeyPair::from_secret(sk.clone()),
        InstallationId::new(name).unwrap(),
    )
    .unwrap();
    (e, sk.public_key())
}

/// A bundle built in a transaction that rolled back (here: its first signed prekey,
/// generated for a message that then failed) is never served from the in-memory
/// cache, even after later transactions commit: peers would start sessions on a
/// prekey we do not have.
#[test]
fn a_rolled_back_bundle_is_never_served() {
    let clock = ManualClock::new(1_700_000_000_000_000_000);
    let (mut alice, alice_id) = engine(&clock, "alice");
    let (mut bob, bob_id) = engine(&clock, "bob");
    // No bundle of Bob yet: a contact request goes the DH way with our bundle, then
    // fails (larger than the wire limit) after the bundle and its prekey were made.
    let too_big = vec![0u8; alice.config().wire_limits.max_message_size + 1];
    assert!(alice.send_contact_request(&bob_id, &too_big).is_err());
    // an unrelated transaction commits
    alice.process_bundle(&bob.own_bundle().unwrap()).unwrap();
    // Bob starts a session on the bundle Alice now serves: it must decrypt
    let ab = alice.own_bundle().unwrap();
    bob.process_bundle(&ab).unwrap();
    let m = bob.encrypt_for(&alice_id, b"hello", false).unwrap();
    assert!(m.forward_secret);
    let d = alice
        .decrypt(&bob_id, &m.bytes, &MessageId::from(b"m1"))
        .unwrap();
    assert_eq!(d.plaintext, b"hello");
    // and the served bundle is the committed one, stable from call to call
    assert_eq!(alice.own_bundle().unwrap(), ab);
}

/// Within one transaction a contact read sees that transaction's own write, even when
/// the committed cache holds an older state of the same contact; a rolled-back write
/// never reaches the cache.
#[test]
fn contact_state_reads_the_open_transactions_writes() {
    let clock = ManualClock::new(1_700_000_000_000_000_000);
    let (mut alice, _) = engine(&clock, "alice");
    let peer = IdentityKey::from_bytes([2u8; 33]);
    let record = |state| ContactRecord {
        identity: peer,
        state,
        name: None,
        updated_at: 1,
    };
    // a committed read caches "not a contact"
    let tx = begin(&mut alice.store, &mut alice.ctx).unwrap();
    assert_eq!(alice.ctx.contact_state(&*tx, &peer).unwrap(), None);
    commit(tx, &mut alice.ctx).unwrap();
    assert_eq!(alice.ctx.contact_states.committed(&peer), Some(&None));
    // write then read in one transaction that rolls back
    let mut tx = begin(&mut alice.store, &mut alice.ctx).unwrap();
    alice
        .ctx
        .put_contact(&mut *tx, &record(ContactState::Accepted))
        .unwrap();
    assert_eq!(
        alice.ctx.contact_state(&*tx, &peer).unwrap(),
        Some(ContactState::Accepted)
    );
    drop(tx);
    let tx = begin(&mut alice.store, &mut alice.ctx).unwrap();
    assert_eq!(alice.ctx.contact_state(&*tx, &peer).unwrap(), None);
    drop(tx);
    // committed, it is cached
    let mut tx = begin(&mut alice.store, &mut alice.ctx).unwrap();
    alice
        .ctx
        .put_contact(&mut *tx, &record(ContactState::Declined))
        .unwrap();
    commit(tx, &mut alice.ctx).unwrap();
    assert_eq!(
        alice.ctx.contact_states.committed(&peer),
        Some(&Some(ContactState::Declined))
    );
}

/// Maintenance that ran in a transaction that rolled back (a message that failed to
/// decrypt) is not remembered as done: the next transaction runs it again.
#[test]
fn rolled_back_maintenance_is_not_remembered() {
    let clock = ManualClock::new(1_700_000_000_000_000_000);
    let (mut alice, alice_id) = engine(&clock, "alice");
    let (mut bob, bob_id) = engine(&clock, "bob");
    alice.process_bundle(&bob.own_bundle().unwrap()).unwrap();
    bob.process_bundle(&alice.own_bundle().unwrap()).unwrap();
    let m = alice.encrypt_for(&bob_id, b"one", false).unwrap();
    bob.decrypt(&alice_id, &m.bytes, &MessageId::from(b"1"))
        .unwrap();
    let interval = bob.config().maintenance_interval_ns.unwrap();
    clock.advance(interval + 1);
    // a tampered message: maintenance runs in its transaction, which rolls back
    let two = alice.encrypt_for(&bob_id, b"two", false).unwrap().bytes;
    let mut msg = pfs_wire::decode_protocol_message(&two, &Config::default().wire_limits).unwrap();
    let entry = msg.direct_message[0].message.as_mut().unwrap();
    entry.payload[0] ^= 1;
    let bad = msg.encode_to_vec();
    assert!(matches!(
        bob.decrypt(&alice_id, &bad, &MessageId::from(b"2")),
        Err(ReceiveError::Ratchet(_))
    ));
    // a transaction without maintenance commits: still not done
    bob.process_bundle(&alice.own_bundle().unwrap()).unwrap();
    assert_eq!(
        bob.ctx.maintenance.committed(&()).copied(),
        Some(1_700_000_000_000_000_000)
    );
    let m = alice.encrypt_for(&bob_id, b"three", false).unwrap();
    bob.decrypt(&alice_id, &m.bytes, &MessageId::from(b"3"))
        .unwrap();
    assert_eq!(
        bob.ctx.maintenance.committed(&()).copied(),
        Some(1_700_000_000_000_000_000 + interval + 1)
    );
    let tx = bob.store.begin().unwrap();
    assert_eq!(
        tx.rate_limit(RATE_MAINTENANCE, b"").unwrap(),
        bob.ctx.maintenance.committed(&()).copied()
    );
}

/// A ratchet message whose sending installation id is empty (or over-long) cannot name a
/// session: refused as the peer's bad header, nothing stored; the same message with its
/// id intact then decrypts. A public message needs no id (`sender_installation` None).
#[test]
fn a_message_without_a_valid_installation_id_is_refused_and_changes_nothing() {
    let clock = ManualClock::new(1_700_000_000_000_000_000);
    let (mut alice, alice_id) = engine(&clock, "alice");
    let (mut bob, bob_id) = engine(&clock, "bob");
    alice.process_bundle(&bob.own_bundle().unwrap()).unwrap();
    let m = alice.encrypt_for(&bob_id, b"hi", false).unwrap();
    let original = pb::ProtocolMessage::decode(m.bytes.as_slice()).unwrap();
    for bad in [String::new(), "x".repeat(InstallationId::MAX_LEN + 1)] {
        let mut msg = original.clone();
        msg.installation_id = bad;
        let err = bob
            .decrypt(&alice_id, &msg.encode_to_vec(), &MessageId::from(b"bad"))
            .unwrap_err();
        assert!(
            matches!(
                err,
                ReceiveError::InvalidHeader(_) | ReceiveError::Malformed(_)
            ),
            "{err:?}"
        );
        assert!(err.is_peer_fault(), "{err:?}");
        assert!(bob.sessions().unwrap().is_empty());
    }
    let d = bob
        .decrypt(&alice_id, &m.bytes, &MessageId::from(b"good"))
        .unwrap();
    assert_eq!(d.plaintext, b"hi");
    assert_eq!(d.sender_installation, Some(alice.installation().clone()));

    let public = pb::ProtocolMessage {
        public_message: b"to everyone".to_vec(),
        ..Default::default()
    };
    let d = bob
        .decrypt(&alice_id, &public.encode_to_vec(), &MessageId::from(b"pub"))
        .unwrap();
    assert_eq!(d.kind, DeliveredKind::Public);
    assert_eq!(d.sender_installation, None);
}
