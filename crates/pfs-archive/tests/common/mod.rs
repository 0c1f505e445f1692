//! Helpers shared by the integration tests.
#![allow(dead_code)]

use pfs_archive::{Archive, StoreQueryRequest, StoreQueryResponse, WakuMessage};

/// Status' default pubsub topic.
pub const PT: &str = "/waku/2/rs/16/32";
/// Another pubsub topic.
pub const PT2: &str = "/waku/2/rs/16/64";
/// Content topics.
pub const CT_A: &str = "/waku/1/0x0000000a/rfc26";
pub const CT_B: &str = "/waku/1/0x0000000b/rfc26";
pub const CT_C: &str = "/waku/1/0x0000000c/rfc26";
/// 2023-11-14T22:13:20Z in ns.
pub const T0: i64 = 1_700_000_000_000_000_000;
/// One second in ns.
pub const SEC: i64 = 1_000_000_000;

pub fn msg(content_topic: &str, timestamp: i64, payload: &[u8]) -> WakuMessage {
    WakuMessage {
        payload: payload.to_vec(),
        content_topic: content_topic.into(),
        timestamp: Some(timestamp),
        ..WakuMessage::default()
    }
}

pub fn hash(pubsub_topic: &str, m: &WakuMessage) -> [u8; 32] {
    pfs_transport::waku::message_hash(pubsub_topic, m)
}

/// What js-waku sends: both topics, include_data, forward, no limit.
pub fn topic_query(pubsub_topic: &str, content_topics: &[&str]) -> StoreQueryRequest {
    StoreQueryRequest {
        request_id: "req".into(),
        include_data: true,
        pubsub_topic: Some(pubsub_topic.into()),
        content_topics: content_topics.iter().map(|s| s.to_string()).collect(),
        pagination_forward: true,
        ..StoreQueryRequest::default()
    }
}

pub fn hashes_of(response: &StoreQueryResponse) -> Vec<[u8; 32]> {
    response
        .messages
        .iter()
        .map(|e| {
            e.message_hash
                .as_deref()
                .expect("message_hash on every entry")
                .try_into()
                .expect("32-byte hash")
        })
        .collect()
}

/// One page as the js client saw it.
#[derive(Debug)]
pub struct SeenPage {
    pub hashes: Vec<[u8; 32]>,
    pub cursor: Option<Vec<u8>>,
}

/// js-waku 0.0.36's pagination loop: it ignores the response cursor, continues from
/// `messages[last]` (forward) or `messages[0]` (backward), throws on a status other than
/// 200 (status_code absent included), and stops at the first empty page.
pub fn js_client_loop(archive: &Archive, base: &StoreQueryRequest) -> Vec<SeenPage> {
    let mut pages = Vec::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        assert!(pages.len() < 1000, "pagination does not end");
        let mut request = base.clone();
        request.pagination_cursor = cursor.clone();
        let response = archive.query(&request);
        assert_eq!(response.request_id, base.request_id);
        assert_eq!(
            response.status_code,
            Some(200),
            "{:?}",
            response.status_desc
        );
        let hashes = hashes_of(&response);
        let empty = hashes.is_empty();
        if !empty {
            let next = if base.pagination_forward {
                response.messages.last()
            } else {
                response.messages.first()
            };
            cursor = next.and_then(|e| e.message_hash.clone());
        }
        pages.push(SeenPage {
            hashes,
            cursor: response.pagination_cursor,
        });
        if empty {
            return pages;
        }
    }
}

/// go-waku/status-go's loop: follows the response cursor until it is absent.
pub fn cursor_loop(archive: &Archive, base: &StoreQueryRequest) -> Vec<Vec<[u8; 32]>> {
    let mut pages = Vec::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        assert!(pages.len() < 1000, "pagination does not end");
        let mut request = base.clone();
        request.pagination_cursor = cursor;
        let response = archive.query(&request);
        assert_eq!(response.status_code, Some(200));
        pages.push(hashes_of(&response));
        match response.pagination_cursor {
            Some(c) => cursor = Some(c),
            None => return pages,
        }
    }
}
