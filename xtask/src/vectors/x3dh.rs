//! Verifier for the X3DH layer (`pfs-x3dh`): the primitives `x3dh`, `ethereum_crypto_dh`,
//! `bundle_signature`, `contact_code_fixture` and `aes_gcm_symmetric`
//! ([`verify_primitive`]), and every bundle view found in the flows ([`verify`]).
//!
//! A bundle view is checked as README §3 `bundle_signature` asks: the recorded protobuf
//! decodes to the view, the signature verifies (the recovered signer is the identity),
//! re-signing with the owner's private key at the recorded timestamp reproduces the
//! signature bytes, re-encoding with the recorded entry order reproduces the protobuf
//! byte for byte, and the bundle survives a contact-code round trip.

use std::collections::BTreeMap;

use pfs_crypto::cipher::{gcm_open_nonce_appended, gcm_seal_nonce_appended};
use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::SecretKey;
use pfs_wire::{Limits, Message, pb};
use pfs_x3dh::{
    EphemeralKeyPair, IdentityKeyPair, bundle_signature_material, contact_code,
    decode_contact_code, parse_contact_code, sign_bundle, signature_material, verify_bundle,
    x3dh_initiate_with_ephemeral, x3dh_respond,
};
use serde_json::Value;

use super::{Report, cases, hexf, text_or_unknown};

/// The primitive sections this module owns.
pub const PRIMITIVES: &[&str] = &[
    "x3dh",
    "ethereum_crypto_dh",
    "bundle_signature",
    "contact_code_fixture",
    "aes_gcm_symmetric",
];

/// Identity keys known from the file: compressed public key → private key.
type Signers = BTreeMap<Vec<u8>, SecretKey>;

fn secret_of(v: &Value) -> Result<SecretKey, String> {
    SecretKey::from_bytes(&hexf(v, "private_key")?).map_err(|e| e.to_string())
}

/// Checks a key view (both public forms derive from the private key) and returns its key.
fn key_view(name: &str, v: &Value, report: &mut Report) -> Option<SecretKey> {
    let r = (|| -> Result<SecretKey, String> {
        let sk = secret_of(v)?;
        let pk = sk.public_key();
        if pk.to_compressed().to_vec() != hexf(v, "public_key_compressed")? {
            return Err("public_key_compressed does not derive from private_key".into());
        }
        if v.get("public_key_uncompressed").is_some()
            && pk.to_uncompressed().to_vec() != hexf(v, "public_key_uncompressed")?
        {
            return Err("public_key_uncompressed does not derive from private_key".into());
        }
        Ok(sk)
    })();
    match r {
        Ok(sk) => {
            report.pass(name);
            Some(sk)
        }
        Err(e) => {
            report.fail(name, &e);
            None
        }
    }
}

fn signers(doc: &Value) -> Signers {
    let mut out = Signers::new();
    let mut add = |v: &Value| {
        if let Ok(sk) = secret_of(v) {
            out.insert(sk.public_key().to_compressed().to_vec(), sk);
        }
    };
    if let Some(flow) = doc.get("flows").and_then(|f| f.get(0)) {
        for party in ["alice", "bob"] {
            if let Some(v) = flow.get(party).and_then(|p| p.get("identity")) {
                add(v);
            }
        }
    }
    if let Some(ids) = doc.get("identities").and_then(Value::as_object) {
        for v in ids.values() {
            add(v);
        }
    }
    out
}

/// Compares a bundle view (identity, signature, timestamp, entries) with a decoded bundle.
fn view_matches(view: &Value, b: &pb::Bundle) -> Result<(), String> {
    if b.identity != hexf(view, "identity")? {
        return Err("identity differs".into());
    }
    if b.signature != hexf(view, "signature")? {
        return Err("signature differs".into());
    }
    let ts = view
        .get("timestamp")
        .and_then(Value::as_str)
        .ok_or("missing timestamp string")?;
    if b.timestamp.to_string() != ts {
        return Err(format!("timestamp {} != {ts}", b.timestamp));
    }
    let spks = view
        .get("signed_pre_keys")
        .and_then(Value::as_object)
        .ok_or("missing signed_pre_keys")?;
    if spks.len() != b.signed_pre_keys.len() {
        return Err(format!(
            "{} entries in the view, {} in the protobuf",
            spks.len(),
            b.signed_pre_keys.len()
        ));
    }
    for e in &b.signed_pre_keys {
        let v = spks
            .get(&e.installation_id)
            .ok_or_else(|| format!("installation {:?} not in the view", e.installation_id))?;
        let spk = e
            .signed_pre_key
            .as_ref()
            .ok_or_else(|| format!("installation {:?} has no value", e.installation_id))?;
        let num = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        if spk.signed_pre_key != hexf(v, "signed_pre_key")?
            || u64::from(spk.version) != num("version")
            || u64::from(spk.protocol_version) != num("protocol_version")
        {
            return Err(format!("entry {:?} differs", e.installation_id));
        }
    }
    Ok(())
}

/// All checks of one bundle view. `signer` is the owner's private key when known.
fn check_bundle_view(name: &str, view: &Value, signer: Option<&SecretKey>, report: &mut Report) {
    let bytes = match hexf(view, "protobuf") {
        Ok(b) => b,
        Err(e) => return report.fail(&format!("{name}: protobuf"), &e),
    };
    let b = match pfs_wire::decode_bundle(&bytes, &Limits::default()) {
        Ok(b) => b,
        Err(e) => return report.fail(&format!("{name}: decode"), &e.to_string()),
    };
    report.check_result(&format!("{name}: view == decoded"), view_matches(view, &b));
    let verified = match verify_bundle(&b) {
        Ok(v) => v,
        Err(e) => return report.fail(&format!("{name}: signature verifies"), &e.to_string()),
    };
    report.check_eq(
        &format!("{name}: recovered signer == identity"),
        verified.identity().to_compressed().to_vec(),
        b.identity.clone(),
    );
    match signer {
        Some(sk) => {
            let identity = IdentityKeyPair::from_secret(sk.clone());
            match sign_bundle(&identity, verified.entries(), b.timestamp) {
                Ok(ours) => {
                    report.check_eq(
                        &format!("{name}: re-signed signature bytes"),
                        hex::encode(&ours.signature),
                        hex::encode(&b.signature),
                    );
                    report.check_eq(
                        &format!("{name}: re-encoded protobuf bytes"),
                        hex::encode(ours.encode_to_vec()),
                        hex::encode(&bytes),
                    );
                }
                Err(e) => report.fail(&format!("{name}: re-sign"), &e.to_string()),
            }
        }
        None => report.fail(
            &format!("{name}: re-sign"),
            "no private key in the file for this identity",
        ),
    }
    let code = contact_code(&b);
    report.check(
        &format!("{name}: contact code round trip"),
        parse_contact_code(&code).is_ok_and(|v| v.bundle() == &b),
        || format!("contact code {code} did not parse back to the bundle"),
    );
}

/// Checks every bundle view in the flows of `doc` (bundle steps, `bundle` /
/// `process_bundle` steps, and `protocol_message_view.bundles[*]` of send steps and of
/// the DH flow).
pub fn verify(doc: &Value, report: &mut Report) {
    let keys = signers(doc);
    let Some(flows) = doc.get("flows").and_then(Value::as_array) else {
        return;
    };
    for (fi, flow) in flows.iter().enumerate() {
        let fname = text_or_unknown(flow, "name");
        let mut views: Vec<(String, &Value)> = Vec::new();
        if let Some(bs) = flow
            .pointer("/protocol_message_view/bundles")
            .and_then(Value::as_array)
        {
            for (i, b) in bs.iter().enumerate() {
                views.push((format!("protocol_message_view.bundles[{i}]"), b));
            }
        }
        for (si, step) in flow
            .get("steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(b) = step.get("bundle") {
                views.push((format!("steps[{si}].bundle"), b));
            }
            if let Some(bs) = step
                .pointer("/protocol_message_view/bundles")
                .and_then(Value::as_array)
            {
                for (i, b) in bs.iter().enumerate() {
                    views.push((format!("steps[{si}].protocol_message_view.bundles[{i}]"), b));
                }
            }
        }
        for (loc, view) in views {
            let signer = hexf(view, "identity").ok().and_then(|id| keys.get(&id));
            check_bundle_view(&format!("flows[{fi}] {fname} {loc}"), view, signer, report);
        }
    }
}

/// Checks one primitive section owned by this module (see [`PRIMITIVES`]).
pub fn verify_primitive(doc: &Value, name: &str, value: &Value, report: &mut Report) {
    for (i, case) in cases(value).into_iter().enumerate() {
        let label = format!("primitives.{name}[{i}]");
        match name {
            "x3dh" => x3dh_case(doc, &label, case, report),
            "ethereum_crypto_dh" => ecdh_case(doc, &label, case, report),
            "bundle_signature" => bundle_signature_case(doc, &label, case, report),
            "contact_code_fixture" => fixture_case(&label, case, report),
            "aes_gcm_symmetric" => gcm_case(&label, case, report),
            _ => report.skip(&label, "not an x3dh-layer primitive"),
        }
    }
}

fn x3dh_case(doc: &Value, label: &str, case: &Value, report: &mut Report) {
    // v0 shape carries its key views; v1 takes them from flows[0] and generated_keys[0].
    let (ik_a, ek, ik_b, spk_b) = if case.get("alice_identity").is_some() {
        (
            key_view(
                &format!("{label}: alice_identity"),
                &case["alice_identity"],
                report,
            ),
            key_view(
                &format!("{label}: alice_ephemeral"),
                &case["alice_ephemeral"],
                report,
            ),
            key_view(
                &format!("{label}: bob_identity"),
                &case["bob_identity"],
                report,
            ),
            key_view(
                &format!("{label}: bob_signed_pre_key"),
                &case["bob_signed_pre_key"],
                report,
            ),
        )
    } else {
        let flow = doc.pointer("/flows/0").unwrap_or(&Value::Null);
        (
            key_view(
                &format!("{label}: IK_A"),
                &flow["alice"]["identity"],
                report,
            ),
            doc.pointer("/generated_keys/0").and_then(|g| {
                let r = secret_of(g).and_then(|sk| {
                    if sk.public_key().to_compressed().to_vec() == hexf(g, "public_key_compressed")?
                    {
                        Ok(sk)
                    } else {
                        Err("generated_keys[0] public key does not match".into())
                    }
                });
                match r {
                    Ok(sk) => {
                        report.pass(&format!("{label}: EK_A = generated_keys[0]"));
                        Some(sk)
                    }
                    Err(e) => {
                        report.fail(&format!("{label}: EK_A = generated_keys[0]"), &e);
                        None
                    }
                }
            }),
            key_view(&format!("{label}: IK_B"), &flow["bob"]["identity"], report),
            key_view(
                &format!("{label}: SPK_B"),
                &flow["bob"]["signed_pre_key"],
                report,
            ),
        )
    };
    let (Some(ik_a), Some(ek), Some(ik_b), Some(spk_b)) = (ik_a, ek, ik_b, spk_b) else {
        return report.fail(label, "missing keys");
    };
    for (k, a, b) in [
        ("dh1", &ik_a, spk_b.public_key()),
        ("dh2", &ek, ik_b.public_key()),
        ("dh3", &ek, spk_b.public_key()),
    ] {
        if case.get(k).is_some() {
            let got = a.diffie_hellman(&b);
            report.check_result(
                &format!("{label}: {k}"),
                hexf(case, k).and_then(|want| {
                    if want == got.expose() {
                        Ok(())
                    } else {
                        Err(format!("got {}", hex::encode(got.expose())))
                    }
                }),
            );
        }
    }
    let alice = IdentityKeyPair::from_secret(ik_a);
    let bob = IdentityKeyPair::from_secret(ik_b);
    let ek = EphemeralKeyPair::from_secret(ek);
    let (sk_a, header) =
        x3dh_initiate_with_ephemeral(&alice, bob.public(), &spk_b.public_key(), &ek);
    let sk_b = x3dh_respond(&bob, &spk_b, alice.public(), &header.ephemeral);
    let want = hexf(case, "shared_secret").unwrap_or_default();
    report.check_eq(
        &format!("{label}: active SK"),
        hex::encode(sk_a.expose()),
        hex::encode(&want),
    );
    report.check_eq(
        &format!("{label}: passive SK"),
        hex::encode(sk_b.expose()),
        hex::encode(&want),
    );
}

fn ecdh_case(doc: &Value, label: &str, case: &Value, report: &mut Report) {
    let pair = |n: u8| -> Result<SecretKey, String> {
        let sk = SecretKey::from_bytes(&hexf(case, &format!("pair{n}_private"))?)
            .map_err(|e| e.to_string())?;
        if sk.public_key().to_compressed().to_vec() != hexf(case, &format!("pair{n}_public"))? {
            return Err(format!(
                "pair{n}_public does not derive from pair{n}_private"
            ));
        }
        Ok(sk)
    };
    let (p1, p2) = match (pair(1), pair(2)) {
        (Ok(a), Ok(b)) => {
            report.pass(&format!("{label}: public keys"));
            (a, b)
        }
        (Err(e), _) | (_, Err(e)) => return report.fail(&format!("{label}: public keys"), &e),
    };
    let want = hexf(case, "dh_output").unwrap_or_default();
    report.check_eq(
        &format!("{label}: ECDH(pair1, pair2_public)"),
        hex::encode(p1.diffie_hellman(&p2.public_key()).expose()),
        hex::encode(&want),
    );
    report.check_eq(
        &format!("{label}: ECDH(pair2, pair1_public)"),
        hex::encode(p2.diffie_hellman(&p1.public_key()).expose()),
        hex::encode(&want),
    );
    if let Some(gk) = doc.get("generated_keys").and_then(Value::as_array) {
        for (n, sk) in [(1usize, &p1), (2, &p2)] {
            let same = gk
                .get(n)
                .and_then(|g| hexf(g, "private_key").ok())
                .is_some_and(|k| k == sk.to_bytes().expose());
            report.check(
                &format!("{label}: pair{n} == generated_keys[{n}]"),
                same,
                || "differs".into(),
            );
        }
    }
}

fn bundle_signature_case(doc: &Value, label: &str, case: &Value, report: &mut Report) {
    let view = &case["bundle"];
    let signer = match hexf(case, "identity_private") {
        Ok(k) => SecretKey::from_bytes(&k).ok(),
        Err(_) => hexf(view, "identity")
            .ok()
            .and_then(|id| signers(doc).remove(&id)),
    };
    if let Some(sk) = &signer {
        report.check(
            &format!("{label}: signer key is the bundle identity"),
            hexf(view, "identity").is_ok_and(|id| id == sk.public_key().to_compressed()),
            || "the private key does not match bundle.identity".into(),
        );
    }
    // 1. material and hash (from the recorded protobuf's raw fields)
    if let Ok(b) = hexf(view, "protobuf")
        .map_err(|e| e.to_string())
        .and_then(|p| pfs_wire::decode_bundle(&p, &Limits::default()).map_err(|e| e.to_string()))
    {
        let material = bundle_signature_material(&b);
        report.check_eq(
            &format!("{label}: signature_material"),
            hex::encode(&material),
            hex::encode(hexf(case, "signature_material").unwrap_or_default()),
        );
        report.check_eq(
            &format!("{label}: keccak256_material"),
            hex::encode(keccak256(&material)),
            hex::encode(hexf(case, "keccak256_material").unwrap_or_default()),
        );
        if let Ok(v) = verify_bundle(&b) {
            report.check_eq(
                &format!("{label}: material from typed entries"),
                hex::encode(signature_material(v.entries(), b.timestamp)),
                hex::encode(&material),
            );
        }
        // 4. the view's signature is the case's signature
        report.check_eq(
            &format!("{label}: bundle.signature == signature"),
            hex::encode(&b.signature),
            hex::encode(hexf(case, "signature").unwrap_or_default()),
        );
    }
    // 2, 3, 5 and the contact-code round trip
    check_bundle_view(label, view, signer.as_ref(), report);

    // v0 extras: the separately recorded serialization, the contact code, ExtractIdentity.
    if case.get("bundle_protobuf").is_some() {
        let r = hexf(case, "bundle_protobuf").and_then(|p| {
            let b = pfs_wire::decode_bundle(&p, &Limits::default()).map_err(|e| e.to_string())?;
            view_matches(view, &b)?;
            verify_bundle(&b).map_err(|e| e.to_string())?;
            Ok(())
        });
        report.check_result(&format!("{label}: bundle_protobuf decodes and verifies"), r);
    }
    if let Some(code) = case.get("contact_code_base64").and_then(Value::as_str) {
        match parse_contact_code(code) {
            Ok(v) => {
                report.check_result(
                    &format!("{label}: contact_code_base64 == view"),
                    view_matches(view, v.bundle()),
                );
                if let Some(want) = case.get("extract_identity").and_then(Value::as_str) {
                    report.check_eq(
                        &format!("{label}: extract_identity"),
                        format!("0x{}", hex::encode(v.identity().to_uncompressed())),
                        want.to_owned(),
                    );
                }
            }
            Err(e) => report.fail(
                &format!("{label}: contact_code_base64 parses and verifies"),
                &e.to_string(),
            ),
        }
    }
}

fn fixture_case(label: &str, case: &Value, report: &mut Report) {
    let Some(code) = case.get("contact_code_base64").and_then(Value::as_str) else {
        return report.fail(label, "missing contact_code_base64");
    };
    match decode_contact_code(code) {
        Ok(b) => {
            let decoded = &case["decoded"];
            report.check_result(
                &format!("{label}: decodes to `decoded`"),
                view_matches(decoded, &b),
            );
            report.check_eq(
                &format!("{label}: decoded.protobuf bytes"),
                hex::encode(b.encode_to_vec()),
                hex::encode(hexf(decoded, "protobuf").unwrap_or_default()),
            );
            report.check(
                &format!("{label}: old-scheme signature does NOT verify"),
                verify_bundle(&b).is_err() && parse_contact_code(code).is_err(),
                || "the fixture verified".into(),
            );
        }
        Err(e) => report.fail(&format!("{label}: decodes"), &e.to_string()),
    }
}

fn gcm_case(label: &str, case: &Value, report: &mut Report) {
    let r = (|| -> Result<(), String> {
        let key: [u8; 32] = hexf(case, "key")?
            .try_into()
            .map_err(|_| "key is not 32 bytes")?;
        let nonce: [u8; 12] = hexf(case, "nonce")?
            .try_into()
            .map_err(|_| "nonce is not 12 bytes")?;
        let pt = hexf(case, "plaintext")?;
        let want = hexf(case, "output")?;
        let out = gcm_seal_nonce_appended(&key, &nonce, &pt).map_err(|e| e.to_string())?;
        if out != want {
            return Err(format!("seal gave {}", hex::encode(out)));
        }
        let opened = gcm_open_nonce_appended(&key, &want).map_err(|e| e.to_string())?;
        if opened != pt {
            return Err("open did not give the plaintext".into());
        }
        let mut bad = want.clone();
        if let Some(b) = bad.first_mut() {
            *b ^= 1;
        }
        if gcm_open_nonce_appended(&key, &bad).is_ok() {
            return Err("a flipped ciphertext bit was accepted".into());
        }
        Ok(())
    })();
    report.check_result(&format!("{label}: seal, open, tamper"), r);
}
