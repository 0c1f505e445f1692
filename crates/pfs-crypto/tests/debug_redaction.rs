//! `Debug` of every secret type prints no secret byte and says "redacted".

// Helper functions outside #[test] items may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_crypto::{SecretBytes, SecretVec, secp256k1, x25519};

/// Asserts that `debug` (both `{:?}` and `{:#?}` renderings) contains neither the lowercase
/// nor the uppercase hex of `secret`, nor its decimal byte list, and does say "redacted".
fn assert_redacted(what: &str, debug: &str, pretty: &str, secret: &[u8]) {
    let lower = hex::encode(secret);
    let upper = lower.to_uppercase();
    let decimal = format!("{secret:?}");
    // A distinctive slice too, in case the type prints only part of the key.
    let part = &lower[..16];
    for s in [debug, pretty] {
        assert!(s.contains("redacted"), "{what}: {s}");
        for needle in [&lower[..], &upper[..], &decimal[..], part] {
            assert!(!s.contains(needle), "{what} leaks its secret: {s}");
        }
    }
}

const SECRET: [u8; 32] = [
    0x8e, 0x3a, 0x91, 0x5c, 0x27, 0xd4, 0x66, 0x0b, 0xf1, 0x49, 0xa2, 0x13, 0x7d, 0xc8, 0x5e, 0x90,
    0x34, 0xab, 0x02, 0xef, 0x71, 0x18, 0xbc, 0x45, 0x99, 0x6a, 0xd7, 0x20, 0x3f, 0x84, 0x5b, 0x16,
];

#[test]
fn secp256k1_secret_key_debug_is_redacted() {
    let sk = secp256k1::SecretKey::from_bytes(&SECRET).unwrap();
    assert_redacted(
        "secp256k1::SecretKey",
        &format!("{sk:?}"),
        &format!("{sk:#?}"),
        &SECRET,
    );
}

#[test]
fn x25519_secret_key_debug_is_redacted() {
    let sk = x25519::SecretKey::from_bytes(&SECRET).unwrap();
    assert_redacted(
        "x25519::SecretKey",
        &format!("{sk:?}"),
        &format!("{sk:#?}"),
        &SECRET,
    );
    // Also the clamped scalar x25519-dalek might print.
    let mut clamped = SECRET;
    clamped[0] &= 248;
    clamped[31] &= 127;
    clamped[31] |= 64;
    assert_redacted(
        "x25519::SecretKey (clamped)",
        &format!("{sk:?}"),
        &format!("{sk:#?}"),
        &clamped,
    );
}

#[test]
fn secret_bytes_debug_is_redacted() {
    let s = SecretBytes::new(SECRET);
    assert_redacted(
        "SecretBytes<32>",
        &format!("{s:?}"),
        &format!("{s:#?}"),
        &SECRET,
    );
    // Secrets produced by the library are the same type: ECDH output and key bytes.
    let a = secp256k1::SecretKey::from_bytes(&SECRET).unwrap();
    let b = secp256k1::SecretKey::from_bytes(&[0x30; 32]).unwrap();
    let shared = a.diffie_hellman(&b.public_key());
    assert_redacted(
        "ECDH output",
        &format!("{shared:?}"),
        &format!("{shared:#?}"),
        shared.expose(),
    );
    let kb = a.to_bytes();
    assert_redacted(
        "SecretKey::to_bytes",
        &format!("{kb:?}"),
        &format!("{kb:#?}"),
        &SECRET,
    );
    let xs = x25519::SecretKey::from_bytes(&SECRET).unwrap();
    let xshared = xs
        .diffie_hellman(
            &x25519::SecretKey::from_bytes(&[9; 32])
                .unwrap()
                .public_key(),
        )
        .unwrap();
    assert_redacted(
        "X25519 output",
        &format!("{xshared:?}"),
        &format!("{xshared:#?}"),
        xshared.expose(),
    );
    let derived = pfs_crypto::kdf::hkdf_sha256_secret::<64>(b"salt", &SECRET, b"info").unwrap();
    assert_redacted(
        "SecretBytes<64>",
        &format!("{derived:?}"),
        &format!("{derived:#?}"),
        derived.expose(),
    );
}

#[test]
fn secret_vec_debug_is_redacted() {
    let v = SecretVec::new(SECRET.to_vec());
    assert_redacted("SecretVec", &format!("{v:?}"), &format!("{v:#?}"), &SECRET);
    // Containers of secrets inherit the redaction.
    let wrapped = Some(vec![SecretVec::new(SECRET.to_vec())]);
    assert_redacted(
        "Option<Vec<SecretVec>>",
        &format!("{wrapped:?}"),
        &format!("{wrapped:#?}"),
        &SECRET,
    );
}
