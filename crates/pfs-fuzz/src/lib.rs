//! # pfs-fuzz: the fuzz harnesses (test support, level 4)
//!
//! One deterministic `run_<target>(data)` per fuzz target. The cargo-fuzz targets in
//! `fuzz/fuzz_targets/` call them, and `tests/corpus.rs` replays every file of
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` through the same functions in
//! plain `cargo test`, so CI exercises the corpora without a fuzzer.
//!
//! A harness never panics on hostile input: every decoder and the engine must return a
//! typed error. The harnesses also `assert!` the properties that must hold whatever the
//! input (round trips, atomicity of failed decryptions, no forged or repeated plaintext);
//! a failed assertion is a finding, which is how libFuzzer reports it.
//!
//! The fixed states (a ratchet session, an engine with a live session) are built once,
//! deterministically ([`DetRng`], a fixed clock), by [`templates`], which also records
//! the real messages used as seed corpora.
#![forbid(unsafe_code)]
// Harness assertions are the point of this crate: a violated property must abort the run.
#![allow(clippy::panic, clippy::expect_used)]

pub mod rng;
pub mod snapshot;
pub mod templates;

pub use rng::DetRng;
pub use snapshot::{SnapshotHandle, SnapshotStore};

use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_protocol::MessageId;
use pfs_protocol::{DeliveredKind, Engine, ManualClock};
use pfs_ratchet::Header;
use pfs_transport::{OpenKey, OpenOptions, PowVariant, SymKey};
use pfs_wire::{Limits, Message, pb};

/// The fuzz targets, as named in `fuzz/fuzz_targets/`.
pub const TARGETS: &[&str] = &[
    "wire_decode",
    "contact_code",
    "bundle_verify",
    "envelope_open",
    "ratchet_decrypt",
    "engine_decrypt",
    "waku_message",
    "waku_payload",
    "waku_rpc",
    "app_layer",
];

/// Runs the harness of `target` on `data`; false for an unknown target name.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "wire_decode" => run_wire_decode(data),
        "contact_code" => run_contact_code(data),
        "bundle_verify" => run_bundle_verify(data),
        "envelope_open" => run_envelope_open(data),
        "ratchet_decrypt" => run_ratchet_decrypt(data),
        "engine_decrypt" => run_engine_decrypt(data),
        "waku_message" => run_waku_message(data),
        "waku_payload" => run_waku_payload(data),
        "waku_rpc" => run_waku_rpc(data),
        "app_layer" => run_app_layer(data),
        _ => return false,
    }
    true
}

fn roundtrip<M: Message + Default + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(m) = M::decode(data) {
        let again = M::decode(m.encode_to_vec().as_slice()).expect("re-encoded message decodes");
        assert_eq!(m, again, "protobuf round trip changed the message");
    }
}

/// Every wire message: the validating decoders (`ProtocolMessage`, `Bundle`,
/// `DirectMessageProtocol`) and plain prost decoding of the headers and the signed prekey,
/// each followed by an encode/decode round trip; decoded X3DH headers are also parsed.
pub fn run_wire_decode(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(m) = pfs_wire::decode_protocol_message(data, &limits) {
        let again = pfs_wire::decode_protocol_message(&pfs_wire::encode(&m), &limits)
            .expect("a valid message re-encodes to a valid message");
        assert_eq!(m, again);
        for e in &m.direct_message {
            if let Some(x) = e.message.as_ref().and_then(|d| d.x3dh_header.as_ref()) {
                let _ = pfs_x3dh::X3dhHeader::from_pb(x);
            }
        }
    }
    if let Ok(b) = pfs_wire::decode_bundle(data, &limits) {
        let again = pfs_wire::decode_bundle(&pfs_wire::encode(&b), &limits)
            .expect("a valid bundle re-encodes to a valid bundle");
        assert_eq!(b, again);
    }
    if let Ok(d) = pfs_wire::decode_direct_message(data, &limits)
        && let Some(x) = &d.x3dh_header
    {
        let _ = pfs_x3dh::X3dhHeader::from_pb(x);
    }
    roundtrip::<pb::ProtocolMessage>(data);
    roundtrip::<pb::DirectMessageProtocol>(data);
    roundtrip::<pb::DrHeader>(data);
    roundtrip::<pb::DhHeader>(data);
    roundtrip::<pb::X3dhHeader>(data);
    roundtrip::<pb::SignedPreKey>(data);
    roundtrip::<pb::Bundle>(data);
}

/// Contact codes (text): decoding, verification, and re-encoding of what verified.
pub fn run_contact_code(data: &[u8]) {
    let Ok(code) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = pfs_x3dh::decode_contact_code(code);
    if let Ok(vb) = pfs_x3dh::parse_contact_code(code) {
        assert!(decoded.is_ok(), "a code that verifies also decodes");
        let again = pfs_x3dh::parse_contact_code(&pfs_x3dh::contact_code(vb.bundle()))
            .expect("a verified bundle's own contact code verifies");
        assert_eq!(again.identity(), vb.identity());
    }
}

/// Bundle verification, on validated and on raw prost-decoded bundles. A verified bundle
/// re-encodes to a bundle that verifies to the same identity and entries.
pub fn run_bundle_verify(data: &[u8]) {
    if let Ok(b) = pb::Bundle::decode(data) {
        let _ = pfs_x3dh::verify_bundle(&b);
    }
    if let Ok(b) = pfs_wire::decode_bundle(data, &Limits::default())
        && let Ok(vb) = pfs_x3dh::verify_bundle(&b)
    {
        let re = pb::Bundle::decode(pfs_wire::encode(vb.bundle()).as_slice())
            .expect("re-encoded bundle decodes");
        let again = pfs_x3dh::verify_bundle(&re).expect("re-encoded bundle verifies");
        assert_eq!(again.identity(), vb.identity());
        assert_eq!(again.entries().len(), vb.entries().len());
    }
}

/// The fixed time of the envelope target (Unix seconds).
pub const ENVELOPE_NOW: u32 = 1_700_000_000;
/// The symmetric key of the envelope target.
pub const ENVELOPE_SYM_KEY: [u8; 32] = [0x5a; 32];
/// The private key of the envelope target (ECIES recipient).
pub const ENVELOPE_ASYM_KEY: [u8; 32] = [0x11; 32];

/// Envelope opening. Byte 0 selects the key (bit 0: asymmetric) and the PoW variant
/// (bit 1) and whether a minimum PoW is required (bit 2); the rest is the envelope's RLP.
/// Opening never panics; a decoded envelope re-encodes to itself.
pub fn run_envelope_open(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let opts = OpenOptions {
        now: ENVELOPE_NOW,
        variant: if sel & 2 == 0 {
            PowVariant::V1_5_2
        } else {
            PowVariant::V1_4_10
        },
        min_pow: if sel & 4 == 0 { 0.0 } else { 0.002 },
        max_envelope_size: pfs_transport::envelope::DEFAULT_MAX_ENVELOPE_SIZE,
    };
    if let Ok(env) = pfs_transport::Envelope::decode(rest, opts.max_envelope_size) {
        let again = pfs_transport::Envelope::decode(&env.encode(), opts.max_envelope_size)
            .expect("a decoded envelope re-encodes to a decodable one");
        assert_eq!(env, again);
    }
    let sym = SymKey::from_bytes(&ENVELOPE_SYM_KEY).expect("fixed key");
    let sk = SecretKey::from_bytes(&ENVELOPE_ASYM_KEY).expect("fixed key");
    let key = if sel & 1 == 0 {
        OpenKey::Symmetric(&sym)
    } else {
        OpenKey::Asymmetric(&sk)
    };
    if let Ok((_, opened)) = pfs_transport::open_bytes(rest, key, &opts) {
        // a signed message's signer is the key its signature recovers to
        assert_eq!(opened.signature.is_some(), opened.signer.is_some());
    }
}

/// The fixed clock of the `waku_message` target (ns since the Unix epoch).
pub const WAKU_NOW_NS: i64 = 1_700_000_000_000_000_000;

/// A WakuMessage from untrusted bytes: `decode_message` (with the relay size limit), then
/// `validate` (without and with a clock), `message_hash` and the content-topic parser.
/// A decoded message re-encodes to bytes that decode to the same message with the same
/// hash; a parsed Status content topic is re-made exactly from its 4-byte topic when
/// written in lowercase.
pub fn run_waku_message(data: &[u8]) {
    use pfs_transport::waku;
    let max = waku::DEFAULT_MAX_MESSAGE_SIZE;
    let Ok(m) = waku::decode_message(data, max) else {
        return;
    };
    let _ = waku::validate(&m, data.len(), max, None);
    let _ = waku::validate(&m, data.len(), max, Some(WAKU_NOW_NS));
    let hash = waku::message_hash(waku::DEFAULT_PUBSUB_TOPIC, &m);
    let re = waku::encode_message(&m);
    let again = waku::decode_message(&re, max.max(re.len()))
        .expect("a decoded WakuMessage re-encodes to a decodable one");
    assert_eq!(m, again, "WakuMessage round trip changed the message");
    assert_eq!(hash, waku::message_hash(waku::DEFAULT_PUBSUB_TOPIC, &again));
    let checked = pfs_transport::ContentTopic::new(m.content_topic.clone());
    if let Some(t) = waku::parse_content_topic(&m.content_topic) {
        let made = waku::content_topic(&t);
        assert_eq!(made, m.content_topic.to_ascii_lowercase());
        assert_eq!(waku::parse_content_topic(made.as_str()), Some(t));
        assert!(checked.is_ok(), "a Status content topic is a content topic");
    }
}

/// The symmetric key of the `waku_payload` target.
pub const WAKU_PAYLOAD_SYM_KEY: [u8; 32] = [0x5b; 32];
/// The private key of the `waku_payload` target (ECIES recipient).
pub const WAKU_PAYLOAD_ASYM_KEY: [u8; 32] = [0x12; 32];

/// The bytes of `WakuMessage.payload`, opened (26/WAKU2-PAYLOAD version 1) with both fixed
/// keys, directly and inside a version 1 WakuMessage. Properties: both ways give the same
/// result; signature ⇔ signer; a version 0 message is refused.
pub fn run_waku_payload(data: &[u8]) {
    use pfs_transport::payload;
    use pfs_transport::waku::WakuMessage;
    let sym = SymKey::from_bytes(&WAKU_PAYLOAD_SYM_KEY).expect("fixed key");
    let sk = SecretKey::from_bytes(&WAKU_PAYLOAD_ASYM_KEY).expect("fixed key");
    let msg = WakuMessage {
        payload: data.to_vec(),
        content_topic: "/waku/1/0x00000000/rfc26".to_owned(),
        version: Some(1),
        ..WakuMessage::default()
    };
    for key in [OpenKey::Symmetric(&sym), OpenKey::Asymmetric(&sk)] {
        let opened = payload::open(data, key);
        assert_eq!(opened, payload::open_message(&msg, key));
        if let Ok(o) = &opened {
            assert_eq!(o.signature.is_some(), o.signer.is_some());
        }
    }
    let v0 = WakuMessage {
        version: None,
        ..msg
    };
    assert!(payload::open_message(&v0, OpenKey::Symmetric(&sym)).is_err());
}

/// The Status application layer's decoders (signed wrapper, `ChatMessage` and the other
/// handled types, MVDS, segments with their reassembler) and the messenger's receive path:
/// see `pfs_app::fuzz`.
pub fn run_app_layer(data: &[u8]) {
    pfs_app::fuzz::run_all(data);
}

/// The Waku request/response protobufs (metadata, lightpush v3 and legacy, store v3,
/// filter v2, peer exchange): each decoded with prost; what decodes re-encodes and
/// decodes equal.
pub fn run_waku_rpc(data: &[u8]) {
    use pfs_wire::waku;
    roundtrip::<waku::WakuMetadataRequest>(data);
    roundtrip::<waku::WakuMetadataResponse>(data);
    roundtrip::<waku::LightPushRequestV3>(data);
    roundtrip::<waku::LightPushResponseV3>(data);
    roundtrip::<waku::PushRpc>(data);
    roundtrip::<waku::StoreQueryRequest>(data);
    roundtrip::<waku::StoreQueryResponse>(data);
    roundtrip::<waku::FilterSubscribeRequest>(data);
    roundtrip::<waku::FilterSubscribeResponse>(data);
    roundtrip::<waku::MessagePush>(data);
    roundtrip::<waku::PeerExchangeRpc>(data);
}

/// Frames a ratchet message for [`run_ratchet_decrypt`]:
/// `suite ‖ key_len ‖ key ‖ LE32(n) ‖ LE32(pn) ‖ ciphertext`.
pub fn frame_ratchet(suite_spec: bool, header: &Header, ciphertext: &[u8]) -> Vec<u8> {
    let mut v = vec![u8::from(suite_spec), header.key.len() as u8];
    v.extend_from_slice(&header.key);
    v.extend_from_slice(&header.n.to_le_bytes());
    v.extend_from_slice(&header.pn.to_le_bytes());
    v.extend_from_slice(ciphertext);
    v
}

fn unframe_ratchet(data: &[u8]) -> Option<(bool, Header, &[u8])> {
    let (&suite, rest) = data.split_first()?;
    let (&klen, rest) = rest.split_first()?;
    let key = rest.get(..usize::from(klen))?;
    let rest = rest.get(usize::from(klen)..)?;
    let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
    let pn = u32::from_le_bytes(rest.get(4..8)?.try_into().ok()?);
    Some((
        suite & 1 == 1,
        Header {
            key: key.to_vec(),
            n,
            pn,
        },
        rest.get(8..)?,
    ))
}

/// `RatchetState::decrypt` against a fixed session (see [`templates::ratchet`]): the input
/// is framed by [`frame_ratchet`]. Properties: a success yields a plaintext the peer really
/// sent and cannot be repeated (the key is deleted); a failure leaves the state and the
/// skipped-key store exactly as they were.
pub fn run_ratchet_decrypt(data: &[u8]) {
    let Some((spec, header, ct)) = unframe_ratchet(data) else {
        return;
    };
    let t = templates::ratchet(spec);
    let mut s = t.receiver.clone();
    let mut rng = DetRng::new("ratchet-fuzz");
    match s.decrypt(&header, ct, templates::RATCHET_AD, &mut rng) {
        Ok((pt, _)) => {
            assert!(
                t.plaintexts.contains(&pt),
                "decrypted to something never sent"
            );
            assert!(
                s.decrypt(&header, ct, templates::RATCHET_AD, &mut rng)
                    .is_err(),
                "the same message decrypted twice"
            );
        }
        Err(_) => {
            assert!(
                s.state() == t.receiver.state(),
                "failed decryption changed the state"
            );
            assert_eq!(s.skipped_entries(), t.receiver.skipped_entries());
        }
    }
}

/// The engine's `decrypt` fed arbitrary bytes from an arbitrary sender, on a fixed state
/// (see [`templates::engine`]). Byte 0 selects the claimed sender (Alice, who has a live
/// session; Bob himself; Eve, a stranger; or a key made from the next 32 bytes). A direct
/// message that decrypts must be one somebody really sent; after a failure, the session
/// with Alice still decrypts her pending message (nothing wedged).
pub fn run_engine_decrypt(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let t = templates::engine();
    let (sender, bytes) = match sel % 4 {
        0 => (t.alice.clone(), rest),
        1 => (t.bob.clone(), rest),
        2 => (t.eve.clone(), rest),
        _ => {
            let Some(k) = rest.get(..32) else { return };
            let Ok(sk) = SecretKey::from_bytes(k) else {
                return;
            };
            (sk.public_key(), rest.get(32..).unwrap_or_default())
        }
    };
    let mut engine = t.open_bob();
    match engine.decrypt(&sender, bytes, &MessageId::from(b"fuzz")) {
        Ok(d) => {
            if d.kind == DeliveredKind::Direct {
                assert!(
                    t.plaintexts.contains(&d.plaintext),
                    "engine decrypted to something never sent"
                );
                // A forward-secret message is bound to its sender by the session lookup. The
                // no-bundle path (DH header) is not bound to any sender identity: there the
                // transport signature is the only authentication (docs/security.md §3).
                if d.forward_secret {
                    assert!(
                        t.sent_by.contains(&(sender.clone(), d.plaintext.clone())),
                        "a forward-secret message attributed to the wrong sender"
                    );
                }
            }
        }
        Err(_) => {
            let d = engine
                .decrypt(&t.alice, &t.pending.bytes, &MessageId::from(b"pending"))
                .expect("a failed decryption wedged the session with Alice");
            assert_eq!(d.plaintext, t.pending_plaintext);
        }
    }
}

/// The sender key of [`run_engine_decrypt`] for a selector byte (for seed generation).
pub fn engine_sender_byte(who: &PublicKey) -> u8 {
    let t = templates::engine();
    if *who == t.alice {
        0
    } else if *who == t.bob {
        1
    } else {
        2
    }
}

/// Opens a fixed-clock engine over a copy of `store`.
pub(crate) fn open_engine(store: pfs_store::MemoryStore, now_ns: i64, label: &str) -> Engine {
    Engine::open(
        Box::new(store),
        Box::new(ManualClock::new(now_ns)),
        Box::new(DetRng::new(label)),
        pfs_protocol::Config::default(),
    )
    .expect("template store opens")
}
