//! The Waku request/response protocols, both sides, as async functions over one libp2p
//! stream each: metadata, lightpush v3 (and the legacy v2 server), store v3 and filter v2.
//! Every read is bounded in size ([`crate::codec`]) and in time (the caller wraps each
//! exchange in a timeout).

use std::sync::{Arc, Mutex};

use futures::{AsyncWriteExt, StreamExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use pfs_archive::Archive;
use pfs_transport::transport::{CarriedMessage, HistoryQuery, TransportError};
use pfs_transport::waku::{self, InvalidMessage, WakuMessage};
use pfs_wire::waku::{
    FilterSubscribeRequest, FilterSubscribeResponse, LightPushRequestV3, LightPushResponseV3,
    MessagePush, PushResponse, PushRpc, StoreQueryRequest, StoreQueryResponse, WakuMetadataRequest,
    WakuMetadataResponse, filter_subscribe_request::FilterSubscribeType,
};
use tokio::sync::{mpsc, oneshot};

use crate::codec::{self, CodecError};
use crate::filter::FilterRegistry;

/// `/vac/waku/metadata/1.0.0`.
pub const METADATA: StreamProtocol = StreamProtocol::new("/vac/waku/metadata/1.0.0");
/// `/vac/waku/relay/2.0.0` (gossipsub v1.1).
pub const RELAY: &str = "/vac/waku/relay/2.0.0";
/// `/vac/waku/lightpush/3.0.0`.
pub const LIGHTPUSH_V3: StreamProtocol = StreamProtocol::new("/vac/waku/lightpush/3.0.0");
/// `/vac/waku/lightpush/2.0.0-beta1` (served for older clients).
pub const LIGHTPUSH_V2: StreamProtocol = StreamProtocol::new("/vac/waku/lightpush/2.0.0-beta1");
/// `/vac/waku/store-query/3.0.0`.
pub const STORE: StreamProtocol = StreamProtocol::new("/vac/waku/store-query/3.0.0");
/// `/vac/waku/filter-subscribe/2.0.0-beta1` (client to service).
pub const FILTER_SUBSCRIBE: StreamProtocol =
    StreamProtocol::new("/vac/waku/filter-subscribe/2.0.0-beta1");
/// `/vac/waku/filter-push/2.0.0-beta1` (service to client).
pub const FILTER_PUSH: StreamProtocol = StreamProtocol::new("/vac/waku/filter-push/2.0.0-beta1");

/// Largest metadata message read (nwaku reads at most 1024 bytes).
pub const MAX_METADATA: usize = 1024;
/// Largest filter subscribe request read (100 content topics of up to ~600 bytes).
pub const MAX_FILTER_REQUEST: usize = 64 * 1024;
/// Largest store request read (100 hashes and 100 content topics fit easily).
pub const MAX_STORE_REQUEST: usize = 256 * 1024;
/// Largest store response page read: 100 messages of up to the message limit.
///
/// ```
/// use pfs_node::services::max_store_response;
///
/// // a full page: 100 messages of the 150 KiB limit, with their framing
/// let max = 150 * 1024;
/// assert!(max_store_response(max) > 100 * max);
/// assert!(max_store_response(max) < 100 * max + 200 * 1024);
/// ```
pub fn max_store_response(max_message: usize) -> usize {
    100 * (max_message + 1024) + 4096
}
/// Overhead allowed around a WakuMessage in a lightpush request or filter push.
pub const RPC_OVERHEAD: usize = 4096;

/// Lightpush v3 status codes (js-waku `LightPushStatusCode`).
pub mod status {
    /// Success.
    pub const OK: u32 = 200;
    /// Malformed request.
    pub const BAD_REQUEST: u32 = 400;
    /// Message too large.
    pub const PAYLOAD_TOO_LARGE: u32 = 413;
    /// The message fails validation.
    pub const INVALID_MESSAGE: u32 = 420;
    /// The pubsub topic is not served.
    pub const UNSUPPORTED_PUBSUB_TOPIC: u32 = 421;
    /// Rate limited.
    pub const TOO_MANY_REQUESTS: u32 = 429;
    /// Our failure.
    pub const INTERNAL_SERVER_ERROR: u32 = 500;
    /// Protocol not available here.
    pub const SERVICE_NOT_AVAILABLE: u32 = 503;
    /// Nobody to relay to (and nothing stored or delivered locally).
    pub const NO_PEERS_TO_RELAY: u32 = 505;
}

/// What a service task asks of the event loop that owns the swarm.
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use futures::StreamExt;
/// # use libp2p::swarm::SwarmEvent;
/// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
/// # use pfs_node::services::{Internal, Services};
/// # use pfs_node::{Archive, Keypair, PeerId};
/// # type BoxError = Box<dyn std::error::Error>;
/// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
/// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
/// #         .with_tokio()
/// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
/// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
/// #         .build())
/// # }
/// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
/// # /// the second one's control, and both ids.
/// # async fn connect(
/// #     protocol: StreamProtocol,
/// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
/// #     let mut server = host()?;
/// #     let incoming = server.behaviour().new_control().accept(protocol)?;
/// #     let server_id = *server.local_peer_id();
/// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
/// #     let addr = loop {
/// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
/// #             break address;
/// #         }
/// #     };
/// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
/// #     let mut client = host()?;
/// #     let client_id = *client.local_peer_id();
/// #     let control = client.behaviour().new_control();
/// #     client.dial(addr)?;
/// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
/// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
/// #     Ok((incoming, control, server_id, client_id))
/// # }
/// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
/// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
/// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
/// #     let svc = Services {
/// #         cluster_id: 16,
/// #         shards: vec![32],
/// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
/// #         max_message_size: 150 * 1024,
/// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
/// #         filters: Default::default(),
/// #         internal,
/// #     };
/// #     (Arc::new(svc), events)
/// # }
/// # fn main() -> Result<(), BoxError> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use pfs_node::services::{self, LIGHTPUSH_V3};
/// use pfs_transport::transport::{PublishReport, TransportError, now_unix_ns};
/// use pfs_wire::waku::{LightPushRequestV3, LightPushResponseV3, WakuMessage};
///
/// let (node, mut events) = services(None);
/// let (mut incoming, mut control, server_id, _) = connect(LIGHTPUSH_V3).await?;
/// tokio::spawn(async move {
///     while let Some((_, stream)) = incoming.next().await {
///         let _ = node.serve_lightpush_v3(stream, now_unix_ns()).await;
///     }
/// });
/// // the event loop has nobody to relay to
/// tokio::spawn(async move {
///     while let Some(Internal::Publish { reply, .. }) = events.recv().await {
///         let _ = reply.send(Err::<PublishReport, _>(TransportError::NoPeers));
///     }
/// });
/// let message = WakuMessage {
///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
/// };
/// let req = LightPushRequestV3 { request_id: "1".into(), pubsub_topic: None, message: Some(message) };
/// let resp: LightPushResponseV3 = services::exchange(control.open_stream(server_id, LIGHTPUSH_V3).await?, &req, 4096).await?;
/// assert_eq!(resp.status_code, services::status::NO_PEERS_TO_RELAY);
/// # Ok::<(), BoxError>(())
/// # })
/// # }
/// ```
#[derive(Debug)]
pub enum Internal {
    /// Publish a message that a lightpush client gave us; the reply is the outcome.
    Publish {
        /// The message.
        message: CarriedMessage,
        /// Where to report how far it got.
        reply: oneshot::Sender<Result<pfs_transport::transport::PublishReport, TransportError>>,
    },
    /// Disconnect a peer (wrong cluster).
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// Why (logged).
        reason: String,
    },
    /// A message pushed to us by our filter service node.
    Pushed {
        /// The service node.
        from: PeerId,
        /// The message.
        message: CarriedMessage,
    },
}

/// What the node serves, shared by every service task.
///
/// ```
/// use std::sync::Arc;
/// use pfs_node::services::Services;
///
/// let (internal, _events) = tokio::sync::mpsc::unbounded_channel();
/// let node = Services {
///     cluster_id: 16,
///     shards: vec![32, 64],
///     pubsub_topics: vec!["/waku/2/rs/16/32".into(), "/waku/2/rs/16/64".into()],
///     max_message_size: 150 * 1024,
///     archive: None,
///     filters: Arc::default(),
///     internal,
/// };
/// let req = node.metadata_request();
/// assert_eq!((req.cluster_id, req.shards), (Some(16), vec![32, 64]));
/// ```
pub struct Services {
    /// Our cluster.
    pub cluster_id: u32,
    /// Our shards (never empty).
    pub shards: Vec<u32>,
    /// The pubsub topics we relay.
    pub pubsub_topics: Vec<String>,
    /// Largest WakuMessage accepted.
    pub max_message_size: usize,
    /// The archive, when we are a store node.
    pub archive: Option<Arc<Mutex<Archive>>>,
    /// Filter subscriptions (server side).
    pub filters: Arc<Mutex<FilterRegistry>>,
    /// The event loop.
    pub internal: mpsc::UnboundedSender<Internal>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn finish(stream: &mut Stream) {
    // Close our write side; the peer reads to the end (js-waku does).
    let _ = stream.close().await;
}

impl Services {
    fn metadata_response(&self) -> WakuMetadataResponse {
        WakuMetadataResponse {
            cluster_id: Some(self.cluster_id),
            shards: self.shards.clone(),
        }
    }

    /// The metadata request we send on every new connection.
    ///
    /// ```
    /// use pfs_node::services::Services;
    ///
    /// let (internal, _events) = tokio::sync::mpsc::unbounded_channel();
    /// let node = Services {
    ///     cluster_id: 1,
    ///     shards: vec![0],
    ///     pubsub_topics: vec!["/waku/2/rs/1/0".into()],
    ///     max_message_size: 1024,
    ///     archive: None,
    ///     filters: Default::default(),
    ///     internal,
    /// };
    /// assert_eq!(node.metadata_request().cluster_id, Some(1));
    /// assert_eq!(node.metadata_request().shards, [0]);
    /// ```
    pub fn metadata_request(&self) -> WakuMetadataRequest {
        WakuMetadataRequest {
            cluster_id: Some(self.cluster_id),
            shards: self.shards.clone(),
        }
    }

    /// Serves one metadata stream: answers our cluster and shards; a peer announcing
    /// another cluster is disconnected after the answer.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use futures::StreamExt;
    /// # use libp2p::swarm::SwarmEvent;
    /// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
    /// # use pfs_node::services::{Internal, Services};
    /// # use pfs_node::{Archive, Keypair, PeerId};
    /// # type BoxError = Box<dyn std::error::Error>;
    /// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
    /// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
    /// #         .with_tokio()
    /// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
    /// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
    /// #         .build())
    /// # }
    /// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
    /// # /// the second one's control, and both ids.
    /// # async fn connect(
    /// #     protocol: StreamProtocol,
    /// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
    /// #     let mut server = host()?;
    /// #     let incoming = server.behaviour().new_control().accept(protocol)?;
    /// #     let server_id = *server.local_peer_id();
    /// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
    /// #     let addr = loop {
    /// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
    /// #             break address;
    /// #         }
    /// #     };
    /// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
    /// #     let mut client = host()?;
    /// #     let client_id = *client.local_peer_id();
    /// #     let control = client.behaviour().new_control();
    /// #     client.dial(addr)?;
    /// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
    /// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
    /// #     Ok((incoming, control, server_id, client_id))
    /// # }
    /// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
    /// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
    /// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
    /// #     let svc = Services {
    /// #         cluster_id: 16,
    /// #         shards: vec![32],
    /// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
    /// #         max_message_size: 150 * 1024,
    /// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
    /// #         filters: Default::default(),
    /// #         internal,
    /// #     };
    /// #     (Arc::new(svc), events)
    /// # }
    /// # fn main() -> Result<(), BoxError> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// use pfs_node::services::{self, METADATA};
    /// use pfs_wire::waku::WakuMetadataRequest;
    ///
    /// let (node, mut events) = services(None);
    /// let (mut incoming, mut control, server_id, client_id) = connect(METADATA).await?;
    /// tokio::spawn(async move {
    ///     while let Some((peer, stream)) = incoming.next().await {
    ///         let _ = node.serve_metadata(peer, stream).await;
    ///     }
    /// });
    /// let same = WakuMetadataRequest { cluster_id: Some(16), shards: vec![32, 64] };
    /// let answer = services::request_metadata(control.open_stream(server_id, METADATA).await?, &same).await?;
    /// assert_eq!((answer.cluster_id, answer.shards), (Some(16), vec![32]));
    /// // a peer on another cluster is answered, then disconnected
    /// let other = WakuMetadataRequest { cluster_id: Some(1), shards: vec![0] };
    /// services::request_metadata(control.open_stream(server_id, METADATA).await?, &other).await?;
    /// let Some(Internal::Disconnect { peer, .. }) = events.recv().await else {
    ///     return Err("no disconnect".into());
    /// };
    /// assert_eq!(peer, client_id);
    /// # Ok::<(), BoxError>(())
    /// # })
    /// # }
    /// ```
    pub async fn serve_metadata(&self, peer: PeerId, mut stream: Stream) -> Result<(), CodecError> {
        let req: WakuMetadataRequest = codec::read_message(&mut stream, MAX_METADATA).await?;
        codec::write_message(&mut stream, &self.metadata_response()).await?;
        finish(&mut stream).await;
        if let Some(c) = req.cluster_id
            && c != self.cluster_id
        {
            let _ = self.internal.send(Internal::Disconnect {
                peer,
                reason: format!("peer is on cluster {c}, we are on {}", self.cluster_id),
            });
        }
        Ok(())
    }

    /// Checks a lightpushed message; `Err((status, description))` when refused.
    fn check_pushed(
        &self,
        pubsub_topic: Option<String>,
        message: Option<WakuMessage>,
        now_ns: i64,
    ) -> Result<CarriedMessage, (u32, String)> {
        let message = message.ok_or((status::BAD_REQUEST, "no message".to_owned()))?;
        let pubsub_topic = pubsub_topic
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| waku::DEFAULT_PUBSUB_TOPIC.to_owned());
        if !self.pubsub_topics.contains(&pubsub_topic) {
            return Err((
                status::UNSUPPORTED_PUBSUB_TOPIC,
                format!("pubsub topic {pubsub_topic} is not relayed here"),
            ));
        }
        let len = waku::encoded_len(&message);
        match waku::validate(&message, len, self.max_message_size, Some(now_ns)) {
            Ok(()) => Ok(CarriedMessage {
                pubsub_topic,
                message,
            }),
            Err(e @ InvalidMessage::TooLarge { .. }) => {
                Err((status::PAYLOAD_TOO_LARGE, e.to_string()))
            }
            Err(e) => Err((status::INVALID_MESSAGE, e.to_string())),
        }
    }

    async fn relay_pushed(&self, message: CarriedMessage) -> Result<u32, (u32, String)> {
        let (tx, rx) = oneshot::channel();
        self.internal
            .send(Internal::Publish { message, reply: tx })
            .map_err(|_| (status::INTERNAL_SERVER_ERROR, "node stopping".to_owned()))?;
        match rx.await {
            Ok(Ok(report)) => Ok(u32::try_from(report.relay_peers).unwrap_or(u32::MAX)),
            Ok(Err(TransportError::NoPeers)) => Err((
                status::NO_PEERS_TO_RELAY,
                "no relay peer and no store".to_owned(),
            )),
            Ok(Err(e)) => Err((status::INTERNAL_SERVER_ERROR, e.to_string())),
            Err(_) => Err((status::INTERNAL_SERVER_ERROR, "node stopping".to_owned())),
        }
    }

    /// Serves one lightpush v3 request.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use futures::StreamExt;
    /// # use libp2p::swarm::SwarmEvent;
    /// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
    /// # use pfs_node::services::{Internal, Services};
    /// # use pfs_node::{Archive, Keypair, PeerId};
    /// # type BoxError = Box<dyn std::error::Error>;
    /// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
    /// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
    /// #         .with_tokio()
    /// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
    /// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
    /// #         .build())
    /// # }
    /// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
    /// # /// the second one's control, and both ids.
    /// # async fn connect(
    /// #     protocol: StreamProtocol,
    /// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
    /// #     let mut server = host()?;
    /// #     let incoming = server.behaviour().new_control().accept(protocol)?;
    /// #     let server_id = *server.local_peer_id();
    /// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
    /// #     let addr = loop {
    /// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
    /// #             break address;
    /// #         }
    /// #     };
    /// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
    /// #     let mut client = host()?;
    /// #     let client_id = *client.local_peer_id();
    /// #     let control = client.behaviour().new_control();
    /// #     client.dial(addr)?;
    /// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
    /// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
    /// #     Ok((incoming, control, server_id, client_id))
    /// # }
    /// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
    /// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
    /// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
    /// #     let svc = Services {
    /// #         cluster_id: 16,
    /// #         shards: vec![32],
    /// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
    /// #         max_message_size: 150 * 1024,
    /// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
    /// #         filters: Default::default(),
    /// #         internal,
    /// #     };
    /// #     (Arc::new(svc), events)
    /// # }
    /// # fn main() -> Result<(), BoxError> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// use pfs_node::services::{self, LIGHTPUSH_V3, status};
    /// use pfs_transport::transport::{PublishReport, now_unix_ns};
    /// use pfs_wire::waku::{LightPushRequestV3, LightPushResponseV3, WakuMessage};
    ///
    /// let (node, mut events) = services(None);
    /// let (mut incoming, mut control, server_id, _) = connect(LIGHTPUSH_V3).await?;
    /// tokio::spawn(async move {
    ///     while let Some((_, stream)) = incoming.next().await {
    ///         let _ = node.serve_lightpush_v3(stream, now_unix_ns()).await;
    ///     }
    /// });
    /// // the node's event loop: relays every message to 3 peers
    /// tokio::spawn(async move {
    ///     while let Some(Internal::Publish { reply, .. }) = events.recv().await {
    ///         let _ = reply.send(Ok(PublishReport { relay_peers: 3, stored: false }));
    ///     }
    /// });
    /// let message = WakuMessage {
    ///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// };
    /// let ok = LightPushRequestV3 { request_id: "1".into(), pubsub_topic: Some("/waku/2/rs/16/32".into()), message: Some(message.clone()) };
    /// async fn push(control: &mut libp2p_stream::Control, to: PeerId, req: &LightPushRequestV3) -> Result<LightPushResponseV3, BoxError> {
    ///     Ok(services::exchange(control.open_stream(to, LIGHTPUSH_V3).await?, req, 4096).await?)
    /// }
    /// let resp = push(&mut control, server_id, &ok).await?;
    /// assert_eq!((resp.request_id.as_str(), resp.status_code, resp.relay_peer_count), ("1", status::OK, Some(3)));
    /// let other_shard = LightPushRequestV3 { pubsub_topic: Some("/waku/2/rs/16/64".into()), ..ok.clone() };
    /// assert_eq!(push(&mut control, server_id, &other_shard).await?.status_code, status::UNSUPPORTED_PUBSUB_TOPIC);
    /// let empty = LightPushRequestV3 { message: Some(WakuMessage { payload: vec![], ..message }), ..ok };
    /// assert_eq!(push(&mut control, server_id, &empty).await?.status_code, status::INVALID_MESSAGE);
    /// # Ok::<(), BoxError>(())
    /// # })
    /// # }
    /// ```
    pub async fn serve_lightpush_v3(
        &self,
        mut stream: Stream,
        now_ns: i64,
    ) -> Result<(), CodecError> {
        let req: LightPushRequestV3 =
            codec::read_message(&mut stream, self.max_message_size + RPC_OVERHEAD).await?;
        let outcome = match self.check_pushed(req.pubsub_topic, req.message, now_ns) {
            Ok(m) => self.relay_pushed(m).await,
            Err(e) => Err(e),
        };
        let resp = match outcome {
            Ok(peers) => LightPushResponseV3 {
                request_id: req.request_id,
                status_code: status::OK,
                status_desc: None,
                relay_peer_count: Some(peers),
            },
            Err((code, desc)) => LightPushResponseV3 {
                request_id: req.request_id,
                status_code: code,
                status_desc: Some(desc),
                relay_peer_count: None,
            },
        };
        codec::write_message(&mut stream, &resp).await?;
        finish(&mut stream).await;
        Ok(())
    }

    /// Serves one legacy lightpush v2 request.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use futures::StreamExt;
    /// # use libp2p::swarm::SwarmEvent;
    /// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
    /// # use pfs_node::services::{Internal, Services};
    /// # use pfs_node::{Archive, Keypair, PeerId};
    /// # type BoxError = Box<dyn std::error::Error>;
    /// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
    /// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
    /// #         .with_tokio()
    /// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
    /// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
    /// #         .build())
    /// # }
    /// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
    /// # /// the second one's control, and both ids.
    /// # async fn connect(
    /// #     protocol: StreamProtocol,
    /// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
    /// #     let mut server = host()?;
    /// #     let incoming = server.behaviour().new_control().accept(protocol)?;
    /// #     let server_id = *server.local_peer_id();
    /// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
    /// #     let addr = loop {
    /// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
    /// #             break address;
    /// #         }
    /// #     };
    /// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
    /// #     let mut client = host()?;
    /// #     let client_id = *client.local_peer_id();
    /// #     let control = client.behaviour().new_control();
    /// #     client.dial(addr)?;
    /// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
    /// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
    /// #     Ok((incoming, control, server_id, client_id))
    /// # }
    /// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
    /// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
    /// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
    /// #     let svc = Services {
    /// #         cluster_id: 16,
    /// #         shards: vec![32],
    /// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
    /// #         max_message_size: 150 * 1024,
    /// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
    /// #         filters: Default::default(),
    /// #         internal,
    /// #     };
    /// #     (Arc::new(svc), events)
    /// # }
    /// # fn main() -> Result<(), BoxError> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// use pfs_node::services::{self, LIGHTPUSH_V2};
    /// use pfs_transport::transport::{PublishReport, now_unix_ns};
    /// use pfs_wire::waku::{PushRequest, PushRpc, WakuMessage};
    ///
    /// let (node, mut events) = services(None);
    /// let (mut incoming, mut control, server_id, _) = connect(LIGHTPUSH_V2).await?;
    /// tokio::spawn(async move {
    ///     while let Some((_, stream)) = incoming.next().await {
    ///         let _ = node.serve_lightpush_v2(stream, now_unix_ns()).await;
    ///     }
    /// });
    /// tokio::spawn(async move {
    ///     while let Some(Internal::Publish { reply, .. }) = events.recv().await {
    ///         let _ = reply.send(Ok(PublishReport { relay_peers: 1, stored: false }));
    ///     }
    /// });
    /// let message = WakuMessage {
    ///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// };
    /// let rpc = |message| PushRpc {
    ///     request_id: "7".into(),
    ///     request: Some(PushRequest { pubsub_topic: "/waku/2/rs/16/32".into(), message: Some(message) }),
    ///     response: None,
    /// };
    /// let reply: PushRpc = services::exchange(control.open_stream(server_id, LIGHTPUSH_V2).await?, &rpc(message.clone()), 4096).await?;
    /// assert_eq!(reply.request_id, "7");
    /// assert!(reply.response.ok_or("no response")?.is_success);
    /// // no timestamp: refused, with the reason
    /// let undated = WakuMessage { timestamp: None, ..message };
    /// let reply: PushRpc = services::exchange(control.open_stream(server_id, LIGHTPUSH_V2).await?, &rpc(undated), 4096).await?;
    /// let response = reply.response.ok_or("no response")?;
    /// assert!(!response.is_success && response.info.is_some());
    /// # Ok::<(), BoxError>(())
    /// # })
    /// # }
    /// ```
    pub async fn serve_lightpush_v2(
        &self,
        mut stream: Stream,
        now_ns: i64,
    ) -> Result<(), CodecError> {
        let rpc: PushRpc =
            codec::read_message(&mut stream, self.max_message_size + RPC_OVERHEAD).await?;
        let outcome = match rpc.request {
            None => Err((status::BAD_REQUEST, "no request".to_owned())),
            Some(r) => match self.check_pushed(Some(r.pubsub_topic), r.message, now_ns) {
                Ok(m) => self.relay_pushed(m).await,
                Err(e) => Err(e),
            },
        };
        let response = match outcome {
            Ok(_) => PushResponse {
                is_success: true,
                info: None,
            },
            Err((_, desc)) => PushResponse {
                is_success: false,
                info: Some(desc),
            },
        };
        let reply = PushRpc {
            request_id: rpc.request_id,
            request: None,
            response: Some(response),
        };
        codec::write_message(&mut stream, &reply).await?;
        finish(&mut stream).await;
        Ok(())
    }

    /// Serves one store v3 query from the archive.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use futures::StreamExt;
    /// # use libp2p::swarm::SwarmEvent;
    /// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
    /// # use pfs_node::services::{Internal, Services};
    /// # use pfs_node::{Archive, Keypair, PeerId};
    /// # type BoxError = Box<dyn std::error::Error>;
    /// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
    /// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
    /// #         .with_tokio()
    /// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
    /// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
    /// #         .build())
    /// # }
    /// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
    /// # /// the second one's control, and both ids.
    /// # async fn connect(
    /// #     protocol: StreamProtocol,
    /// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
    /// #     let mut server = host()?;
    /// #     let incoming = server.behaviour().new_control().accept(protocol)?;
    /// #     let server_id = *server.local_peer_id();
    /// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
    /// #     let addr = loop {
    /// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
    /// #             break address;
    /// #         }
    /// #     };
    /// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
    /// #     let mut client = host()?;
    /// #     let client_id = *client.local_peer_id();
    /// #     let control = client.behaviour().new_control();
    /// #     client.dial(addr)?;
    /// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
    /// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
    /// #     Ok((incoming, control, server_id, client_id))
    /// # }
    /// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
    /// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
    /// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
    /// #     let svc = Services {
    /// #         cluster_id: 16,
    /// #         shards: vec![32],
    /// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
    /// #         max_message_size: 150 * 1024,
    /// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
    /// #         filters: Default::default(),
    /// #         internal,
    /// #     };
    /// #     (Arc::new(svc), events)
    /// # }
    /// # fn main() -> Result<(), BoxError> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// use pfs_node::ArchiveConfig;
    /// use pfs_node::services::{self, STORE, check_store_page, store_page_request};
    /// use pfs_transport::transport::{CarriedMessage, HistoryQuery, TransportError};
    /// use pfs_wire::waku::{StoreQueryResponse, WakuMessage};
    ///
    /// let now = pfs_transport::transport::now_unix_ns();
    /// let message = WakuMessage {
    ///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now), ..WakuMessage::default()
    /// };
    /// let mut archive = Archive::open_in_memory(ArchiveConfig::default())?;
    /// archive.insert("/waku/2/rs/16/32", &message, now)?;
    /// let (store, _) = services(Some(archive));
    /// let (light, _) = services(None); // not a store node
    /// let (mut incoming, mut control, server_id, _) = connect(STORE).await?;
    /// tokio::spawn(async move {
    ///     let mut first = true;
    ///     while let Some((_, stream)) = incoming.next().await {
    ///         let node = if std::mem::take(&mut first) { &store } else { &light };
    ///         let _ = node.serve_store(stream).await;
    ///     }
    /// });
    /// let query = HistoryQuery::recent(vec!["/a/1/b/proto".parse()?], now, 60);
    /// let page: StoreQueryResponse = services::exchange(control.open_stream(server_id, STORE).await?, &store_page_request(&query, None), 1 << 20).await?;
    /// assert_eq!(check_store_page(&query, page, 150 * 1024)?, (vec![CarriedMessage::on_default_shard(message)], None));
    /// let page: StoreQueryResponse = services::exchange(control.open_stream(server_id, STORE).await?, &store_page_request(&query, None), 1 << 20).await?;
    /// assert!(matches!(check_store_page(&query, page, 150 * 1024), Err(TransportError::Refused { status: 503, .. })));
    /// # Ok::<(), BoxError>(())
    /// # })
    /// # }
    /// ```
    pub async fn serve_store(&self, mut stream: Stream) -> Result<(), CodecError> {
        let req: StoreQueryRequest = codec::read_message(&mut stream, MAX_STORE_REQUEST).await?;
        let resp = match &self.archive {
            Some(a) => lock(a).query(&req),
            None => StoreQueryResponse {
                request_id: req.request_id,
                status_code: Some(status::SERVICE_NOT_AVAILABLE),
                status_desc: Some("not a store node".into()),
                ..StoreQueryResponse::default()
            },
        };
        codec::write_message(&mut stream, &resp).await?;
        finish(&mut stream).await;
        Ok(())
    }

    /// Serves one filter subscribe request.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use futures::StreamExt;
    /// # use libp2p::swarm::SwarmEvent;
    /// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
    /// # use pfs_node::services::{Internal, Services};
    /// # use pfs_node::{Archive, Keypair, PeerId};
    /// # type BoxError = Box<dyn std::error::Error>;
    /// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
    /// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
    /// #         .with_tokio()
    /// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
    /// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
    /// #         .build())
    /// # }
    /// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
    /// # /// the second one's control, and both ids.
    /// # async fn connect(
    /// #     protocol: StreamProtocol,
    /// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
    /// #     let mut server = host()?;
    /// #     let incoming = server.behaviour().new_control().accept(protocol)?;
    /// #     let server_id = *server.local_peer_id();
    /// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
    /// #     let addr = loop {
    /// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
    /// #             break address;
    /// #         }
    /// #     };
    /// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
    /// #     let mut client = host()?;
    /// #     let client_id = *client.local_peer_id();
    /// #     let control = client.behaviour().new_control();
    /// #     client.dial(addr)?;
    /// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
    /// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
    /// #     Ok((incoming, control, server_id, client_id))
    /// # }
    /// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
    /// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
    /// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
    /// #     let svc = Services {
    /// #         cluster_id: 16,
    /// #         shards: vec![32],
    /// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
    /// #         max_message_size: 150 * 1024,
    /// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
    /// #         filters: Default::default(),
    /// #         internal,
    /// #     };
    /// #     (Arc::new(svc), events)
    /// # }
    /// # fn main() -> Result<(), BoxError> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// use pfs_node::services::{self, FILTER_SUBSCRIBE};
    /// use pfs_wire::waku::filter_subscribe_request::FilterSubscribeType;
    /// use pfs_wire::waku::{FilterSubscribeRequest, FilterSubscribeResponse};
    ///
    /// let (node, _) = services(None);
    /// let filters = node.filters.clone();
    /// let (mut incoming, mut control, server_id, client_id) = connect(FILTER_SUBSCRIBE).await?;
    /// tokio::spawn(async move {
    ///     while let Some((peer, stream)) = incoming.next().await {
    ///         let _ = node.serve_filter_subscribe(peer, stream).await;
    ///     }
    /// });
    /// let request = |kind: FilterSubscribeType| FilterSubscribeRequest {
    ///     request_id: "r".into(),
    ///     filter_subscribe_type: kind as i32,
    ///     pubsub_topic: Some("/waku/2/rs/16/32".into()),
    ///     content_topics: vec!["/a/1/b/proto".into()],
    /// };
    /// async fn send(control: &mut libp2p_stream::Control, to: PeerId, req: FilterSubscribeRequest) -> Result<u32, BoxError> {
    ///     let resp: FilterSubscribeResponse = services::exchange(control.open_stream(to, FILTER_SUBSCRIBE).await?, &req, 4096).await?;
    ///     Ok(resp.status_code)
    /// }
    /// assert_eq!(send(&mut control, server_id, request(FilterSubscribeType::SubscriberPing)).await?, 404); // nothing yet
    /// assert_eq!(send(&mut control, server_id, request(FilterSubscribeType::Subscribe)).await?, 200);
    /// assert_eq!(filters.lock().map_err(|_| "poisoned")?.matching("/waku/2/rs/16/32", "/a/1/b/proto"), [client_id]);
    /// assert_eq!(send(&mut control, server_id, request(FilterSubscribeType::SubscriberPing)).await?, 200);
    /// assert_eq!(send(&mut control, server_id, request(FilterSubscribeType::UnsubscribeAll)).await?, 200);
    /// assert_eq!(send(&mut control, server_id, request(FilterSubscribeType::SubscriberPing)).await?, 404);
    /// # Ok::<(), BoxError>(())
    /// # })
    /// # }
    /// ```
    pub async fn serve_filter_subscribe(
        &self,
        peer: PeerId,
        mut stream: Stream,
    ) -> Result<(), CodecError> {
        let req: FilterSubscribeRequest =
            codec::read_message(&mut stream, MAX_FILTER_REQUEST).await?;
        let outcome = {
            let mut reg = lock(&self.filters);
            let ps = req.pubsub_topic.as_deref();
            match FilterSubscribeType::try_from(req.filter_subscribe_type) {
                Ok(FilterSubscribeType::SubscriberPing) => reg.ping(peer),
                Ok(FilterSubscribeType::Subscribe) => match ps {
                    Some(p) if !self.pubsub_topics.iter().any(|t| t == p) => {
                        Err(crate::filter::FilterRefusal {
                            status: 400,
                            description: "pubsub topic not relayed here",
                        })
                    }
                    _ => reg.subscribe(peer, ps, &req.content_topics),
                },
                Ok(FilterSubscribeType::Unsubscribe) => {
                    reg.unsubscribe(peer, ps, &req.content_topics)
                }
                Ok(FilterSubscribeType::UnsubscribeAll) => reg.unsubscribe_all(peer),
                Err(_) => Err(crate::filter::FilterRefusal {
                    status: 400,
                    description: "unknown request type",
                }),
            }
        };
        let resp = match outcome {
            Ok(()) => FilterSubscribeResponse {
                request_id: req.request_id,
                status_code: 200,
                status_desc: None,
            },
            Err(r) => FilterSubscribeResponse {
                request_id: req.request_id,
                status_code: r.status,
                status_desc: Some(r.description.to_owned()),
            },
        };
        // js-waku's unsubscribe does not wait for the answer: a failed write is fine.
        let _ = codec::write_message(&mut stream, &resp).await;
        finish(&mut stream).await;
        Ok(())
    }

    /// Reads the pushes on one filter-push stream from our service node (light mode).
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use futures::StreamExt;
    /// # use libp2p::swarm::SwarmEvent;
    /// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
    /// # use pfs_node::services::{Internal, Services};
    /// # use pfs_node::{Archive, Keypair, PeerId};
    /// # type BoxError = Box<dyn std::error::Error>;
    /// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
    /// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
    /// #         .with_tokio()
    /// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
    /// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
    /// #         .build())
    /// # }
    /// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
    /// # /// the second one's control, and both ids.
    /// # async fn connect(
    /// #     protocol: StreamProtocol,
    /// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
    /// #     let mut server = host()?;
    /// #     let incoming = server.behaviour().new_control().accept(protocol)?;
    /// #     let server_id = *server.local_peer_id();
    /// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
    /// #     let addr = loop {
    /// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
    /// #             break address;
    /// #         }
    /// #     };
    /// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
    /// #     let mut client = host()?;
    /// #     let client_id = *client.local_peer_id();
    /// #     let control = client.behaviour().new_control();
    /// #     client.dial(addr)?;
    /// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
    /// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
    /// #     Ok((incoming, control, server_id, client_id))
    /// # }
    /// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
    /// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
    /// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
    /// #     let svc = Services {
    /// #         cluster_id: 16,
    /// #         shards: vec![32],
    /// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
    /// #         max_message_size: 150 * 1024,
    /// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
    /// #         filters: Default::default(),
    /// #         internal,
    /// #     };
    /// #     (Arc::new(svc), events)
    /// # }
    /// # fn main() -> Result<(), BoxError> {
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # rt.block_on(async {
    /// use pfs_node::services::{self, FILTER_PUSH, encode_push};
    /// use pfs_transport::transport::now_unix_ns;
    /// use pfs_transport::waku::{WakuMessage, encode_message};
    ///
    /// // a light node receives what its filter service node pushes
    /// let (light, mut events) = services(None);
    /// let (mut incoming, mut service, light_id, service_id) = connect(FILTER_PUSH).await?;
    /// tokio::spawn(async move {
    ///     while let Some((from, stream)) = incoming.next().await {
    ///         light.receive_pushes(from, stream, now_unix_ns()).await;
    ///     }
    /// });
    /// let message = WakuMessage {
    ///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
    /// };
    /// let push = encode_push(&encode_message(&message), "/waku/2/rs/16/32");
    /// services::push_to(service.open_stream(light_id, FILTER_PUSH).await?, &push).await?;
    /// let Some(Internal::Pushed { from, message: got }) = events.recv().await else {
    ///     return Err("nothing pushed".into());
    /// };
    /// assert_eq!((from, got.pubsub_topic.as_str(), got.message), (service_id, "/waku/2/rs/16/32", message));
    /// # Ok::<(), BoxError>(())
    /// # })
    /// # }
    /// ```
    pub async fn receive_pushes(&self, from: PeerId, mut stream: Stream, now_ns: i64) {
        let max = self.max_message_size + RPC_OVERHEAD;
        loop {
            let frame = match codec::read_frame(&mut stream, max).await {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!(%from, error = %e, "filter push stream failed");
                    return;
                }
            };
            let push = match <MessagePush as prost::Message>::decode(frame.as_slice()) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(%from, error = %e, "invalid filter push dropped");
                    return;
                }
            };
            let (Some(message), Some(pubsub_topic)) = (push.waku_message, push.pubsub_topic) else {
                tracing::warn!(%from, "filter push without message or pubsub topic dropped");
                continue;
            };
            let len = waku::encoded_len(&message);
            if let Err(e) = waku::validate(&message, len, self.max_message_size, Some(now_ns)) {
                tracing::warn!(%from, error = %e, "invalid pushed message dropped");
                continue;
            }
            let _ = self.internal.send(Internal::Pushed {
                from,
                message: CarriedMessage {
                    pubsub_topic,
                    message,
                },
            });
        }
    }
}

/// Encodes a `MessagePush` around the relayed message bytes without re-encoding them.
///
/// ```
/// use pfs_node::services::encode_push;
/// use pfs_transport::waku::{WakuMessage, encode_message};
/// use pfs_wire::waku::MessagePush;
/// use prost::Message as _;
///
/// let message = WakuMessage { payload: vec![1; 300], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() };
/// let push = encode_push(&encode_message(&message), "/waku/2/rs/16/32");
/// // the same bytes as encoding a MessagePush (field 1: the message, field 2: the pubsub topic)
/// let expected = MessagePush { waku_message: Some(message), pubsub_topic: Some("/waku/2/rs/16/32".into()) };
/// assert_eq!(push, expected.encode_to_vec());
/// assert_eq!(MessagePush::decode(push.as_slice())?, expected);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_push(raw_message: &[u8], pubsub_topic: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw_message.len() + pubsub_topic.len() + 12);
    out.push(0x0a); // field 1, length-delimited
    out.extend(codec::length_prefix(raw_message.len()));
    out.extend_from_slice(raw_message);
    out.push(0x12); // field 2, length-delimited
    out.extend(codec::length_prefix(pubsub_topic.len()));
    out.extend_from_slice(pubsub_topic.as_bytes());
    out
}

/// Client: sends one filter push (service side) and closes the stream.
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use futures::StreamExt;
/// # use libp2p::swarm::SwarmEvent;
/// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
/// # use pfs_node::services::{Internal, Services};
/// # use pfs_node::{Archive, Keypair, PeerId};
/// # type BoxError = Box<dyn std::error::Error>;
/// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
/// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
/// #         .with_tokio()
/// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
/// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
/// #         .build())
/// # }
/// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
/// # /// the second one's control, and both ids.
/// # async fn connect(
/// #     protocol: StreamProtocol,
/// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
/// #     let mut server = host()?;
/// #     let incoming = server.behaviour().new_control().accept(protocol)?;
/// #     let server_id = *server.local_peer_id();
/// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
/// #     let addr = loop {
/// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
/// #             break address;
/// #         }
/// #     };
/// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
/// #     let mut client = host()?;
/// #     let client_id = *client.local_peer_id();
/// #     let control = client.behaviour().new_control();
/// #     client.dial(addr)?;
/// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
/// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
/// #     Ok((incoming, control, server_id, client_id))
/// # }
/// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
/// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
/// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
/// #     let svc = Services {
/// #         cluster_id: 16,
/// #         shards: vec![32],
/// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
/// #         max_message_size: 150 * 1024,
/// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
/// #         filters: Default::default(),
/// #         internal,
/// #     };
/// #     (Arc::new(svc), events)
/// # }
/// # fn main() -> Result<(), BoxError> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use pfs_node::services::{self, FILTER_PUSH, encode_push};
/// use pfs_transport::transport::now_unix_ns;
/// use pfs_transport::waku::{WakuMessage, encode_message};
///
/// let (light, mut events) = services(None);
/// let (mut incoming, mut service, light_id, _) = connect(FILTER_PUSH).await?;
/// tokio::spawn(async move {
///     while let Some((from, stream)) = incoming.next().await {
///         light.receive_pushes(from, stream, now_unix_ns()).await;
///     }
/// });
/// let message = |p: u8| WakuMessage {
///     payload: vec![p], content_topic: "/a/1/b/proto".into(), timestamp: Some(now_unix_ns()), ..WakuMessage::default()
/// };
/// for p in [1, 2] {
///     let push = encode_push(&encode_message(&message(p)), "/waku/2/rs/16/32");
///     services::push_to(service.open_stream(light_id, FILTER_PUSH).await?, &push).await?;
/// }
/// let mut payloads = Vec::new();
/// while payloads.len() < 2 {
///     if let Some(Internal::Pushed { message, .. }) = events.recv().await {
///         payloads.push(message.message.payload);
///     }
/// }
/// payloads.sort();
/// assert_eq!(payloads, [[1], [2]]);
/// # Ok::<(), BoxError>(())
/// # })
/// # }
/// ```
pub async fn push_to(mut stream: Stream, push: &[u8]) -> Result<(), CodecError> {
    let mut frame = codec::length_prefix(push.len());
    frame.extend_from_slice(push);
    stream.write_all(&frame).await?;
    stream.flush().await?;
    finish(&mut stream).await;
    Ok(())
}

/// Client: one metadata exchange. Returns the peer's answer.
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use futures::StreamExt;
/// # use libp2p::swarm::SwarmEvent;
/// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
/// # use pfs_node::services::{Internal, Services};
/// # use pfs_node::{Archive, Keypair, PeerId};
/// # type BoxError = Box<dyn std::error::Error>;
/// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
/// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
/// #         .with_tokio()
/// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
/// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
/// #         .build())
/// # }
/// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
/// # /// the second one's control, and both ids.
/// # async fn connect(
/// #     protocol: StreamProtocol,
/// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
/// #     let mut server = host()?;
/// #     let incoming = server.behaviour().new_control().accept(protocol)?;
/// #     let server_id = *server.local_peer_id();
/// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
/// #     let addr = loop {
/// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
/// #             break address;
/// #         }
/// #     };
/// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
/// #     let mut client = host()?;
/// #     let client_id = *client.local_peer_id();
/// #     let control = client.behaviour().new_control();
/// #     client.dial(addr)?;
/// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
/// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
/// #     Ok((incoming, control, server_id, client_id))
/// # }
/// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
/// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
/// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
/// #     let svc = Services {
/// #         cluster_id: 16,
/// #         shards: vec![32],
/// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
/// #         max_message_size: 150 * 1024,
/// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
/// #         filters: Default::default(),
/// #         internal,
/// #     };
/// #     (Arc::new(svc), events)
/// # }
/// # fn main() -> Result<(), BoxError> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use pfs_node::services::{self, METADATA};
///
/// let (node, _events) = services(None);
/// let (mut incoming, mut control, server_id, _) = connect(METADATA).await?;
/// tokio::spawn(async move {
///     if let Some((peer, stream)) = incoming.next().await {
///         let _ = node.serve_metadata(peer, stream).await;
///     }
/// });
/// let (ours, _) = services(None);
/// let answer = services::request_metadata(control.open_stream(server_id, METADATA).await?, &ours.metadata_request()).await?;
/// assert_eq!((answer.cluster_id, answer.shards), (Some(16), vec![32]));
/// # Ok::<(), BoxError>(())
/// # })
/// # }
/// ```
pub async fn request_metadata(
    mut stream: Stream,
    req: &WakuMetadataRequest,
) -> Result<WakuMetadataResponse, CodecError> {
    codec::write_message(&mut stream, req).await?;
    let resp = codec::read_message(&mut stream, MAX_METADATA).await?;
    finish(&mut stream).await;
    Ok(resp)
}

/// Client: one request/response exchange (lightpush, filter subscribe, store page).
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use futures::StreamExt;
/// # use libp2p::swarm::SwarmEvent;
/// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
/// # use pfs_node::services::{Internal, Services};
/// # use pfs_node::{Archive, Keypair, PeerId};
/// # type BoxError = Box<dyn std::error::Error>;
/// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
/// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
/// #         .with_tokio()
/// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
/// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
/// #         .build())
/// # }
/// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
/// # /// the second one's control, and both ids.
/// # async fn connect(
/// #     protocol: StreamProtocol,
/// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
/// #     let mut server = host()?;
/// #     let incoming = server.behaviour().new_control().accept(protocol)?;
/// #     let server_id = *server.local_peer_id();
/// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
/// #     let addr = loop {
/// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
/// #             break address;
/// #         }
/// #     };
/// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
/// #     let mut client = host()?;
/// #     let client_id = *client.local_peer_id();
/// #     let control = client.behaviour().new_control();
/// #     client.dial(addr)?;
/// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
/// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
/// #     Ok((incoming, control, server_id, client_id))
/// # }
/// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
/// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
/// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
/// #     let svc = Services {
/// #         cluster_id: 16,
/// #         shards: vec![32],
/// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
/// #         max_message_size: 150 * 1024,
/// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
/// #         filters: Default::default(),
/// #         internal,
/// #     };
/// #     (Arc::new(svc), events)
/// # }
/// # fn main() -> Result<(), BoxError> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use pfs_node::codec::CodecError;
/// use pfs_node::services::{self, METADATA};
/// use pfs_wire::waku::{WakuMetadataRequest, WakuMetadataResponse};
///
/// let (node, _events) = services(None);
/// let (mut incoming, mut control, server_id, _) = connect(METADATA).await?;
/// tokio::spawn(async move {
///     while let Some((peer, stream)) = incoming.next().await {
///         let _ = node.serve_metadata(peer, stream).await;
///     }
/// });
/// let req = WakuMetadataRequest { cluster_id: Some(16), shards: vec![32] };
/// let resp: WakuMetadataResponse = services::exchange(control.open_stream(server_id, METADATA).await?, &req, 1024).await?;
/// assert_eq!(resp.cluster_id, Some(16));
/// // an answer larger than allowed is refused before it is read
/// let small: Result<WakuMetadataResponse, CodecError> = services::exchange(control.open_stream(server_id, METADATA).await?, &req, 1).await;
/// assert!(small.is_err());
/// # Ok::<(), BoxError>(())
/// # })
/// # }
/// ```
pub async fn exchange<Req: prost::Message, Resp: prost::Message + Default>(
    mut stream: Stream,
    req: &Req,
    max_response: usize,
) -> Result<Resp, CodecError> {
    codec::write_message(&mut stream, req).await?;
    // js-waku servers read until our side closes; close it before reading.
    let _ = stream.close().await;
    codec::read_message(&mut stream, max_response).await
}

/// A random request id (hex), as js-waku sends uuids.
///
/// ```
/// use pfs_node::services::request_id;
///
/// let id = request_id();
/// assert_eq!(id.len(), 32); // 16 random bytes, hex
/// assert!(id.bytes().all(|c| c.is_ascii_hexdigit()));
/// assert_ne!(id, request_id());
/// ```
pub fn request_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        let n = pfs_transport::transport::now_unix_ns();
        b[..8].copy_from_slice(&n.to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Client: the store request of one page of a history query.
///
/// ```
/// use pfs_node::services::store_page_request;
/// use pfs_transport::transport::HistoryQuery;
///
/// let query = HistoryQuery::recent(vec!["/a/1/b/proto".parse()?], 1_000_000_000_000, 60);
/// let first = store_page_request(&query, None);
/// assert_eq!((first.time_start, first.time_end), (Some(query.start_ns), Some(query.end_ns)));
/// assert_eq!(first.content_topics, query.content_topics);
/// assert!(first.include_data && first.pagination_forward);
/// assert_eq!(first.pagination_limit, Some(100));
/// // the next page: the same query from the cursor the store returned
/// let next = store_page_request(&query, Some(vec![7; 32]));
/// assert_eq!(next.pagination_cursor, Some(vec![7; 32]));
/// assert_ne!(next.request_id, first.request_id);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn store_page_request(query: &HistoryQuery, cursor: Option<Vec<u8>>) -> StoreQueryRequest {
    StoreQueryRequest {
        request_id: request_id(),
        include_data: true,
        pubsub_topic: Some(query.pubsub_topic.clone()),
        content_topics: query
            .content_topics
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        time_start: Some(query.start_ns),
        time_end: Some(query.end_ns),
        message_hashes: Vec::new(),
        pagination_cursor: cursor,
        pagination_forward: true,
        pagination_limit: Some(100),
    }
}

/// Client: checks a store page against the query. Returns the messages it holds that
/// match (with a correct hash) and the cursor of the next page, if any.
///
/// # Examples
///
/// An entry whose hash is not the message's is dropped; a refusal is an error.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_node::services::{check_store_page, store_page_request};
/// use pfs_transport::transport::{CarriedMessage, HistoryQuery, TransportError};
/// use pfs_wire::waku::{StoreQueryResponse, WakuMessage, WakuMessageKeyValue};
///
/// let now = 1_700_000_000_000_000_000i64;
/// let query = HistoryQuery::recent(vec!["/a/1/b/proto".parse()?], now, 60);
/// let req = store_page_request(&query, None);
/// assert_eq!((req.include_data, req.pubsub_topic.as_ref()), (true, Some(&query.pubsub_topic)));
/// let good = CarriedMessage::on_default_shard(WakuMessage {
///     payload: vec![1], content_topic: "/a/1/b/proto".into(), timestamp: Some(now), ..WakuMessage::default()
/// });
/// let entry = |hash: [u8; 32]| WakuMessageKeyValue {
///     message_hash: Some(hash.to_vec()),
///     message: Some(good.message.clone()),
///     pubsub_topic: Some(good.pubsub_topic.clone()),
/// };
/// let resp = StoreQueryResponse {
///     status_code: Some(200),
///     messages: vec![entry(good.hash()), entry([0; 32])],
///     ..StoreQueryResponse::default()
/// };
/// assert_eq!(check_store_page(&query, resp, 150 * 1024)?, (vec![good], None));
/// let refused = StoreQueryResponse { status_code: Some(400), ..StoreQueryResponse::default() };
/// assert!(matches!(check_store_page(&query, refused, 1024), Err(TransportError::Refused { status: 400, .. })));
/// # Ok(())
/// # }
/// ```
pub fn check_store_page(
    query: &HistoryQuery,
    resp: StoreQueryResponse,
    max_message: usize,
) -> Result<(Vec<CarriedMessage>, Option<Vec<u8>>), TransportError> {
    match resp.status_code {
        Some(200) => {}
        Some(code) => {
            return Err(TransportError::Refused {
                status: code,
                description: resp.status_desc.unwrap_or_default(),
            });
        }
        None => {
            return Err(TransportError::History(
                "store answer without a status".into(),
            ));
        }
    }
    let mut out = Vec::with_capacity(resp.messages.len());
    for kv in resp.messages {
        let (Some(message), Some(pubsub_topic)) = (kv.message, kv.pubsub_topic) else {
            tracing::warn!("store entry without data dropped");
            continue;
        };
        let carried = CarriedMessage {
            pubsub_topic,
            message,
        };
        let len = waku::encoded_len(&carried.message);
        if !query.matches(&carried)
            || waku::validate(&carried.message, len, max_message, None).is_err()
            || kv.message_hash.as_deref() != Some(&carried.hash()[..])
        {
            tracing::warn!("store entry outside the query or with a wrong hash dropped");
            continue;
        }
        out.push(carried);
    }
    Ok((out, resp.pagination_cursor))
}

/// Reads nothing more from a stream but waits (bounded by the caller) for the peer to
/// close it, so that our last frame is not cut by a reset.
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use futures::StreamExt;
/// # use libp2p::swarm::SwarmEvent;
/// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
/// # use pfs_node::services::{Internal, Services};
/// # use pfs_node::{Archive, Keypair, PeerId};
/// # type BoxError = Box<dyn std::error::Error>;
/// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
/// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
/// #         .with_tokio()
/// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
/// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
/// #         .build())
/// # }
/// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
/// # /// the second one's control, and both ids.
/// # async fn connect(
/// #     protocol: StreamProtocol,
/// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
/// #     let mut server = host()?;
/// #     let incoming = server.behaviour().new_control().accept(protocol)?;
/// #     let server_id = *server.local_peer_id();
/// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
/// #     let addr = loop {
/// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
/// #             break address;
/// #         }
/// #     };
/// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
/// #     let mut client = host()?;
/// #     let client_id = *client.local_peer_id();
/// #     let control = client.behaviour().new_control();
/// #     client.dial(addr)?;
/// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
/// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
/// #     Ok((incoming, control, server_id, client_id))
/// # }
/// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
/// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
/// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
/// #     let svc = Services {
/// #         cluster_id: 16,
/// #         shards: vec![32],
/// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
/// #         max_message_size: 150 * 1024,
/// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
/// #         filters: Default::default(),
/// #         internal,
/// #     };
/// #     (Arc::new(svc), events)
/// # }
/// # fn main() -> Result<(), BoxError> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use futures::AsyncWriteExt;
/// use pfs_node::services::{self, METADATA};
///
/// let (mut incoming, mut control, server_id, _) = connect(METADATA).await?;
/// let (done, finished) = tokio::sync::oneshot::channel();
/// tokio::spawn(async move {
///     if let Some((_, stream)) = incoming.next().await {
///         services::drain(stream).await; // until the peer closes its side
///         let _ = done.send(());
///     }
/// });
/// let mut stream = control.open_stream(server_id, METADATA).await?;
/// stream.write_all(b"ignored").await?;
/// stream.close().await?;
/// tokio::time::timeout(std::time::Duration::from_secs(5), finished).await??;
/// # Ok::<(), BoxError>(())
/// # })
/// # }
/// ```
pub async fn drain(mut stream: Stream) {
    let mut buf = [0u8; 64];
    while let Ok(n) = futures::AsyncReadExt::read(&mut stream, &mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Accepts streams of one protocol forever, running `serve` on each with a timeout and at
/// most `max_concurrent` at once (further streams wait).
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// # use futures::StreamExt;
/// # use libp2p::swarm::SwarmEvent;
/// # use libp2p::{StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
/// # use pfs_node::services::{Internal, Services};
/// # use pfs_node::{Archive, Keypair, PeerId};
/// # type BoxError = Box<dyn std::error::Error>;
/// # fn host() -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
/// #     Ok(SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
/// #         .with_tokio()
/// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
/// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
/// #         .build())
/// # }
/// # /// Two hosts connected on 127.0.0.1: the first one's incoming streams of `protocol`,
/// # /// the second one's control, and both ids.
/// # async fn connect(
/// #     protocol: StreamProtocol,
/// # ) -> Result<(libp2p_stream::IncomingStreams, libp2p_stream::Control, PeerId, PeerId), BoxError> {
/// #     let mut server = host()?;
/// #     let incoming = server.behaviour().new_control().accept(protocol)?;
/// #     let server_id = *server.local_peer_id();
/// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
/// #     let addr = loop {
/// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
/// #             break address;
/// #         }
/// #     };
/// #     tokio::spawn(async move { loop { server.select_next_some().await; } });
/// #     let mut client = host()?;
/// #     let client_id = *client.local_peer_id();
/// #     let control = client.behaviour().new_control();
/// #     client.dial(addr)?;
/// #     while !matches!(client.select_next_some().await, SwarmEvent::ConnectionEstablished { .. }) {}
/// #     tokio::spawn(async move { loop { client.select_next_some().await; } });
/// #     Ok((incoming, control, server_id, client_id))
/// # }
/// # /// A node on cluster 16, shard 32, and its event loop's end of the channel.
/// # fn services(archive: Option<Archive>) -> (Arc<Services>, tokio::sync::mpsc::UnboundedReceiver<Internal>) {
/// #     let (internal, events) = tokio::sync::mpsc::unbounded_channel();
/// #     let svc = Services {
/// #         cluster_id: 16,
/// #         shards: vec![32],
/// #         pubsub_topics: vec!["/waku/2/rs/16/32".into()],
/// #         max_message_size: 150 * 1024,
/// #         archive: archive.map(|a| Arc::new(Mutex::new(a))),
/// #         filters: Default::default(),
/// #         internal,
/// #     };
/// #     (Arc::new(svc), events)
/// # }
/// # fn main() -> Result<(), BoxError> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// use std::time::Duration;
/// use pfs_node::services::{self, METADATA};
///
/// let (node, _events) = services(None);
/// let (incoming, mut control, server_id, _) = connect(METADATA).await?;
/// tokio::spawn(services::accept_loop(incoming, 4, Duration::from_secs(5), move |peer, stream| {
///     let node = node.clone();
///     async move { node.serve_metadata(peer, stream).await }
/// }));
/// let (ours, _) = services(None);
/// for _ in 0..3 {
///     let answer = services::request_metadata(control.open_stream(server_id, METADATA).await?, &ours.metadata_request()).await?;
///     assert_eq!(answer.cluster_id, Some(16));
/// }
/// # Ok::<(), BoxError>(())
/// # })
/// # }
/// ```
pub async fn accept_loop<F, Fut>(
    mut incoming: libp2p_stream::IncomingStreams,
    max_concurrent: usize,
    timeout: std::time::Duration,
    serve: F,
) where
    F: Fn(PeerId, Stream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), CodecError>> + Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(max_concurrent.max(1)));
    while let Some((peer, stream)) = incoming.next().await {
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            return;
        };
        let fut = serve(peer, stream);
        tokio::spawn(async move {
            match tokio::time::timeout(timeout, fut).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "request refused"),
                Err(_) => tracing::debug!(%peer, "request timed out"),
            }
            drop(permit);
        });
    }
}
