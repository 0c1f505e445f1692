//! Two clients talk the full Status stack (signed wrapper, MVDS, segmentation, payload v1)
//! over three Waku nodes on 127.0.0.1 (Alice's relay — a relay with a store — Bob's
//! relay): contact request, accept, text both ways, a message lost in the network and
//! recovered by the MVDS resend, a large message segmented with one segment lost and
//! recovered from parity, and restarts of both sides with nothing lost or duplicated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pfs_app::messenger::Event;
use pfs_client::{Client, ClientConfig, ClientEvent, Device};
use pfs_crypto::secp256k1::PublicKey;
use pfs_node::{Node, NodeConfig, NodeHandle, StoreConfig};
use pfs_store::{SqliteOptions, SqliteStore};
use pfs_transport::ContentTopic;
use pfs_transport::transport::{
    CarriedMessage, HistoryQuery, PublishReport, Subscription, Transport, TransportError,
};

/// A transport that loses the publishes its plan says to lose (as a lossy network would:
/// the sender sees a normal publish).
#[derive(Clone)]
struct Lossy {
    node: Arc<NodeHandle>,
    plan: Arc<Mutex<VecDeque<bool>>>,
    lost: Arc<Mutex<usize>>,
}

impl Lossy {
    fn new(node: Arc<NodeHandle>) -> Self {
        Self {
            node,
            plan: Arc::default(),
            lost: Arc::default(),
        }
    }
    /// The next publishes: `true` = lost.
    fn plan(&self, p: &[bool]) {
        self.plan.lock().unwrap().extend(p.iter().copied());
    }
    fn lost(&self) -> usize {
        *self.lost.lock().unwrap()
    }
}

impl Transport for Lossy {
    fn publish(&self, message: CarriedMessage) -> Result<PublishReport, TransportError> {
        if self.plan.lock().unwrap().pop_front() == Some(true) {
            *self.lost.lock().unwrap() += 1;
            return Ok(PublishReport {
                relay_peers: 1,
                stored: false,
            });
        }
        Transport::publish(&*self.node, message)
    }
    fn subscribe(&self, topics: &[ContentTopic]) -> Result<Subscription, TransportError> {
        Transport::subscribe(&*self.node, topics)
    }
    fn fetch_history(&self, q: &HistoryQuery) -> Result<Vec<CarriedMessage>, TransportError> {
        Transport::fetch_history(&*self.node, q)
    }
}

fn config() -> ClientConfig {
    let mut c = ClientConfig::default();
    c.app.resend.first_delay_ms = 400;
    c.segment_size = 1024;
    // the loss plan counts publishes: no advertisements in between
    c.advert_interval_ms = None;
    c
}

fn store(path: &Path) -> Box<SqliteStore> {
    Box::new(
        SqliteStore::open(
            path,
            b"test passphrase",
            SqliteOptions::default().with_kdf_iterations(1),
        )
        .unwrap(),
    )
}

fn open(path: &Path, net: &Lossy) -> Client {
    let device = Device::open(store(path), pfs_protocol::Config::default()).unwrap();
    let mut c = Client::new(device, Box::new(net.clone()), config());
    c.listen().unwrap();
    c
}

fn relay(peers: Vec<pfs_node::Multiaddr>, store: Option<&Path>) -> Arc<NodeHandle> {
    Arc::new(
        Node::start(NodeConfig {
            peers,
            heartbeat_interval: Duration::from_millis(200),
            store: store.map(StoreConfig::new),
            ..NodeConfig::default()
        })
        .unwrap(),
    )
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn texts(events: &[ClientEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::App(Event::Text { message, .. }) => Some(message.text.clone()),
            _ => None,
        })
        .collect()
}

/// Polls both clients until `until` holds on the events collected for `target` (0 =
/// first client, 1 = second), for at most `secs`; returns the events of each.
fn exchange(
    clients: [&mut Client; 2],
    target: usize,
    secs: u64,
    mut until: impl FnMut(&[ClientEvent]) -> bool,
) -> [Vec<ClientEvent>; 2] {
    let [a, b] = clients;
    let mut got: [Vec<ClientEvent>; 2] = [Vec::new(), Vec::new()];
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !until(&got[target]) {
        assert!(
            Instant::now() < deadline,
            "timed out; events so far: {got:?}"
        );
        got[0].extend(a.poll(Duration::from_millis(50)).unwrap());
        got[1].extend(b.poll(Duration::from_millis(50)).unwrap());
    }
    // let the acks and replies settle
    for _ in 0..6 {
        got[0].extend(a.poll(Duration::from_millis(50)).unwrap());
        got[1].extend(b.poll(Duration::from_millis(50)).unwrap());
    }
    got
}

fn delivered(events: &[ClientEvent], id: &[u8; 32]) -> bool {
    events.iter().any(|e| {
        matches!(e, ClientEvent::App(Event::Delivered { message_ids, .. }) if message_ids.contains(id))
    })
}

#[test]
fn status_stack_over_waku_with_loss_segments_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let m = relay(vec![], Some(&dir.path().join("archive.sqlite")));
    let na = relay(m.listen_addrs(), None);
    let nb = relay(m.listen_addrs(), None);
    wait_until("mesh", 30, || {
        [&na, &nb]
            .iter()
            .all(|n| n.status().is_ok_and(|s| !s.relay_peers.is_empty()))
            && m.status().is_ok_and(|s| s.relay_peers.len() >= 2)
    });
    let (net_a, net_b) = (Lossy::new(na.clone()), Lossy::new(nb.clone()));
    let (pa, pb) = (
        dir.path().join("alice.sqlite"),
        dir.path().join("bob.sqlite"),
    );
    let started_ns = pfs_transport::transport::now_unix_ns() - 1_000_000_000;
    let (dev, _) = Device::create(store(&pa), pfs_protocol::Config::default()).unwrap();
    drop(dev);
    let (dev, _) = Device::create(store(&pb), pfs_protocol::Config::default()).unwrap();
    drop(dev);
    let mut alice = open(&pa, &net_a);
    let mut bob = open(&pb, &net_b);
    let (ka, kb): (PublicKey, PublicKey) = (alice.identity(), bob.identity());
    let code = bob.device().engine.contact_code().unwrap();
    alice
        .device()
        .engine
        .add_contact_code(&code, Some("Bob"))
        .unwrap();

    // 1. contact request, seen by Bob as a request; acknowledged by Bob's client
    let req = alice
        .send_contact_request(&kb, "hi Bob, it's Alice")
        .unwrap();
    assert!(req.forward_secret, "Alice has Bob's bundle from his code");
    assert!(req.published >= 1 && req.unpublished == 0, "{req:?}");
    let [ea, eb] = exchange([&mut alice, &mut bob], 1, 20, |e| {
        e.iter()
            .any(|e| matches!(e, ClientEvent::App(Event::ContactRequest { .. })))
    });
    let request_id = eb
        .iter()
        .find_map(|e| match e {
            ClientEvent::App(Event::ContactRequest { id, from, message }) => {
                assert_eq!(from, &ka);
                assert_eq!(message.text, "hi Bob, it's Alice");
                Some(*id)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(request_id, req.message_ids[0]);
    assert!(
        delivered(&ea, &req.message_ids[0]),
        "Bob's MVDS ack reached Alice"
    );

    // 2. Bob accepts; Alice sees the acceptance naming her request
    bob.accept_contact_request(&ka, &request_id).unwrap();
    let [ea, _] = exchange([&mut alice, &mut bob], 0, 20, |e| {
        e.iter()
            .any(|e| matches!(e, ClientEvent::App(Event::ContactAccepted { .. })))
    });
    assert!(ea.iter().any(|e| matches!(e,
        ClientEvent::App(Event::ContactAccepted { from, request_id: r })
            if *from == kb && *r == pfs_app::messenger::id_hex(&request_id))));
    assert!(bob.device().engine.pfs_established(&ka).unwrap());

    // 3. text both ways, each exactly once
    alice.send_text(&kb, "how are you?").unwrap();
    let [_, eb] = exchange([&mut alice, &mut bob], 1, 20, |e| !texts(e).is_empty());
    assert_eq!(texts(&eb), vec!["how are you?"]);
    bob.send_text(&ka, "fine, thanks").unwrap();
    let [ea, eb] = exchange([&mut alice, &mut bob], 0, 20, |e| !texts(e).is_empty());
    assert_eq!(texts(&ea), vec!["fine, thanks"]);
    assert!(texts(&eb).is_empty());

    // 4. a message lost in the network comes back through the MVDS resend, once
    net_a.plan(&[true]);
    let lost = alice.send_text(&kb, "this one gets lost").unwrap();
    assert_eq!(net_a.lost(), 1);
    let [ea, eb] = exchange([&mut alice, &mut bob], 1, 20, |e| !texts(e).is_empty());
    assert_eq!(texts(&eb), vec!["this one gets lost"]);
    assert!(delivered(&ea, &lost.message_ids[0]));
    assert_eq!(alice.unacknowledged().unwrap(), 0);

    // 5. a large message in segments, one data segment lost: rebuilt from parity before any
    //    resend (Alice does not poll, so she resends nothing meanwhile)
    let big = "é".repeat(4000);
    net_a.plan(&[false, true]);
    let sent = alice.send_text(&kb, &big).unwrap();
    assert!(sent.published >= 9, "segmented: {sent:?}");
    assert_eq!(net_a.lost(), 2);
    let mut eb = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while texts(&eb).is_empty() {
        assert!(Instant::now() < deadline, "{eb:?}");
        eb.extend(bob.poll(Duration::from_millis(100)).unwrap());
    }
    assert_eq!(texts(&eb), vec![big.clone()]);
    let [ea, eb2] = exchange([&mut alice, &mut bob], 0, 20, |e| {
        delivered(e, &sent.message_ids[0])
    });
    assert!(texts(&ea).is_empty() && texts(&eb2).is_empty());

    // 6. Alice restarts with an unacknowledged message: her outbox (in her store) resends
    //    it after the restart
    net_a.plan(&[true]);
    let pending = alice.send_text(&kb, "sent just before a restart").unwrap();
    assert_eq!(alice.unacknowledged().unwrap(), 1);
    drop(alice);
    let mut alice = open(&pa, &net_a);
    assert_eq!(alice.unacknowledged().unwrap(), 1, "the outbox survived");
    let [ea, eb] = exchange([&mut alice, &mut bob], 1, 20, |e| !texts(e).is_empty());
    assert_eq!(texts(&eb), vec!["sent just before a restart"]);
    assert!(delivered(&ea, &pending.message_ids[0]));

    // 7. Bob is down while Alice writes; back up, he catches up from the store: the new
    //    message once, nothing seen before again
    drop(bob);
    alice.send_text(&kb, "while you were away").unwrap();
    wait_until("archived", 10, || {
        m.status().unwrap().stored.is_some_and(|n| n > 0)
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut bob = open(&pb, &net_b);
    let caught = bob.catch_up(started_ns).unwrap();
    assert_eq!(texts(&caught), vec!["while you were away"], "{caught:?}");
    let [_, eb] = exchange([&mut alice, &mut bob], 0, 20, |_| true);
    let mut all = texts(&caught);
    all.extend(texts(&eb));
    assert_eq!(
        all,
        vec!["while you were away"],
        "no duplicate after the catch-up"
    );
    // Alice's resends stop: Bob acknowledged
    let [_, _] = exchange([&mut alice, &mut bob], 0, 20, |_| true);
    wait_until("all acknowledged", 20, || {
        let _ = alice.poll(Duration::from_millis(50)).unwrap();
        let _ = bob.poll(Duration::from_millis(50)).unwrap();
        alice.unacknowledged().unwrap() == 0
    });
}
