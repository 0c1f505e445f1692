//! Interop with js-waku (interop/*.mjs: libp2p 2.8.11 + gossipsub 14.1.1 as a Waku relay
//! node, @waku/sdk 0.0.36 light node, @waku/message-encryption 0.0.38), on 127.0.0.1.
//!
//! Every message id is checked on both sides as computed independently: js prints the
//! 14/WAKU2-MESSAGE hash (`@waku/core` `messageHash`) and the gossipsub message id
//! (sha256 of the bytes), we compute [`waku::message_hash`] and sha256 of our encoding.
//! Every js child has a `--timeout-ms` and is killed when the test ends; every Rust wait
//! is bounded. Needs `node` and `npm` (`npm ci --prefix interop` runs once if needed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod js_harness;

use pfs_protocol::MessageId;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

use js_harness::{Js, run_once, s};
use pfs_crypto::OsRandom;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_node::{Multiaddr, Node, NodeConfig, NodeHandle, PeerId, StoreConfig};
use pfs_protocol::{Config, Engine, ManualClock};
use pfs_store::MemoryStore;
use pfs_transport::payload::{open_message, seal_message};
use pfs_transport::status::partitioned_topic;
use pfs_transport::transport::{CarriedMessage, HistoryQuery, Subscription, now_unix_ns};
use pfs_transport::waku::{self, WakuMessage};
use pfs_transport::{ContentTopic, OpenKey, SealKey, SymKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Bound of every wait on the Rust side (the machine is small and shared).
const WAIT: Duration = Duration::from_secs(45);
/// `--timeout-ms` of the js relay and light nodes.
const JS_TIMEOUT_MS: &str = "45000";
/// How long we wait for a js child to exit once it should (its own timeout, plus start-up
/// and bounded shutdown).
const JS_EXIT: Duration = Duration::from_secs(55);
const PUBSUB: &str = waku::DEFAULT_PUBSUB_TOPIC;

fn fast_config() -> NodeConfig {
    NodeConfig {
        heartbeat_interval: Duration::from_millis(200),
        redial_interval: Duration::from_millis(300),
        ..NodeConfig::default()
    }
}

fn start(config: NodeConfig) -> NodeHandle {
    Node::start(config).expect("node starts")
}

/// Our listen address over TCP (`ws = false`) or WebSocket.
fn addr(node: &NodeHandle, ws: bool) -> String {
    let addrs = node.listen_addrs();
    addrs
        .iter()
        .find(|a| {
            a.to_string().contains("/ws") == ws && a.to_string().starts_with("/ip4/127.0.0.1/")
        })
        .unwrap_or_else(|| panic!("no {} address in {addrs:?}", if ws { "ws" } else { "tcp" }))
        .to_string()
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn hx(b: &[u8]) -> String {
    hex::encode(b)
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s}: {e}"))
}

fn peer_of(line: &Value) -> PeerId {
    PeerId::from_str(s(line, "peer_id")).unwrap()
}

/// A message of ours on the default shard, timestamped now.
fn ours(content_topic: &str, payload: &[u8]) -> CarriedMessage {
    CarriedMessage::on_default_shard(WakuMessage {
        payload: payload.to_vec(),
        content_topic: content_topic.to_owned(),
        version: Some(0),
        timestamp: Some(now_unix_ns()),
        ..WakuMessage::default()
    })
}

/// Receives from `sub` until `n` messages satisfying `keep` arrived.
fn collect(
    sub: &Subscription,
    n: usize,
    keep: impl Fn(&CarriedMessage) -> bool,
) -> Vec<CarriedMessage> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < n {
        let left = WAIT.saturating_sub(start.elapsed());
        assert!(
            !left.is_zero(),
            "timed out: {} of {n} messages received",
            got.len()
        );
        if let Some(m) = sub
            .recv_timeout(left.min(Duration::from_millis(200)))
            .unwrap()
            && keep(&m)
        {
            got.push(m);
        }
    }
    got
}

/// Waits until `node` sees `peer` subscribed to the default pubsub topic.
fn wait_relay_peer(node: &NodeHandle, peer: PeerId) {
    wait_until("the js node to subscribe to the default shard", || {
        node.status().unwrap().relay_peers.contains(&peer)
    });
}

/// Checks one message as js printed it against our copy: same hash (computed by both),
/// payload, content topic, pubsub topic and timestamp.
fn assert_same(js: &Value, m: &CarriedMessage) {
    assert_eq!(s(js, "hash"), hx(&m.hash()), "hash: js {js} vs ours {m:?}");
    assert_eq!(s(js, "payload_hex"), hx(&m.message.payload), "{js}");
    assert_eq!(s(js, "content_topic"), m.message.content_topic, "{js}");
    assert_eq!(s(js, "pubsub_topic"), m.pubsub_topic, "{js}");
    assert_eq!(s(js, "timestamp"), m.timestamp_ns().to_string(), "{js}");
}

/// js lines keyed by their `hash`.
fn by_hash(lines: &[Value]) -> BTreeMap<String, Value> {
    lines
        .iter()
        .map(|l| (s(l, "hash").to_owned(), l.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// 1. relay both ways

/// Our node and `relay.mjs` publish `N` messages each to the other; both sides receive
/// all of them with the same message hashes (and js the gossipsub id sha256(our bytes)).
fn relay_both_ways(muxer: &str, ws: bool, content_topic: &str) {
    const N: usize = 5;
    let mut config = fast_config();
    if ws {
        config.listen = vec!["/ip4/127.0.0.1/tcp/0/ws".parse().unwrap()];
    }
    let node = start(config);
    let our_addr = addr(&node, ws);
    let sub = node.subscribe(&[content_topic.parse().unwrap()]).unwrap();
    let n = N.to_string();
    let mut args = vec![
        "--dial",
        &our_addr,
        "--content-topic",
        content_topic,
        "--publish",
        &n,
        "--expect",
        &n,
        "--interval-ms",
        "20",
        "--muxer",
        muxer,
        "--timeout-ms",
        JS_TIMEOUT_MS,
    ];
    if ws {
        args.extend(["--transport", "ws"]);
    }
    let mut js = Js::spawn("relay.mjs", &args);
    let listening = js.wait_event("listening", WAIT);
    let js_peer = peer_of(&listening);
    if ws {
        assert!(s(&listening, "addr").contains("/ws"), "{listening}");
    }
    wait_relay_peer(&node, js_peer);

    // ours -> js
    let mut sent = Vec::new();
    for i in 0..N {
        let m = ours(content_topic, format!("rs-{i}").as_bytes());
        let report = node.publish(m.clone()).unwrap();
        assert_eq!(report.relay_peers, 1, "{report:?}");
        sent.push(m);
    }
    // js -> ours (our subscription also sees our own messages: keep js's)
    let got = collect(&sub, N, |m| m.message.payload.starts_with(b"js-"));
    js.expect_exit(0, JS_EXIT);

    let published = js.events("published");
    assert_eq!(published.len(), N, "{}", js.diagnostics());
    for p in &published {
        let to_us = json!(node.peer_id().to_string());
        assert!(p["recipients"].as_array().unwrap().contains(&to_us), "{p}");
    }
    let js_published = by_hash(&published);
    let mut ours_seen = BTreeSet::new();
    for m in &got {
        let h = hx(&m.hash());
        let p = js_published.get(&h).unwrap_or_else(|| {
            panic!(
                "we received {m:?} (hash {h}) that js did not publish\n{}",
                js.diagnostics()
            )
        });
        assert_same(p, m);
        // our decoding loses nothing: re-encoded, it is js's gossipsub message
        assert_eq!(
            s(p, "msg_id"),
            hx(&Sha256::digest(waku::encode_message(&m.message))),
            "{p}"
        );
        assert!(ours_seen.insert(h), "duplicate delivery of {m:?}");
    }
    assert_eq!(ours_seen.len(), N);

    let received = js.events("received");
    assert_eq!(received.len(), N, "{}", js.diagnostics());
    let received = by_hash(&received);
    for m in &sent {
        let r = received
            .get(&hx(&m.hash()))
            .unwrap_or_else(|| panic!("js did not receive {m:?}\n{}", js.diagnostics()));
        assert_same(r, m);
        assert_eq!(
            s(r, "msg_id"),
            hx(&Sha256::digest(waku::encode_message(&m.message))),
            "{r}"
        );
        assert_eq!(s(r, "from"), node.peer_id().to_string(), "{r}");
        assert_eq!(r["version"], json!(0), "{r}");
    }
}

#[test]
fn relay_both_ways_yamux() {
    relay_both_ways("yamux", false, "/waku/1/0x0a000001/rfc26");
}

#[test]
fn relay_both_ways_mplex() {
    relay_both_ways("mplex", false, "/waku/1/0x0a000002/rfc26");
}

#[test]
fn relay_both_ways_websocket() {
    relay_both_ways("both", true, "/waku/1/0x0a000003/rfc26");
}

// ---------------------------------------------------------------------------------------
// 2. lightpush (v3 and legacy v2) into our relay+store node, then js store queries

#[test]
fn lightpush_then_store_query_from_js() {
    const V3: usize = 4;
    const V2: usize = 3;
    let ct = "/waku/1/0x0b000001/rfc26";
    let dir = tempfile::tempdir().unwrap();
    let node = start(NodeConfig {
        store: Some(StoreConfig::new(dir.path().join("archive.sqlite"))),
        ..fast_config()
    });
    let our_addr = addr(&node, false);
    let sub = node.subscribe(&[ct.parse().unwrap()]).unwrap();
    let our_peer = node.peer_id().to_string();

    let mut pushed = Vec::new();
    for (cmd, count, protocol) in [
        ("push", V3, "/vac/waku/lightpush/3.0.0"),
        ("push-legacy", V2, "/vac/waku/lightpush/2.0.0-beta1"),
    ] {
        let count_s = count.to_string();
        let mut js = Js::spawn(
            "light.mjs",
            &[
                cmd,
                "--peer",
                &our_addr,
                "--content-topic",
                ct,
                "--count",
                &count_s,
                "--interval-ms",
                "5",
                "--timeout-ms",
                JS_TIMEOUT_MS,
            ],
        );
        js.expect_exit(0, JS_EXIT);
        let lines = js.events("pushed");
        assert_eq!(lines.len(), count, "{}", js.diagnostics());
        for p in &lines {
            assert_eq!(p["ok"], json!(true), "{p}");
            assert_eq!(s(p, "protocol"), protocol, "{p}");
            assert_eq!(p["successes"], json!([our_peer]), "{p}");
            assert_eq!(p["failures"], json!([]), "{p}");
            let r = &p["response"];
            assert_eq!(s(r, "protocol"), protocol, "{p}");
            if cmd == "push" {
                assert_eq!(r["status_code"], json!(200), "{p}");
                // nobody to relay to: stored only
                assert_eq!(r["relay_peer_count"], json!(0), "{p}");
            } else {
                assert_eq!(r["is_success"], json!(true), "{p}");
            }
        }
        let done = js.wait_event("done", WAIT);
        assert_eq!(
            (done["ok"].as_u64(), done["failed"].as_u64()),
            (Some(count as u64), Some(0))
        );
        // our node delivered each pushed message locally, with the hash js computed
        let got = collect(&sub, count, |_| true);
        for (p, m) in lines.iter().zip(&got) {
            assert_same(p, m);
        }
        pushed.extend(got);
    }
    assert_eq!(node.status().unwrap().stored, Some((V3 + V2) as u64));

    // js store query, paged by 3: every message back, in push (= timestamp) order
    let mut js = Js::spawn(
        "light.mjs",
        &[
            "store",
            "--peer",
            &our_addr,
            "--content-topic",
            ct,
            "--page-size",
            "3",
            "--timeout-ms",
            JS_TIMEOUT_MS,
        ],
    );
    js.expect_exit(0, JS_EXIT);
    let messages = js.events("message");
    assert_eq!(messages.len(), V3 + V2, "{}", js.diagnostics());
    for (j, m) in messages.iter().zip(&pushed) {
        assert_same(j, m);
    }
    // the server's message_hash of each entry equals the hash js computed from the entry
    let server_hashes: Vec<String> = js
        .events("store_response")
        .iter()
        .inspect(|r| assert_eq!(r["status_code"], json!(200), "{r}"))
        .flat_map(|r| {
            r["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let js_hashes: Vec<String> = messages.iter().map(|m| s(m, "hash").to_owned()).collect();
    assert_eq!(server_hashes, js_hashes);
    let pages = js.events("page");
    assert_eq!(
        pages
            .iter()
            .map(|p| p["count"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [3, 3, 1]
    );
    let done = js.wait_event("done", WAIT);
    assert_eq!(
        (done["messages"].as_u64(), done["undecoded"].as_u64()),
        (Some(7), Some(0)),
        "{done}"
    );

    // and our own client reads the same from the archive
    let local = node
        .fetch_history(
            Some(node.peer_id()),
            &HistoryQuery::recent(vec![ct.parse().unwrap()], now_unix_ns(), 600),
        )
        .unwrap();
    assert_eq!(local, pushed);
}

// ---------------------------------------------------------------------------------------
// 3. js filter subscription fed by our node

#[test]
fn js_filter_receives_what_our_node_relays() {
    const N: usize = 3;
    let ct = "/waku/1/0x0c000001/rfc26";
    let node = start(fast_config());
    let our_addr = addr(&node, false);
    let expect = (2 * N).to_string();
    let mut filter = Js::spawn(
        "light.mjs",
        &[
            "filter",
            "--peer",
            &our_addr,
            "--content-topic",
            ct,
            "--expect",
            &expect,
            "--timeout-ms",
            JS_TIMEOUT_MS,
        ],
    );
    let subscribed = filter.wait_event("subscribed", WAIT);
    assert_eq!(s(&subscribed, "pubsub_topic"), PUBSUB);
    assert_eq!(s(&subscribed, "content_topic"), ct);
    assert_eq!(
        filter.events("filter_response")[0]["status_code"],
        json!(200)
    );
    assert_eq!(node.status().unwrap().filter_subscribers, 1);

    // N messages published by us (another content topic first: not pushed)
    let mut sent = Vec::new();
    node.publish(ours("/waku/1/0x0c0000ff/rfc26", b"not for the filter"))
        .unwrap_err();
    for i in 0..N {
        let m = ours(ct, format!("rs-filter-{i}").as_bytes());
        node.publish(m.clone()).unwrap();
        sent.push(m);
    }
    // each push is its own stream: the order of arrival is not the order of publishing
    let first = by_hash(&filter.wait_events("message", N, WAIT));
    assert_eq!(first.len(), N);
    for m in &sent {
        assert_same(
            first
                .get(&hx(&m.hash()))
                .unwrap_or_else(|| panic!("{m:?} not pushed")),
            m,
        );
    }
    // N messages published by a js relay node into our node
    let n = N.to_string();
    let mut relay = Js::spawn(
        "relay.mjs",
        &[
            "--dial",
            &our_addr,
            "--content-topic",
            ct,
            "--publish",
            &n,
            "--timeout-ms",
            JS_TIMEOUT_MS,
        ],
    );
    relay.expect_exit(0, JS_EXIT);
    filter.expect_exit(0, JS_EXIT);
    let messages = filter.events("message");
    assert_eq!(messages.len(), 2 * N, "{}", filter.diagnostics());
    let published = relay.events("published");
    assert_eq!(published.len(), N);
    let from_relay = by_hash(&messages[N..]);
    assert_eq!(from_relay.len(), N, "{}", filter.diagnostics());
    for p in &published {
        let j = from_relay
            .get(s(p, "hash"))
            .unwrap_or_else(|| panic!("{p} not pushed\n{}", filter.diagnostics()));
        for key in [
            "hash",
            "payload_hex",
            "timestamp",
            "content_topic",
            "pubsub_topic",
        ] {
            assert_eq!(j[key], p[key], "{key}: filter {j} vs relay {p}");
        }
    }
    let done = filter.wait_event("done", WAIT);
    assert_eq!(done["received"], json!(2 * N));
}

// ---------------------------------------------------------------------------------------
// 4. @waku/message-encryption: both directions, ECIES and symmetric, signed

struct JsKeys {
    secret: Vec<u8>,
    public_hex: String,
    sym: Vec<u8>,
}

fn js_keygen() -> JsKeys {
    let k = run_once("crypto.mjs", &["keygen"], Duration::from_secs(30));
    assert_eq!(k["event"], "keygen", "{k}");
    JsKeys {
        secret: unhex(s(&k, "private_key_hex")),
        public_hex: s(&k, "public_key_hex").to_owned(),
        sym: unhex(s(&k, "sym_key_hex")),
    }
}

#[test]
fn payload_encryption_both_ways_with_js() {
    let ct = "/waku/1/0x0d000001/rfc26";
    let js_recipient = js_keygen();
    let js_signer = js_keygen();
    let js_sig_pub = PublicKey::from_sec1(&unhex(&js_signer.public_hex)).unwrap();
    let js_pub = PublicKey::from_sec1(&unhex(&js_recipient.public_hex)).unwrap();
    let sym = SymKey::from_bytes(&js_recipient.sym).unwrap();
    let me = SecretKey::generate(&mut OsRandom).unwrap();
    let my_pub_hex = hx(&me.public_key().to_uncompressed());
    let payload = b"hello js-waku, from pfs (26/WAKU2-PAYLOAD v1)".to_vec();
    let timeout = Duration::from_secs(30);

    // ours -> js: sealed by pfs_transport::payload, opened by js's decoder
    for (kind, key, cmd, flag, js_key) in [
        (
            "ecies",
            SealKey::Asymmetric(&js_pub),
            "ecies-decrypt",
            "--priv",
            hx(&js_recipient.secret),
        ),
        (
            "symmetric",
            SealKey::Symmetric(&sym),
            "sym-decrypt",
            "--key",
            hx(&js_recipient.sym),
        ),
    ] {
        let msg = seal_message(
            &payload,
            Some(&me),
            key,
            ct.parse().unwrap(),
            now_unix_ns(),
            false,
            &mut OsRandom,
        )
        .unwrap();
        let wire = hx(&waku::encode_message(&msg));
        let d = run_once(
            "crypto.mjs",
            &[cmd, flag, &js_key, "--wire", &wire],
            timeout,
        );
        assert_eq!(d["event"], "decrypted", "{d}");
        assert_eq!(s(&d, "kind"), kind);
        assert_eq!(s(&d, "payload_hex"), hx(&payload), "{d}");
        assert_eq!(s(&d, "signature_public_key_hex"), my_pub_hex, "{d}");
        assert_eq!(d["version"], json!(1));
        assert_eq!(s(&d, "content_topic"), ct);
        // unsigned too
        let msg = seal_message(
            &payload,
            None,
            key,
            ct.parse().unwrap(),
            now_unix_ns(),
            false,
            &mut OsRandom,
        )
        .unwrap();
        let wire = hx(&waku::encode_message(&msg));
        let d = run_once(
            "crypto.mjs",
            &[cmd, flag, &js_key, "--wire", &wire],
            timeout,
        );
        assert_eq!(s(&d, "payload_hex"), hx(&payload), "{d}");
        assert_eq!(d["signature_public_key_hex"], Value::Null, "{d}");
    }

    // js -> ours: encrypted by js's encoder, opened by pfs_transport::payload
    let ts = now_unix_ns().to_string();
    let sym_hex = hx(&js_recipient.sym);
    let sig_priv = hx(&js_signer.secret);
    for (kind, cmd, flag, key) in [
        ("ecies", "ecies-encrypt", "--pub", my_pub_hex.as_str()),
        ("symmetric", "sym-encrypt", "--key", sym_hex.as_str()),
    ] {
        let e = run_once(
            "crypto.mjs",
            &[
                cmd,
                flag,
                key,
                "--sig-priv",
                &sig_priv,
                "--payload",
                &hx(&payload),
                "--content-topic",
                ct,
                "--timestamp",
                &ts,
            ],
            timeout,
        );
        assert_eq!(e["event"], "encrypted", "{e}");
        assert_eq!(s(&e, "kind"), kind);
        let msg = waku::decode_message(&unhex(s(&e, "wire_hex")), waku::DEFAULT_MAX_MESSAGE_SIZE)
            .unwrap();
        assert_eq!(msg.version, Some(1));
        assert_eq!(hx(&msg.payload), s(&e, "payload_hex"));
        assert_eq!(s(&e, "hash"), hx(&waku::message_hash(PUBSUB, &msg)), "{e}");
        let open_key = match kind {
            "ecies" => OpenKey::Asymmetric(&me),
            _ => OpenKey::Symmetric(&sym),
        };
        let opened = open_message(&msg, open_key).unwrap();
        assert_eq!(opened.payload, payload);
        assert_eq!(
            opened.signer.as_ref(),
            Some(&js_sig_pub),
            "{kind}: recovered signer"
        );
        // a wrong key fails on both sides
        let other = SecretKey::generate(&mut OsRandom).unwrap();
        let wrong_sym = SymKey::from_bytes(&[7u8; 32]).unwrap();
        let wrong = match kind {
            "ecies" => OpenKey::Asymmetric(&other),
            _ => OpenKey::Symmetric(&wrong_sym),
        };
        assert!(open_message(&msg, wrong).is_err());
    }

    // 14/WAKU2-MESSAGE hash of an arbitrary message, computed by js and by us
    let m = WakuMessage {
        payload: payload.clone(),
        content_topic: ct.to_owned(),
        meta: Some(b"meta".to_vec()),
        timestamp: Some(1_796_282_259_101_454_951),
        ..WakuMessage::default()
    };
    let h = run_once(
        "crypto.mjs",
        &[
            "hash",
            "--payload",
            &hx(&payload),
            "--content-topic",
            ct,
            "--timestamp",
            "1796282259101454951",
            "--meta",
            &hx(b"meta"),
        ],
        timeout,
    );
    assert_eq!(s(&h, "hash"), hx(&waku::message_hash(PUBSUB, &m)));
}

// ---------------------------------------------------------------------------------------
// 5. two pfs users, each on his own node, a js relay node in the middle

struct Person {
    secret: SecretKey,
    engine: Engine,
}

impl Person {
    fn new(clock: &ManualClock, name: &str) -> Self {
        let secret = SecretKey::generate(&mut OsRandom).unwrap();
        let engine = Engine::create_with_identity(
            Box::new(MemoryStore::new()),
            Box::new(clock.clone()),
            Box::new(OsRandom),
            Config::default(),
            &pfs_protocol::IdentityKeyPair::from_secret(secret.clone()),
            pfs_protocol::InstallationId::new(name).expect("installation id"),
        )
        .unwrap();
        Person { secret, engine }
    }

    fn id(&self) -> PublicKey {
        self.engine.identity().clone()
    }

    fn content_topic(&self) -> ContentTopic {
        waku::content_topic(&partitioned_topic(&self.id()))
    }

    /// Encrypts `text` for `to`: one WakuMessage per outgoing protocol message, sealed
    /// with ECIES to the recipient's identity key and signed with ours, on the
    /// recipient's partitioned topic.
    fn messages(&mut self, to: &PublicKey, text: &str) -> Vec<CarriedMessage> {
        let outs = self.engine.send(to, text.as_bytes()).unwrap();
        outs.iter()
            .map(|o| {
                let ct = waku::content_topic(&partitioned_topic(&o.recipient));
                let m = seal_message(
                    &o.bytes,
                    Some(&self.secret),
                    SealKey::Asymmetric(&o.recipient),
                    ct,
                    now_unix_ns(),
                    false,
                    &mut OsRandom,
                )
                .unwrap();
                CarriedMessage::on_default_shard(m)
            })
            .collect()
    }

    /// Opens a message addressed to us; the signer is the sender.
    fn receive(&mut self, m: &CarriedMessage) -> Option<(PublicKey, String)> {
        let opened = open_message(&m.message, OpenKey::Asymmetric(&self.secret)).ok()?;
        let sender = opened.signer?;
        let d = self
            .engine
            .decrypt(&sender, &opened.payload, &MessageId::from(&m.hash()))
            .ok()?;
        Some((sender, String::from_utf8(d.plaintext).unwrap()))
    }
}

/// `from` (on `from_node`) sends `text` to `to`, who receives it on `to_sub` and decrypts
/// it: the text and the authenticated sender match. Returns what was published.
fn say(
    from: &mut Person,
    from_node: &NodeHandle,
    to: &mut Person,
    to_sub: &Subscription,
    text: &str,
) -> Vec<CarriedMessage> {
    let msgs = from.messages(&to.id(), text);
    assert!(!msgs.is_empty());
    for m in &msgs {
        let report = from_node.publish(m.clone()).unwrap();
        assert_eq!(report.relay_peers, 1, "{report:?}");
    }
    let start = Instant::now();
    let (sender, got) = loop {
        assert!(start.elapsed() < WAIT, "timed out waiting for {text:?}");
        let Some(m) = to_sub.recv_timeout(Duration::from_millis(200)).unwrap() else {
            continue;
        };
        if let Some(r) = to.receive(&m) {
            break r;
        }
    };
    assert_eq!(got, text);
    assert_eq!(sender, from.id());
    msgs
}

#[test]
fn pfs_users_talk_through_a_js_relay_in_the_middle() {
    let js = Js::spawn("relay.mjs", &["--forward", "--timeout-ms", JS_TIMEOUT_MS]);
    let listening = js.wait_event("listening", WAIT);
    let js_peer = peer_of(&listening);
    let js_addr: Multiaddr = s(&listening, "addr").parse().unwrap();
    let a = start(NodeConfig {
        peers: vec![js_addr.clone()],
        ..fast_config()
    });
    let b = start(NodeConfig {
        peers: vec![js_addr],
        ..fast_config()
    });
    let clock = ManualClock::new(1_700_000_000_000_000_000);
    let mut alice = Person::new(&clock, "alice-phone");
    let mut bob = Person::new(&clock, "bob-laptop");
    let ab = alice.engine.own_bundle().unwrap();
    let bb = bob.engine.own_bundle().unwrap();
    alice.engine.process_bundle(&bb).unwrap();
    bob.engine.process_bundle(&ab).unwrap();
    let a_sub = a.subscribe(&[alice.content_topic()]).unwrap();
    let b_sub = b.subscribe(&[bob.content_topic()]).unwrap();

    // both meshes go through js, and A and B are not connected to each other
    wait_until("A and B in the js node's mesh", || {
        let sa = a.status().unwrap();
        let sb = b.status().unwrap();
        sa.mesh_peers.contains(&js_peer) && sb.mesh_peers.contains(&js_peer)
    });
    let grafted =
        |p: PeerId| move |v: &Value| v["event"] == "graft" && v["peer_id"] == json!(p.to_string());
    js.wait_for("js grafts A", WAIT, grafted(a.peer_id()));
    js.wait_for("js grafts B", WAIT, grafted(b.peer_id()));
    assert_eq!(a.status().unwrap().connected, vec![js_peer]);
    assert_eq!(b.status().unwrap().connected, vec![js_peer]);

    let mut relayed = Vec::new();
    for round in 0..3 {
        relayed.extend(say(
            &mut alice,
            &a,
            &mut bob,
            &b_sub,
            &format!("alice says hello #{round} via js-waku"),
        ));
        relayed.extend(say(
            &mut bob,
            &b,
            &mut alice,
            &a_sub,
            &format!("bob answers #{round} via js-waku"),
        ));
    }
    // js saw every one of them, with our hash and gossipsub id, and forwarded them
    for m in &relayed {
        let h = hx(&m.hash());
        let r = js.wait_for(&format!("js receiving {h}"), WAIT, |v| {
            v["event"] == "received" && v["hash"] == json!(h)
        });
        assert_same(&r, m);
        assert_eq!(
            s(&r, "msg_id"),
            hx(&Sha256::digest(waku::encode_message(&m.message)))
        );
        assert_eq!(r["version"], json!(1));
    }
    assert!(js.events("error").is_empty(), "{}", js.diagnostics());
}

// ---------------------------------------------------------------------------------------
// 6. metadata as js sees it

#[test]
fn js_light_node_sees_our_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(NodeConfig {
        store: Some(StoreConfig::new(dir.path().join("archive.sqlite"))),
        ..fast_config()
    });
    let our_addr = addr(&node, false);
    for (muxer, expected) in [("both", "/yamux/1.0.0"), ("mplex", "/mplex/6.7.0")] {
        let mut js = Js::spawn(
            "light.mjs",
            &[
                "store",
                "--peer",
                &our_addr,
                "--muxer",
                muxer,
                "--timeout-ms",
                JS_TIMEOUT_MS,
            ],
        );
        js.expect_exit(0, JS_EXIT);
        let c = js.wait_event("connected", WAIT);
        assert_eq!(
            c["metadata"],
            json!({"cluster_id": 16, "shards": [32, 64]}),
            "{c}"
        );
        assert_eq!(c["metadata_error"], Value::Null, "{c}");
        assert_eq!(s(&c, "peer_id"), node.peer_id().to_string());
        assert_eq!(s(&c, "muxer"), expected, "{c}");
        assert_eq!(s(&c, "encryption"), "/noise", "{c}");
        let protocols: BTreeSet<&str> = c["protocols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        for p in [
            "/ipfs/id/1.0.0",
            "/ipfs/ping/1.0.0",
            "/vac/waku/metadata/1.0.0",
            "/vac/waku/relay/2.0.0",
            "/vac/waku/store-query/3.0.0",
            "/vac/waku/lightpush/3.0.0",
            "/vac/waku/lightpush/2.0.0-beta1",
            "/vac/waku/filter-subscribe/2.0.0-beta1",
        ] {
            assert!(protocols.contains(p), "{p} missing from {c}");
        }
        // and the store then answers (empty archive: one empty page)
        let done = js.wait_event("done", WAIT);
        assert_eq!(done["messages"], json!(0), "{done}");
        let r = js.wait_event("store_response", WAIT);
        assert_eq!(r["status_code"], json!(200), "{r}");
    }
}

// ---------------------------------------------------------------------------------------
// 7. ENRs and peer exchange as js-waku sees them (interop/enr.mjs, @waku/enr 0.0.33,
//    @waku/discovery 0.0.13)

/// The TCP port of a `/ip4/…/tcp/P/p2p/…` address.
fn tcp_port(a: &str) -> u64 {
    let m: Multiaddr = a.parse().unwrap();
    m.iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(u64::from(port)),
            _ => None,
        })
        .unwrap()
}

#[test]
fn js_waku_decodes_our_enr() {
    // the harness first reads the EIP-778 example as the spec states it
    let eip = run_once(
        "enr.mjs",
        &[
            "decode",
            "--enr",
            "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8",
        ],
        JS_EXIT,
    );
    assert_eq!(
        s(&eip, "node_id"),
        "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
    );
    assert_eq!(eip["udp"], json!(30303));

    let dir = tempfile::tempdir().unwrap();
    let node = start(NodeConfig {
        store: Some(StoreConfig::new(dir.path().join("archive.sqlite"))),
        ..fast_config()
    });
    let enr = node.enr().expect("a relay node has an ENR");
    let text = enr.to_text();
    let js = run_once("enr.mjs", &["decode", "--enr", &text], JS_EXIT);
    assert_eq!(js["event"], json!("enr"), "{js}");
    // what js derives from the record against what libp2p and the OS told us
    assert_eq!(s(&js, "peer_id"), node.peer_id().to_string());
    assert_eq!(s(&js, "id"), "v4");
    assert_eq!(s(&js, "ip"), "127.0.0.1");
    let tcp = addr(&node, false);
    assert_eq!(js["tcp"], json!(tcp_port(&tcp)));
    assert_eq!(s(&js, "location"), tcp);
    assert_eq!(
        js["waku2"],
        json!({"relay": true, "store": true, "filter": true, "lightPush": true})
    );
    assert_eq!(s(&js, "seq"), enr.seq().to_string());
    assert_eq!(s(&js, "node_id"), hx(&enr.node_id()));
    assert_eq!(s(&js, "signature"), hx(enr.signature()));

    // a relay without a store, listening on WebSocket too: the ws address is in
    // `multiaddrs`, as js-waku decodes it
    let relay = start(NodeConfig {
        listen: vec![
            "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            "/ip4/127.0.0.1/tcp/0/ws".parse().unwrap(),
        ],
        ..fast_config()
    });
    let enr = relay.enr().unwrap();
    let js = run_once("enr.mjs", &["decode", "--enr", &enr.to_text()], JS_EXIT);
    assert_eq!(
        js["waku2"],
        json!({"relay": true, "store": false, "filter": true, "lightPush": true})
    );
    let ws = addr(&relay, true);
    let ws_location = ws.rsplit_once("/p2p/").unwrap().0;
    assert_eq!(js["multiaddrs"], json!([ws_location]), "{js}");
}

#[test]
fn js_peer_exchange_learns_the_store_through_our_relay() {
    let dir = tempfile::tempdir().unwrap();
    let store = start(NodeConfig {
        store: Some(StoreConfig::new(dir.path().join("archive.sqlite"))),
        ..fast_config()
    });
    let relay = start(NodeConfig {
        peers: store.listen_addrs(),
        ..fast_config()
    });
    wait_until("the relay learns the store's ENR", || {
        relay
            .status()
            .is_ok_and(|st| st.discovered_stores.contains(&store.peer_id()))
    });
    let mut js = Js::spawn(
        "enr.mjs",
        &[
            "px",
            "--peer",
            &addr(&relay, false),
            "--expect",
            "2",
            "--timeout-ms",
            JS_TIMEOUT_MS,
        ],
    );
    js.expect_exit(0, JS_EXIT);
    let resp = js.wait_event("px_response", WAIT);
    assert_eq!(s(&resp, "from"), relay.peer_id().to_string(), "{resp}");
    assert_eq!(resp["error"], Value::Null, "{resp}");
    let enrs = js.events("enr");
    assert_eq!(enrs.len(), 2, "{}", js.diagnostics());
    // ours first (documented difference), then the store's
    assert_eq!(s(&enrs[0], "peer_id"), relay.peer_id().to_string());
    assert_eq!(s(&enrs[1], "peer_id"), store.peer_id().to_string());
    assert_eq!(enrs[1]["waku2"]["store"], json!(true));
    assert_eq!(s(&enrs[1], "location"), addr(&store, false));
    let discovered: BTreeSet<String> = js
        .events("discovered")
        .iter()
        .map(|d| s(d, "peer_id").to_owned())
        .collect();
    assert!(
        discovered.contains(&store.peer_id().to_string()),
        "{}",
        js.diagnostics()
    );
}

/// `ContentTopic` accepts what js-waku's own `ensureValidContentTopic` accepts, except where
/// we are stricter on purpose (docs/architecture.md): a leading `/` (nwaku needs it) and a
/// generation field that is exactly `0` (js reads it with `parseInt`).
#[test]
fn content_topic_rules_agree_with_js_waku() {
    let same = [
        "/a/1/b/proto",
        "/0/myapp/1/mytopic/cbor",
        "/myapp/v1.1/mytopic/cbor",
        "/waku/1/0x01020304/rfc26",
        "/waku/2/default-content/proto",
        "/1/a/1/b/proto",
        "/a/1/b",
        "/a/1/b/proto/",
        "/a/1/b/proto/x/y",
        "//1/b/proto",
        "/a//b/proto",
        "/a/1//proto",
        "/a/1/b/",
        "a/1/b/proto",
        "",
        "/",
    ];
    let stricter = ["x/a/1/b/proto", "/0abc/a/1/b/proto"];
    let all: Vec<&str> = same.iter().chain(stricter.iter()).copied().collect();
    let js = run_once(
        "crypto.mjs",
        &["topic-check", "--topics", &json!(all).to_string()],
        Duration::from_secs(30),
    );
    assert_eq!(js["event"], "topics", "{js}");
    let verdicts = js["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), all.len(), "{js}");
    let mut accepted = 0;
    for (t, v) in all.iter().zip(verdicts) {
        assert_eq!(v["topic"], *t, "{js}");
        let js_valid = v["valid"].as_bool().unwrap();
        let ours = ContentTopic::new(*t);
        if stricter.contains(t) {
            assert!(js_valid, "js-waku accepts {t:?}: {v}");
            assert!(ours.is_err(), "we refuse {t:?}");
        } else {
            assert_eq!(ours.is_ok(), js_valid, "{t:?}: ours {ours:?}, js {v}");
        }
        accepted += usize::from(js_valid);
    }
    // both kinds of answer came from js
    assert!(accepted >= 5 && accepted < all.len(), "{js}");
}
