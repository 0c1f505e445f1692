//! Store v3 query semantics and archiving rules, with independently known expectations
//! (hand-computed pages and orders, the 14/WAKU2-MESSAGE hash vector).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::HashMap;

use common::*;
use pfs_archive::{
    Archive, ArchiveConfig, ArchiveError, MAX_CONTENT_TOPICS, MAX_MESSAGE_HASHES,
    StoreQueryRequest, WakuMessage,
};

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn archive() -> Archive {
    Archive::open_in_memory(ArchiveConfig::default()).unwrap()
}

/// The 14/WAKU2-MESSAGE test vector message (with or without meta).
fn spec_message(meta: bool) -> WakuMessage {
    WakuMessage {
        payload: unhex("010203045445535405060708"),
        content_topic: "/waku/2/default-content/proto".into(),
        meta: meta.then(|| unhex("73757065722d736563726574")),
        timestamp: Some(0x175789bfa23f8400),
        ..WakuMessage::default()
    }
}
const SPEC_PT: &str = "/waku/2/default-waku/proto";
const SPEC_HASH: &str = "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05";

#[test]
fn spec_hash_vector_is_stored_and_found_by_hash() {
    let mut a = archive();
    let m = spec_message(true);
    assert!(a.insert(SPEC_PT, &m, 0x175789bfa23f8400).unwrap());
    for include_data in [true, false] {
        let r = a.query(&StoreQueryRequest {
            request_id: "vector".into(),
            include_data,
            message_hashes: vec![unhex(SPEC_HASH)],
            ..StoreQueryRequest::default()
        });
        assert_eq!(r.status_code, Some(200));
        assert_eq!(r.request_id, "vector");
        assert_eq!(r.messages.len(), 1);
        let e = &r.messages[0];
        assert_eq!(hex::encode(e.message_hash.as_ref().unwrap()), SPEC_HASH);
        if include_data {
            assert_eq!(e.message.as_ref(), Some(&m));
            assert_eq!(e.pubsub_topic.as_deref(), Some(SPEC_PT));
        } else {
            assert_eq!(e.message, None);
            assert_eq!(e.pubsub_topic, None);
        }
        assert_eq!(r.pagination_cursor, None);
    }
}

/// Same timestamp: order by hash. The spec vectors' hashes are 0x64cc… (with meta) and
/// 0xa255…0fd8 (without), so the one with meta comes first, both directions.
#[test]
fn timestamp_ties_are_ordered_by_hash() {
    let mut a = archive();
    let ts = 0x175789bfa23f8400;
    // Inserted in the opposite order.
    assert!(a.insert(SPEC_PT, &spec_message(false), ts).unwrap());
    assert!(a.insert(SPEC_PT, &spec_message(true), ts).unwrap());
    for forward in [true, false] {
        let mut q = topic_query(SPEC_PT, &["/waku/2/default-content/proto"]);
        q.pagination_forward = forward;
        let got: Vec<String> = hashes_of(&a.query(&q)).iter().map(hex::encode).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], SPEC_HASH);
        assert!(
            got[1].starts_with("a2554498") && got[1].ends_with("0fd8"),
            "{got:?}"
        );
    }
}

/// 45 messages, three per timestamp, expected order `(timestamp, hash)` computed here.
fn forty_five(a: &mut Archive) -> Vec<[u8; 32]> {
    let mut expected = Vec::new();
    let mut batch = Vec::new();
    for i in 0..45u8 {
        let m = msg(CT_A, T0 + i64::from(i / 3) * 1000, &[i]);
        expected.push((m.timestamp.unwrap(), hash(PT, &m)));
        batch.push((PT.to_string(), m));
    }
    // Insert newest first, so that insertion order says nothing.
    batch.reverse();
    assert_eq!(a.insert_batch(&batch, T0).unwrap(), 45);
    expected.sort();
    expected.into_iter().map(|(_, h)| h).collect()
}

#[test]
fn forward_pagination_as_the_js_client_does_it() {
    let mut a = archive();
    let h = forty_five(&mut a);
    let mut q = topic_query(PT, &[CT_A]);
    q.pagination_limit = Some(20);
    let pages = js_client_loop(&a, &q);
    assert_eq!(pages.len(), 4);
    assert_eq!(pages[0].hashes, h[0..20]);
    assert_eq!(pages[1].hashes, h[20..40]);
    assert_eq!(pages[2].hashes, h[40..45]);
    assert!(pages[3].hashes.is_empty());
    assert_eq!(pages[0].cursor.as_deref(), Some(&h[19][..]));
    assert_eq!(pages[1].cursor.as_deref(), Some(&h[39][..]));
    assert_eq!(pages[2].cursor, None);
    assert_eq!(pages[3].cursor, None);
    // A client that follows the response cursor sees the same pages, without the empty one.
    let via_cursor = cursor_loop(&a, &q);
    assert_eq!(via_cursor, [&h[0..20], &h[20..40], &h[40..45]]);
}

#[test]
fn backward_pagination_as_the_js_client_does_it() {
    let mut a = archive();
    let h = forty_five(&mut a);
    let mut q = topic_query(PT, &[CT_A]);
    q.pagination_limit = Some(20);
    q.pagination_forward = false;
    let pages = js_client_loop(&a, &q);
    assert_eq!(pages.len(), 4);
    // Newest first page by page, each page in ascending order.
    assert_eq!(pages[0].hashes, h[25..45]);
    assert_eq!(pages[1].hashes, h[5..25]);
    assert_eq!(pages[2].hashes, h[0..5]);
    assert!(pages[3].hashes.is_empty());
    // The cursor is the last entry in query order: the oldest of the page.
    assert_eq!(pages[0].cursor.as_deref(), Some(&h[25][..]));
    assert_eq!(pages[1].cursor.as_deref(), Some(&h[5][..]));
    assert_eq!(pages[2].cursor, None);
    let via_cursor = cursor_loop(&a, &q);
    assert_eq!(via_cursor, [&h[25..45], &h[5..25], &h[0..5]]);
}

/// 40 messages, limit 20: the second page is full but nothing follows, so no cursor;
/// the js client asks once more and gets an empty page with 200.
#[test]
fn exact_multiple_of_the_page_ends_with_an_empty_page() {
    let mut a = archive();
    let mut h = Vec::new();
    for i in 0..40u8 {
        let m = msg(CT_A, T0 + i64::from(i), &[i]);
        h.push(hash(PT, &m));
        assert!(a.insert(PT, &m, T0).unwrap());
    }
    for forward in [true, false] {
        let mut q = topic_query(PT, &[CT_A]);
        q.pagination_forward = forward;
        let pages = js_client_loop(&a, &q); // no limit: the default 20
        assert_eq!(pages.len(), 3, "forward={forward}");
        let (first, second) = if forward {
            (&h[0..20], &h[20..40])
        } else {
            (&h[20..40], &h[0..20])
        };
        assert_eq!(pages[0].hashes, first);
        assert_eq!(pages[1].hashes, second);
        assert!(pages[2].hashes.is_empty());
        assert!(pages[0].cursor.is_some());
        assert_eq!(pages[1].cursor, None);
    }
}

#[test]
fn every_message_exactly_once_for_all_page_sizes() {
    let mut a = archive();
    let h = forty_five(&mut a);
    for limit in [1u64, 2, 3, 7, 15, 44, 45, 46, 100] {
        for forward in [true, false] {
            let mut q = topic_query(PT, &[CT_A]);
            q.pagination_limit = Some(limit);
            q.pagination_forward = forward;
            let pages = js_client_loop(&a, &q);
            let mut pages: Vec<Vec<[u8; 32]>> = pages.into_iter().map(|p| p.hashes).collect();
            assert!(pages.pop().unwrap().is_empty());
            assert_eq!(pages.len(), 45usize.div_ceil(limit as usize));
            if !forward {
                pages.reverse();
            }
            assert_eq!(pages.concat(), h, "limit {limit} forward {forward}");
        }
    }
}

#[test]
fn time_range_is_inclusive_at_both_ends() {
    let mut a = archive();
    let mut h = Vec::new();
    for k in 0..10i64 {
        let m = msg(CT_A, T0 + k * 1000, &[k as u8]);
        h.push(hash(PT, &m));
        assert!(a.insert(PT, &m, T0).unwrap());
    }
    let range = |start: Option<i64>, end: Option<i64>, forward: bool| {
        let mut q = topic_query(PT, &[CT_A]);
        q.time_start = start;
        q.time_end = end;
        q.pagination_forward = forward;
        let r = a.query(&q);
        assert_eq!(r.status_code, Some(200));
        hashes_of(&r)
    };
    for forward in [true, false] {
        assert_eq!(range(Some(T0 + 2000), Some(T0 + 5000), forward), h[2..=5]);
        assert_eq!(range(Some(T0 + 1999), Some(T0 + 5001), forward), h[2..=5]);
        assert_eq!(range(Some(T0 + 2001), Some(T0 + 4999), forward), h[3..=4]);
        assert_eq!(range(Some(T0 + 7000), None, forward), h[7..]);
        assert_eq!(range(None, Some(T0 + 2000), forward), h[..=2]);
        assert_eq!(range(Some(T0 + 3000), Some(T0 + 3000), forward), h[3..=3]);
        assert!(range(Some(T0 + 5000), Some(T0 + 2000), forward).is_empty());
        assert!(range(Some(i64::MAX), None, forward).is_empty());
        assert_eq!(range(Some(i64::MIN), Some(i64::MAX), forward), h);
    }
    // Time range only, no content filter.
    let r = a.query(&StoreQueryRequest {
        time_start: Some(T0 + 8000),
        pagination_forward: true,
        ..StoreQueryRequest::default()
    });
    assert_eq!(r.status_code, Some(200));
    assert_eq!(hashes_of(&r), h[8..]);
    // A cursor inside a time range continues inside it.
    let mut q = topic_query(PT, &[CT_A]);
    q.time_start = Some(T0 + 2000);
    q.time_end = Some(T0 + 8000);
    q.pagination_limit = Some(3);
    let pages: Vec<_> = js_client_loop(&a, &q)
        .into_iter()
        .map(|p| p.hashes)
        .collect();
    assert_eq!(pages, [&h[2..5], &h[5..8], &h[8..9], &[][..]]);
    q.pagination_forward = false;
    let pages: Vec<_> = js_client_loop(&a, &q)
        .into_iter()
        .map(|p| p.hashes)
        .collect();
    assert_eq!(pages, [&h[6..9], &h[3..6], &h[2..3], &[][..]]);
}

#[test]
fn content_and_pubsub_topic_filters() {
    let mut a = archive();
    // Timestamps T0 + k·1 ms, k = 0..12, topics cycling A, B, C on PT; k = 12.. on PT2.
    let mut by: HashMap<(&str, &str), Vec<[u8; 32]>> = HashMap::new();
    let mut all_pt = Vec::new();
    let mut everything = Vec::new();
    for k in 0..16i64 {
        let ct = [CT_A, CT_B, CT_C][k as usize % 3];
        let pt = if k < 12 { PT } else { PT2 };
        let m = msg(ct, T0 + k * 1_000_000, &[k as u8]);
        let h = hash(pt, &m);
        assert!(a.insert(pt, &m, T0).unwrap());
        by.entry((pt, ct)).or_default().push(h);
        if pt == PT {
            all_pt.push(h);
        }
        everything.push(h);
    }
    let q = |pt: &str, cts: &[&str]| {
        let r = a.query(&topic_query(pt, cts));
        assert_eq!(r.status_code, Some(200));
        hashes_of(&r)
    };
    assert_eq!(q(PT, &[CT_A]), by[&(PT, CT_A)]);
    assert_eq!(by[&(PT, CT_A)].len(), 4);
    assert_eq!(q(PT2, &[CT_A]), by[&(PT2, CT_A)]);
    assert_eq!(by[&(PT2, CT_A)].len(), 2); // k = 12, 15
    assert!(q(PT, &["/waku/1/0xffffffff/rfc26"]).is_empty());
    assert!(q("/waku/2/rs/16/1", &[CT_A]).is_empty());
    // Two content topics merge in time order: k = 0, 1, 3, 4, 6, 7, 9, 10.
    let ab: Vec<_> = [0usize, 1, 3, 4, 6, 7, 9, 10]
        .iter()
        .map(|&k| all_pt[k])
        .collect();
    assert_eq!(q(PT, &[CT_A, CT_B]), ab);
    assert_eq!(q(PT, &[CT_B, CT_A, CT_B, CT_A]), ab); // duplicates change nothing
    // Merged pages across topics, backward, limit 3: [7, 9, 10], [1, 3, 4], [0].
    let mut mq = topic_query(PT, &[CT_A, CT_B]);
    mq.pagination_forward = false;
    mq.pagination_limit = Some(3);
    let pages: Vec<_> = js_client_loop(&a, &mq)
        .into_iter()
        .map(|p| p.hashes)
        .collect();
    assert_eq!(pages, [&ab[5..8], &ab[2..5], &ab[0..2], &[][..]]);
    // The pubsub topic alone selects it.
    let r = a.query(&StoreQueryRequest {
        pubsub_topic: Some(PT.into()),
        pagination_forward: true,
        ..StoreQueryRequest::default()
    });
    assert_eq!(r.status_code, Some(200));
    assert_eq!(hashes_of(&r), all_pt);
    // No filter at all: everything, the last 16 going backward (the spec's default).
    let r = a.query(&StoreQueryRequest::default());
    assert_eq!(r.status_code, Some(200));
    assert_eq!(hashes_of(&r), everything);
    assert!(r.messages.iter().all(|e| e.message.is_none()));
}

#[test]
fn include_data_false_gives_hashes_only() {
    let mut a = archive();
    let m1 = msg(CT_A, T0, b"one");
    let m2 = msg(CT_A, T0 + 1, b"two");
    a.insert(PT, &m1, T0).unwrap();
    a.insert(PT, &m2, T0).unwrap();
    let mut q = topic_query(PT, &[CT_A]);
    q.include_data = false;
    let r = a.query(&q);
    assert_eq!(r.status_code, Some(200));
    assert_eq!(hashes_of(&r), [hash(PT, &m1), hash(PT, &m2)]);
    for e in &r.messages {
        assert_eq!(e.message, None);
        assert_eq!(e.pubsub_topic, None);
    }
    q.include_data = true;
    let r = a.query(&q);
    let got: Vec<_> = r
        .messages
        .iter()
        .map(|e| (e.message.clone().unwrap(), e.pubsub_topic.clone().unwrap()))
        .collect();
    assert_eq!(got, [(m1, PT.to_string()), (m2, PT.to_string())]);
}

#[test]
fn message_hash_lookups() {
    let mut a = archive();
    let ms: Vec<_> = (0..5i64)
        .map(|k| msg(CT_A, T0 + (4 - k) * 10, &[k as u8]))
        .collect();
    for m in &ms {
        assert!(a.insert(PT, m, T0).unwrap());
    }
    // Ask for 3 stored (out of order) and one unknown: the stored ones come back in
    // time order (ms[4] is the oldest).
    let unknown = [7u8; 32];
    let mut q = StoreQueryRequest {
        request_id: "lookup".into(),
        include_data: false,
        message_hashes: vec![
            hash(PT, &ms[1]).to_vec(),
            unknown.to_vec(),
            hash(PT, &ms[4]).to_vec(),
            hash(PT, &ms[2]).to_vec(),
            hash(PT, &ms[4]).to_vec(),
        ],
        pagination_forward: true,
        ..StoreQueryRequest::default()
    };
    let r = a.query(&q);
    assert_eq!(r.status_code, Some(200));
    let expected = [hash(PT, &ms[4]), hash(PT, &ms[2]), hash(PT, &ms[1])];
    assert_eq!(hashes_of(&r), expected);
    // Backward (the default direction) and paginated: [2, 1] then [4].
    q.pagination_forward = false;
    q.pagination_limit = Some(2);
    q.include_data = true;
    let pages: Vec<_> = js_client_loop(&a, &q)
        .into_iter()
        .map(|p| p.hashes)
        .collect();
    assert_eq!(pages, [&expected[1..3], &expected[0..1], &[][..]]);
    let r = a.query(&q);
    assert_eq!(r.messages[0].message.as_ref(), Some(&ms[2]));
    assert_eq!(r.messages[1].message.as_ref(), Some(&ms[1]));
}

#[test]
fn ephemeral_duplicate_and_invalid_messages_are_not_stored() {
    let mut a = archive();
    let now = T0;
    let ok = msg(CT_A, now, b"x");
    let mut eph = ok.clone();
    eph.ephemeral = Some(true);
    eph.payload = b"ephemeral".to_vec();
    assert!(!a.insert(PT, &eph, now).unwrap());
    let mut not_eph = eph.clone();
    not_eph.ephemeral = Some(false);
    assert!(a.insert(PT, &not_eph, now).unwrap());
    assert!(a.insert(PT, &ok, now).unwrap());
    assert!(!a.insert(PT, &ok, now + SEC).unwrap(), "duplicate");
    // Same message on another pubsub topic is another hash.
    assert!(a.insert(PT2, &ok, now).unwrap());
    assert_eq!(a.len().unwrap(), 3);

    let refused = |f: &dyn Fn(&mut WakuMessage)| {
        let mut m = msg(CT_B, now, b"refused?");
        f(&mut m);
        m
    };
    let mut a2 = archive();
    assert!(
        !a2.insert(PT, &refused(&|m| m.payload.clear()), now)
            .unwrap()
    );
    assert!(
        !a2.insert(PT, &refused(&|m| m.content_topic.clear()), now)
            .unwrap()
    );
    assert!(
        !a2.insert(PT, &refused(&|m| m.meta = Some(vec![1; 65])), now)
            .unwrap()
    );
    assert!(
        !a2.insert(
            PT,
            &refused(&|m| m.timestamp = Some(now + 20 * SEC + 1)),
            now
        )
        .unwrap()
    );
    assert!(
        !a2.insert(
            PT,
            &refused(&|m| m.timestamp = Some(now - 20 * SEC - 1)),
            now
        )
        .unwrap()
    );
    assert!(a2.is_empty().unwrap());
    // The boundaries are accepted.
    assert!(
        a2.insert(PT, &refused(&|m| m.meta = Some(vec![1; 64])), now)
            .unwrap()
    );
    assert!(
        a2.insert(PT, &refused(&|m| m.timestamp = Some(now + 20 * SEC)), now)
            .unwrap()
    );
    assert!(
        a2.insert(PT, &refused(&|m| m.timestamp = Some(now - 20 * SEC)), now)
            .unwrap()
    );
    assert_eq!(a2.len().unwrap(), 3);
    // A batch applies the same rules: 2 of 5 stored (one refused, one ephemeral, one
    // duplicate within the batch).
    let mut a3 = archive();
    let batch = vec![
        (PT.to_string(), msg(CT_A, now, b"1")),
        (PT.to_string(), refused(&|m| m.payload.clear())),
        (PT.to_string(), eph.clone()),
        (PT.to_string(), msg(CT_A, now, b"1")),
        (PT.to_string(), msg(CT_A, now, b"2")),
    ];
    assert_eq!(a3.insert_batch(&batch, now).unwrap(), 2);
    assert_eq!(a3.len().unwrap(), 2);
}

#[test]
fn missing_timestamp_gets_the_receive_time() {
    let mut a = archive();
    let received = T0 + 5 * SEC;
    for (i, ts) in [None, Some(0)].into_iter().enumerate() {
        let m = WakuMessage {
            payload: vec![i as u8 + 1],
            content_topic: CT_A.into(),
            timestamp: ts,
            ..WakuMessage::default()
        };
        assert!(a.insert(PT, &m, received).unwrap());
        let mut stored = m.clone();
        stored.timestamp = Some(received);
        let h = hash(PT, &stored);
        assert_ne!(h, hash(PT, &m));
        let r = a.query(&StoreQueryRequest {
            include_data: true,
            message_hashes: vec![h.to_vec()],
            ..StoreQueryRequest::default()
        });
        assert_eq!(hashes_of(&r), [h]);
        assert_eq!(r.messages[0].message.as_ref(), Some(&stored));
    }
    // And they are found by time.
    let mut q = topic_query(PT, &[CT_A]);
    q.time_start = Some(received);
    q.time_end = Some(received);
    assert_eq!(a.query(&q).messages.len(), 2);
}

#[test]
fn bad_requests_get_400_and_never_a_page() {
    let mut a = archive();
    // CT_A at T0 + 2k ns, k = 0..150.
    for k in 0..150i64 {
        a.insert(PT, &msg(CT_A, T0 + 2 * k, &[k as u8]), T0)
            .unwrap();
    }
    let stored = hash(PT, &msg(CT_A, T0, &[0]));
    let expect_400 = |q: StoreQueryRequest, desc: &str| {
        let r = a.query(&q);
        assert_eq!(r.status_code, Some(400), "{q:?}");
        assert_eq!(r.request_id, q.request_id);
        assert!(r.messages.is_empty());
        assert_eq!(r.pagination_cursor, None);
        let got = r.status_desc.unwrap();
        assert!(got.contains(desc), "{got:?} should mention {desc:?}");
    };
    let base = topic_query(PT, &[CT_A]);
    expect_400(
        StoreQueryRequest {
            request_id: "no-pubsub".into(),
            content_topics: vec![CT_A.into()],
            ..StoreQueryRequest::default()
        },
        "without pubsub_topic",
    );
    expect_400(
        StoreQueryRequest {
            pagination_cursor: Some(vec![0x55; 32]),
            ..base.clone()
        },
        "cursor not found",
    );
    expect_400(
        StoreQueryRequest {
            pagination_cursor: Some(stored[..31].to_vec()),
            ..base.clone()
        },
        "cursor of 31 bytes",
    );
    expect_400(
        StoreQueryRequest {
            pagination_cursor: Some(vec![0; 32]),
            ..base.clone()
        },
        "all-zero cursor",
    );
    expect_400(
        StoreQueryRequest {
            message_hashes: vec![stored.to_vec()],
            ..base.clone()
        },
        "cannot be combined",
    );
    expect_400(
        StoreQueryRequest {
            message_hashes: vec![stored.to_vec()],
            time_end: Some(T0),
            ..StoreQueryRequest::default()
        },
        "cannot be combined",
    );
    expect_400(
        StoreQueryRequest {
            message_hashes: vec![vec![1; 33]],
            ..StoreQueryRequest::default()
        },
        "message hash of 33 bytes",
    );
    expect_400(
        StoreQueryRequest {
            content_topics: (0..=MAX_CONTENT_TOPICS)
                .map(|i| format!("/t/{i}"))
                .collect(),
            ..base.clone()
        },
        "too many content topics",
    );
    expect_400(
        StoreQueryRequest {
            message_hashes: (0..=MAX_MESSAGE_HASHES).map(|_| vec![1; 32]).collect(),
            ..StoreQueryRequest::default()
        },
        "too many message hashes",
    );

    // An absurd limit is capped at 100, not refused; 0 means the default 20.
    let r = a.query(&StoreQueryRequest {
        pagination_limit: Some(u64::MAX),
        ..base.clone()
    });
    assert_eq!(r.status_code, Some(200));
    assert_eq!(r.messages.len(), 100);
    assert!(r.pagination_cursor.is_some());
    let r = a.query(&StoreQueryRequest {
        pagination_limit: Some(0),
        ..base.clone()
    });
    assert_eq!(r.messages.len(), 20);
    // A cursor of another topic is a valid position: after T0 + 21 come k = 11.. of CT_A.
    let other = msg(CT_B, T0 + 21, b"other");
    a.insert(PT, &other, T0).unwrap();
    let r = a.query(&StoreQueryRequest {
        pagination_cursor: Some(hash(PT, &other).to_vec()),
        pagination_limit: Some(3),
        ..base.clone()
    });
    let expected: Vec<_> = (11..14i64)
        .map(|k| hash(PT, &msg(CT_A, T0 + 2 * k, &[k as u8])))
        .collect();
    assert_eq!(hashes_of(&r), expected);
}

#[test]
fn config_page_sizes_apply() {
    let mut a = Archive::open_in_memory(ArchiveConfig {
        max_page: 7,
        default_page: 3,
        ..ArchiveConfig::default()
    })
    .unwrap();
    for k in 0..10i64 {
        a.insert(PT, &msg(CT_A, T0 + k, &[k as u8]), T0).unwrap();
    }
    let mut q = topic_query(PT, &[CT_A]);
    assert_eq!(a.query(&q).messages.len(), 3);
    q.pagination_limit = Some(50);
    assert_eq!(a.query(&q).messages.len(), 7);
    q.pagination_limit = Some(5);
    assert_eq!(a.query(&q).messages.len(), 5);
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Random requests: always a status code, 200 or 400, and every 200 page is sorted
/// ascending, within the limit, and within the requested time range and topics.
#[test]
fn random_requests_never_panic_and_pages_stay_consistent() {
    let mut a = archive();
    let topics = [CT_A, CT_B, CT_C];
    let mut info: HashMap<[u8; 32], (i64, &str, &str)> = HashMap::new();
    let mut hashes = Vec::new();
    for k in 0..60i64 {
        let pt = [PT, PT2][(k % 2) as usize];
        let ct = topics[(k % 3) as usize];
        let m = msg(ct, T0 + (k / 4) * 100, &[k as u8]);
        let h = hash(pt, &m);
        a.insert(pt, &m, T0).unwrap();
        info.insert(h, (m.timestamp.unwrap(), pt, ct));
        hashes.push(h);
    }
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut statuses = HashMap::new();
    for _ in 0..3000 {
        let mut pick = |n: u64| xorshift(&mut s) % n;
        let mut q = StoreQueryRequest {
            request_id: format!("{}", pick(1000)),
            include_data: pick(2) == 0,
            pagination_forward: pick(2) == 0,
            ..StoreQueryRequest::default()
        };
        if pick(3) > 0 {
            q.pubsub_topic = Some([PT, PT2, "", "/x"][pick(4) as usize].into());
        }
        for _ in 0..pick(4) {
            q.content_topics.push(topics[pick(3) as usize].into());
        }
        if pick(3) == 0 {
            q.time_start = Some(match pick(4) {
                0 => i64::MIN,
                1 => i64::MAX,
                _ => T0 + pick(1600) as i64,
            });
        }
        if pick(3) == 0 {
            q.time_end = Some(match pick(4) {
                0 => i64::MIN,
                1 => i64::MAX,
                _ => T0 + pick(1600) as i64,
            });
        }
        if pick(6) == 0 {
            for _ in 0..pick(4) {
                q.message_hashes.push(match pick(4) {
                    0 => vec![pick(256) as u8; pick(40) as usize],
                    _ => hashes[pick(60) as usize].to_vec(),
                });
            }
        }
        if pick(2) == 0 {
            q.pagination_cursor = Some(match pick(5) {
                0 => vec![pick(256) as u8; pick(40) as usize],
                _ => hashes[pick(60) as usize].to_vec(),
            });
        }
        if pick(2) == 0 {
            q.pagination_limit = Some(match pick(3) {
                0 => u64::MAX - pick(3),
                _ => pick(30),
            });
        }
        let r = a.query(&q);
        assert_eq!(r.request_id, q.request_id);
        let status = r.status_code.expect("status_code always set");
        *statuses.entry(status).or_insert(0) += 1;
        match status {
            200 => {
                let limit = match q.pagination_limit {
                    None | Some(0) => 20,
                    Some(n) => n.min(100) as usize,
                };
                assert!(r.messages.len() <= limit);
                let keys: Vec<_> = hashes_of(&r).into_iter().map(|h| (info[&h].0, h)).collect();
                assert!(keys.windows(2).all(|w| w[0] < w[1]), "{q:?}");
                for (ts, h) in &keys {
                    let (_, pt, ct) = info[h];
                    assert!(q.time_start.is_none_or(|t| *ts >= t));
                    assert!(q.time_end.is_none_or(|t| *ts <= t));
                    assert!(q.pubsub_topic.as_deref().is_none_or(|p| p == pt));
                    assert!(
                        q.content_topics.is_empty() || q.content_topics.iter().any(|c| c == ct)
                    );
                    assert!(q.message_hashes.is_empty() || q.message_hashes.iter().any(|m| m == h));
                }
                for e in &r.messages {
                    assert_eq!(e.message.is_some(), q.include_data);
                    assert_eq!(e.pubsub_topic.is_some(), q.include_data);
                }
            }
            400 => assert!(r.messages.is_empty()),
            other => panic!("status {other}: {:?}", r.status_desc),
        }
    }
    // Both outcomes were exercised.
    assert!(statuses[&200] > 300 && statuses[&400] > 300, "{statuses:?}");
}

#[test]
fn retention_purge_by_received_time() {
    let mut a = Archive::open_in_memory(ArchiveConfig {
        retention_secs: 3600,
        ..ArchiveConfig::default()
    })
    .unwrap();
    let now = T0 + 10_000 * SEC;
    let ages = [7200i64, 3601, 3600, 10, 0];
    for (i, age) in ages.iter().enumerate() {
        let received = now - age * SEC;
        assert!(
            a.insert(PT, &msg(CT_A, received, &[i as u8]), received)
                .unwrap()
        );
    }
    assert_eq!(a.purge(now).unwrap(), 2); // 7200 s and 3601 s old
    assert_eq!(a.len().unwrap(), 3);
    assert_eq!(a.purge(now).unwrap(), 0);
    let left: Vec<_> = hashes_of(&a.query(&topic_query(PT, &[CT_A])));
    let expected: Vec<_> = [2usize, 3, 4]
        .iter()
        .map(|&i| {
            let received = now - ages[i] * SEC;
            hash(PT, &msg(CT_A, received, &[i as u8]))
        })
        .collect();
    assert_eq!(left, expected);
    // A day later everything is gone.
    assert_eq!(a.purge(now + 86_400 * SEC).unwrap(), 3);
    assert!(a.is_empty().unwrap());
}

#[test]
fn message_count_cap_deletes_oldest_received_first() {
    let mut a = Archive::open_in_memory(ArchiveConfig {
        max_messages: Some(10),
        ..ArchiveConfig::default()
    })
    .unwrap();
    // Received at T0 + i s, inserted newest first.
    let ms: Vec<_> = (0..15i64)
        .map(|i| msg(CT_A, T0 + i * SEC, &[i as u8]))
        .collect();
    for i in (0..15).rev() {
        assert!(a.insert(PT, &ms[i], T0 + i as i64 * SEC).unwrap());
    }
    assert_eq!(a.purge(T0 + 20 * SEC).unwrap(), 5);
    assert_eq!(a.len().unwrap(), 10);
    let mut q = topic_query(PT, &[CT_A]);
    q.include_data = false;
    let expected: Vec<_> = ms[5..].iter().map(|m| hash(PT, m)).collect();
    assert_eq!(hashes_of(&a.query(&q)), expected);
    assert_eq!(a.purge(T0 + 20 * SEC).unwrap(), 0);
}

#[test]
fn byte_cap_deletes_oldest_received_first() {
    // Ten messages of the same encoded size S.
    let ms: Vec<_> = (0..10i64)
        .map(|i| msg(CT_A, T0 + i * SEC, &[i as u8; 100]))
        .collect();
    let size = prost::Message::encoded_len(&ms[0]) as u64;
    assert!(
        ms.iter()
            .all(|m| prost::Message::encoded_len(m) as u64 == size)
    );
    for (cap, kept) in [
        (7 * size + size / 2, 7usize),
        (7 * size, 7),
        (7 * size - 1, 6),
        (10 * size, 10),
        (0, 0),
    ] {
        let mut a = Archive::open_in_memory(ArchiveConfig {
            max_bytes: Some(cap),
            ..ArchiveConfig::default()
        })
        .unwrap();
        for (i, m) in ms.iter().enumerate() {
            a.insert(PT, m, T0 + i as i64 * SEC).unwrap();
        }
        assert_eq!(
            a.purge(T0 + 10 * SEC).unwrap(),
            (10 - kept) as u64,
            "cap {cap}"
        );
        let expected: Vec<_> = ms[10 - kept..].iter().map(|m| hash(PT, m)).collect();
        assert_eq!(hashes_of(&a.query(&topic_query(PT, &[CT_A]))), expected);
    }
}

#[test]
fn reopen_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/archive.sqlite");
    let mut q = topic_query(PT, &[CT_A]);
    q.pagination_limit = Some(100);
    let before = {
        let mut a = Archive::open(&path, ArchiveConfig::default()).unwrap();
        let batch: Vec<_> = (0..30i64)
            .map(|k| (PT.to_string(), msg(CT_A, T0 + k, &[k as u8])))
            .collect();
        assert_eq!(a.insert_batch(&batch, T0).unwrap(), 30);
        assert!(a.insert(PT, &msg(CT_A, T0 + 99, b"single"), T0).unwrap());
        a.query(&q)
    };
    assert_eq!(before.messages.len(), 31);
    let mut a = Archive::open(&path, ArchiveConfig::default()).unwrap();
    assert_eq!(a.len().unwrap(), 31);
    assert_eq!(a.query(&q), before);
    // Still deduplicating against what was stored before.
    assert!(!a.insert(PT, &msg(CT_A, T0 + 99, b"single"), T0).unwrap());
}

#[test]
fn open_refuses_foreign_and_newer_files() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, vec![0x42; 8192]).unwrap();
    let err = Archive::open(&garbage, ArchiveConfig::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Corrupt(_)), "{err:?}");

    let newer = dir.path().join("newer.sqlite");
    {
        let conn = rusqlite::Connection::open(&newer).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Archive::open(&newer, ArchiveConfig::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ArchiveError::SchemaTooNew {
                found: 99,
                supported: 1
            }
        ),
        "{err:?}"
    );
    let conn = rusqlite::Connection::open(&newer).unwrap();
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "a newer file is not modified");
}

#[test]
fn file_archive_uses_wal_and_normal_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sqlite");
    let mut a = Archive::open(&path, ArchiveConfig::default()).unwrap();
    a.insert(PT, &msg(CT_A, T0, b"x"), T0).unwrap();
    // Another connection sees the committed row and the WAL mode in the file header.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
}
