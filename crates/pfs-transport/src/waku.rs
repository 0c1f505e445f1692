//! Waku v2 messages as the network carries them (14/WAKU2-MESSAGE, 23/WAKU2-TOPICS).
//!
//! * [`WakuMessage`]: the protobuf (from `pfs-wire`), with nanosecond `sint64` timestamps;
//! * [`message_hash`]: the deterministic message hash,
//!   `sha256(pubsub_topic ‖ payload ‖ content_topic ‖ meta ‖ timestamp_be8)`;
//! * [`content_topic`]: Status' content topic `/waku/1/0x<8 hex>/rfc26` for a 4-byte topic;
//! * [`validate`]: what a relay checks before it forwards or stores a message (non-empty
//!   payload and content topic, size, `meta` length, timestamp within 20 s of its clock).
//!
//! The encryption of the payload (26/WAKU2-PAYLOAD version 1) is in [`crate::payload`].

use pfs_wire::Message as _;
pub use pfs_wire::waku::WakuMessage;
use sha2::{Digest, Sha256};

use crate::topic::{ContentTopic, Topic};

/// Status' cluster id (`MainStatusShardCluster`).
pub const CLUSTER_ID: u32 = 16;

/// Status' default shard (`DefaultShardIndex`), where all 1:1 traffic goes.
pub const DEFAULT_SHARD: u32 = 32;

/// The shards a Status node serves by default: 32 (default) and 64 (non-protected).
pub const DEFAULT_SHARDS: [u32; 2] = [32, 64];

/// The default pubsub topic, `/waku/2/rs/16/32`.
pub const DEFAULT_PUBSUB_TOPIC: &str = "/waku/2/rs/16/32";

/// Largest `meta` field nwaku accepts (`MaxMetaAttrLength`).
pub const MAX_META_LEN: usize = 64;

/// Largest encoded WakuMessage the network relays by default (150 KiB: nwaku, go-waku,
/// 64/WAKU2-NETWORK).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 150 * 1024;

/// How far a message timestamp may be from the node's clock (nwaku
/// `MaxMessageTimestampVariance`, 20 s), in nanoseconds.
pub const MAX_TIMESTAMP_DRIFT_NS: i64 = 20_000_000_000;

/// WakuMessage `version` of 26/WAKU2-PAYLOAD (Whisper-style encryption).
pub const PAYLOAD_VERSION_1: u32 = 1;

/// The pubsub topic of a static shard: `/waku/2/rs/<cluster>/<shard>`.
///
/// ```
/// use pfs_transport::waku::{DEFAULT_PUBSUB_TOPIC, pubsub_topic};
///
/// assert_eq!(pubsub_topic(16, 32), "/waku/2/rs/16/32");
/// assert_eq!(pubsub_topic(16, 32), DEFAULT_PUBSUB_TOPIC);
/// ```
pub fn pubsub_topic(cluster: u32, shard: u32) -> String {
    format!("/waku/2/rs/{cluster}/{shard}")
}

/// Status' content topic for a 4-byte topic: `/waku/1/0x<8 lowercase hex>/rfc26`
/// (status-go `TopicType.ContentTopic()`).
///
/// # Examples
///
/// ```
/// use pfs_transport::Topic;
/// use pfs_transport::waku::{content_topic, parse_content_topic};
///
/// let topic = Topic([0xde, 0xad, 0x00, 0x0f]);
/// let ct = content_topic(&topic);
/// assert_eq!(ct, "/waku/1/0xdead000f/rfc26");
/// assert_eq!(parse_content_topic(ct.as_str()), Some(topic));
/// // Not a Status content topic: wrong suffix, too few hex digits.
/// assert_eq!(parse_content_topic("/waku/1/0xdead000f/proto"), None);
/// assert_eq!(parse_content_topic("/waku/1/0xdead00/rfc26"), None);
/// ```
pub fn content_topic(topic: &Topic) -> ContentTopic {
    ContentTopic::from_topic(topic)
}

/// The 4-byte topic inside a Status content topic, if `content_topic` is one.
///
/// ```
/// use pfs_transport::Topic;
/// use pfs_transport::waku::parse_content_topic;
///
/// assert_eq!(parse_content_topic("/waku/1/0x0102a0ff/rfc26"), Some(Topic([1, 2, 0xa0, 0xff])));
/// assert_eq!(parse_content_topic("/waku/1/0x0102a0fg/rfc26"), None); // not hex
/// assert_eq!(parse_content_topic("/waku/2/0x0102a0ff/rfc26"), None);
/// ```
pub fn parse_content_topic(content_topic: &str) -> Option<Topic> {
    let hex = content_topic
        .strip_prefix("/waku/1/0x")?
        .strip_suffix("/rfc26")?;
    if hex.len() != 8 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 4];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(Topic(out))
}

/// The deterministic message hash of 14/WAKU2-MESSAGE:
/// `sha256(pubsub_topic ‖ payload ‖ content_topic ‖ meta ‖ timestamp as 8 bytes big endian)`.
///
/// Computed from field values, never from the encoded bytes (js-waku writes default
/// values that nwaku omits). An absent timestamp counts as 0 and its 8 zero bytes are
/// hashed, as nwaku does (js-waku omits them; we always set a timestamp, so both agree
/// on what we send).
///
/// # Examples
///
/// The third test vector of 14/WAKU2-MESSAGE (no `meta`):
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_transport::waku::{WakuMessage, message_hash};
///
/// let msg = WakuMessage {
///     payload: hex::decode("010203045445535405060708")?,
///     content_topic: "/waku/2/default-content/proto".into(),
///     timestamp: Some(0x175789bfa23f8400),
///     ..WakuMessage::default()
/// };
/// assert_eq!(
///     hex::encode(message_hash("/waku/2/default-waku/proto", &msg)),
///     "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8"
/// );
/// # Ok(())
/// # }
/// ```
pub fn message_hash(pubsub_topic: &str, msg: &WakuMessage) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(pubsub_topic.as_bytes());
    h.update(&msg.payload);
    h.update(msg.content_topic.as_bytes());
    if let Some(meta) = &msg.meta {
        h.update(meta);
    }
    h.update(msg.timestamp.unwrap_or(0).to_be_bytes());
    h.finalize().into()
}

/// Why a WakuMessage is not relayed, stored or accepted.
///
/// ```
/// use pfs_transport::waku::{InvalidMessage, WakuMessage, decode_message, validate};
///
/// // 0x0a announces field 1 (payload) with 5 bytes, but only 1 follows
/// assert!(matches!(decode_message(&[0x0a, 5, 1], 100), Err(InvalidMessage::Decode(_))));
/// let no_topic = WakuMessage { payload: vec![1], ..WakuMessage::default() };
/// assert_eq!(validate(&no_topic, 3, 100, None), Err(InvalidMessage::EmptyContentTopic));
/// let no_time = WakuMessage { content_topic: "/a/1/b/proto".into(), ..no_topic };
/// assert_eq!(validate(&no_time, 3, 100, Some(0)), Err(InvalidMessage::NoTimestamp));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The bytes are not a WakuMessage protobuf.
    #[error("not a WakuMessage: {0}")]
    Decode(String),
    /// Empty payload (js-waku and nwaku drop these).
    #[error("empty payload")]
    EmptyPayload,
    /// Empty content topic.
    #[error("empty content topic")]
    EmptyContentTopic,
    /// The encoded message exceeds the size limit.
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// `meta` longer than [`MAX_META_LEN`].
    #[error("meta of {len} bytes exceeds {MAX_META_LEN} bytes")]
    MetaTooLong {
        /// Length of `meta`.
        len: usize,
    },
    /// No timestamp.
    #[error("no timestamp")]
    NoTimestamp,
    /// Timestamp more than [`MAX_TIMESTAMP_DRIFT_NS`] away from our clock.
    #[error("timestamp {timestamp_ns} ns is more than 20 s away from our clock ({now_ns} ns)")]
    TimestampSkew {
        /// The message's timestamp.
        timestamp_ns: i64,
        /// Our clock.
        now_ns: i64,
    },
}

/// Decodes a WakuMessage from untrusted bytes, refusing more than `max_size` bytes before
/// parsing.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_transport::waku::{InvalidMessage, WakuMessage, decode_message, encode_message};
///
/// let msg = WakuMessage {
///     payload: b"hi".to_vec(),
///     content_topic: "/app/1/chat/proto".into(),
///     ..WakuMessage::default()
/// };
/// let bytes = encode_message(&msg);
/// assert_eq!(decode_message(&bytes, 1024)?, msg);
/// // The size limit is checked before parsing.
/// assert!(matches!(
///     decode_message(&bytes, 3),
///     Err(InvalidMessage::TooLarge { max: 3, .. })
/// ));
/// # Ok(())
/// # }
/// ```
pub fn decode_message(bytes: &[u8], max_size: usize) -> Result<WakuMessage, InvalidMessage> {
    if bytes.len() > max_size {
        return Err(InvalidMessage::TooLarge {
            size: bytes.len(),
            max: max_size,
        });
    }
    WakuMessage::decode(bytes).map_err(|e| InvalidMessage::Decode(e.to_string()))
}

/// The checks of a relay (js-waku's validator, nwaku's decoder and archive):
/// non-empty payload and content topic, `encoded_len <= max_size`, `meta` of at most
/// [`MAX_META_LEN`] bytes and, when `now_ns` is given, a timestamp within
/// [`MAX_TIMESTAMP_DRIFT_NS`] of it.
///
/// # Examples
///
/// ```
/// use pfs_transport::waku::{InvalidMessage, MAX_TIMESTAMP_DRIFT_NS, WakuMessage, validate};
///
/// let now = 1_700_000_000_000_000_000i64;
/// let ok = WakuMessage {
///     payload: vec![1],
///     content_topic: "/app/1/chat/proto".into(),
///     timestamp: Some(now),
///     ..WakuMessage::default()
/// };
/// assert_eq!(validate(&ok, 10, 100, Some(now)), Ok(()));
/// let empty = WakuMessage { payload: vec![], ..ok.clone() };
/// assert_eq!(validate(&empty, 10, 100, None), Err(InvalidMessage::EmptyPayload));
/// let big_meta = WakuMessage { meta: Some(vec![0; 65]), ..ok.clone() };
/// assert_eq!(validate(&big_meta, 10, 100, None), Err(InvalidMessage::MetaTooLong { len: 65 }));
/// let late = WakuMessage { timestamp: Some(now + MAX_TIMESTAMP_DRIFT_NS + 1), ..ok };
/// assert!(matches!(
///     validate(&late, 10, 100, Some(now)),
///     Err(InvalidMessage::TimestampSkew { .. })
/// ));
/// ```
pub fn validate(
    msg: &WakuMessage,
    encoded_len: usize,
    max_size: usize,
    now_ns: Option<i64>,
) -> Result<(), InvalidMessage> {
    if encoded_len > max_size {
        return Err(InvalidMessage::TooLarge {
            size: encoded_len,
            max: max_size,
        });
    }
    if msg.payload.is_empty() {
        return Err(InvalidMessage::EmptyPayload);
    }
    if msg.content_topic.is_empty() {
        return Err(InvalidMessage::EmptyContentTopic);
    }
    if let Some(meta) = &msg.meta
        && meta.len() > MAX_META_LEN
    {
        return Err(InvalidMessage::MetaTooLong { len: meta.len() });
    }
    if let Some(now_ns) = now_ns {
        let ts = msg.timestamp.ok_or(InvalidMessage::NoTimestamp)?;
        if ts.abs_diff(now_ns) > MAX_TIMESTAMP_DRIFT_NS.unsigned_abs() {
            return Err(InvalidMessage::TimestampSkew {
                timestamp_ns: ts,
                now_ns,
            });
        }
    }
    Ok(())
}

/// The size of the message's encoding, computed without encoding it.
///
/// ```
/// use pfs_transport::waku::{WakuMessage, encode_message, encoded_len};
///
/// let msg = WakuMessage { payload: vec![1; 300], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() };
/// assert_eq!(encoded_len(&msg), encode_message(&msg).len());
/// ```
pub fn encoded_len(msg: &WakuMessage) -> usize {
    msg.encoded_len()
}

/// Encodes a message (for publishing; relayed messages are forwarded as received).
///
/// ```
/// use pfs_transport::waku::{WakuMessage, encode_message};
///
/// // 14/WAKU2-MESSAGE: payload is field 1, content_topic field 2 (length-delimited)
/// let msg = WakuMessage { payload: b"hi".to_vec(), content_topic: "x".into(), ..WakuMessage::default() };
/// assert_eq!(encode_message(&msg), [0x0a, 2, b'h', b'i', 0x12, 1, b'x']);
/// ```
pub fn encode_message(msg: &WakuMessage) -> Vec<u8> {
    msg.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn spec_message(meta: Option<Vec<u8>>) -> WakuMessage {
        WakuMessage {
            payload: unhex("010203045445535405060708"),
            content_topic: "/waku/2/default-content/proto".into(),
            meta,
            timestamp: Some(0x175789bfa23f8400),
            ..WakuMessage::default()
        }
    }

    /// The four deterministic-hash test vectors of 14/WAKU2-MESSAGE (vacp2p rfc-index
    /// `docs/messaging/standards/core/14/message.md`, "Test vectors").
    #[test]
    fn spec_hash_vectors() {
        let topic = "/waku/2/default-waku/proto";
        let cases: [(&str, Option<&str>, &str); 4] = [
            (
                "010203045445535405060708",
                Some("73757065722d736563726574"),
                "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05",
            ),
            (
                "010203045445535405060708",
                Some(
                    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
                ),
                "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27",
            ),
            (
                "010203045445535405060708",
                None,
                "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8",
            ),
            (
                "",
                Some("73757065722d736563726574"),
                "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4",
            ),
        ];
        for (payload, meta, want) in cases {
            let mut m = spec_message(meta.map(unhex));
            m.payload = unhex(payload);
            assert_eq!(
                hex::encode(message_hash(topic, &m)),
                want,
                "{payload} {meta:?}"
            );
        }
    }

    #[test]
    fn content_topics_round_trip() {
        let t = Topic([0xde, 0xad, 0x00, 0x0f]);
        assert_eq!(content_topic(&t), "/waku/1/0xdead000f/rfc26");
        assert_eq!(parse_content_topic("/waku/1/0xdead000f/rfc26"), Some(t));
        for bad in [
            "/waku/1/0xdead00/rfc26",
            "/waku/1/dead000f/rfc26",
            "/waku/1/0xdead000g/rfc26",
            "/waku/1/0xdead000f/proto",
            "",
        ] {
            assert_eq!(parse_content_topic(bad), None, "{bad}");
        }
        assert_eq!(pubsub_topic(16, 32), DEFAULT_PUBSUB_TOPIC);
    }

    #[test]
    fn validation_rules() {
        let now = 1_700_000_000_000_000_000i64;
        let ok = WakuMessage {
            payload: vec![1],
            content_topic: "/a/1/b/proto".into(),
            timestamp: Some(now),
            ..WakuMessage::default()
        };
        assert_eq!(validate(&ok, 10, 100, Some(now)), Ok(()));
        assert_eq!(
            validate(&ok, 101, 100, Some(now)),
            Err(InvalidMessage::TooLarge {
                size: 101,
                max: 100
            })
        );
        let mut m = ok.clone();
        m.payload.clear();
        assert_eq!(
            validate(&m, 10, 100, None),
            Err(InvalidMessage::EmptyPayload)
        );
        let mut m = ok.clone();
        m.content_topic.clear();
        assert_eq!(
            validate(&m, 10, 100, None),
            Err(InvalidMessage::EmptyContentTopic)
        );
        let mut m = ok.clone();
        m.meta = Some(vec![0; 65]);
        assert_eq!(
            validate(&m, 10, 100, None),
            Err(InvalidMessage::MetaTooLong { len: 65 })
        );
        m.meta = Some(vec![0; 64]);
        assert_eq!(validate(&m, 10, 100, None), Ok(()));
        let mut m = ok.clone();
        m.timestamp = Some(now + MAX_TIMESTAMP_DRIFT_NS);
        assert_eq!(validate(&m, 10, 100, Some(now)), Ok(()));
        m.timestamp = Some(now - MAX_TIMESTAMP_DRIFT_NS - 1);
        assert!(matches!(
            validate(&m, 10, 100, Some(now)),
            Err(InvalidMessage::TimestampSkew { .. })
        ));
        m.timestamp = None;
        assert_eq!(
            validate(&m, 10, 100, Some(now)),
            Err(InvalidMessage::NoTimestamp)
        );
        assert_eq!(validate(&m, 10, 100, None), Ok(()));
    }

    #[test]
    fn decode_refuses_oversize_and_garbage() {
        assert!(matches!(
            decode_message(&[0; 11], 10),
            Err(InvalidMessage::TooLarge { size: 11, max: 10 })
        ));
        assert!(matches!(
            decode_message(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], 100),
            Err(InvalidMessage::Decode(_))
        ));
        let m = spec_message(None);
        assert_eq!(encoded_len(&m), encode_message(&m).len());
        assert_eq!(decode_message(&encode_message(&m), 1000), Ok(m));
    }
}
