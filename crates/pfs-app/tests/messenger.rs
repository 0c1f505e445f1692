//! The stateful messenger: outbox, acks, resends, dedupe, clock, contact requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_app::messenger::{
    AppError, Config, Event, MemoryRecords, Messenger, PropagatedState, RecordKind, RecordStore,
    id_hex,
};
use pfs_app::mvds::{self, Parsed};
use pfs_app::wrapper::UnwrapError;
use pfs_app::{MessageKind, wrap};
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_wire::app::{MvdsMessage, MvdsPayload};
use prost::Message;

const T0: i64 = 1_780_000_000_000;

struct Side {
    m: Messenger,
    store: MemoryRecords,
    pk: PublicKey,
}

fn side(b: u8) -> Side {
    let sk = SecretKey::from_bytes(&[b; 32]).unwrap();
    Side {
        pk: sk.public_key(),
        m: Messenger::new(sk, Config::default()),
        store: MemoryRecords::default(),
    }
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Text { message, .. } => Some(message.text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn text_is_mvds_wrapped_acknowledged_and_cleared() {
    let (mut a, mut b) = (side(1), side(2));
    let out = a.m.text(&mut a.store, &b.pk, "hello", None, T0).unwrap();
    assert_eq!(out.mvds_ids.len(), 1);
    assert_eq!(a.m.unacknowledged(&a.store).unwrap(), 1);
    // the plaintext is an MVDS payload of the 1:1 group holding a wrapper signed by A
    let Parsed::Mvds(r) = mvds::parse(&out.plaintext, &mvds::Limits::default()).unwrap() else {
        panic!("not MVDS")
    };
    assert_eq!(
        r.messages[0].group_id,
        mvds::one_to_one_group_id(&b.pk, &a.pk)
    );
    assert_eq!(r.messages[0].timestamp, T0 / 1000);
    assert_eq!(r.messages[0].id, out.mvds_ids[0]);

    let inc =
        b.m.receive(&mut b.store, &a.pk, &out.plaintext, T0, T0 + 5)
            .unwrap();
    assert_eq!(texts(&inc.events), vec!["hello"]);
    let Event::Text { id, message, .. } = &inc.events[0] else {
        panic!()
    };
    assert_eq!(*id, out.message_ids[0]);
    assert_eq!(message.chat_id, pfs_app::messenger::chat_id(&b.pk));
    let ack = inc.ack.expect("an ack");
    assert!(ack.mvds_ids.is_empty(), "acks are not tracked");

    let back =
        a.m.receive(&mut a.store, &b.pk, &ack.plaintext, T0, T0 + 10)
            .unwrap();
    assert_eq!(
        back.events,
        vec![Event::Delivered {
            from: b.pk.clone(),
            message_ids: out.message_ids.clone()
        }]
    );
    assert_eq!(a.m.unacknowledged(&a.store).unwrap(), 0);
    let (resends, _) = a.m.due_resends(&mut a.store, T0 + 86_400_000).unwrap();
    assert!(resends.is_empty());
}

#[test]
fn unacknowledged_messages_are_resent_with_doubling_delay_then_expire() {
    let (mut a, b) = (side(1), side(2));
    let cfg = *a.m.config();
    let out = a.m.text(&mut a.store, &b.pk, "lost", None, T0).unwrap();
    let first = cfg.resend.first_delay_ms;
    assert!(
        a.m.due_resends(&mut a.store, T0 + first - 1)
            .unwrap()
            .0
            .is_empty()
    );
    let (r1, _) = a.m.due_resends(&mut a.store, T0 + first).unwrap();
    assert_eq!(r1.len(), 1);
    assert!(r1[0].resend);
    assert_eq!(r1[0].mvds_ids, out.mvds_ids);
    assert_eq!(r1[0].message_ids, out.message_ids);
    // the resent payload carries the same MVDS message (same id)
    let Parsed::Mvds(p) = mvds::parse(&r1[0].plaintext, &mvds::Limits::default()).unwrap() else {
        panic!()
    };
    assert_eq!(p.messages[0].id, out.mvds_ids[0]);
    // second resend only after twice the delay
    let t1 = T0 + first;
    assert!(
        a.m.due_resends(&mut a.store, t1 + 2 * first - 1)
            .unwrap()
            .0
            .is_empty()
    );
    assert_eq!(
        a.m.due_resends(&mut a.store, t1 + 2 * first)
            .unwrap()
            .0
            .len(),
        1
    );
    // past the expiry: dropped and reported
    let late = T0 + cfg.resend.expire_after_ms + 1;
    let (r, ev) = a.m.due_resends(&mut a.store, late).unwrap();
    assert!(r.is_empty());
    assert_eq!(
        ev,
        vec![Event::Expired {
            to: b.pk.clone(),
            message_id: out.message_ids[0]
        }]
    );
    assert_eq!(a.m.unacknowledged(&a.store).unwrap(), 0);
}

#[test]
fn a_resent_message_is_shown_once_and_acknowledged_again() {
    let (mut a, mut b) = (side(1), side(2));
    let out = a.m.text(&mut a.store, &b.pk, "once", None, T0).unwrap();
    let (r, _) = a.m.due_resends(&mut a.store, T0 + 10_000).unwrap();
    let i1 =
        b.m.receive(&mut b.store, &a.pk, &out.plaintext, T0, T0)
            .unwrap();
    let i2 =
        b.m.receive(&mut b.store, &a.pk, &r[0].plaintext, T0, T0)
            .unwrap();
    assert_eq!(texts(&i1.events), vec!["once"]);
    assert!(i2.events.is_empty());
    assert_eq!(i2.duplicates, 1);
    assert!(i2.ack.is_some(), "a duplicate is acknowledged again");
}

#[test]
fn an_ack_from_someone_else_does_not_clear_the_outbox() {
    let (mut a, b, mut c) = (side(1), side(2), side(3));
    let out = a.m.text(&mut a.store, &b.pk, "for b", None, T0).unwrap();
    let ack = mvds::ack_payload(&out.mvds_ids);
    let inc = a.m.receive(&mut a.store, &c.pk, &ack, T0, T0).unwrap();
    assert!(inc.events.is_empty());
    assert_eq!(a.m.unacknowledged(&a.store).unwrap(), 1);
    // and C cannot read it as its own: the wrapper is signed by A, the group is A-B
    let inc =
        c.m.receive(&mut c.store, &a.pk, &out.plaintext, T0, T0)
            .unwrap();
    assert!(matches!(inc.events[0], Event::Refused { .. }));
}

#[test]
fn forged_or_wrong_signer_is_refused_and_changes_nothing() {
    let (a, mut b, c) = (side(1), side(2), side(3));
    // a bare wrapper signed by C, delivered as from A
    let sk_c = SecretKey::from_bytes(&[3; 32]).unwrap();
    let body = wrap(b"x", MessageKind::ChatMessage, &sk_c).unwrap();
    let before = b.store.clone();
    let e = b.m.receive(&mut b.store, &a.pk, &body, T0, T0).unwrap_err();
    assert!(matches!(
        e,
        AppError::Unwrap(UnwrapError::WrongSigner { .. })
    ));
    assert!(e.is_peer_fault());
    assert_eq!(b.store, before);
    // inside MVDS: refused, not delivered, still acknowledged
    let group = mvds::one_to_one_group_id(&a.pk, &b.pk);
    let (payload, _) = mvds::wrap_messages(&group, T0 / 1000, &[&body]).unwrap();
    let inc = b.m.receive(&mut b.store, &a.pk, &payload, T0, T0).unwrap();
    assert!(matches!(inc.events.as_slice(), [Event::Refused { .. }]));
    assert!(inc.ack.is_some());
    assert_eq!(b.store.count_records(RecordKind::Seen).unwrap(), 0);
    let _ = c;
}

#[test]
fn malformed_mvds_is_an_error_and_changes_nothing() {
    let (a, mut b) = (side(1), side(2));
    let bad = MvdsPayload {
        acks: vec![vec![1, 2, 3]],
        messages: vec![MvdsMessage {
            group_id: vec![0; 32],
            timestamp: 1,
            body: b"zz".to_vec(),
        }],
        ..Default::default()
    }
    .encode_to_vec();
    let before = b.store.clone();
    let e = b.m.receive(&mut b.store, &a.pk, &bad, T0, T0).unwrap_err();
    assert!(matches!(e, AppError::Mvds(_)), "{e}");
    assert_eq!(b.store, before);
}

#[test]
fn a_clock_far_ahead_of_the_transport_time_is_refused() {
    let (mut a, mut b) = (side(1), side(2));
    // A's clock is 10 minutes ahead of the time the transport says the message was sent
    let out =
        a.m.text(&mut a.store, &b.pk, "future", None, T0 + 600_000)
            .unwrap();
    let inc =
        b.m.receive(&mut b.store, &a.pk, &out.plaintext, T0, T0)
            .unwrap();
    assert!(
        matches!(&inc.events[..], [Event::Refused { reason, .. }] if reason.contains("clock")),
        "{:?}",
        inc.events
    );
    // 100 s ahead is within status-go's 120 s
    let out =
        a.m.text(&mut a.store, &b.pk, "near", None, T0 + 100_000)
            .unwrap();
    let inc =
        b.m.receive(&mut b.store, &a.pk, &out.plaintext, T0 + 600_000, T0)
            .unwrap();
    assert_eq!(texts(&inc.events), vec!["near"]);
}

#[test]
fn lamport_clock_never_goes_back_and_follows_what_we_saw() {
    let (mut a, mut b) = (side(1), side(2));
    let c1 = a.m.next_clock(&mut a.store, T0).unwrap();
    let c2 = a.m.next_clock(&mut a.store, T0 - 50_000).unwrap();
    assert!(c2 > c1);
    // B sees A's clock and sends after it even with a clock that is behind
    let out =
        a.m.text(&mut a.store, &b.pk, "hi", None, T0 + 60_000)
            .unwrap();
    b.m.receive(&mut b.store, &a.pk, &out.plaintext, T0 + 60_000, T0)
        .unwrap();
    let cb = b.m.next_clock(&mut b.store, T0).unwrap();
    assert!(cb > u64::try_from(T0 + 60_000).unwrap());
}

#[test]
fn contact_request_accept_and_retract() {
    let (mut a, mut b) = (side(1), side(2));
    let req =
        a.m.contact_request(&mut a.store, &b.pk, "hi, it's A", T0)
            .unwrap();
    assert_eq!(req.mvds_ids.len(), 2, "ChatMessage and ContactUpdate");
    let inc =
        b.m.receive(&mut b.store, &a.pk, &req.plaintext, T0, T0)
            .unwrap();
    let [
        Event::ContactRequest { id, message, .. },
        Event::ContactUpdate { update, .. },
    ] = &inc.events[..]
    else {
        panic!("{:?}", inc.events)
    };
    assert_eq!(message.text, "hi, it's A");
    let st = message.contact_request.unwrap();
    assert_eq!(
        PropagatedState::from_number(st.local_state),
        Some(PropagatedState::Sent)
    );
    assert_eq!(st.local_clock, message.clock);
    assert_eq!(update.public_key, pfs_app::messenger::chat_id(&a.pk));
    assert_eq!(
        update.contact_request_propagated_state.unwrap().local_state,
        PropagatedState::Sent as u64
    );
    let acc =
        b.m.accept_contact_request(&mut b.store, &a.pk, id, T0 + 1)
            .unwrap();
    let inc =
        a.m.receive(&mut a.store, &b.pk, &acc.plaintext, T0, T0)
            .unwrap();
    assert!(
        matches!(&inc.events[0], Event::ContactAccepted { request_id, .. } if *request_id == id_hex(id))
    );
    let Event::ContactUpdate { update, .. } = &inc.events[1] else {
        panic!()
    };
    assert_eq!(
        update.contact_request_propagated_state.unwrap().local_state,
        PropagatedState::Mutual as u64
    );
    let ret =
        a.m.retract_contact_request(&mut a.store, &b.pk, T0 + 2)
            .unwrap();
    let inc =
        b.m.receive(&mut b.store, &a.pk, &ret.plaintext, T0, T0)
            .unwrap();
    assert!(matches!(inc.events[0], Event::ContactRetracted { .. }));
}

#[test]
fn a_bare_wrapper_without_mvds_is_accepted() {
    let (a, mut b) = (side(1), side(2));
    let sk_a = SecretKey::from_bytes(&[1; 32]).unwrap();
    let t = pfs_app::chat::TextMessage {
        clock: 5,
        timestamp_ms: 5,
        text: "raw".into(),
        chat_id: "0x04".into(),
        ..Default::default()
    };
    let body = wrap(&t.encode().unwrap(), MessageKind::ChatMessage, &sk_a).unwrap();
    let inc = b.m.receive(&mut b.store, &a.pk, &body, T0, T0).unwrap();
    assert_eq!(texts(&inc.events), vec!["raw"]);
    assert!(inc.ack.is_none(), "nothing to acknowledge outside MVDS");
}

#[test]
fn unknown_types_are_reported_not_failed() {
    let (a, mut b) = (side(1), side(2));
    let sk_a = SecretKey::from_bytes(&[1; 32]).unwrap();
    let body = wrap(b"\x08\x01", MessageKind::EmojiReaction, &sk_a).unwrap();
    let inc = b.m.receive(&mut b.store, &a.pk, &body, T0, T0).unwrap();
    assert!(matches!(
        inc.events[0],
        Event::Unsupported {
            type_number: 22,
            ..
        }
    ));
}

#[test]
fn outbox_is_bounded() {
    let mut a = side(1);
    let b = side(2);
    a.m = Messenger::new(
        SecretKey::from_bytes(&[1; 32]).unwrap(),
        Config {
            max_outbox: 2,
            ..Config::default()
        },
    );
    a.m.text(&mut a.store, &b.pk, "1", None, T0).unwrap();
    a.m.text(&mut a.store, &b.pk, "2", None, T0).unwrap();
    let before = a.store.clone();
    assert!(matches!(
        a.m.text(&mut a.store, &b.pk, "3", None, T0),
        Err(AppError::OutboxFull(2))
    ));
    assert_eq!(a.store, before);
}

#[test]
fn advert_is_a_signed_type_15_wrapper() {
    let (a, b) = (side(1), side(2));
    let ad = a.m.contact_code_advertisement().unwrap();
    assert!(matches!(
        b.m.receive_public(&a.pk, &ad).unwrap(),
        Event::ContactCode { .. }
    ));
    assert!(b.m.receive_public(&b.pk, &ad).is_err());
}

#[test]
fn a_refused_text_changes_nothing() {
    let (mut a, b) = (side(1), side(2));
    let before = a.store.clone();
    assert!(a.m.text(&mut a.store, &b.pk, "", None, T0).is_err());
    let long = "é".repeat(4097);
    assert!(a.m.text(&mut a.store, &b.pk, &long, None, T0).is_err());
    assert_eq!(a.store, before);
    assert!(
        a.m.text(&mut a.store, &b.pk, &"é".repeat(4096), None, T0)
            .is_ok()
    );
}
