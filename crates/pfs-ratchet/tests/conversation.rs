//! Property tests: any interleaving of two parties, with reordering, drops, replays and
//! tampering, for both suites.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{SUITES, TestRng, pair, snapshot};
use pfs_ratchet::{ConfirmMode, Header, Limits, RatchetError, Session, SuiteId};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Party sends a message.
    Send(usize),
    /// Deliver the in-flight message selected by the index to the party.
    Deliver(usize, usize),
    /// Drop an in-flight message to the party.
    Drop(usize, usize),
    /// Replay an already delivered message to the party.
    Replay(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize).prop_map(Op::Send),
        4 => (0..2usize, any::<usize>()).prop_map(|(p, i)| Op::Deliver(p, i)),
        1 => (0..2usize, any::<usize>()).prop_map(|(p, i)| Op::Drop(p, i)),
        1 => (0..2usize, any::<usize>()).prop_map(|(p, i)| Op::Replay(p, i)),
    ]
}

struct Msg {
    header: Header,
    ct: Vec<u8>,
    pt: Vec<u8>,
}

const AD: &[u8] = b"session-ad";

fn run(id: SuiteId, seed: u64, ops: &[Op]) {
    let mut rng = TestRng::new(seed);
    let (a, b) = pair(id, &mut rng, Limits::default(), ConfirmMode::Immediate);
    let mut parties: [Session; 2] = [a, b];
    // in_flight[p]: messages on their way to party p; delivered[p]: already delivered.
    let mut in_flight: [Vec<Msg>; 2] = [Vec::new(), Vec::new()];
    let mut delivered: [Vec<Msg>; 2] = [Vec::new(), Vec::new()];
    let mut counter = 0u32;
    for op in ops {
        match *op {
            Op::Send(p) => {
                counter += 1;
                let pt = format!("message {counter} from {p}").into_bytes();
                let before = snapshot(&parties[p]);
                match parties[p].encrypt(&pt, AD) {
                    Ok((header, ct)) => in_flight[1 - p].push(Msg { header, ct, pt }),
                    Err(RatchetError::NoSendingChain) => {
                        // Only a spec responder that has not received anything yet.
                        assert_eq!(id, SuiteId::Spec);
                        assert_eq!(p, 1);
                        assert!(parties[p].state().dhs().is_none());
                        assert_eq!(snapshot(&parties[p]), before);
                    }
                    Err(e) => panic!("encrypt failed: {e}"),
                }
            }
            Op::Deliver(p, i) => {
                if in_flight[p].is_empty() {
                    continue;
                }
                let m = in_flight[p].remove(i % in_flight[p].len());
                let (pt, receipt) = parties[p]
                    .decrypt(&m.header, &m.ct, AD, &mut rng)
                    .unwrap_or_else(|e| panic!("delivery failed: {e} ({:?})", m.header));
                assert_eq!(pt, m.pt);
                assert!(receipt.is_none());
                delivered[p].push(m);
            }
            Op::Drop(p, i) => {
                if !in_flight[p].is_empty() {
                    let n = in_flight[p].len();
                    in_flight[p].remove(i % n);
                }
            }
            Op::Replay(p, i) => {
                if delivered[p].is_empty() {
                    continue;
                }
                let m = &delivered[p][i % delivered[p].len()];
                let before = snapshot(&parties[p]);
                let r = parties[p].decrypt(&m.header, &m.ct, AD, &mut rng);
                assert!(r.is_err(), "a replay decrypted again");
                assert_eq!(
                    snapshot(&parties[p]),
                    before,
                    "a rejected replay changed the session"
                );
            }
        }
    }
    // Every message still in flight decrypts (in the order left), each exactly once.
    for p in 0..2 {
        for m in std::mem::take(&mut in_flight[p]) {
            let (pt, _) = parties[p].decrypt(&m.header, &m.ct, AD, &mut rng).unwrap();
            assert_eq!(pt, m.pt);
            assert!(parties[p].decrypt(&m.header, &m.ct, AD, &mut rng).is_err());
        }
    }
    // Serialization round trip of the final states.
    for s in &parties {
        let bytes = s.state().to_bytes();
        let back = pfs_ratchet::RatchetState::from_bytes(bytes.expose()).unwrap();
        assert_eq!(&back, s.state());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn interleavings_status_go(seed in any::<u64>(), ops in proptest::collection::vec(op(), 0..150)) {
        run(SuiteId::StatusGo, seed, &ops);
    }

    #[test]
    fn interleavings_spec(seed in any::<u64>(), ops in proptest::collection::vec(op(), 0..150)) {
        run(SuiteId::Spec, seed, &ops);
    }

    /// Any single-bit flip in the header (key, n, pn) or the payload is rejected, leaving
    /// the serialized state and the skipped-key store unchanged; the genuine message
    /// still decrypts afterwards.
    #[test]
    fn tampering_is_rejected_atomically(
        seed in any::<u64>(),
        suite_i in 0..2usize,
        warmup in proptest::collection::vec(any::<bool>(), 0..8),
        skip in 0..3usize,
        field in 0..4usize,
        bit in any::<usize>(),
    ) {
        let id = SUITES[suite_i];
        let mut rng = TestRng::new(seed);
        let (a, b) = pair(id, &mut rng, Limits::default(), ConfirmMode::Immediate);
        let mut parties = [a, b];
        // Warm up: alternate senders; A always goes first so the spec responder can reply.
        let mut sender = 0;
        for (k, flip) in warmup.iter().enumerate() {
            if k > 0 && *flip { sender = 1 - sender; }
            let (h, ct) = parties[sender].encrypt(b"warmup", AD).unwrap();
            parties[1 - sender].decrypt(&h, &ct, AD, &mut rng).unwrap();
        }
        // Leave `skip` messages undelivered so the target needs skipped keys (and maybe a DH step).
        let s = sender;
        for _ in 0..skip { parties[s].encrypt(b"skipped", AD).unwrap(); }
        let (header, ct) = parties[s].encrypt(b"target", AD).unwrap();
        let r = 1 - s;
        let before = snapshot(&parties[r]);
        let mut h2 = header.clone();
        let mut ct2 = ct.clone();
        match field {
            0 => { let i = bit % (h2.key.len() * 8); h2.key[i / 8] ^= 1 << (i % 8); }
            1 => h2.n ^= 1 << (bit % 32),
            2 => h2.pn ^= 1 << (bit % 32),
            _ => { let i = bit % (ct2.len() * 8); ct2[i / 8] ^= 1 << (i % 8); }
        }
        let res = parties[r].decrypt(&h2, &ct2, AD, &mut rng);
        prop_assert!(res.is_err(), "tampered message accepted (field {})", field);
        prop_assert_eq!(snapshot(&parties[r]), before);
        let (pt, _) = parties[r].decrypt(&header, &ct, AD, &mut rng).unwrap();
        prop_assert_eq!(pt, b"target".to_vec());
    }
}

/// A wrong associated-data prefix is rejected without changing anything.
#[test]
fn wrong_ad_prefix_rejected() {
    for id in SUITES {
        let mut rng = TestRng::new(7);
        let (mut a, mut b) = pair(id, &mut rng, Limits::default(), ConfirmMode::Immediate);
        let (h, ct) = a.encrypt(b"hello", b"ad-1").unwrap();
        let before = snapshot(&b);
        assert!(matches!(
            b.decrypt(&h, &ct, b"ad-2", &mut rng),
            Err(pfs_ratchet::DecryptError::AuthenticationFailed)
        ));
        assert_eq!(snapshot(&b), before);
        assert_eq!(b.decrypt(&h, &ct, b"ad-1", &mut rng).unwrap().0, b"hello");
    }
}
