//! Property tests: X3DH agreement, bundle tamper detection, contact-code round trip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::ScriptedRng;
use pfs_crypto::secp256k1::SecretKey;
use pfs_wire::{Message, pb};
use pfs_x3dh::*;
use proptest::prelude::*;

fn secret() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_filter_map("valid scalar", |b| SecretKey::from_bytes(&b).ok())
}

fn installation_id() -> impl Strategy<Value = InstallationId> {
    "[a-zA-Z0-9ü-]{1,20}".prop_filter_map("valid id", |s| InstallationId::new(s).ok())
}

fn entries() -> impl Strategy<Value = Vec<BundleEntry>> {
    prop::collection::vec((installation_id(), secret(), any::<u32>(), 0u32..3), 1..4).prop_map(
        |v| {
            let mut seen = std::collections::BTreeSet::new();
            v.into_iter()
                .filter(|(id, ..)| seen.insert(id.clone()))
                .map(
                    |(installation_id, k, version, protocol_version)| BundleEntry {
                        installation_id,
                        signed_pre_key: k.public_key(),
                        version,
                        protocol_version,
                    },
                )
                .collect()
        },
    )
}

fn signed(identity: &SecretKey, entries: &[BundleEntry], ts: i64) -> pb::Bundle {
    sign_bundle(&IdentityKeyPair::from_secret(identity.clone()), entries, ts).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn both_sides_agree(a in secret(), b in secret(), spk in secret(), ek in any::<[u8; 32]>()) {
        let alice = IdentityKeyPair::from_secret(a);
        let bob = IdentityKeyPair::from_secret(b);
        let mut rng = ScriptedRng::with_keys(&[ek]);
        let (sk, header) = x3dh_initiate(&alice, bob.public(), &spk.public_key(), &mut rng).unwrap();
        prop_assert_eq!(header.spk_id, spk.public_key().to_compressed());
        let parsed = X3dhHeader::from_pb(&header.to_pb()).unwrap();
        prop_assert_eq!(&parsed, &header);
        let sk_b = x3dh_respond(&bob, &spk, alice.public(), &parsed.ephemeral);
        prop_assert_eq!(&sk, &sk_b);
        let spk_id = spk.public_key().to_compressed();
        let sk_c = x3dh_respond_to_header(&bob, alice.public(), &parsed,
            |id| (id == &spk_id).then(|| spk.clone())).unwrap();
        prop_assert_eq!(&sk, &sk_c);
        prop_assert_eq!(
            x3dh_respond_to_header(&bob, alice.public(), &parsed, |_| None).unwrap_err(),
            X3dhError::UnknownSignedPreKey
        );
        // A different ephemeral gives a different SK and a different replay id.
        let other = X3dhHeader { ephemeral: bob.public().clone(), spk_id };
        prop_assert_ne!(x3dh_respond(&bob, &spk, alice.public(), &other.ephemeral), sk);
        prop_assert_ne!(other.initial_message_id(), header.initial_message_id());
        prop_assert_eq!(parsed.initial_message_id(), header.initial_message_id());
    }

    #[test]
    fn signed_bundles_verify_and_round_trip(id in secret(), es in entries(), ts in any::<i64>()) {
        let b = signed(&id, &es, ts);
        let v = verify_bundle(&b).unwrap();
        prop_assert_eq!(v.entries(), &es[..]);
        prop_assert_eq!(v.timestamp_ns(), ts);
        prop_assert_eq!(v.identity(), &id.public_key());
        let code = contact_code(&b);
        let parsed = parse_contact_code(&format!("\n {code} \t")).unwrap();
        prop_assert_eq!(parsed.bundle(), &b);
        prop_assert_eq!(parsed.entries(), &es[..]);
    }

    /// Any single byte change of the signature, identity or a signed prekey fails.
    #[test]
    fn tampered_bytes_fail(id in secret(), es in entries(), ts in any::<i64>(),
                           field in 0usize..3, pos in any::<prop::sample::Index>(),
                           delta in 1u8..=255) {
        let mut b = signed(&id, &es, ts);
        let target: &mut Vec<u8> = match field {
            0 => &mut b.signature,
            1 => &mut b.identity,
            _ => {
                let n = b.signed_pre_keys.len();
                let e = &mut b.signed_pre_keys[pos.index(n)];
                &mut e.signed_pre_key.as_mut().unwrap().signed_pre_key
            }
        };
        let i = pos.index(target.len());
        target[i] = target[i].wrapping_add(delta);
        prop_assert!(verify_bundle(&b).is_err());
        // Also after a trip through the wire.
        let re = pb::Bundle::decode(b.encode_to_vec().as_slice()).unwrap();
        prop_assert!(verify_bundle(&re).is_err());
    }

    /// A changed version or timestamp (re-encoded) fails.
    #[test]
    fn tampered_version_or_timestamp_fails(id in secret(), es in entries(), ts in any::<i64>(),
                                           which in any::<prop::sample::Index>(),
                                           new_version in any::<u32>(), new_ts in any::<i64>(),
                                           field in 0usize..2) {
        let mut b = signed(&id, &es, ts);
        if field == 0 {
            let n = b.signed_pre_keys.len();
            let spk = b.signed_pre_keys[which.index(n)].signed_pre_key.as_mut().unwrap();
            prop_assume!(spk.version != new_version);
            spk.version = new_version;
        } else {
            // 0 and a value with the same decimal digits cannot collide except when equal.
            prop_assume!(ts != new_ts);
            b.timestamp = new_ts;
        }
        let re = pb::Bundle::decode(b.encode_to_vec().as_slice()).unwrap();
        prop_assert_eq!(verify_bundle(&re).unwrap_err(), BundleError::SignerMismatch);
    }

    /// Any single byte change of an installation id (kept valid UTF-8) fails.
    #[test]
    fn tampered_installation_id_fails(id in secret(), es in entries(), ts in any::<i64>(),
                                      which in any::<prop::sample::Index>(), c in "[a-z]") {
        let mut b = signed(&id, &es, ts);
        let n = b.signed_pre_keys.len();
        let e = &mut b.signed_pre_keys[which.index(n)];
        e.installation_id.push_str(&c);
        prop_assert!(verify_bundle(&b).is_err());
    }

    /// Arbitrary text never panics the contact-code parser.
    #[test]
    fn contact_code_parser_total(s in ".{0,300}") {
        let _ = parse_contact_code(&s);
    }
}

#[test]
fn bundle_structure_errors_are_typed() {
    let id = SecretKey::from_bytes(&[0x32; 32]).unwrap();
    let spk = SecretKey::from_bytes(&[0x33; 32]).unwrap();
    let e = BundleEntry {
        installation_id: InstallationId::new("a").unwrap(),
        signed_pre_key: spk.public_key(),
        version: 1,
        protocol_version: 1,
    };
    let b = signed(&id, std::slice::from_ref(&e), 5);
    assert!(verify_bundle(&b).is_ok());

    let mut x = b.clone();
    x.identity = id.public_key().to_uncompressed().to_vec();
    assert_eq!(
        verify_bundle(&x).unwrap_err(),
        BundleError::InvalidIdentity { len: 65 }
    );
    let mut x = b.clone();
    x.signature.pop();
    assert_eq!(
        verify_bundle(&x).unwrap_err(),
        BundleError::InvalidSignatureLength { len: 64 }
    );
    let mut x = b.clone();
    x.signature[64] = 7;
    assert_eq!(
        verify_bundle(&x).unwrap_err(),
        BundleError::MalformedSignature
    );
    let mut x = b.clone();
    x.signed_pre_keys[0]
        .signed_pre_key
        .as_mut()
        .unwrap()
        .signed_pre_key = vec![2; 33];
    assert!(matches!(
        verify_bundle(&x),
        Err(BundleError::InvalidSignedPreKey { .. }) | Err(BundleError::SignerMismatch)
    ));
    let mut x = b.clone();
    x.signed_pre_keys[0]
        .signed_pre_key
        .as_mut()
        .unwrap()
        .signed_pre_key
        .push(0);
    assert!(matches!(
        verify_bundle(&x),
        Err(BundleError::InvalidSignedPreKey { .. })
    ));
    let mut x = b.clone();
    x.signed_pre_keys[0].signed_pre_key = None;
    assert!(matches!(
        verify_bundle(&x),
        Err(BundleError::MissingSignedPreKey(_))
    ));
    let mut x = b.clone();
    x.signed_pre_keys.push(x.signed_pre_keys[0].clone());
    assert!(matches!(
        verify_bundle(&x),
        Err(BundleError::DuplicateInstallationId(_))
    ));
    let mut x = b.clone();
    x.signed_pre_keys[0].installation_id.clear();
    assert!(matches!(
        verify_bundle(&x),
        Err(BundleError::InvalidInstallationId(_))
    ));
    // sign_bundle refuses duplicates
    let ik = IdentityKeyPair::from_secret(id);
    assert!(matches!(
        sign_bundle(&ik, &[e.clone(), e], 1),
        Err(BundleError::DuplicateInstallationId(_))
    ));
}

#[test]
fn contact_code_errors_are_typed() {
    assert_eq!(
        parse_contact_code("  \n").unwrap_err(),
        ContactCodeError::Empty
    );
    assert!(matches!(
        parse_contact_code(&"A".repeat(MAX_CONTACT_CODE_LEN + 1)),
        Err(ContactCodeError::TooLong { .. })
    ));
    assert!(matches!(
        parse_contact_code("abc$"),
        Err(ContactCodeError::Base64(_))
    ));
    // Missing padding is refused (standard base64 with padding only).
    assert!(matches!(
        parse_contact_code("CiE"),
        Err(ContactCodeError::Base64(_))
    ));
    // Valid base64, truncated protobuf.
    assert!(matches!(
        parse_contact_code("CiEC"),
        Err(ContactCodeError::Wire(_))
    ));
}

#[test]
fn x3dh_header_errors_are_typed() {
    let good = SecretKey::from_bytes(&[0x31; 32])
        .unwrap()
        .public_key()
        .to_compressed()
        .to_vec();
    // A 33-byte key whose x has no point on the curve.
    let off_curve = (0u8..=255)
        .map(|x| {
            let mut k = vec![2u8; 33];
            k[32] = x;
            k
        })
        .find(|k| pfs_crypto::secp256k1::PublicKey::from_sec1(k).is_err())
        .unwrap();
    let h = pb::X3dhHeader {
        key: off_curve,
        id: good.clone(),
    };
    assert_eq!(
        X3dhHeader::from_pb(&h).unwrap_err(),
        X3dhError::InvalidEphemeralKey { len: 33 }
    );
    let h = pb::X3dhHeader {
        key: vec![2; 32],
        id: good.clone(),
    };
    assert_eq!(
        X3dhHeader::from_pb(&h).unwrap_err(),
        X3dhError::InvalidEphemeralKey { len: 32 }
    );
    let h = pb::X3dhHeader {
        key: good.clone(),
        id: vec![],
    };
    assert_eq!(
        X3dhHeader::from_pb(&h).unwrap_err(),
        X3dhError::InvalidSignedPreKeyId { len: 0 }
    );
    let h = pb::X3dhHeader {
        key: good.clone(),
        id: good,
    };
    assert!(X3dhHeader::from_pb(&h).is_ok());
}

#[test]
fn signed_prekey_rotation_helpers() {
    let mut rng = ScriptedRng::with_keys(&[[0x33; 32]]);
    let spk = SignedPreKeyPair::generate(&mut rng, 2, 1_000).unwrap();
    assert_eq!(spk.version(), 2);
    assert_eq!(spk.created_ns(), 1_000);
    assert_eq!(spk.id(), spk.public().to_compressed());
    assert!(!spk.needs_rotation(1_000 + BUNDLE_REFRESH_INTERVAL_NS));
    assert!(spk.needs_rotation(1_001 + BUNDLE_REFRESH_INTERVAL_NS));
    assert_eq!(BUNDLE_REFRESH_INTERVAL_NS, 86_400_000_000_000);
}
