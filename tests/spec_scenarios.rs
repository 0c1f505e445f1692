//! The specification's rules that status-go never implemented ("To be implemented"), each
//! over the in-memory and the SQLite store, with the default configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_protocol::clock::{DAY, HOUR};
use pfs_protocol::{Config, DeliveredKind, OutgoingKind, ReceiveError};
use pfs_scenarios::*;
use pfs_wire::{Message, pb};

fn each_store(f: impl Fn(StoreKind)) {
    for kind in STORES {
        f(kind);
    }
}

fn world(kind: StoreKind) -> World {
    World::new(kind, Config::default())
}

fn decode(msg: &pfs_protocol::Outgoing) -> pb::ProtocolMessage {
    pb::ProtocolMessage::decode(msg.bytes.as_slice()).unwrap()
}

#[test]
fn spec_suite_between_pfs_peers_and_status_go_suite_otherwise() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "a");
        let mut bob = w.device(&b, "b");
        alice.learn(&mut bob);
        let m = alice.send(&bob.id(), "x25519 please");
        let key_len = decode(&m)
            .entry("b")
            .unwrap()
            .dr_header
            .as_ref()
            .unwrap()
            .key
            .len();
        assert_eq!(
            key_len, 32,
            "pfs peers advertising protocol version 2 use the spec suite"
        );
        let d = bob.recv(&alice, &m).unwrap();
        assert_eq!(d.suite, Some(pfs_protocol::SuiteId::Spec));
        let r = bob.send(&alice.id(), "reply");
        assert_eq!(alice.recv_text(&bob, &r), "reply");
        // a status-go peer (protocol version 1) gets the status-go suite
        let mut w2 = World::new(kind, Config::status_go_compatible());
        let c = w2.new_identity();
        let mut carol = w2.device(&c, "c");
        alice.learn(&mut carol);
        let m = alice.send(&carol.id(), "secp256k1 please");
        assert_eq!(
            decode(&m)
                .entry("c")
                .unwrap()
                .dr_header
                .as_ref()
                .unwrap()
                .key
                .len(),
            33
        );
        assert_eq!(carol.recv_text(&alice, &m), "secp256k1 please");
    });
}

#[test]
fn concurrent_sessions_pick_the_same_session_on_both_sides() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "a");
        let mut bob = w.device(&b, "b");
        alice.learn(&mut bob);
        bob.learn(&mut alice);
        let a1 = alice.send(&bob.id(), "a1");
        let b1 = bob.send(&alice.id(), "b1");
        bob.recv(&alice, &a1).unwrap();
        alice.recv(&bob, &b1).unwrap();
        // both now hold two sessions; the next sends choose one by shared-secret order
        let a2 = alice.send(&bob.id(), "a2");
        let b2 = bob.send(&alice.id(), "b2");
        assert_eq!(bob.recv_text(&alice, &a2), "a2");
        assert_eq!(alice.recv_text(&bob, &b2), "b2");
        let spk_used = |m: &pfs_protocol::Outgoing| {
            let p = decode(m);
            p.direct_message[0]
                .message
                .as_ref()
                .unwrap()
                .dr_header
                .as_ref()
                .unwrap()
                .id
                .clone()
        };
        assert_eq!(
            spk_used(&a2),
            spk_used(&b2),
            "both sides send on the same session"
        );
        for dev in [&mut alice, &mut bob] {
            let s = dev.engine.sessions().unwrap();
            assert_eq!(s.len(), 2);
            assert_eq!(
                s.iter().filter(|s| s.active).count(),
                1,
                "the other is marked expired"
            );
        }
    });
}

#[test]
fn expired_sessions_decrypt_late_messages_and_are_deleted_after_14_days() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "a");
        let mut bob = w.device(&b, "b");
        alice.learn(&mut bob);
        let m1 = alice.send(&bob.id(), "one");
        let late1 = alice.send(&bob.id(), "late 1");
        let late2 = alice.send(&bob.id(), "late 2");
        bob.recv(&alice, &m1).unwrap();
        // Bob rotates; Alice re-keys on the newer bundle
        w.clock.advance(25 * HOUR);
        alice.learn(&mut bob);
        let m2 = alice.send(&bob.id(), "two");
        assert_eq!(bob.recv_text(&alice, &m2), "two");
        let s = alice.engine.sessions().unwrap();
        assert_eq!(
            s.iter().filter(|s| !s.active).count(),
            1,
            "the old session is expired"
        );
        assert!(bob.engine.sessions().unwrap().iter().any(|s| !s.active));
        // a late (mailserver) message of the expired session still decrypts
        w.clock.advance(DAY);
        assert_eq!(bob.recv_text(&alice, &late1), "late 1");
        // 14 days after expiry (and last use) the session and its keys are gone
        w.clock.advance(15 * DAY);
        alice.engine.maintain().unwrap();
        bob.engine.maintain().unwrap();
        assert_eq!(
            alice.engine.sessions().unwrap().len(),
            1,
            "deleted 14 days after expiry"
        );
        assert_eq!(bob.engine.sessions().unwrap().len(), 1);
        // late2 still carries the X3DH header; its prekey is gone with the session
        let err = bob.recv(&alice, &late2).unwrap_err();
        assert!(matches!(err, ReceiveError::UnknownSignedPreKey), "{err:?}");
        // the new session still works
        let m3 = alice.send(&bob.id(), "three");
        assert_eq!(bob.recv_text(&alice, &m3), "three");
    });
}

#[test]
fn stale_device_after_7_days() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "a");
        let mut bob1 = w.device(&b, "bob1");
        let mut bob2 = w.device(&b, "bob2");
        alice.learn(&mut bob1);
        alice.learn(&mut bob2);
        assert_eq!(alice.send(&bob1.id(), "x").targeted.len(), 2);
        // only bob1 keeps sending bundles (which do not list bob2)
        for _ in 0..8 {
            w.clock.advance(DAY);
            alice.learn(&mut bob1);
        }
        alice.engine.maintain().unwrap();
        let m = alice.send(&bob1.id(), "y");
        assert_eq!(m.targeted, ["bob1"]);
        assert!(
            alice
                .engine
                .installations()
                .unwrap()
                .iter()
                .any(|i| i.installation_id == "bob2" && i.stale)
        );
        // a fresh bundle of bob2 revives it
        alice.learn(&mut bob2);
        assert_eq!(alice.send(&bob1.id(), "z").targeted.len(), 2);
    });
}

#[test]
fn partitioned_device_replies_with_its_bundle_at_most_every_2_hours() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "a");
        let mut bob1 = w.device(&b, "bob1");
        let mut bob2 = w.device(&b, "bob2");
        alice.learn(&mut bob1);
        let m = alice.send(&bob1.id(), "hello");
        assert!(matches!(
            bob2.recv(&alice, &m),
            Err(ReceiveError::DeviceNotFound)
        ));
        let replies = bob2.engine.take_outgoing();
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].kind, OutgoingKind::BundleReply);
        // the reply carries bob2's bundle; Alice now includes bob2
        let d = alice.recv(&bob2, &replies[0]).unwrap();
        assert_eq!(d.kind, DeliveredKind::BundleOnly);
        let m2 = alice.send(&bob1.id(), "hello both");
        assert_eq!(m2.targeted.len(), 2);
        assert_eq!(bob2.recv_text(&alice, &m2), "hello both");
        // rate limit: one reply per sender per 2 hours
        let mut bob3 = w.device(&b, "bob3");
        assert!(bob3.recv(&alice, &m).is_err());
        assert_eq!(bob3.engine.take_outgoing().len(), 1);
        assert!(bob3.recv(&alice, &m2).is_err());
        assert!(
            bob3.engine.take_outgoing().is_empty(),
            "within 2 h: no second reply"
        );
        w.clock.advance(2 * HOUR + 1);
        assert!(bob3.recv(&alice, &m2).is_err());
        assert_eq!(bob3.engine.take_outgoing().len(), 1);
    });
}

#[test]
fn account_recovery_heals_through_the_bundle_reply() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "a");
        let mut bob = w.device(&b, "bob-old");
        alice.learn(&mut bob);
        let m = alice.send(&bob.id(), "before");
        bob.recv(&alice, &m).unwrap();
        // Bob loses his device and recovers his account: same identity, new installation
        let mut bob_new = w.device(&b, "bob-new");
        let m = alice.send(&bob.id(), "are you there?");
        assert!(bob_new.recv(&alice, &m).is_err());
        let reply = bob_new.engine.take_outgoing();
        assert_eq!(reply.len(), 1);
        alice.recv(&bob_new, &reply[0]).unwrap();
        let m = alice.send(&bob.id(), "welcome back");
        assert_eq!(bob_new.recv_text(&alice, &m), "welcome back");
    });
}

#[test]
fn lost_session_gets_a_bundle_reply() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "a");
        let mut bob = w.device(&b, "b");
        alice.learn(&mut bob);
        let m = alice.send(&bob.id(), "one");
        bob.recv(&alice, &m).unwrap();
        let r = bob.send(&alice.id(), "ack");
        alice.recv(&bob, &r).unwrap();
        // Bob's store is wiped (same installation id): Alice's DR message has no session
        w.clock.advance(60 * pfs_protocol::clock::SECOND);
        let mut bob_wiped = w.device(&b, "b");
        let m = alice.send(&bob.id(), "two");
        assert!(matches!(
            bob_wiped.recv(&alice, &m),
            Err(ReceiveError::SessionNotFound)
        ));
        let reply = bob_wiped.engine.take_outgoing();
        assert_eq!(reply.len(), 1);
        alice.recv(&bob_wiped, &reply[0]).unwrap();
        let m = alice.send(&bob.id(), "three");
        assert_eq!(bob_wiped.recv_text(&alice, &m), "three");
    });
}

#[test]
fn contact_request_accept_and_decline() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "a");
        let mut bob = w.device(&b, "b");
        // Alice only knows Bob's chat key: no PFS yet
        let req = alice
            .engine
            .send_contact_request(&bob.id(), b"hi, it's Alice")
            .unwrap();
        let d = bob.recv(&alice, &req[0]).unwrap();
        assert!(d.contact_request);
        assert!(!d.forward_secret);
        assert!(!d.pfs_established);
        bob.engine.decline_contact(&alice.id()).unwrap();
        let m = alice.send(&bob.id(), "please?");
        assert!(matches!(bob.recv(&alice, &m), Err(ReceiveError::Declined)));
        // only a re-sent request gets through
        let req2 = alice
            .engine
            .send_contact_request(&bob.id(), b"it's really me")
            .unwrap();
        assert!(bob.recv(&alice, &req2[0]).unwrap().contact_request);
        bob.engine.accept_contact(&alice.id()).unwrap();
        // Bob has Alice's bundle (it came with the request): his reply is forward secret
        let r = bob.send(&alice.id(), "welcome");
        assert!(r.forward_secret);
        let d = alice.recv(&bob, &r).unwrap();
        assert!(d.forward_secret && d.pfs_established);
        let m = alice.send(&bob.id(), "thanks");
        let d = bob.recv(&alice, &m).unwrap();
        assert!(!d.contact_request);
        assert!(d.pfs_established);
    });
}

#[test]
fn own_devices_get_a_copy_of_what_we_send() {
    each_store(|kind| {
        let mut w = world(kind);
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice1 = w.device(&a, "a1");
        let mut alice2 = w.device(&a, "a2");
        let mut bob = w.device(&b, "b");
        alice1.learn(&mut alice2);
        alice1.engine.enable_installation(&iid("a2")).unwrap();
        alice2.learn(&mut alice1);
        alice2.engine.enable_installation(&iid("a1")).unwrap();
        alice1.learn(&mut bob);
        let out = alice1
            .engine
            .send(&bob.id(), b"to bob and my other device")
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].kind, OutgoingKind::OwnDevicesCopy);
        assert_eq!(
            bob.recv_text(&alice1, &out[0]),
            "to bob and my other device"
        );
        assert_eq!(
            alice2.recv_text(&alice1, &out[1]),
            "to bob and my other device"
        );
        // a device limit of 3 in total
        let mut alice3 = w.device(&a, "a3");
        let mut alice4 = w.device(&a, "a4");
        alice1.learn(&mut alice3);
        alice1.learn(&mut alice4);
        alice1.engine.enable_installation(&iid("a3")).unwrap();
        assert!(alice1.engine.enable_installation(&iid("a4")).is_err());
    });
}
