//! # pfs-node: the peer-to-peer network (level 4, above `pfs-transport`)
//!
//! A real peer-to-peer node on rust-libp2p that carries pfs envelopes between devices,
//! implementing [`pfs_transport::transport::Transport`]. It never decrypts: envelopes are
//! opaque bytes with an [`EnvelopeMeta`](pfs_transport::transport::EnvelopeMeta) (topic,
//! expiry) beside them.
//!
//! * **Relay** (every node): TCP + Noise + Yamux; gossipsub on one topic,
//!   [`protocol::GOSSIP_TOPIC`], carrying every envelope with its 4-byte topic inside
//!   the message (so that relays and stores need not know topics in advance, as in
//!   Whisper). Expired or malformed envelopes are dropped (and not forwarded) with a log
//!   line. Identify tells peers apart and reveals which ones are stores.
//! * **Store / mailserver** (optional, [`StoreConfig`]): keeps every envelope it sees in
//!   SQLite for the retention period (30 days by default) and answers history queries
//!   (topic set × arrival-time range, paged) on the request-response protocol
//!   [`protocol::HISTORY_PROTOCOL`], so that a device that was offline catches up.
//!
//! The swarm runs on its own thread with a single-threaded tokio runtime; the
//! [`NodeHandle`] talks to it over channels and every method is synchronous. See
//! `docs/network.md` for the protocols, limits and the catch-up procedure.
//!
//! ```no_run
//! use pfs_node::{Node, NodeConfig, StoreConfig};
//! use pfs_transport::transport::{EnvelopeMeta, HistoryQuery, Transport, now_unix};
//!
//! let store = Node::start(NodeConfig {
//!     store: Some(StoreConfig::new("/tmp/mailserver.sqlite")),
//!     ..NodeConfig::default()
//! })?;
//! let device = Node::start(NodeConfig {
//!     peers: store.listen_addrs(),
//!     ..NodeConfig::default()
//! })?;
//! let inbox = device.subscribe(&[[1, 2, 3, 4]])?;
//! device.publish(EnvelopeMeta { topic: [1, 2, 3, 4], expiry_unix: now_unix() + 15 }, vec![0xc0])?;
//! let missed = Transport::fetch_history(&device, &HistoryQuery {
//!     topics: vec![[1, 2, 3, 4]],
//!     since_unix: 0,
//!     until_unix: u64::MAX,
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod node;
pub mod protocol;
pub mod store;

pub use libp2p::identity::Keypair;
pub use libp2p::{Multiaddr, PeerId};
pub use node::{
    EXPIRY_GRACE_SECS, IDENTIFY_PROTOCOL_VERSION, MAX_HISTORY_TOTAL_BYTES,
    MAX_HISTORY_TOTAL_ENVELOPES, Node, NodeConfig, NodeError, NodeHandle, NodeStatus, StoreConfig,
    run_node_until_ctrl_c,
};
pub use store::{EnvelopeStore, StoreError};
