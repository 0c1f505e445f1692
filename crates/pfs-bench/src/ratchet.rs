//! Our pure ratchet ([`pfs_ratchet::Session`]) and X3DH, without engine or store.

use pfs_crypto::secp256k1::PublicKey;
use pfs_crypto::{OsRandom, RandomSource};
use pfs_ratchet::{ConfirmMode, DhKeyPair, Header, Limits, RatchetState, Session, SuiteId};
use pfs_wire::pb;
use pfs_x3dh::{BundleEntry, IdentityKeyPair, InstallationId, SignedPreKeyPair};

/// A message in flight: header and ciphertext.
pub type Msg = (Header, Vec<u8>);

fn new_session(state: RatchetState) -> Session {
    Session::new(state, Limits::default(), ConfirmMode::Immediate)
}

/// Alice (initiator) and Bob (responder) sessions of `suite` from a random shared secret,
/// with one message delivered each way (Alice → Bob, Bob → Alice), as the Olm pair.
pub fn pair(suite: SuiteId) -> (Session, Session) {
    let mut rng = OsRandom;
    let mut sk = pfs_crypto::SecretBytes::<32>::zero();
    rng.fill_bytes(sk.expose_mut()).unwrap();
    let (a, b) = match suite {
        SuiteId::StatusGo => {
            let spk = pfs_crypto::secp256k1::SecretKey::generate(&mut rng).unwrap();
            let spk_pub = spk.public_key().to_compressed();
            let b = RatchetState::new_status_go_responder(
                &sk,
                DhKeyPair {
                    secret: spk.to_bytes(),
                    public: spk_pub.to_vec(),
                },
            )
            .unwrap();
            let a = RatchetState::new_status_go_initiator(&sk, &spk_pub, &mut rng).unwrap();
            (a, b)
        }
        SuiteId::Spec => (
            RatchetState::new_spec_initiator(&sk, &mut rng).unwrap(),
            RatchetState::new_spec_responder(&sk).unwrap(),
        ),
    };
    let (mut a, mut b) = (new_session(a), new_session(b));
    let m = send(&mut a, b"hello");
    recv(&mut b, &m);
    let m = send(&mut b, b"hello");
    recv(&mut a, &m);
    (a, b)
}

/// Encrypts with an empty AD prefix.
pub fn send(s: &mut Session, pt: &[u8]) -> Msg {
    s.encrypt(pt, &[]).unwrap()
}

/// Decrypts (panics on failure).
pub fn recv(s: &mut Session, m: &Msg) -> Vec<u8> {
    s.decrypt(&m.0, &m.1, &[], &mut OsRandom).unwrap().0
}

/// Bob's published material and Alice's identity, prepared outside the measured part of
/// the establishment benchmark.
pub struct EstablishFixture {
    /// Alice's identity.
    pub alice: IdentityKeyPair,
    /// Bob's identity.
    pub bob: IdentityKeyPair,
    /// Bob's signed prekey.
    pub bob_spk: SignedPreKeyPair,
    /// Bob's installation id.
    pub bob_installation: String,
    /// Bob's signed bundle, as Alice receives it.
    pub bundle: pb::Bundle,
}

impl EstablishFixture {
    /// New random identities and a bundle advertising protocol version 2.
    pub fn new() -> Self {
        let mut rng = OsRandom;
        let alice = IdentityKeyPair::generate(&mut rng).unwrap();
        let bob = IdentityKeyPair::generate(&mut rng).unwrap();
        let bob_spk = SignedPreKeyPair::generate(&mut rng, 1, 1).unwrap();
        let bob_installation = "bob-device-1".to_owned();
        let entry = BundleEntry {
            installation_id: InstallationId::new(bob_installation.clone()).unwrap(),
            signed_pre_key: bob_spk.public().clone(),
            version: 1,
            protocol_version: 2,
        };
        let bundle = pfs_x3dh::sign_bundle(&bob, &[entry], 1_700_000_000_000_000_000).unwrap();
        Self {
            alice,
            bob,
            bob_spk,
            bob_installation,
            bundle,
        }
    }

    /// Bundle verification + X3DH (initiator) + ratchet init + first encrypt, then X3DH
    /// (responder) + ratchet init + decrypt. Returns both sessions.
    pub fn establish(&self, suite: SuiteId) -> (RatchetState, RatchetState) {
        let mut rng = OsRandom;
        // Alice
        let vb = pfs_x3dh::verify_bundle(&self.bundle).unwrap();
        let entry = vb.entry(&self.bob_installation).unwrap();
        let spk: &PublicKey = &entry.signed_pre_key;
        let (sk, header) =
            pfs_x3dh::x3dh_initiate(&self.alice, vb.identity(), spk, &mut rng).unwrap();
        let mut a = match suite {
            SuiteId::StatusGo => {
                RatchetState::new_status_go_initiator(&sk, spk.as_compressed(), &mut rng).unwrap()
            }
            SuiteId::Spec => RatchetState::new_spec_initiator(&sk, &mut rng).unwrap(),
        };
        let (h, ct) = a.encrypt(&crate::SMALL, &[]).unwrap();
        // Bob
        let sk_b = pfs_x3dh::x3dh_respond(
            &self.bob,
            self.bob_spk.secret(),
            self.alice.public(),
            &header.ephemeral,
        );
        let b = match suite {
            SuiteId::StatusGo => RatchetState::new_status_go_responder(
                &sk_b,
                DhKeyPair {
                    secret: self.bob_spk.secret().to_bytes(),
                    public: self.bob_spk.public().to_compressed().to_vec(),
                },
            )
            .unwrap(),
            SuiteId::Spec => RatchetState::new_spec_responder(&sk_b).unwrap(),
        };
        let d = b
            .decrypt(
                &(),
                &h,
                &ct,
                &[],
                &mut rng,
                &Limits::default(),
                ConfirmMode::Immediate,
            )
            .unwrap();
        assert_eq!(d.plaintext, crate::SMALL);
        (a, d.state)
    }
}

impl Default for EstablishFixture {
    fn default() -> Self {
        Self::new()
    }
}

/// Alice sends `GAP + 1` messages; returns Bob's session and the messages (last one is
/// decrypted first by the benchmark).
pub fn gap_fixture(suite: SuiteId) -> (Session, Vec<Msg>) {
    let (mut a, b) = pair(suite);
    let msgs = (0..=crate::GAP)
        .map(|_| send(&mut a, &crate::SMALL))
        .collect();
    (b, msgs)
}

/// Decrypts the last message first, then every skipped one; returns how many succeeded.
pub fn run_gap(b: &mut Session, msgs: &[Msg]) -> usize {
    let mut ok = 0;
    if let Some((last, rest)) = msgs.split_last() {
        let mut rng = OsRandom;
        ok += usize::from(b.decrypt(&last.0, &last.1, &[], &mut rng).is_ok());
        for m in rest {
            ok += usize::from(b.decrypt(&m.0, &m.1, &[], &mut rng).is_ok());
        }
    }
    ok
}
