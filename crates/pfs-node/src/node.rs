//! The node: a libp2p swarm on its own thread and tokio runtime, driven through a
//! synchronous [`NodeHandle`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, PublishError, TopicHash};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identify, noise, ping, tcp, yamux};
use pfs_archive::{Archive, ArchiveConfig};
use pfs_transport::ContentTopic;
use pfs_transport::transport::{
    CarriedMessage, HistoryQuery, PublishReport, Subscription, SubscriptionSender, Transport,
    TransportError, fan_out, now_unix_ns,
};
use pfs_transport::waku;
use pfs_wire::waku::{
    FilterSubscribeRequest, FilterSubscribeResponse, LightPushRequestV3, LightPushResponseV3,
    StoreQueryRequest, StoreQueryResponse, filter_subscribe_request::FilterSubscribeType,
};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::enr::{Enr, Waku2};
use crate::filter::{FilterLimits, FilterRegistry};
use crate::peer_exchange::{self, PEER_EXCHANGE, PeerBook};
use crate::services::{self, Internal, Services};

/// A history fetch stops after this many messages (all pages together).
pub const MAX_HISTORY_TOTAL_MESSAGES: usize = 100_000;

/// Identify protocol version announced (nwaku and js-waku announce `ipfs/0.1.0`).
pub const IDENTIFY_PROTOCOL_VERSION: &str = "ipfs/0.1.0";

/// Why a node could not start or a node command failed.
///
/// ```
/// use pfs_node::{Node, NodeConfig, NodeError, StoreConfig};
///
/// let bad = NodeConfig { shards: vec![], ..NodeConfig::default() };
/// assert!(matches!(Node::start(bad), Err(NodeError::Config(_))));
/// // the archive's path is a directory
/// let dir = tempfile::tempdir()?;
/// let store = StoreConfig::new(dir.path());
/// assert!(matches!(Node::start(NodeConfig { store: Some(store), ..NodeConfig::default() }), Err(NodeError::Archive(_))));
/// let node = Node::start(NodeConfig::default())?;
/// assert!(matches!(node.add_peer("/ip4/127.0.0.1".parse()?), Err(NodeError::BadPeer { .. })));
/// node.shutdown();
/// assert!(matches!(node.status(), Err(NodeError::Closed)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The archive database could not be opened.
    #[error("archive: {0}")]
    Archive(#[from] pfs_archive::ArchiveError),
    /// The node key file could not be read or written.
    #[error("node key {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The tokio runtime or the node thread could not be created.
    #[error("cannot start the node runtime: {0}")]
    Runtime(String),
    /// The libp2p swarm could not be built.
    #[error("cannot build the network stack: {0}")]
    Swarm(String),
    /// A listen address was refused.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// Listening did not start within the start timeout.
    #[error("listen addresses not ready within {0:?}")]
    StartTimeout(Duration),
    /// A peer address is unusable.
    #[error("bad peer address {addr}: {reason}")]
    BadPeer {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// The node has shut down.
    #[error("the node is shut down")]
    Closed,
}

/// The store role: an archive answering store v3 queries.
///
/// ```
/// use pfs_node::{Node, NodeConfig, StoreConfig};
///
/// let dir = tempfile::tempdir()?;
/// let store = StoreConfig::new(dir.path().join("archive.sqlite"));
/// let node = Node::start(NodeConfig { store: Some(store), ..NodeConfig::default() })?;
/// assert_eq!(node.status()?.stored, Some(0)); // a store node, empty
/// assert!(dir.path().join("archive.sqlite").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// SQLite database file (created if missing).
    pub db_path: PathBuf,
    /// Retention, size cap and page sizes.
    pub archive: ArchiveConfig,
    /// How often messages past retention (or over the cap) are deleted.
    pub purge_interval: Duration,
}

impl StoreConfig {
    /// A store at `db_path` with the default archive configuration (30 days) and an
    /// hourly purge.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pfs_node::StoreConfig;
    ///
    /// let store = StoreConfig::new("/var/lib/pfs/archive.sqlite");
    /// assert_eq!(store.db_path, std::path::Path::new("/var/lib/pfs/archive.sqlite"));
    /// assert_eq!(store.purge_interval, Duration::from_secs(3600));
    /// assert_eq!(store.archive.retention_secs, 30 * 24 * 3600); // 30 days
    /// ```
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        StoreConfig {
            db_path: db_path.into(),
            archive: ArchiveConfig::default(),
            purge_interval: Duration::from_secs(3600),
        }
    }
}

/// How the node takes part in the network.
///
/// ```
/// # fn wait(mut done: impl FnMut() -> Result<bool, pfs_node::NodeError>) -> Result<(), Box<dyn std::error::Error>> {
/// #     let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
/// #     while !done()? {
/// #         if std::time::Instant::now() > deadline { return Err("timed out".into()); }
/// #         std::thread::sleep(std::time::Duration::from_millis(20));
/// #     }
/// #     Ok(())
/// # }
/// use pfs_node::{Node, NodeConfig, NodeMode};
///
/// assert_eq!(NodeMode::default(), NodeMode::Relay);
/// let service = Node::start(NodeConfig::default())?;
/// let light = Node::start(NodeConfig { mode: NodeMode::Light, peers: service.listen_addrs(), ..NodeConfig::default() })?;
/// assert_eq!((service.mode(), light.mode()), (NodeMode::Relay, NodeMode::Light));
/// // a light node receives through a filter subscription at its service node
/// let _inbox = light.subscribe(&["/a/1/b/proto".parse()?])?;
/// wait(|| Ok(light.status()?.filter_subscribed))?;
/// assert_eq!(light.status()?.enr, None); // and serves no record
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeMode {
    /// A full relay node: gossipsub on its shards; serves lightpush and filter (and
    /// store with a [`StoreConfig`]).
    #[default]
    Relay,
    /// A light node: no relay; publishes with lightpush, receives with a filter
    /// subscription and catches up with store queries, all against the first configured
    /// peer (its service node).
    Light,
}

/// Everything a node needs to start.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_node::{NodeConfig, NodeMode};
///
/// let config = NodeConfig::default();
/// assert_eq!(config.mode, NodeMode::Relay);
/// assert_eq!(config.listen, ["/ip4/127.0.0.1/tcp/0".parse()?]);
/// assert_eq!((config.cluster_id, config.shards.as_slice()), (16, &[32, 64][..]));
/// assert_eq!(config.pubsub_topics(), ["/waku/2/rs/16/32", "/waku/2/rs/16/64"]);
/// assert_eq!(config.max_message_size, 150 * 1024);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Relay or light node.
    pub mode: NodeMode,
    /// Addresses to listen on (TCP, and WebSocket as `/tcp/P/ws`); `/ip4/127.0.0.1/tcp/0`
    /// by default (port 0 = random).
    pub listen: Vec<Multiaddr>,
    /// Peers to connect to and keep connected (redialled when the connection drops), as
    /// `/ip4/A.B.C.D/tcp/PORT[/ws]` with or without a trailing `/p2p/PEERID`. In light
    /// mode the first one is the service node.
    pub peers: Vec<Multiaddr>,
    /// The cluster (Status: 16). Peers of another cluster are disconnected.
    pub cluster_id: u32,
    /// The shards served (never empty; Status: 32 and 64).
    pub shards: Vec<u32>,
    /// The store role, if this node archives messages.
    pub store: Option<StoreConfig>,
    /// The node's libp2p identity; a fresh secp256k1 key when `None` (then the peer id
    /// changes on every start; see [`load_or_create_key`]).
    pub keypair: Option<Keypair>,
    /// Largest encoded WakuMessage relayed (150 KiB by default).
    pub max_message_size: usize,
    /// Gossipsub heartbeat (mesh maintenance) interval.
    pub heartbeat_interval: Duration,
    /// Timeout of one request (one store page, one lightpush, one filter request).
    pub request_timeout: Duration,
    /// Overall timeout of a history fetch (all pages).
    pub history_timeout: Duration,
    /// How long a history fetch waits to learn of a store among the connected peers.
    pub store_wait: Duration,
    /// How often configured peers that are not connected are redialled.
    pub redial_interval: Duration,
    /// How long [`Node::start`] waits for the listen addresses.
    pub start_timeout: Duration,
    /// Limits of the filter service.
    pub filter_limits: FilterLimits,
    /// How often a light node refreshes its filter subscription (js-waku pings every 60 s).
    pub filter_refresh: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            mode: NodeMode::Relay,
            listen: vec![
                Multiaddr::empty()
                    .with(Protocol::Ip4([127, 0, 0, 1].into()))
                    .with(Protocol::Tcp(0)),
            ],
            peers: Vec::new(),
            cluster_id: waku::CLUSTER_ID,
            shards: waku::DEFAULT_SHARDS.to_vec(),
            store: None,
            keypair: None,
            max_message_size: waku::DEFAULT_MAX_MESSAGE_SIZE,
            heartbeat_interval: Duration::from_millis(700),
            request_timeout: Duration::from_secs(10),
            history_timeout: Duration::from_secs(120),
            store_wait: Duration::from_secs(5),
            redial_interval: Duration::from_secs(2),
            start_timeout: Duration::from_secs(10),
            filter_limits: FilterLimits::default(),
            filter_refresh: Duration::from_secs(30),
        }
    }
}

impl NodeConfig {
    /// The pubsub topics of our shards.
    ///
    /// ```
    /// use pfs_node::NodeConfig;
    ///
    /// let config = NodeConfig { cluster_id: 1, shards: vec![0, 5], ..NodeConfig::default() };
    /// assert_eq!(config.pubsub_topics(), ["/waku/2/rs/1/0", "/waku/2/rs/1/5"]);
    /// ```
    pub fn pubsub_topics(&self) -> Vec<String> {
        self.shards
            .iter()
            .map(|s| waku::pubsub_topic(self.cluster_id, *s))
            .collect()
    }
}

/// Loads the node key from `path` (libp2p protobuf encoding), or creates a secp256k1 key
/// there (file mode 0600) when the file does not exist, so that a node keeps its peer id
/// across restarts.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_node::load_or_create_key;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("node.key");
/// let created = load_or_create_key(&path)?;
/// assert!(created.clone().try_into_secp256k1().is_ok());
/// assert_eq!(load_or_create_key(&path)?.public().to_peer_id(), created.public().to_peer_id());
/// std::fs::write(&path, b"not a key")?;
/// assert!(matches!(load_or_create_key(&path), Err(pfs_node::NodeError::Key { .. })));
/// # Ok(())
/// # }
/// ```
pub fn load_or_create_key(path: &Path) -> Result<Keypair, NodeError> {
    let err = |reason: String| NodeError::Key {
        path: path.to_path_buf(),
        reason,
    };
    match std::fs::read(path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).map_err(|e| err(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate_secp256k1();
            let bytes = key.to_protobuf_encoding().map_err(|e| err(e.to_string()))?;
            write_private(path, &bytes).map_err(|e| err(e.to_string()))?;
            Ok(key)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    relay: gossipsub::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    streams: libp2p_stream::Behaviour,
}

type Reply<T> = SyncSender<T>;

enum Command {
    Publish {
        message: CarriedMessage,
        reply: Reply<Result<PublishReport, TransportError>>,
    },
    Subscribe {
        sender: SubscriptionSender,
    },
    LightPushTo {
        peer: PeerId,
        message: CarriedMessage,
        reply: Reply<Result<PublishReport, TransportError>>,
    },
    FetchHistory {
        store: Option<PeerId>,
        query: HistoryQuery,
        reply: Reply<Result<Vec<CarriedMessage>, TransportError>>,
    },
    StoreQuery {
        store: Option<PeerId>,
        request: StoreQueryRequest,
        reply: Reply<Result<StoreQueryResponse, TransportError>>,
    },
    AddPeer {
        addr: Multiaddr,
        reply: Reply<Result<(), NodeError>>,
    },
    Status {
        reply: Reply<NodeStatus>,
    },
    Shutdown,
}

/// A snapshot of the node's network state.
///
/// ```
/// # fn wait(mut done: impl FnMut() -> Result<bool, pfs_node::NodeError>) -> Result<(), Box<dyn std::error::Error>> {
/// #     let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
/// #     while !done()? {
/// #         if std::time::Instant::now() > deadline { return Err("timed out".into()); }
/// #         std::thread::sleep(std::time::Duration::from_millis(20));
/// #     }
/// #     Ok(())
/// # }
/// use pfs_node::{Node, NodeConfig};
///
/// let b = Node::start(NodeConfig::default())?;
/// let status = b.status()?;
/// assert!(status.connected.is_empty() && status.stored.is_none());
/// assert!(status.enr.as_deref().is_some_and(|e| e.starts_with("enr:")));
/// let a = Node::start(NodeConfig { peers: b.listen_addrs(), ..NodeConfig::default() })?;
/// wait(|| Ok(a.status()?.connected == [b.peer_id()]))?;
/// assert!(a.status()?.dial_errors.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Listen addresses, each ending in `/p2p/<this node's peer id>`.
    pub listen_addrs: Vec<Multiaddr>,
    /// Peers with at least one open connection.
    pub connected: Vec<PeerId>,
    /// Peers known to relay our default pubsub topic.
    pub relay_peers: Vec<PeerId>,
    /// Peers in this node's gossipsub mesh for the default pubsub topic.
    pub mesh_peers: Vec<PeerId>,
    /// Connected peers that announced the store protocol.
    pub stores: Vec<PeerId>,
    /// Connected peers that announced lightpush v3.
    pub lightpush_peers: Vec<PeerId>,
    /// Connected peers that announced filter.
    pub filter_peers: Vec<PeerId>,
    /// Messages in the local archive (`None` without the store role).
    pub stored: Option<u64>,
    /// Peers subscribed to our filter service.
    pub filter_subscribers: usize,
    /// Light mode: whether our filter subscription at the service node is active.
    pub filter_subscribed: bool,
    /// For each configured peer whose last dial failed (and that is not connected): its
    /// address and why, worded for a person (connection refused, a different peer id
    /// answered, ...). Cleared when a connection to it is established.
    pub dial_errors: Vec<(Multiaddr, String)>,
    /// This node's signed ENR (`enr:…`), served by peer exchange; `None` in light mode
    /// or with a node key that is not secp256k1.
    pub enr: Option<String>,
    /// Peers whose verified ENR this node learned by peer exchange (oldest first).
    pub discovered: Vec<PeerId>,
    /// Of those, the ones whose ENR announces the store role.
    pub discovered_stores: Vec<PeerId>,
}

/// How [`NodeHandle::confirm_delivery`] knows (or does not know) that the messages this
/// relay node published reached the network.
///
/// ```
/// use std::time::Duration;
/// use pfs_node::{Delivery, Node, NodeConfig, StoreConfig};
/// use pfs_transport::transport::{CarriedMessage, now_unix_ns};
/// use pfs_transport::waku::WakuMessage;
///
/// let dir = tempfile::tempdir()?;
/// let store = StoreConfig::new(dir.path().join("archive.sqlite"));
/// let node = Node::start(NodeConfig { store: Some(store), ..NodeConfig::default() })?;
/// assert_eq!(node.confirm_delivery(Duration::from_secs(1)), Delivery::Nothing);
/// for p in [1, 2] {
///     node.publish(CarriedMessage::on_default_shard(WakuMessage {
///         payload: vec![p], content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
///     }))?;
/// }
/// // our own archive holds both
/// assert_eq!(node.confirm_delivery(Duration::from_secs(5)), Delivery::Stored { store: Some(node.peer_id()), messages: 2 });
/// assert_eq!(node.confirm_delivery(Duration::from_secs(1)), Delivery::Nothing); // confirmed once
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Nothing was published since the last confirmation (or the node is a light node,
    /// whose lightpush answers already confirmed each message).
    Nothing,
    /// A store holds every one: this node's own archive (`store` = our peer id), a
    /// connected store, or a store learned by peer exchange, asked by message hash.
    Stored {
        /// The store that answered (`None` when the query went to a store learned by peer
        /// exchange whose connection is already gone).
        store: Option<PeerId>,
        /// How many messages.
        messages: usize,
    },
    /// A relay peer answered a lightpush of each one with 200: it holds and relays them.
    Relayed {
        /// The peer.
        peer: PeerId,
        /// How many messages.
        messages: usize,
    },
    /// No peer could confirm: none stores and none serves lightpush, or they failed.
    Unconfirmed {
        /// How many messages.
        messages: usize,
        /// Why, for a person.
        reason: String,
    },
}

/// Most relay publishes remembered for [`NodeHandle::confirm_delivery`] (the oldest are
/// forgotten).
const MAX_UNCONFIRMED: usize = 1000;

/// The entry point: [`Node::start`].
///
/// ```
/// use pfs_node::{Node, NodeConfig};
///
/// let node = Node::start(NodeConfig::default())?;
/// assert!(!node.listen_addrs().is_empty());
/// node.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Node;

/// A running node. Every method blocks briefly (a round trip to the node thread) except
/// the history fetch, which waits for the store. Dropping the handle shuts the node down.
///
/// ```
/// use pfs_node::{Keypair, Node, NodeConfig};
///
/// // the peer id is the key's: load_or_create_key keeps it across restarts
/// let key = Keypair::generate_secp256k1();
/// let node = Node::start(NodeConfig { keypair: Some(key.clone()), ..NodeConfig::default() })?;
/// assert_eq!(node.peer_id(), key.public().to_peer_id());
/// drop(node); // shuts the node down
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct NodeHandle {
    peer_id: PeerId,
    mode: NodeMode,
    cmd: UnboundedSender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
    history_timeout: Duration,
    request_timeout: Duration,
    store_wait: Duration,
    /// Relay mode: messages published and not yet confirmed.
    unconfirmed: Mutex<Vec<CarriedMessage>>,
}

impl Node {
    /// Starts a node: opens the archive (if any), starts listening, dials the configured
    /// peers, and returns once the listen addresses are known.
    ///
    /// # Examples
    ///
    /// Inconsistent configurations are refused before anything starts; a node on port 0
    /// reports the port it got, with its peer id:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use libp2p::multiaddr::Protocol;
    /// use pfs_node::{Node, NodeConfig, NodeError, NodeMode};
    ///
    /// let no_shard = NodeConfig { shards: vec![], ..NodeConfig::default() };
    /// assert!(matches!(Node::start(no_shard), Err(NodeError::Config(_))));
    /// let lonely_light = NodeConfig { mode: NodeMode::Light, ..NodeConfig::default() };
    /// assert!(matches!(Node::start(lonely_light), Err(NodeError::Config(_))));
    ///
    /// let node = Node::start(NodeConfig::default())?;
    /// let addr = node.listen_addrs().into_iter().next().ok_or("no listen address")?;
    /// let parts: Vec<Protocol> = addr.iter().collect();
    /// assert_eq!(parts[0], Protocol::Ip4([127, 0, 0, 1].into()));
    /// assert!(matches!(parts[1], Protocol::Tcp(port) if port != 0));
    /// assert_eq!(parts.last(), Some(&Protocol::P2p(node.peer_id())));
    /// node.shutdown();
    /// assert!(node.listen_addrs().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn start(config: NodeConfig) -> Result<NodeHandle, NodeError> {
        if config.shards.is_empty() {
            return Err(NodeError::Config("at least one shard is required"));
        }
        if config.mode == NodeMode::Light && config.peers.is_empty() {
            return Err(NodeError::Config("a light node needs a service node peer"));
        }
        if config.mode == NodeMode::Light && config.store.is_some() {
            return Err(NodeError::Config(
                "a light node does not relay, so it cannot archive: run a relay node for the store role",
            ));
        }
        let keypair = config
            .keypair
            .clone()
            .unwrap_or_else(Keypair::generate_secp256k1);
        let peer_id = keypair.public().to_peer_id();
        let archive = match &config.store {
            Some(s) => Some(Archive::open(&s.db_path, s.archive.clone())?),
            None => None,
        };
        let (cmd_tx, cmd_rx) = unbounded_channel();
        let (ready_tx, ready_rx) = sync_channel::<Result<(), NodeError>>(1);
        let history_timeout = config.history_timeout;
        let request_timeout = config.request_timeout;
        let store_wait = config.store_wait;
        let start_timeout = config.start_timeout;
        let mode = config.mode;
        let thread = std::thread::Builder::new()
            .name(format!("pfs-node-{peer_id}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(NodeError::Runtime(e.to_string())));
                        return;
                    }
                };
                rt.block_on(run(config, keypair, archive, cmd_rx, ready_tx));
            })
            .map_err(|e| NodeError::Runtime(e.to_string()))?;
        let started = ready_rx
            .recv_timeout(start_timeout + Duration::from_secs(5))
            .unwrap_or(Err(NodeError::StartTimeout(start_timeout)));
        let handle = NodeHandle {
            peer_id,
            mode,
            cmd: cmd_tx,
            thread: Mutex::new(Some(thread)),
            history_timeout,
            request_timeout,
            store_wait,
            unconfirmed: Mutex::new(Vec::new()),
        };
        match started {
            Ok(()) => {
                tracing::info!(%peer_id, ?mode, "node started");
                Ok(handle)
            }
            Err(e) => {
                handle.shutdown();
                Err(e)
            }
        }
    }
}

/// Starts a node and runs it until Ctrl-C (or SIGTERM), then shuts it down (for the
/// CLI's `pfs node`). `on_started` is called with the handle once listening, for example
/// to print the listen addresses.
pub fn run_node_until_ctrl_c(
    config: NodeConfig,
    on_started: impl FnOnce(&NodeHandle),
) -> Result<(), NodeError> {
    let handle = Node::start(config)?;
    on_started(&handle);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NodeError::Runtime(e.to_string()))?;
    let r = rt.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r,
                _ = term.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await
    });
    handle.shutdown();
    r.map_err(|e| NodeError::Runtime(e.to_string()))
}

impl NodeHandle {
    /// This node's peer id.
    ///
    /// ```
    /// use pfs_node::{Node, NodeConfig};
    ///
    /// let (a, b) = (Node::start(NodeConfig::default())?, Node::start(NodeConfig::default())?);
    /// assert_ne!(a.peer_id(), b.peer_id()); // a fresh key each, without a configured one
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Relay or light node.
    ///
    /// ```
    /// use pfs_node::{Node, NodeConfig, NodeMode};
    ///
    /// assert_eq!(Node::start(NodeConfig::default())?.mode(), NodeMode::Relay);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mode(&self) -> NodeMode {
        self.mode
    }

    fn request<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<Receiver<T>, NodeError> {
        let (tx, rx) = sync_channel(1);
        self.cmd.send(make(tx)).map_err(|_| NodeError::Closed)?;
        Ok(rx)
    }

    /// [`Self::request`] for a transport operation, waited for: the node's own request
    /// timeout plus 2 s for its loop (`Timeout`), `Closed` when the node is gone.
    fn transport_request<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, TransportError> {
        self.request(make)
            .map_err(|_| TransportError::Closed)?
            .recv_timeout(self.request_timeout + Duration::from_secs(2))
            .map_err(recv_error)
    }

    /// A snapshot of the node's network state.
    ///
    /// ```
    /// # fn wait(mut done: impl FnMut() -> Result<bool, pfs_node::NodeError>) -> Result<(), Box<dyn std::error::Error>> {
    /// #     let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    /// #     while !done()? {
    /// #         if std::time::Instant::now() > deadline { return Err("timed out".into()); }
    /// #         std::thread::sleep(std::time::Duration::from_millis(20));
    /// #     }
    /// #     Ok(())
    /// # }
    /// use pfs_node::{Node, NodeConfig};
    ///
    /// let b = Node::start(NodeConfig::default())?;
    /// let a = Node::start(NodeConfig { peers: b.listen_addrs(), ..NodeConfig::default() })?;
    /// // b is connected to and relays the default pubsub topic
    /// wait(|| Ok(a.status()?.relay_peers == [b.peer_id()]))?;
    /// assert_eq!(a.status()?.connected, [b.peer_id()]);
    /// assert_eq!(a.status()?.listen_addrs, a.listen_addrs());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self) -> Result<NodeStatus, NodeError> {
        self.request(|reply| Command::Status { reply })?
            .recv()
            .map_err(|_| NodeError::Closed)
    }

    /// The listen addresses, each ending in `/p2p/<peer id>` (ready to give to another
    /// node as a peer). Empty once the node is shut down.
    ///
    /// ```
    /// use libp2p::multiaddr::Protocol;
    /// use pfs_node::{Node, NodeConfig};
    ///
    /// let node = Node::start(NodeConfig::default())?;
    /// let addrs = node.listen_addrs();
    /// assert!(!addrs.is_empty());
    /// assert!(addrs.iter().all(|a| a.iter().last() == Some(Protocol::P2p(node.peer_id()))));
    /// node.shutdown();
    /// assert!(node.listen_addrs().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.status().map(|s| s.listen_addrs).unwrap_or_default()
    }

    /// Connects to a peer and keeps it connected.
    ///
    /// ```
    /// # fn wait(mut done: impl FnMut() -> Result<bool, pfs_node::NodeError>) -> Result<(), Box<dyn std::error::Error>> {
    /// #     let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    /// #     while !done()? {
    /// #         if std::time::Instant::now() > deadline { return Err("timed out".into()); }
    /// #         std::thread::sleep(std::time::Duration::from_millis(20));
    /// #     }
    /// #     Ok(())
    /// # }
    /// use pfs_node::{Node, NodeConfig, NodeError};
    ///
    /// let (a, b) = (Node::start(NodeConfig::default())?, Node::start(NodeConfig::default())?);
    /// let b_addr = b.listen_addrs().remove(0);
    /// a.add_peer(b_addr.clone())?;
    /// a.add_peer(b_addr)?; // already known: nothing more
    /// wait(|| Ok(a.status()?.connected == [b.peer_id()]))?;
    /// // its own address is refused
    /// let own = a.listen_addrs().remove(0);
    /// assert!(matches!(a.add_peer(own), Err(NodeError::BadPeer { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_peer(&self, addr: Multiaddr) -> Result<(), NodeError> {
        self.request(|reply| Command::AddPeer { addr, reply })?
            .recv()
            .map_err(|_| NodeError::Closed)?
    }

    /// Publishes a message. Relay mode: gossiped on its pubsub topic, archived if this
    /// node is a store, pushed to filter subscribers and echoed to this node's own
    /// subscriptions; fails with [`TransportError::NoPeers`] (and has no effect) when no
    /// relay peer is subscribed and this node has no store. Light mode: lightpushed to the
    /// service node, which answers with its relay peer count.
    ///
    /// # Examples
    ///
    /// Two relay nodes on 127.0.0.1: what one publishes reaches the other's subscription.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::{Duration, Instant};
    /// use pfs_node::{Node, NodeConfig};
    /// use pfs_transport::transport::{CarriedMessage, TransportError, now_unix_ns};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let fast = || NodeConfig { heartbeat_interval: Duration::from_millis(200), ..NodeConfig::default() };
    /// let msg = |text: &[u8]| CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: text.to_vec(), content_topic: "/waku/1/0x01020304/rfc26".into(),
    ///     version: Some(1), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// });
    /// let b = Node::start(fast())?;
    /// // Alone, without a store: nobody to give it to.
    /// assert!(matches!(b.publish(msg(b"early")), Err(TransportError::NoPeers)));
    /// let a = Node::start(NodeConfig { peers: b.listen_addrs(), ..fast() })?;
    /// let deadline = Instant::now() + Duration::from_secs(20);
    /// while a.status()?.relay_peers != [b.peer_id()] {
    ///     assert!(Instant::now() < deadline, "no relay peer");
    ///     std::thread::sleep(Duration::from_millis(50));
    /// }
    /// let inbox = b.subscribe(&["/waku/1/0x01020304/rfc26".parse()?])?;
    /// assert_eq!(a.publish(msg(b"hello"))?.relay_peers, 1);
    /// let got = inbox.recv_timeout(Duration::from_secs(10))?.ok_or("not relayed")?;
    /// assert_eq!(got.message.payload, b"hello");
    /// # Ok(())
    /// # }
    /// ```
    pub fn publish(&self, message: CarriedMessage) -> Result<PublishReport, TransportError> {
        let keep = (self.mode == NodeMode::Relay).then(|| message.clone());
        let r = self.transport_request(|reply| Command::Publish { message, reply })?;
        if let (Ok(_), Some(m)) = (&r, keep) {
            let mut list = lock(&self.unconfirmed);
            list.push(m);
            if list.len() > MAX_UNCONFIRMED {
                let extra = list.len() - MAX_UNCONFIRMED;
                list.drain(..extra);
            }
        }
        r
    }

    /// Relay mode: makes sure the messages published since the last call reached the
    /// network before the node stops (gossipsub only queues them; a node stopped right
    /// after publishing can lose them). In order:
    ///
    /// 1. this node's own archive holds them; or a store (connected, or learned by peer
    ///    exchange, then dialled) answers a store query for their hashes with all of
    ///    them, asked again every 50 ms until `timeout`;
    /// 2. else a connected relay peer that serves lightpush (waited for until `timeout`
    ///    while relay peers are connected but none is known to serve it yet) answers a
    ///    lightpush of each
    ///    with 200 (it then holds them, whether it got them from us by relay first or not;
    ///    messages timestamped more than 15 s ago are not pushed again: the 20 s timestamp
    ///    rule would refuse them, and the node has been running since they were queued);
    /// 3. else [`Delivery::Unconfirmed`].
    ///
    /// ```
    /// # fn wait(mut done: impl FnMut() -> Result<bool, pfs_node::NodeError>) -> Result<(), Box<dyn std::error::Error>> {
    /// #     let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    /// #     while !done()? {
    /// #         if std::time::Instant::now() > deadline { return Err("timed out".into()); }
    /// #         std::thread::sleep(std::time::Duration::from_millis(20));
    /// #     }
    /// #     Ok(())
    /// # }
    /// use std::time::Duration;
    /// use pfs_node::{Delivery, Node, NodeConfig};
    /// use pfs_transport::transport::{CarriedMessage, now_unix_ns};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// // two relay nodes without a store: the peer confirms by answering a lightpush
    /// let b = Node::start(NodeConfig::default())?;
    /// let a = Node::start(NodeConfig { peers: b.listen_addrs(), ..NodeConfig::default() })?;
    /// wait(|| Ok(a.status()?.relay_peers == [b.peer_id()]))?;
    /// a.publish(CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// }))?;
    /// assert_eq!(a.confirm_delivery(Duration::from_secs(10)), Delivery::Relayed { peer: b.peer_id(), messages: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn confirm_delivery(&self, timeout: Duration) -> Delivery {
        let messages = std::mem::take(&mut *lock(&self.unconfirmed));
        if messages.is_empty() {
            return Delivery::Nothing;
        }
        let n = messages.len();
        let Ok(st) = self.status() else {
            return Delivery::Unconfirmed {
                messages: n,
                reason: "the node has stopped".into(),
            };
        };
        if st.stored.is_some() && self.all_stored(Some(self.peer_id), &messages) {
            return Delivery::Stored {
                store: Some(self.peer_id),
                messages: n,
            };
        }
        let deadline = Instant::now() + timeout;
        let mut why = String::new();
        if !st.stores.is_empty() || !st.discovered_stores.is_empty() {
            loop {
                let target = self.status().ok().and_then(|s| s.stores.first().copied());
                if self.all_stored(target, &messages) {
                    return Delivery::Stored {
                        store: target,
                        messages: n,
                    };
                }
                if Instant::now() >= deadline {
                    why = format!(
                        "no store confirmed the messages within {} ms",
                        timeout.as_millis()
                    );
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // a relay peer connected moments ago may not have told us yet (identify) that it
        // serves lightpush: wait for one until the deadline
        let mut st = st;
        let pushable = |st: &NodeStatus| {
            st.lightpush_peers
                .iter()
                .any(|p| st.relay_peers.contains(p))
        };
        while !pushable(&st) && !st.relay_peers.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            match self.status() {
                Ok(now) => st = now,
                Err(_) => break,
            }
        }
        for peer in &st.lightpush_peers {
            if !st.relay_peers.contains(peer) {
                continue;
            }
            // a message older than 15 s is not pushed again: the 20 s timestamp rule would
            // refuse it, and a node that ran that long since has written it out
            let recent_from = now_unix_ns().saturating_sub(15_000_000_000);
            let ok = messages
                .iter()
                .filter(|m| m.timestamp_ns() >= recent_from)
                .all(|m| {
                self.lightpush_to(*peer, m.clone())
                    .map_err(|e| {
                        tracing::debug!(%peer, error = %e, "delivery confirmation by lightpush failed")
                    })
                    .is_ok()
            });
            if ok {
                return Delivery::Relayed {
                    peer: *peer,
                    messages: n,
                };
            }
        }
        if why.is_empty() {
            why = "no connected peer stores or serves lightpush".into();
        }
        Delivery::Unconfirmed {
            messages: n,
            reason: why,
        }
    }

    /// Whether `store` (or the first store at hand when `None`) holds every message.
    fn all_stored(&self, store: Option<PeerId>, messages: &[CarriedMessage]) -> bool {
        messages.chunks(100).all(|chunk| {
            let hashes: Vec<Vec<u8>> = chunk.iter().map(|m| m.hash().to_vec()).collect();
            let req = StoreQueryRequest {
                request_id: services::request_id(),
                include_data: false,
                pubsub_topic: None,
                content_topics: Vec::new(),
                time_start: None,
                time_end: None,
                message_hashes: hashes.clone(),
                pagination_cursor: None,
                pagination_forward: true,
                pagination_limit: Some(100),
            };
            match self.store_query(store, req) {
                Ok(resp) if resp.status_code == Some(200) => {
                    let got: HashSet<&[u8]> = resp
                        .messages
                        .iter()
                        .filter_map(|kv| kv.message_hash.as_deref())
                        .collect();
                    hashes.iter().all(|h| got.contains(h.as_slice()))
                }
                _ => false,
            }
        })
    }

    /// Lightpushes (v3) a message to a connected `peer`, in either mode, and returns its
    /// answer: a 200 means the peer holds the message and relayed it (to
    /// `relay_peers` peers; 0 when it already had it, for example by relay from us).
    /// Fails with [`TransportError::NoPeers`] when `peer` is not connected.
    ///
    /// ```
    /// # fn wait(mut done: impl FnMut() -> Result<bool, pfs_node::NodeError>) -> Result<(), Box<dyn std::error::Error>> {
    /// #     let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    /// #     while !done()? {
    /// #         if std::time::Instant::now() > deadline { return Err("timed out".into()); }
    /// #         std::thread::sleep(std::time::Duration::from_millis(20));
    /// #     }
    /// #     Ok(())
    /// # }
    /// use pfs_node::{Node, NodeConfig};
    /// use pfs_transport::transport::{CarriedMessage, TransportError, now_unix_ns};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let (a, b) = (Node::start(NodeConfig::default())?, Node::start(NodeConfig::default())?);
    /// let msg = CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// });
    /// // not connected yet
    /// assert!(matches!(a.lightpush_to(b.peer_id(), msg.clone()), Err(TransportError::NoPeers)));
    /// a.add_peer(b.listen_addrs().remove(0))?;
    /// wait(|| Ok(a.status()?.lightpush_peers == [b.peer_id()]))?;
    /// // b accepts it and relays it (back to a, its only relay peer)
    /// assert_eq!(a.lightpush_to(b.peer_id(), msg)?.relay_peers, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lightpush_to(
        &self,
        peer: PeerId,
        message: CarriedMessage,
    ) -> Result<PublishReport, TransportError> {
        self.transport_request(|reply| Command::LightPushTo {
            peer,
            message,
            reply,
        })?
    }

    /// Receives every message on `content_topics` that reaches this node from now on
    /// (light mode: through a filter subscription at the service node).
    ///
    /// ```
    /// use std::time::Duration;
    /// use pfs_node::{Node, NodeConfig, StoreConfig};
    /// use pfs_transport::transport::{CarriedMessage, TransportError, now_unix_ns};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let node = Node::start(NodeConfig { store: Some(StoreConfig::new(dir.path().join("a.sqlite"))), ..NodeConfig::default() })?;
    /// let inbox = node.subscribe(&["/a/1/b/proto".parse()?])?;
    /// assert!(matches!(node.subscribe(&[]), Err(TransportError::InvalidQuery(_))));
    /// // a store node alone may publish: its own subscriptions get the message too
    /// node.publish(CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: b"mine".to_vec(), content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// }))?;
    /// let got = inbox.recv_timeout(Duration::from_secs(5))?.ok_or("no echo")?;
    /// assert_eq!(got.message.payload, b"mine");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe(
        &self,
        content_topics: &[ContentTopic],
    ) -> Result<Subscription, TransportError> {
        let (sender, sub) = Subscription::channel(content_topics)?;
        self.cmd
            .send(Command::Subscribe { sender })
            .map_err(|_| TransportError::Closed)?;
        Ok(sub)
    }

    /// Fetches history from `store` (a peer id, or this node's own id for the local
    /// archive) or, when `None`, from the first connected store (or the local archive if
    /// this node is one and no remote store is connected). Follows pages to the end,
    /// within [`MAX_HISTORY_TOTAL_MESSAGES`].
    ///
    /// With no store at hand, a store learned by peer exchange (an ENR with the store
    /// bit) is dialled and the call fails with [`TransportError::NoStore`] for now;
    /// [`Transport::fetch_history`] waits up to `store_wait` for it to connect.
    ///
    /// # Examples
    ///
    /// A light node and its service node (a relay node with the store role): the light node
    /// receives through its filter subscription, publishes with lightpush, and reads the
    /// service node's archive.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::{Duration, Instant};
    /// use pfs_node::{Node, NodeConfig, NodeMode, StoreConfig};
    /// use pfs_transport::transport::{CarriedMessage, HistoryQuery, now_unix_ns};
    /// use pfs_transport::waku::WakuMessage;
    ///
    /// let topic: pfs_transport::ContentTopic = "/waku/1/0x01020304/rfc26".parse()?;
    /// let msg = |text: &[u8]| CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: text.to_vec(), content_topic: topic.to_string(),
    ///     version: Some(1), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// });
    /// let dir = tempfile::tempdir()?;
    /// let store = StoreConfig::new(dir.path().join("archive.sqlite"));
    /// let service = Node::start(NodeConfig { store: Some(store), ..NodeConfig::default() })?;
    /// let light = Node::start(NodeConfig { mode: NodeMode::Light, peers: service.listen_addrs(), ..NodeConfig::default() })?;
    /// let inbox = light.subscribe(std::slice::from_ref(&topic))?;
    /// let deadline = Instant::now() + Duration::from_secs(20);
    /// while !light.status()?.filter_subscribed {
    ///     assert!(Instant::now() < deadline, "no filter subscription");
    ///     std::thread::sleep(Duration::from_millis(50));
    /// }
    /// service.publish(msg(b"pushed"))?;
    /// let pushed = inbox.recv_timeout(Duration::from_secs(10))?.ok_or("no filter push")?;
    /// assert_eq!(pushed.message.payload, b"pushed");
    /// light.publish(msg(b"lightpushed"))?;
    ///
    /// let query = HistoryQuery::recent(vec![topic.clone()], now_unix_ns(), 60);
    /// let history = light.fetch_history(Some(service.peer_id()), &query)?;
    /// let texts: Vec<&[u8]> = history.iter().map(|m| m.message.payload.as_slice()).collect();
    /// assert_eq!(texts, [&b"pushed"[..], b"lightpushed"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn fetch_history(
        &self,
        store: Option<PeerId>,
        query: &HistoryQuery,
    ) -> Result<Vec<CarriedMessage>, TransportError> {
        query.check()?;
        let query = query.clone();
        self.request(|reply| Command::FetchHistory {
            store,
            query,
            reply,
        })
        .map_err(|_| TransportError::Closed)?
        .recv_timeout(self.history_timeout)
        .map_err(recv_error)?
    }

    /// Sends one raw store v3 query (one page) to `store` (or the first connected store,
    /// or the local archive) and returns the answer as received.
    ///
    /// # Examples
    ///
    /// A store node alone publishes into its own archive, answers a lookup by message hash
    /// and confirms delivery from it:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use pfs_node::{Delivery, Node, NodeConfig, StoreConfig};
    /// use pfs_transport::transport::{CarriedMessage, now_unix_ns};
    /// use pfs_transport::waku::WakuMessage;
    /// use pfs_wire::waku::StoreQueryRequest;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = StoreConfig::new(dir.path().join("archive.sqlite"));
    /// let node = Node::start(NodeConfig { store: Some(store), ..NodeConfig::default() })?;
    /// let m = CarriedMessage::on_default_shard(WakuMessage {
    ///     payload: vec![1], content_topic: "/waku/1/0x01020304/rfc26".into(),
    ///     version: Some(1), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// });
    /// assert!(node.publish(m.clone())?.stored);
    /// let lookup = StoreQueryRequest { message_hashes: vec![m.hash().to_vec()], ..StoreQueryRequest::default() };
    /// let resp = node.store_query(None, lookup)?;
    /// assert_eq!(resp.status_code, Some(200));
    /// assert_eq!(resp.messages.len(), 1);
    /// assert_eq!(node.confirm_delivery(Duration::from_secs(5)), Delivery::Stored { store: Some(node.peer_id()), messages: 1 });
    /// # Ok(())
    /// # }
    /// ```
    pub fn store_query(
        &self,
        store: Option<PeerId>,
        request: StoreQueryRequest,
    ) -> Result<StoreQueryResponse, TransportError> {
        self.transport_request(|reply| Command::StoreQuery {
            store,
            request,
            reply,
        })?
    }

    /// This node's signed ENR (see [`NodeStatus::enr`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use libp2p::multiaddr::Protocol;
    /// use pfs_node::{Node, NodeConfig};
    ///
    /// let node = Node::start(NodeConfig::default())?;
    /// let enr = node.enr().ok_or("no ENR")?;
    /// assert_eq!(enr.peer_id()?, node.peer_id());
    /// let addr = node.listen_addrs().into_iter().next().ok_or("no listen address")?;
    /// let port = addr.iter().find_map(|p| match p { Protocol::Tcp(port) => Some(port), _ => None });
    /// assert_eq!(enr.tcp()?, port);
    /// assert!(enr.waku2()?.ok_or("no waku2")?.relay());
    /// # Ok(())
    /// # }
    /// ```
    pub fn enr(&self) -> Option<Enr> {
        self.status()
            .ok()
            .and_then(|s| s.enr)
            .and_then(|t| Enr::from_text(&t).ok())
    }

    /// Stops the node (idempotent): closes connections, the archive and the thread.
    ///
    /// ```
    /// use pfs_node::{Node, NodeConfig, NodeError};
    ///
    /// let node = Node::start(NodeConfig::default())?;
    /// let inbox = node.subscribe(&["/a/1/b/proto".parse()?])?;
    /// node.shutdown();
    /// node.shutdown(); // idempotent
    /// assert!(matches!(node.status(), Err(NodeError::Closed)));
    /// assert!(inbox.recv().is_err()); // the subscription is closed too
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&self) {
        let _ = self.cmd.send(Command::Shutdown);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            if t.join().is_err() {
                tracing::error!("node thread panicked");
            }
            tracing::info!(peer_id = %self.peer_id, "node stopped");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn recv_error(e: std::sync::mpsc::RecvTimeoutError) -> TransportError {
    match e {
        std::sync::mpsc::RecvTimeoutError::Timeout => TransportError::Timeout,
        std::sync::mpsc::RecvTimeoutError::Disconnected => TransportError::Closed,
    }
}

impl Drop for NodeHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Transport for NodeHandle {
    fn publish(&self, message: CarriedMessage) -> Result<PublishReport, TransportError> {
        NodeHandle::publish(self, message)
    }

    fn subscribe(&self, content_topics: &[ContentTopic]) -> Result<Subscription, TransportError> {
        NodeHandle::subscribe(self, content_topics)
    }

    /// Asks the first connected store; waits up to `store_wait` for one to be known.
    fn fetch_history(&self, query: &HistoryQuery) -> Result<Vec<CarriedMessage>, TransportError> {
        let deadline = Instant::now() + self.store_wait;
        loop {
            match NodeHandle::fetch_history(self, None, query) {
                Err(TransportError::NoStore) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }
}

/// A configured peer the node keeps connected.
/// A dial failure worded for a person: the two cases users meet most, then libp2p's text.
fn dial_error_text(e: &libp2p::swarm::DialError) -> String {
    use libp2p::swarm::DialError;
    match e {
        DialError::WrongPeerId { obtained, .. } => format!(
            "a node answers there, but its peer id is {obtained}, not the one in the address (is the address out of date?)"
        ),
        DialError::Transport(errs) => {
            // libp2p's Display of a transport error can be empty: its Debug names the cause
            let debug = format!("{errs:?}");
            if debug.to_lowercase().contains("refused") {
                "connection refused (is a node running at that address?)".to_owned()
            } else {
                let text: Vec<String> = errs
                    .iter()
                    .map(|(_, e)| e.to_string())
                    .filter(|t| !t.is_empty())
                    .collect();
                if text.is_empty() {
                    debug
                } else {
                    text.join("; ")
                }
            }
        }
        other => other.to_string(),
    }
}

struct PeerSlot {
    addr: Multiaddr,
    /// From the address, or learned from the first connection when the address has none.
    peer: Option<PeerId>,
    peer_in_addr: bool,
    dialing: Option<ConnectionId>,
    /// Why the last dial failed, until a connection succeeds.
    last_error: Option<String>,
}

/// Results of tasks that the event loop waits for.
enum TaskDone {
    History {
        reply: Reply<Result<Vec<CarriedMessage>, TransportError>>,
        result: Result<Vec<CarriedMessage>, TransportError>,
    },
    FilterSubscribed {
        ok: bool,
        topics: BTreeSet<String>,
    },
    LightPushed {
        echo: CarriedMessage,
        reply: Reply<Result<PublishReport, TransportError>>,
        result: Result<PublishReport, TransportError>,
    },
    /// A peer-exchange answer (verified records only).
    Exchanged {
        from: PeerId,
        enrs: Vec<Enr>,
    },
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    config: NodeConfig,
    services: Arc<Services>,
    control: libp2p_stream::Control,
    relay_topics: Vec<IdentTopic>,
    default_topic: TopicHash,
    archive: Option<Arc<Mutex<Archive>>>,
    subscribers: Vec<SubscriptionSender>,
    peers: Vec<PeerSlot>,
    connected: HashSet<PeerId>,
    protocols: HashMap<PeerId, Vec<StreamProtocol>>,
    listen_addrs: Vec<Multiaddr>,
    seen: lru::Seen,
    internal_rx: UnboundedReceiver<Internal>,
    done_tx: UnboundedSender<TaskDone>,
    done_rx: UnboundedReceiver<TaskDone>,
    filter_subscribed: bool,
    /// Light mode: the content topics the service node confirmed.
    filter_topics: BTreeSet<String>,
    /// The node key (signs our ENR).
    keypair: Keypair,
    /// Our ENR and the ENRs learned by peer exchange (shared with the server task).
    book: Arc<Mutex<PeerBook>>,
    /// Sequence number of our current ENR.
    enr_seq: u64,
    /// A retention sweep is under way: its next step (one bounded transaction) runs as
    /// soon as the loop is free, between other events.
    purge_pending: bool,
    /// Connected peers asked for their peers, and when.
    px_asked: HashMap<PeerId, Instant>,
    /// Stores learned by peer exchange that we dialled, and when.
    store_dials: HashMap<PeerId, Instant>,
}

mod lru {
    use std::collections::{HashSet, VecDeque};

    /// Message hashes seen recently (bounded), to drop duplicates arriving by two paths
    /// (relay and filter, or two relays with different encodings).
    pub struct Seen {
        set: HashSet<[u8; 32]>,
        order: VecDeque<[u8; 32]>,
        cap: usize,
    }

    impl Seen {
        pub fn new(cap: usize) -> Self {
            Seen {
                set: HashSet::new(),
                order: VecDeque::new(),
                cap,
            }
        }

        /// True when new.
        pub fn insert(&mut self, h: [u8; 32]) -> bool {
            if !self.set.insert(h) {
                return false;
            }
            self.order.push_back(h);
            if self.order.len() > self.cap
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
            true
        }
    }
}

fn build_swarm(config: &NodeConfig, keypair: Keypair) -> Result<Swarm<Behaviour>, NodeError> {
    let gossip_config = gossipsub::ConfigBuilder::default()
        .protocol_id(services::RELAY, gossipsub::Version::V1_1)
        .heartbeat_interval(config.heartbeat_interval)
        // nwaku: d=6, dLow=4, dHigh=8, dOut=3, dLazy=6; small local networks need lower
        // minimums, which gossipsub keeps consistent (mesh_outbound_min < mesh_n_low).
        .mesh_n_low(1)
        .mesh_n(6)
        .mesh_n_high(8)
        .mesh_outbound_min(0)
        .gossip_lazy(6)
        .flood_publish(true)
        .duplicate_cache_time(Duration::from_secs(120))
        .max_transmit_size(config.max_message_size + 64 * 1024)
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| {
            use sha2::Digest;
            gossipsub::MessageId::from(sha2::Sha256::digest(&m.data).to_vec())
        })
        .build()
        .map_err(|e| NodeError::Swarm(e.to_string()))?;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            (yamux::Config::default, libp2p_mplex::Config::default),
        )
        .map_err(|e| NodeError::Swarm(e.to_string()))?
        .with_websocket(
            noise::Config::new,
            (yamux::Config::default, libp2p_mplex::Config::default),
        );
    let swarm = futures::executor::block_on(swarm)
        .map_err(|e| NodeError::Swarm(e.to_string()))?
        .with_behaviour(
            |key| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                let relay = gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Anonymous,
                    gossip_config,
                )
                .map_err(|e| std::io::Error::other(e.to_string()))?;
                Ok(Behaviour {
                    relay,
                    identify: identify::Behaviour::new(
                        identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_string(), key.public())
                            .with_agent_version(format!("pfs-node/{}", env!("CARGO_PKG_VERSION"))),
                    ),
                    ping: ping::Behaviour::new(ping::Config::new()),
                    streams: libp2p_stream::Behaviour::new(),
                })
            },
        )
        .map_err(|e| NodeError::Swarm(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}

fn accept(
    control: &mut libp2p_stream::Control,
    protocol: StreamProtocol,
) -> Result<libp2p_stream::IncomingStreams, NodeError> {
    control
        .accept(protocol)
        .map_err(|_| NodeError::Swarm("protocol registered twice".into()))
}

/// Registers the inbound protocols this node serves and spawns their accept loops.
fn serve(
    config: &NodeConfig,
    control: &mut libp2p_stream::Control,
    services: &Arc<Services>,
    book: &Arc<Mutex<PeerBook>>,
) -> Result<(), NodeError> {
    let t = config.request_timeout;
    let s = Arc::clone(services);
    let incoming = accept(control, services::METADATA)?;
    tokio::spawn(services::accept_loop(incoming, 64, t, move |peer, st| {
        let s = Arc::clone(&s);
        async move { s.serve_metadata(peer, st).await }
    }));
    match config.mode {
        NodeMode::Relay => {
            let s = Arc::clone(services);
            let incoming = accept(control, services::LIGHTPUSH_V3)?;
            tokio::spawn(services::accept_loop(incoming, 64, t, move |_, st| {
                let s = Arc::clone(&s);
                async move { s.serve_lightpush_v3(st, now_unix_ns()).await }
            }));
            let s = Arc::clone(services);
            let incoming = accept(control, services::LIGHTPUSH_V2)?;
            tokio::spawn(services::accept_loop(incoming, 64, t, move |_, st| {
                let s = Arc::clone(&s);
                async move { s.serve_lightpush_v2(st, now_unix_ns()).await }
            }));
            let b = Arc::clone(book);
            let incoming = accept(control, PEER_EXCHANGE)?;
            tokio::spawn(services::accept_loop(incoming, 16, t, move |peer, st| {
                let b = Arc::clone(&b);
                async move { peer_exchange::serve(&b, peer, st).await }
            }));
            let s = Arc::clone(services);
            let incoming = accept(control, services::FILTER_SUBSCRIBE)?;
            tokio::spawn(services::accept_loop(incoming, 64, t, move |peer, st| {
                let s = Arc::clone(&s);
                async move { s.serve_filter_subscribe(peer, st).await }
            }));
            if services.archive.is_some() {
                let s = Arc::clone(services);
                let incoming = accept(control, services::STORE)?;
                tokio::spawn(services::accept_loop(incoming, 16, t, move |_, st| {
                    let s = Arc::clone(&s);
                    async move { s.serve_store(st).await }
                }));
            }
        }
        NodeMode::Light => {
            // bounded like the services: at most 16 push streams at once, each at most
            // six request timeouts long (a service node may keep one open for many pushes)
            let s = Arc::clone(services);
            let incoming = accept(control, services::FILTER_PUSH)?;
            tokio::spawn(services::accept_loop(
                incoming,
                16,
                t * 6,
                move |peer, st| {
                    let s = Arc::clone(&s);
                    async move {
                        s.receive_pushes(peer, st, now_unix_ns()).await;
                        Ok(())
                    }
                },
            ));
        }
    }
    Ok(())
}

async fn run(
    config: NodeConfig,
    keypair: Keypair,
    archive: Option<Archive>,
    mut cmd_rx: UnboundedReceiver<Command>,
    ready: SyncSender<Result<(), NodeError>>,
) {
    let mut swarm = match build_swarm(&config, keypair.clone()) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let relay_topics: Vec<IdentTopic> = config
        .pubsub_topics()
        .into_iter()
        .map(IdentTopic::new)
        .collect();
    let default_topic = relay_topics
        .first()
        .map(|t| t.hash())
        .unwrap_or_else(|| IdentTopic::new(waku::DEFAULT_PUBSUB_TOPIC).hash());
    if config.mode == NodeMode::Relay {
        for t in &relay_topics {
            if let Err(e) = swarm.behaviour_mut().relay.subscribe(t) {
                let _ = ready.send(Err(NodeError::Swarm(e.to_string())));
                return;
            }
        }
    }
    let archive = archive.map(|a| Arc::new(Mutex::new(a)));
    let (internal_tx, internal_rx) = unbounded_channel();
    let services = Arc::new(Services {
        cluster_id: config.cluster_id,
        shards: config.shards.clone(),
        pubsub_topics: config.pubsub_topics(),
        max_message_size: config.max_message_size,
        archive: archive.clone(),
        filters: Arc::new(Mutex::new(FilterRegistry::new(config.filter_limits))),
        internal: internal_tx,
    });
    let mut control = swarm.behaviour().streams.new_control();
    let book = Arc::new(Mutex::new(PeerBook::default()));
    if let Err(e) = serve(&config, &mut control, &services, &book) {
        let _ = ready.send(Err(e));
        return;
    }
    let mut listeners = HashSet::new();
    for addr in &config.listen {
        match swarm.listen_on(addr.clone()) {
            Ok(id) => {
                listeners.insert(id);
            }
            Err(e) => {
                let _ = ready.send(Err(NodeError::Listen {
                    addr: addr.clone(),
                    reason: e.to_string(),
                }));
                return;
            }
        }
    }
    let (done_tx, done_rx) = unbounded_channel();
    let mut ev = EventLoop {
        swarm,
        config: config.clone(),
        services,
        control,
        relay_topics,
        default_topic,
        archive,
        subscribers: Vec::new(),
        peers: Vec::new(),
        connected: HashSet::new(),
        protocols: HashMap::new(),
        listen_addrs: Vec::new(),
        seen: lru::Seen::new(100_000),
        internal_rx,
        done_tx,
        done_rx,
        filter_subscribed: false,
        filter_topics: BTreeSet::new(),
        keypair,
        book,
        enr_seq: 0,
        purge_pending: false,
        px_asked: HashMap::new(),
        store_dials: HashMap::new(),
    };

    // Wait until every listener reported an address (port 0 gets its real port).
    let deadline = tokio::time::Instant::now() + config.start_timeout;
    while !listeners.is_empty() {
        match tokio::time::timeout_at(deadline, ev.swarm.select_next_some()).await {
            Ok(SwarmEvent::NewListenAddr {
                listener_id,
                address,
            }) => {
                listeners.remove(&listener_id);
                ev.add_listen_addr(address);
            }
            Ok(SwarmEvent::ListenerClosed {
                addresses, reason, ..
            }) => {
                let _ = ready.send(Err(NodeError::Listen {
                    addr: addresses.first().cloned().unwrap_or_else(Multiaddr::empty),
                    reason: format!("{reason:?}"),
                }));
                return;
            }
            Ok(other) => ev.on_swarm_event(other),
            Err(_) => {
                let _ = ready.send(Err(NodeError::StartTimeout(config.start_timeout)));
                return;
            }
        }
    }
    for addr in &config.peers {
        if let Err(e) = ev.add_peer(addr.clone()) {
            tracing::warn!(%addr, error = %e, "configured peer ignored");
        }
    }
    ev.purge_archive();
    if ready.send(Ok(())).is_err() {
        return;
    }

    let purge_every = config
        .store
        .as_ref()
        .map(|s| s.purge_interval)
        .unwrap_or(Duration::from_secs(3600))
        .max(Duration::from_millis(100));
    let mut purge = tokio::time::interval(purge_every);
    let mut redial = tokio::time::interval(config.redial_interval.max(Duration::from_millis(100)));
    let mut refresh = tokio::time::interval(config.filter_refresh.max(Duration::from_millis(100)));
    loop {
        tokio::select! {
            cmd = cmd_rx.recv() => match cmd {
                None | Some(Command::Shutdown) => break,
                Some(c) => ev.on_command(c),
            },
            event = ev.swarm.select_next_some() => ev.on_swarm_event(event),
            Some(i) = ev.internal_rx.recv() => ev.on_internal(i),
            Some(d) = ev.done_rx.recv() => ev.on_done(d),
            _ = purge.tick() => ev.purge_archive(),
            () = std::future::ready(()), if ev.purge_pending => ev.purge_archive(),
            _ = redial.tick() => ev.redial(),
            _ = refresh.tick() => ev.refresh_filter(),
        }
    }
    tracing::debug!("node event loop finished");
}

impl EventLoop {
    fn local_peer(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    fn add_listen_addr(&mut self, address: Multiaddr) {
        let full = address.with_p2p(self.local_peer()).unwrap_or_else(|a| a);
        if !self.listen_addrs.contains(&full) {
            tracing::info!(addr = %full, "listening");
            self.listen_addrs.push(full);
            self.refresh_own_enr();
        }
    }

    /// Signs our ENR again from the current listen addresses (relay mode; a light node
    /// serves nothing and has none). The seq is the Unix time in seconds, and always
    /// grows.
    fn refresh_own_enr(&mut self) {
        if self.config.mode != NodeMode::Relay {
            return;
        }
        let mut bits = Waku2::RELAY | Waku2::FILTER | Waku2::LIGHTPUSH;
        if self.archive.is_some() {
            bits |= Waku2::STORE;
        }
        let fields = peer_exchange::own_fields(&self.listen_addrs, Waku2(bits));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let seq = now.max(self.enr_seq + 1);
        match peer_exchange::sign_own(&self.keypair, seq, fields) {
            Ok(enr) => {
                tracing::debug!(enr = %enr.to_text(), "own ENR");
                self.enr_seq = seq;
                lock(&self.book).set_own(Some(enr));
            }
            Err(e) => {
                tracing::debug!(error = %e, "no ENR: peer exchange answers without us");
                lock(&self.book).set_own(None);
            }
        }
    }

    /// Asks `peer` for the records it knows (34/WAKU2-PEER-EXCHANGE).
    fn ask_peers(&mut self, peer: PeerId) {
        self.px_asked.insert(peer, Instant::now());
        let mut control = self.control.clone();
        let timeout = self.config.request_timeout;
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let r = tokio::time::timeout(timeout, async {
                let stream = control
                    .open_stream(peer, PEER_EXCHANGE)
                    .await
                    .map_err(|e| e.to_string())?;
                peer_exchange::ask(stream).await.map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|_| Err("timed out".into()));
            match r {
                Ok(a) => {
                    if a.dropped > 0 {
                        tracing::warn!(%peer, dropped = a.dropped, error = ?a.first_error, "peer exchange: invalid records dropped");
                    }
                    let _ = done.send(TaskDone::Exchanged {
                        from: peer,
                        enrs: a.enrs,
                    });
                }
                Err(e) => tracing::debug!(%peer, error = %e, "peer exchange failed"),
            }
        });
    }

    /// No store at hand: dials one learned by peer exchange (one not tried in the last
    /// 5 s), and asks the connected peer-exchange peers again (at most every 2 s).
    fn find_store(&mut self) {
        let again: Vec<PeerId> = self
            .peers_with(&PEER_EXCHANGE)
            .into_iter()
            .filter(|p| {
                self.px_asked
                    .get(p)
                    .is_none_or(|t| t.elapsed() > Duration::from_secs(2))
            })
            .collect();
        for p in again {
            self.ask_peers(p);
        }
        let stores = lock(&self.book).stores();
        for (peer, enr) in stores {
            if self.connected.contains(&peer)
                || self
                    .store_dials
                    .get(&peer)
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(5))
            {
                continue;
            }
            let addrs: Vec<Multiaddr> = enr
                .dial_addrs()
                .unwrap_or_default()
                .into_iter()
                .map(|mut a| {
                    a.pop(); // the /p2p part: DialOpts carries the peer id
                    a
                })
                .collect();
            if addrs.is_empty() {
                continue;
            }
            tracing::info!(%peer, ?addrs, "dialling a store learned by peer exchange");
            self.store_dials.insert(peer, Instant::now());
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%peer, error = %e, "store dial not started");
            }
            break;
        }
    }

    fn add_peer(&mut self, addr: Multiaddr) -> Result<(), NodeError> {
        let peer = match addr.iter().last() {
            Some(Protocol::P2p(p)) => Some(p),
            _ => None,
        };
        if !addr.iter().any(|p| matches!(p, Protocol::Tcp(_))) {
            return Err(NodeError::BadPeer {
                addr,
                reason: "not a TCP or WebSocket address".into(),
            });
        }
        if peer == Some(self.local_peer()) {
            return Err(NodeError::BadPeer {
                addr,
                reason: "that is this node's own address".into(),
            });
        }
        if self.peers.iter().any(|s| s.addr == addr) {
            return Ok(());
        }
        self.peers.push(PeerSlot {
            addr,
            peer,
            peer_in_addr: peer.is_some(),
            dialing: None,
            last_error: None,
        });
        self.redial();
        Ok(())
    }

    fn redial(&mut self) {
        for i in 0..self.peers.len() {
            let (connected, dialing) = {
                let s = &self.peers[i];
                (
                    s.peer.is_some_and(|p| self.connected.contains(&p)),
                    s.dialing.is_some(),
                )
            };
            if connected || dialing {
                continue;
            }
            let slot = &self.peers[i];
            let opts = match slot.peer {
                Some(p) => DialOpts::peer_id(p)
                    .addresses(vec![slot.addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None => DialOpts::unknown_peer_id()
                    .address(slot.addr.clone())
                    .build(),
            };
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => self.peers[i].dialing = Some(id),
                Err(e) => {
                    tracing::debug!(addr = %self.peers[i].addr, error = %e, "dial not started")
                }
            }
        }
    }

    /// The service node of a light node: the first configured peer, once connected.
    fn service_peer(&self) -> Option<PeerId> {
        self.peers
            .first()
            .and_then(|s| s.peer)
            .filter(|p| self.connected.contains(p))
    }

    fn peers_with(&self, protocol: &StreamProtocol) -> Vec<PeerId> {
        let mut v: Vec<PeerId> = self
            .protocols
            .iter()
            .filter(|(p, list)| self.connected.contains(p) && list.contains(protocol))
            .map(|(p, _)| *p)
            .collect();
        v.sort();
        v
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Publish { message, reply } => {
                if self.config.mode == NodeMode::Light {
                    let peer = self.service_peer();
                    self.lightpush(peer, message, reply);
                } else {
                    let r = self.publish(message);
                    let _ = reply.try_send(r);
                }
            }
            Command::LightPushTo {
                peer,
                message,
                reply,
            } => {
                let peer = self.connected.contains(&peer).then_some(peer);
                self.lightpush(peer, message, reply);
            }
            Command::Subscribe { sender } => {
                self.subscribers.push(sender);
                if self.config.mode == NodeMode::Light {
                    self.refresh_filter();
                }
            }
            Command::FetchHistory {
                store,
                query,
                reply,
            } => self.start_fetch(store, query, reply),
            Command::StoreQuery {
                store,
                request,
                reply,
            } => self.store_query(store, request, reply),
            Command::AddPeer { addr, reply } => {
                let _ = reply.try_send(self.add_peer(addr));
            }
            Command::Status { reply } => {
                let _ = reply.try_send(self.status());
            }
            Command::Shutdown => {}
        }
    }

    fn status(&self) -> NodeStatus {
        let book = lock(&self.book);
        let b = self.swarm.behaviour();
        let mut connected: Vec<PeerId> = self.connected.iter().copied().collect();
        connected.sort();
        let mut relay_peers: Vec<PeerId> = b
            .relay
            .all_peers()
            .filter(|(_, topics)| topics.contains(&&self.default_topic))
            .map(|(p, _)| *p)
            .collect();
        relay_peers.sort();
        let mut mesh_peers: Vec<PeerId> =
            b.relay.mesh_peers(&self.default_topic).copied().collect();
        mesh_peers.sort();
        NodeStatus {
            listen_addrs: self.listen_addrs.clone(),
            connected,
            relay_peers,
            mesh_peers,
            stores: self.peers_with(&services::STORE),
            lightpush_peers: self.peers_with(&services::LIGHTPUSH_V3),
            filter_peers: self.peers_with(&services::FILTER_SUBSCRIBE),
            stored: self
                .archive
                .as_ref()
                .and_then(|a| a.lock().ok().and_then(|a| a.len().ok())),
            filter_subscribers: self
                .services
                .filters
                .lock()
                .map(|f| f.peer_count())
                .unwrap_or(0),
            filter_subscribed: self.filter_subscribed,
            dial_errors: self
                .peers
                .iter()
                .filter(|p| !p.peer.is_some_and(|id| self.connected.contains(&id)))
                .filter_map(|p| p.last_error.clone().map(|e| (p.addr.clone(), e)))
                .collect(),
            enr: book.own().map(Enr::to_text),
            discovered: book.learned().map(|(p, _)| *p).collect(),
            discovered_stores: book.stores().into_iter().map(|(p, _)| p).collect(),
        }
    }

    /// Archives (store role), pushes to filter subscribers and fans out locally a message
    /// that passed validation. Returns (stored, filter pushes), `None` for a message seen
    /// before (a duplicate: nothing done).
    fn deliver(&mut self, message: &CarriedMessage, raw: Option<&[u8]>) -> Option<(bool, usize)> {
        if !self.seen.insert(message.hash()) {
            return None;
        }
        let stored = match &self.archive {
            Some(a) => a
                .lock()
                .map_err(|_| ())
                .and_then(|mut a| {
                    a.insert(&message.pubsub_topic, &message.message, now_unix_ns())
                        .map_err(|e| {
                            tracing::error!(error = %e, "archive: cannot store message");
                        })
                })
                .unwrap_or_default(),
            None => false,
        };
        let pushes = self.push_to_filters(message, raw);
        fan_out(&mut self.subscribers, message);
        Some((stored, pushes))
    }

    fn push_to_filters(&mut self, message: &CarriedMessage, raw: Option<&[u8]>) -> usize {
        let peers = match self.services.filters.lock() {
            Ok(f) => f.matching(&message.pubsub_topic, message.content_topic()),
            Err(_) => return 0,
        };
        if peers.is_empty() {
            return 0;
        }
        let owned;
        let raw = match raw {
            Some(r) => r,
            None => {
                owned = waku::encode_message(&message.message);
                &owned
            }
        };
        let push = Arc::new(services::encode_push(raw, &message.pubsub_topic));
        let timeout = self.config.request_timeout;
        for peer in &peers {
            let mut control = self.control.clone();
            let push = Arc::clone(&push);
            let peer = *peer;
            tokio::spawn(async move {
                let r = tokio::time::timeout(timeout, async {
                    let stream = control
                        .open_stream(peer, services::FILTER_PUSH)
                        .await
                        .map_err(|e| e.to_string())?;
                    services::push_to(stream, &push)
                        .await
                        .map_err(|e| e.to_string())
                })
                .await;
                match r {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "filter push failed"),
                    Err(_) => tracing::debug!(%peer, "filter push timed out"),
                }
            });
        }
        peers.len()
    }

    fn publish(&mut self, message: CarriedMessage) -> Result<PublishReport, TransportError> {
        let raw = waku::encode_message(&message.message);
        waku::validate(
            &message.message,
            raw.len(),
            self.config.max_message_size,
            Some(now_unix_ns()),
        )?;
        let Some(topic) = self
            .relay_topics
            .iter()
            .find(|t| t.to_string() == message.pubsub_topic)
            .cloned()
        else {
            return Err(TransportError::InvalidQuery(
                "pubsub topic not relayed by this node",
            ));
        };
        let relay_peers = self
            .swarm
            .behaviour()
            .relay
            .all_peers()
            .filter(|(_, topics)| topics.contains(&&topic.hash()))
            .count();
        let gossiped = match self.swarm.behaviour_mut().relay.publish(topic, raw.clone()) {
            Ok(_) => true,
            Err(PublishError::Duplicate) => {
                tracing::debug!("duplicate publish ignored");
                return Ok(PublishReport {
                    relay_peers: 0,
                    stored: false,
                });
            }
            Err(PublishError::NoPeersSubscribedToTopic) | Err(PublishError::AllQueuesFull(_)) => {
                false
            }
            Err(PublishError::MessageTooLarge) => {
                return Err(TransportError::Invalid(waku::InvalidMessage::TooLarge {
                    size: raw.len(),
                    max: self.config.max_message_size,
                }));
            }
            Err(e) => return Err(TransportError::Network(e.to_string())),
        };
        let Some((stored, pushes)) = self.deliver(&message, Some(&raw)) else {
            // seen before: handled then, nothing new to report
            tracing::debug!("duplicate publish ignored");
            return Ok(PublishReport {
                relay_peers: if gossiped { relay_peers } else { 0 },
                stored: false,
            });
        };
        if !gossiped && !stored && pushes == 0 {
            // nobody got it: not relayed, not archived (no store, or ephemeral), no filter
            return Err(TransportError::NoPeers);
        }
        tracing::debug!(content_topic = %message.content_topic(), relay_peers, stored, pushes, "published");
        Ok(PublishReport {
            relay_peers: if gossiped { relay_peers } else { 0 },
            stored,
        })
    }

    fn lightpush(
        &mut self,
        peer: Option<PeerId>,
        message: CarriedMessage,
        reply: Reply<Result<PublishReport, TransportError>>,
    ) {
        let raw_len = waku::encoded_len(&message.message);
        if let Err(e) = waku::validate(
            &message.message,
            raw_len,
            self.config.max_message_size,
            Some(now_unix_ns()),
        ) {
            let _ = reply.try_send(Err(e.into()));
            return;
        }
        let Some(peer) = peer else {
            let _ = reply.try_send(Err(TransportError::NoPeers));
            return;
        };
        let mut control = self.control.clone();
        let timeout = self.config.request_timeout;
        let max = self.config.max_message_size;
        let echo = message.clone();
        let req = LightPushRequestV3 {
            request_id: services::request_id(),
            pubsub_topic: Some(message.pubsub_topic),
            message: Some(message.message),
        };
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let r = tokio::time::timeout(timeout, async {
                let stream = control
                    .open_stream(peer, services::LIGHTPUSH_V3)
                    .await
                    .map_err(|e| TransportError::Network(e.to_string()))?;
                let resp: LightPushResponseV3 = services::exchange(stream, &req, max)
                    .await
                    .map_err(|e| TransportError::Network(e.to_string()))?;
                if resp.status_code == services::status::OK {
                    Ok(PublishReport {
                        relay_peers: resp.relay_peer_count.unwrap_or(0) as usize,
                        stored: false,
                    })
                } else {
                    Err(TransportError::Refused {
                        status: resp.status_code,
                        description: resp.status_desc.unwrap_or_default(),
                    })
                }
            })
            .await
            .unwrap_or(Err(TransportError::Timeout));
            let _ = done.send(TaskDone::LightPushed {
                echo,
                reply,
                result: r,
            });
        });
    }

    /// Light mode: keeps the filter subscription at the service node equal to the content
    /// topics of the local subscriptions: SUBSCRIBE what is new, UNSUBSCRIBE what no local
    /// subscription wants any more, and SUBSCRIBER_PING when nothing changed (a 404 answer
    /// means the service node forgot us: everything is subscribed again).
    fn refresh_filter(&mut self) {
        if self.config.mode != NodeMode::Light {
            return;
        }
        let wanted: BTreeSet<String> = self
            .subscribers
            .iter()
            .flat_map(|s| s.topics().map(|t| t.as_str().to_owned()))
            .collect();
        let Some(peer) = self.service_peer() else {
            self.filter_subscribed = false;
            self.filter_topics.clear();
            return;
        };
        let confirmed = std::mem::take(&mut self.filter_topics);
        let add: Vec<String> = wanted.difference(&confirmed).cloned().collect();
        let remove: Vec<String> = confirmed.difference(&wanted).cloned().collect();
        let pubsub = waku::pubsub_topic(self.config.cluster_id, self.config.shards[0]);
        let control = self.control.clone();
        let timeout = self.config.request_timeout;
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let request = |kind: FilterSubscribeType, topics: Vec<String>| {
                let req = FilterSubscribeRequest {
                    request_id: services::request_id(),
                    filter_subscribe_type: kind as i32,
                    pubsub_topic: (!topics.is_empty() || kind == FilterSubscribeType::Subscribe)
                        .then(|| pubsub.clone()),
                    content_topics: topics,
                };
                let mut control = control.clone();
                async move {
                    tokio::time::timeout(timeout, async {
                        let stream = control
                            .open_stream(peer, services::FILTER_SUBSCRIBE)
                            .await
                            .map_err(|e| e.to_string())?;
                        let resp: FilterSubscribeResponse =
                            services::exchange(stream, &req, services::MAX_FILTER_REQUEST)
                                .await
                                .map_err(|e| e.to_string())?;
                        Ok::<u32, String>(resp.status_code)
                    })
                    .await
                    .unwrap_or_else(|_| Err("timed out".into()))
                }
            };
            let mut now_subscribed = confirmed.clone();
            let mut add = add;
            if add.is_empty() && remove.is_empty() && !confirmed.is_empty() {
                match request(FilterSubscribeType::SubscriberPing, Vec::new()).await {
                    Ok(200..=299) => {}
                    Ok(404) => {
                        tracing::info!(%peer, "filter service forgot us: subscribing again");
                        now_subscribed.clear();
                        add = confirmed.iter().cloned().collect();
                    }
                    Ok(code) => tracing::warn!(%peer, code, "filter ping refused"),
                    Err(e) => tracing::warn!(%peer, error = %e, "filter ping failed"),
                }
            }
            let mut ok = true;
            for chunk in remove.chunks(100) {
                match request(FilterSubscribeType::Unsubscribe, chunk.to_vec()).await {
                    // 404: it had already forgotten them, which is what we want
                    Ok(200..=299) | Ok(404) => {
                        for t in chunk {
                            now_subscribed.remove(t);
                        }
                    }
                    Ok(code) => tracing::warn!(%peer, code, "filter unsubscribe refused"),
                    Err(e) => tracing::warn!(%peer, error = %e, "filter unsubscribe failed"),
                }
            }
            for chunk in add.chunks(100) {
                match request(FilterSubscribeType::Subscribe, chunk.to_vec()).await {
                    Ok(200..=299) => now_subscribed.extend(chunk.iter().cloned()),
                    Ok(code) => {
                        tracing::warn!(%peer, code, "filter subscription refused");
                        ok = false;
                    }
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "filter subscription failed");
                        ok = false;
                    }
                }
            }
            let _ = done.send(TaskDone::FilterSubscribed {
                ok: ok && !now_subscribed.is_empty(),
                topics: now_subscribed,
            });
        });
    }

    fn on_internal(&mut self, i: Internal) {
        match i {
            Internal::Publish { message, reply } => {
                let _ = reply.send(self.publish(message));
            }
            Internal::Disconnect { peer, reason } => {
                tracing::info!(%peer, %reason, "disconnecting peer");
                let _ = self.swarm.disconnect_peer_id(peer);
                // a configured peer of another cluster is not dialled again (nwaku also
                // drops it from its peer store)
                let before = self.peers.len();
                self.peers.retain(|s| s.peer != Some(peer));
                if self.peers.len() != before {
                    tracing::warn!(%peer, "configured peer is on another cluster: no longer dialled");
                }
            }
            Internal::Pushed { from, message } => {
                if self.service_peer() != Some(from) {
                    tracing::warn!(%from, "filter push from a peer that is not our service node dropped");
                    return;
                }
                if self.seen.insert(message.hash()) {
                    fan_out(&mut self.subscribers, &message);
                }
            }
        }
    }

    fn on_done(&mut self, d: TaskDone) {
        match d {
            TaskDone::History { reply, result } => {
                let _ = reply.try_send(result);
            }
            TaskDone::LightPushed {
                echo,
                reply,
                result,
            } => {
                // Our own subscriptions see what we sent, as in relay mode, once the
                // service node took it.
                if result.is_ok() && self.seen.insert(echo.hash()) {
                    fan_out(&mut self.subscribers, &echo);
                }
                let _ = reply.try_send(result);
            }
            TaskDone::FilterSubscribed { ok, topics } => {
                self.filter_subscribed = ok;
                self.filter_topics = topics;
            }
            TaskDone::Exchanged { from, enrs } => {
                let local = self.local_peer();
                let total = enrs.len();
                let new = lock(&self.book).learn(local, enrs);
                tracing::debug!(%from, total, new, "peer exchange answer");
            }
        }
    }

    /// One step of the retention sweep (at most `purge_chunk` deletions in one
    /// transaction); while more is due the loop runs the next step between its other
    /// events, so relaying, archiving and store queries go on during a long sweep.
    fn purge_archive(&mut self) {
        self.purge_pending = false;
        if let Some(a) = &self.archive
            && let Ok(mut a) = a.lock()
        {
            match a.purge_step(now_unix_ns()) {
                Ok(step) => {
                    if step.deleted > 0 {
                        tracing::info!(
                            deleted = step.deleted,
                            "archive: messages past retention deleted"
                        );
                    }
                    self.purge_pending = !step.done;
                }
                Err(e) => tracing::error!(error = %e, "archive: purge failed"),
            }
        }
    }

    /// Which store to ask: `Ok(None)` = the local archive.
    fn pick_store(&self, store: Option<PeerId>) -> Result<Option<PeerId>, TransportError> {
        let local = self.local_peer();
        let target = match store {
            Some(p) => Some(p),
            None => self.peers_with(&services::STORE).first().copied(),
        };
        match (target, &self.archive) {
            (Some(p), _) if p != local => Ok(Some(p)),
            (_, Some(_)) => Ok(None),
            _ => Err(TransportError::NoStore),
        }
    }

    /// [`Self::pick_store`], looking for a store by peer exchange when there is none.
    fn pick_or_find_store(
        &mut self,
        store: Option<PeerId>,
    ) -> Result<Option<PeerId>, TransportError> {
        let r = self.pick_store(store);
        if store.is_none() && matches!(r, Err(TransportError::NoStore)) {
            self.find_store();
        }
        r
    }

    fn store_query(
        &mut self,
        store: Option<PeerId>,
        request: StoreQueryRequest,
        reply: Reply<Result<StoreQueryResponse, TransportError>>,
    ) {
        match self.pick_or_find_store(store) {
            Err(e) => {
                let _ = reply.try_send(Err(e));
            }
            Ok(None) => {
                let r = match &self.archive {
                    Some(a) => a
                        .lock()
                        .map(|a| a.query(&request))
                        .map_err(|_| TransportError::Closed),
                    None => Err(TransportError::NoStore),
                };
                let _ = reply.try_send(r);
            }
            Ok(Some(peer)) => {
                let mut control = self.control.clone();
                let timeout = self.config.request_timeout;
                let max = services::max_store_response(self.config.max_message_size);
                tokio::spawn(async move {
                    let r = tokio::time::timeout(timeout, async {
                        let stream = control
                            .open_stream(peer, services::STORE)
                            .await
                            .map_err(|e| TransportError::Network(e.to_string()))?;
                        services::exchange(stream, &request, max)
                            .await
                            .map_err(|e| TransportError::History(e.to_string()))
                    })
                    .await
                    .unwrap_or(Err(TransportError::Timeout));
                    let _ = reply.try_send(r);
                });
            }
        }
    }

    fn start_fetch(
        &mut self,
        store: Option<PeerId>,
        query: HistoryQuery,
        reply: Reply<Result<Vec<CarriedMessage>, TransportError>>,
    ) {
        let target = match self.pick_or_find_store(store) {
            Err(e) => {
                let _ = reply.try_send(Err(e));
                return;
            }
            Ok(t) => t,
        };
        let max_message = self.config.max_message_size;
        let local = self.archive.clone();
        let mut control = self.control.clone();
        let timeout = self.config.request_timeout;
        let done = self.done_tx.clone();
        // a store takes at most 100 content topics per query (nwaku, pfs-archive): larger
        // queries are asked in parts and merged in chronological order
        let parts: Vec<HistoryQuery> = query
            .content_topics
            .chunks(100)
            .map(|c| HistoryQuery {
                content_topics: c.to_vec(),
                ..query.clone()
            })
            .collect();
        tokio::spawn(async move {
            let mut got = Vec::new();
            let mut seen = HashSet::new();
            let mut result = Ok(());
            'parts: for query in &parts {
                let mut cursor: Option<Vec<u8>> = None;
                loop {
                    let req = services::store_page_request(query, cursor.clone());
                    let resp: Result<StoreQueryResponse, TransportError> = match (target, &local) {
                        (None, Some(a)) => a
                            .lock()
                            .map(|a| a.query(&req))
                            .map_err(|_| TransportError::Closed),
                        (None, None) => Err(TransportError::NoStore),
                        (Some(peer), _) => tokio::time::timeout(timeout, async {
                            let stream =
                                control
                                    .open_stream(peer, services::STORE)
                                    .await
                                    .map_err(|e| match e {
                                        libp2p_stream::OpenStreamError::UnsupportedProtocol(_) => {
                                            TransportError::NoStore
                                        }
                                        other => TransportError::Network(other.to_string()),
                                    })?;
                            services::exchange(
                                stream,
                                &req,
                                services::max_store_response(max_message),
                            )
                            .await
                            .map_err(|e| TransportError::History(e.to_string()))
                        })
                        .await
                        .unwrap_or(Err(TransportError::Timeout)),
                    };
                    let page = match resp
                        .and_then(|r| services::check_store_page(query, r, max_message))
                    {
                        Ok(p) => p,
                        Err(e) => {
                            result = Err(e);
                            break 'parts;
                        }
                    };
                    let (messages, next) = page;
                    let empty = messages.is_empty();
                    for m in messages {
                        if seen.insert(m.hash()) {
                            got.push(m);
                        }
                    }
                    if got.len() >= MAX_HISTORY_TOTAL_MESSAGES {
                        tracing::warn!(n = got.len(), "history fetch stopped at the size cap");
                        break 'parts;
                    }
                    match next {
                        Some(c) if !empty && cursor.as_ref() != Some(&c) => cursor = Some(c),
                        _ => break,
                    }
                }
            }
            if parts.len() > 1 {
                got.sort_by_cached_key(|m| (m.timestamp_ns(), m.hash()));
            }
            let result = result.map(|()| got);
            let _ = done.send(TaskDone::History { reply, result });
        });
    }

    fn on_relay_message(
        &mut self,
        source: PeerId,
        id: gossipsub::MessageId,
        message: gossipsub::Message,
    ) {
        let now = now_unix_ns();
        let verdict = match waku::decode_message(&message.data, self.config.max_message_size) {
            Err(e) => {
                tracing::warn!(%source, error = %e, "relay: garbage message rejected");
                Err(MessageAcceptance::Reject)
            }
            Ok(m) => match waku::validate(
                &m,
                message.data.len(),
                self.config.max_message_size,
                Some(now),
            ) {
                Ok(()) => Ok(m),
                Err(e @ waku::InvalidMessage::TimestampSkew { .. })
                | Err(e @ waku::InvalidMessage::NoTimestamp) => {
                    tracing::info!(%source, error = %e, "relay: message with a bad timestamp ignored");
                    Err(MessageAcceptance::Ignore)
                }
                Err(e) => {
                    tracing::warn!(%source, error = %e, "relay: invalid message rejected");
                    Err(MessageAcceptance::Reject)
                }
            },
        };
        let acceptance = match &verdict {
            Ok(_) => MessageAcceptance::Accept,
            Err(a) => *a,
        };
        self.swarm
            .behaviour_mut()
            .relay
            .report_message_validation_result(&id, &source, acceptance);
        if let Ok(m) = verdict {
            let carried = CarriedMessage {
                pubsub_topic: message.topic.to_string(),
                message: m,
            };
            self.deliver(&carried, Some(&message.data));
        }
    }

    fn on_connection(&mut self, peer_id: PeerId) {
        let mut control = self.control.clone();
        let req = self.services.metadata_request();
        let cluster = self.config.cluster_id;
        let timeout = self.config.request_timeout;
        let internal = self.services.internal.clone();
        tokio::spawn(async move {
            let r = tokio::time::timeout(timeout, async {
                let stream = control.open_stream(peer_id, services::METADATA).await?;
                services::request_metadata(stream, &req).await.map_err(|e| {
                    libp2p_stream::OpenStreamError::Io(std::io::Error::other(e.to_string()))
                })
            })
            .await;
            match r {
                Ok(Ok(resp)) => match resp.cluster_id {
                    Some(c) if c == cluster => {
                        tracing::debug!(%peer_id, shards = ?resp.shards, "metadata: same cluster");
                    }
                    other => {
                        let _ = internal.send(Internal::Disconnect {
                            peer: peer_id,
                            reason: format!("metadata: peer cluster {other:?}, ours {cluster}"),
                        });
                    }
                },
                Ok(Err(libp2p_stream::OpenStreamError::UnsupportedProtocol(_))) => {
                    // js-waku relay nodes built from plain libp2p do not run metadata; keep
                    // them (nwaku would disconnect, see docs/network.md).
                    tracing::debug!(%peer_id, "metadata not supported by peer");
                }
                Ok(Err(e)) => tracing::debug!(%peer_id, error = %e, "metadata exchange failed"),
                Err(_) => tracing::debug!(%peer_id, "metadata exchange timed out"),
            }
        });
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => self.add_listen_addr(address),
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = address.with_p2p(self.local_peer()).unwrap_or_else(|a| a);
                self.listen_addrs.retain(|a| *a != full);
                self.refresh_own_enr();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                tracing::debug!(%peer_id, addr = %endpoint.get_remote_address(), "connected");
                self.connected.insert(peer_id);
                let mut service_connected = false;
                for (i, slot) in self.peers.iter_mut().enumerate() {
                    if slot.dialing == Some(connection_id) {
                        slot.dialing = None;
                        slot.peer = Some(peer_id);
                        slot.last_error = None;
                        service_connected |= i == 0;
                    }
                }
                if let ConnectedPoint::Dialer { address, .. } = endpoint {
                    self.swarm.add_peer_address(peer_id, address);
                }
                if num_established.get() == 1 {
                    self.on_connection(peer_id);
                }
                if service_connected && self.config.mode == NodeMode::Light {
                    self.refresh_filter();
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(%peer_id, "disconnected");
                self.connected.remove(&peer_id);
                self.protocols.remove(&peer_id);
                self.px_asked.remove(&peer_id);
                if let Ok(mut f) = self.services.filters.lock() {
                    f.remove_peer(&peer_id);
                }
                if self.peers.first().and_then(|s| s.peer) == Some(peer_id) {
                    self.filter_subscribed = false;
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                for slot in &mut self.peers {
                    if slot.dialing == Some(connection_id) {
                        tracing::debug!(addr = %slot.addr, %error, "dial failed");
                        slot.last_error = Some(dial_error_text(&error));
                        slot.dialing = None;
                        if !slot.peer_in_addr {
                            slot.peer = None;
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_relay_message(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Relay(_)) => {}
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let had_store = self
                    .protocols
                    .get(&peer_id)
                    .is_some_and(|l| l.contains(&services::STORE));
                if !had_store && info.protocols.contains(&services::STORE) {
                    tracing::info!(%peer_id, "store node found");
                }
                let px = info.protocols.contains(&PEER_EXCHANGE);
                self.protocols.insert(peer_id, info.protocols);
                if px && !self.px_asked.contains_key(&peer_id) {
                    self.ask_peers(peer_id);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(_)) => {}
            SwarmEvent::Behaviour(BehaviourEvent::Ping(_)) => {}
            SwarmEvent::Behaviour(BehaviourEvent::Streams(())) => {}
            _ => {}
        }
    }
}
