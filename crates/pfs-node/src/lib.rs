//! # pfs-node: a Waku v2 node (level 3)
//!
//! A node of the real Waku v2 network on stock rust-libp2p, speaking what js-waku, nwaku
//! and go-waku speak, and implementing [`pfs_transport::transport::Transport`]. It never
//! decrypts: it carries [`WakuMessage`](pfs_transport::waku::WakuMessage)s whose payloads
//! are opaque (26/WAKU2-PAYLOAD version 1, sealed by the sender).
//!
//! * **Transport**: TCP and plain WebSocket, Noise, yamux and mplex, identify (every
//!   served protocol listed), ping; Ed25519 and secp256k1 peer ids (ours: secp256k1, as
//!   nwaku).
//! * **Metadata** `/vac/waku/metadata/1.0.0`: cluster 16 and our shards (32 and 64 by
//!   default), asked on every new connection; a peer of another cluster is disconnected.
//! * **Relay** `/vac/waku/relay/2.0.0` (gossipsub v1.1, anonymous/StrictNoSign, message
//!   id = sha256(data), raw pubsub topic strings such as `/waku/2/rs/16/32`), with
//!   validation (non-empty payload and content topic, 150 KiB, `meta` ≤ 64 B, timestamp
//!   within 20 s); relayed bytes are forwarded as received.
//! * **Store v3** `/vac/waku/store-query/3.0.0` server (SQLite archive, `pfs-archive`)
//!   and client, **lightpush v3** server and client (and the v2 server), **filter v2**
//!   server and client.
//! * **Peer exchange** `/vac/waku/peer-exchange/2.0.0-alpha1` server (relay mode) and
//!   client, with signed EIP-778 records ([`enr`]): a node asks each new peer for the
//!   records it knows, and a history fetch with no store at hand dials a store learned
//!   that way ([`peer_exchange`]).
//! * A node is a full **relay** node or a **light** node ([`NodeMode`]) that uses a
//!   service node for lightpush, filter and store.
//!
//! The swarm runs on its own thread with a single-threaded tokio runtime; the
//! [`NodeHandle`] talks to it over channels and every method is synchronous. See
//! `docs/network.md` for every protocol id, field and limit and where we differ from nwaku.
//!
//! ```no_run
//! use pfs_node::{Node, NodeConfig, NodeMode, StoreConfig};
//! use pfs_transport::transport::{CarriedMessage, HistoryQuery, Transport, now_unix_ns};
//! use pfs_transport::waku::WakuMessage;
//! use pfs_transport::ContentTopic;
//!
//! let service = Node::start(NodeConfig {
//!     store: Some(StoreConfig::new("/tmp/archive.sqlite")),
//!     ..NodeConfig::default()
//! })?;
//! let light = Node::start(NodeConfig {
//!     mode: NodeMode::Light,
//!     peers: service.listen_addrs(),
//!     ..NodeConfig::default()
//! })?;
//! let topic: ContentTopic = "/waku/1/0x01020304/rfc26".parse()?;
//! let inbox = light.subscribe(&[topic.clone()])?;
//! light.publish(CarriedMessage::on_default_shard(WakuMessage {
//!     payload: vec![0xc0],
//!     content_topic: topic.to_string(),
//!     version: Some(1),
//!     timestamp: Some(now_unix_ns()),
//!     ..WakuMessage::default()
//! }))?;
//! let missed = Transport::fetch_history(&light, &HistoryQuery::recent(vec![topic], now_unix_ns(), 3600))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod codec;
pub mod enr;
pub mod filter;
mod node;
pub mod peer_exchange;
pub mod services;

pub use libp2p::identity::Keypair;
pub use libp2p::{Multiaddr, PeerId};
pub use node::{
    Delivery, IDENTIFY_PROTOCOL_VERSION, MAX_HISTORY_TOTAL_MESSAGES, Node, NodeConfig, NodeError,
    NodeHandle, NodeMode, NodeStatus, StoreConfig, load_or_create_key, run_node_until_ctrl_c,
};
pub use pfs_archive::{Archive, ArchiveConfig};
