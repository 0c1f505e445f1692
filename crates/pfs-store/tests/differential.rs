//! Differential test: random sequences of store operations, grouped into transactions
//! that are committed or dropped, applied to a [`MemoryStore`] and a [`SqliteStore`]
//! side by side. Every call must give the same result (value or error kind) in both, and
//! after every transaction everything observable over the small key universe must be
//! equal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_crypto::{SecretBytes, SecretVec};
use pfs_store::*;
use proptest::prelude::*;

fn k33(b: u8) -> [u8; 33] {
    let mut k = [b; 33];
    k[0] = 3;
    k
}

fn ik(b: u8) -> IdentityKey {
    IdentityKey::from_bytes(k33(b))
}

fn spk(b: u8) -> SignedPreKey {
    SignedPreKey::from_bytes(k33(b))
}

fn skey(peer: u8, id: u8) -> SessionKey {
    SessionKey {
        peer_identity: ik(peer),
        id: vec![b'a' + id; 1 + usize::from(id % 2)],
    }
}

fn inst(i: u8) -> InstallationId {
    InstallationId::new(["a", "B", "ab", "ä"][usize::from(i % 4)]).unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Commit,
    Drop,
    Account(u8),
    PutPrekey(u8, u32),
    DeletePrekey(u8),
    PutInstallation(u8, u8, i64),
    DeleteInstallation(u8, u8),
    PutPeerPrekey(u8, u8, u8, u32),
    PutSession(u8, u8, u8, u8),
    DeleteSession(u8, u8),
    PutSkipped(u8, u8, Vec<(u8, u32, u64, Option<u8>)>),
    DeleteSkipped(u8, u8, u8, u32),
    Truncate(u8, u8, usize),
    Upto(u8, u8, u64),
    PutX3dh(u8, u8, i64),
    DeleteX3dhFor(u8),
    PutRate(u8, u8, i64),
    PutContact(u8, u8, Option<u8>),
    ExpireInvalid(i64),
    ExpireRooted(Vec<u8>, i64),
    DeleteExpired(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0u8..2;
    let id = 0u8..2;
    prop_oneof![
        3 => Just(Op::Commit),
        1 => Just(Op::Drop),
        1 => any::<u8>().prop_map(Op::Account),
        1 => (0u8..4, 0u32..3).prop_map(|(a, b)| Op::PutPrekey(a, b)),
        1 => (0u8..4).prop_map(Op::DeletePrekey),
        1 => (p.clone(), 0u8..4, -3i64..3).prop_map(|(a, b, c)| Op::PutInstallation(a, b, c)),
        1 => (p.clone(), 0u8..4).prop_map(|(a, b)| Op::DeleteInstallation(a, b)),
        1 => (p.clone(), 0u8..4, 0u8..3, 0u32..3)
            .prop_map(|(a, b, c, d)| Op::PutPeerPrekey(a, b, c, d)),
        4 => (p.clone(), id.clone(), 0u8..4, any::<u8>())
            .prop_map(|(a, b, c, d)| Op::PutSession(a, b, c, d)),
        1 => (p.clone(), id.clone()).prop_map(|(a, b)| Op::DeleteSession(a, b)),
        6 => (
            p.clone(),
            id.clone(),
            prop::collection::vec((0u8..3, 0u32..6, 0u64..12, prop::option::of(0u8..2)), 0..5)
        )
            .prop_map(|(a, b, c)| Op::PutSkipped(a, b, c)),
        1 => (p.clone(), id.clone(), 0u8..3, 0u32..6)
            .prop_map(|(a, b, c, d)| Op::DeleteSkipped(a, b, c, d)),
        2 => (p.clone(), id.clone(), 0usize..5).prop_map(|(a, b, c)| Op::Truncate(a, b, c)),
        2 => (p.clone(), id.clone(), 0u64..12).prop_map(|(a, b, c)| Op::Upto(a, b, c)),
        1 => (0u8..3, 0u8..3, any::<i64>()).prop_map(|(a, b, c)| Op::PutX3dh(a, b, c)),
        1 => (0u8..3).prop_map(Op::DeleteX3dhFor),
        1 => (0u8..2, 0u8..2, any::<i64>()).prop_map(|(a, b, c)| Op::PutRate(a, b, c)),
        1 => (0u8..3, 0u8..4, prop::option::of(0u8..3)).prop_map(|(a, b, c)| Op::PutContact(a, b, c)),
        1 => (-3i64..3).prop_map(Op::ExpireInvalid),
        1 => (prop::collection::vec(0u8..16, 0..3), -3i64..3)
            .prop_map(|(a, b)| Op::ExpireRooted(a, b)),
        1 => prop_oneof![-3i64..3, Just(i64::MAX), Just(i64::MIN)].prop_map(Op::DeleteExpired),
    ]
}

/// Applies one write; the result is reduced to what must agree between stores (the
/// count, for the maintenance queries).
fn apply(tx: &mut dyn Transaction, op: &Op) -> Result<Option<usize>, String> {
    let kind = |e: StoreError| match e {
        StoreError::Invalid(_) => "invalid".to_owned(),
        other => panic!("unexpected error {other:?}"),
    };
    let counted = match op {
        Op::ExpireInvalid(at) => Some(tx.expire_sessions_on_invalid_prekeys(*at)),
        Op::ExpireRooted(spks, at) => {
            let spks: Vec<SignedPreKey> = spks.iter().map(|b| spk(*b)).collect();
            Some(tx.expire_responder_sessions_rooted_in(&spks, *at))
        }
        Op::DeleteExpired(until) => Some(tx.delete_sessions_expired_until(*until)),
        _ => None,
    };
    if let Some(r) = counted {
        return r.map(Some).map_err(kind);
    }
    match op {
        Op::Commit | Op::Drop => Ok(()),
        Op::Account(t) => tx.put_account(&AccountRecord {
            identity_secret: SecretBytes::new([*t; 32]),
            installation_id: inst(*t),
            created_at: i64::from(*t),
        }),
        Op::PutPrekey(b, v) => tx.put_own_prekey(&OwnPreKeyRecord {
            public: spk(*b),
            secret: SecretBytes::new([b.wrapping_mul(7).wrapping_add(*v as u8); 32]),
            version: *v,
            created_at: 1,
            expired_at: (*v == 1).then_some(2),
        }),
        Op::DeletePrekey(b) => tx.delete_own_prekey(&spk(*b)),
        Op::PutInstallation(p, i, ts) => tx.put_installation(&InstallationRecord {
            identity: ik(*p),
            installation_id: inst(*i),
            timestamp: *ts,
            enabled: *ts > 0,
            protocol_version: 1,
            first_seen: 0,
            last_bundle_at: *ts,
            missing_since: (*ts < 0).then_some(*ts),
            stale: *ts == -2,
            heard_with_protocol_version: true,
        }),
        Op::DeleteInstallation(p, i) => tx.delete_installation(&ik(*p), &inst(*i)),
        Op::PutPeerPrekey(p, i, b, v) => tx.put_peer_prekey(&PeerPreKeyRecord {
            identity: ik(*p),
            installation_id: inst(*i),
            public: spk(10 + b),
            version: *v,
            protocol_version: 1,
            bundle_timestamp: 5,
            expired: *v == 0,
            received_at: 6,
        }),
        Op::PutSession(p, id, i, tag) => tx.put_session(&SessionRecord {
            key: skey(*p, *id),
            peer_installation: inst(*i),
            // small: sessions rooted in the prekeys put above (maintenance queries)
            rooted_spk: spk(*tag % 16),
            we_initiated: tag % 2 == 0,
            suite: pfs_store::RatchetSuite::from_code(*tag),
            state: SecretVec::new(vec![*tag; usize::from(*tag)]),
            shared_secret: SecretBytes::new([tag.wrapping_add(1); 32]),
            pending_x3dh_ephemeral: (tag % 3 == 0).then(|| EphemeralKey::from_bytes(k33(*tag))),
            created_at: i64::from(*tag),
            last_used: 0,
            expired_at: None,
        }),
        Op::DeleteSession(p, id) => tx.delete_session(&skey(*p, *id)),
        Op::PutSkipped(p, id, keys) => {
            let keys: Vec<SkippedKeyRecord> = keys
                .iter()
                .map(|(r, n, seq, m)| SkippedKeyRecord {
                    ratchet_key: k33(20 + r).to_vec(),
                    n: *n,
                    message_key: SecretBytes::new([r ^ (*n as u8) ^ (*seq as u8); 32]),
                    seq: *seq,
                    pending_message_id: m.map(|m| MessageId::new(vec![m])),
                })
                .collect();
            tx.put_skipped_keys(&skey(*p, *id), &keys)
        }
        Op::DeleteSkipped(p, id, r, n) => tx.delete_skipped_key(&skey(*p, *id), &k33(20 + r), *n),
        Op::Truncate(p, id, keep) => tx.truncate_skipped_keys(&skey(*p, *id), *keep),
        Op::Upto(p, id, seq) => tx.delete_skipped_keys_upto(&skey(*p, *id), *seq),
        Op::PutX3dh(a, b, at) => {
            tx.put_x3dh_seen(&spk(*a), &EphemeralKey::from_bytes(k33(*b)), *at)
        }
        Op::DeleteX3dhFor(a) => tx.delete_x3dh_seen_for(&spk(*a)),
        Op::PutRate(k, v, at) => tx.put_rate_limit(["bundle", "ack"][usize::from(*k)], &[*v], *at),
        Op::PutContact(b, s, name) => tx.put_contact(&ContactRecord {
            identity: ik(*b),
            state: [
                ContactState::Added,
                ContactState::RequestReceived,
                ContactState::Accepted,
                ContactState::Declined,
            ][usize::from(*s)],
            name: name.map(|n| "xé".repeat(usize::from(n))),
            updated_at: 3,
        }),
        Op::ExpireInvalid(_) | Op::ExpireRooted(..) | Op::DeleteExpired(_) => Ok(()),
    }
    .map(|()| None)
    .map_err(kind)
}

/// Everything observable over the key universe the operations use.
#[derive(Debug, PartialEq, Eq)]
struct View {
    account: Option<AccountRecord>,
    own: Vec<OwnPreKeyRecord>,
    own_each: Vec<Option<OwnPreKeyRecord>>,
    installations: Vec<InstallationRecord>,
    per_identity: Vec<Vec<InstallationRecord>>,
    peer_prekeys: Vec<Vec<PeerPreKeyRecord>>,
    sessions: Vec<SessionRecord>,
    sessions_with: Vec<Vec<SessionRecord>>,
    counts: Vec<usize>,
    skipped: Vec<Option<SkippedKeyRecord>>,
    unconfirmed: Vec<Vec<(SessionKey, SkippedKeyRecord)>>,
    x3dh: Vec<Option<Nanos>>,
    rates: Vec<Option<Nanos>>,
    contacts: Vec<ContactRecord>,
    responder_roots: Vec<bool>,
    missing: Vec<Vec<InstallationRecord>>,
}

fn view(tx: &dyn Transaction) -> View {
    let mut v = View {
        account: tx.account().unwrap(),
        own: tx.own_prekeys().unwrap(),
        own_each: (0..4).map(|b| tx.own_prekey(&spk(b)).unwrap()).collect(),
        installations: tx.all_installations().unwrap(),
        per_identity: (0..3).map(|p| tx.installations(&ik(p)).unwrap()).collect(),
        peer_prekeys: Vec::new(),
        sessions: tx.all_sessions().unwrap(),
        sessions_with: Vec::new(),
        counts: Vec::new(),
        skipped: Vec::new(),
        unconfirmed: (0..3)
            .map(|m| tx.unconfirmed_keys(&MessageId::from(&[m])).unwrap())
            .collect(),
        x3dh: Vec::new(),
        rates: Vec::new(),
        contacts: tx.contacts().unwrap(),
        responder_roots: (0..16)
            .map(|b| tx.responder_session_rooted_in(&spk(b)).unwrap())
            .collect(),
        missing: [i64::MIN, -1, 0, 2, 4, i64::MAX]
            .into_iter()
            .map(|t| tx.installations_missing_until(t).unwrap())
            .collect(),
    };
    for p in 0..3 {
        for i in 0..4 {
            v.peer_prekeys
                .push(tx.peer_prekeys(&ik(p), &inst(i)).unwrap());
            v.sessions_with
                .push(tx.sessions_with(&ik(p), &inst(i)).unwrap());
        }
        for id in 0..3 {
            let s = skey(p, id);
            v.counts.push(tx.count_skipped_keys(&s).unwrap());
            for r in 0..3 {
                for n in 0..6 {
                    v.skipped.push(tx.skipped_key(&s, &k33(20 + r), n).unwrap());
                }
            }
        }
        for b in 0..3 {
            v.x3dh.push(
                tx.x3dh_seen(&spk(p), &EphemeralKey::from_bytes(k33(b)))
                    .unwrap(),
            );
        }
    }
    for k in ["bundle", "ack"] {
        for b in 0..2 {
            v.rates.push(tx.rate_limit(k, &[b]).unwrap());
        }
    }
    v
}

fn run(ops: &[Op]) {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteStore::open_with_key(
        dir.path().join("d.sqlite"),
        &StoreKey::new([5; 32]),
        SqliteOptions::default(),
    )
    .unwrap();
    let mut memory = MemoryStore::new();
    let mut rest = ops;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|o| matches!(o, Op::Commit | Op::Drop))
            .map_or(rest.len(), |i| i + 1);
        let (batch, tail) = rest.split_at(end);
        rest = tail;
        let mut a = memory.begin().unwrap();
        let mut b = sqlite.begin().unwrap();
        for op in batch {
            assert_eq!(apply(&mut *a, op), apply(&mut *b, op), "{op:?}");
        }
        assert_eq!(view(&*a), view(&*b), "inside the transaction");
        if matches!(batch.last(), Some(Op::Commit)) {
            a.commit().unwrap();
            b.commit().unwrap();
        } else {
            drop((a, b));
        }
        let (a, b) = (memory.begin().unwrap(), sqlite.begin().unwrap());
        assert_eq!(view(&*a), view(&*b), "after the transaction");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn memory_and_sqlite_agree(ops in prop::collection::vec(op(), 1..100)) {
        run(&ops);
    }
}
