//! Segmentation and reassembly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_app::segment::{self, Limits, Outcome, Reassembler, SegmentError};
use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_wire::app::SegmentMessage;
use proptest::prelude::*;
use prost::Message;

fn sender(b: u8) -> PublicKey {
    SecretKey::from_bytes(&[b; 32]).unwrap().public_key()
}

/// status-go's fixture payload (message_segmentation_test.go `SetupSuite`): 1000 bytes i.
fn status_go_payload() -> Vec<u8> {
    (0..1000u32).map(|i| i as u8).collect()
}

/// Replays one row of status-go's `TestHandleSegmentationLayer` table (V2 expectations):
/// `segments_count` data segments of ceil(1000 / count) bytes, `parity` parity segments
/// expected, `order` indexes into the sent list (parity after data), `succeeds`.
fn replay(segments_count: usize, parity: usize, order: &[usize], succeeds: bool) {
    let payload = status_go_payload();
    let size = payload.len().div_ceil(segments_count);
    let segs = segment::split(&payload, size).unwrap();
    assert_eq!(segs.len(), segments_count + parity, "segment count");
    let mut r = Reassembler::new(Limits::default());
    let from = sender(1);
    let mut handled = 0;
    let mut recreated = false;
    for &i in order {
        let out = r.push(&from, &segs[i], 0);
        handled += 1;
        if handled < segments_count {
            assert_eq!(out, Ok(Outcome::Incomplete), "segment {i}");
        } else if handled == segments_count {
            assert_eq!(out, Ok(Outcome::Complete(payload.clone())), "segment {i}");
            recreated = true;
        } else {
            assert_eq!(out, Err(SegmentError::AlreadyCompleted), "segment {i}");
        }
    }
    assert_eq!(recreated, succeeds);
    if !recreated {
        assert_eq!(r.pending_sets(), usize::from(!order.is_empty()));
    }
}

#[test]
fn status_go_table_all_segments() {
    replay(2, 0, &[0, 1], true);
    replay(2, 0, &[1, 0], true);
}

#[test]
fn status_go_table_all_segments_and_parity() {
    replay(8, 1, &[0, 1, 2, 3, 4, 5, 6, 7, 8], true);
    replay(8, 1, &[8, 0, 7, 1, 6, 2, 5, 3, 4], true);
}

#[test]
fn status_go_table_incomplete() {
    replay(2, 0, &[], false);
    replay(8, 1, &[1, 2, 8], false);
}

#[test]
fn status_go_table_recovered_by_parity() {
    replay(8, 1, &[1, 2, 3, 4, 5, 6, 7, 8], true);
    replay(
        16,
        2,
        &[17, 0, 16, 1, 15, 2, 14, 3, 13, 4, 12, 5, 11, 6, 10, 7],
        true,
    );
}

#[test]
fn segment_layout() {
    let payload = status_go_payload();
    let segs = segment::split(&payload, 125).unwrap();
    assert_eq!(segs.len(), 9);
    let hash = keccak256(&payload).to_vec();
    for (i, s) in segs.iter().take(8).enumerate() {
        let m = SegmentMessage::decode(s.as_slice()).unwrap();
        assert_eq!(m.entire_message_hash, hash);
        assert_eq!(m.index as usize, i);
        assert_eq!(m.segments_count, 8);
        assert_eq!(m.payload, &payload[i * 125..(i + 1) * 125]);
        assert_eq!((m.parity_segment_index, m.parity_segments_count), (0, 0));
    }
    let p = SegmentMessage::decode(segs[8].as_slice()).unwrap();
    assert_eq!(
        (
            p.segments_count,
            p.parity_segment_index,
            p.parity_segments_count
        ),
        (0, 0, 1)
    );
    assert_eq!(p.payload.len(), 125);
    // small payloads are not segmented
    assert_eq!(segment::split(b"abc", 3).unwrap(), vec![b"abc".to_vec()]);
    assert_eq!(segment::SEGMENT_SIZE, 786_432);
    assert_eq!(segment::parity_count(7), 0);
    assert_eq!(segment::parity_count(8), 1);
    assert_eq!(segment::parity_count(224), 28);
    assert_eq!(segment::parity_count(232), 0, "232 + 29 > 256: no parity");
}

#[test]
fn missing_last_segment_recovered_from_parity() {
    // 1000 / 63: 16 segments, the last one 55 bytes, 2 parity
    let payload = status_go_payload();
    let segs = segment::split(&payload, 63).unwrap();
    assert_eq!(segs.len(), 18);
    let mut r = Reassembler::new(Limits::default());
    let from = sender(2);
    let mut last = None;
    for (i, s) in segs.iter().enumerate() {
        if i == 15 || i == 3 {
            continue;
        }
        last = Some(r.push(&from, s, 0).unwrap());
    }
    assert_eq!(last, Some(Outcome::Complete(payload)));
}

#[test]
fn duplicates_and_inconsistent_counts_are_typed() {
    let payload = status_go_payload();
    let segs = segment::split(&payload, 125).unwrap();
    let mut r = Reassembler::new(Limits::default());
    let from = sender(3);
    assert_eq!(r.push(&from, &segs[0], 0), Ok(Outcome::Incomplete));
    let held = r.pending_bytes();
    assert_eq!(r.push(&from, &segs[0], 0), Err(SegmentError::Duplicate));
    assert_eq!(r.pending_bytes(), held, "state untouched");
    let mut m = SegmentMessage::decode(segs[1].as_slice()).unwrap();
    m.segments_count = 9;
    assert_eq!(
        r.push(&from, &m.encode_to_vec(), 0),
        Err(SegmentError::Inconsistent)
    );
    // the same set from another sender is another set
    assert_eq!(r.push(&sender(4), &segs[0], 0), Ok(Outcome::Incomplete));
    assert_eq!(r.pending_sets(), 2);
}

#[test]
fn bad_segments_are_typed() {
    let mut r = Reassembler::new(Limits::default());
    let from = sender(5);
    let good = SegmentMessage {
        entire_message_hash: vec![1; 32],
        index: 0,
        segments_count: 2,
        payload: vec![1; 10],
        ..Default::default()
    };
    let mut m = good.clone();
    m.segments_count = 1;
    assert_eq!(
        r.push(&from, &m.encode_to_vec(), 0),
        Err(SegmentError::InvalidCount)
    );
    let mut m = good.clone();
    m.index = 2;
    assert_eq!(
        r.push(&from, &m.encode_to_vec(), 0),
        Err(SegmentError::InvalidCount)
    );
    let mut m = good.clone();
    m.entire_message_hash = vec![1; 31];
    assert_eq!(
        r.push(&from, &m.encode_to_vec(), 0),
        Err(SegmentError::BadHash(31))
    );
    let mut m = good.clone();
    m.segments_count = 100_000;
    assert_eq!(
        r.push(&from, &m.encode_to_vec(), 0),
        Err(SegmentError::TooManySegments(100_000))
    );
    let mut m = good.clone();
    m.payload.clear();
    assert_eq!(
        r.push(&from, &m.encode_to_vec(), 0),
        Err(SegmentError::BadPayloadSize(0))
    );
    let parity = SegmentMessage {
        entire_message_hash: vec![1; 32],
        parity_segment_index: 3,
        parity_segments_count: 3,
        payload: vec![1; 10],
        ..Default::default()
    };
    assert_eq!(
        r.push(&from, &parity.encode_to_vec(), 0),
        Err(SegmentError::InvalidCount)
    );
    assert!(matches!(
        r.push(&from, &[0x0a, 0x20, 1], 0),
        Err(SegmentError::Malformed(_))
    ));
    assert_eq!(r.pending_sets(), 0);
    // complete set whose bytes do not match the hash: refused and dropped
    assert_eq!(
        r.push(&from, &good.encode_to_vec(), 0),
        Ok(Outcome::Incomplete)
    );
    let mut second = good.clone();
    second.index = 1;
    assert_eq!(
        r.push(&from, &second.encode_to_vec(), 0),
        Err(SegmentError::HashMismatch)
    );
    assert_eq!((r.pending_sets(), r.pending_bytes()), (0, 0));
}

#[test]
fn corrupted_parity_is_refused() {
    let payload = status_go_payload();
    let segs = segment::split(&payload, 125).unwrap();
    let mut p = SegmentMessage::decode(segs[8].as_slice()).unwrap();
    p.payload[0] ^= 1;
    let mut r = Reassembler::new(Limits::default());
    let from = sender(6);
    for s in &segs[1..8] {
        assert_eq!(r.push(&from, s, 0), Ok(Outcome::Incomplete));
    }
    assert!(matches!(
        r.push(&from, &p.encode_to_vec(), 0),
        Err(SegmentError::HashMismatch | SegmentError::InvalidParity)
    ));
    assert_eq!(r.pending_sets(), 0);
}

#[test]
fn segment_floods_are_bounded() {
    let limits = Limits {
        max_pending_sets: 4,
        max_pending_per_sender: 2,
        max_pending_bytes: 1000,
        ..Limits::default()
    };
    let mut r = Reassembler::new(limits);
    let seg = |h: u8, len: usize| {
        SegmentMessage {
            entire_message_hash: vec![h; 32],
            index: 0,
            segments_count: 4,
            payload: vec![0; len],
            ..Default::default()
        }
        .encode_to_vec()
    };
    let a = sender(7);
    assert_eq!(r.push(&a, &seg(1, 10), 0), Ok(Outcome::Incomplete));
    assert_eq!(r.push(&a, &seg(2, 10), 0), Ok(Outcome::Incomplete));
    assert_eq!(
        r.push(&a, &seg(3, 10), 0),
        Err(SegmentError::TooManyPending)
    );
    for (i, b) in [8u8, 9].into_iter().enumerate() {
        let s = sender(b);
        assert_eq!(
            r.push(&s, &seg(10 + i as u8, 10), 1),
            Ok(Outcome::Incomplete)
        );
    }
    assert_eq!(
        r.push(&sender(10), &seg(20, 10), 1),
        Err(SegmentError::TooManyPending)
    );
    assert_eq!(r.pending_sets(), 4);
    // bytes bound
    let mut r2 = Reassembler::new(limits);
    assert_eq!(r2.push(&a, &seg(1, 900), 0), Ok(Outcome::Incomplete));
    assert_eq!(
        r2.push(&a, &seg(2, 200), 0),
        Err(SegmentError::TooManyPending)
    );
    assert_eq!(r2.pending_bytes(), 900);
    // expiry frees the old sets
    assert_eq!(r.expire(1), 2);
    assert_eq!(r.pending_sets(), 2);
    assert_eq!(r.push(&a, &seg(3, 10), 2), Ok(Outcome::Incomplete));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn split_reassemble_with_losses(
        payload in proptest::collection::vec(any::<u8>(), 200..3000),
        n in 2usize..40,
        seed in any::<u64>(),
    ) {
        let size = payload.len().div_ceil(n);
        let segs = segment::split(&payload, size).unwrap();
        let data = payload.len().div_ceil(size);
        let p = segs.len() - data;
        prop_assert_eq!(p, segment::parity_count(data));
        // drop up to p segments chosen by the seed
        let mut order: Vec<usize> = (0..segs.len()).collect();
        let mut s = seed;
        for i in (1..order.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        order.truncate(segs.len() - p);
        let mut r = Reassembler::new(Limits::default());
        let from = sender(11);
        let mut done = None;
        for i in order {
            match r.push(&from, &segs[i], 0) {
                Ok(Outcome::Complete(m)) => { done = Some(m); break; }
                Ok(Outcome::Incomplete) => {}
                Err(e) => prop_assert!(false, "{e:?}"),
            }
        }
        // recovery needs at least one data segment; with p ≤ n/8 one always remains
        prop_assert_eq!(done, Some(payload));
    }
}

/// klauspost/reedsolomon `TestOneEncode` (the library status-go uses; the same answers as
/// Backblaze JavaReedSolomon's `testOneEncode`): New(5, 5) over these shards gives these
/// parity shards. The reed-solomon-erasure code used here must give the same bytes.
#[test]
fn reed_solomon_matches_klauspost_known_answer() {
    let rs = reed_solomon_erasure::galois_8::ReedSolomon::new(5, 5).unwrap();
    let mut shards: Vec<Vec<u8>> = vec![
        vec![0, 1],
        vec![4, 5],
        vec![2, 3],
        vec![6, 7],
        vec![8, 9],
        vec![0, 0],
        vec![0, 0],
        vec![0, 0],
        vec![0, 0],
        vec![0, 0],
    ];
    rs.encode(&mut shards).unwrap();
    assert_eq!(
        &shards[5..],
        &[
            vec![12, 13],
            vec![10, 11],
            vec![14, 15],
            vec![90, 91],
            vec![94, 95]
        ]
    );
    assert!(rs.verify(&shards).unwrap());
    shards[8][0] += 1;
    assert!(!rs.verify(&shards).unwrap());
}
