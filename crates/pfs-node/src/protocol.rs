//! Wire formats of the two network protocols (see `docs/network.md`).
//!
//! Both are [postcard](https://docs.rs/postcard) encodings of the structs below: compact,
//! deterministic, length-prefixed byte strings. Every message starts with a version byte
//! ([`WIRE_VERSION`]); a message with another version, trailing bytes, or over its size
//! limit is refused.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use pfs_transport::transport::{CarriedEnvelope, EnvelopeMeta, MAX_ENVELOPE_SIZE, Topic};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Version byte of every message of both protocols.
pub const WIRE_VERSION: u8 = 1;

/// The single gossipsub topic on which every envelope travels (the 4-byte envelope topic
/// is inside the message, as in Whisper where every node sees every envelope).
pub const GOSSIP_TOPIC: &str = "/pfs/envelopes/1";

/// Name of the request-response protocol that stores (mailservers) answer.
pub const HISTORY_PROTOCOL: StreamProtocol = StreamProtocol::new("/pfs/history/1.0.0");

/// Largest gossipsub message: the largest envelope plus room for the framing.
pub const MAX_GOSSIP_MESSAGE: usize = MAX_ENVELOPE_SIZE + 64 * 1024;

/// Largest encoded history request.
pub const MAX_HISTORY_REQUEST: usize = 64 * 1024;

/// A store puts envelopes in one response page until their size reaches this many bytes
/// (a page always has room for at least one envelope).
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Largest number of envelopes in one response page.
pub const MAX_PAGE_ENVELOPES: u32 = 1000;

/// Bytes counted per envelope in a page besides its own bytes (the item's other fields).
pub const PAGE_ITEM_OVERHEAD: usize = 64;

/// Largest encoded history response.
pub const MAX_HISTORY_RESPONSE: usize = MAX_PAGE_BYTES + MAX_ENVELOPE_SIZE + 64 * 1024;

/// An envelope as gossiped: the metadata the transport needs, then the opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GossipEnvelope {
    /// [`WIRE_VERSION`].
    pub version: u8,
    /// The envelope's 4-byte topic.
    pub topic: Topic,
    /// The envelope's expiry, Unix seconds.
    pub expiry_unix: u64,
    /// The envelope (RLP bytes).
    pub envelope: Vec<u8>,
}

impl GossipEnvelope {
    /// Wraps a carried envelope.
    pub fn new(e: &CarriedEnvelope) -> Self {
        GossipEnvelope {
            version: WIRE_VERSION,
            topic: e.meta.topic,
            expiry_unix: e.meta.expiry_unix,
            envelope: e.envelope.clone(),
        }
    }

    /// Back to the transport's type.
    pub fn into_carried(self) -> CarriedEnvelope {
        CarriedEnvelope {
            meta: EnvelopeMeta {
                topic: self.topic,
                expiry_unix: self.expiry_unix,
            },
            envelope: self.envelope,
        }
    }
}

/// Position after the last envelope of a page: arrival time and store sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    /// Arrival time at the store of the last envelope returned, Unix seconds.
    pub received_unix: u64,
    /// Store sequence number of the last envelope returned.
    pub seq: u64,
}

/// A history request (one page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    /// [`WIRE_VERSION`].
    pub version: u8,
    /// Topics of interest (1 to `MAX_TOPICS`).
    pub topics: Vec<Topic>,
    /// Earliest arrival time at the store, inclusive, Unix seconds.
    pub since_unix: u64,
    /// Latest arrival time at the store, inclusive, Unix seconds.
    pub until_unix: u64,
    /// Continue after this position (from the previous page's `next`).
    pub after: Option<Cursor>,
    /// Most envelopes wanted in this page (the store caps it at [`MAX_PAGE_ENVELOPES`]).
    pub limit: u32,
}

/// One envelope of a history page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// Arrival time at the store, Unix seconds.
    pub received_unix: u64,
    /// The envelope's 4-byte topic.
    pub topic: Topic,
    /// The envelope's expiry, Unix seconds.
    pub expiry_unix: u64,
    /// The envelope (RLP bytes).
    pub envelope: Vec<u8>,
}

/// A store's answer to a [`HistoryRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryResponse {
    /// Envelopes in arrival order; `next` is set when more remain (ask again with
    /// `after = next`).
    Page {
        /// [`WIRE_VERSION`].
        version: u8,
        /// The envelopes.
        items: Vec<HistoryItem>,
        /// Where the next page starts, if there is one.
        next: Option<Cursor>,
    },
    /// The store refused or failed the request.
    Error {
        /// [`WIRE_VERSION`].
        version: u8,
        /// Human-readable reason.
        message: String,
    },
}

/// Why bytes could not be decoded as a protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a valid postcard encoding of the expected message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Bytes left after the message.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// Version byte other than [`WIRE_VERSION`].
    #[error("unsupported version {0}")]
    Version(u8),
}

/// Encodes a protocol message.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_allocvec(value)
}

/// Decodes a whole byte string as one protocol message (no trailing bytes).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::Trailing(rest.len()));
    }
    Ok(value)
}

/// Decodes a gossip message and checks its version.
pub fn decode_gossip(bytes: &[u8]) -> Result<GossipEnvelope, DecodeError> {
    let g: GossipEnvelope = decode(bytes)?;
    if g.version != WIRE_VERSION {
        return Err(DecodeError::Version(g.version));
    }
    Ok(g)
}

/// The request-response codec of [`HISTORY_PROTOCOL`]: one postcard message per stream
/// direction, the stream end marking the message end, with size limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryCodec;

async fn read_limited<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    io.take(limit).read_to_end(&mut buf).await?;
    if buf.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message larger than {max} bytes"),
        ));
    }
    Ok(buf)
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl libp2p::request_response::Codec for HistoryCodec {
    type Protocol = StreamProtocol;
    type Request = HistoryRequest;
    type Response = HistoryResponse;

    async fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<HistoryRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_limited(io, MAX_HISTORY_REQUEST).await?;
        decode(&bytes).map_err(invalid)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<HistoryResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_limited(io, MAX_HISTORY_RESPONSE).await?;
        decode(&bytes).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: HistoryRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode(&req).map_err(invalid)?;
        if bytes.len() > MAX_HISTORY_REQUEST {
            return Err(invalid("history request too large"));
        }
        io.write_all(&bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: HistoryResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode(&res).map_err(invalid)?;
        if bytes.len() > MAX_HISTORY_RESPONSE {
            return Err(invalid("history response too large"));
        }
        io.write_all(&bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gossip_envelope_layout() {
        // postcard: u8 as is, [u8;4] as 4 raw bytes, u64 as LEB128 varint, Vec<u8> as
        // varint length then bytes (postcard wire format specification).
        let g = GossipEnvelope {
            version: 1,
            topic: [0xf8, 0x94, 0x6a, 0xac],
            expiry_unix: 300,
            envelope: vec![0xc0, 0x01],
        };
        let bytes = encode(&g).unwrap();
        assert_eq!(
            bytes,
            [1, 0xf8, 0x94, 0x6a, 0xac, 0xac, 0x02, 2, 0xc0, 0x01]
        );
        assert_eq!(decode_gossip(&bytes).unwrap(), g);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(decode_gossip(&[]), Err(DecodeError::Malformed(_))));
        assert!(matches!(
            decode_gossip(&[1, 2, 3]),
            Err(DecodeError::Malformed(_))
        ));
        // Length prefix claiming far more bytes than present.
        assert!(matches!(
            decode_gossip(&[1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]),
            Err(DecodeError::Malformed(_))
        ));
        let mut ok = encode(&GossipEnvelope {
            version: 1,
            topic: [0; 4],
            expiry_unix: 0,
            envelope: vec![1],
        })
        .unwrap();
        ok.push(0);
        assert_eq!(decode_gossip(&ok), Err(DecodeError::Trailing(1)));
        ok.pop();
        ok[0] = 2;
        assert_eq!(decode_gossip(&ok), Err(DecodeError::Version(2)));
    }

    #[test]
    fn full_page_fits_the_response_limit() {
        let item = HistoryItem {
            received_unix: u64::MAX,
            topic: [0xff; 4],
            expiry_unix: u64::MAX,
            envelope: vec![0xff; MAX_ENVELOPE_SIZE],
        };
        // Worst case page: just under MAX_PAGE_BYTES of envelopes, then one maximal one.
        let page = HistoryResponse::Page {
            version: 1,
            items: vec![
                item.clone();
                MAX_PAGE_BYTES / (MAX_ENVELOPE_SIZE + PAGE_ITEM_OVERHEAD) + 1
            ],
            next: Some(Cursor {
                received_unix: u64::MAX,
                seq: u64::MAX,
            }),
        };
        assert!(encode(&page).unwrap().len() <= MAX_HISTORY_RESPONSE);
        let req = HistoryRequest {
            version: 1,
            topics: vec![[0xff; 4]; pfs_transport::transport::MAX_TOPICS],
            since_unix: u64::MAX,
            until_unix: u64::MAX,
            after: Some(Cursor {
                received_unix: u64::MAX,
                seq: u64::MAX,
            }),
            limit: u32::MAX,
        };
        assert!(encode(&req).unwrap().len() <= MAX_HISTORY_REQUEST);
    }
}
