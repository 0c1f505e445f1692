//! Wire-format tests: byte equality with messages recorded from status-go, and hostile input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_wire::*;
use proptest::prelude::*;
use serde_json::Value;

fn vectors(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors/").to_owned() + name;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Every protobuf recorded from status-go in the vector files.
fn recorded_messages() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for file in [
        "status-go-v1-post-dh-fix.json",
        "status-go-v1-multidevice.json",
    ] {
        let doc = vectors(file);
        for flow in doc["flows"].as_array().unwrap() {
            if let Some(pm) = flow.get("protocol_message").and_then(Value::as_str) {
                out.push(hex::decode(pm).unwrap());
            }
            for step in flow
                .get("steps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(pm) = step.get("protocol_message").and_then(Value::as_str) {
                    out.push(hex::decode(pm).unwrap());
                }
            }
        }
    }
    assert!(
        out.len() > 20,
        "expected many recorded messages, got {}",
        out.len()
    );
    out
}

#[test]
fn recorded_status_go_messages_round_trip_byte_for_byte() {
    let limits = Limits::default();
    for bytes in recorded_messages() {
        let msg = decode_protocol_message(&bytes, &limits).unwrap();
        assert_eq!(
            encode(&msg),
            bytes,
            "re-encoding must reproduce status-go's bytes"
        );
        for b in &msg.bundles {
            let bb = encode(b);
            assert_eq!(decode_bundle(&bb, &limits).unwrap(), *b);
        }
    }
}

#[test]
fn annotated_first_message_fields() {
    // README §7: flows[0].steps[1].protocol_message of the status-go file.
    let doc = vectors("status-go-v1-post-dh-fix.json");
    let bytes = hex::decode(
        doc["flows"][0]["steps"][1]["protocol_message"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(bytes.len(), 438);
    let msg = decode_protocol_message(&bytes, &Limits::default()).unwrap();
    assert_eq!(msg.installation_id, "alice-installation-1");
    assert_eq!(msg.bundles.len(), 1);
    let dm = msg.entry("bob-installation-1").unwrap();
    let x3dh = dm.x3dh_header.as_ref().unwrap();
    let dr = dm.dr_header.as_ref().unwrap();
    assert_eq!(x3dh.key.len(), 33);
    assert_eq!(x3dh.id, dr.id);
    assert_eq!((dr.n, dr.pn), (0, 0));
    assert_eq!(dm.payload.len(), 16 + 15 + 32);
}

#[test]
fn truncated_messages_are_typed_errors() {
    let limits = Limits::default();
    for bytes in recorded_messages().into_iter().take(4) {
        for cut in 0..bytes.len() {
            // A prefix may happen to be a valid (shorter) message; it must never panic,
            // and whenever it cuts inside a field it must be `Malformed`.
            match decode_protocol_message(&bytes[..cut], &limits) {
                Ok(m) => assert_ne!(encode(&m), bytes),
                Err(WireError::Malformed { .. }) => {}
                Err(e) => panic!("unexpected error kind {e:?}"),
            }
        }
    }
}

#[test]
fn huge_length_prefixes_do_not_allocate() {
    let limits = Limits::default();
    // field 3 (bundles), length 2^31 - 1, then nothing
    let two_gib = [0x1a, 0xff, 0xff, 0xff, 0xff, 0x07];
    assert!(matches!(
        decode_protocol_message(&two_gib, &limits),
        Err(WireError::Malformed { .. })
    ));
    // field 102 (public_message) with a 2^63 length varint
    let huge = [
        0xb2, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ];
    assert!(matches!(
        decode_protocol_message(&huge, &limits),
        Err(WireError::Malformed { .. })
    ));
    // over-long varint
    let overlong = [
        0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert!(decode_protocol_message(&overlong, &limits).is_err());
}

#[test]
fn size_limit_is_enforced_before_parsing() {
    let limits = Limits {
        max_message_size: 100,
        ..Limits::default()
    };
    let big = vec![0u8; 101];
    assert_eq!(
        decode_protocol_message(&big, &limits),
        Err(WireError::TooLarge {
            size: 101,
            max: 100
        })
    );
    assert!(matches!(
        decode_bundle(&big, &limits),
        Err(WireError::TooLarge { .. })
    ));
}

#[test]
fn invalid_utf8_installation_id_is_rejected() {
    // field 2 (installation_id), length 2, bytes ff fe
    let bad = [0x12, 0x02, 0xff, 0xfe];
    assert!(matches!(
        decode_protocol_message(&bad, &Limits::default()),
        Err(WireError::Malformed { .. })
    ));
}

fn entry(id: &str) -> DirectMessageEntry {
    DirectMessageEntry {
        installation_id: id.into(),
        message: Some(DirectMessageProtocol {
            payload: vec![1, 2, 3],
            ..Default::default()
        }),
    }
}

#[test]
fn duplicate_and_empty_ids_are_rejected() {
    let limits = Limits::default();
    let dup = ProtocolMessage {
        installation_id: "a".into(),
        direct_message: vec![entry("x"), entry("x")],
        ..Default::default()
    };
    assert!(matches!(
        decode_protocol_message(&encode(&dup), &limits),
        Err(WireError::DuplicateKey { .. })
    ));
    let missing = ProtocolMessage {
        direct_message: vec![DirectMessageEntry {
            installation_id: "x".into(),
            message: None,
        }],
        ..Default::default()
    };
    assert!(matches!(
        decode_protocol_message(&encode(&missing), &limits),
        Err(WireError::MissingValue { .. })
    ));
    let bundle = Bundle {
        signed_pre_keys: vec![SignedPreKeyEntry {
            installation_id: String::new(),
            signed_pre_key: Some(SignedPreKey::default()),
        }],
        ..Default::default()
    };
    assert!(matches!(
        decode_bundle(&encode(&bundle), &limits),
        Err(WireError::BadInstallationId { .. })
    ));
}

#[test]
fn entry_count_limits() {
    let limits = Limits {
        max_direct_messages: 2,
        ..Limits::default()
    };
    let m = ProtocolMessage {
        direct_message: vec![entry("a"), entry("b"), entry("c")],
        ..Default::default()
    };
    assert!(matches!(
        decode_protocol_message(&encode(&m), &limits),
        Err(WireError::TooMany {
            count: 3,
            max: 2,
            ..
        })
    ));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let limits = Limits::default();
        let _ = decode_protocol_message(&bytes, &limits);
        let _ = decode_bundle(&bytes, &limits);
        let _ = decode_direct_message(&bytes, &limits);
    }

    #[test]
    fn mutated_recorded_messages_never_panic(idx in 0usize..4, pos in any::<usize>(), val in any::<u8>()) {
        let msgs = recorded_messages();
        let mut m = msgs[idx % msgs.len()].clone();
        let p = pos % m.len();
        m[p] = val;
        let _ = decode_protocol_message(&m, &Limits::default());
    }
}
