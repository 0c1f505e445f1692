//! The status-go encryption test suite, ported: each scenario runs over the in-memory and
//! the SQLite store, with the status-go compatible configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_protocol::{Config, ReceiveError};
use pfs_scenarios::*;
use pfs_wire::{Message, pb};

fn decode(msg: &pfs_protocol::Outgoing) -> pb::ProtocolMessage {
    pb::ProtocolMessage::decode(msg.bytes.as_slice()).unwrap()
}

fn each_store(f: impl Fn(StoreKind)) {
    for kind in STORES {
        f(kind);
    }
}

fn world(kind: StoreKind) -> World {
    World::new(kind, Config::status_go_compatible())
}

#[test]
fn encrypt_payload_no_bundle() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        let m1 = alice.send(&bob.id(), "hello");
        let m2 = alice.send(&bob.id(), "hello");
        assert!(!m1.forward_secret);
        let (p1, p2) = (decode(&m1), decode(&m2));
        assert_eq!(p1.direct_message.len(), 1);
        assert_eq!(p1.direct_message[0].installation_id, "none");
        let e1 = p1.entry("none").unwrap();
        let e2 = p2.entry("none").unwrap();
        assert_ne!(
            e1.dh_header.as_ref().unwrap().key,
            e2.dh_header.as_ref().unwrap().key
        );
        assert_ne!(e1.payload, e2.payload);
        let d = bob.recv(&alice, &m1).unwrap();
        assert_eq!(d.plaintext, b"hello");
        assert!(!d.forward_secret);
    });
}

#[test]
fn encrypt_payload_bundle() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        let bob_spk = bob
            .engine
            .own_bundle()
            .unwrap()
            .signed_pre_key("2")
            .unwrap()
            .signed_pre_key
            .clone();
        let m = alice.send(&bob.id(), "hello");
        assert!(m.forward_secret);
        let p = decode(&m);
        let e = p.entry("2").unwrap();
        assert_eq!(e.x3dh_header.as_ref().unwrap().id, bob_spk);
        let dr = e.dr_header.as_ref().unwrap();
        assert_eq!(dr.id, bob_spk);
        assert_eq!((dr.n, dr.pn), (0, 0));
        assert_eq!(bob.recv_text(&alice, &m), "hello");
    });
}

#[test]
fn consequent_messages_bundle() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        let _m1 = alice.send(&bob.id(), "first");
        let m2 = alice.send(&bob.id(), "second");
        let p = decode(&m2);
        let e = p.entry("2").unwrap();
        assert!(
            e.x3dh_header.is_some(),
            "the X3DH header repeats until Bob answers"
        );
        assert_eq!(e.dr_header.as_ref().unwrap().n, 1);
        // Bob decrypts only the second one
        assert_eq!(bob.recv_text(&alice, &m2), "second");
    });
}

#[test]
fn conversation() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        let m1 = alice.send(&bob.id(), "hi bob");
        assert_eq!(bob.recv_text(&alice, &m1), "hi bob");
        let r1 = bob.send(&alice.id(), "hi alice");
        assert!(decode(&r1).entry("1").unwrap().x3dh_header.is_none());
        assert_eq!(alice.recv_text(&bob, &r1), "hi alice");
        let m2 = alice.send(&bob.id(), "how are you");
        let p = decode(&m2);
        let e = p.entry("2").unwrap();
        assert!(e.x3dh_header.is_none(), "dropped after reading Bob's reply");
        let dr = e.dr_header.as_ref().unwrap();
        assert_eq!((dr.n, dr.pn), (0, 1));
        assert_eq!(bob.recv_text(&alice, &m2), "how are you");
    });
}

/// Alice sends `n` messages; returns them.
fn burst(
    alice: &mut Device,
    to: &pfs_crypto::secp256k1::PublicKey,
    n: usize,
) -> Vec<pfs_protocol::Outgoing> {
    (0..n).map(|i| alice.send(to, &format!("m{i}"))).collect()
}

#[test]
fn max_skip_keys() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        let msgs = burst(&mut alice, &bob.id(), 1001);
        // skipping exactly MaxSkip (1000) keys works
        assert_eq!(bob.recv_text(&alice, &msgs[1000]), "m1000");
        // and every skipped message still decrypts
        assert_eq!(bob.recv_text(&alice, &msgs[0]), "m0");
        assert_eq!(bob.recv_text(&alice, &msgs[999]), "m999");
    });
}

#[test]
fn max_skip_keys_error() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        let msgs = burst(&mut alice, &bob.id(), 1002);
        // MaxSkip + 1 is refused, and nothing is stored: the first message still decrypts
        let err = bob.recv(&alice, &msgs[1001]).unwrap_err();
        assert!(matches!(err, ReceiveError::Ratchet(_)), "{err:?}");
        assert_eq!(bob.recv_text(&alice, &msgs[0]), "m0");
    });
}

fn small_limits() -> Config {
    let mut c = Config::status_go_compatible();
    c.ratchet_limits.max_skip = 10;
    c.ratchet_limits.max_keys_per_session = 20;
    c.ratchet_limits.max_keep = 30;
    c
}

/// Bob skips `gap` keys in a fresh chain of Alice's, then answers so that Alice ratchets.
fn gap_round(alice: &mut Device, bob: &mut Device, gap: usize) -> Vec<pfs_protocol::Outgoing> {
    let msgs = burst(alice, &bob.id(), gap + 1);
    bob.recv(alice, &msgs[gap]).unwrap();
    let r = bob.send(&alice.id(), "ack");
    alice.recv(bob, &r).unwrap();
    msgs
}

#[test]
fn max_message_keys_per_session() {
    each_store(|kind| {
        let mut w = World::new(kind, small_limits());
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        let round1 = gap_round(&mut alice, &mut bob, 10); // 10 skipped keys
        let _round2 = gap_round(&mut alice, &mut bob, 10); // 20 stored keys (+ used ones)
        let _round3 = gap_round(&mut alice, &mut bob, 10); // over the cap of 20: the oldest go
        assert!(
            bob.recv(&alice, &round1[0]).is_err(),
            "the oldest skipped key was dropped"
        );
        // the newest keys of the third round are kept
        assert!(
            bob.engine
                .sessions()
                .unwrap()
                .iter()
                .all(|s| s.skipped_keys <= 20)
        );
    });
}

#[test]
fn max_keep() {
    each_store(|kind| {
        let mut c = small_limits();
        c.ratchet_limits.max_keys_per_session = 1000;
        let mut w = World::new(kind, c);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        let round1 = gap_round(&mut alice, &mut bob, 10);
        for _ in 0..2 {
            gap_round(&mut alice, &mut bob, 10);
        }
        // keys_count passed MaxKeep (30): the first keys are deleted by age
        assert!(bob.recv(&alice, &round1[0]).is_err());
    });
}

#[test]
fn concurrent_bundles() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        bob.learn(&mut alice);
        let a1 = alice.send(&bob.id(), "a1");
        let b1 = bob.send(&alice.id(), "b1");
        let a2 = alice.send(&bob.id(), "a2");
        let b2 = bob.send(&alice.id(), "b2");
        assert_eq!(bob.recv_text(&alice, &a1), "a1");
        assert_eq!(alice.recv_text(&bob, &b1), "b1");
        assert_eq!(bob.recv_text(&alice, &a2), "a2");
        assert_eq!(alice.recv_text(&bob, &b2), "b2");
    });
}

#[test]
fn bundle_not_existing() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut old_bob = w.device(&b, "2");
        alice.learn(&mut old_bob);
        // Bob's store never held the prekey Alice used
        let mut bob = w.device(&b, "2");
        let m = alice.send(&bob.id(), "hello");
        let err = bob.recv(&alice, &m).unwrap_err();
        assert!(matches!(err, ReceiveError::UnknownSignedPreKey), "{err:?}");
    });
}

#[test]
fn device_not_included() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob2 = w.device(&b, "bob2");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob2);
        let m = alice.send(&bob.id(), "for bob2 only");
        let err = bob.recv(&alice, &m).unwrap_err();
        assert!(matches!(err, ReceiveError::DeviceNotFound), "{err:?}");
    });
}

#[test]
fn refreshed_bundle() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        let v1 = bob.engine.own_bundle().unwrap();
        alice.engine.process_bundle(&v1).unwrap();
        let m1 = alice.send(&bob.id(), "one");
        assert_eq!(bob.recv_text(&alice, &m1), "one");
        w.clock.advance(25 * pfs_protocol::clock::HOUR);
        let v2 = bob.engine.own_bundle().unwrap();
        let spk1 = v1.signed_pre_key("2").unwrap();
        let spk2 = v2.signed_pre_key("2").unwrap();
        assert_eq!((spk1.version, spk2.version), (1, 2));
        assert_ne!(spk1.signed_pre_key, spk2.signed_pre_key);
        alice.engine.process_bundle(&v2).unwrap();
        let m2 = alice.send(&bob.id(), "two");
        let p = decode(&m2);
        assert_eq!(
            p.entry("2").unwrap().x3dh_header.as_ref().unwrap().id,
            spk2.signed_pre_key
        );
        assert_eq!(bob.recv_text(&alice, &m2), "two");
    });
}

#[test]
fn message_confirmation() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "1");
        let mut bob = w.device(&b, "2");
        alice.learn(&mut bob);
        let m = alice.send(&bob.id(), "keep me");
        assert_eq!(bob.recv_text(&alice, &m), "keep me");
        // two-phase: a duplicate still decrypts until the application confirms
        assert_eq!(bob.recv_text(&alice, &m), "keep me");
        bob.engine.confirm(&message_id(&m)).unwrap();
        assert!(bob.recv(&alice, &m).is_err());
    });
}

#[test]
fn process_public_bundle_out_of_order() {
    each_store(|kind| {
        let mut w = world(kind);
        let a = w.new_identity();
        let mut alice1 = w.device(&a, "alice1");
        let mut alice2 = w.device(&a, "alice2");
        // alice1 learns alice2 before creating its own bundle
        alice1.learn(&mut alice2);
        alice1.engine.enable_installation(&iid("alice2")).unwrap();
        let own = alice1.engine.own_bundle().unwrap();
        assert!(own.signed_pre_key("alice2").is_some());
        assert!(own.signed_pre_key("alice1").is_some());
    });
}

#[test]
fn max_devices() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut bob = w.device(&b, "bob");
        let mut alices: Vec<Device> = (1..=4)
            .map(|i| w.device(&a, &format!("alice{i}")))
            .collect();
        for d in alices.iter_mut() {
            w.clock.advance(1_000);
            bob.learn(d);
        }
        let m = bob.send(&alices[0].id(), "to the three newest");
        let p = decode(&m);
        let mut ids: Vec<_> = p
            .direct_message
            .iter()
            .map(|e| e.installation_id.clone())
            .collect();
        ids.sort();
        assert_eq!(ids, ["alice2", "alice3", "alice4"]);
        let err = alices[0].recv(&bob, &m).unwrap_err();
        assert!(matches!(err, ReceiveError::DeviceNotFound));
    });
}

#[test]
fn max_devices_refreshed_bundle() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut bob = w.device(&b, "bob");
        let mut alices: Vec<Device> = (1..=4)
            .map(|i| w.device(&a, &format!("alice{i}")))
            .collect();
        for d in alices.iter_mut() {
            w.clock.advance(1_000);
            bob.learn(d);
        }
        // alice1 writes with a fresh bundle: it becomes the most recent, alice2 drops out
        w.clock.advance(1_000);
        let hello = alices[0].send(&bob.id(), "I am back");
        let a1 = &alices[0];
        assert_eq!(bob.recv_text(a1, &hello), "I am back");
        let m = bob.send(&alices[0].id(), "hi");
        let p = decode(&m);
        let mut ids: Vec<_> = p
            .direct_message
            .iter()
            .map(|e| e.installation_id.clone())
            .collect();
        ids.sort();
        assert_eq!(ids, ["alice1", "alice3", "alice4"]);
    });
}
