//! The node: a libp2p swarm on its own thread and tokio runtime, driven through a
//! synchronous [`NodeHandle`].

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, PublishError};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, noise, tcp, yamux};
use pfs_transport::transport::{
    CarriedEnvelope, DEFAULT_RETENTION_SECS, EnvelopeMeta, HistoryQuery, MAX_ENVELOPE_SIZE,
    Subscription, SubscriptionSender, Topic, Transport, TransportError, check_envelope, fan_out,
    hex_topic, now_unix,
};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::protocol::{
    self, Cursor, GOSSIP_TOPIC, GossipEnvelope, HISTORY_PROTOCOL, HistoryCodec, HistoryRequest,
    HistoryResponse, MAX_GOSSIP_MESSAGE, MAX_PAGE_BYTES, MAX_PAGE_ENVELOPES, WIRE_VERSION,
};
use crate::store::{EnvelopeStore, StoreError, item_to_carried};

/// An envelope received over gossip may be this many seconds past its expiry and still be
/// accepted (clock skew and propagation; Whisper's `2 × DefaultSyncAllowance`).
pub const EXPIRY_GRACE_SECS: u64 = 20;

/// A history fetch stops after this many envelopes (all pages together).
pub const MAX_HISTORY_TOTAL_ENVELOPES: usize = 100_000;

/// A history fetch stops after this many envelope bytes (all pages together).
pub const MAX_HISTORY_TOTAL_BYTES: usize = 256 * 1024 * 1024;

/// Identify protocol version announced by pfs nodes.
pub const IDENTIFY_PROTOCOL_VERSION: &str = "/pfs/1.0.0";

/// Why a node could not start or a node command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The store database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
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
    /// A peer address is unusable (for example not a TCP address).
    #[error("bad peer address {addr}: {reason}")]
    BadPeer {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The node has shut down.
    #[error("the node is shut down")]
    Closed,
}

/// The store (mailserver) role.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// SQLite database file (created if missing).
    pub db_path: PathBuf,
    /// How long envelopes are kept after their arrival, in seconds (default 30 days).
    pub retention_secs: u64,
    /// How often envelopes past retention are deleted.
    pub purge_interval: Duration,
}

impl StoreConfig {
    /// A store at `db_path` with the default retention (30 days) and an hourly purge.
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        StoreConfig {
            db_path: db_path.into(),
            retention_secs: DEFAULT_RETENTION_SECS,
            purge_interval: Duration::from_secs(3600),
        }
    }
}

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Addresses to listen on; `/ip4/127.0.0.1/tcp/0` by default (port 0 = random).
    pub listen: Vec<Multiaddr>,
    /// Peers to connect to and keep connected (redialled when the connection drops), as
    /// `/ip4/A.B.C.D/tcp/PORT` with or without a trailing `/p2p/PEERID`.
    pub peers: Vec<Multiaddr>,
    /// The store role, if this node is a mailserver.
    pub store: Option<StoreConfig>,
    /// The node's libp2p identity; a fresh Ed25519 key when `None` (then the peer id
    /// changes on every start).
    pub keypair: Option<Keypair>,
    /// Gossipsub heartbeat (mesh maintenance) interval.
    pub heartbeat_interval: Duration,
    /// Timeout of one history request (one page).
    pub request_timeout: Duration,
    /// Overall timeout of [`NodeHandle::fetch_history`] (all pages).
    pub history_timeout: Duration,
    /// How long [`Transport::fetch_history`] waits to learn of a store among the
    /// connected peers before failing with [`TransportError::NoStore`].
    pub store_wait: Duration,
    /// How often configured peers that are not connected are redialled.
    pub redial_interval: Duration,
    /// How long [`Node::start`] waits for the listen addresses.
    pub start_timeout: Duration,
    /// Discover peers on the local network with mDNS (only with the `mdns` feature).
    #[cfg(feature = "mdns")]
    pub mdns: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            listen: vec![
                Multiaddr::empty()
                    .with(Protocol::Ip4([127, 0, 0, 1].into()))
                    .with(Protocol::Tcp(0)),
            ],
            peers: Vec::new(),
            store: None,
            keypair: None,
            heartbeat_interval: Duration::from_millis(700),
            request_timeout: Duration::from_secs(20),
            history_timeout: Duration::from_secs(120),
            store_wait: Duration::from_secs(5),
            redial_interval: Duration::from_secs(2),
            start_timeout: Duration::from_secs(10),
            #[cfg(feature = "mdns")]
            mdns: false,
        }
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    history: request_response::Behaviour<HistoryCodec>,
    identify: identify::Behaviour,
    #[cfg(feature = "mdns")]
    mdns: libp2p::swarm::behaviour::toggle::Toggle<libp2p::mdns::tokio::Behaviour>,
}

type Reply<T> = SyncSender<T>;

enum Command {
    Publish {
        envelope: CarriedEnvelope,
        reply: Reply<Result<(), TransportError>>,
    },
    Subscribe {
        sender: SubscriptionSender,
    },
    FetchHistory {
        store: Option<PeerId>,
        query: HistoryQuery,
        reply: Reply<Result<Vec<CarriedEnvelope>, TransportError>>,
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStatus {
    /// Listen addresses, each ending in `/p2p/<this node's peer id>`.
    pub listen_addrs: Vec<Multiaddr>,
    /// Peers with at least one open connection.
    pub connected: Vec<PeerId>,
    /// Peers known to be subscribed to the envelope gossip topic.
    pub gossip_peers: Vec<PeerId>,
    /// Peers in this node's gossipsub mesh for the envelope topic.
    pub mesh_peers: Vec<PeerId>,
    /// Connected peers that announced the history (store) protocol.
    pub stores: Vec<PeerId>,
    /// Envelopes in the local store (`None` without the store role).
    pub stored: Option<u64>,
}

/// The entry point: [`Node::start`].
#[derive(Debug)]
pub struct Node;

/// A running node. Every method blocks briefly (a round trip to the node thread) except
/// [`NodeHandle::fetch_history`], which waits for the store. Dropping the handle shuts the
/// node down.
#[derive(Debug)]
pub struct NodeHandle {
    peer_id: PeerId,
    cmd: UnboundedSender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
    history_timeout: Duration,
    store_wait: Duration,
}

impl Node {
    /// Starts a node: opens the store (if any), starts listening, dials the configured
    /// peers, and returns once the listen addresses are known.
    pub fn start(config: NodeConfig) -> Result<NodeHandle, NodeError> {
        let keypair = config
            .keypair
            .clone()
            .unwrap_or_else(Keypair::generate_ed25519);
        let peer_id = keypair.public().to_peer_id();
        let store = match &config.store {
            Some(s) => Some(EnvelopeStore::open(&s.db_path, s.retention_secs)?),
            None => None,
        };
        let (cmd_tx, cmd_rx) = unbounded_channel();
        let (ready_tx, ready_rx) = sync_channel::<Result<(), NodeError>>(1);
        let history_timeout = config.history_timeout;
        let store_wait = config.store_wait;
        let start_timeout = config.start_timeout;
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
                rt.block_on(run(config, keypair, store, cmd_rx, ready_tx));
            })
            .map_err(|e| NodeError::Runtime(e.to_string()))?;
        let started = ready_rx
            .recv_timeout(start_timeout + Duration::from_secs(5))
            .unwrap_or(Err(NodeError::StartTimeout(start_timeout)));
        let handle = NodeHandle {
            peer_id,
            cmd: cmd_tx,
            thread: Mutex::new(Some(thread)),
            history_timeout,
            store_wait,
        };
        match started {
            Ok(()) => {
                tracing::info!(%peer_id, "node started");
                Ok(handle)
            }
            Err(e) => {
                handle.shutdown();
                Err(e)
            }
        }
    }
}

/// Starts a node and runs it until Ctrl-C, then shuts it down (for the CLI's
/// `pfs node`). `on_started` is called with the handle once listening, for example to
/// print the listen addresses.
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
    let r = rt.block_on(tokio::signal::ctrl_c());
    handle.shutdown();
    r.map_err(|e| NodeError::Runtime(e.to_string()))
}

impl NodeHandle {
    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    fn request<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<Receiver<T>, NodeError> {
        let (tx, rx) = sync_channel(1);
        self.cmd.send(make(tx)).map_err(|_| NodeError::Closed)?;
        Ok(rx)
    }

    /// A snapshot of the node's network state.
    pub fn status(&self) -> Result<NodeStatus, NodeError> {
        self.request(|reply| Command::Status { reply })?
            .recv()
            .map_err(|_| NodeError::Closed)
    }

    /// The listen addresses, each ending in `/p2p/<peer id>` (ready to give to another
    /// node as a peer). Empty once the node is shut down.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.status().map(|s| s.listen_addrs).unwrap_or_default()
    }

    /// Connects to a peer (`/ip4/…/tcp/…[/p2p/…]`) and keeps it connected.
    pub fn add_peer(&self, addr: Multiaddr) -> Result<(), NodeError> {
        self.request(|reply| Command::AddPeer { addr, reply })?
            .recv()
            .map_err(|_| NodeError::Closed)?
    }

    /// Publishes an envelope: gossiped to the network, stored if this node is a store,
    /// and echoed to this node's own subscriptions. Fails with
    /// [`TransportError::NoPeers`] (and has no effect) when no peer is subscribed to the
    /// gossip topic and this node has no store.
    pub fn publish(&self, meta: EnvelopeMeta, envelope: Vec<u8>) -> Result<(), TransportError> {
        let envelope = CarriedEnvelope { meta, envelope };
        self.request(|reply| Command::Publish { envelope, reply })
            .map_err(|_| TransportError::Closed)?
            .recv()
            .map_err(|_| TransportError::Closed)?
    }

    /// Receives every envelope on `topics` that reaches this node from now on.
    pub fn subscribe(&self, topics: &[Topic]) -> Result<Subscription, TransportError> {
        let (sender, sub) = Subscription::channel(topics)?;
        self.cmd
            .send(Command::Subscribe { sender })
            .map_err(|_| TransportError::Closed)?;
        Ok(sub)
    }

    /// Fetches history from `store` (a peer id, or this node's own id for the local store),
    /// or, when `None`, from the first connected store (or the local store if this node is
    /// one and no remote store is connected). Follows pages to the end, within
    /// [`MAX_HISTORY_TOTAL_ENVELOPES`] / [`MAX_HISTORY_TOTAL_BYTES`].
    pub fn fetch_history(
        &self,
        store: Option<PeerId>,
        query: &HistoryQuery,
    ) -> Result<Vec<CarriedEnvelope>, TransportError> {
        query.check()?;
        let query = query.clone();
        self.request(|reply| Command::FetchHistory {
            store,
            query,
            reply,
        })
        .map_err(|_| TransportError::Closed)?
        .recv_timeout(self.history_timeout)
        .map_err(|e| match e {
            std::sync::mpsc::RecvTimeoutError::Timeout => TransportError::Timeout,
            std::sync::mpsc::RecvTimeoutError::Disconnected => TransportError::Closed,
        })?
    }

    /// Stops the node (idempotent): closes connections, the store and the thread.
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

impl Drop for NodeHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Transport for NodeHandle {
    fn publish(&self, meta: EnvelopeMeta, envelope: Vec<u8>) -> Result<(), TransportError> {
        NodeHandle::publish(self, meta, envelope)
    }

    fn subscribe(&self, topics: &[Topic]) -> Result<Subscription, TransportError> {
        NodeHandle::subscribe(self, topics)
    }

    /// Asks the first connected store; waits up to `store_wait` for one to be known.
    fn fetch_history(&self, query: &HistoryQuery) -> Result<Vec<CarriedEnvelope>, TransportError> {
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
struct PeerSlot {
    addr: Multiaddr,
    /// From the address, or learned from the first connection when the address has none.
    peer: Option<PeerId>,
    peer_in_addr: bool,
    dialing: Option<ConnectionId>,
}

struct PendingFetch {
    peer: PeerId,
    query: HistoryQuery,
    got: Vec<CarriedEnvelope>,
    seen: HashSet<[u8; 32]>,
    bytes: usize,
    last: Option<Cursor>,
    reply: Reply<Result<Vec<CarriedEnvelope>, TransportError>>,
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    store: Option<EnvelopeStore>,
    subscribers: Vec<SubscriptionSender>,
    peers: Vec<PeerSlot>,
    connected: HashSet<PeerId>,
    stores: HashSet<PeerId>,
    listen_addrs: Vec<Multiaddr>,
    pending: HashMap<OutboundRequestId, PendingFetch>,
}

fn build_swarm(config: &NodeConfig, keypair: Keypair) -> Result<Swarm<Behaviour>, NodeError> {
    let is_store = config.store.is_some();
    let gossip_config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(config.heartbeat_interval)
        // Small meshes: a handful of peers is the normal case here.
        .mesh_n_low(1)
        .mesh_n(3)
        .mesh_n_high(6)
        .mesh_outbound_min(1)
        .gossip_lazy(3)
        .flood_publish(true)
        .max_transmit_size(MAX_GOSSIP_MESSAGE)
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        // Same gossip payload = same envelope: deduplicate across publishers.
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::from(pfs_crypto::hash::keccak256(&m.data).to_vec())
        })
        .build()
        .map_err(|e| NodeError::Swarm(e.to_string()))?;
    let support = if is_store {
        ProtocolSupport::Full
    } else {
        ProtocolSupport::Outbound
    };
    let rr_config =
        request_response::Config::default().with_request_timeout(config.request_timeout);
    #[cfg(feature = "mdns")]
    let use_mdns = config.mdns;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NodeError::Swarm(e.to_string()))?
        .with_behaviour(
            |key| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                let gossipsub = gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(key.clone()),
                    gossip_config,
                )
                .map_err(|e| std::io::Error::other(e.to_string()))?;
                #[cfg(feature = "mdns")]
                let mdns = if use_mdns {
                    Some(libp2p::mdns::tokio::Behaviour::new(
                        libp2p::mdns::Config::default(),
                        key.public().to_peer_id(),
                    )?)
                } else {
                    None
                };
                Ok(Behaviour {
                    gossipsub,
                    history: request_response::Behaviour::with_codec(
                        HistoryCodec,
                        [(HISTORY_PROTOCOL, support)],
                        rr_config,
                    ),
                    identify: identify::Behaviour::new(
                        identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_string(), key.public())
                            .with_agent_version(format!("pfs-node/{}", env!("CARGO_PKG_VERSION"))),
                    ),
                    #[cfg(feature = "mdns")]
                    mdns: mdns.into(),
                })
            },
        )
        .map_err(|e| NodeError::Swarm(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}

async fn run(
    config: NodeConfig,
    keypair: Keypair,
    store: Option<EnvelopeStore>,
    mut cmd_rx: UnboundedReceiver<Command>,
    ready: SyncSender<Result<(), NodeError>>,
) {
    let mut swarm = match build_swarm(&config, keypair) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let topic = IdentTopic::new(GOSSIP_TOPIC);
    if let Err(e) = swarm.behaviour_mut().gossipsub.subscribe(&topic) {
        let _ = ready.send(Err(NodeError::Swarm(e.to_string())));
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
    let mut ev = EventLoop {
        swarm,
        topic,
        store,
        subscribers: Vec::new(),
        peers: Vec::new(),
        connected: HashSet::new(),
        stores: HashSet::new(),
        listen_addrs: Vec::new(),
        pending: HashMap::new(),
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
    ev.purge_store();
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
    loop {
        tokio::select! {
            cmd = cmd_rx.recv() => match cmd {
                None | Some(Command::Shutdown) => break,
                Some(c) => ev.on_command(c),
            },
            event = ev.swarm.select_next_some() => ev.on_swarm_event(event),
            _ = redial.tick() => ev.redial(),
            _ = purge.tick() => {
                ev.purge_store();
            }
        }
    }
    for (_, p) in ev.pending.drain() {
        let _ = p.reply.try_send(Err(TransportError::Closed));
    }
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

impl EventLoop {
    fn purge_store(&self) {
        if let Some(Err(e)) = self.store.as_ref().map(|s| s.purge(now_unix())) {
            tracing::error!(error = %e, "store purge failed");
        }
    }

    fn local_peer(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    fn add_listen_addr(&mut self, address: Multiaddr) {
        tracing::info!(%address, "listening");
        let full = address.with_p2p(self.local_peer()).unwrap_or_else(|a| a);
        if !self.listen_addrs.contains(&full) {
            self.listen_addrs.push(full);
        }
    }

    fn add_peer(&mut self, addr: Multiaddr) -> Result<(), NodeError> {
        if !addr.iter().any(|p| matches!(p, Protocol::Tcp(_))) {
            return Err(NodeError::BadPeer {
                addr,
                reason: "not a TCP address".into(),
            });
        }
        let peer = peer_of(&addr);
        if peer == Some(self.local_peer()) {
            return Err(NodeError::BadPeer {
                addr,
                reason: "that is this node".into(),
            });
        }
        if let Some(p) = peer {
            self.swarm.add_peer_address(p, addr.clone());
        }
        if !self.peers.iter().any(|s| s.addr == addr) {
            self.peers.push(PeerSlot {
                addr,
                peer,
                peer_in_addr: peer.is_some(),
                dialing: None,
            });
        }
        self.redial();
        Ok(())
    }

    /// Dials configured peers that are neither connected nor being dialled: one dial per
    /// known peer id with all its configured addresses (newest first, tried concurrently),
    /// and one dial per address whose peer id is still unknown.
    fn redial(&mut self) {
        let mut busy: HashSet<PeerId> = self.connected.clone();
        busy.extend(
            self.peers
                .iter()
                .filter(|s| s.dialing.is_some())
                .filter_map(|s| s.peer),
        );
        let mut by_peer: Vec<(PeerId, Vec<Multiaddr>)> = Vec::new();
        for slot in self.peers.iter().rev() {
            let Some(p) = slot.peer else { continue };
            if busy.contains(&p) {
                continue;
            }
            match by_peer.iter_mut().find(|(q, _)| *q == p) {
                Some((_, addrs)) => addrs.push(slot.addr.clone()),
                None => by_peer.push((p, vec![slot.addr.clone()])),
            }
        }
        for (peer, addrs) in by_peer {
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    tracing::debug!(%peer, "dialing");
                    for slot in &mut self.peers {
                        if slot.peer == Some(peer) {
                            slot.dialing = Some(id);
                        }
                    }
                }
                Err(e) => tracing::debug!(%peer, error = %e, "dial not started"),
            }
        }
        for slot in &mut self.peers {
            if slot.peer.is_some() || slot.dialing.is_some() {
                continue;
            }
            let opts = DialOpts::unknown_peer_id()
                .address(slot.addr.clone())
                .build();
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    tracing::debug!(addr = %slot.addr, "dialing");
                    slot.dialing = Some(id);
                }
                Err(e) => tracing::debug!(addr = %slot.addr, error = %e, "dial not started"),
            }
        }
    }

    fn status(&mut self) -> NodeStatus {
        let gs = &self.swarm.behaviour().gossipsub;
        let hash = self.topic.hash();
        let mut gossip_peers: Vec<PeerId> = gs
            .all_peers()
            .filter(|(_, topics)| topics.contains(&&hash))
            .map(|(p, _)| *p)
            .collect();
        gossip_peers.sort();
        let mut mesh_peers: Vec<PeerId> = gs.mesh_peers(&hash).copied().collect();
        mesh_peers.sort();
        let mut connected: Vec<PeerId> = self.connected.iter().copied().collect();
        connected.sort();
        let mut stores: Vec<PeerId> = self.stores.iter().copied().collect();
        stores.sort();
        NodeStatus {
            listen_addrs: self.listen_addrs.clone(),
            connected,
            gossip_peers,
            mesh_peers,
            stores,
            stored: self.store.as_ref().and_then(|s| s.len().ok()),
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Publish { envelope, reply } => {
                let r = self.publish(envelope);
                let _ = reply.try_send(r);
            }
            Command::Subscribe { sender } => self.subscribers.push(sender),
            Command::FetchHistory {
                store,
                query,
                reply,
            } => self.start_fetch(store, query, reply),
            Command::AddPeer { addr, reply } => {
                let r = self.add_peer(addr);
                let _ = reply.try_send(r);
            }
            Command::Status { reply } => {
                let s = self.status();
                let _ = reply.try_send(s);
            }
            Command::Shutdown => {}
        }
    }

    /// Stores the envelope if this node is a store; returns whether it was new there.
    fn store_envelope(&self, e: &CarriedEnvelope) -> bool {
        match &self.store {
            Some(s) => match s.insert(e, now_unix()) {
                Ok(new) => new,
                Err(err) => {
                    tracing::error!(error = %err, "store: cannot save envelope");
                    false
                }
            },
            None => false,
        }
    }

    fn publish(&mut self, envelope: CarriedEnvelope) -> Result<(), TransportError> {
        check_envelope(&envelope.meta, &envelope.envelope, now_unix())?;
        let data = protocol::encode(&GossipEnvelope::new(&envelope))
            .map_err(|e| TransportError::Network(e.to_string()))?;
        let topic = self.topic.clone();
        let gossiped = match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(_) => true,
            Err(PublishError::Duplicate) => {
                tracing::debug!("duplicate publish ignored");
                return Ok(());
            }
            Err(PublishError::NoPeersSubscribedToTopic) => false,
            Err(PublishError::MessageTooLarge) => {
                return Err(TransportError::TooLarge {
                    size: envelope.envelope.len(),
                    max: MAX_ENVELOPE_SIZE,
                });
            }
            Err(e) => return Err(TransportError::Network(e.to_string())),
        };
        let stored = self.store_envelope(&envelope);
        if !gossiped && !stored {
            if self.store.is_some() {
                // Already in the local store: a duplicate, nothing to do.
                return Ok(());
            }
            return Err(TransportError::NoPeers);
        }
        tracing::debug!(topic = %hex_topic(&envelope.meta.topic), len = envelope.envelope.len(), gossiped, stored, "published");
        fan_out(&mut self.subscribers, &envelope);
        Ok(())
    }

    fn on_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, data: &[u8]) {
        let verdict = match protocol::decode_gossip(data) {
            Err(e) => {
                tracing::warn!(%source, error = %e, "garbage gossip message dropped");
                Err(MessageAcceptance::Reject)
            }
            Ok(g) => {
                let e = g.into_carried();
                let now = now_unix();
                match check_envelope(&e.meta, &e.envelope, now.saturating_sub(EXPIRY_GRACE_SECS)) {
                    Ok(()) => Ok(e),
                    Err(TransportError::Expired { expiry_unix, .. }) => {
                        tracing::info!(%source, expiry_unix, now, "expired envelope dropped");
                        Err(MessageAcceptance::Ignore)
                    }
                    Err(err) => {
                        tracing::warn!(%source, error = %err, "invalid envelope dropped");
                        Err(MessageAcceptance::Reject)
                    }
                }
            }
        };
        let acceptance = match &verdict {
            Ok(_) => MessageAcceptance::Accept,
            Err(a) => *a,
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&id, &source, acceptance);
        if let Ok(e) = verdict {
            self.store_envelope(&e);
            fan_out(&mut self.subscribers, &e);
        }
    }

    fn start_fetch(
        &mut self,
        store: Option<PeerId>,
        query: HistoryQuery,
        reply: Reply<Result<Vec<CarriedEnvelope>, TransportError>>,
    ) {
        let local = self.local_peer();
        let target = match store {
            Some(p) => Some(p),
            None => {
                let mut s: Vec<PeerId> = self.stores.iter().copied().collect();
                s.sort();
                s.first().copied()
            }
        };
        let target = match (target, &self.store) {
            (Some(p), _) if p != local => p,
            (Some(_), None) => {
                let _ = reply.try_send(Err(TransportError::NoStore));
                return;
            }
            (_, Some(s)) => {
                let r = s
                    .query_all(&query)
                    .map_err(|e| TransportError::History(e.to_string()));
                let _ = reply.try_send(r);
                return;
            }
            (None, None) => {
                let _ = reply.try_send(Err(TransportError::NoStore));
                return;
            }
        };
        let fetch = PendingFetch {
            peer: target,
            query,
            got: Vec::new(),
            seen: HashSet::new(),
            bytes: 0,
            last: None,
            reply,
        };
        self.send_page_request(fetch);
    }

    fn send_page_request(&mut self, fetch: PendingFetch) {
        let req = HistoryRequest {
            version: WIRE_VERSION,
            topics: fetch.query.topics.clone(),
            since_unix: fetch.query.since_unix,
            until_unix: fetch.query.until_unix,
            after: fetch.last,
            limit: MAX_PAGE_ENVELOPES,
        };
        let id = self
            .swarm
            .behaviour_mut()
            .history
            .send_request(&fetch.peer, req);
        self.pending.insert(id, fetch);
    }

    fn on_history_response(&mut self, id: OutboundRequestId, response: HistoryResponse) {
        let Some(mut fetch) = self.pending.remove(&id) else {
            return;
        };
        let (items, next) = match response {
            HistoryResponse::Error { message, .. } => {
                let _ = fetch.reply.try_send(Err(TransportError::History(message)));
                return;
            }
            HistoryResponse::Page { version, .. } if version != WIRE_VERSION => {
                let _ = fetch.reply.try_send(Err(TransportError::History(format!(
                    "unsupported version {version}"
                ))));
                return;
            }
            HistoryResponse::Page { items, next, .. } => (items, next),
        };
        let wanted: HashSet<Topic> = fetch.query.topics.iter().copied().collect();
        for item in items {
            if !wanted.contains(&item.topic)
                || item.received_unix < fetch.query.since_unix
                || item.received_unix > fetch.query.until_unix
                || item.envelope.is_empty()
                || item.envelope.len() > MAX_ENVELOPE_SIZE
            {
                tracing::warn!(peer = %fetch.peer, "store sent an envelope outside the query; dropped");
                continue;
            }
            let e = item_to_carried(item);
            if fetch.seen.insert(e.hash()) {
                fetch.bytes = fetch.bytes.saturating_add(e.envelope.len());
                fetch.got.push(e);
            }
        }
        match next {
            Some(c) if fetch.last.is_some_and(|l| c <= l) => {
                let _ = fetch.reply.try_send(Err(TransportError::History(
                    "store cursor did not advance".into(),
                )));
            }
            Some(c)
                if fetch.got.len() < MAX_HISTORY_TOTAL_ENVELOPES
                    && fetch.bytes < MAX_HISTORY_TOTAL_BYTES =>
            {
                fetch.last = Some(c);
                self.send_page_request(fetch);
            }
            Some(_) => {
                tracing::warn!(peer = %fetch.peer, n = fetch.got.len(), "history fetch stopped at the size cap");
                let _ = fetch.reply.try_send(Ok(fetch.got));
            }
            None => {
                let _ = fetch.reply.try_send(Ok(fetch.got));
            }
        }
    }

    fn answer_history(
        &mut self,
        peer: PeerId,
        req: HistoryRequest,
        channel: ResponseChannel<HistoryResponse>,
    ) {
        let response = match (&self.store, req.version) {
            (None, _) => HistoryResponse::Error {
                version: WIRE_VERSION,
                message: "not a store".into(),
            },
            (Some(_), v) if v != WIRE_VERSION => HistoryResponse::Error {
                version: WIRE_VERSION,
                message: format!("unsupported version {v}"),
            },
            (Some(s), _) => {
                let query = HistoryQuery {
                    topics: req.topics,
                    since_unix: req.since_unix,
                    until_unix: req.until_unix,
                };
                match s.page(
                    &query,
                    req.after,
                    req.limit.min(MAX_PAGE_ENVELOPES),
                    MAX_PAGE_BYTES,
                ) {
                    Ok(page) => {
                        tracing::debug!(%peer, n = page.items.len(), more = page.next.is_some(), "history page served");
                        HistoryResponse::Page {
                            version: WIRE_VERSION,
                            items: page.items,
                            next: page.next,
                        }
                    }
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "history request refused");
                        HistoryResponse::Error {
                            version: WIRE_VERSION,
                            message: e.to_string(),
                        }
                    }
                }
            }
        };
        if self
            .swarm
            .behaviour_mut()
            .history
            .send_response(channel, response)
            .is_err()
        {
            tracing::debug!(%peer, "history response not sent (connection gone)");
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => self.add_listen_addr(address),
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = address.with_p2p(self.local_peer()).unwrap_or_else(|a| a);
                self.listen_addrs.retain(|a| *a != full);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                tracing::debug!(%peer_id, addr = %endpoint.get_remote_address(), "connected");
                self.connected.insert(peer_id);
                for slot in &mut self.peers {
                    if slot.dialing == Some(connection_id) {
                        slot.dialing = None;
                        slot.peer = Some(peer_id);
                    }
                }
                if let ConnectedPoint::Dialer { address, .. } = endpoint {
                    self.swarm.add_peer_address(peer_id, address);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::debug!(%peer_id, "disconnected");
                self.connected.remove(&peer_id);
                self.stores.remove(&peer_id);
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                for slot in &mut self.peers {
                    if slot.dialing == Some(connection_id) {
                        tracing::debug!(addr = %slot.addr, %error, "dial failed");
                        slot.dialing = None;
                        if !slot.peer_in_addr {
                            slot.peer = None;
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, &message.data),
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(_)) => {}
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if info.protocols.contains(&HISTORY_PROTOCOL) {
                    if self.stores.insert(peer_id) {
                        tracing::info!(%peer_id, "store (mailserver) found");
                    }
                } else {
                    self.stores.remove(&peer_id);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(_)) => {}
            SwarmEvent::Behaviour(BehaviourEvent::History(e)) => self.on_history_event(e),
            #[cfg(feature = "mdns")]
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(libp2p::mdns::Event::Discovered(list))) => {
                for (peer, addr) in list {
                    self.swarm.add_peer_address(peer, addr.clone());
                    if !self.connected.contains(&peer) {
                        let _ = self.swarm.dial(
                            DialOpts::peer_id(peer)
                                .addresses(vec![addr])
                                .condition(PeerCondition::DisconnectedAndNotDialing)
                                .build(),
                        );
                    }
                }
            }
            #[cfg(feature = "mdns")]
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(_)) => {}
            _ => {}
        }
    }

    fn on_history_event(
        &mut self,
        event: request_response::Event<HistoryRequest, HistoryResponse>,
    ) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.answer_history(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => self.on_history_response(request_id, response),
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(fetch) = self.pending.remove(&request_id) {
                    tracing::warn!(%peer, %error, "history request failed");
                    let err = match error {
                        request_response::OutboundFailure::Timeout => TransportError::Timeout,
                        request_response::OutboundFailure::UnsupportedProtocols => {
                            TransportError::NoStore
                        }
                        other => TransportError::History(other.to_string()),
                    };
                    let _ = fetch.reply.try_send(Err(err));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound history request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
