//! Managing contacts and sessions after the fact (issue 20): removing a contact, blocking
//! and unblocking someone, resetting the sessions with a peer — each over the in-memory
//! and the SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_protocol::{Config, EngineError, OutgoingKind, ReceiveError};
use pfs_scenarios::*;
use pfs_store::ContactState;

fn each_store(f: impl Fn(StoreKind)) {
    for kind in STORES {
        f(kind);
    }
}

fn state(d: &mut Device, of: &Device) -> Option<ContactState> {
    let id = of.id().to_compressed();
    d.engine
        .contacts()
        .unwrap()
        .into_iter()
        .find(|c| c.identity == id)
        .map(|c| c.state)
}

fn sessions_with(d: &mut Device, peer: &Device) -> usize {
    let id = peer.id();
    d.engine
        .sessions()
        .unwrap()
        .iter()
        .filter(|s| s.peer == id)
        .count()
}

/// Alice and Bob, each a contact of the other, with one session both ways.
fn talking(w: &mut World) -> (Device, Device) {
    let (a, b) = (w.new_identity(), w.new_identity());
    let mut alice = w.device(&a, "a");
    let mut bob = w.device(&b, "b");
    alice.learn(&mut bob);
    alice
        .engine
        .add_contact_key(&bob.id(), Some("Bob"))
        .unwrap();
    bob.engine
        .add_contact_key(&alice.id(), Some("Alice"))
        .unwrap();
    let m = alice.send(&bob.id(), "hello");
    assert!(m.forward_secret);
    assert_eq!(bob.recv_text(&alice, &m), "hello");
    let r = bob.send(&alice.id(), "hi");
    assert_eq!(alice.recv_text(&bob, &r), "hi");
    (alice, bob)
}

#[test]
fn removing_a_contact_forgets_it_and_keeps_its_sessions() {
    each_store(|kind| {
        let mut w = World::new(kind, Config::default());
        let (mut alice, mut bob) = talking(&mut w);
        assert_eq!(state(&mut bob, &alice), Some(ContactState::Added));
        assert!(bob.engine.remove_contact(&alice.id()).unwrap());
        assert_eq!(state(&mut bob, &alice), None);
        assert!(bob.engine.contacts().unwrap().is_empty());
        // a second removal finds nothing
        assert!(!bob.engine.remove_contact(&alice.id()).unwrap());
        // the session is kept: her next message is read, forward secret, as a request
        assert_eq!(sessions_with(&mut bob, &alice), 1);
        let m = alice.send(&bob.id(), "still there?");
        let d = bob.recv(&alice, &m).unwrap();
        assert_eq!(d.plaintext, b"still there?");
        assert!(d.forward_secret);
        assert!(d.contact_request);
        assert_eq!(state(&mut bob, &alice), Some(ContactState::RequestReceived));
        let name = bob.engine.contacts().unwrap()[0].name.clone();
        assert_eq!(name, None, "the name was forgotten");
        // removed again (its cached state goes too): the next message is a request again
        assert!(bob.engine.remove_contact(&alice.id()).unwrap());
        let m = alice.send(&bob.id(), "again");
        assert!(bob.recv(&alice, &m).unwrap().contact_request);
    });
}

#[test]
fn a_blocked_sender_is_dropped_requests_included_without_reply() {
    each_store(|kind| {
        let mut w = World::new(kind, Config::default());
        let (mut alice, mut bob) = talking(&mut w);
        bob.engine.block_contact(&alice.id()).unwrap();
        assert_eq!(state(&mut bob, &alice), Some(ContactState::Blocked));
        let name = bob.engine.contacts().unwrap()[0].name.clone();
        assert_eq!(name.as_deref(), Some("Alice"), "blocking keeps the name");
        // a message, and a contact request (which passes a decline), are both dropped
        let m = alice.send(&bob.id(), "hey");
        assert!(matches!(bob.recv(&alice, &m), Err(ReceiveError::Blocked)));
        let req = alice
            .engine
            .send_contact_request(&bob.id(), b"please")
            .unwrap();
        assert!(matches!(
            bob.recv(&alice, &req[0]),
            Err(ReceiveError::Blocked)
        ));
        assert_eq!(state(&mut bob, &alice), Some(ContactState::Blocked));
        // a message Bob cannot decrypt would get a bundle reply; a blocked sender gets none
        bob.engine.reset_sessions(&alice.id()).unwrap();
        let m = alice.send(&bob.id(), "old session");
        assert!(matches!(bob.recv(&alice, &m), Err(ReceiveError::Blocked)));
        assert!(bob.engine.take_outgoing().is_empty());
        assert!(!ReceiveError::Blocked.is_peer_fault());
        // our own key cannot be blocked
        let me = bob.id();
        assert!(matches!(
            bob.engine.block_contact(&me),
            Err(EngineError::Invalid(_))
        ));
        // unblocked: "added" again, and her messages are read (she started the session
        // Bob reset, so she resets hers too and starts a new one)
        bob.engine.unblock_contact(&alice.id()).unwrap();
        assert_eq!(state(&mut bob, &alice), Some(ContactState::Added));
        assert!(matches!(
            bob.engine.unblock_contact(&alice.id()),
            Err(EngineError::Invalid(_))
        ));
        alice.engine.reset_sessions(&bob.id()).unwrap();
        let m = alice.send(&bob.id(), "welcome back");
        let d = bob.recv(&alice, &m).unwrap();
        assert_eq!(d.plaintext, b"welcome back");
        assert!(d.forward_secret && !d.contact_request);
        let r = bob.send(&alice.id(), "thanks");
        assert_eq!(alice.recv_text(&bob, &r), "thanks");
    });
}

#[test]
fn a_blocked_stranger_leaves_nothing_in_the_store() {
    each_store(|kind| {
        // blocking holds with contact requests switched off too
        let config = Config {
            contact_requests: false,
            ..Config::default()
        };
        let mut w = World::new(kind, config);
        let (c, b) = (w.new_identity(), w.new_identity());
        let mut carol = w.device(&c, "c");
        let mut bob = w.device(&b, "b");
        carol.learn(&mut bob);
        bob.engine.block_contact(&carol.id()).unwrap();
        let m = carol.send(&bob.id(), "buy now");
        assert!(matches!(bob.recv(&carol, &m), Err(ReceiveError::Blocked)));
        // her bundle (carried by the message) was not stored, no session was made
        let carol_id = carol.id();
        assert!(
            !bob.engine
                .installations()
                .unwrap()
                .iter()
                .any(|i| i.identity == carol_id)
        );
        assert_eq!(sessions_with(&mut bob, &carol), 0);
        assert!(bob.engine.take_outgoing().is_empty());
        // a public message of hers is dropped too
        let p = carol.engine.encrypt_public(b"announcement").unwrap();
        assert!(matches!(bob.recv(&carol, &p), Err(ReceiveError::Blocked)));
    });
}

#[test]
fn resetting_sessions_starts_a_new_one_with_the_next_message() {
    each_store(|kind| {
        let mut w = World::new(kind, Config::default());
        let (mut alice, mut bob) = talking(&mut w);
        // Alice (the initiator) resets: her next message starts a new X3DH session
        let reset = alice.engine.reset_sessions(&bob.id()).unwrap();
        assert_eq!(reset.len(), 1);
        assert_eq!(reset[0].peer, bob.id());
        assert_eq!(sessions_with(&mut alice, &bob), 0);
        assert!(!alice.engine.pfs_established(&bob.id()).unwrap());
        // nothing else was touched: the contact and Bob's devices are kept
        assert_eq!(state(&mut alice, &bob), Some(ContactState::Added));
        let m = alice.send(&bob.id(), "fresh start");
        assert!(m.forward_secret, "her bundle of Bob was kept");
        assert_eq!(sessions_with(&mut alice, &bob), 1);
        assert_eq!(bob.recv_text(&alice, &m), "fresh start");
        let r = bob.send(&alice.id(), "ok");
        assert_eq!(alice.recv_text(&bob, &r), "ok");
        for i in 0..3 {
            let m = alice.send(&bob.id(), &format!("a{i}"));
            assert_eq!(bob.recv_text(&alice, &m), format!("a{i}"));
            let r = bob.send(&alice.id(), &format!("b{i}"));
            assert_eq!(alice.recv_text(&bob, &r), format!("b{i}"));
        }
        assert_eq!(sessions_with(&mut bob, &alice), 1, "hers replaced his copy");
        // resetting someone with no session deletes nothing
        let stranger = w.new_identity();
        let s = stranger.public_key();
        assert!(alice.engine.reset_sessions(&s).unwrap().is_empty());
    });
}

#[test]
fn a_session_they_started_is_reset_on_both_sides() {
    each_store(|kind| {
        let mut w = World::new(kind, Config::default());
        let (mut alice, mut bob) = talking(&mut w);
        // Alice started the session: Bob's reset deletes his copy only
        let reset = bob.engine.reset_sessions(&alice.id()).unwrap();
        assert_eq!(reset.len(), 1);
        assert!(!reset[0].we_initiated);
        assert_eq!(sessions_with(&mut bob, &alice), 0);
        // what Alice sends on her copy cannot be read: a bundle reply goes back
        let m = alice.send(&bob.id(), "lost");
        assert!(matches!(
            bob.recv(&alice, &m),
            Err(ReceiveError::SessionNotFound)
        ));
        let out = bob.engine.take_outgoing();
        assert!(out.iter().any(|o| o.kind == OutgoingKind::BundleReply));
        // she resets hers too; then whoever writes first starts the one new session
        assert_eq!(alice.engine.reset_sessions(&bob.id()).unwrap().len(), 1);
        let r = bob.send(&alice.id(), "new session");
        assert!(r.forward_secret);
        assert_eq!(alice.recv_text(&bob, &r), "new session");
        for i in 0..3 {
            let m = alice.send(&bob.id(), &format!("a{i}"));
            assert_eq!(bob.recv_text(&alice, &m), format!("a{i}"));
            let r = bob.send(&alice.id(), &format!("b{i}"));
            assert_eq!(alice.recv_text(&bob, &r), format!("b{i}"));
        }
        assert_eq!(sessions_with(&mut alice, &bob), 1);
        assert_eq!(sessions_with(&mut bob, &alice), 1);
    });
}
