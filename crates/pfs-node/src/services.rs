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
    pub fn metadata_request(&self) -> WakuMetadataRequest {
        WakuMetadataRequest {
            cluster_id: Some(self.cluster_id),
            shards: self.shards.clone(),
        }
    }

    /// Serves one metadata stream: answers our cluster and shards; a peer announcing
    /// another cluster is disconnected after the answer.
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
pub async fn push_to(mut stream: Stream, push: &[u8]) -> Result<(), CodecError> {
    let mut frame = codec::length_prefix(push.len());
    frame.extend_from_slice(push);
    stream.write_all(&frame).await?;
    stream.flush().await?;
    finish(&mut stream).await;
    Ok(())
}

/// Client: one metadata exchange. Returns the peer's answer.
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
pub fn request_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        let n = pfs_transport::transport::now_unix_ns();
        b[..8].copy_from_slice(&n.to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Client: the store request of one page of a history query.
pub fn store_page_request(query: &HistoryQuery, cursor: Option<Vec<u8>>) -> StoreQueryRequest {
    StoreQueryRequest {
        request_id: request_id(),
        include_data: true,
        pubsub_topic: Some(query.pubsub_topic.clone()),
        content_topics: query.content_topics.clone(),
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
/// let query = HistoryQuery::recent(vec!["/a/1/b/proto".into()], now, 60);
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
