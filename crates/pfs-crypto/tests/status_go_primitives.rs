//! The pure-crypto primitives recorded from status-go (shared/vectors), recomputed with
//! pfs-crypto's raw primitives: secp256k1 key derivation and ECDH, the X3DH shared secret,
//! status-go's symmetric AES-GCM layout, and recoverable bundle signatures (RFC 6979).

// Helper functions outside #[test] items may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{hexa, hexf, vector_file};
use pfs_crypto::{cipher, hash, secp256k1};
use serde_json::Value;

const V1: &str = "status-go-v1-post-dh-fix.json";
const V0: &str = "status-go-v0-primitives.json";

fn secret(v: &Value, key: &str) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_bytes(&hexf(v, key)).unwrap()
}

fn public(v: &Value, key: &str) -> secp256k1::PublicKey {
    secp256k1::PublicKey::from_sec1(&hexf(v, key)).unwrap()
}

/// A key view `{private_key, public_key_compressed, public_key_uncompressed?}`: checks that the
/// public forms derive from the private key and returns the secret key.
fn key_view(v: &Value) -> secp256k1::SecretKey {
    let sk = secret(v, "private_key");
    let pk = sk.public_key();
    assert_eq!(
        hex::encode(pk.to_compressed()),
        v["public_key_compressed"].as_str().unwrap()
    );
    if let Some(un) = v["public_key_uncompressed"].as_str() {
        assert_eq!(hex::encode(pk.to_uncompressed()), un);
        // Both encodings parse back to the same key.
        assert_eq!(
            secp256k1::PublicKey::from_sec1(&hex::decode(un).unwrap()).unwrap(),
            pk
        );
    }
    sk
}

fn dh(a: &secp256k1::SecretKey, b: &secp256k1::SecretKey) -> [u8; 32] {
    *a.diffie_hellman(&b.public_key()).expose()
}

#[test]
fn v1_ethereum_crypto_dh() {
    let doc = vector_file(V1);
    let p = &doc["primitives"]["ethereum_crypto_dh"];
    let sk1 = secret(p, "pair1_private");
    let sk2 = secret(p, "pair2_private");
    assert_eq!(sk1.public_key(), public(p, "pair1_public"));
    assert_eq!(sk2.public_key(), public(p, "pair2_public"));
    assert_eq!(
        sk1.public_key().to_compressed()[..],
        hexf(p, "pair1_public")[..]
    );
    assert_eq!(
        sk2.public_key().to_compressed()[..],
        hexf(p, "pair2_public")[..]
    );
    let expected: [u8; 32] = hexa(p, "dh_output");
    assert_eq!(
        *sk1.diffie_hellman(&public(p, "pair2_public")).expose(),
        expected
    );
    assert_eq!(
        *sk2.diffie_hellman(&public(p, "pair1_public")).expose(),
        expected
    );
    // The pairs are generated_keys[1] and [2].
    let gk = &doc["generated_keys"];
    assert_eq!(gk[1]["private_key"], p["pair1_private"]);
    assert_eq!(gk[2]["private_key"], p["pair2_private"]);
    assert_eq!(gk[1]["public_key_compressed"], p["pair1_public"]);
    assert_eq!(gk[2]["public_key_compressed"], p["pair2_public"]);
}

/// X3DH as status-go does it: SK = Keccak256(DH1 ‖ DH2 ‖ DH3), from both sides.
fn x3dh_both_sides(
    ik_a: &secp256k1::SecretKey,
    ek_a: &secp256k1::SecretKey,
    ik_b: &secp256k1::SecretKey,
    spk_b: &secp256k1::SecretKey,
) -> ([[u8; 32]; 3], [u8; 32]) {
    let active = [dh(ik_a, spk_b), dh(ek_a, ik_b), dh(ek_a, spk_b)];
    let passive = [dh(spk_b, ik_a), dh(ik_b, ek_a), dh(spk_b, ek_a)];
    assert_eq!(active, passive);
    let sk_active = hash::keccak256_concat(&[&active[0], &active[1], &active[2]]);
    let sk_passive = hash::keccak256(&passive.concat());
    assert_eq!(sk_active, sk_passive);
    (active, sk_active)
}

#[test]
fn v0_x3dh_primitive() {
    let doc = vector_file(V0);
    let x = &doc["primitives"]["x3dh"];
    let ik_a = key_view(&x["alice_identity"]);
    let ek_a = key_view(&x["alice_ephemeral"]);
    let ik_b = key_view(&x["bob_identity"]);
    let spk_b = key_view(&x["bob_signed_pre_key"]);
    // The recorded keys are the ASCII strings "0"*32 … "3"*32 used as raw scalars.
    assert_eq!(ik_a.to_bytes().expose(), &[b'0'; 32]);
    assert_eq!(ek_a.to_bytes().expose(), &[b'1'; 32]);
    let (dhs, sk) = x3dh_both_sides(&ik_a, &ek_a, &ik_b, &spk_b);
    assert_eq!(dhs[0], hexa::<32>(x, "dh1"));
    assert_eq!(dhs[1], hexa::<32>(x, "dh2"));
    assert_eq!(dhs[2], hexa::<32>(x, "dh3"));
    assert_eq!(sk, hexa::<32>(x, "shared_secret"));
}

#[test]
fn v1_x3dh_primitive() {
    let doc = vector_file(V1);
    let flow = &doc["flows"][0];
    let ik_a = key_view(&flow["alice"]["identity"]);
    let ik_b = key_view(&flow["bob"]["identity"]);
    let spk_b = key_view(&flow["bob"]["signed_pre_key"]);
    let ek_a = key_view(&doc["generated_keys"][0]);
    let (_, sk) = x3dh_both_sides(&ik_a, &ek_a, &ik_b, &spk_b);
    assert_eq!(sk, hexa::<32>(&doc["primitives"]["x3dh"], "shared_secret"));
}

#[test]
fn v0_aes_gcm_symmetric() {
    let doc = vector_file(V0);
    let cases = doc["primitives"]["aes_gcm_symmetric"].as_array().unwrap();
    assert!(!cases.is_empty());
    for c in cases {
        let key: [u8; 32] = hexa(c, "key");
        let nonce: [u8; 12] = hexa(c, "nonce");
        let pt = hexf(c, "plaintext");
        let out = hexf(c, "output");
        assert_eq!(
            cipher::gcm_seal_nonce_appended(&key, &nonce, &pt).unwrap(),
            out
        );
        assert_eq!(cipher::gcm_open_nonce_appended(&key, &out).unwrap(), pt);
        // The layout is ciphertext ‖ tag ‖ nonce.
        assert_eq!(out[out.len() - 12..], nonce);
        let (ct_tag, _) = out.split_at(out.len() - 12);
        assert_eq!(
            cipher::aes256_gcm_open(&key, &nonce, &[], ct_tag).unwrap(),
            pt
        );
        // Tampering anywhere fails authentication.
        for i in 0..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x01;
            assert!(
                cipher::gcm_open_nonce_appended(&key, &bad).is_err(),
                "byte {i}"
            );
        }
    }
}

/// Checks one `bundle_signature` case with the signer's secret key; returns nothing, panics on
/// mismatch.
fn check_bundle_signature(c: &Value, signer: &secp256k1::SecretKey) {
    let material = hexf(c, "signature_material");
    let digest: [u8; 32] = hexa(c, "keccak256_material");
    assert_eq!(hash::keccak256(&material), digest);
    let sig_bytes = hexf(c, "signature");
    assert_eq!(c["bundle"]["signature"], c["signature"]);
    let identity = public(&c["bundle"], "identity");
    assert_eq!(signer.public_key(), identity);

    // Recovery gives the bundle's identity.
    let sig = secp256k1::RecoverableSignature::from_bytes(&sig_bytes).unwrap();
    let recovered = sig.recover(&digest).unwrap();
    assert_eq!(recovered, identity);
    assert_eq!(recovered.ethereum_address(), identity.ethereum_address());

    // RFC 6979 signing reproduces the recorded bytes exactly.
    let ours = signer.sign_prehash_recoverable(&digest).unwrap();
    assert_eq!(hex::encode(ours.to_bytes()), hex::encode(&sig_bytes));

    // The R‖S part also verifies as a plain ECDSA signature.
    secp256k1::verify_prehash(&identity, &digest, &sig_bytes[..64]).unwrap();

    // A different digest does not recover the identity.
    let mut other = digest;
    other[0] ^= 1;
    assert_ne!(sig.recover(&other).ok(), Some(identity.clone()));
}

#[test]
fn v1_bundle_signatures() {
    let doc = vector_file(V1);
    let cases = doc["primitives"]["bundle_signature"].as_array().unwrap();
    assert!(!cases.is_empty());
    // The signer is the flow party whose identity matches the bundle's.
    let parties: Vec<secp256k1::SecretKey> = doc["flows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| [&f["alice"]["identity"], &f["bob"]["identity"]])
        .filter(|v| v.is_object())
        .map(key_view)
        .collect();
    for c in cases {
        let identity = public(&c["bundle"], "identity");
        let signer = parties
            .iter()
            .find(|sk| sk.public_key() == identity)
            .unwrap_or_else(|| panic!("no flow party with identity {identity:?}"));
        check_bundle_signature(c, signer);
    }
}

#[test]
fn v0_bundle_signatures() {
    let doc = vector_file(V0);
    let cases = doc["primitives"]["bundle_signature"].as_array().unwrap();
    assert!(cases.len() >= 3);
    for c in cases {
        let signer = secret(c, "identity_private");
        check_bundle_signature(c, &signer);
        // extract_identity is the recovered key, uncompressed, 0x-prefixed.
        let extracted = c["extract_identity"].as_str().unwrap();
        let extracted = hex::decode(extracted.trim_start_matches("0x")).unwrap();
        assert_eq!(
            secp256k1::PublicKey::from_sec1(&extracted).unwrap(),
            signer.public_key()
        );
    }
}
