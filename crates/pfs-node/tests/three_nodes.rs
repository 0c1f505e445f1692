//! Three real nodes on 127.0.0.1 (random ports) in one process: A publishes, B
//! receives, C (connected to both) relays and is the store (mailserver). Covers live delivery over gossip, history
//! in arrival order, catch-up of a device that was offline, and a store restart on the
//! same SQLite file. Every wait is bounded (≤ 20 s), the whole test ≤ 90 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use pfs_node::{Keypair, Node, NodeConfig, NodeHandle, PeerId, StoreConfig};
use pfs_transport::transport::{
    CarriedEnvelope, EnvelopeMeta, HistoryQuery, Transport, TransportError, now_unix,
};

const TOPIC: [u8; 4] = [0xf8, 0x94, 0x6a, 0xac];
const OTHER_TOPIC: [u8; 4] = [0xcd, 0x42, 0x37, 0x60];
const WAIT: Duration = Duration::from_secs(20);

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pfs-node-{name}-{}-{}",
        std::process::id(),
        now_unix()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(peers: Vec<pfs_node::Multiaddr>) -> NodeConfig {
    NodeConfig {
        peers,
        heartbeat_interval: Duration::from_millis(200),
        redial_interval: Duration::from_millis(300),
        ..NodeConfig::default()
    }
}

fn store_config(db: &std::path::Path, key: &Keypair) -> NodeConfig {
    NodeConfig {
        store: Some(StoreConfig::new(db)),
        keypair: Some(key.clone()),
        ..config(vec![])
    }
}

/// Envelope number `id`: arbitrary bytes carrying the id (and some filler).
fn envelope(id: u32) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend(std::iter::repeat_n(
        (id % 251) as u8,
        200 + (id as usize % 50),
    ));
    v
}

fn id_of(e: &CarriedEnvelope) -> u32 {
    u32::from_be_bytes(e.envelope[..4].try_into().unwrap())
}

fn publish_range(node: &NodeHandle, ids: std::ops::Range<u32>) {
    let meta = EnvelopeMeta {
        topic: TOPIC,
        expiry_unix: now_unix() + 600,
    };
    for id in ids {
        node.publish(meta, envelope(id)).unwrap();
    }
}

fn all_history() -> HistoryQuery {
    HistoryQuery {
        topics: vec![TOPIC],
        since_unix: 0,
        until_unix: u64::MAX,
    }
}

/// Waits until `node` sees every peer of `peers` subscribed to the envelope gossip topic,
/// and `hub` has them in its gossipsub mesh.
fn wait_for_mesh(hub: &NodeHandle, leaves: &[&NodeHandle]) {
    let ids: Vec<PeerId> = leaves.iter().map(|n| n.peer_id()).collect();
    wait_until("the store's mesh to include the other nodes", || {
        let s = hub.status().unwrap();
        ids.iter().all(|p| s.mesh_peers.contains(p))
    });
    for leaf in leaves {
        wait_until("a node to see the store on the gossip topic", || {
            leaf.status().unwrap().gossip_peers.contains(&hub.peer_id())
        });
    }
}

#[test]
fn three_nodes_relay_store_and_catch_up() {
    let started = Instant::now();
    let dir = temp_dir("three");
    let db = dir.join("store.sqlite");
    let c_key = Keypair::generate_ed25519();

    // C: the store. A and B: devices connected to it.
    let c = Node::start(store_config(&db, &c_key)).unwrap();
    let c_addrs = c.listen_addrs();
    assert!(!c_addrs.is_empty());
    assert!(c_addrs[0].to_string().starts_with("/ip4/127.0.0.1/tcp/"));
    let a = Node::start(config(c_addrs.clone())).unwrap();
    let b = Node::start(config(c_addrs.clone())).unwrap();
    wait_for_mesh(&c, &[&a, &b]);
    wait_until("B to learn that C is a store", || {
        b.status().unwrap().stores == vec![c.peer_id()]
    });
    assert!(a.status().unwrap().stored.is_none());
    assert_eq!(c.status().unwrap().stored, Some(0));

    // 1. Live delivery: A publishes 100 envelopes, B (subscribed) receives all of them.
    let inbox = b.subscribe(&[TOPIC]).unwrap();
    let other = b.subscribe(&[OTHER_TOPIC]).unwrap();
    publish_range(&a, 0..100);
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    while got.len() < 100 {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "B received only {} of 100", got.len());
        if let Some(e) = inbox.recv_timeout(left).unwrap() {
            assert_eq!(e.meta.topic, TOPIC);
            assert_eq!(e.envelope, envelope(id_of(&e)), "bytes intact");
            assert!(got.insert(id_of(&e)), "no duplicate delivery");
        }
    }
    assert_eq!(got, (0..100).collect::<BTreeSet<_>>());
    assert_eq!(other.try_recv().unwrap(), None, "other topic gets nothing");

    // History from the store: all 100, in arrival (= publish, over one connection) order.
    wait_until("C to store 100", || c.status().unwrap().stored == Some(100));
    let history = b.fetch_history(Some(c.peer_id()), &all_history()).unwrap();
    assert_eq!(
        history.iter().map(id_of).collect::<Vec<_>>(),
        (0..100).collect::<Vec<_>>()
    );
    assert!(history.iter().all(|e| e.envelope == envelope(id_of(e))));
    // Through the Transport trait (store found via identify).
    let via_trait = Transport::fetch_history(&b, &all_history()).unwrap();
    assert_eq!(via_trait, history);
    // A topic nobody used: empty.
    let none = b
        .fetch_history(
            Some(c.peer_id()),
            &HistoryQuery {
                topics: vec![OTHER_TOPIC],
                since_unix: 0,
                until_unix: u64::MAX,
            },
        )
        .unwrap();
    assert!(none.is_empty());

    // 2. B goes offline; A publishes 100 more; B comes back and catches up from C.
    b.shutdown();
    drop(b);
    drop(inbox);
    let offline_since = now_unix();
    publish_range(&a, 100..200);
    wait_until("C to store 200", || c.status().unwrap().stored == Some(200));
    let b2 = Node::start(config(c_addrs.clone())).unwrap();
    wait_until("B to reconnect to C", || {
        b2.status().unwrap().connected.contains(&c.peer_id())
    });
    let missed = b2
        .fetch_history(
            Some(c.peer_id()),
            &HistoryQuery {
                topics: vec![TOPIC],
                since_unix: offline_since,
                until_unix: u64::MAX,
            },
        )
        .unwrap();
    let missed_ids: Vec<u32> = missed.iter().map(id_of).collect();
    assert!(
        (100..200).all(|id| missed_ids.contains(&id)),
        "B caught up on everything it missed"
    );
    assert!(
        missed_ids.windows(2).all(|w| w[0] < w[1]),
        "in arrival order"
    );

    // 3. C is stopped and restarted on the same SQLite file: nothing lost.
    let c_id = c.peer_id();
    c.shutdown();
    drop(c);
    wait_until("B to notice C is gone", || {
        !b2.status().unwrap().connected.contains(&c_id)
    });
    assert_eq!(
        b2.fetch_history(None, &all_history()),
        Err(TransportError::NoStore)
    );
    let c2 = Node::start(store_config(&db, &c_key)).unwrap();
    assert_eq!(c2.peer_id(), c_id, "same identity");
    assert_eq!(c2.status().unwrap().stored, Some(200));
    let c2_addrs = c2.listen_addrs();
    b2.add_peer(c2_addrs[0].clone()).unwrap();
    a.add_peer(c2_addrs[0].clone()).unwrap();
    wait_until("B to reconnect to the restarted C", || {
        b2.status().unwrap().connected.contains(&c_id)
    });
    let after_restart = b2.fetch_history(Some(c_id), &all_history()).unwrap();
    assert_eq!(
        after_restart.iter().map(id_of).collect::<Vec<_>>(),
        (0..200).collect::<Vec<_>>()
    );

    // Relaying works again through the restarted C.
    wait_for_mesh(&c2, &[&a, &b2]);
    let inbox2 = b2.subscribe(&[TOPIC]).unwrap();
    publish_range(&a, 200..201);
    let e = inbox2.recv_timeout(WAIT).unwrap().expect("envelope 200");
    assert_eq!(id_of(&e), 200);

    a.shutdown();
    b2.shutdown();
    c2.shutdown();
    assert!(a.listen_addrs().is_empty(), "shut down");
    assert_eq!(
        a.publish(
            EnvelopeMeta {
                topic: TOPIC,
                expiry_unix: now_unix() + 60
            },
            vec![1]
        ),
        Err(TransportError::Closed)
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn lone_nodes_report_typed_errors() {
    let dir = temp_dir("lone");
    let relay = Node::start(config(vec![])).unwrap();
    let meta = EnvelopeMeta {
        topic: TOPIC,
        expiry_unix: now_unix() + 60,
    };
    // Nobody to give it to.
    assert_eq!(
        relay.publish(meta, vec![1, 2, 3]),
        Err(TransportError::NoPeers)
    );
    assert_eq!(
        relay.fetch_history(None, &all_history()),
        Err(TransportError::NoStore)
    );
    assert!(matches!(
        relay.publish(
            EnvelopeMeta {
                topic: TOPIC,
                expiry_unix: now_unix() - 1000
            },
            vec![1]
        ),
        Err(TransportError::Expired { .. })
    ));
    assert!(matches!(
        relay.publish(
            meta,
            vec![0; pfs_transport::transport::MAX_ENVELOPE_SIZE + 1]
        ),
        Err(TransportError::TooLarge { .. })
    ));
    assert!(
        relay
            .add_peer("/ip4/127.0.0.1/udp/1".parse().unwrap())
            .is_err()
    );

    // A lone store keeps what it publishes, echoes it locally and serves it itself.
    let store = Node::start(store_config(
        &dir.join("s.sqlite"),
        &Keypair::generate_ed25519(),
    ))
    .unwrap();
    let sub = store.subscribe(&[TOPIC]).unwrap();
    store.publish(meta, vec![7; 10]).unwrap();
    store.publish(meta, vec![7; 10]).unwrap(); // duplicate: accepted, not repeated
    assert_eq!(
        sub.recv_timeout(WAIT).unwrap().unwrap().envelope,
        vec![7; 10]
    );
    assert_eq!(sub.recv_timeout(Duration::from_millis(200)).unwrap(), None);
    let h = Transport::fetch_history(&store, &all_history()).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].meta, meta);
    assert!(matches!(
        store.fetch_history(
            None,
            &HistoryQuery {
                topics: vec![],
                since_unix: 0,
                until_unix: 1
            }
        ),
        Err(TransportError::InvalidQuery(_))
    ));
    relay.shutdown();
    store.shutdown();
    std::fs::remove_dir_all(&dir).unwrap();
}
