//! `HR_header` (field 102 of the per-installation message, status-go communities) on 1:1
//! traffic: decoded and ignored safely, group keys exposed. The header bytes are written by
//! hand from status-go's `protocol_message.proto` field numbers, not by our encoder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_protocol::MessageId;
use pfs_protocol::{Config, DeliveredKind, ReceiveError};
use pfs_scenarios::*;
use pfs_wire::{Message, pb};

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_bytes(field: u64, data: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// `HRKey { key = 2, timestamp = 3 }`.
fn hr_key(key: &[u8], timestamp: u64) -> Vec<u8> {
    let mut k = Vec::new();
    field_bytes(2, key, &mut k);
    varint(3 << 3, &mut k);
    varint(timestamp, &mut k);
    k
}

/// `HRHeader { seq_no = 2, group_id = 3, key_id = 4, keys = 5 { keys = 1 ... } }` as field
/// 102 of a `DirectMessageProtocol`.
fn hr_field(seq_no: u64, group_id: &[u8], keys: &[Vec<u8>]) -> Vec<u8> {
    let mut hr = Vec::new();
    if seq_no != 0 {
        varint(2 << 3, &mut hr);
        varint(seq_no, &mut hr);
    }
    field_bytes(3, group_id, &mut hr);
    field_bytes(4, &[0xab; 32], &mut hr);
    if !keys.is_empty() {
        let mut hk = Vec::new();
        for k in keys {
            field_bytes(1, k, &mut hk);
        }
        field_bytes(5, &hk, &mut hr);
    }
    let mut out = Vec::new();
    field_bytes(102, &hr, &mut out);
    out
}

/// Re-encodes `bytes` with `extra` appended to the entry of `installation`.
fn with_entry_bytes(bytes: &[u8], installation: &str, extra: &[u8]) -> Vec<u8> {
    let mut m = pb::ProtocolMessage::decode(bytes).unwrap();
    for e in &mut m.direct_message {
        if e.installation_id == installation {
            let mut b = e.message.as_ref().unwrap().encode_to_vec();
            b.extend_from_slice(extra);
            e.message = Some(pb::DirectMessageProtocol::decode(b.as_slice()).unwrap());
        }
    }
    m.encode_to_vec()
}

#[test]
fn group_keys_next_to_a_dr_header_are_exposed_and_the_message_decrypts() {
    for kind in STORES {
        let mut w = World::new(kind, Config::status_go_compatible());
        let (a, b) = (w.new_identity(), w.new_identity());
        let mut alice = w.device(&a, "alice-1");
        let mut bob = w.device(&b, "bob-1");
        alice.learn(&mut bob);
        let out = alice.send(&bob.id(), "community invite");
        let key = [7u8; 32];
        let bytes = with_entry_bytes(
            &out.bytes,
            "bob-1",
            &hr_field(0, b"community-id", &[hr_key(&key, 1_700_000_000_123)]),
        );
        let d = bob
            .engine
            .decrypt(&alice.id(), &bytes, &MessageId::from(b"m1"))
            .expect("the DR header wins, as in status-go");
        assert_eq!(d.plaintext, b"community invite");
        assert!(d.forward_secret);
        assert_eq!(d.group_keys.len(), 1);
        assert_eq!(d.group_keys[0].group_id, b"community-id");
        assert_eq!(d.group_keys[0].key.expose(), &key);
        assert_eq!(d.group_keys[0].timestamp, 1_700_000_000_123);
        assert!(
            !format!("{:?}", d.group_keys[0]).contains("7, 7"),
            "key redacted"
        );
    }
}

#[test]
fn a_hash_ratchet_only_entry_is_ignored_not_a_failure() {
    for kind in STORES {
        let mut w = World::new(kind, Config::status_go_compatible());
        let (a, b) = (w.new_identity(), w.new_identity());
        let alice = w.device(&a, "alice-1");
        let mut bob = w.device(&b, "bob-1");
        // {"none": {HR_header{seq_no 5, group_id, key_id}, payload}}: a community message
        let mut entry = Vec::new();
        field_bytes(3, b"hash-ratchet ciphertext", &mut entry);
        entry.extend(hr_field(5, b"community-id", &[]));
        let m = pb::ProtocolMessage {
            installation_id: "alice-1".into(),
            direct_message: vec![pb::DirectMessageEntry {
                installation_id: "none".into(),
                message: Some(pb::DirectMessageProtocol::decode(entry.as_slice()).unwrap()),
            }],
            ..Default::default()
        };
        let before = bob.engine.sessions().unwrap().len();
        let d = bob
            .engine
            .decrypt(&alice.id(), &m.encode_to_vec(), &MessageId::from(b"hr"))
            .unwrap();
        assert_eq!(d.kind, DeliveredKind::HashRatchet);
        assert!(d.plaintext.is_empty());
        assert!(d.group_keys.is_empty());
        assert!(
            bob.engine.take_outgoing().is_empty(),
            "no bundle reply for a group message"
        );
        assert_eq!(bob.engine.sessions().unwrap().len(), before);
    }
}

#[test]
fn too_many_group_keys_is_a_typed_error() {
    let mut w = World::new(StoreKind::Memory, Config::status_go_compatible());
    let (a, b) = (w.new_identity(), w.new_identity());
    let mut alice = w.device(&a, "alice-1");
    let mut bob = w.device(&b, "bob-1");
    alice.learn(&mut bob);
    let out = alice.send(&bob.id(), "x");
    let keys: Vec<Vec<u8>> = (0..=pfs_wire::MAX_GROUP_KEYS)
        .map(|i| hr_key(&[1; 32], i as u64))
        .collect();
    let bytes = with_entry_bytes(&out.bytes, "bob-1", &hr_field(0, b"g", &keys));
    let e = bob
        .engine
        .decrypt(&alice.id(), &bytes, &MessageId::from(b"m"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            ReceiveError::Malformed(pfs_wire::WireError::TooMany { .. })
        ),
        "{e:?}"
    );
    // and the untouched message still decrypts afterwards: nothing was consumed
    assert_eq!(bob.recv_text(&alice, &out), "x");
}
