//! Known answers recorded from status-go (../shared/vectors).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::{arr32, hexf, vectors};
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_wire::{Limits, Message, pb};
use pfs_x3dh::*;
use serde_json::Value;

fn key_view_secret(v: &Value) -> SecretKey {
    let sk = SecretKey::from_bytes(&hexf(v, "private_key")).unwrap();
    assert_eq!(
        sk.public_key().to_compressed().to_vec(),
        hexf(v, "public_key_compressed")
    );
    if v.get("public_key_uncompressed").is_some() {
        assert_eq!(
            sk.public_key().to_uncompressed().to_vec(),
            hexf(v, "public_key_uncompressed")
        );
    }
    sk
}

/// Checks `view` (a bundle view) against a decoded bundle.
fn assert_view_matches(view: &Value, b: &pb::Bundle) {
    assert_eq!(b.identity, hexf(view, "identity"));
    assert_eq!(b.signature, hexf(view, "signature"));
    assert_eq!(
        b.timestamp.to_string(),
        view["timestamp"].as_str().unwrap().to_owned()
    );
    let spks = view["signed_pre_keys"].as_object().unwrap();
    assert_eq!(b.signed_pre_keys.len(), spks.len());
    for e in &b.signed_pre_keys {
        let v = &spks[&e.installation_id];
        let spk = e.signed_pre_key.as_ref().unwrap();
        assert_eq!(spk.signed_pre_key, hexf(v, "signed_pre_key"));
        assert_eq!(u64::from(spk.version), v["version"].as_u64().unwrap());
        assert_eq!(
            u64::from(spk.protocol_version),
            v.get("protocol_version")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        );
    }
}

/// The full bundle_signature check of one case, with the signer's secret key.
fn check_bundle_case(case: &Value, signer: &SecretKey) {
    let view = &case["bundle"];
    let bytes = hexf(view, "protobuf");
    let b = pfs_wire::decode_bundle(&bytes, &Limits::default()).unwrap();
    assert_view_matches(view, &b);

    // 1. material and hash
    let material = bundle_signature_material(&b);
    assert_eq!(material, hexf(case, "signature_material"));
    assert_eq!(
        pfs_crypto::hash::keccak256(&material).to_vec(),
        hexf(case, "keccak256_material")
    );
    // 3. recovery / verification
    let verified = verify_bundle(&b).unwrap();
    assert_eq!(verified.identity().to_compressed().to_vec(), b.identity);
    assert_eq!(verified.timestamp_ns(), b.timestamp);
    assert_eq!(verified.entries().len(), b.signed_pre_keys.len());
    for (e, w) in verified.entries().iter().zip(&b.signed_pre_keys) {
        assert_eq!(e.installation_id.as_str(), w.installation_id);
    }
    // 4. recorded signature
    assert_eq!(b.signature, hexf(case, "signature"));
    // 2 + 5. re-signing with the recorded order and timestamp reproduces the bytes
    let identity = IdentityKeyPair::from_secret(signer.clone());
    assert_eq!(identity.public(), verified.identity());
    let resigned = sign_bundle(&identity, verified.entries(), b.timestamp).unwrap();
    assert_eq!(resigned.signature, hexf(case, "signature"));
    assert_eq!(resigned.encode_to_vec(), bytes);
    assert_eq!(
        signature_material(verified.entries(), b.timestamp),
        hexf(case, "signature_material")
    );
    // contact code round trip
    let code = contact_code(&b);
    assert_eq!(parse_contact_code(&code).unwrap().bundle(), &b);
}

#[test]
fn v1_x3dh_shared_secret() {
    let doc = vectors("status-go-v1-post-dh-fix.json");
    let flow = &doc["flows"][0];
    let ik_a = IdentityKeyPair::from_secret(key_view_secret(&flow["alice"]["identity"]));
    let ik_b = IdentityKeyPair::from_secret(key_view_secret(&flow["bob"]["identity"]));
    let spk_b = key_view_secret(&flow["bob"]["signed_pre_key"]);
    let ek = arr32(&hexf(&doc["generated_keys"][0], "private_key"));
    let mut rng = common::ScriptedRng::with_keys(&[ek]);
    let (sk_a, header) =
        x3dh_initiate(&ik_a, ik_b.public(), &spk_b.public_key(), &mut rng).unwrap();
    assert_eq!(
        header.ephemeral.to_compressed().to_vec(),
        hexf(&doc["generated_keys"][0], "public_key_compressed")
    );
    assert_eq!(header.spk_id, spk_b.public_key().to_compressed());
    let sk_b = x3dh_respond(&ik_b, &spk_b, ik_a.public(), &header.ephemeral);
    let want = hexf(&doc["primitives"]["x3dh"], "shared_secret");
    assert_eq!(sk_a.expose().to_vec(), want);
    assert_eq!(sk_b.expose().to_vec(), want);
    assert_eq!(
        hex::encode(want),
        "a4e923d0af8fe78a056363be20e71c0a58e569ea8fc1f79289eca10d9f68133a"
    );
}

#[test]
fn v0_x3dh_intermediates() {
    let doc = vectors("status-go-v0-primitives.json");
    let x = &doc["primitives"]["x3dh"];
    let ik_a = key_view_secret(&x["alice_identity"]);
    let ek_a = key_view_secret(&x["alice_ephemeral"]);
    let ik_b = key_view_secret(&x["bob_identity"]);
    let spk_b = key_view_secret(&x["bob_signed_pre_key"]);
    assert_eq!(
        ik_a.diffie_hellman(&spk_b.public_key()).expose().to_vec(),
        hexf(x, "dh1")
    );
    assert_eq!(
        ek_a.diffie_hellman(&ik_b.public_key()).expose().to_vec(),
        hexf(x, "dh2")
    );
    assert_eq!(
        ek_a.diffie_hellman(&spk_b.public_key()).expose().to_vec(),
        hexf(x, "dh3")
    );
    let alice = IdentityKeyPair::from_secret(ik_a);
    let bob = IdentityKeyPair::from_secret(ik_b);
    let ek = EphemeralKeyPair::from_secret(ek_a);
    let (sk, header) = x3dh_initiate_with_ephemeral(&alice, bob.public(), &spk_b.public_key(), &ek);
    let sk_b = x3dh_respond(&bob, &spk_b, alice.public(), &header.ephemeral);
    assert_eq!(sk.expose().to_vec(), hexf(x, "shared_secret"));
    assert_eq!(sk_b.expose().to_vec(), hexf(x, "shared_secret"));
}

#[test]
fn v1_bundle_signature_cases() {
    let doc = vectors("status-go-v1-post-dh-fix.json");
    let flow = &doc["flows"][0];
    let cases = doc["primitives"]["bundle_signature"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let identity = hexf(&case["bundle"], "identity");
        let signer = ["alice", "bob"]
            .iter()
            .map(|p| &flow[*p]["identity"])
            .find(|k| hexf(k, "public_key_compressed") == identity)
            .map(key_view_secret)
            .unwrap();
        check_bundle_case(case, &signer);
    }
}

#[test]
fn v0_bundle_signature_cases() {
    let doc = vectors("status-go-v0-primitives.json");
    let cases = doc["primitives"]["bundle_signature"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let signer = SecretKey::from_bytes(&hexf(case, "identity_private")).unwrap();
        check_bundle_case(case, &signer);
        // The separately recorded serialization and the contact code decode to the
        // same bundle (their map order may differ) and verify.
        let view = &case["bundle"];
        let from_pb =
            pfs_wire::decode_bundle(&hexf(case, "bundle_protobuf"), &Limits::default()).unwrap();
        assert_view_matches(view, &from_pb);
        let code = case["contact_code_base64"].as_str().unwrap();
        let parsed = parse_contact_code(code).unwrap();
        assert_view_matches(view, parsed.bundle());
        // ExtractIdentity: "0x" + uncompressed recovered key
        let extracted = format!("0x{}", hex::encode(parsed.identity().to_uncompressed()));
        assert_eq!(extracted, case["extract_identity"].as_str().unwrap());
    }
}

#[test]
fn v0_contact_code_fixture_decodes_but_does_not_verify() {
    let doc = vectors("status-go-v0-primitives.json");
    for case in doc["primitives"]["contact_code_fixture"]
        .as_array()
        .unwrap()
    {
        let code = case["contact_code_base64"].as_str().unwrap();
        let b = decode_contact_code(code).unwrap();
        assert_view_matches(&case["decoded"], &b);
        assert_eq!(b.encode_to_vec(), hexf(&case["decoded"], "protobuf"));
        assert_eq!(
            parse_contact_code(code).unwrap_err(),
            ContactCodeError::Bundle(BundleError::SignerMismatch)
        );
    }
}

#[test]
fn extract_identity_of_the_spec_key() {
    // TestExtractIdentity (status-go x3dh_test.go): identity private key "0"*32.
    let ik = IdentityKeyPair::from_bytes(&[0x30; 32]).unwrap();
    assert_eq!(
        format!("0x{}", hex::encode(ik.public().to_uncompressed())),
        "0x042ed557f5ad336b31a49857e4e9664954ac33385aa20a93e2d64bfe7f08f51277bcb27c1259f802a52ed3ea7ac939043f0cc864e27400294bf121f23877995852"
    );
    let _ = PublicKey::from_compressed(&ik.public().to_compressed()).unwrap();
}
