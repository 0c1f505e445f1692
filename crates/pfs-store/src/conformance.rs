//! The store conformance suite: written once, run against every [`Store`] (the cargo
//! feature `conformance`).
//!
//! Each case takes a fresh, empty store and checks one part of the [`Store`] /
//! [`Transaction`] contract (ordering, replacement, deletion, read-your-writes, rollback on
//! drop, the metadata-only maintenance queries, ...). A third-party store runs all of them
//! in one line:
//!
//! ```
//! # fn main() {
//! pfs_store::conformance::run_all(|| Box::new(pfs_store::MemoryStore::new()));
//! # }
//! ```
//!
//! This crate runs every case, one test each, against [`crate::MemoryStore`] and
//! [`crate::SqliteStore`] (on a file, and closed and reopened before every transaction)
//! in `tests/conformance.rs`. The record builders ([`k33`], [`session`], [`seed`],
//! [`snapshot`], ...) are public for tests of stores that want more cases.
//!
//! This is test code: a failed check panics (with the case's name, from [`run_all`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use crate::*;
use pfs_crypto::{SecretBytes, SecretVec};

/// A test key: `02 ‖ b*32`.
pub fn k33(b: u8) -> [u8; 33] {
    let mut k = [b; 33];
    k[0] = 2;
    k
}

/// [`k33`] as an identity key.
pub fn ik(b: u8) -> IdentityKey {
    IdentityKey::from_bytes(k33(b))
}

/// [`k33`] as a signed prekey.
pub fn spk(b: u8) -> SignedPreKey {
    SignedPreKey::from_bytes(k33(b))
}

/// [`k33`] as an ephemeral key.
pub fn ek(b: u8) -> EphemeralKey {
    EphemeralKey::from_bytes(k33(b))
}

/// An installation id (panics on an empty or over-long one: test code).
pub fn inst(id: &str) -> InstallationId {
    InstallationId::new(id).unwrap()
}

pub fn skey(peer: u8, id: &[u8]) -> SessionKey {
    SessionKey {
        peer_identity: ik(peer),
        id: id.to_vec(),
    }
}

pub fn account(tag: u8) -> AccountRecord {
    AccountRecord {
        identity_secret: SecretBytes::new([tag; 32]),
        installation_id: inst(&format!("install-{tag}")),
        created_at: 1_000 + i64::from(tag),
    }
}

pub fn own_prekey(b: u8, version: u32) -> OwnPreKeyRecord {
    OwnPreKeyRecord {
        public: spk(b),
        secret: SecretBytes::new([b ^ 0x55; 32]),
        version,
        created_at: i64::from(version) * 10,
        expired_at: if version.is_multiple_of(2) {
            Some(i64::from(version) * 10 + 5)
        } else {
            None
        },
    }
}

pub fn installation(identity: u8, id: &str, ts: Nanos) -> InstallationRecord {
    InstallationRecord {
        identity: ik(identity),
        installation_id: inst(id),
        timestamp: ts,
        enabled: ts % 2 == 0,
        protocol_version: 1,
        first_seen: ts - 1,
        last_bundle_at: ts + 1,
        missing_since: if ts % 3 == 0 { Some(ts + 2) } else { None },
        stale: ts % 5 == 0,
        heard_with_protocol_version: ts % 7 == 0,
    }
}

pub fn peer_prekey(identity: u8, inst: &str, public: u8, version: u32) -> PeerPreKeyRecord {
    PeerPreKeyRecord {
        identity: ik(identity),
        installation_id: self::inst(inst),
        public: spk(public),
        version,
        protocol_version: 1,
        bundle_timestamp: -5 + i64::from(version),
        expired: version == 1,
        received_at: i64::MAX - i64::from(version),
    }
}

/// A session whose state is 300 bytes covering every byte value, tagged by `tag`.
pub fn session(key: SessionKey, inst: &str, tag: u8) -> SessionRecord {
    let state: Vec<u8> = (0..300u32).map(|i| (i as u8).wrapping_add(tag)).collect();
    SessionRecord {
        key,
        peer_installation: self::inst(inst),
        rooted_spk: spk(0x70 ^ tag),
        we_initiated: tag.is_multiple_of(2),
        suite: RatchetSuite::from_code(tag),
        state: SecretVec::new(state),
        shared_secret: SecretBytes::new([tag ^ 0xA5; 32]),
        pending_x3dh_ephemeral: if tag.is_multiple_of(2) {
            Some(ek(0x60 ^ tag))
        } else {
            None
        },
        created_at: i64::MIN + i64::from(tag),
        last_used: i64::from(tag) * 1_000_000_007,
        expired_at: if tag.is_multiple_of(3) {
            Some(99)
        } else {
            None
        },
    }
}

pub fn skipped(ratchet: u8, n: u32, seq: u64) -> SkippedKeyRecord {
    let mut mk = [0u8; 32];
    mk[0] = ratchet;
    mk[1..5].copy_from_slice(&n.to_be_bytes());
    mk[5..13].copy_from_slice(&seq.to_be_bytes());
    SkippedKeyRecord {
        ratchet_key: k33(ratchet).to_vec(),
        n,
        message_key: SecretBytes::new(mk),
        seq,
        pending_message_id: None,
    }
}

pub fn contact(b: u8, state: ContactState, name: Option<&str>) -> ContactRecord {
    ContactRecord {
        identity: ik(b),
        state,
        name: name.map(str::to_owned),
        updated_at: i64::from(b) << 40,
    }
}

fn commit_with(store: &mut dyn Store, f: impl FnOnce(&mut dyn Transaction)) {
    let mut tx = store.begin().unwrap();
    f(&mut *tx);
    tx.commit().unwrap();
}

fn read<T>(store: &mut dyn Store, f: impl FnOnce(&dyn Transaction) -> T) -> T {
    let tx = store.begin().unwrap();
    f(&*tx)
}

/// The session keys, ratchet keys, numbers, ids … that [`seed`] uses; [`snapshot`]
/// probes all of them.
const SESSIONS: [(u8, &[u8]); 3] = [(1, b"s-a"), (1, b"s-b"), (2, b"s-a")];

/// Fills the store with one record of every kind (plus a few).
pub fn seed(tx: &mut dyn Transaction) {
    tx.put_account(&account(1)).unwrap();
    tx.put_own_prekey(&own_prekey(10, 1)).unwrap();
    tx.put_own_prekey(&own_prekey(11, 2)).unwrap();
    tx.put_installation(&installation(1, "inst-1", 100))
        .unwrap();
    tx.put_installation(&installation(2, "inst-2", 200))
        .unwrap();
    tx.put_peer_prekey(&peer_prekey(1, "inst-1", 20, 1))
        .unwrap();
    tx.put_peer_prekey(&peer_prekey(1, "inst-1", 21, 2))
        .unwrap();
    for (i, (peer, id)) in SESSIONS.iter().enumerate() {
        let k = skey(*peer, id);
        tx.put_session(&session(k.clone(), "inst-1", i as u8 + 1))
            .unwrap();
        let mut keys: Vec<_> = (0..5).map(|n| skipped(30, n, u64::from(n))).collect();
        keys[1].pending_message_id = Some(MessageId::from(b"msg-1"));
        tx.put_skipped_keys(&k, &keys).unwrap();
    }
    tx.put_x3dh_seen(&spk(10), &ek(40), 7).unwrap();
    tx.put_rate_limit("bundle", b"peer-1", 8).unwrap();
    tx.put_contact(&contact(1, ContactState::Added, Some("one")))
        .unwrap();
}

/// Everything observable through the trait, at the keys the suite uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    account: Option<AccountRecord>,
    own_prekeys: Vec<OwnPreKeyRecord>,
    installations: Vec<InstallationRecord>,
    peer_prekeys: Vec<Vec<PeerPreKeyRecord>>,
    sessions: Vec<SessionRecord>,
    counts: Vec<usize>,
    skipped: Vec<Option<SkippedKeyRecord>>,
    unconfirmed: Vec<Vec<(SessionKey, SkippedKeyRecord)>>,
    x3dh: Vec<Option<Nanos>>,
    rate: Vec<Option<Nanos>>,
    contacts: Vec<ContactRecord>,
}

pub fn snapshot(tx: &dyn Transaction) -> Snapshot {
    let mut peer_prekeys = Vec::new();
    let mut counts = Vec::new();
    let mut skipped = Vec::new();
    for p in [1u8, 2, 3] {
        for inst in ["inst-1", "inst-2", "inst-3"] {
            peer_prekeys.push(tx.peer_prekeys(&ik(p), &self::inst(inst)).unwrap());
        }
    }
    for (peer, id) in SESSIONS.iter().chain([(3u8, &b"s-c"[..])].iter()) {
        let k = skey(*peer, id);
        counts.push(tx.count_skipped_keys(&k).unwrap());
        for r in [30u8, 31] {
            for n in 0..12 {
                skipped.push(tx.skipped_key(&k, &k33(r), n).unwrap());
            }
        }
    }
    Snapshot {
        account: tx.account().unwrap(),
        own_prekeys: tx.own_prekeys().unwrap(),
        installations: tx.all_installations().unwrap(),
        peer_prekeys,
        sessions: tx.all_sessions().unwrap(),
        counts,
        skipped,
        unconfirmed: [&b"msg-1"[..], b"msg-2"]
            .iter()
            .map(|m| tx.unconfirmed_keys(&MessageId::from(m)).unwrap())
            .collect(),
        x3dh: [(10u8, 40u8), (10, 41), (12, 40)]
            .iter()
            .map(|(a, b)| tx.x3dh_seen(&spk(*a), &ek(*b)).unwrap())
            .collect(),
        rate: [
            ("bundle", &b"peer-1"[..]),
            ("bundle", b"peer-2"),
            ("ack", b"peer-1"),
        ]
        .iter()
        .map(|(k, v)| tx.rate_limit(k, v).unwrap())
        .collect(),
        contacts: tx.contacts().unwrap(),
    }
}

/// Writes, replaces and deletes something in every table.
fn scribble(tx: &mut dyn Transaction, round: u32) {
    let r = round as u8;
    tx.put_account(&account(200u8.wrapping_add(r))).unwrap();
    tx.put_own_prekey(&own_prekey(12u8.wrapping_add(r), 3 + round))
        .unwrap();
    tx.delete_own_prekey(&spk(10)).unwrap();
    tx.put_installation(&installation(3, "inst-3", 300 + i64::from(round)))
        .unwrap();
    tx.delete_installation(&ik(1), &inst("inst-1")).unwrap();
    tx.put_peer_prekey(&peer_prekey(1, "inst-1", 20, 9 + round))
        .unwrap();
    let a = skey(1, b"s-a");
    tx.put_session(&session(a.clone(), "inst-2", 40u8.wrapping_add(r)))
        .unwrap();
    tx.delete_session(&skey(1, b"s-b")).unwrap();
    tx.put_skipped_keys(&a, &[skipped(31, round % 12, 1000 + u64::from(round))])
        .unwrap();
    tx.delete_skipped_key(&skey(2, b"s-a"), &k33(30), 0)
        .unwrap();
    tx.truncate_skipped_keys(&skey(2, b"s-a"), 2).unwrap();
    tx.delete_skipped_keys_upto(&a, 2).unwrap();
    let c = skey(3, b"s-c");
    tx.put_session(&session(c.clone(), "inst-3", 50)).unwrap();
    tx.put_skipped_keys(&c, &[skipped(30, 7, 7)]).unwrap();
    tx.put_x3dh_seen(&spk(10), &ek(41), i64::from(round))
        .unwrap();
    tx.delete_x3dh_seen_for(&spk(10)).unwrap();
    tx.put_rate_limit("bundle", b"peer-1", 100 + i64::from(round))
        .unwrap();
    tx.put_contact(&contact(1, ContactState::Declined, None))
        .unwrap();
    tx.put_contact(&contact(2, ContactState::Accepted, Some("two")))
        .unwrap();
}

// ---------------------------------------------------------------------------------------

pub fn empty_store_reads_nothing(store: &mut dyn Store) {
    read(store, |tx| {
        assert_eq!(tx.account().unwrap(), None);
        assert!(tx.own_prekeys().unwrap().is_empty());
        assert_eq!(tx.own_prekey(&spk(1)).unwrap(), None);
        assert_eq!(tx.installation(&ik(1), &inst("x")).unwrap(), None);
        assert!(tx.installations(&ik(1)).unwrap().is_empty());
        assert!(tx.all_installations().unwrap().is_empty());
        assert!(tx.peer_prekeys(&ik(1), &inst("x")).unwrap().is_empty());
        assert_eq!(tx.session(&skey(1, b"x")).unwrap(), None);
        assert!(tx.sessions_with(&ik(1), &inst("x")).unwrap().is_empty());
        assert!(tx.all_sessions().unwrap().is_empty());
        assert_eq!(tx.skipped_key(&skey(1, b"x"), b"r", 0).unwrap(), None);
        assert_eq!(tx.count_skipped_keys(&skey(1, b"x")).unwrap(), 0);
        assert!(
            tx.unconfirmed_keys(&MessageId::from(b"m"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(tx.x3dh_seen(&spk(1), &ek(2)).unwrap(), None);
        assert_eq!(tx.rate_limit("k", b"v").unwrap(), None);
        assert_eq!(tx.contact(&ik(1)).unwrap(), None);
        assert!(tx.contacts().unwrap().is_empty());
    });
    // Deleting what does not exist is not an error.
    commit_with(store, |tx| {
        tx.delete_own_prekey(&spk(1)).unwrap();
        tx.delete_installation(&ik(1), &inst("x")).unwrap();
        tx.delete_session(&skey(1, b"x")).unwrap();
        tx.delete_skipped_key(&skey(1, b"x"), b"r", 0).unwrap();
        tx.truncate_skipped_keys(&skey(1, b"x"), 0).unwrap();
        tx.delete_skipped_keys_upto(&skey(1, b"x"), u64::MAX)
            .unwrap();
        tx.delete_x3dh_seen_for(&spk(1)).unwrap();
        tx.put_skipped_keys(&skey(1, b"x"), &[]).unwrap();
    });
}

pub fn account_round_trip_and_replace(store: &mut dyn Store) {
    commit_with(store, |tx| tx.put_account(&account(1)).unwrap());
    assert_eq!(read(store, |tx| tx.account().unwrap()), Some(account(1)));
    commit_with(store, |tx| tx.put_account(&account(2)).unwrap());
    let got = read(store, |tx| tx.account().unwrap()).unwrap();
    assert_eq!(got, account(2));
    assert_eq!(got.identity_secret.expose(), &[2u8; 32]);
}

pub fn own_prekeys_order_replace_delete(store: &mut dyn Store) {
    commit_with(store, |tx| {
        tx.put_own_prekey(&own_prekey(9, 3)).unwrap();
        tx.put_own_prekey(&own_prekey(8, 1)).unwrap();
        tx.put_own_prekey(&own_prekey(7, 2)).unwrap();
        // Same version as key 7: ties are ordered by public key bytes.
        tx.put_own_prekey(&own_prekey(6, 2)).unwrap();
    });
    read(store, |tx| {
        let got: Vec<(u8, u32)> = tx
            .own_prekeys()
            .unwrap()
            .iter()
            .map(|p| (p.public.as_bytes()[1], p.version))
            .collect();
        assert_eq!(got, vec![(8, 1), (6, 2), (7, 2), (9, 3)]);
        assert_eq!(tx.own_prekey(&spk(7)).unwrap(), Some(own_prekey(7, 2)));
        assert_eq!(tx.own_prekey(&spk(5)).unwrap(), None);
    });
    commit_with(store, |tx| {
        let mut p = own_prekey(7, 2);
        p.expired_at = Some(1234);
        p.secret = SecretBytes::new([0xEE; 32]);
        tx.put_own_prekey(&p).unwrap();
        tx.delete_own_prekey(&spk(9)).unwrap();
    });
    read(store, |tx| {
        let p = tx.own_prekey(&spk(7)).unwrap().unwrap();
        assert_eq!(p.expired_at, Some(1234));
        assert_eq!(p.secret.expose(), &[0xEE; 32]);
        assert_eq!(tx.own_prekey(&spk(9)).unwrap(), None);
        assert_eq!(tx.own_prekeys().unwrap().len(), 3);
    });
}

pub fn installations_order_replace_delete(store: &mut dyn Store) {
    // Byte order: "B-…" < "a-…" < "ä" (UTF-8 0xC3…).
    commit_with(store, |tx| {
        tx.put_installation(&installation(2, "a-2", 1)).unwrap();
        tx.put_installation(&installation(1, "ä", 2)).unwrap();
        tx.put_installation(&installation(1, "a-1", 3)).unwrap();
        tx.put_installation(&installation(1, "B-1", 4)).unwrap();
    });
    read(store, |tx| {
        let ids: Vec<String> = tx
            .installations(&ik(1))
            .unwrap()
            .into_iter()
            .map(|i| i.installation_id.into_string())
            .collect();
        assert_eq!(ids, ["B-1", "a-1", "ä"]);
        let all: Vec<(u8, String)> = tx
            .all_installations()
            .unwrap()
            .into_iter()
            .map(|i| (i.identity.as_bytes()[1], i.installation_id.into_string()))
            .collect();
        assert_eq!(
            all,
            [
                (1, "B-1".to_owned()),
                (1, "a-1".to_owned()),
                (1, "ä".to_owned()),
                (2, "a-2".to_owned())
            ]
        );
        assert_eq!(
            tx.installation(&ik(1), &inst("a-1")).unwrap(),
            Some(installation(1, "a-1", 3))
        );
        assert_eq!(tx.installation(&ik(2), &inst("a-1")).unwrap(), None);
    });
    commit_with(store, |tx| {
        tx.put_installation(&installation(1, "a-1", 30)).unwrap();
        tx.delete_installation(&ik(1), &inst("B-1")).unwrap();
    });
    read(store, |tx| {
        assert_eq!(
            tx.installation(&ik(1), &inst("a-1")).unwrap(),
            Some(installation(1, "a-1", 30))
        );
        assert_eq!(tx.installation(&ik(1), &inst("B-1")).unwrap(), None);
        assert_eq!(tx.all_installations().unwrap().len(), 3);
    });
}

pub fn peer_prekeys_order_and_scope(store: &mut dyn Store) {
    commit_with(store, |tx| {
        tx.put_peer_prekey(&peer_prekey(1, "i", 20, 1)).unwrap();
        tx.put_peer_prekey(&peer_prekey(1, "i", 23, 3)).unwrap();
        tx.put_peer_prekey(&peer_prekey(1, "i", 22, 2)).unwrap();
        tx.put_peer_prekey(&peer_prekey(1, "i", 21, 2)).unwrap();
        tx.put_peer_prekey(&peer_prekey(1, "j", 24, 5)).unwrap();
        tx.put_peer_prekey(&peer_prekey(2, "i", 25, 5)).unwrap();
    });
    read(store, |tx| {
        let got: Vec<(u8, u32)> = tx
            .peer_prekeys(&ik(1), &inst("i"))
            .unwrap()
            .iter()
            .map(|p| (p.public.as_bytes()[1], p.version))
            .collect();
        assert_eq!(got, [(23, 3), (21, 2), (22, 2), (20, 1)]);
        assert_eq!(
            tx.peer_prekeys(&ik(1), &inst("j")).unwrap(),
            [peer_prekey(1, "j", 24, 5)]
        );
        assert_eq!(
            tx.peer_prekeys(&ik(2), &inst("i")).unwrap(),
            [peer_prekey(2, "i", 25, 5)]
        );
    });
    commit_with(store, |tx| {
        let mut p = peer_prekey(1, "i", 23, 3);
        p.expired = true;
        tx.put_peer_prekey(&p).unwrap();
    });
    read(store, |tx| {
        let v = tx.peer_prekeys(&ik(1), &inst("i")).unwrap();
        assert_eq!(v.len(), 4);
        assert!(v[0].expired);
    });
}

pub fn sessions_lookup_order_and_secrets(store: &mut dyn Store) {
    // "ab" sorts after "a" and before "b" (a prefix sorts first).
    commit_with(store, |tx| {
        tx.put_session(&session(skey(1, b"b"), "inst-1", 1))
            .unwrap();
        tx.put_session(&session(skey(1, b"ab"), "inst-1", 2))
            .unwrap();
        tx.put_session(&session(skey(1, b"a"), "inst-1", 3))
            .unwrap();
        tx.put_session(&session(skey(1, b"c"), "inst-2", 4))
            .unwrap();
        tx.put_session(&session(skey(0, b"z"), "inst-1", 5))
            .unwrap();
    });
    read(store, |tx| {
        let s = tx.session(&skey(1, b"ab")).unwrap().unwrap();
        assert_eq!(s, session(skey(1, b"ab"), "inst-1", 2));
        let expected_state: Vec<u8> = (0..300u32).map(|i| (i as u8).wrapping_add(2)).collect();
        assert_eq!(s.state.expose(), &expected_state[..]);
        assert_eq!(s.shared_secret.expose(), &[2 ^ 0xA5; 32]);
        assert_eq!(s.pending_x3dh_ephemeral, Some(ek(0x60 ^ 2)));
        assert_eq!(tx.session(&skey(2, b"ab")).unwrap(), None);
        let ids: Vec<Vec<u8>> = tx
            .sessions_with(&ik(1), &inst("inst-1"))
            .unwrap()
            .into_iter()
            .map(|s| s.key.id)
            .collect();
        assert_eq!(ids, [b"a".to_vec(), b"ab".to_vec(), b"b".to_vec()]);
        let all: Vec<SessionKey> = tx
            .all_sessions()
            .unwrap()
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(
            all,
            [
                skey(0, b"z"),
                skey(1, b"a"),
                skey(1, b"ab"),
                skey(1, b"b"),
                skey(1, b"c")
            ]
        );
    });
    // Replacing a session keeps its skipped keys and changes every field.
    commit_with(store, |tx| {
        tx.put_skipped_keys(&skey(1, b"a"), &[skipped(30, 1, 1)])
            .unwrap();
        let mut s = session(skey(1, b"a"), "inst-9", 8);
        s.state = SecretVec::new(vec![0xAB; 1000]);
        tx.put_session(&s).unwrap();
    });
    read(store, |tx| {
        let s = tx.session(&skey(1, b"a")).unwrap().unwrap();
        assert_eq!(s.peer_installation, "inst-9");
        assert_eq!(s.suite, RatchetSuite::Unknown(8));
        assert_eq!(s.state.expose(), &[0xAB; 1000][..]);
        assert_eq!(tx.count_skipped_keys(&skey(1, b"a")).unwrap(), 1);
        assert_eq!(tx.sessions_with(&ik(1), &inst("inst-9")).unwrap().len(), 1);
    });
}

pub fn delete_session_removes_its_skipped_keys(store: &mut dyn Store) {
    let a = skey(1, b"a");
    let b = skey(1, b"b");
    commit_with(store, |tx| {
        tx.put_session(&session(a.clone(), "i", 1)).unwrap();
        tx.put_session(&session(b.clone(), "i", 2)).unwrap();
        let keys: Vec<_> = (0..50).map(|n| skipped(30, n, u64::from(n))).collect();
        tx.put_skipped_keys(&a, &keys).unwrap();
        tx.put_skipped_keys(&b, &keys).unwrap();
    });
    commit_with(store, |tx| tx.delete_session(&a).unwrap());
    read(store, |tx| {
        assert_eq!(tx.session(&a).unwrap(), None);
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 0);
        assert_eq!(tx.skipped_key(&a, &k33(30), 3).unwrap(), None);
        assert_eq!(tx.count_skipped_keys(&b).unwrap(), 50);
    });
    // A new session with the same key starts without keys.
    commit_with(store, |tx| {
        tx.put_session(&session(a.clone(), "i", 3)).unwrap()
    });
    read(store, |tx| {
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 0)
    });
}

pub fn skipped_keys_put_get_replace_delete(store: &mut dyn Store) {
    let a = skey(1, b"a");
    let b = skey(2, b"a");
    commit_with(store, |tx| {
        tx.put_session(&session(a.clone(), "i", 1)).unwrap();
        tx.put_session(&session(b.clone(), "i", 2)).unwrap();
        tx.put_skipped_keys(
            &a,
            &[skipped(30, 0, 0), skipped(30, 1, 1), skipped(31, 0, 2)],
        )
        .unwrap();
        tx.put_skipped_keys(&b, &[skipped(30, 0, 9)]).unwrap();
    });
    read(store, |tx| {
        assert_eq!(
            tx.skipped_key(&a, &k33(30), 1).unwrap(),
            Some(skipped(30, 1, 1))
        );
        assert_eq!(
            tx.skipped_key(&a, &k33(31), 0).unwrap(),
            Some(skipped(31, 0, 2))
        );
        assert_eq!(tx.skipped_key(&a, &k33(31), 1).unwrap(), None);
        assert_eq!(
            tx.skipped_key(&b, &k33(30), 0).unwrap(),
            Some(skipped(30, 0, 9))
        );
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 3);
        assert_eq!(tx.count_skipped_keys(&b).unwrap(), 1);
    });
    commit_with(store, |tx| {
        // Same (session, ratchet key, n): replaced, not duplicated.
        let mut k = skipped(30, 1, 77);
        k.message_key = SecretBytes::new([0x42; 32]);
        k.pending_message_id = Some(MessageId::from(b"m"));
        tx.put_skipped_keys(&a, &[k]).unwrap();
        tx.delete_skipped_key(&a, &k33(30), 0).unwrap();
        tx.delete_skipped_key(&a, &k33(30), 99).unwrap();
    });
    read(store, |tx| {
        let k = tx.skipped_key(&a, &k33(30), 1).unwrap().unwrap();
        assert_eq!(k.seq, 77);
        assert_eq!(k.message_key.expose(), &[0x42; 32]);
        assert_eq!(
            k.pending_message_id.as_ref().map(MessageId::as_bytes),
            Some(&b"m"[..])
        );
        assert_eq!(tx.skipped_key(&a, &k33(30), 0).unwrap(), None);
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 2);
        assert_eq!(tx.count_skipped_keys(&b).unwrap(), 1);
    });
}

pub fn skipped_keys_rejected_inputs_store_nothing(store: &mut dyn Store) {
    let a = skey(1, b"a");
    let mut tx = store.begin().unwrap();
    // No such session.
    let e = tx.put_skipped_keys(&a, &[skipped(30, 0, 0)]).unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
    tx.put_session(&session(a.clone(), "i", 1)).unwrap();
    // A seq that does not fit SQLite's signed integers; nothing of the batch is kept.
    let e = tx
        .put_skipped_keys(&a, &[skipped(30, 0, 0), skipped(30, 1, u64::MAX)])
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
    assert_eq!(tx.count_skipped_keys(&a).unwrap(), 0);
    // The transaction stays usable after a rejected call.
    tx.put_skipped_keys(&a, &[skipped(30, 2, i64::MAX as u64)])
        .unwrap();
    tx.commit().unwrap();
    read(store, |tx| {
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 1);
        assert_eq!(
            tx.skipped_key(&a, &k33(30), 2).unwrap().unwrap().seq,
            i64::MAX as u64
        );
    });
}

fn remaining(tx: &dyn Transaction, s: &SessionKey, probes: &[(u8, u32)]) -> Vec<(u8, u32)> {
    probes
        .iter()
        .copied()
        .filter(|(r, n)| tx.skipped_key(s, &k33(*r), *n).unwrap().is_some())
        .collect()
}

pub fn truncate_keeps_highest_seq(store: &mut dyn Store) {
    let a = skey(1, b"a");
    let b = skey(1, b"b");
    // seq values deliberately not in key order; (31,0) and (30,5) share seq 4.
    let keys = [
        skipped(30, 0, 10),
        skipped(30, 1, 3),
        skipped(30, 2, 7),
        skipped(30, 5, 4),
        skipped(31, 0, 4),
        skipped(31, 1, 1),
    ];
    let probes: Vec<(u8, u32)> = keys.iter().map(|k| (k.ratchet_key[1], k.n)).collect();
    commit_with(store, |tx| {
        tx.put_session(&session(a.clone(), "i", 1)).unwrap();
        tx.put_session(&session(b.clone(), "i", 2)).unwrap();
        tx.put_skipped_keys(&a, &keys).unwrap();
        tx.put_skipped_keys(&b, &keys).unwrap();
    });
    commit_with(store, |tx| tx.truncate_skipped_keys(&a, 10).unwrap());
    read(store, |tx| {
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 6)
    });
    commit_with(store, |tx| tx.truncate_skipped_keys(&a, 6).unwrap());
    read(store, |tx| {
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 6)
    });
    commit_with(store, |tx| tx.truncate_skipped_keys(&a, 3).unwrap());
    read(store, |tx| {
        // seq 10, 7, then of the two seq-4 keys the one with the higher ratchet key.
        assert_eq!(remaining(tx, &a, &probes), [(30, 0), (30, 2), (31, 0)]);
        assert_eq!(
            tx.count_skipped_keys(&b).unwrap(),
            6,
            "other session untouched"
        );
    });
    commit_with(store, |tx| tx.truncate_skipped_keys(&a, 1).unwrap());
    read(store, |tx| {
        assert_eq!(remaining(tx, &a, &probes), [(30, 0)])
    });
    commit_with(store, |tx| tx.truncate_skipped_keys(&a, 0).unwrap());
    read(store, |tx| {
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 0);
        assert_eq!(tx.count_skipped_keys(&b).unwrap(), 6);
    });
}

pub fn delete_upto_is_inclusive(store: &mut dyn Store) {
    let a = skey(1, b"a");
    let b = skey(1, b"b");
    let keys: Vec<_> = (0..10u32)
        .map(|n| skipped(30, n, u64::from(n) * 2))
        .collect();
    commit_with(store, |tx| {
        tx.put_session(&session(a.clone(), "i", 1)).unwrap();
        tx.put_session(&session(b.clone(), "i", 2)).unwrap();
        tx.put_skipped_keys(&a, &keys).unwrap();
        tx.put_skipped_keys(&b, &keys).unwrap();
    });
    commit_with(store, |tx| tx.delete_skipped_keys_upto(&a, 6).unwrap());
    read(store, |tx| {
        // seqs 0, 2, 4, 6 are gone; 8 stays.
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 6);
        assert_eq!(tx.skipped_key(&a, &k33(30), 3).unwrap(), None);
        assert!(tx.skipped_key(&a, &k33(30), 4).unwrap().is_some());
        assert_eq!(tx.count_skipped_keys(&b).unwrap(), 10);
    });
    commit_with(store, |tx| tx.delete_skipped_keys_upto(&a, 7).unwrap());
    read(store, |tx| {
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 6)
    });
    commit_with(store, |tx| {
        tx.delete_skipped_keys_upto(&a, u64::MAX).unwrap()
    });
    read(store, |tx| {
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 0);
        assert_eq!(tx.count_skipped_keys(&b).unwrap(), 10);
    });
}

pub fn unconfirmed_keys_by_message_id(store: &mut dyn Store) {
    let a = skey(2, b"a");
    let b = skey(1, b"b");
    let pending = |r: u8, n: u32, seq: u64, m: &[u8]| {
        let mut k = skipped(r, n, seq);
        k.pending_message_id = Some(MessageId::from(m));
        k
    };
    commit_with(store, |tx| {
        tx.put_session(&session(a.clone(), "i", 1)).unwrap();
        tx.put_session(&session(b.clone(), "i", 2)).unwrap();
        tx.put_skipped_keys(
            &a,
            &[
                pending(31, 0, 1, b"m1"),
                pending(30, 4, 2, b"m1"),
                skipped(30, 5, 3),
            ],
        )
        .unwrap();
        tx.put_skipped_keys(&b, &[pending(30, 9, 4, b"m1"), pending(30, 8, 5, b"m2")])
            .unwrap();
    });
    read(store, |tx| {
        let got = tx.unconfirmed_keys(&MessageId::from(b"m1")).unwrap();
        // Ordered by session (peer 1 before peer 2), then ratchet key, then n.
        assert_eq!(
            got,
            [
                (b.clone(), pending(30, 9, 4, b"m1")),
                (a.clone(), pending(30, 4, 2, b"m1")),
                (a.clone(), pending(31, 0, 1, b"m1")),
            ]
        );
        assert_eq!(
            tx.unconfirmed_keys(&MessageId::from(b"m2")).unwrap(),
            [(b.clone(), pending(30, 8, 5, b"m2"))]
        );
        assert!(
            tx.unconfirmed_keys(&MessageId::from(b"m"))
                .unwrap()
                .is_empty()
        );
        assert!(
            tx.unconfirmed_keys(&MessageId::from(b""))
                .unwrap()
                .is_empty()
        );
    });
    // Confirmation: the application deletes them.
    commit_with(store, |tx| {
        for (s, k) in tx.unconfirmed_keys(&MessageId::from(b"m1")).unwrap() {
            tx.delete_skipped_key(&s, &k.ratchet_key, k.n).unwrap();
        }
    });
    read(store, |tx| {
        assert!(
            tx.unconfirmed_keys(&MessageId::from(b"m1"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(tx.count_skipped_keys(&a).unwrap(), 1);
        assert_eq!(tx.count_skipped_keys(&b).unwrap(), 1);
    });
}

pub fn x3dh_seen_and_rate_limits(store: &mut dyn Store) {
    commit_with(store, |tx| {
        tx.put_x3dh_seen(&spk(1), &ek(2), 10).unwrap();
        tx.put_x3dh_seen(&spk(1), &ek(3), 11).unwrap();
        tx.put_x3dh_seen(&spk(4), &ek(2), 12).unwrap();
        tx.put_rate_limit("bundle", b"p", 5).unwrap();
        tx.put_rate_limit("ack", b"p", 6).unwrap();
        tx.put_rate_limit("bundle", b"", -7).unwrap();
    });
    read(store, |tx| {
        assert_eq!(tx.x3dh_seen(&spk(1), &ek(2)).unwrap(), Some(10));
        assert_eq!(tx.x3dh_seen(&spk(2), &ek(1)).unwrap(), None);
        assert_eq!(tx.rate_limit("bundle", b"p").unwrap(), Some(5));
        assert_eq!(tx.rate_limit("ack", b"p").unwrap(), Some(6));
        assert_eq!(tx.rate_limit("bundle", b"").unwrap(), Some(-7));
        assert_eq!(tx.rate_limit("bundl", b"p").unwrap(), None);
    });
    commit_with(store, |tx| {
        tx.put_x3dh_seen(&spk(1), &ek(2), 20).unwrap();
        tx.put_rate_limit("bundle", b"p", 50).unwrap();
    });
    read(store, |tx| {
        assert_eq!(tx.x3dh_seen(&spk(1), &ek(2)).unwrap(), Some(20));
        assert_eq!(tx.rate_limit("bundle", b"p").unwrap(), Some(50));
    });
    commit_with(store, |tx| tx.delete_x3dh_seen_for(&spk(1)).unwrap());
    read(store, |tx| {
        assert_eq!(tx.x3dh_seen(&spk(1), &ek(2)).unwrap(), None);
        assert_eq!(tx.x3dh_seen(&spk(1), &ek(3)).unwrap(), None);
        assert_eq!(tx.x3dh_seen(&spk(4), &ek(2)).unwrap(), Some(12));
    });
}

/// The distinguishing byte of every contact's identity, in the store's order.
fn contact_ids(tx: &dyn Transaction) -> Vec<u8> {
    tx.contacts()
        .unwrap()
        .iter()
        .map(|c| c.identity.as_bytes()[1])
        .collect()
}

pub fn contacts_round_trip_and_order(store: &mut dyn Store) {
    let all = [
        contact(3, ContactState::Declined, None),
        contact(1, ContactState::Added, Some("Ann")),
        contact(4, ContactState::RequestReceived, Some("")),
        contact(2, ContactState::Accepted, Some("Bö")),
    ];
    commit_with(store, |tx| {
        for c in &all {
            tx.put_contact(c).unwrap();
        }
    });
    read(store, |tx| {
        assert_eq!(contact_ids(tx), [1, 2, 3, 4]);
        for c in &all {
            assert_eq!(tx.contact(&c.identity).unwrap().as_ref(), Some(c));
        }
    });
    commit_with(store, |tx| {
        tx.put_contact(&contact(1, ContactState::Accepted, None))
            .unwrap();
    });
    read(store, |tx| {
        assert_eq!(
            tx.contact(&ik(1)).unwrap(),
            Some(contact(1, ContactState::Accepted, None))
        );
        assert_eq!(tx.contacts().unwrap().len(), 4);
    });
    // a blocked contact, then deleting one (an unknown identity: nothing happens)
    commit_with(store, |tx| {
        tx.put_contact(&contact(5, ContactState::Blocked, Some("spam")))
            .unwrap();
        tx.delete_contact(&ik(2)).unwrap();
        tx.delete_contact(&ik(9)).unwrap();
        assert_eq!(tx.contact(&ik(2)).unwrap(), None);
    });
    read(store, |tx| {
        assert_eq!(contact_ids(tx), [1, 3, 4, 5]);
        assert_eq!(tx.contact(&ik(2)).unwrap(), None);
        assert_eq!(
            tx.contact(&ik(5)).unwrap(),
            Some(contact(5, ContactState::Blocked, Some("spam")))
        );
    });
    // a deletion that is rolled back leaves the contact
    {
        let mut tx = store.begin().unwrap();
        tx.delete_contact(&ik(1)).unwrap();
        drop(tx);
    }
    read(store, |tx| assert!(tx.contact(&ik(1)).unwrap().is_some()));
}

pub fn read_your_writes(store: &mut dyn Store) {
    commit_with(store, seed);
    let before = read(store, snapshot);
    let mut tx = store.begin().unwrap();
    scribble(&mut *tx, 1);
    let a = skey(1, b"s-a");
    let s = tx.session(&a).unwrap().unwrap();
    assert_eq!(s, session(a.clone(), "inst-2", 41));
    assert_eq!(tx.session(&skey(1, b"s-b")).unwrap(), None);
    assert_eq!(tx.count_skipped_keys(&skey(1, b"s-b")).unwrap(), 0);
    assert_eq!(tx.account().unwrap(), Some(account(201)));
    assert_eq!(tx.own_prekey(&spk(10)).unwrap(), None);
    assert_eq!(tx.installation(&ik(1), &inst("inst-1")).unwrap(), None);
    assert_eq!(tx.x3dh_seen(&spk(10), &ek(40)).unwrap(), None);
    assert_eq!(tx.rate_limit("bundle", b"peer-1").unwrap(), Some(101));
    assert_eq!(
        tx.contact(&ik(2)).unwrap(),
        Some(contact(2, ContactState::Accepted, Some("two")))
    );
    assert_eq!(
        tx.skipped_key(&a, &k33(31), 1).unwrap(),
        Some(skipped(31, 1, 1001))
    );
    let inside = snapshot(&*tx);
    assert_ne!(inside, before);
    tx.commit().unwrap();
    assert_eq!(
        read(store, snapshot),
        inside,
        "commit keeps exactly what was seen"
    );
}

pub fn drop_rolls_back(store: &mut dyn Store) {
    commit_with(store, seed);
    let before = read(store, snapshot);
    {
        let mut tx = store.begin().unwrap();
        scribble(&mut *tx, 1);
        assert_ne!(snapshot(&*tx), before);
    }
    assert_eq!(read(store, snapshot), before);
    // Many writes, then a drop.
    {
        let mut tx = store.begin().unwrap();
        for round in 0..200 {
            scribble(&mut *tx, round);
        }
        let s = skey(1, b"s-a");
        let many: Vec<_> = (0..2000u32).map(|n| skipped(31, n, u64::from(n))).collect();
        tx.put_skipped_keys(&s, &many).unwrap();
        // 2 seeded keys survive the deletes, the 12 scribbled ones are replaced.
        assert_eq!(tx.count_skipped_keys(&s).unwrap(), 2002);
    }
    assert_eq!(read(store, snapshot), before);
    // A transaction that only read, dropped, changes nothing either.
    drop(store.begin().unwrap());
    assert_eq!(read(store, snapshot), before);
    // A failed operation followed by a drop: still nothing.
    {
        let mut tx = store.begin().unwrap();
        tx.put_contact(&contact(9, ContactState::Added, None))
            .unwrap();
        assert!(
            tx.put_skipped_keys(&skey(9, b"none"), &[skipped(30, 0, 0)])
                .is_err()
        );
    }
    assert_eq!(read(store, snapshot), before);
    read(store, |tx| assert_eq!(tx.contact(&ik(9)).unwrap(), None));
}

pub fn commits_accumulate(store: &mut dyn Store) {
    commit_with(store, seed);
    for round in 0..5 {
        commit_with(store, |tx| scribble(tx, round));
    }
    let mut expected = reference_after_rounds(5);
    let got = read(store, snapshot);
    assert_eq!(got, snapshot(&*expected.begin().unwrap()));
}

/// The same writes applied to a fresh [`MemoryStore`], one transaction each.
pub fn reference_after_rounds(rounds: u32) -> MemoryStore {
    let mut m = MemoryStore::new();
    {
        let mut tx = m.begin().unwrap();
        seed(&mut *tx);
        tx.commit().unwrap();
    }
    for round in 0..rounds {
        let mut tx = m.begin().unwrap();
        scribble(&mut *tx, round);
        tx.commit().unwrap();
    }
    m
}

/// One conformance case.
pub type Case = fn(&mut dyn Store);

/// Lists every case, so a store can be run through all of them.
/// A durable transaction ([`Store::begin_durable`]) commits and rolls back like any
/// other, and ordinary transactions before and after it are unaffected.
pub fn durable_transactions_commit_and_roll_back(store: &mut dyn Store) {
    commit_with(store, |tx| {
        tx.put_contact(&contact(1, ContactState::Added, None))
            .unwrap();
    });
    let mut tx = store.begin_durable().unwrap();
    tx.put_contact(&contact(2, ContactState::Added, None))
        .unwrap();
    assert!(tx.contact(&ik(2)).unwrap().is_some());
    tx.commit().unwrap();
    let mut tx = store.begin_durable().unwrap();
    tx.put_contact(&contact(3, ContactState::Added, None))
        .unwrap();
    drop(tx);
    commit_with(store, |tx| {
        tx.put_contact(&contact(4, ContactState::Added, None))
            .unwrap();
    });
    read(store, |tx| assert_eq!(contact_ids(tx), [1, 2, 4]));
}

pub fn app_records_by_kind_due_and_key(store: &mut dyn Store) {
    commit_with(store, |tx| {
        tx.put_app_record("outbox", b"b", b"vb", 20).unwrap();
        tx.put_app_record("outbox", b"a", b"va", 20).unwrap();
        tx.put_app_record("outbox", b"c", b"vc", 5).unwrap();
        tx.put_app_record("seen", b"a", b"", 1).unwrap();
        tx.put_app_record("outbo", b"x", b"other kind", 0).unwrap();
    });
    read(store, |tx| {
        assert_eq!(tx.app_record("outbox", b"a").unwrap(), Some(b"va".to_vec()));
        assert_eq!(tx.app_record("seen", b"a").unwrap(), Some(Vec::new()));
        assert_eq!(tx.app_record("seen", b"b").unwrap(), None);
        assert_eq!(tx.count_app_records("outbox").unwrap(), 3);
        assert_eq!(tx.count_app_records("seen").unwrap(), 1);
        assert_eq!(tx.count_app_records("nothing").unwrap(), 0);
        // earliest due first, ties by key, bounded by `until` and `limit`
        let due = tx.due_app_records("outbox", 20, 10).unwrap();
        let keys: Vec<&[u8]> = due.iter().map(|(k, _)| k.as_slice()).collect();
        assert_eq!(keys, vec![&b"c"[..], b"a", b"b"]);
        assert_eq!(due[0].1, b"vc");
        assert_eq!(tx.due_app_records("outbox", 19, 10).unwrap().len(), 1);
        assert_eq!(tx.due_app_records("outbox", 20, 2).unwrap().len(), 2);
    });
    commit_with(store, |tx| {
        tx.put_app_record("outbox", b"c", b"vc2", 100).unwrap();
        tx.delete_app_record("outbox", b"a").unwrap();
        tx.delete_app_record("outbox", b"missing").unwrap();
    });
    read(store, |tx| {
        assert_eq!(
            tx.app_record("outbox", b"c").unwrap(),
            Some(b"vc2".to_vec())
        );
        assert_eq!(tx.app_record("outbox", b"a").unwrap(), None);
        let due = tx.due_app_records("outbox", 50, 10).unwrap();
        assert_eq!(due, vec![(b"b".to_vec(), b"vb".to_vec())]);
    });
    // an uncommitted write is not kept
    {
        let mut tx = store.begin().unwrap();
        tx.put_app_record("outbox", b"z", b"vz", 0).unwrap();
        assert_eq!(tx.app_record("outbox", b"z").unwrap(), Some(b"vz".to_vec()));
    }
    read(store, |tx| {
        assert_eq!(tx.app_record("outbox", b"z").unwrap(), None)
    });
}

/// A session for the maintenance queries: `side` true when we initiated, rooted in
/// `spk(root)`, expiry and last use as given.
fn maint_session(
    peer: u8,
    id: &[u8],
    inst: &str,
    initiated: bool,
    root: u8,
    expired_at: Option<Nanos>,
    last_used: Nanos,
) -> SessionRecord {
    let mut s = session(skey(peer, id), inst, peer.wrapping_add(id[0]));
    s.we_initiated = initiated;
    s.rooted_spk = spk(root);
    s.expired_at = expired_at;
    s.last_used = last_used;
    s
}

/// The session maintenance queries (`delete_sessions_expired_until`,
/// `expire_sessions_on_invalid_prekeys`, `expire_responder_sessions_rooted_in`,
/// `responder_session_rooted_in`) and `installations_missing_until`: what they select,
/// that only `expired_at` changes (secrets and every other field intact), that deleted
/// sessions lose their skipped keys, rollback.
pub fn session_maintenance_queries(store: &mut dyn Store) {
    // sessions we initiated, rooted in peer prekeys 0x40.. of (peer, installation)
    let i_valid = maint_session(1, b"i-valid", "inst-a", true, 0x40, None, 5);
    let i_expired = maint_session(1, b"i-expired", "inst-a", true, 0x41, None, 5);
    let i_absent = maint_session(1, b"i-absent", "inst-a", true, 0x42, None, 5);
    // the prekey 0x40 is stored for inst-a only: for inst-b it is absent
    let i_other_inst = maint_session(1, b"i-other", "inst-b", true, 0x40, None, 5);
    // rooted in our valid prekey 0x50: as initiator this one has no such peer prekey
    let i_own_root = maint_session(2, b"i-own-root", "inst-a", true, 0x50, None, 5);
    // sessions we answered, rooted in our prekeys 0x50 (valid), 0x51 (expired), 0x52 (absent)
    let r_valid = maint_session(2, b"r-valid", "inst-a", false, 0x50, None, 5);
    let r_expired = maint_session(2, b"r-expired", "inst-a", false, 0x51, None, 5);
    let r_absent = maint_session(2, b"r-absent", "inst-a", false, 0x52, None, 5);
    // rooted in the peer prekey 0x40 of (1, inst-a): as responder, no own prekey 0x40,
    // so it is marked
    let r_peer_root = maint_session(1, b"r-peer-root", "inst-a", false, 0x40, None, 5);
    // already expired: untouched by marking, deleted by the sweep per its bound
    let x_old = maint_session(3, b"x-old", "inst-a", false, 0x52, Some(10), 5);
    let x_late_use = maint_session(3, b"x-late", "inst-a", true, 0x42, Some(10), 20);
    let x_recent = maint_session(3, b"x-recent", "inst-a", false, 0x51, Some(30), 1);
    let all = [
        &i_valid,
        &i_expired,
        &i_absent,
        &i_other_inst,
        &i_own_root,
        &r_valid,
        &r_expired,
        &r_absent,
        &r_peer_root,
        &x_old,
        &x_late_use,
        &x_recent,
    ];
    commit_with(store, |tx| {
        let mut p = peer_prekey(1, "inst-a", 0x40, 2);
        p.expired = false;
        tx.put_peer_prekey(&p).unwrap();
        let mut p = peer_prekey(1, "inst-a", 0x41, 1);
        p.expired = true;
        tx.put_peer_prekey(&p).unwrap();
        // same public key, another identity: not the prekey of (1, inst-a)
        let mut p = peer_prekey(4, "inst-a", 0x42, 2);
        p.expired = false;
        tx.put_peer_prekey(&p).unwrap();
        let mut o = own_prekey(0x50, 3);
        o.expired_at = None;
        tx.put_own_prekey(&o).unwrap();
        let mut o = own_prekey(0x51, 2);
        o.expired_at = Some(7);
        tx.put_own_prekey(&o).unwrap();
        for s in all {
            tx.put_session(s).unwrap();
            tx.put_skipped_keys(&s.key, &[skipped(30, 1, 1), skipped(31, 2, 2)])
                .unwrap();
        }
    });
    let expired_at =
        |tx: &dyn Transaction, s: &SessionRecord| tx.session(&s.key).unwrap().map(|r| r.expired_at);

    // The roots of sessions we answered, expired or not.
    read(store, |tx| {
        for (root, rooted) in [(0x50, true), (0x51, true), (0x52, true), (0x40, true)] {
            assert_eq!(tx.responder_session_rooted_in(&spk(root)).unwrap(), rooted);
        }
        // 0x41 and 0x42 root only sessions we initiated
        assert!(!tx.responder_session_rooted_in(&spk(0x41)).unwrap());
        assert!(!tx.responder_session_rooted_in(&spk(0x42)).unwrap());
        assert!(!tx.responder_session_rooted_in(&spk(0x99)).unwrap());
    });

    // Marking, rolled back: nothing changes.
    {
        let mut tx = store.begin().unwrap();
        assert_eq!(tx.expire_sessions_on_invalid_prekeys(1_000).unwrap(), 7);
        assert_eq!(expired_at(&*tx, &i_absent), Some(Some(1_000)));
    }
    read(store, |tx| {
        for s in all {
            assert_eq!(tx.session(&s.key).unwrap().as_ref(), Some(s));
        }
    });

    // Marking.
    commit_with(store, |tx| {
        assert_eq!(tx.expire_sessions_on_invalid_prekeys(1_000).unwrap(), 7);
        // everything is marked already
        assert_eq!(tx.expire_sessions_on_invalid_prekeys(2_000).unwrap(), 0);
    });
    read(store, |tx| {
        for s in all {
            let marked = [
                &i_expired,
                &i_absent,
                &i_other_inst,
                &i_own_root,
                &r_expired,
                &r_absent,
                &r_peer_root,
            ]
            .iter()
            .any(|m| m.key == s.key);
            let mut want = s.clone();
            if marked {
                want.expired_at = Some(1_000);
            }
            let got = tx.session(&s.key).unwrap().unwrap();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&s.key.id));
            assert_eq!(got.state.expose(), s.state.expose());
            assert_eq!(got.shared_secret.expose(), s.shared_secret.expose());
            assert_eq!(tx.count_skipped_keys(&s.key).unwrap(), 2);
        }
    });

    // Responder sessions rooted in rotated prekeys.
    commit_with(store, |tx| {
        // r_valid (0x50, unexpired, answered) is marked; i_own_root (0x50, initiated), the
        // expired r_expired / x_recent (0x51) and r_peer_root (0x40) are not
        assert_eq!(
            tx.expire_responder_sessions_rooted_in(&[spk(0x50), spk(0x51), spk(0x40)], 3_000)
                .unwrap(),
            1
        );
        assert_eq!(
            tx.expire_responder_sessions_rooted_in(&[], 4_000).unwrap(),
            0
        );
    });
    read(store, |tx| {
        assert_eq!(expired_at(tx, &r_valid), Some(Some(3_000)));
        assert_eq!(expired_at(tx, &r_peer_root), Some(Some(1_000)));
        assert_eq!(expired_at(tx, &i_own_root), Some(Some(1_000)));
        assert_eq!(expired_at(tx, &r_expired), Some(Some(1_000)));
        assert_eq!(expired_at(tx, &x_recent), Some(Some(30)));
        assert_eq!(expired_at(tx, &i_valid), Some(None));
        let mut want = r_valid.clone();
        want.expired_at = Some(3_000);
        assert_eq!(tx.session(&r_valid.key).unwrap(), Some(want));
    });

    // The retention sweep: max(expired_at, last_used) <= until.
    commit_with(store, |tx| {
        assert_eq!(tx.delete_sessions_expired_until(9).unwrap(), 0);
        // x_old (10, used 5); x_late_use (10, used 20) waits for its last use
        assert_eq!(tx.delete_sessions_expired_until(10).unwrap(), 1);
        assert_eq!(tx.delete_sessions_expired_until(19).unwrap(), 0);
        assert_eq!(tx.delete_sessions_expired_until(30).unwrap(), 2);
    });
    read(store, |tx| {
        for s in [&x_old, &x_late_use, &x_recent] {
            assert_eq!(tx.session(&s.key).unwrap(), None);
            assert_eq!(tx.count_skipped_keys(&s.key).unwrap(), 0);
            assert_eq!(tx.skipped_key(&s.key, &k33(30), 1).unwrap(), None);
        }
        assert_eq!(tx.all_sessions().unwrap().len(), all.len() - 3);
        assert_eq!(tx.count_skipped_keys(&i_valid.key).unwrap(), 2);
        // the unexpired session is never a candidate, however old its last use
        assert_eq!(expired_at(tx, &i_valid), Some(None));
    });
    commit_with(store, |tx| {
        assert_eq!(tx.delete_sessions_expired_until(i64::MAX).unwrap(), 8);
    });
    read(store, |tx| {
        let left: Vec<SessionKey> = tx
            .all_sessions()
            .unwrap()
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(left, std::slice::from_ref(&i_valid.key));
        assert_eq!(tx.count_skipped_keys(&i_valid.key).unwrap(), 2);
        // 0x52 rooted only x_old and r_absent, both deleted
        assert!(!tx.responder_session_rooted_in(&spk(0x52)).unwrap());
    });

    // Installations missing since a time, not stale.
    let inst = |identity: u8, id: &str, missing: Option<Nanos>, stale: bool| {
        let mut r = installation(identity, id, 1);
        r.missing_since = missing;
        r.stale = stale;
        r
    };
    commit_with(store, |tx| {
        for r in [
            inst(2, "b", Some(50), false),
            inst(1, "z", Some(50), false),
            inst(1, "a", Some(50), false),
            inst(3, "a", Some(10), false),
            inst(3, "b", Some(10), true),
            inst(4, "a", None, false),
            inst(5, "a", Some(60), false),
            inst(6, "a", Some(i64::MIN), false),
        ] {
            tx.put_installation(&r).unwrap();
        }
    });
    read(store, |tx| {
        let ids = |until| -> Vec<(u8, String)> {
            tx.installations_missing_until(until)
                .unwrap()
                .into_iter()
                .map(|r| (r.identity.as_bytes()[1], r.installation_id.into_string()))
                .collect()
        };
        assert_eq!(ids(i64::MIN), [(6, "a".to_owned())]);
        assert_eq!(ids(9), [(6, "a".to_owned())]);
        assert_eq!(
            ids(50),
            [
                (6, "a".to_owned()),
                (3, "a".to_owned()),
                (1, "a".to_owned()),
                (1, "z".to_owned()),
                (2, "b".to_owned())
            ]
        );
        assert_eq!(ids(i64::MAX).len(), 6);
        let got = tx.installations_missing_until(10).unwrap();
        assert_eq!(got[1], inst(3, "a", Some(10), false));
    });
}

pub const CASES: &[(&str, Case)] = &[
    ("session_maintenance_queries", session_maintenance_queries),
    (
        "app_records_by_kind_due_and_key",
        app_records_by_kind_due_and_key,
    ),
    (
        "durable_transactions_commit_and_roll_back",
        durable_transactions_commit_and_roll_back,
    ),
    ("empty_store_reads_nothing", empty_store_reads_nothing),
    (
        "account_round_trip_and_replace",
        account_round_trip_and_replace,
    ),
    (
        "own_prekeys_order_replace_delete",
        own_prekeys_order_replace_delete,
    ),
    (
        "installations_order_replace_delete",
        installations_order_replace_delete,
    ),
    ("peer_prekeys_order_and_scope", peer_prekeys_order_and_scope),
    (
        "sessions_lookup_order_and_secrets",
        sessions_lookup_order_and_secrets,
    ),
    (
        "delete_session_removes_its_skipped_keys",
        delete_session_removes_its_skipped_keys,
    ),
    (
        "skipped_keys_put_get_replace_delete",
        skipped_keys_put_get_replace_delete,
    ),
    (
        "skipped_keys_rejected_inputs_store_nothing",
        skipped_keys_rejected_inputs_store_nothing,
    ),
    ("truncate_keeps_highest_seq", truncate_keeps_highest_seq),
    ("delete_upto_is_inclusive", delete_upto_is_inclusive),
    (
        "unconfirmed_keys_by_message_id",
        unconfirmed_keys_by_message_id,
    ),
    ("x3dh_seen_and_rate_limits", x3dh_seen_and_rate_limits),
    (
        "contacts_round_trip_and_order",
        contacts_round_trip_and_order,
    ),
    ("read_your_writes", read_your_writes),
    ("drop_rolls_back", drop_rolls_back),
    ("commits_accumulate", commits_accumulate),
];

/// Runs every case of [`CASES`], each on a fresh store from `make`. Panics on the first
/// case that fails, naming it.
pub fn run_all(mut make: impl FnMut() -> Box<dyn Store>) {
    for (name, case) in CASES {
        let mut store = make();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&mut *store)));
        if let Err(cause) = outcome {
            let why = cause
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| cause.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!("store conformance case {name} failed: {why}");
        }
    }
}
