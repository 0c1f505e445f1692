//! MVDS datasync.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_app::mvds::{self, Limits, MvdsError, Parsed};
use pfs_app::{MessageKind, wrap};
use pfs_crypto::hash::{keccak256, sha256};
use pfs_crypto::secp256k1::SecretKey;
use pfs_wire::app::{MvdsMessage, MvdsPayload};
use prost::Message;

fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).unwrap()
}

#[test]
fn group_id_is_keccak_of_compressed_keys_by_x() {
    let (a, b) = (key(1).public_key(), key(2).public_key());
    let g = mvds::one_to_one_group_id(&a, &b);
    assert_eq!(g, mvds::one_to_one_group_id(&b, &a));
    let (ua, ub) = (a.to_uncompressed(), b.to_uncompressed());
    let (first, second) = if ua[1..33] < ub[1..33] {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let mut cat = first.to_compressed().to_vec();
    cat.extend_from_slice(&second.to_compressed());
    assert_eq!(g, keccak256(&cat));
}

#[test]
fn message_id_layout() {
    let g = [7u8; 32];
    let mut pre = b"MESSAGE_ID".to_vec();
    pre.extend_from_slice(&g);
    pre.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
    pre.extend_from_slice(b"body");
    assert_eq!(
        mvds::message_id(&g, 0x0102_0304_0506_0708, b"body"),
        sha256(&pre)
    );
    // negative timestamps keep their bits, as Go's uint64() cast
    let mut pre = b"MESSAGE_ID".to_vec();
    pre.extend_from_slice(&g);
    pre.extend_from_slice(&[0xff; 8]);
    assert_eq!(mvds::message_id(&g, -1, b""), sha256(&pre));
}

#[test]
fn wrap_parse_ack_round_trip() {
    let (alice, bob) = (key(1), key(2));
    let g = mvds::one_to_one_group_id(&alice.public_key(), &bob.public_key());
    let w1 = wrap(b"one", MessageKind::ChatMessage, &alice).unwrap();
    let w2 = wrap(b"two", MessageKind::ChatMessage, &alice).unwrap();
    let (bytes, ids) = mvds::wrap_messages(&g, 1_700_000_000, &[&w1, &w2]).unwrap();
    // layout: fields 5004 { 6001 group, 6002 ts, 6003 body }
    let raw = MvdsPayload::decode(bytes.as_slice()).unwrap();
    assert_eq!(raw.messages.len(), 2);
    assert_eq!(raw.messages[0].group_id, g);
    assert_eq!(raw.messages[0].timestamp, 1_700_000_000);
    assert_eq!(raw.messages[0].body, w1);
    // field 5004, wire type 2: tag varint (5004 << 3 | 2) = 40034 = e2 b8 02
    assert_eq!(&bytes[..3], &[0xe2, 0xb8, 0x02]);
    let Parsed::Mvds(rx) = mvds::parse(&bytes, &Limits::default()).unwrap() else {
        panic!("not MVDS")
    };
    assert_eq!(rx.messages.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(rx.messages[1].body, w2);
    let ack = rx.ack().unwrap();
    let Parsed::Mvds(back) = mvds::parse(&ack, &Limits::default()).unwrap() else {
        panic!("ack not MVDS")
    };
    assert_eq!(back.acks, ids);
    assert!(back.messages.is_empty());
    assert_eq!(back.ack(), None);
}

#[test]
fn non_mvds_falls_through() {
    let alice = key(1);
    let w = wrap(b"raw", MessageKind::ChatMessage, &alice).unwrap();
    assert_eq!(
        mvds::parse(&w, &Limits::default()).unwrap(),
        Parsed::NotMvds
    );
    assert_eq!(
        mvds::parse(&[0xff, 0xff], &Limits::default()).unwrap(),
        Parsed::NotMvds
    );
    assert_eq!(
        mvds::parse(&[], &Limits::default()).unwrap(),
        Parsed::NotMvds
    );
}

#[test]
fn malformed_mvds_is_typed() {
    let bad_group = MvdsPayload {
        messages: vec![MvdsMessage {
            group_id: vec![1; 31],
            timestamp: 1,
            body: b"b".to_vec(),
        }],
        ..Default::default()
    };
    assert_eq!(
        mvds::parse(&bad_group.encode_to_vec(), &Limits::default()),
        Err(MvdsError::BadId {
            what: "group id",
            len: 31
        })
    );
    let bad_ack = MvdsPayload {
        acks: vec![vec![0; 5]],
        ..Default::default()
    };
    assert!(matches!(
        mvds::parse(&bad_ack.encode_to_vec(), &Limits::default()),
        Err(MvdsError::BadId { what: "ack", .. })
    ));
    let flood = MvdsPayload {
        acks: vec![vec![0; 32]; 10],
        ..Default::default()
    };
    let tight = Limits {
        max_messages: 1,
        max_ids: 9,
    };
    assert!(matches!(
        mvds::parse(&flood.encode_to_vec(), &tight),
        Err(MvdsError::TooMany { what: "ids", .. })
    ));
    let g = [0u8; 32];
    let (two, _) = mvds::wrap_messages(&g, 1, &[b"a", b"b"]).unwrap();
    assert!(matches!(
        mvds::parse(&two, &tight),
        Err(MvdsError::TooMany {
            what: "messages",
            ..
        })
    ));
}
