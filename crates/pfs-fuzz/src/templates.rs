//! The fixed states the harnesses start from, built once and deterministically, and the
//! real messages recorded while building them (the seed corpora).

use crate::{DetRng, SnapshotHandle, SnapshotStore, frame_ratchet, open_engine};
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{RandomSource, SecretBytes};
use pfs_protocol::MessageId;
use pfs_protocol::{Config, Engine, ManualClock, Outgoing};
use pfs_ratchet::{ConfirmMode, Limits, RatchetState, Session, SuiteId};
use pfs_store::MemoryStore;
use pfs_transport::{PowVariant, SealKey, SealOptions, SymKey, Topic};
use pfs_wire::pb;
use std::sync::OnceLock;

/// The associated-data prefix of the ratchet target.
pub const RATCHET_AD: &[u8] = b"pfs-fuzz associated data";

/// The fixed time of the engine target (ns since the Unix epoch).
pub const ENGINE_NOW: i64 = 1_700_000_000_000_000_000;

/// A receiving ratchet session with skipped keys, and what its peer sent.
#[derive(Debug)]
pub struct RatchetTemplate {
    /// Bob's session: received messages 0 and 3 of Alice's first chain (1 and 2 are
    /// skipped keys), replied once, and has not yet seen Alice's second chain.
    pub receiver: Session,
    /// Every plaintext Alice encrypted.
    pub plaintexts: Vec<Vec<u8>>,
    /// Framed messages (see [`frame_ratchet`]): all of Alice's messages.
    pub seeds: Vec<Vec<u8>>,
}

fn build_ratchet(spec: bool) -> RatchetTemplate {
    let mut rng = DetRng::new(if spec { "ratchet-spec" } else { "ratchet-sg" });
    let sk = SecretBytes::new(pfs_crypto::hash::sha256(b"pfs-fuzz shared secret"));
    let (a, b) = if spec {
        (
            RatchetState::new_spec_initiator(&sk, &mut rng).expect("spec initiator"),
            RatchetState::new_spec_responder(&sk).expect("spec responder"),
        )
    } else {
        let spk = pfs_ratchet::suite(SuiteId::StatusGo)
            .generate_keypair(&mut rng)
            .expect("spk");
        let public = spk.public.clone();
        (
            RatchetState::new_status_go_initiator(&sk, &public, &mut rng).expect("initiator"),
            RatchetState::new_status_go_responder(&sk, spk).expect("responder"),
        )
    };
    let mut alice = Session::new(a, Limits::default(), ConfirmMode::Immediate);
    let mut bob = Session::new(b, Limits::default(), ConfirmMode::Immediate);
    let mut plaintexts = Vec::new();
    let mut msgs = Vec::new();
    fn send(
        alice: &mut Session,
        i: usize,
        plaintexts: &mut Vec<Vec<u8>>,
        msgs: &mut Vec<(pfs_ratchet::Header, Vec<u8>)>,
    ) {
        let pt = format!("alice says {i}").into_bytes();
        let (h, ct) = alice.encrypt(&pt, RATCHET_AD).expect("encrypt");
        plaintexts.push(pt);
        msgs.push((h, ct));
    }
    for i in 0..5 {
        send(&mut alice, i, &mut plaintexts, &mut msgs);
    }
    for i in [0, 3] {
        let (h, ct) = &msgs[i];
        bob.decrypt(h, ct, RATCHET_AD, &mut rng)
            .expect("bob decrypts");
    }
    let (h, ct) = bob.encrypt(b"bob replies", RATCHET_AD).expect("reply");
    alice
        .decrypt(&h, &ct, RATCHET_AD, &mut rng)
        .expect("alice decrypts");
    for i in 5..8 {
        send(&mut alice, i, &mut plaintexts, &mut msgs);
    }
    let seeds = msgs
        .iter()
        .map(|(h, ct)| frame_ratchet(spec, h, ct))
        .collect();
    RatchetTemplate {
        receiver: bob,
        plaintexts,
        seeds,
    }
}

/// The ratchet template of one suite (status-go or, with `spec`, the X25519 suite).
pub fn ratchet(spec: bool) -> &'static RatchetTemplate {
    static SG: OnceLock<RatchetTemplate> = OnceLock::new();
    static SPEC: OnceLock<RatchetTemplate> = OnceLock::new();
    if spec {
        SPEC.get_or_init(|| build_ratchet(true))
    } else {
        SG.get_or_init(|| build_ratchet(false))
    }
}

/// Bob's engine state with a live session with Alice, and the messages around it.
#[derive(Debug)]
pub struct EngineTemplate {
    /// Alice's identity (has a session with Bob).
    pub alice: PublicKey,
    /// Bob's identity (the engine under test).
    pub bob: PublicKey,
    /// Eve's identity (a stranger without session).
    pub eve: PublicKey,
    store: MemoryStore,
    /// A message of Alice's Bob has not received yet (its key is a skipped key).
    pub pending: Outgoing,
    /// Its plaintext.
    pub pending_plaintext: Vec<u8>,
    /// Every plaintext anybody encrypted while building the template.
    pub plaintexts: Vec<Vec<u8>>,
    /// The same, with who encrypted it.
    pub sent_by: Vec<(PublicKey, Vec<u8>)>,
    /// Seed inputs of the engine target (selector byte ‖ message).
    pub seeds: Vec<Vec<u8>>,
    /// Every encoded `ProtocolMessage` produced.
    pub messages: Vec<Vec<u8>>,
    /// Every bundle produced.
    pub bundles: Vec<pb::Bundle>,
}

impl EngineTemplate {
    /// A fresh engine over a copy of Bob's store.
    pub fn open_bob(&self) -> Engine {
        open_engine(self.store.clone(), ENGINE_NOW, "bob-fuzz")
    }
}

fn device(label: &str, installation: &str) -> (Engine, SnapshotHandle) {
    let (store, handle) = SnapshotStore::new(MemoryStore::new());
    let sk = pfs_crypto::hash::sha256(label.as_bytes());
    let identity = pfs_x3dh::IdentityKeyPair::from_bytes(&sk).expect("identity");
    let installation = pfs_x3dh::InstallationId::new(installation).expect("installation id");
    let e = Engine::create_with_identity(
        Box::new(store),
        Box::new(ManualClock::new(ENGINE_NOW)),
        Box::new(DetRng::new(label)),
        Config::default(),
        &identity,
        installation,
    )
    .expect("device");
    (e, handle)
}

fn build_engine() -> EngineTemplate {
    let (mut alice, _) = device("alice", "alice-1");
    let (mut bob, bob_snap) = device("bob", "bob-1");
    let (mut eve, _) = device("eve", "eve-1");
    let (a, b, e) = (
        alice.identity().clone(),
        bob.identity().clone(),
        eve.identity().clone(),
    );
    let mut plaintexts = Vec::new();
    let mut seeds = Vec::new();
    let mut messages = Vec::new();
    let mut bundles = Vec::new();
    let bob_bundle = bob.own_bundle().expect("bundle");
    alice.process_bundle(&bob_bundle).expect("alice learns bob");
    bundles.push(bob_bundle);
    bundles.push(alice.own_bundle().expect("bundle"));
    bundles.push(eve.own_bundle().expect("bundle"));
    let mut sent = Vec::new();
    for i in 0..4 {
        let pt = format!("alice to bob {i}").into_bytes();
        let out = alice.encrypt_for(&b, &pt, false).expect("send");
        plaintexts.push(pt.clone());
        sent.push((out, pt));
    }
    for i in [0, 2] {
        let d = bob
            .decrypt(&a, &sent[i].0.bytes, &MessageId::from(&[i as u8]))
            .expect("bob receives");
        assert_eq!(d.plaintext, sent[i].1);
    }
    let reply = bob.encrypt_for(&a, b"bob to alice", false).expect("reply");
    plaintexts.push(b"bob to alice".to_vec());
    alice
        .decrypt(&b, &reply.bytes, &MessageId::from(b"r"))
        .expect("alice receives");
    let after = alice
        .encrypt_for(&b, b"alice after the turn", false)
        .expect("send");
    plaintexts.push(b"alice after the turn".to_vec());
    let from_eve = eve.encrypt_for(&b, b"eve to bob", false).expect("eve");
    plaintexts.push(b"eve to bob".to_vec());
    let public = alice.encrypt_public(b"a public message").expect("public");
    let to_self = bob.encrypt_for(&b, b"bob to himself", false).expect("self");
    plaintexts.push(b"bob to himself".to_vec());

    bob_snap.request();
    bob.contacts().expect("contacts");
    let store = bob_snap.take().expect("snapshot");

    let mut add = |sel: u8, out: &Outgoing| {
        let mut v = vec![sel];
        v.extend_from_slice(&out.bytes);
        seeds.push(v);
        messages.push(out.bytes.clone());
    };
    for (out, _) in &sent {
        add(0, out);
    }
    add(0, &after);
    add(0, &public);
    add(2, &from_eve);
    add(1, &reply);
    add(1, &to_self);
    let (pending, pending_plaintext) = sent.swap_remove(1);
    let mut sent_by: Vec<(PublicKey, Vec<u8>)> = Vec::new();
    for p in &plaintexts {
        let who = if p.starts_with(b"alice") {
            &a
        } else if p.starts_with(b"bob") {
            &b
        } else {
            &e
        };
        sent_by.push((who.clone(), p.clone()));
    }
    EngineTemplate {
        alice: a,
        bob: b,
        eve: e,
        store,
        pending,
        pending_plaintext,
        plaintexts,
        sent_by,
        seeds,
        messages,
        bundles,
    }
}

/// The engine template.
pub fn engine() -> &'static EngineTemplate {
    static T: OnceLock<EngineTemplate> = OnceLock::new();
    T.get_or_init(build_engine)
}

/// Envelopes made with the envelope target's keys (selector byte ‖ RLP): symmetric and
/// asymmetric, signed and unsigned, both PoW variants.
fn envelope_seeds() -> Vec<Vec<u8>> {
    let mut rng = DetRng::new("envelopes");
    let sym = SymKey::from_bytes(&crate::ENVELOPE_SYM_KEY).expect("key");
    let sk = SecretKey::from_bytes(&crate::ENVELOPE_ASYM_KEY).expect("key");
    let pk = sk.public_key();
    let signer = SecretKey::from_bytes(&[0x22; 32]).expect("key");
    let mut out = Vec::new();
    for sel in 0u8..8 {
        for signed in [false, true] {
            let mut payload = vec![0u8; usize::from(sel) * 17 + 3];
            rng.fill_bytes(&mut payload).expect("rng");
            let opts = SealOptions {
                now: crate::ENVELOPE_NOW - 5,
                ttl: 60,
                topic: Topic::from_string("pfs-fuzz"),
                pow_target: if sel & 4 == 0 { 0.0 } else { 0.002 },
                variant: if sel & 2 == 0 {
                    PowVariant::V1_5_2
                } else {
                    PowVariant::V1_4_10
                },
                max_iterations: 1 << 20,
                max_envelope_size: pfs_transport::envelope::DEFAULT_MAX_ENVELOPE_SIZE,
            };
            let key = if sel & 1 == 0 {
                SealKey::Symmetric(&sym)
            } else {
                SealKey::Asymmetric(&pk)
            };
            let env = pfs_transport::seal_message(
                &payload,
                signed.then_some(&signer),
                key,
                &opts,
                &mut rng,
            )
            .expect("seal");
            let mut v = vec![sel];
            v.extend_from_slice(&env.encode());
            out.push(v);
        }
    }
    out
}

/// Version 1 payloads made with the `waku_payload` target's keys: symmetric and
/// asymmetric, signed and unsigned, with 1-, 2- and 3-byte size fields.
fn waku_payload_seeds() -> Vec<Vec<u8>> {
    let mut rng = DetRng::new("waku-payloads");
    let sym = SymKey::from_bytes(&crate::WAKU_PAYLOAD_SYM_KEY).expect("key");
    let pk = SecretKey::from_bytes(&crate::WAKU_PAYLOAD_ASYM_KEY)
        .expect("key")
        .public_key();
    let signer = SecretKey::from_bytes(&[0x23; 32]).expect("key");
    let mut out = Vec::new();
    for (i, len) in [1usize, 30, 189, 300].into_iter().enumerate() {
        for signed in [false, true] {
            let mut payload = vec![0u8; len];
            rng.fill_bytes(&mut payload).expect("rng");
            let key = if i % 2 == 0 {
                SealKey::Symmetric(&sym)
            } else {
                SealKey::Asymmetric(&pk)
            };
            let data =
                pfs_transport::payload::seal(&payload, signed.then_some(&signer), key, &mut rng)
                    .expect("seal");
            out.push(data);
        }
    }
    out
}

/// Encoded WakuMessages: sealed version 1 messages (symmetric and asymmetric, signed or
/// not, ephemeral or not), the 14/WAKU2-MESSAGE hash-vector message with `meta`, and one with every
/// optional field.
fn waku_message_seeds() -> Vec<Vec<u8>> {
    use pfs_transport::waku::{self, WakuMessage};
    use pfs_wire::Message;
    let mut rng = DetRng::new("waku-messages");
    let sym = SymKey::from_bytes(&crate::WAKU_PAYLOAD_SYM_KEY).expect("key");
    let pk = SecretKey::from_bytes(&crate::WAKU_PAYLOAD_ASYM_KEY)
        .expect("key")
        .public_key();
    let signer = SecretKey::from_bytes(&[0x23; 32]).expect("key");
    let topic = waku::content_topic(&Topic::from_string("contact-discovery"));
    let mut out = Vec::new();
    for (key, ephemeral, signed) in [
        (SealKey::Symmetric(&sym), false, true),
        (SealKey::Symmetric(&sym), true, true),
        (SealKey::Symmetric(&sym), false, false),
        (SealKey::Asymmetric(&pk), false, true),
        (SealKey::Asymmetric(&pk), true, false),
    ] {
        let m = pfs_transport::payload::seal_message(
            b"pfs-fuzz waku message",
            signed.then_some(&signer),
            key,
            topic.clone(),
            crate::WAKU_NOW_NS,
            ephemeral,
            &mut rng,
        )
        .expect("seal");
        out.push(m.encode_to_vec());
    }
    out.push(
        WakuMessage {
            payload: b"\x01\x02\x03\x04TEST\x05\x06\x07\x08".to_vec(),
            content_topic: "/waku/2/default-content/proto".to_owned(),
            meta: Some(b"super-secret".to_vec()),
            timestamp: Some(0x1757_89bf_a23f_8400),
            ..WakuMessage::default()
        }
        .encode_to_vec(),
    );
    out.push(
        WakuMessage {
            payload: vec![0xab; 40],
            content_topic: "/waku/1/0xDEADBEEF/rfc26".to_owned(),
            version: Some(0),
            timestamp: Some(-1),
            meta: Some(vec![7; 64]),
            rate_limit_proof: Some(vec![9; 32]),
            ephemeral: Some(false),
        }
        .encode_to_vec(),
    );
    out
}

/// One populated encoding of each Waku request/response message of the `waku_rpc` target.
fn waku_rpc_seeds() -> Vec<Vec<u8>> {
    use pfs_transport::waku::{CLUSTER_ID, DEFAULT_PUBSUB_TOPIC, DEFAULT_SHARDS};
    use pfs_wire::Message;
    use pfs_wire::waku::{
        FilterSubscribeRequest, FilterSubscribeResponse, LightPushRequestV3, LightPushResponseV3,
        MessagePush, PushRequest, PushResponse, PushRpc, StoreQueryRequest, StoreQueryResponse,
        WakuMessage, WakuMessageKeyValue, WakuMetadataRequest, WakuMetadataResponse,
        filter_subscribe_request,
    };
    let msg = WakuMessage {
        payload: b"pfs-fuzz rpc".to_vec(),
        content_topic: "/waku/1/0x01020304/rfc26".to_owned(),
        version: Some(1),
        timestamp: Some(crate::WAKU_NOW_NS),
        ..WakuMessage::default()
    };
    let topic = Some(DEFAULT_PUBSUB_TOPIC.to_owned());
    let content_topics = vec![msg.content_topic.clone(), "/app/1/chat/proto".to_owned()];
    vec![
        WakuMetadataRequest {
            cluster_id: Some(CLUSTER_ID),
            shards: DEFAULT_SHARDS.to_vec(),
        }
        .encode_to_vec(),
        WakuMetadataResponse {
            cluster_id: Some(CLUSTER_ID),
            shards: vec![32],
        }
        .encode_to_vec(),
        LightPushRequestV3 {
            request_id: "req-1".to_owned(),
            pubsub_topic: topic.clone(),
            message: Some(msg.clone()),
        }
        .encode_to_vec(),
        LightPushResponseV3 {
            request_id: "req-1".to_owned(),
            status_code: 200,
            status_desc: Some("OK".to_owned()),
            relay_peer_count: Some(3),
        }
        .encode_to_vec(),
        PushRpc {
            request_id: "req-2".to_owned(),
            request: Some(PushRequest {
                pubsub_topic: DEFAULT_PUBSUB_TOPIC.to_owned(),
                message: Some(msg.clone()),
            }),
            response: None,
        }
        .encode_to_vec(),
        PushRpc {
            request_id: "req-2".to_owned(),
            request: None,
            response: Some(PushResponse {
                is_success: false,
                info: Some("no peers".to_owned()),
            }),
        }
        .encode_to_vec(),
        StoreQueryRequest {
            request_id: "req-3".to_owned(),
            include_data: true,
            pubsub_topic: topic.clone(),
            content_topics: content_topics.clone(),
            time_start: Some(crate::WAKU_NOW_NS - 60_000_000_000),
            time_end: Some(crate::WAKU_NOW_NS),
            message_hashes: vec![vec![0x11; 32]],
            pagination_cursor: Some(vec![0x22; 32]),
            pagination_forward: true,
            pagination_limit: Some(20),
        }
        .encode_to_vec(),
        StoreQueryResponse {
            request_id: "req-3".to_owned(),
            status_code: Some(200),
            status_desc: Some("OK".to_owned()),
            messages: vec![WakuMessageKeyValue {
                message_hash: Some(
                    pfs_transport::waku::message_hash(DEFAULT_PUBSUB_TOPIC, &msg).to_vec(),
                ),
                message: Some(msg.clone()),
                pubsub_topic: topic.clone(),
            }],
            pagination_cursor: Some(vec![0x33; 32]),
        }
        .encode_to_vec(),
        FilterSubscribeRequest {
            request_id: "req-4".to_owned(),
            filter_subscribe_type: filter_subscribe_request::FilterSubscribeType::Subscribe as i32,
            pubsub_topic: topic.clone(),
            content_topics,
        }
        .encode_to_vec(),
        FilterSubscribeResponse {
            request_id: "req-4".to_owned(),
            status_code: 200,
            status_desc: Some("OK".to_owned()),
        }
        .encode_to_vec(),
        MessagePush {
            waku_message: Some(msg),
            pubsub_topic: topic,
        }
        .encode_to_vec(),
    ]
}

/// The seed inputs of `target` that the harness itself can make (real engine, ratchet and
/// envelope runs). Vector-file seeds are added by the corpus generator test.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    use pfs_wire::Message;
    let t = engine();
    match target {
        "wire_decode" => {
            let mut v = t.messages.clone();
            v.extend(t.bundles.iter().map(|b| b.encode_to_vec()));
            for m in &t.messages {
                if let Ok(pm) = pb::ProtocolMessage::decode(m.as_slice()) {
                    for e in pm.direct_message {
                        if let Some(d) = e.message {
                            v.push(d.encode_to_vec());
                            if let Some(h) = &d.dr_header {
                                v.push(h.encode_to_vec());
                            }
                            if let Some(h) = &d.x3dh_header {
                                v.push(h.encode_to_vec());
                            }
                            if let Some(h) = &d.dh_header {
                                v.push(h.encode_to_vec());
                            }
                        }
                    }
                }
            }
            v
        }
        "contact_code" => t
            .bundles
            .iter()
            .map(|b| pfs_x3dh::contact_code(b).into_bytes())
            .collect(),
        "bundle_verify" => t.bundles.iter().map(|b| b.encode_to_vec()).collect(),
        "envelope_open" => envelope_seeds(),
        "ratchet_decrypt" => {
            let mut v = ratchet(false).seeds.clone();
            v.extend(ratchet(true).seeds.iter().cloned());
            v
        }
        "engine_decrypt" => t.seeds.clone(),
        "waku_message" => waku_message_seeds(),
        "waku_payload" => waku_payload_seeds(),
        "waku_rpc" => waku_rpc_seeds(),
        "app_layer" => app_layer_seeds(),
        _ => Vec::new(),
    }
}

/// Real application-layer messages: a text wrapper, a contact request in MVDS (as the
/// messenger sends them from key 1 to key 2, the harness's fixed keys), an ack, segments.
fn app_layer_seeds() -> Vec<Vec<u8>> {
    use pfs_app::messenger::{Config, MemoryRecords, Messenger};
    let (Ok(a), Ok(b)) = (
        pfs_crypto::secp256k1::SecretKey::from_bytes(&[1; 32]),
        pfs_crypto::secp256k1::SecretKey::from_bytes(&[2; 32]),
    ) else {
        return Vec::new();
    };
    let m = Messenger::new(a, Config::default());
    let mut r = MemoryRecords::default();
    let mut out = Vec::new();
    let to = b.public_key();
    if let Ok(o) = m.text(&mut r, &to, "hello", None, 500) {
        out.push(pfs_app::mvds::ack_payload(&o.mvds_ids));
        out.push(o.plaintext);
    }
    if let Ok(o) = m.contact_request(&mut r, &to, "let's talk", 600) {
        out.push(o.plaintext);
    }
    if let Ok(o) = m.accept_contact_request(&mut r, &to, &[7; 32], 700) {
        out.push(o.plaintext);
    }
    if let Ok(w) = m.contact_code_advertisement() {
        out.push(w);
    }
    let payload: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
    if let Ok(segs) = pfs_app::segment::split(&payload, 64) {
        out.extend(segs);
    }
    out
}
