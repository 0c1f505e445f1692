//! Hostile peers against the Waku node: oversize frames, invalid protobufs, floods of
//! filter subscriptions, a wrong cluster in metadata, and invalid relay messages. Each
//! ends in a typed refusal (status code) or a closed stream / disconnect, never a panic,
//! and never changes what the node has stored.
//!
//! The hostile peer is a bare rust-libp2p swarm (TCP, Noise, yamux, gossipsub configured
//! as Waku, raw streams) that writes whatever bytes it likes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol, gossipsub, noise, tcp, yamux};
use pfs_node::codec::{length_prefix, read_message, write_message};
use pfs_node::enr::{Enr, EnrFields, Waku2};
use pfs_node::peer_exchange::{MAX_PX_PEERS, MAX_PX_RESPONSE, PEER_EXCHANGE};
use pfs_node::services::{FILTER_SUBSCRIBE, LIGHTPUSH_V3, METADATA, STORE};
use pfs_node::{Node, NodeConfig, NodeHandle, StoreConfig};
use pfs_transport::transport::{HistoryQuery, now_unix_ns};
use pfs_transport::waku::{self, WakuMessage};
use pfs_wire::waku::{
    FilterSubscribeRequest, FilterSubscribeResponse, LightPushRequestV3, LightPushResponseV3,
    PeerExchangeQuery, PeerExchangeResponse, PeerExchangeRpc, PeerInfo, WakuMetadataRequest,
    WakuMetadataResponse, filter_subscribe_request::FilterSubscribeType,
};
use prost::Message as _;
use tokio::sync::mpsc;

#[derive(NetworkBehaviour)]
struct Raw {
    relay: gossipsub::Behaviour,
    streams: libp2p_stream::Behaviour,
}

enum Cmd {
    Publish(Vec<u8>),
}

/// A hostile peer connected to `target`.
struct Hostile {
    rt: tokio::runtime::Runtime,
    control: libp2p_stream::Control,
    cmd: mpsc::UnboundedSender<Cmd>,
    events: std::sync::mpsc::Receiver<String>,
    target: PeerId,
}

impl Hostile {
    fn connect(addr: &Multiaddr) -> Hostile {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let target = match addr.iter().last() {
            Some(libp2p::multiaddr::Protocol::P2p(p)) => p,
            _ => panic!("address without peer id"),
        };
        let (cmd, mut cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, events) = std::sync::mpsc::channel();
        let control = rt.block_on(async {
            let cfg = gossipsub::ConfigBuilder::default()
                .protocol_id("/vac/waku/relay/2.0.0", gossipsub::Version::V1_1)
                .validation_mode(gossipsub::ValidationMode::Anonymous)
                .heartbeat_interval(Duration::from_millis(200))
                .mesh_n_low(1)
                .mesh_outbound_min(0)
                .max_transmit_size(1 << 20)
                .message_id_fn(|m: &gossipsub::Message| {
                    use sha2::Digest;
                    gossipsub::MessageId::from(sha2::Sha256::digest(&m.data).to_vec())
                })
                .build()
                .unwrap();
            let mut swarm = libp2p::SwarmBuilder::with_new_identity()
                .with_tokio()
                .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
                .unwrap()
                .with_behaviour(|_| Raw {
                    relay: gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, cfg)
                        .unwrap(),
                    streams: libp2p_stream::Behaviour::new(),
                })
                .unwrap()
                .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
                .build();
            let topic = gossipsub::IdentTopic::new(waku::DEFAULT_PUBSUB_TOPIC);
            swarm.behaviour_mut().relay.subscribe(&topic).unwrap();
            swarm.dial(addr.clone()).unwrap();
            let control = swarm.behaviour().streams.new_control();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        ev = swarm.select_next_some() => match ev {
                            SwarmEvent::ConnectionEstablished { .. } => { let _ = ev_tx.send("connected".into()); }
                            SwarmEvent::ConnectionClosed { num_established: 0, .. } => { let _ = ev_tx.send("closed".into()); }
                            SwarmEvent::Behaviour(RawEvent::Relay(gossipsub::Event::Subscribed { .. })) => { let _ = ev_tx.send("subscribed".into()); }
                            _ => {}
                        },
                        Some(Cmd::Publish(data)) = cmd_rx.recv() => {
                            let r = swarm.behaviour_mut().relay.publish(topic.clone(), data);
                            let _ = ev_tx.send(format!("published {}", r.is_ok()));
                        }
                    }
                }
            });
            control
        });
        let h = Hostile {
            rt,
            control,
            cmd,
            events,
            target,
        };
        h.wait_event("connected", 10);
        h
    }

    fn wait_event(&self, what: &str, secs: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            // the runtime only runs while we block on it
            self.rt
                .block_on(async { tokio::time::sleep(Duration::from_millis(20)).await });
            while let Ok(e) = self.events.try_recv() {
                if e.starts_with(what) {
                    return;
                }
            }
            assert!(std::time::Instant::now() < deadline, "no {what} event");
        }
    }

    fn stream(&self, protocol: StreamProtocol) -> Stream {
        let mut c = self.control.clone();
        let target = self.target;
        self.rt
            .block_on(async move { c.open_stream(target, protocol).await })
            .unwrap()
    }

    fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), f).await })
            .expect("bounded")
    }

    /// Sends one length-prefixed protobuf request on a new stream and reads the answer
    /// (at most `max` bytes).
    fn ask<Q: prost::Message, R: prost::Message + Default>(
        &self,
        protocol: StreamProtocol,
        req: &Q,
        max: usize,
    ) -> R {
        let mut s = self.stream(protocol);
        self.run(async move {
            write_message(&mut s, req).await.unwrap();
            read_message(&mut s, max).await.unwrap()
        })
    }

    /// Writes raw bytes and reads until the node closes the stream: the bytes it answered.
    fn raw_exchange(&self, protocol: StreamProtocol, bytes: Vec<u8>) -> Vec<u8> {
        let mut s = self.stream(protocol);
        self.run(async move {
            let _ = s.write_all(&bytes).await;
            let _ = s.flush().await;
            let _ = s.close().await; // half-close: the node sees the end of the request
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out).await;
            out
        })
    }
}

fn store_node() -> (NodeHandle, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NodeConfig {
        store: Some(StoreConfig::new(dir.path().join("a.sqlite"))),
        heartbeat_interval: Duration::from_millis(200),
        ..NodeConfig::default()
    })
    .unwrap();
    (node, dir)
}

fn good(payload: &[u8]) -> WakuMessage {
    WakuMessage {
        payload: payload.to_vec(),
        content_topic: "/waku/1/0x0a0b0c0d/rfc26".into(),
        version: Some(1),
        timestamp: Some(now_unix_ns()),
        ..WakuMessage::default()
    }
}

fn stored(node: &NodeHandle) -> u64 {
    node.status().unwrap().stored.unwrap()
}

fn lightpush(h: &Hostile, m: WakuMessage) -> LightPushResponseV3 {
    let req = LightPushRequestV3 {
        request_id: "r".into(),
        pubsub_topic: Some(waku::DEFAULT_PUBSUB_TOPIC.into()),
        message: Some(m),
    };
    h.ask(LIGHTPUSH_V3, &req, 1 << 20)
}

#[test]
fn oversize_frames_and_invalid_protobufs_close_the_stream_and_change_nothing() {
    let (node, _dir) = store_node();
    let h = Hostile::connect(&node.listen_addrs()[0]);
    assert_eq!(lightpush(&h, good(b"kept")).status_code, 200);
    assert_eq!(stored(&node), 1);
    // a 2 GiB length announcement: no answer, stream closed, nothing allocated
    let mut huge = length_prefix(1 << 31);
    huge.extend_from_slice(&[0u8; 16]);
    for p in [
        STORE,
        LIGHTPUSH_V3,
        FILTER_SUBSCRIBE,
        METADATA,
        PEER_EXCHANGE,
    ] {
        assert!(h.raw_exchange(p.clone(), huge.clone()).is_empty(), "{p}");
    }
    // an invalid varint and invalid protobuf bodies: no answer either
    let mut garbage = length_prefix(6);
    garbage.extend_from_slice(&[0xff; 6]);
    for p in [
        STORE,
        LIGHTPUSH_V3,
        FILTER_SUBSCRIBE,
        METADATA,
        PEER_EXCHANGE,
    ] {
        assert!(h.raw_exchange(p.clone(), vec![0xff; 11]).is_empty(), "{p}");
        assert!(h.raw_exchange(p.clone(), garbage.clone()).is_empty(), "{p}");
    }
    // a truncated request followed by a half-close
    let mut truncated = length_prefix(100);
    truncated.extend_from_slice(&[0x0a; 10]);
    assert!(h.raw_exchange(LIGHTPUSH_V3, truncated).is_empty());
    // invalid messages get status codes, not a crash
    let mut m = good(b"");
    assert_eq!(lightpush(&h, m.clone()).status_code, 420, "empty payload");
    m.payload = b"x".to_vec();
    m.meta = Some(vec![0; 65]);
    assert_eq!(lightpush(&h, m.clone()).status_code, 420, "meta > 64 B");
    m.meta = None;
    m.timestamp = Some(now_unix_ns() - 60_000_000_000);
    assert_eq!(lightpush(&h, m.clone()).status_code, 420, "old timestamp");
    m.timestamp = Some(now_unix_ns());
    m.payload = vec![1; waku::DEFAULT_MAX_MESSAGE_SIZE];
    assert_eq!(lightpush(&h, m).status_code, 413, "too large");
    // the node is alive and still holds exactly what it held
    assert_eq!(stored(&node), 1);
    let q = HistoryQuery::recent(
        vec!["/waku/1/0x0a0b0c0d/rfc26".parse().unwrap()],
        now_unix_ns(),
        60,
    );
    let got = node.fetch_history(None, &q).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message.payload, b"kept");
}

#[test]
fn a_flood_of_filter_subscriptions_is_bounded() {
    let (node, _dir) = store_node();
    let h = Hostile::connect(&node.listen_addrs()[0]);
    let filter = |req: FilterSubscribeRequest| -> u32 {
        let r: FilterSubscribeResponse = h.ask(FILTER_SUBSCRIBE, &req, 1 << 16);
        r.status_code
    };
    let subscribe = |round: usize| -> u32 {
        filter(FilterSubscribeRequest {
            request_id: format!("{round}"),
            filter_subscribe_type: FilterSubscribeType::Subscribe as i32,
            pubsub_topic: Some(waku::DEFAULT_PUBSUB_TOPIC.into()),
            content_topics: (0..100)
                .map(|i| format!("/flood/1/{round}-{i}/proto"))
                .collect(),
        })
    };
    // nwaku's limit: 1000 criteria per peer = 10 requests of 100
    let codes: Vec<u32> = (0..15).map(subscribe).collect();
    assert_eq!(&codes[..10], &[200; 10]);
    assert_eq!(&codes[10..], &[429; 5]);
    assert_eq!(node.status().unwrap().filter_subscribers, 1);
    // more than 100 content topics in one request is a bad request
    let code = filter(FilterSubscribeRequest {
        request_id: "big".into(),
        filter_subscribe_type: FilterSubscribeType::Subscribe as i32,
        pubsub_topic: Some(waku::DEFAULT_PUBSUB_TOPIC.into()),
        content_topics: (0..101).map(|i| format!("/big/1/{i}/proto")).collect(),
    });
    assert_eq!(code, 400);
    // an unknown request type
    let code = filter(FilterSubscribeRequest {
        request_id: "odd".into(),
        filter_subscribe_type: 9,
        pubsub_topic: None,
        content_topics: Vec::new(),
    });
    assert_eq!(code, 400);
}

#[test]
fn a_peer_announcing_another_cluster_is_answered_then_disconnected() {
    let (node, _dir) = store_node();
    let h = Hostile::connect(&node.listen_addrs()[0]);
    let req = WakuMetadataRequest {
        cluster_id: Some(99),
        shards: vec![1],
    };
    let resp: WakuMetadataResponse = h.ask(METADATA, &req, 1024);
    assert_eq!(resp.cluster_id, Some(16));
    assert_eq!(resp.shards, vec![32, 64], "never an empty shard list");
    h.wait_event("closed", 10);
}

#[test]
fn invalid_relay_messages_are_neither_delivered_nor_stored() {
    let (node, _dir) = store_node();
    let inbox = node
        .subscribe(&["/waku/1/0x0a0b0c0d/rfc26".parse().unwrap()])
        .unwrap();
    let h = Hostile::connect(&node.listen_addrs()[0]);
    h.wait_event("subscribed", 10);
    // let the mesh form (heartbeats)
    std::thread::sleep(Duration::from_millis(600));
    let mut bad: Vec<Vec<u8>> = vec![vec![0xff, 0x01, 0x02]];
    let mut m = good(b"");
    bad.push(m.encode_to_vec());
    m.payload = b"old".to_vec();
    m.timestamp = Some(now_unix_ns() - 3_600_000_000_000);
    bad.push(m.encode_to_vec());
    m.timestamp = Some(now_unix_ns());
    m.meta = Some(vec![7; 65]);
    bad.push(m.encode_to_vec());
    let mut no_topic = good(b"x");
    no_topic.content_topic.clear();
    bad.push(no_topic.encode_to_vec());
    for b in bad {
        h.cmd.send(Cmd::Publish(b)).unwrap();
        h.wait_event("published", 5);
    }
    h.cmd
        .send(Cmd::Publish(good(b"the only good one").encode_to_vec()))
        .unwrap();
    h.wait_event("published true", 5);
    let got = inbox
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("the valid message arrives");
    assert_eq!(got.message.payload, b"the only good one");
    assert_eq!(
        inbox.recv_timeout(Duration::from_millis(500)).unwrap(),
        None
    );
    assert_eq!(stored(&node), 1);
}

#[test]
fn peer_exchange_answers_are_bounded_and_start_with_the_node_itself() {
    let (node, _dir) = store_node();
    let h = Hostile::connect(&node.listen_addrs()[0]);
    // asking for u64::MAX peers: at most MAX_PX_PEERS, here just the node's own record
    let q = PeerExchangeRpc {
        query: Some(PeerExchangeQuery {
            num_peers: Some(u64::MAX),
        }),
        response: None,
    };
    let rpc: PeerExchangeRpc = h.ask(PEER_EXCHANGE, &q, MAX_PX_RESPONSE);
    let infos = rpc.response.unwrap().peer_infos;
    assert!(!infos.is_empty() && infos.len() <= MAX_PX_PEERS);
    let own = Enr::decode(infos[0].enr.as_deref().unwrap()).unwrap();
    assert_eq!(own.peer_id().unwrap(), node.peer_id());
    assert!(own.waku2().unwrap().unwrap().store());
}

/// A peer-exchange server that answers every query with `answer` (raw bytes, framed
/// or not) and lists the protocol in identify. Returns its address and a counter of the
/// queries it answered.
fn hostile_px_server(
    answer: Vec<u8>,
) -> (
    tokio::runtime::Runtime,
    Multiaddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    #[derive(NetworkBehaviour)]
    struct Px {
        identify: libp2p::identify::Behaviour,
        streams: libp2p_stream::Behaviour,
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&served);
    let addr = rt.block_on(async move {
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|key| Px {
                identify: libp2p::identify::Behaviour::new(libp2p::identify::Config::new(
                    "ipfs/0.1.0".into(),
                    key.public(),
                )),
                streams: libp2p_stream::Behaviour::new(),
            })
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let mut incoming = swarm
            .behaviour()
            .streams
            .new_control()
            .accept(PEER_EXCHANGE)
            .unwrap();
        swarm
            .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .unwrap();
        let addr = loop {
            if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                break address.with_p2p(*swarm.local_peer_id()).unwrap();
            }
        };
        tokio::spawn(async move { while swarm.next().await.is_some() {} });
        tokio::spawn(async move {
            while let Some((_, mut s)) = incoming.next().await {
                let answer = answer.clone();
                let counter = std::sync::Arc::clone(&counter);
                tokio::spawn(async move {
                    let _ = pfs_node::codec::read_frame(&mut s, 1024).await;
                    let _ = s.write_all(&answer).await;
                    let _ = s.close().await;
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
        });
        addr
    });
    (rt, addr, served)
}

fn framed(rpc: &PeerExchangeRpc) -> Vec<u8> {
    let body = rpc.encode_to_vec();
    let mut out = length_prefix(body.len());
    out.extend_from_slice(&body);
    out
}

fn store_enr() -> Enr {
    let kp = libp2p::identity::Keypair::generate_secp256k1();
    Enr::sign_with_keypair(
        &kp,
        1,
        &EnrFields {
            ip: Some(std::net::Ipv4Addr::LOCALHOST),
            tcp: Some(9),
            waku2: Some(Waku2(Waku2::RELAY | Waku2::STORE)),
            ..EnrFields::default()
        },
    )
    .unwrap()
}

#[test]
fn hostile_peer_exchange_answers_leave_only_verified_records() {
    let valid = store_enr();
    let mut tampered = store_enr().as_bytes().to_vec();
    let n = tampered.len();
    tampered[n - 3] ^= 0x01; // inside the waku2/tcp values: the signature no longer holds
    let info = |b: Vec<u8>| PeerInfo { enr: Some(b) };
    let mut infos = vec![
        info(vec![0xff; 40]),
        info(tampered),
        info(vec![0u8; 400]),
        PeerInfo { enr: None },
        info(valid.as_bytes().to_vec()),
    ];
    // beyond the bound: ignored
    infos.extend((0..MAX_PX_PEERS).map(|_| info(store_enr().as_bytes().to_vec())));
    let answers: Vec<(Vec<u8>, Option<libp2p::PeerId>)> = vec![
        (
            framed(&PeerExchangeRpc {
                query: None,
                response: Some(PeerExchangeResponse { peer_infos: infos }),
            }),
            Some(valid.peer_id().unwrap()),
        ),
        // garbage, an unframed body, an announced 2 GiB frame, an oversize frame
        (vec![0xff; 11], None),
        (valid.as_bytes().to_vec(), None),
        (
            {
                let mut b = length_prefix(1 << 31);
                b.extend_from_slice(&[0; 32]);
                b
            },
            None,
        ),
        (
            {
                let mut b = length_prefix(MAX_PX_RESPONSE + 1);
                b.extend(std::iter::repeat_n(0x0a, MAX_PX_RESPONSE + 1));
                b
            },
            None,
        ),
        // no response field
        (framed(&PeerExchangeRpc::default()), None),
    ];
    for (i, (answer, expect)) in answers.into_iter().enumerate() {
        let (_rt, addr, served) = hostile_px_server(answer);
        let node = Node::start(NodeConfig {
            peers: vec![addr],
            ..NodeConfig::default()
        })
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while served.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "case {i}: never asked"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        match expect {
            Some(peer) => {
                while !node.status().unwrap().discovered.contains(&peer) {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "case {i}: not learned"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                let st = node.status().unwrap();
                // only the one valid record among the first MAX_PX_PEERS
                let limit = MAX_PX_PEERS - 5;
                assert_eq!(st.discovered.len(), 1 + limit, "case {i}");
                assert_eq!(st.discovered[0], peer, "case {i}");
            }
            None => {
                std::thread::sleep(Duration::from_millis(300));
                assert!(node.status().unwrap().discovered.is_empty(), "case {i}");
            }
        }
        // the node still works: its own record is served
        assert!(node.enr().is_some(), "case {i}");
    }
}
