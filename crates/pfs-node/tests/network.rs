//! Rust-only network tests of the Waku node on 127.0.0.1: three relay nodes, a light
//! node catching up from a store after being offline, a store SIGKILLed and restarted
//! (nothing stored lost, same peer id), a peer of another cluster.
//!
//! The SIGKILL test re-runs this test binary with `--ignored --exact store_child` and the
//! `PFS_NODE_CHILD` environment variable naming the archive and key files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pfs_node::{Multiaddr, Node, NodeConfig, NodeHandle, NodeMode, StoreConfig};
use pfs_transport::transport::{CarriedMessage, HistoryQuery, Transport, now_unix_ns};
use pfs_transport::waku::WakuMessage;
use pfs_transport::{ContentTopic, Topic};

const CHILD_ENV: &str = "PFS_NODE_CHILD";

fn topic(n: u8) -> ContentTopic {
    ContentTopic::from_topic(&Topic([0, 0, 0, n]))
}

fn msg(content_topic: &ContentTopic, text: &str) -> CarriedMessage {
    CarriedMessage::on_default_shard(WakuMessage {
        payload: text.as_bytes().to_vec(),
        content_topic: content_topic.to_string(),
        version: Some(1),
        timestamp: Some(now_unix_ns()),
        ..WakuMessage::default()
    })
}

fn relay(peers: Vec<Multiaddr>) -> NodeHandle {
    Node::start(NodeConfig {
        peers,
        heartbeat_interval: Duration::from_millis(200),
        ..NodeConfig::default()
    })
    .unwrap()
}

/// A relay node that is also a store, its archive at `path`.
fn store_node(path: std::path::PathBuf) -> NodeHandle {
    Node::start(NodeConfig {
        store: Some(StoreConfig::new(path)),
        heartbeat_interval: Duration::from_millis(200),
        ..NodeConfig::default()
    })
    .unwrap()
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mesh_ready(n: &NodeHandle, peers: usize) -> bool {
    n.status().is_ok_and(|s| s.relay_peers.len() >= peers)
}

fn texts(list: &[CarriedMessage]) -> Vec<String> {
    list.iter()
        .map(|m| String::from_utf8_lossy(&m.message.payload).into_owned())
        .collect()
}

#[test]
fn three_relay_nodes_deliver_each_message_once() {
    let b = relay(vec![]);
    let a = relay(b.listen_addrs());
    let c = relay(b.listen_addrs());
    wait_until("mesh", 20, || {
        mesh_ready(&a, 1) && mesh_ready(&c, 1) && mesh_ready(&b, 2)
    });
    let inbox = c.subscribe(&[topic(1)]).unwrap();
    let other = c.subscribe(&[topic(2)]).unwrap();
    let mut sent = Vec::new();
    for i in 0..20 {
        let m = msg(&topic(1), &format!("m{i}"));
        sent.push(m.hash());
        let r = a.publish(m).unwrap();
        assert_eq!(r.relay_peers, 1, "A's only relay peer is B");
    }
    let mut got = Vec::new();
    while got.len() < 20 {
        let m = inbox
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("message reaches C through B");
        got.push(m.hash());
    }
    assert_eq!(got, sent, "every message once, in order, same hash");
    assert_eq!(
        inbox.recv_timeout(Duration::from_millis(500)).unwrap(),
        None
    );
    assert_eq!(other.try_recv().unwrap(), None, "other content topic");
    // the metadata exchange kept everyone connected (same cluster)
    assert_eq!(b.status().unwrap().connected.len(), 2);
}

#[test]
fn light_node_catches_up_from_the_store_after_being_offline() {
    let dir = tempfile::tempdir().unwrap();
    let service = store_node(dir.path().join("archive.sqlite"));
    let sender = relay(service.listen_addrs());
    wait_until("mesh", 20, || mesh_ready(&sender, 1));
    for i in 0..10 {
        sender
            .publish(msg(&topic(3), &format!("offline {i}")))
            .unwrap();
    }
    wait_until("archive", 10, || {
        service.status().unwrap().stored == Some(10)
    });
    // the light node comes online only now
    let light = Node::start(NodeConfig {
        mode: NodeMode::Light,
        peers: service.listen_addrs(),
        ..NodeConfig::default()
    })
    .unwrap();
    let inbox = light.subscribe(&[topic(3)]).unwrap();
    wait_until("filter subscription", 10, || {
        light.status().unwrap().filter_subscribed
    });
    let q = HistoryQuery::recent(vec![topic(3)], now_unix_ns(), 3600);
    let history = Transport::fetch_history(&light, &q).unwrap();
    assert_eq!(
        texts(&history),
        (0..10).map(|i| format!("offline {i}")).collect::<Vec<_>>()
    );
    // live messages reach the light node through its filter subscription
    for i in 0..5 {
        sender
            .publish(msg(&topic(3), &format!("live {i}")))
            .unwrap();
    }
    let mut live = Vec::new();
    while live.len() < 5 {
        let m = inbox
            .recv_timeout(Duration::from_secs(10))
            .unwrap()
            .expect("filter push");
        live.push(String::from_utf8_lossy(&m.message.payload).into_owned());
    }
    assert_eq!(
        live,
        (0..5).map(|i| format!("live {i}")).collect::<Vec<_>>()
    );
    // and what the light node lightpushes reaches the relay network
    let relay_inbox = sender.subscribe(&[topic(4)]).unwrap();
    let r = light.publish(msg(&topic(4), "from light")).unwrap();
    assert_eq!(
        r.relay_peers, 1,
        "the service node relayed it to the sender"
    );
    let m = relay_inbox
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("lightpushed message relayed");
    assert_eq!(m.message.payload, b"from light");
    // an invalid message is refused (before it is sent)
    let mut bad = msg(&topic(4), "x");
    bad.message.timestamp = Some(now_unix_ns() - 60_000_000_000);
    assert!(light.publish(bad).is_err());
}

/// The child of [`store_survives_sigkill_and_keeps_its_peer_id`]: a store node that prints
/// its address and runs until killed.
#[test]
#[ignore]
fn store_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (db, key) = spec.split_once('|').unwrap();
    let node = Node::start(NodeConfig {
        store: Some(StoreConfig::new(db)),
        keypair: Some(pfs_node::load_or_create_key(std::path::Path::new(key)).unwrap()),
        heartbeat_interval: Duration::from_millis(200),
        ..NodeConfig::default()
    })
    .unwrap();
    for a in node.listen_addrs() {
        println!("listening on {a}");
    }
    println!("ready");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_child(db: &std::path::Path, key: &std::path::Path) -> (Killed, Multiaddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "store_child", "--nocapture"])
        .env(CHILD_ENV, format!("{}|{}", db.display(), key.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let addr = std::io::BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned))
        .expect("child prints its address");
    (Killed(child), addr.parse().unwrap())
}

#[test]
fn store_survives_sigkill_and_keeps_its_peer_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.sqlite");
    let key = dir.path().join("node.key");
    let (child, addr) = start_child(&db, &key);
    let client = relay(vec![addr.clone()]);
    wait_until("mesh", 20, || mesh_ready(&client, 1));
    let mut sent = Vec::new();
    for i in 0..30 {
        let m = msg(&topic(5), &format!("kept {i}"));
        sent.push(m.hash());
        client.publish(m).unwrap();
    }
    let q = HistoryQuery::recent(vec![topic(5)], now_unix_ns(), 3600);
    // stored as soon as the store answers with all of them
    wait_until("store", 20, || {
        client.fetch_history(None, &q).map(|l| l.len()).unwrap_or(0) == 30
    });
    drop(child); // SIGKILL
    drop(client);
    let (_child, addr2) = start_child(&db, &key);
    let peer = |a: &Multiaddr| a.to_string().rsplit("/p2p/").next().map(str::to_owned);
    assert_eq!(peer(&addr), peer(&addr2), "same key file, same peer id");
    let client = relay(vec![addr2]);
    let mut got = Vec::new();
    wait_until("store after restart", 20, || {
        got = client.fetch_history(None, &q).unwrap_or_default();
        got.len() == 30
    });
    let hashes: Vec<[u8; 32]> = got.iter().map(CarriedMessage::hash).collect();
    let a: HashSet<_> = hashes.iter().collect();
    let b: HashSet<_> = sent.iter().collect();
    assert_eq!(a, b, "nothing stored was lost");
}

#[test]
fn a_peer_of_another_cluster_is_disconnected() {
    let a = relay(vec![]);
    let stranger = Node::start(NodeConfig {
        peers: a.listen_addrs(),
        cluster_id: 99,
        shards: vec![1],
        // redialled every 200 ms if it were still a configured peer
        redial_interval: Duration::from_millis(200),
        ..NodeConfig::default()
    })
    .unwrap();
    let friend = relay(a.listen_addrs());
    wait_until("friend in the mesh", 20, || mesh_ready(&a, 1));
    wait_until("stranger disconnected", 10, || {
        let st = a.status().unwrap();
        !st.connected.contains(&stranger.peer_id())
            && stranger.status().unwrap().connected.is_empty()
    });
    // and it stays so (neither side dials again) while the friend stays connected
    std::thread::sleep(Duration::from_secs(2));
    let st = a.status().unwrap();
    assert!(!st.connected.contains(&stranger.peer_id()), "{st:?}");
    assert!(st.connected.contains(&friend.peer_id()), "{st:?}");
}

#[test]
fn history_of_more_than_100_content_topics_is_asked_in_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_node(dir.path().join("a.sqlite"));
    let topics: Vec<ContentTopic> = (0..300)
        .map(|i| format!("/app/1/t{i}/proto").parse().unwrap())
        .collect();
    // alone, the store node archives what it publishes itself
    for i in [250usize, 5, 150] {
        let r = store.publish(msg(&topics[i], &format!("on {i}"))).unwrap();
        assert!(r.stored);
        std::thread::sleep(Duration::from_millis(2));
    }
    let client = relay(store.listen_addrs());
    wait_until("store known", 10, || {
        client.status().is_ok_and(|s| !s.stores.is_empty())
    });
    let q = HistoryQuery::recent(topics, now_unix_ns(), 3600);
    let got = client.fetch_history(None, &q).unwrap();
    assert_eq!(texts(&got), ["on 250", "on 5", "on 150"], "chronological");
    // a publish that reaches nobody is an error with no effect
    let lonely = relay(vec![]);
    assert_eq!(
        lonely.publish(msg(&topic(9), "nobody")),
        Err(pfs_transport::transport::TransportError::NoPeers)
    );
}

/// A store node S (archive in `dir`) and a relay R dialling it, once R has learned S's
/// record (which announces the store) by peer exchange.
fn store_behind_relay(dir: &std::path::Path) -> (NodeHandle, NodeHandle) {
    let s = store_node(dir.join("s.sqlite"));
    let r = relay(s.listen_addrs());
    wait_until("R learns S", 20, || {
        r.status()
            .is_ok_and(|st| st.discovered_stores.contains(&s.peer_id()))
    });
    (s, r)
}

/// 34/WAKU2-PEER-EXCHANGE: a store S, a relay R (no store) dialling S, and clients that
/// dial only R. R learned S's ENR when it connected; a client asks R, gets S's record
/// (store bit set), dials S and fetches S's history. Both client modes.
#[test]
fn history_is_reached_through_a_relay_peered_with_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let (s, r) = store_behind_relay(dir.path());
    wait_until("R and S meshed", 20, || {
        mesh_ready(&r, 1) && mesh_ready(&s, 1)
    });
    let st = r.status().unwrap();
    assert!(st.stores.contains(&s.peer_id()), "R is connected to S");
    // published on R (before any client exists), stored on S
    for i in 0..3 {
        r.publish(msg(&topic(7), &format!("offline {i}"))).unwrap();
    }
    wait_until("S stored them", 20, || {
        s.status().is_ok_and(|st| st.stored == Some(3))
    });
    let q = HistoryQuery::recent(vec![topic(7)], now_unix_ns(), 3600);
    for mode in [NodeMode::Relay, NodeMode::Light] {
        let c = Node::start(NodeConfig {
            mode,
            peers: r.listen_addrs(),
            heartbeat_interval: Duration::from_millis(200),
            ..NodeConfig::default()
        })
        .unwrap();
        wait_until("C connected to R", 20, || {
            c.status()
                .is_ok_and(|st| st.connected.contains(&r.peer_id()))
        });
        // C is not connected to any store yet, and R serves none
        let st = c.status().unwrap();
        assert!(st.stores.is_empty(), "{mode:?}: {:?}", st.stores);
        assert!(!st.connected.contains(&s.peer_id()), "{mode:?}");
        let got = Transport::fetch_history(&c, &q).unwrap();
        assert_eq!(
            texts(&got),
            ["offline 0", "offline 1", "offline 2"],
            "{mode:?}"
        );
        let st = c.status().unwrap();
        assert!(st.connected.contains(&s.peer_id()), "{mode:?}: C dialled S");
        assert!(st.discovered_stores.contains(&s.peer_id()), "{mode:?}");
        // R's own record came first and is in C's book too (R has no store bit)
        assert!(st.discovered.contains(&r.peer_id()), "{mode:?}");
        assert!(!st.discovered_stores.contains(&r.peer_id()), "{mode:?}");
    }
}

/// Our ENR as a peer sees it: signed by the node key, ip/tcp of the listen address,
/// the waku2 bits of what it serves.
#[test]
fn the_enr_names_the_node_its_address_and_its_services() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_node(dir.path().join("s.sqlite"));
    let enr = s.enr().expect("a relay node has an ENR");
    assert_eq!(enr.peer_id().unwrap(), s.peer_id());
    let w = enr.waku2().unwrap().unwrap();
    assert!(w.relay() && w.store() && w.filter() && w.lightpush());
    let addr = s.listen_addrs()[0].clone();
    assert_eq!(enr.dial_addrs().unwrap()[0], addr);
    let r = relay(vec![]);
    let w = r.enr().unwrap().waku2().unwrap().unwrap();
    assert!(w.relay() && !w.store());
    let light = Node::start(NodeConfig {
        mode: NodeMode::Light,
        peers: r.listen_addrs(),
        ..NodeConfig::default()
    })
    .unwrap();
    assert!(light.enr().is_none(), "a light node serves nothing");
}

/// `confirm_delivery`: what a relay node published is confirmed by a store that holds it
/// (found by peer exchange behind the relay it dials), else by a relay's lightpush answer.
#[test]
fn delivery_is_confirmed_by_a_store_or_else_by_a_relay() {
    let dir = tempfile::tempdir().unwrap();
    let (s, r) = store_behind_relay(dir.path());
    let c = relay(r.listen_addrs());
    wait_until("C learns S through R", 20, || {
        mesh_ready(&c, 1)
            && c.status()
                .is_ok_and(|st| st.discovered_stores.contains(&s.peer_id()))
    });
    assert_eq!(
        c.confirm_delivery(Duration::from_secs(5)),
        pfs_node::Delivery::Nothing
    );
    for i in 0..3 {
        c.publish(msg(&topic(8), &format!("c{i}"))).unwrap();
    }
    match c.confirm_delivery(Duration::from_secs(10)) {
        pfs_node::Delivery::Stored { store, messages } => {
            assert_eq!(messages, 3);
            assert_eq!(store, Some(s.peer_id()));
        }
        other => panic!("not confirmed by S: {other:?}"),
    }
    assert_eq!(s.status().unwrap().stored, Some(3));
    // a relay with no store anywhere: its lightpush answer vouches
    let p = relay(vec![]);
    let d = relay(p.listen_addrs());
    wait_until("D and P meshed", 20, || {
        mesh_ready(&d, 1) && mesh_ready(&p, 1)
    });
    d.publish(msg(&topic(8), "d")).unwrap();
    assert_eq!(
        d.confirm_delivery(Duration::from_secs(2)),
        pfs_node::Delivery::Relayed {
            peer: p.peer_id(),
            messages: 1
        }
    );
}

/// A store node sweeps its archive past retention one bounded transaction at a time
/// between its other events: a sweep longer than one chunk finishes at once, without
/// waiting for the next purge interval (an hour here), and keeps what is not due.
#[test]
fn a_long_retention_sweep_runs_in_steps_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("archive.sqlite");
    let day_ns = 86_400 * 1_000_000_000_i64;
    let config = pfs_archive::ArchiveConfig {
        retention_secs: 86_400,
        purge_chunk: 2,
        ..pfs_archive::ArchiveConfig::default()
    };
    let old_ns = now_unix_ns() - 2 * day_ns;
    {
        let mut archive = pfs_archive::Archive::open(&db, config.clone()).unwrap();
        for i in 0..7u8 {
            let mut m = msg(&topic(1), &format!("old {i}")).message;
            m.timestamp = Some(old_ns + i64::from(i));
            assert!(
                archive
                    .insert(pfs_transport::waku::DEFAULT_PUBSUB_TOPIC, &m, old_ns)
                    .unwrap()
            );
        }
        let fresh = msg(&topic(1), "fresh").message;
        assert!(
            archive
                .insert(
                    pfs_transport::waku::DEFAULT_PUBSUB_TOPIC,
                    &fresh,
                    now_unix_ns()
                )
                .unwrap()
        );
    }
    let node = Node::start(NodeConfig {
        store: Some(StoreConfig {
            db_path: db,
            archive: config,
            purge_interval: Duration::from_secs(3600),
        }),
        ..NodeConfig::default()
    })
    .unwrap();
    let all = HistoryQuery {
        pubsub_topic: pfs_transport::waku::DEFAULT_PUBSUB_TOPIC.to_owned(),
        content_topics: vec![topic(1)],
        start_ns: 0,
        end_ns: i64::MAX,
    };
    // 7 messages due, 2 per step: four steps, the first at start
    wait_until("the sweep to finish", 5, || {
        Transport::fetch_history(&node, &all).is_ok_and(|h| texts(&h) == ["fresh"])
    });
}
