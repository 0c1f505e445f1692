//! vodozemac's Olm (version 1 session config, as deployed in Matrix).

use vodozemac::olm::{Account, OlmMessage, Session, SessionConfig};

/// Alice (outbound) and Bob (inbound) sessions with one message delivered each way.
pub fn pair() -> (Session, Session) {
    let alice = Account::new();
    let mut bob = Account::new();
    let (mut a, mut b) = establish(&alice, &mut bob);
    let m = b.encrypt(b"hello").unwrap();
    a.decrypt(&m).unwrap();
    (a, b)
}

/// Bob generates and publishes one one-time key; Alice creates an outbound session and
/// encrypts the first (pre-key) message; Bob creates the inbound session from it.
pub fn establish(alice: &Account, bob: &mut Account) -> (Session, Session) {
    bob.generate_one_time_keys(1);
    let otk = bob.one_time_keys().into_values().next().unwrap();
    bob.mark_keys_as_published();
    let mut a = alice
        .create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk)
        .unwrap();
    let m = a.encrypt(crate::SMALL).unwrap();
    let OlmMessage::PreKey(pre) = m else {
        panic!("the first message is a pre-key message");
    };
    let r = bob
        .create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &pre)
        .unwrap();
    assert_eq!(r.plaintext, crate::SMALL);
    (a, r.session)
}

/// Alice sends `GAP + 1` messages; returns Bob's session and the messages.
pub fn gap_fixture() -> (Session, Vec<OlmMessage>) {
    let (mut a, b) = pair();
    let msgs = (0..=crate::GAP)
        .map(|_| a.encrypt(crate::SMALL).unwrap())
        .collect();
    (b, msgs)
}

/// Decrypts the last message first, then every skipped one; returns how many succeeded
/// (Olm keeps at most 40 skipped keys per chain, so most of the 999 fail).
pub fn run_gap(b: &mut Session, msgs: &[OlmMessage]) -> usize {
    let mut ok = 0;
    if let Some((last, rest)) = msgs.split_last() {
        ok += usize::from(b.decrypt(last).is_ok());
        for m in rest {
            ok += usize::from(b.decrypt(m).is_ok());
        }
    }
    ok
}

/// Size of the session's pickle: its serde JSON (what `SessionPickle::encrypt` encrypts)
/// and the encrypted, base64 pickle an application stores.
pub fn pickle_sizes(s: &Session) -> (usize, usize) {
    let json = serde_json::to_vec(&s.pickle()).unwrap().len();
    let encrypted = s.pickle().encrypt(&[7u8; 32]).len();
    (json, encrypted)
}
