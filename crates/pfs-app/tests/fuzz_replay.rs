//! Replays the fuzz bodies over seeds built from real messages and deterministic mutations
//! of them (bit flips, truncations, splices), so `cargo test` exercises every decoder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_app::chat::TextMessage;
use pfs_app::{MessageKind, fuzz, mvds, segment, wrap};
use pfs_crypto::secp256k1::SecretKey;

fn seeds() -> Vec<Vec<u8>> {
    let k = SecretKey::from_bytes(&[1; 32]).unwrap();
    let text = TextMessage {
        clock: 3,
        timestamp_ms: 4,
        text: "héllo".into(),
        chat_id: "0x04aa".into(),
        ..TextMessage::default()
    }
    .encode()
    .unwrap();
    let w = wrap(&text, MessageKind::ChatMessage, &k).unwrap();
    let (m, ids) = mvds::wrap_messages(&[9; 32], 5, &[&w]).unwrap();
    let mut out = vec![text, w, m, mvds::ack_payload(&ids), Vec::new()];
    let payload: Vec<u8> = (0..400u32).map(|i| i as u8).collect();
    let segs = segment::split(&payload, 40).unwrap();
    // records for run_segments: len ‖ sender ‖ bytes
    let mut rec = Vec::new();
    for s in segs.iter().filter(|s| s.len() < 256) {
        rec.push(s.len() as u8);
        rec.push(0);
        rec.extend_from_slice(s);
    }
    out.push(rec);
    out.extend(segs);
    out
}

fn mutations(seed: &[u8], n: u64) -> Vec<Vec<u8>> {
    let mut out = vec![seed.to_vec()];
    let mut s = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    for _ in 0..48 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let mut v = seed.to_vec();
        match s % 4 {
            0 if !v.is_empty() => {
                let i = (s >> 8) as usize % v.len();
                v[i] ^= 1 << ((s >> 40) % 8);
            }
            1 => v.truncate((s >> 8) as usize % (v.len() + 1)),
            2 if !v.is_empty() => {
                let i = (s >> 8) as usize % v.len();
                v.insert(i, (s >> 32) as u8);
            }
            _ => v.extend_from_slice(&seed[..seed.len() / 2]),
        }
        out.push(v);
    }
    out
}

#[test]
fn replay_all_bodies() {
    let mut count = 0;
    for (i, seed) in seeds().iter().enumerate() {
        for input in mutations(seed, i as u64) {
            fuzz::run_unwrap(&input);
            fuzz::run_chat(&input);
            fuzz::run_mvds(&input);
            fuzz::run_segments(&input);
            fuzz::run_messenger(&input);
            count += 1;
        }
    }
    assert!(count > 500);
}
