//! Skip limits, the per-session key cap, MaxKeep eviction and two-phase confirmation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{SUITES, TestRng, pair, snapshot};
use pfs_ratchet::{ConfirmMode, DecryptError, Header, Limits, Session, SuiteId};

fn send_many(s: &mut Session, count: usize) -> Vec<(Header, Vec<u8>, Vec<u8>)> {
    (0..count)
        .map(|i| {
            let pt = format!("m{i}").into_bytes();
            let (h, ct) = s.encrypt(&pt, b"").unwrap();
            (h, ct, pt)
        })
        .collect()
}

#[test]
fn gap_of_exactly_max_skip_is_accepted() {
    for id in SUITES {
        let mut rng = TestRng::new(1);
        let (mut a, mut b) = pair(id, &mut rng, Limits::default(), ConfirmMode::Immediate);
        let msgs = send_many(&mut a, 1001);
        let (h, ct, pt) = &msgs[1000];
        assert_eq!(h.n, 1000);
        assert_eq!(b.decrypt(h, ct, b"", &mut rng).unwrap().0, *pt);
        assert_eq!(b.skipped_len(), 1000);
        assert_eq!(b.state().recv_chain_n(), 1001);
        assert_eq!(b.state().keys_count(), 1001);
        // Every skipped message still decrypts, once.
        for (h, ct, pt) in &msgs[..1000] {
            assert_eq!(b.decrypt(h, ct, b"", &mut rng).unwrap().0, *pt);
        }
        assert_eq!(b.skipped_len(), 0);
    }
}

#[test]
fn gap_of_max_skip_plus_one_is_rejected_before_any_derivation() {
    for id in SUITES {
        let mut rng = TestRng::new(2);
        let (mut a, mut b) = pair(id, &mut rng, Limits::default(), ConfirmMode::Immediate);
        let msgs = send_many(&mut a, 1002);
        let (h, ct, _) = &msgs[1001];
        let before = snapshot(&b);
        // A counting source: a DH ratchet step would draw a key; the check comes first.
        let mut counting = TestRng::new(99);
        let direct = b.state().decrypt(
            &(),
            h,
            ct,
            b"",
            &mut counting,
            &Limits::default(),
            ConfirmMode::Immediate,
        );
        assert!(matches!(
            direct,
            Err(DecryptError::TooManySkipped {
                until: 1001,
                max_skip: 1000,
                recv_chain_n: 0
            })
        ));
        assert_eq!(
            counting.draws, 0,
            "a key was generated before the skip check"
        );
        let r = b.decrypt(h, ct, b"", &mut counting);
        assert!(matches!(r, Err(DecryptError::TooManySkipped { .. })));
        assert_eq!(counting.draws, 0);
        assert_eq!(snapshot(&b), before);
        assert_eq!(b.skipped_len(), 0);
        // The session is still usable: message 1 arrives fine.
        assert_eq!(
            b.decrypt(&msgs[1].0, &msgs[1].1, b"", &mut rng).unwrap().0,
            msgs[1].2
        );
    }
}

#[test]
fn max_skip_is_per_chain_and_configurable() {
    let limits = Limits {
        max_skip: 5,
        ..Limits::default()
    };
    let mut rng = TestRng::new(3);
    let (mut a, mut b) = pair(SuiteId::StatusGo, &mut rng, limits, ConfirmMode::Immediate);
    let msgs = send_many(&mut a, 20);
    assert!(b.decrypt(&msgs[5].0, &msgs[5].1, b"", &mut rng).is_ok());
    // 6 → 12 is a gap of 6 > 5 from the chain position 6.
    let before = snapshot(&b);
    assert!(matches!(
        b.decrypt(&msgs[12].0, &msgs[12].1, b"", &mut rng),
        Err(DecryptError::TooManySkipped {
            recv_chain_n: 6,
            until: 12,
            max_skip: 5
        })
    ));
    assert_eq!(snapshot(&b), before);
    assert!(b.decrypt(&msgs[11].0, &msgs[11].1, b"", &mut rng).is_ok());
    assert!(b.decrypt(&msgs[12].0, &msgs[12].1, b"", &mut rng).is_ok());
}

#[test]
fn old_message_without_stored_key_is_duplicate_or_evicted() {
    for id in SUITES {
        let mut rng = TestRng::new(4);
        let (mut a, mut b) = pair(id, &mut rng, Limits::default(), ConfirmMode::Immediate);
        let msgs = send_many(&mut a, 3);
        for (h, ct, _) in &msgs {
            b.decrypt(h, ct, b"", &mut rng).unwrap();
        }
        let before = snapshot(&b);
        let mut counting = TestRng::new(5);
        assert!(matches!(
            b.decrypt(&msgs[1].0, &msgs[1].1, b"", &mut counting),
            Err(DecryptError::DuplicateOrEvicted {
                n: 1,
                recv_chain_n: 3
            })
        ));
        assert_eq!(counting.draws, 0);
        assert_eq!(snapshot(&b), before);
    }
}

#[test]
fn per_session_cap_drops_the_oldest_keys() {
    let mut rng = TestRng::new(6);
    let (mut a, mut b) = pair(
        SuiteId::StatusGo,
        &mut rng,
        Limits::default(),
        ConfirmMode::Immediate,
    );
    let msgs = send_many(&mut a, 2101);
    let key = msgs[0].0.key.clone();
    // Skips 0..1000 (seq 0..999, the used key takes seq 1000), then 1001..2000 (seq
    // 1001..1999), then 2001..2100 (seq 2001..2099): 2098 stored keys > 2000.
    for i in [1000usize, 2000, 2100] {
        assert_eq!(
            b.decrypt(&msgs[i].0, &msgs[i].1, b"", &mut rng).unwrap().0,
            msgs[i].2
        );
    }
    assert_eq!(b.state().keys_count(), 2101);
    assert_eq!(b.skipped_len(), 2000);
    for n in 0..98 {
        assert!(!b.has_skipped(&key, n), "key {n} should have been evicted");
    }
    for n in (98..1000).chain(1001..2000).chain(2001..2100) {
        assert!(b.has_skipped(&key, n), "key {n} should be kept");
    }
    // An evicted message is gone.
    assert!(matches!(
        b.decrypt(&msgs[5].0, &msgs[5].1, b"", &mut rng),
        Err(DecryptError::DuplicateOrEvicted { .. })
    ));
    assert_eq!(
        b.decrypt(&msgs[98].0, &msgs[98].1, b"", &mut rng)
            .unwrap()
            .0,
        msgs[98].2
    );
}

#[test]
fn max_keep_deletes_old_sequence_numbers() {
    let limits = Limits {
        max_skip: 1000,
        max_keys_per_session: 10_000,
        max_keep: 50,
    };
    let mut rng = TestRng::new(7);
    let (mut a, mut b) = pair(SuiteId::StatusGo, &mut rng, limits, ConfirmMode::Immediate);
    let msgs = send_many(&mut a, 61);
    let key = msgs[0].0.key.clone();
    b.decrypt(&msgs[40].0, &msgs[40].1, b"", &mut rng).unwrap();
    // keys_count 41 < 50: nothing deleted.
    assert_eq!(b.skipped_len(), 40);
    b.decrypt(&msgs[60].0, &msgs[60].1, b"", &mut rng).unwrap();
    // keys_count 61: delete seq <= 11, i.e. n = 0..=11 (seq == n in this chain).
    assert_eq!(b.state().keys_count(), 61);
    for n in 0..=11 {
        assert!(!b.has_skipped(&key, n));
    }
    for n in (12..40).chain(41..60) {
        assert!(b.has_skipped(&key, n));
    }
}

#[test]
fn two_phase_keeps_the_key_until_confirmed() {
    for id in SUITES {
        let mut rng = TestRng::new(8);
        let (mut a, mut b) = pair(id, &mut rng, Limits::default(), ConfirmMode::TwoPhase);
        let msgs = send_many(&mut a, 3);
        // In order: the chain key is stored with seq = keys_count and a receipt comes back.
        let (pt, receipt) = b.decrypt(&msgs[0].0, &msgs[0].1, b"", &mut rng).unwrap();
        assert_eq!(pt, msgs[0].2);
        let receipt = receipt.unwrap();
        assert_eq!(
            (receipt.ratchet_key.as_slice(), receipt.n),
            (msgs[0].0.key.as_slice(), 0)
        );
        assert_eq!(b.state().keys_count(), 1);
        assert_eq!(b.skipped_entries(), vec![(msgs[0].0.key.clone(), 0, 0)]);
        // A duplicate decrypts again and changes nothing.
        let before = snapshot(&b);
        let (pt2, receipt2) = b.decrypt(&msgs[0].0, &msgs[0].1, b"", &mut rng).unwrap();
        assert_eq!(pt2, msgs[0].2);
        assert_eq!(receipt2.as_ref(), Some(&receipt));
        assert_eq!(snapshot(&b), before);
        // Confirmed: the key is deleted and a further duplicate is rejected.
        assert!(b.confirm(&receipt));
        assert!(!b.confirm(&receipt));
        assert!(matches!(
            b.decrypt(&msgs[0].0, &msgs[0].1, b"", &mut rng),
            Err(DecryptError::DuplicateOrEvicted { .. })
        ));
        // Out of order: message 2 stores key 1 (skipped) and key 2 (used).
        let (_, r2) = b.decrypt(&msgs[2].0, &msgs[2].1, b"", &mut rng).unwrap();
        assert_eq!(b.skipped_len(), 2);
        assert_eq!(b.state().keys_count(), 3);
        // Message 1 from the store: no state change, the key stays until confirmed.
        let before = snapshot(&b);
        let (pt1, r1) = b.decrypt(&msgs[1].0, &msgs[1].1, b"", &mut rng).unwrap();
        assert_eq!(pt1, msgs[1].2);
        assert_eq!(snapshot(&b), before);
        assert!(b.confirm(&r1.unwrap()));
        assert!(b.confirm(&r2.unwrap()));
        assert_eq!(b.skipped_len(), 0);
    }
}

#[test]
fn immediate_mode_removes_a_used_skipped_key() {
    let mut rng = TestRng::new(9);
    let (mut a, b) = pair(
        SuiteId::StatusGo,
        &mut rng,
        Limits::default(),
        ConfirmMode::Immediate,
    );
    let msgs = send_many(&mut a, 2);
    let d = b
        .state()
        .decrypt(
            &(),
            &msgs[1].0,
            &msgs[1].1,
            b"",
            &mut rng,
            b.limits(),
            ConfirmMode::Immediate,
        )
        .unwrap();
    assert_eq!(d.changes.insert.len(), 1);
    assert_eq!(d.changes.insert[0].n, 0);
    assert!(d.changes.remove.is_empty());
    assert!(d.receipt.is_none());
    // Looking key 0 up in a store that has it: the change removes it.
    struct One(pfs_ratchet::NewSkippedKey);
    impl pfs_ratchet::SkippedKeys for One {
        fn get(
            &self,
            k: &[u8],
            n: u32,
        ) -> Result<Option<pfs_ratchet::MessageKey>, pfs_ratchet::SkippedKeysError> {
            Ok((k == self.0.ratchet_key.as_slice() && n == self.0.n).then(|| self.0.mk.clone()))
        }
    }
    let store = One(d.changes.insert[0].clone());
    let d0 = d
        .state
        .decrypt(
            &store,
            &msgs[0].0,
            &msgs[0].1,
            b"",
            &mut rng,
            b.limits(),
            ConfirmMode::Immediate,
        )
        .unwrap();
    assert_eq!(d0.plaintext, msgs[0].2);
    assert_eq!(d0.changes.remove, vec![(msgs[0].0.key.clone(), 0)]);
    assert!(d0.changes.insert.is_empty());
    assert_eq!(d0.state, d.state);
}
