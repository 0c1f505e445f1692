//! Fuzz bodies: one deterministic function per decoder, for cargo-fuzz targets and for the
//! corpus replay in `cargo test`. Each takes arbitrary bytes, must not panic, and checks
//! the properties that hold whatever the input.

use pfs_crypto::secp256k1::SecretKey;

use crate::{chat, mvds, segment, wrapper};

fn fixed_key(b: u8) -> Option<SecretKey> {
    SecretKey::from_bytes(&[b; 32]).ok()
}

/// The wrapper decoder: any input either fails with a typed error or yields a signer whose
/// id is recomputable; re-wrapping the payload round-trips.
///
/// Panics only when an invariant is broken; any input is fair:
///
/// ```
/// pfs_app::fuzz::run_unwrap(&[]);
/// pfs_app::fuzz::run_unwrap(b"\x0a\x41");
/// ```
pub fn run_unwrap(data: &[u8]) {
    let Some(k) = fixed_key(1) else { return };
    match wrapper::unwrap_any(data) {
        Ok(u) => {
            assert_eq!(u.id, wrapper::message_id(&u.signer, data));
            assert!(wrapper::unwrap(data, &u.signer).is_ok());
            if u.signer != k.public_key() {
                assert!(matches!(
                    wrapper::unwrap(data, &k.public_key()),
                    Err(wrapper::UnwrapError::WrongSigner { .. })
                ));
            }
            let _ = chat::classify(&u);
        }
        Err(_) => assert!(wrapper::unwrap(data, &k.public_key()).is_err()),
    }
}

/// The chat decoder: an accepted text re-encodes to a message that parses to itself.
///
/// Panics only when an invariant is broken; any input is fair:
///
/// ```
/// pfs_app::fuzz::run_chat(&[]);
/// pfs_app::fuzz::run_chat(&[0x1a, 0x05, b'h']);
/// ```
pub fn run_chat(data: &[u8]) {
    if let Ok(mut t) = chat::parse_text(data) {
        t.unknown_fields.clear();
        let again = t.encode();
        assert!(again.is_ok());
        if let Ok(bytes) = again {
            assert_eq!(chat::parse_text(&bytes).ok(), Some(t));
        }
    }
}

/// The MVDS decoder: received ids are the MVDS ids of the messages, and acks parse back.
///
/// Panics only when an invariant is broken; any input is fair:
///
/// ```
/// pfs_app::fuzz::run_mvds(&[]);
/// pfs_app::fuzz::run_mvds(&[0xca, 0xb8, 0x02, 3, 1, 2, 3]);
/// ```
pub fn run_mvds(data: &[u8]) {
    if let Ok(mvds::Parsed::Mvds(r)) = mvds::parse(data, &mvds::Limits::default()) {
        for m in &r.messages {
            assert_eq!(m.id, mvds::message_id(&m.group_id, m.timestamp, &m.body));
        }
        if let Some(ack) = r.ack() {
            assert!(matches!(
                mvds::parse(&ack, &mvds::Limits::default()),
                Ok(mvds::Parsed::Mvds(_))
            ));
        }
    }
}

/// The reassembler: the input is cut into records (1-byte length prefix, sender byte) and
/// fed in; memory stays within the limits and a completed message matches its hash.
///
/// Panics only when an invariant is broken; any input is fair:
///
/// ```
/// pfs_app::fuzz::run_segments(&[]);
/// pfs_app::fuzz::run_segments(&[4, 0, 0x10, 1, 0x18, 2]);
/// ```
pub fn run_segments(data: &[u8]) {
    let limits = segment::Limits {
        max_pending_sets: 4,
        max_pending_per_sender: 2,
        max_pending_bytes: 4096,
        ..segment::Limits::default()
    };
    let senders: Vec<_> = (1..=3u8)
        .filter_map(fixed_key)
        .map(|k| k.public_key())
        .collect();
    let mut r = segment::Reassembler::new(limits);
    let mut rest = data;
    let mut now = 0;
    while let [len, who, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (rec, next) = tail.split_at(n);
        rest = next;
        now += 1;
        if let Some(s) = senders.get(usize::from(*who) % senders.len().max(1)) {
            let before = (r.pending_sets(), r.pending_bytes());
            match r.push(s, rec, now) {
                Ok(segment::Outcome::Complete(m)) => {
                    if let Ok(msg) = segment::decode(rec) {
                        assert_eq!(
                            pfs_crypto::hash::keccak256(&m).as_slice(),
                            msg.entire_message_hash.as_slice()
                        );
                    }
                }
                Ok(segment::Outcome::Incomplete) => {}
                Err(segment::SegmentError::HashMismatch | segment::SegmentError::InvalidParity) => {
                }
                Err(_) => assert_eq!(before, (r.pending_sets(), r.pending_bytes())),
            }
        }
        assert!(r.pending_sets() <= limits.max_pending_sets);
        assert!(r.pending_bytes() <= limits.max_pending_bytes);
        if now % 16 == 0 {
            r.expire(now - 8);
        }
    }
}

/// The messenger's receive path: arbitrary bytes from a fixed sender, received twice. A
/// refusal changes no record; an accepted payload received again yields no new text.
///
/// Panics only when an invariant is broken; any input is fair:
///
/// ```
/// pfs_app::fuzz::run_messenger(&[]);
/// pfs_app::fuzz::run_messenger(b"\x12\x02hi");
/// ```
pub fn run_messenger(data: &[u8]) {
    use crate::messenger::{Config, Event, MemoryRecords, Messenger};
    let (Some(me), Some(peer)) = (fixed_key(2), fixed_key(1)) else {
        return;
    };
    let m = Messenger::new(me, Config::default());
    let mut store = MemoryRecords::default();
    let before = store.clone();
    let from = peer.public_key();
    match m.receive(&mut store, &from, data, 0, 1_000) {
        Err(_) => assert_eq!(store, before, "a refused payload changed the records"),
        Ok(_) => {
            let again = m.receive(&mut store, &from, data, 0, 2_000);
            if let Ok(inc) = again {
                assert!(
                    !inc.events
                        .iter()
                        .any(|e| matches!(e, Event::Text { .. } | Event::ContactRequest { .. })),
                    "a message was delivered twice"
                );
            }
        }
    }
}

/// Every application-layer decoder on the same input.
///
/// Panics only when an invariant is broken; any input is fair:
///
/// ```
/// pfs_app::fuzz::run_all(&[]);
/// pfs_app::fuzz::run_all(&[0xff; 16]);
/// ```
pub fn run_all(data: &[u8]) {
    run_unwrap(data);
    run_chat(data);
    run_mvds(data);
    run_segments(data);
    run_messenger(data);
}
