//! Alice and Bob, each with a protocol engine, talk through real nodes on 127.0.0.1:
//! signed, ECIES-encrypted envelopes on the recipient's partitioned topic, relayed by
//! gossip, kept by a store node. 100 messages each way, delivered in order and out of
//! order; Bob offline while Alice writes, catching up from the store; the store node
//! killed and restarted mid-conversation loses nothing. Loopback only, bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_crypto::OsRandom;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_node::{Keypair, Node, NodeConfig, NodeHandle, StoreConfig};
use pfs_protocol::{Config, Engine, ManualClock};
use pfs_store::MemoryStore;
use pfs_transport::envelope::{
    OpenKey, OpenOptions, SealKey, SealOptions, open_bytes, seal_message,
};
use pfs_transport::pow::PowVariant;
use pfs_transport::status::partitioned_topic;
use pfs_transport::transport::{CarriedEnvelope, EnvelopeMeta, HistoryQuery, now_unix};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
const TTL: u32 = 60;

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
            secret.to_bytes().expose(),
            name,
        )
        .unwrap();
        Self { secret, engine }
    }

    fn id(&self) -> PublicKey {
        self.engine.identity().clone()
    }

    /// Encrypts `text` for `to` and seals it in envelopes (peer message first).
    fn envelopes(&mut self, to: &PublicKey, text: &str) -> Vec<CarriedEnvelope> {
        let outs = self.engine.send(to, text.as_bytes()).unwrap();
        outs.iter()
            .map(|o| {
                let topic = partitioned_topic(&o.recipient);
                let opts = SealOptions {
                    now: now_unix() as u32,
                    ttl: TTL,
                    topic,
                    pow_target: 0.002,
                    variant: PowVariant::V1_5_2,
                    max_iterations: 1 << 24,
                    max_envelope_size: 1 << 20,
                };
                let env = seal_message(
                    &o.bytes,
                    Some(&self.secret),
                    SealKey::Asymmetric(&o.recipient),
                    &opts,
                    &mut OsRandom,
                )
                .unwrap();
                CarriedEnvelope {
                    meta: EnvelopeMeta {
                        topic: *topic.as_bytes(),
                        expiry_unix: u64::from(env.expiry),
                    },
                    envelope: env.encode(),
                }
            })
            .collect()
    }

    /// Opens an envelope addressed to us and decrypts it: the signer is the sender.
    fn receive(&mut self, env: &CarriedEnvelope) -> Option<String> {
        let opts = OpenOptions {
            now: now_unix() as u32,
            variant: PowVariant::V1_5_2,
            min_pow: 0.001,
            max_envelope_size: 1 << 20,
        };
        let (e, opened) =
            open_bytes(&env.envelope, OpenKey::Asymmetric(&self.secret), &opts).ok()?;
        let sender = opened.signer?;
        let d = self
            .engine
            .decrypt(&sender, &opened.payload, &e.hash())
            .ok()?;
        Some(String::from_utf8(d.plaintext).unwrap())
    }

    fn topic(&self) -> [u8; 4] {
        *partitioned_topic(&self.id()).as_bytes()
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn node(
    peers: Vec<pfs_node::Multiaddr>,
    store: Option<(&std::path::Path, &Keypair)>,
) -> NodeHandle {
    let mut cfg = NodeConfig {
        peers,
        heartbeat_interval: Duration::from_millis(200),
        redial_interval: Duration::from_millis(300),
        ..NodeConfig::default()
    };
    if let Some((db, key)) = store {
        cfg.store = Some(StoreConfig::new(db));
        cfg.keypair = Some(key.clone());
    }
    Node::start(cfg).unwrap()
}

/// Delivers every envelope of `sub` until `expected` texts decrypted (any order).
fn drain(
    person: &mut Person,
    sub: &pfs_transport::transport::Subscription,
    expected: usize,
) -> Vec<String> {
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < expected {
        assert!(
            start.elapsed() < WAIT,
            "timed out: {} of {expected} received",
            got.len()
        );
        if let Ok(Some(env)) = sub.try_recv() {
            if let Some(t) = person.receive(&env) {
                got.push(t);
            }
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    got
}

/// 50 messages published in a burst in reverse order; all must arrive exactly once.
fn burst_reversed(
    from: &mut Person,
    to: &mut Person,
    from_node: &NodeHandle,
    to_sub: &pfs_transport::transport::Subscription,
    tag: &str,
) {
    let mut envs = Vec::new();
    for i in 0..50 {
        envs.extend(from.envelopes(&to.id(), &format!("{tag}{i}")));
    }
    for env in envs.iter().rev() {
        from_node.publish(env.meta, env.envelope.clone()).unwrap();
    }
    let mut got = drain(to, to_sub, 50);
    got.sort();
    let mut want: Vec<String> = (0..50).map(|i| format!("{tag}{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn alice_and_bob_talk_through_three_nodes() {
    let dir = std::env::temp_dir().join(format!(
        "pfs-node-conv-{}-{}",
        std::process::id(),
        now_unix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("mailserver.sqlite");
    let store_key = Keypair::generate_ed25519();
    let clock = ManualClock::new(1_700_000_000_000_000_000);
    let mut alice = Person::new(&clock, "alice-phone");
    let mut bob = Person::new(&clock, "bob-laptop");
    // contact codes exchanged out of band
    let ab = alice.engine.own_bundle().unwrap();
    let bb = bob.engine.own_bundle().unwrap();
    alice.engine.process_bundle(&bb).unwrap();
    bob.engine.process_bundle(&ab).unwrap();

    let c = node(vec![], Some((&db, &store_key)));
    let c_addr = c.listen_addrs()[0].clone();
    let a = node(vec![c_addr.clone()], None);
    let b = node(vec![c_addr.clone()], None);
    let a_sub = a.subscribe(&[alice.topic()]).unwrap();
    let b_sub = b.subscribe(&[bob.topic()]).unwrap();
    wait_until("mesh", || {
        a.status().map(|s| !s.connected.is_empty()).unwrap_or(false)
            && b.status().map(|s| !s.connected.is_empty()).unwrap_or(false)
    });
    std::thread::sleep(Duration::from_millis(800));

    // 1. 100 messages each way, in order (each sent after the previous one arrived)
    for i in 0..50 {
        for env in alice.envelopes(&bob.id(), &format!("a{i}")) {
            a.publish(env.meta, env.envelope).unwrap();
        }
        assert_eq!(drain(&mut bob, &b_sub, 1), [format!("a{i}")]);
        for env in bob.envelopes(&alice.id(), &format!("b{i}")) {
            b.publish(env.meta, env.envelope).unwrap();
        }
        assert_eq!(drain(&mut alice, &a_sub, 1), [format!("b{i}")]);
    }
    // ... and out of order: 50 each way published in a burst, delivered reversed
    burst_reversed(&mut alice, &mut bob, &a, &b_sub, "A");
    burst_reversed(&mut bob, &mut alice, &b, &a_sub, "B");

    // 2. Bob goes offline; Alice writes; Bob catches up from the store on start
    b.shutdown();
    drop(b_sub);
    let since = now_unix();
    let mut offline = Vec::new();
    for i in 0..20 {
        for env in alice.envelopes(&bob.id(), &format!("offline{i}")) {
            offline.push(env.envelope.clone());
            a.publish(env.meta, env.envelope).unwrap();
        }
    }
    // 3. the store node is killed and restarted mid-conversation, once it holds every
    // envelope of the offline messages (the history since `since`, a whole second, can
    // also hold envelopes of the bursts above: counting them is not enough)
    wait_until("store holds the offline messages", || {
        c.fetch_history(
            None,
            &HistoryQuery {
                topics: vec![bob.topic()],
                since_unix: since,
                until_unix: now_unix() + 1,
            },
        )
        .map(|h| offline.iter().all(|o| h.iter().any(|e| &e.envelope == o)))
        .unwrap_or(false)
    });
    c.shutdown();
    drop(c);
    let c = node(vec![], Some((&db, &store_key)));
    let b = node(vec![c.listen_addrs()[0].clone()], None);
    a.add_peer(c.listen_addrs()[0].clone()).unwrap();
    let mut history = Vec::new();
    wait_until("history from the restarted store", || {
        history = b
            .fetch_history(
                None,
                &HistoryQuery {
                    topics: vec![bob.topic()],
                    since_unix: since,
                    until_unix: now_unix() + 1,
                },
            )
            .unwrap_or_default();
        offline
            .iter()
            .all(|o| history.iter().any(|e| &e.envelope == o))
    });
    let mut texts: BTreeMap<String, usize> = BTreeMap::new();
    for env in &history {
        if let Some(t) = bob.receive(env) {
            *texts.entry(t).or_default() += 1;
        }
    }
    for i in 0..20 {
        assert_eq!(
            texts.get(&format!("offline{i}")),
            Some(&1),
            "offline{i} lost or duplicated"
        );
    }
    // the conversation goes on after the restart
    let a_sub2 = a.subscribe(&[alice.topic()]).unwrap();
    wait_until("reconnected", || {
        b.status().map(|s| !s.connected.is_empty()).unwrap_or(false)
    });
    std::thread::sleep(Duration::from_millis(800));
    for env in bob.envelopes(&alice.id(), "back online") {
        b.publish(env.meta, env.envelope).unwrap();
    }
    assert_eq!(drain(&mut alice, &a_sub2, 1), ["back online"]);
    a.shutdown();
    b.shutdown();
    c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
