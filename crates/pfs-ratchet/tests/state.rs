//! Session creation, serialization, typed errors and known answers from the status-go
//! vector file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{SUITES, TestRng, pair};
use pfs_ratchet::{
    ChainKey, ConfirmMode, DecryptError, Header, Limits, MessageKey, RatchetError, RatchetState,
    RootKey, STATE_FORMAT_VERSION, SecretBytes, StateDecodeError, SuiteId, suite,
    suite_for_key_len,
};
use proptest::prelude::*;
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/status-go-v1-post-dh-fix.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn h32(v: &Value, k: &str) -> [u8; 32] {
    hex::decode(v[k].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}
fn hx(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap()).unwrap()
}

#[test]
fn status_go_primitives_known_answers() {
    let doc = vectors();
    let p = &doc["primitives"];
    let s = suite(SuiteId::StatusGo);
    for c in p["kdf_rk"].as_array().unwrap() {
        let (r, ch, h) = s
            .kdf_rk(
                &RootKey::from_bytes(h32(c, "rk")),
                &SecretBytes::new(h32(c, "dh_out")),
            )
            .unwrap();
        assert_eq!(r.expose(), &h32(c, "root_key"));
        assert_eq!(ch.expose(), &h32(c, "chain_key"));
        assert_eq!(h.expose(), &h32(c, "header_key"));
    }
    for c in p["kdf_ck"].as_array().unwrap() {
        let (next, mk) = s.kdf_ck(&ChainKey::from_bytes(h32(c, "ck")));
        assert_eq!(next.expose(), &h32(c, "next_chain_key"));
        assert_eq!(mk.expose(), &h32(c, "message_key"));
    }
    for c in p["dr_encrypt"].as_array().unwrap() {
        let mk = MessageKey::from_bytes(h32(c, "mk"));
        let out = s.encrypt(&mk, &hx(c, "plaintext"), &hx(c, "ad")).unwrap();
        assert_eq!(out, hx(c, "output"));
        assert_eq!(
            s.decrypt(&mk, &out, &hx(c, "ad")).unwrap(),
            hx(c, "plaintext")
        );
        assert_eq!(
            s.decrypt(&mk, &out[..47], &hx(c, "ad")),
            Err(RatchetError::CiphertextTooShort { len: 47 })
        );
    }
    let e = &p["dr_header_encode"];
    let h = Header {
        key: hx(e, "dh"),
        n: e["n"].as_u64().unwrap() as u32,
        pn: e["pn"].as_u64().unwrap() as u32,
    };
    let mut out = Vec::new();
    s.encode_header(&h, &mut out);
    assert_eq!(out, hx(e, "encoded"));
    // ECDH of the recorded pairs through the suite.
    let d = &p["ethereum_crypto_dh"];
    let pair1 = pfs_ratchet::DhKeyPair {
        secret: SecretBytes::new(h32(d, "pair1_private")),
        public: hx(d, "pair1_public"),
    };
    assert_eq!(
        s.dh(&pair1, &hx(d, "pair2_public")).unwrap().expose(),
        &h32(d, "dh_output")
    );
}

/// The first conversation step: Alice's initial state from the recorded SK and ratchet key.
#[test]
fn status_go_initiator_matches_recorded_session_init() {
    struct Fixed([u8; 32]);
    impl pfs_ratchet::RandomSource for Fixed {
        fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), pfs_crypto::CryptoError> {
            dest.copy_from_slice(&self.0[..dest.len()]);
            Ok(())
        }
    }
    let doc = vectors();
    let step = doc["flows"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s.get("session_init").is_some())
        .unwrap();
    let init = &step["session_init"];
    let after = &step["sender_state_after"];
    let spk = hex::decode(
        doc["flows"][0]["bob"]["signed_pre_key"]["public_key_compressed"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let mut rng = Fixed(h32(after, "dhs_private"));
    let (st, dh_out) = RatchetState::new_status_go_initiator_detailed(
        &SecretBytes::new(h32(init, "sk")),
        &spk,
        &mut rng,
    )
    .unwrap();
    assert_eq!(dh_out.expose(), &h32(init, "dh_out"));
    assert_eq!(
        st.root_chain_key().expose(),
        &h32(init, "root_key_after_init")
    );
    assert_eq!(
        st.send_chain_key().unwrap().expose(),
        &h32(init, "send_chain_key_initial")
    );
    assert_eq!(st.recv_chain_key().unwrap().expose(), &h32(init, "sk"));
    assert_eq!(st.dhs_public().unwrap(), hx(after, "dhs_public").as_slice());
    assert_eq!(st.dhr().unwrap(), spk.as_slice());
}

#[test]
fn constructors_reject_bad_input() {
    let mut rng = TestRng::new(1);
    let zero = SecretBytes::<32>::zero();
    let spk = suite(SuiteId::StatusGo).generate_keypair(&mut rng).unwrap();
    assert_eq!(
        RatchetState::new_status_go_initiator(&zero, &spk.public, &mut rng).unwrap_err(),
        RatchetError::ZeroSharedSecret
    );
    assert_eq!(
        RatchetState::new_status_go_responder(&zero, spk.clone()).unwrap_err(),
        RatchetError::ZeroSharedSecret
    );
    assert_eq!(
        RatchetState::new_spec_initiator(&zero, &mut rng).unwrap_err(),
        RatchetError::ZeroSharedSecret
    );
    assert_eq!(
        RatchetState::new_spec_responder(&zero).unwrap_err(),
        RatchetError::ZeroSharedSecret
    );
    let sk = SecretBytes::new([7u8; 32]);
    assert!(matches!(
        RatchetState::new_status_go_initiator(&sk, &spk.public[..32], &mut rng),
        Err(RatchetError::InvalidKeyLength {
            expected: 33,
            actual: 32,
            ..
        })
    ));
    // A 33-byte string that is not a point.
    let mut bad = spk.public.clone();
    bad[0] = 0x05;
    assert!(matches!(
        RatchetState::new_status_go_initiator(&sk, &bad, &mut rng),
        Err(RatchetError::Crypto(_))
    ));
    // Suite DH length checks.
    assert!(matches!(
        suite(SuiteId::StatusGo).dh(&spk, &[2u8; 32]),
        Err(RatchetError::InvalidKeyLength { .. })
    ));
    let x = suite(SuiteId::Spec).generate_keypair(&mut rng).unwrap();
    assert!(matches!(
        suite(SuiteId::Spec).dh(&x, &[9u8; 33]),
        Err(RatchetError::InvalidKeyLength { .. })
    ));
    // Non-contributory X25519 (the all-zero point).
    assert!(matches!(
        suite(SuiteId::Spec).dh(&x, &[0u8; 32]),
        Err(RatchetError::Crypto(_))
    ));
    assert_eq!(suite_for_key_len(33).unwrap().id(), SuiteId::StatusGo);
    assert_eq!(suite_for_key_len(32).unwrap().id(), SuiteId::Spec);
    assert!(suite_for_key_len(65).is_none());
}

#[test]
fn spec_responder_cannot_send_first() {
    let mut rng = TestRng::new(2);
    let (mut a, mut b) = pair(
        SuiteId::Spec,
        &mut rng,
        Limits::default(),
        ConfirmMode::Immediate,
    );
    let before = b.state().to_bytes();
    assert_eq!(
        b.encrypt(b"x", b"").unwrap_err(),
        RatchetError::NoSendingChain
    );
    assert_eq!(b.state().to_bytes(), before);
    let (h, ct) = a.encrypt(b"hi", b"").unwrap();
    assert_eq!(h.key.len(), 32);
    b.decrypt(&h, &ct, b"", &mut rng).unwrap();
    assert_eq!(b.state().dhr(), Some(h.key.as_slice()));
    assert!(b.state().can_send());
    let (h2, ct2) = b.encrypt(b"reply", b"").unwrap();
    assert_eq!(a.decrypt(&h2, &ct2, b"", &mut rng).unwrap().0, b"reply");
}

#[test]
fn header_key_of_the_wrong_length_is_rejected() {
    for id in SUITES {
        let mut rng = TestRng::new(3);
        let (mut a, b) = pair(id, &mut rng, Limits::default(), ConfirmMode::Immediate);
        let (mut h, ct) = a.encrypt(b"x", b"").unwrap();
        h.key.push(0);
        let r = b.state().decrypt(
            &(),
            &h,
            &ct,
            b"",
            &mut rng,
            &Limits::default(),
            ConfirmMode::Immediate,
        );
        assert!(matches!(r, Err(DecryptError::InvalidHeaderKey { .. })));
    }
}

#[test]
fn serialization_round_trips_at_every_stage() {
    for id in SUITES {
        let mut rng = TestRng::new(4);
        let (mut a, mut b) = pair(id, &mut rng, Limits::default(), ConfirmMode::Immediate);
        let check = |s: &RatchetState| {
            let bytes = s.to_bytes();
            assert_eq!(bytes.expose()[0], STATE_FORMAT_VERSION);
            assert_eq!(&RatchetState::from_bytes(bytes.expose()).unwrap(), s);
            // serde (postcard) directly, too.
            let pc = postcard::to_allocvec(s).unwrap();
            assert_eq!(&postcard::from_bytes::<RatchetState>(&pc).unwrap(), s);
        };
        check(a.state());
        check(b.state());
        for round in 0..3 {
            let (h, ct) = a.encrypt(format!("a{round}").as_bytes(), b"").unwrap();
            b.decrypt(&h, &ct, b"", &mut rng).unwrap();
            check(a.state());
            check(b.state());
            let (h, ct) = b.encrypt(format!("b{round}").as_bytes(), b"").unwrap();
            a.decrypt(&h, &ct, b"", &mut rng).unwrap();
            check(a.state());
            check(b.state());
        }
    }
}

#[test]
fn corrupt_encodings_get_typed_errors() {
    let mut rng = TestRng::new(5);
    let (a, _) = pair(
        SuiteId::StatusGo,
        &mut rng,
        Limits::default(),
        ConfirmMode::Immediate,
    );
    let good = a.state().to_bytes().expose().to_vec();
    assert_eq!(RatchetState::from_bytes(&[]), Err(StateDecodeError::Empty));
    let mut v2 = good.clone();
    v2[0] = 2;
    assert_eq!(
        RatchetState::from_bytes(&v2),
        Err(StateDecodeError::UnknownVersion(2))
    );
    for len in 1..good.len() {
        assert!(
            RatchetState::from_bytes(&good[..len]).is_err(),
            "truncated at {len} accepted"
        );
    }
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        RatchetState::from_bytes(&long),
        Err(StateDecodeError::TrailingBytes(1))
    );
    // An unknown suite tag.
    let mut bad_suite = good.clone();
    bad_suite[1] = 7;
    assert!(matches!(
        RatchetState::from_bytes(&bad_suite),
        Err(StateDecodeError::Malformed(_))
    ));
    // A status-go state relabelled as spec: key lengths no longer fit.
    let mut relabel = good.clone();
    relabel[1] = 1;
    assert!(matches!(
        RatchetState::from_bytes(&relabel),
        Err(StateDecodeError::Invalid(_))
    ));
}

#[test]
fn debug_output_is_redacted() {
    let mut rng = TestRng::new(6);
    let (a, _) = pair(
        SuiteId::StatusGo,
        &mut rng,
        Limits::default(),
        ConfirmMode::Immediate,
    );
    let root = hex::encode(a.state().root_chain_key().expose());
    let dbg = format!(
        "{:?} {:?} {:?}",
        a.state(),
        a.state().dhs(),
        a.state().root_chain_key()
    );
    assert!(!dbg.contains(&root));
    assert!(!dbg.contains(&hex::encode(a.state().dhs_private().unwrap().expose())));
    assert!(dbg.contains("redacted"));
}

proptest! {
    /// Arbitrary bytes never panic the decoder; flipping any byte of a valid encoding
    /// either gives a typed error or a valid state that round-trips.
    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), pos in any::<usize>(), x in 1..=255u8) {
        let _ = RatchetState::from_bytes(&bytes);
        let mut rng = TestRng::new(7);
        let (a, _) = pair(SuiteId::Spec, &mut rng, Limits::default(), ConfirmMode::Immediate);
        let mut good = a.state().to_bytes().expose().to_vec();
        let i = pos % good.len();
        good[i] ^= x;
        if let Ok(s) = RatchetState::from_bytes(&good) {
            let again = s.to_bytes();
            prop_assert_eq!(RatchetState::from_bytes(again.expose()).unwrap(), s);
        }
    }
}

/// The spec suite's start as docs/ratchet-suites.md §3 writes it, recomputed from the
/// primitives (HKDF, X25519, HMAC: known-answer tested in pfs-crypto): root0 ‖ ck0 from SK;
/// the responder draws B0 on its first received message but derives its first sending chain,
/// `KDF_RK(root0, X25519(B0, A0))`, only when it sends.
#[test]
fn spec_suite_first_chains_follow_the_documented_formulas() {
    use pfs_crypto::kdf::{hkdf_sha256, hmac_sha256};
    use pfs_crypto::x25519;
    let mut rng = TestRng::new(9);
    let sk = SecretBytes::new([0x42; 32]);
    let new = |st| pfs_ratchet::Session::new(st, Limits::default(), ConfirmMode::Immediate);
    let mut a = new(RatchetState::new_spec_initiator(&sk, &mut rng).unwrap());
    let mut b = new(RatchetState::new_spec_responder(&sk).unwrap());

    let mut initial = [0u8; 64];
    hkdf_sha256(
        &[0u8; 32],
        sk.expose(),
        b"pfs spec suite v1 initial chain",
        &mut initial,
    )
    .unwrap();
    let (root0, ck0) = initial.split_at(32);
    assert_eq!(&a.state().root_chain_key().expose()[..], root0);
    assert_eq!(&a.state().send_chain_key().unwrap().expose()[..], ck0);
    assert_eq!(&b.state().recv_chain_key().unwrap().expose()[..], ck0);

    let (h, ct) = a.encrypt(b"one", b"").unwrap();
    b.decrypt(&h, &ct, b"", &mut rng).unwrap();
    assert!(b.state().send_chain_key().is_none());
    assert!(b.state().can_send());
    assert_eq!(&b.state().root_chain_key().expose()[..], root0);
    // A second message on the same chain before Bob answers: still no DH step.
    let (h1, ct1) = a.encrypt(b"one more", b"").unwrap();
    assert_eq!(b.decrypt(&h1, &ct1, b"", &mut rng).unwrap().0, b"one more");
    assert!(b.state().send_chain_key().is_none());
    let pending = b.state().to_bytes();
    assert_eq!(
        &RatchetState::from_bytes(pending.expose()).unwrap(),
        b.state()
    );

    let b0 = x25519::SecretKey::from_bytes(b.state().dhs_private().unwrap().expose()).unwrap();
    let dh = b0
        .diffie_hellman(&x25519::PublicKey::from_bytes(&h.key).unwrap())
        .unwrap();
    let mut rk = [0u8; 96];
    hkdf_sha256(
        root0,
        dh.expose(),
        b"rsZUpEuXUqqwXBvSy3EcievAh4cMj6QL",
        &mut rk,
    )
    .unwrap();
    let (h2, ct2) = b.encrypt(b"two", b"").unwrap();
    assert_eq!(h2.key.as_slice(), b0.public_key().as_bytes());
    assert_eq!((h2.n, h2.pn), (0, 0));
    assert_eq!(&b.state().root_chain_key().expose()[..], &rk[..32]);
    assert_eq!(
        b.state().send_chain_key().unwrap().expose(),
        &hmac_sha256(&rk[32..64], &[0x0f])
    );
    assert_eq!(a.decrypt(&h2, &ct2, b"", &mut rng).unwrap().0, b"two");
}
