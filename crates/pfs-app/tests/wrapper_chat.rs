//! The signed wrapper and chat messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_app::chat::{self, ChatError, Received, TextMessage};
use pfs_app::wrapper::{self, UnwrapError};
use pfs_app::{MessageKind, unwrap, wrap};
use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::SecretKey;
use pfs_wire::app::chat_message::ContentType;
use pfs_wire::app::{
    AcceptContactRequest, ApplicationMetadataMessage, ChatMessage, ContactRequestPropagatedState,
    MessageType,
};
use prost::Message;

fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).unwrap()
}

fn text(t: &str) -> TextMessage {
    TextMessage {
        clock: 1_700_000_000_000,
        timestamp_ms: 1_700_000_000_123,
        text: t.to_owned(),
        chat_id: "0x04abcd".to_owned(),
        ..TextMessage::default()
    }
}

#[test]
fn wrap_unwrap_round_trip_and_layout() {
    let alice = key(1);
    let bytes = wrap(b"hello", MessageKind::ChatMessage, &alice).unwrap();
    let raw = ApplicationMetadataMessage::decode(bytes.as_slice()).unwrap();
    assert_eq!(raw.signature.len(), 65);
    assert!(raw.signature[64] <= 1, "V is 0 or 1");
    assert_eq!(raw.payload, b"hello");
    assert_eq!(raw.r#type, 1);
    // the signature recovers to the signer over keccak256(payload)
    let sig = pfs_crypto::secp256k1::RecoverableSignature::from_bytes(&raw.signature).unwrap();
    assert_eq!(
        sig.recover(&keccak256(b"hello")).unwrap(),
        alice.public_key()
    );

    let u = unwrap(&bytes, &alice.public_key()).unwrap();
    assert_eq!(u.kind(), Some(MessageKind::ChatMessage));
    assert_eq!(u.payload, b"hello");
    assert_eq!(u.signer, alice.public_key());
    // id = keccak256(uncompressed sender ‖ wrapper bytes) (status-go v1 MessageID)
    let mut pre = alice.public_key().to_uncompressed().to_vec();
    pre.extend_from_slice(&bytes);
    assert_eq!(u.id, keccak256(&pre));
    assert_eq!(u.id, wrapper::message_id(&alice.public_key(), &bytes));
}

#[test]
fn wrong_signer_is_typed() {
    let (alice, bob) = (key(1), key(2));
    let bytes = wrap(b"hi", MessageKind::ChatMessage, &alice).unwrap();
    match unwrap(&bytes, &bob.public_key()) {
        Err(UnwrapError::WrongSigner { signer }) => assert_eq!(*signer, alice.public_key()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn forged_signatures_are_refused() {
    let alice = key(1);
    let bytes = wrap(b"hi", MessageKind::ChatMessage, &alice).unwrap();
    let mut m = ApplicationMetadataMessage::decode(bytes.as_slice()).unwrap();
    // payload changed after signing: recovers another key
    m.payload = b"ho".to_vec();
    let forged = m.encode_to_vec();
    assert!(matches!(
        unwrap(&forged, &alice.public_key()),
        Err(UnwrapError::WrongSigner { .. } | UnwrapError::BadSignature)
    ));
    // r = 0: not a signature
    let mut m2 = ApplicationMetadataMessage::decode(bytes.as_slice()).unwrap();
    m2.signature[..32].fill(0);
    assert_eq!(
        unwrap(&m2.encode_to_vec(), &alice.public_key()),
        Err(UnwrapError::BadSignature)
    );
    // V = 7
    let mut m3 = ApplicationMetadataMessage::decode(bytes.as_slice()).unwrap();
    m3.signature[64] = 7;
    assert_eq!(
        unwrap(&m3.encode_to_vec(), &alice.public_key()),
        Err(UnwrapError::BadSignature)
    );
    // unsigned and truncated signatures
    let mut m4 = ApplicationMetadataMessage::decode(bytes.as_slice()).unwrap();
    m4.signature.truncate(64);
    assert_eq!(
        unwrap(&m4.encode_to_vec(), &alice.public_key()),
        Err(UnwrapError::BadSignatureLength(64))
    );
    let unsigned = ApplicationMetadataMessage {
        payload: b"x".to_vec(),
        ..Default::default()
    };
    assert_eq!(
        unwrap(&unsigned.encode_to_vec(), &alice.public_key()),
        Err(UnwrapError::BadSignatureLength(0))
    );
}

#[test]
fn truncated_wrappers_are_malformed() {
    let alice = key(1);
    let bytes = wrap(&[7u8; 300], MessageKind::ChatMessage, &alice).unwrap();
    // every cut inside signature or payload fails (cutting the trailing type field off
    // leaves a valid wrapper of type UNKNOWN)
    for cut in 1..bytes.len() - 2 {
        let r = unwrap(&bytes[..cut], &alice.public_key());
        assert!(r.is_err(), "prefix of {cut} bytes accepted");
    }
    let u = unwrap(&bytes[..bytes.len() - 2], &alice.public_key()).unwrap();
    assert_eq!(u.kind(), Some(MessageKind::Unknown));
    assert!(matches!(
        unwrap(&[0x0a, 0x50, 1, 2], &alice.public_key()),
        Err(UnwrapError::Malformed(_))
    ));
    let big = vec![0u8; pfs_app::MAX_MESSAGE_SIZE + 1];
    assert!(matches!(
        unwrap(&big, &alice.public_key()),
        Err(UnwrapError::TooLarge(_))
    ));
}

#[test]
fn unknown_wrapper_types_are_reported() {
    let alice = key(3);
    let m = ApplicationMetadataMessage {
        signature: alice
            .sign_prehash_recoverable(&keccak256(b"p"))
            .unwrap()
            .to_bytes()
            .to_vec(),
        payload: b"p".to_vec(),
        r#type: 9999,
    };
    let u = unwrap(&m.encode_to_vec(), &alice.public_key()).unwrap();
    assert_eq!(u.kind(), None);
    assert_eq!(
        chat::classify(&u).unwrap(),
        Received::Unsupported {
            type_number: 9999,
            payload: b"p".to_vec()
        }
    );
    // a known type this crate does not handle
    let w = wrap(b"q", MessageKind::EmojiReaction, &alice).unwrap();
    let u = unwrap(&w, &alice.public_key()).unwrap();
    assert!(matches!(
        chat::classify(&u).unwrap(),
        Received::Unsupported {
            type_number: 22,
            ..
        }
    ));
}

#[test]
fn text_round_trip_and_layout() {
    let mut t = text("hello Status");
    t.response_to = Some("0xabc".into());
    t.display_name = Some("pfs".into());
    let bytes = t.encode().unwrap();
    let m = ChatMessage::decode(bytes.as_slice()).unwrap();
    assert_eq!(m.message_type, MessageType::OneToOne as i32);
    assert_eq!(m.content_type, ContentType::TextPlain as i32);
    assert_eq!((m.message_type, m.content_type), (1, 1));
    assert_eq!(chat::parse_text(&bytes).unwrap(), t);
    // hand-encoded minimal message: field 1 clock=5, 2 ts=6, 3 "hi", 6 "c", 7 = 1, 8 = 1
    let hand = [
        0x08, 5, 0x10, 6, 0x1a, 2, b'h', b'i', 0x32, 1, b'c', 0x38, 1, 0x40, 1,
    ];
    let p = chat::parse_text(&hand).unwrap();
    assert_eq!((p.clock, p.timestamp_ms, p.text.as_str()), (5, 6, "hi"));
    let mut t2 = text("hi");
    t2.clock = 5;
    t2.timestamp_ms = 6;
    t2.chat_id = "c".into();
    assert_eq!(t2.encode().unwrap(), hand);
}

#[test]
fn text_rules() {
    assert_eq!(text("").encode(), Err(ChatError::EmptyText));
    let ok = "é".repeat(4096); // 4096 characters, 8192 bytes
    assert!(text(&ok).encode().is_ok());
    assert_eq!(
        text(&"a".repeat(4097)).encode(),
        Err(ChatError::TextTooLong(4097))
    );
    let mut z = text("x");
    z.clock = 0;
    assert_eq!(z.encode(), Err(ChatError::ZeroClock));
    let mut z = text("x");
    z.timestamp_ms = 0;
    assert_eq!(z.encode(), Err(ChatError::ZeroTimestamp));
    let mut z = text("x");
    z.chat_id.clear();
    assert_eq!(z.encode(), Err(ChatError::EmptyChatId));
    // received with clock 0
    let mut m = text("x").to_proto();
    m.clock = 0;
    assert_eq!(
        chat::parse_text(&m.encode_to_vec()),
        Err(ChatError::ZeroClock)
    );
    assert!(matches!(
        chat::parse_text(&[0x1a, 0x05, b'a']),
        Err(ChatError::Malformed { .. })
    ));
    // invalid UTF-8 in text
    assert!(matches!(
        chat::parse_text(&[0x1a, 0x01, 0xff]),
        Err(ChatError::Malformed { .. })
    ));
}

#[test]
fn classify_chat_messages() {
    let alice = key(4);
    let mut cr = text("add me");
    cr.contact_request = Some(ContactRequestPropagatedState {
        local_clock: 1,
        local_state: 2,
        remote_clock: 0,
        remote_state: 0,
    });
    let w = wrap(&cr.encode().unwrap(), MessageKind::ChatMessage, &alice).unwrap();
    let u = unwrap(&w, &alice.public_key()).unwrap();
    match chat::classify(&u).unwrap() {
        Received::Text(t) => assert_eq!(t, cr),
        other => panic!("{other:?}"),
    }
    // sticker with unknown extra fields: reported, not an error
    let mut m = text("x").to_proto();
    m.content_type = ContentType::Sticker as i32;
    let mut payload = m.encode_to_vec();
    payload.extend_from_slice(&[0x98, 0x01, 0x07]); // field 19 = 7 (customization_color)
    let w = wrap(&payload, MessageKind::ChatMessage, &alice).unwrap();
    let u = unwrap(&w, &alice.public_key()).unwrap();
    assert!(matches!(
        chat::classify(&u).unwrap(),
        Received::OtherContent {
            content_type: 2,
            ..
        }
    ));
    // a text with status-go fields this crate does not declare: accepted, fields reported
    let mut payload = text("hi").encode().unwrap();
    payload.extend_from_slice(&[0x98, 0x01, 0x07]); // customization_color = 19
    payload.extend_from_slice(&[0x82, 0x01, 0x00]); // unfurled_links = 16, empty
    payload.extend_from_slice(&[0x98, 0x01, 0x08]); // 19 again: reported once
    let w = wrap(&payload, MessageKind::ChatMessage, &alice).unwrap();
    let u = unwrap(&w, &alice.public_key()).unwrap();
    match chat::classify(&u).unwrap() {
        Received::Text(t) => {
            assert_eq!(t.text, "hi");
            assert_eq!(t.unknown_fields, vec![19, 16]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        chat::parse_text(&payload).unwrap().unknown_fields,
        vec![19, 16]
    );
    // accept contact request
    let a = AcceptContactRequest {
        id: "0x01".into(),
        clock: 9,
    };
    let w = wrap(
        &a.encode_to_vec(),
        MessageKind::AcceptContactRequest,
        &alice,
    )
    .unwrap();
    let u = unwrap(&w, &alice.public_key()).unwrap();
    assert_eq!(
        chat::classify(&u).unwrap(),
        Received::AcceptContactRequest(a)
    );
    // a handled type with a broken payload is an error
    let w = wrap(&[0x0a, 0x09], MessageKind::ContactUpdate, &alice).unwrap();
    let u = unwrap(&w, &alice.public_key()).unwrap();
    assert!(matches!(
        chat::classify(&u),
        Err(ChatError::Malformed { .. })
    ));
}
