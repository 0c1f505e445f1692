//! Bad input for every constructor and decoder of pfs-crypto: each must return the documented
//! typed error, never panic. Ends with a proptest that feeds random bytes of random length to
//! every parser.

// Helper functions outside #[test] items may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{SECP256K1_HALF_N, SECP256K1_N, SECP256K1_P, h, ha};
use pfs_crypto::{CryptoError, SecretBytes, cipher, hash, kdf, secp256k1, x25519};
use proptest::prelude::*;

/// The lengths the brief asks for around every fixed size we use.
const LENGTHS: [usize; 9] = [0, 1, 31, 32, 33, 34, 64, 65, 66];

fn is_len_err(r: &CryptoError, len: usize) -> bool {
    matches!(r, CryptoError::InvalidLength { actual, .. } if *actual == len)
}

/// A valid secret key and its public key (private key 0x3030…30, as in the vector files).
fn sample_key() -> (secp256k1::SecretKey, secp256k1::PublicKey) {
    let sk = secp256k1::SecretKey::from_bytes(&[0x30; 32]).unwrap();
    let pk = sk.public_key();
    (sk, pk)
}

/// `a - b` for 256-bit big-endian numbers (a ≥ b).
fn sub256(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0);
    out
}

/// `a + k` for a 256-bit big-endian number and a small k (no overflow expected).
fn add_small(a: &[u8; 32], k: u8) -> [u8; 32] {
    let mut out = *a;
    let mut carry = u16::from(k);
    for byte in out.iter_mut().rev() {
        let s = u16::from(*byte) + carry;
        *byte = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
    out
}

// --------------------------------------------------------------------------- secp256k1

#[test]
fn secp256k1_secret_key_from_bytes() {
    for len in LENGTHS.into_iter().filter(|&l| l != 32) {
        let e = secp256k1::SecretKey::from_bytes(&vec![0x11; len]).unwrap_err();
        assert!(is_len_err(&e, len), "len {len}: {e:?}");
    }
    let one = add_small(&[0u8; 32], 1);
    let n_minus_1 = sub256(&SECP256K1_N, &one);
    for bad in [
        [0u8; 32],
        SECP256K1_N,
        add_small(&SECP256K1_N, 1),
        [0xff; 32],
    ] {
        assert_eq!(
            secp256k1::SecretKey::from_bytes(&bad).unwrap_err(),
            CryptoError::InvalidSecretKey,
            "{}",
            hex::encode(bad)
        );
    }
    for good in [one, n_minus_1] {
        let sk = secp256k1::SecretKey::from_bytes(&good).unwrap();
        assert_eq!(sk.to_bytes().expose(), &good);
    }
    // (n-1)·G = -G: same x as G, odd y.
    let neg_g = secp256k1::SecretKey::from_bytes(&n_minus_1)
        .unwrap()
        .public_key();
    assert_eq!(
        hex::encode(neg_g.to_compressed()),
        "0379be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    );
}

#[test]
fn secp256k1_public_key_from_sec1() {
    let (_, pk) = sample_key();
    let c = pk.to_compressed();
    let u = pk.to_uncompressed();
    // Wrong lengths (including truncations/extensions of valid encodings).
    for len in LENGTHS.into_iter().filter(|&l| l != 33 && l != 65) {
        for prefix in [0x02u8, 0x03, 0x04] {
            let mut v = vec![0x11; len];
            if let Some(first) = v.first_mut() {
                *first = prefix;
            }
            let e = secp256k1::PublicKey::from_sec1(&v).unwrap_err();
            assert!(is_len_err(&e, len), "len {len}: {e:?}");
        }
    }
    let e = secp256k1::PublicKey::from_sec1(&c[..32]).unwrap_err();
    assert!(is_len_err(&e, 32));
    let e = secp256k1::PublicKey::from_sec1(&[&u[..], &[0]].concat()).unwrap_err();
    assert!(is_len_err(&e, 66));
    // Valid encodings parse.
    assert_eq!(secp256k1::PublicKey::from_sec1(&c).unwrap(), pk);
    assert_eq!(secp256k1::PublicKey::from_sec1(&u).unwrap(), pk);

    let invalid = |bytes: &[u8], why: &str| {
        assert_eq!(
            secp256k1::PublicKey::from_sec1(bytes).unwrap_err(),
            CryptoError::InvalidPublicKey("secp256k1"),
            "{why}"
        );
    };
    // The identity: SEC1 encodes it as the single byte 00 (a length error), and the all-zero
    // 33/65-byte strings and the "point" (0, 0) are not points either.
    let e = secp256k1::PublicKey::from_sec1(&[0x00]).unwrap_err();
    assert!(is_len_err(&e, 1));
    invalid(&[0u8; 33], "33 zero bytes");
    invalid(&[0u8; 65], "65 zero bytes");
    let mut origin = [0u8; 65];
    origin[0] = 4;
    invalid(&origin, "(0, 0)");
    // Hybrid encodings (06/07 ‖ X ‖ Y) of a valid point, with both parities.
    for prefix in [0x06u8, 0x07] {
        let mut hybrid = u;
        hybrid[0] = prefix;
        invalid(&hybrid, "hybrid prefix");
    }
    // Other prefixes.
    for prefix in [0x00u8, 0x01, 0x05, 0x08, 0xff] {
        let mut v = c;
        v[0] = prefix;
        invalid(&v, "bad compressed prefix");
        let mut v = u;
        v[0] = prefix;
        invalid(&v, "bad uncompressed prefix");
    }
    // Compressed prefix on 65 bytes and uncompressed prefix on 33 bytes.
    let mut v = u;
    v[0] = 0x02;
    invalid(&v, "02 on 65 bytes");
    let mut v = c;
    v[0] = 0x04;
    invalid(&v, "04 on 33 bytes");
    // Points off the curve: Y changed.
    for i in [33usize, 64] {
        let mut v = u;
        v[i] ^= 0x01;
        invalid(&v, "uncompressed with a wrong Y");
    }
    // X = p, X = p + 1 (not reduced field elements) and X = 2^256 - 1.
    for x in [SECP256K1_P, add_small(&SECP256K1_P, 1), [0xff; 32]] {
        for prefix in [0x02u8, 0x03] {
            let mut v = vec![prefix];
            v.extend_from_slice(&x);
            invalid(&v, "compressed X ≥ p");
        }
        let mut v = vec![0x04];
        v.extend_from_slice(&x);
        v.extend_from_slice(&u[33..]);
        invalid(&v, "uncompressed X ≥ p");
    }
    // Compressed X with no point on the curve: x³ + 7 is a square for only about half the
    // x; among x = 1..=20 several are not, and every rejection must be the typed error.
    let mut off_curve = 0;
    for x in 1u8..=20 {
        let mut v = [0u8; 33];
        v[0] = 0x02;
        v[32] = x;
        match secp256k1::PublicKey::from_sec1(&v) {
            Ok(p) => assert_eq!(p.to_compressed(), v),
            Err(e) => {
                assert_eq!(e, CryptoError::InvalidPublicKey("secp256k1"));
                off_curve += 1;
            }
        }
    }
    assert!(off_curve > 0);
}

#[test]
fn secp256k1_public_key_from_compressed() {
    let (_, pk) = sample_key();
    assert_eq!(
        secp256k1::PublicKey::from_compressed(&pk.to_compressed()).unwrap(),
        pk
    );
    for len in LENGTHS.into_iter().filter(|&l| l != 33) {
        let e = secp256k1::PublicKey::from_compressed(&vec![0x02; len]).unwrap_err();
        assert!(is_len_err(&e, len), "len {len}: {e:?}");
    }
    // A valid uncompressed key is a length error here.
    let e = secp256k1::PublicKey::from_compressed(&pk.to_uncompressed()).unwrap_err();
    assert!(is_len_err(&e, 65));
    let mut v = pk.to_compressed();
    v[0] = 0x04;
    assert_eq!(
        secp256k1::PublicKey::from_compressed(&v).unwrap_err(),
        CryptoError::InvalidPublicKey("secp256k1")
    );
}

#[test]
fn secp256k1_recoverable_signature() {
    let (sk, pk) = sample_key();
    let digest = hash::keccak256(b"bad input");
    let sig = sk.sign_prehash_recoverable(&digest).unwrap().to_bytes();
    for len in LENGTHS.into_iter().filter(|&l| l != 65) {
        let e = secp256k1::RecoverableSignature::from_bytes(&vec![0x01; len]).unwrap_err();
        assert!(is_len_err(&e, len), "len {len}: {e:?}");
    }
    let recover = |bytes: &[u8; 65]| {
        secp256k1::RecoverableSignature::from_bytes(bytes)
            .unwrap()
            .recover(&digest)
    };
    assert_eq!(recover(&sig).unwrap(), pk);
    // V outside 0..=3, including Ethereum's 27/28 (the protocol uses 0/1).
    for v in (4u8..=255).chain([27, 28]) {
        let mut bad = sig;
        bad[64] = v;
        assert_eq!(
            recover(&bad).unwrap_err(),
            CryptoError::MalformedSignature,
            "v {v}"
        );
    }
    // V = 2/3 claims R.x ≥ n, which is false here: no recovery of our key.
    for v in [2u8, 3] {
        let mut bad = sig;
        bad[64] = v;
        assert_ne!(recover(&bad).ok(), Some(pk.clone()), "v {v}");
    }
    // The other parity recovers some other key (or fails), never ours.
    let mut flipped = sig;
    flipped[64] ^= 1;
    assert_ne!(recover(&flipped).ok(), Some(pk.clone()));
    // Zero and out-of-range r / s.
    for (range, value) in [
        (0..32, [0u8; 32]),
        (32..64, [0u8; 32]),
        (0..32, SECP256K1_N),
        (32..64, SECP256K1_N),
        (0..32, [0xff; 32]),
        (32..64, [0xff; 32]),
    ] {
        let mut bad = sig;
        bad[range.clone()].copy_from_slice(&value);
        assert_eq!(
            recover(&bad).unwrap_err(),
            CryptoError::MalformedSignature,
            "{range:?} = {}",
            hex::encode(value)
        );
    }
    // Our signatures are low-S; the high-S twin (n - s, V flipped) recovers the same key.
    let s: [u8; 32] = sig[32..64].try_into().unwrap();
    assert!(s <= SECP256K1_HALF_N);
    let mut high = sig;
    high[32..64].copy_from_slice(&sub256(&SECP256K1_N, &s));
    high[64] ^= 1;
    assert_eq!(recover(&high).unwrap(), pk);
}

#[test]
fn secp256k1_verify_prehash() {
    let (sk, pk) = sample_key();
    let digest = hash::sha256(b"bad input");
    let sig = sk.sign_prehash_recoverable(&digest).unwrap().to_bytes();
    let rs = &sig[..64];
    secp256k1::verify_prehash(&pk, &digest, rs).unwrap();
    for len in LENGTHS.into_iter().filter(|&l| l != 64) {
        let e = secp256k1::verify_prehash(&pk, &digest, &vec![0x01; len]).unwrap_err();
        assert_eq!(e, CryptoError::MalformedSignature, "len {len}");
    }
    // The 65-byte recoverable form is not accepted as a plain signature.
    assert!(secp256k1::verify_prehash(&pk, &digest, &sig).is_err());
    for (range, value) in [
        (0..32, [0u8; 32]),
        (32..64, [0u8; 32]),
        (0..32, SECP256K1_N),
        (32..64, SECP256K1_N),
    ] {
        let mut bad = rs.to_vec();
        bad[range].copy_from_slice(&value);
        assert_eq!(
            secp256k1::verify_prehash(&pk, &digest, &bad).unwrap_err(),
            CryptoError::MalformedSignature
        );
    }
    // Wrong key, wrong digest, flipped bit.
    let (_, other) = {
        let s = secp256k1::SecretKey::from_bytes(&[0x31; 32]).unwrap();
        let p = s.public_key();
        (s, p)
    };
    assert_eq!(
        secp256k1::verify_prehash(&other, &digest, rs).unwrap_err(),
        CryptoError::AuthenticationFailed
    );
    let mut d2 = digest;
    d2[31] ^= 1;
    assert_eq!(
        secp256k1::verify_prehash(&pk, &d2, rs).unwrap_err(),
        CryptoError::AuthenticationFailed
    );
    let mut bad = rs.to_vec();
    bad[5] ^= 0x20;
    assert!(secp256k1::verify_prehash(&pk, &digest, &bad).is_err());
    // Prehashes that are not 32 bytes are a length error, not a shorter or truncated integer:
    // a signature over the all-zero digest must not verify for an empty prehash, nor one over
    // a digest for that digest with a byte appended or its last byte dropped.
    let zero_sig = sk.sign_prehash_recoverable(&[0u8; 32]).unwrap().to_bytes();
    secp256k1::verify_prehash(&pk, &[0u8; 32], &zero_sig[..64]).unwrap();
    for (prehash, sig) in [
        (vec![], &zero_sig[..64]),
        (vec![0u8; 16], &zero_sig[..64]),
        ([&digest[..], &[0]].concat(), rs),
        (digest[..31].to_vec(), rs),
        (vec![0xab; 64], rs),
    ] {
        let e = secp256k1::verify_prehash(&pk, &prehash, sig).unwrap_err();
        assert!(is_len_err(&e, prehash.len()), "{e:?}");
    }
}

// --------------------------------------------------------------------------- X25519

#[test]
fn x25519_key_lengths() {
    for len in LENGTHS.into_iter().filter(|&l| l != 32) {
        let e = x25519::SecretKey::from_bytes(&vec![0x11; len]).unwrap_err();
        assert!(is_len_err(&e, len), "secret len {len}: {e:?}");
        let e = x25519::PublicKey::from_bytes(&vec![0x11; len]).unwrap_err();
        assert!(is_len_err(&e, len), "public len {len}: {e:?}");
    }
    // Any 32 bytes are a public key (RFC 7748), and the secret bytes are kept as given.
    assert_eq!(
        x25519::PublicKey::from_bytes(&[0xff; 32])
            .unwrap()
            .to_bytes(),
        [0xff; 32]
    );
    assert_eq!(
        x25519::SecretKey::from_bytes(&[0u8; 32])
            .unwrap()
            .to_bytes()
            .expose(),
        &[0u8; 32]
    );
}

#[test]
fn x25519_low_order_points_are_non_contributory() {
    let p_minus_1 = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
    let p = "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
    let p_plus_1 = "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
    let order8_a = "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800";
    let order8_b = "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157";
    let zero = "0000000000000000000000000000000000000000000000000000000000000000";
    let one = "0100000000000000000000000000000000000000000000000000000000000000";
    let mut points: Vec<[u8; 32]> = [zero, one, order8_a, order8_b, p_minus_1, p, p_plus_1]
        .iter()
        .map(|s| ha(s))
        .collect();
    // The top bit is ignored by X25519, so the same points with it set are low order too.
    let with_high_bit: Vec<[u8; 32]> = points
        .iter()
        .map(|p| {
            let mut q = *p;
            q[31] |= 0x80;
            q
        })
        .collect();
    points.extend(with_high_bit);
    for secret in [[0x42u8; 32], [0x01; 32], [0xff; 32]] {
        let sk = x25519::SecretKey::from_bytes(&secret).unwrap();
        for point in &points {
            let pk = x25519::PublicKey::from_bytes(point).unwrap();
            assert_eq!(
                sk.diffie_hellman(&pk).unwrap_err(),
                CryptoError::NonContributory,
                "{}",
                hex::encode(point)
            );
        }
        // A proper public key works.
        let other = x25519::SecretKey::from_bytes(&[0x07; 32]).unwrap();
        let s1 = sk.diffie_hellman(&other.public_key()).unwrap();
        let s2 = other.diffie_hellman(&sk.public_key()).unwrap();
        assert_eq!(s1, s2);
    }
}

// --------------------------------------------------------------------------- AES-GCM

#[test]
fn gcm_open_rejects_bad_input() {
    let key = [0x42u8; 32];
    let nonce = [0x24u8; 12];
    let aad = b"header";
    let sealed = cipher::aes256_gcm_seal(&key, &nonce, aad, b"attack at dawn").unwrap();
    assert_eq!(
        cipher::aes256_gcm_open(&key, &nonce, aad, &sealed).unwrap(),
        b"attack at dawn"
    );
    // Shorter than a tag.
    for len in 0..16 {
        let e = cipher::aes256_gcm_open(&key, &nonce, aad, &sealed[..len]).unwrap_err();
        assert!(is_len_err(&e, len), "len {len}: {e:?}");
    }
    let auth = CryptoError::AuthenticationFailed;
    // A bare (wrong) tag, truncations and an extension.
    assert_eq!(
        cipher::aes256_gcm_open(&key, &nonce, aad, &[0u8; 16]).unwrap_err(),
        auth
    );
    assert_eq!(
        cipher::aes256_gcm_open(&key, &nonce, aad, &sealed[..sealed.len() - 1]).unwrap_err(),
        auth
    );
    assert_eq!(
        cipher::aes256_gcm_open(&key, &nonce, aad, &[&sealed[..], &[0]].concat()).unwrap_err(),
        auth
    );
    // Wrong key, nonce, AAD.
    let mut k2 = key;
    k2[0] ^= 1;
    assert_eq!(
        cipher::aes256_gcm_open(&k2, &nonce, aad, &sealed).unwrap_err(),
        auth
    );
    let mut n2 = nonce;
    n2[11] ^= 1;
    assert_eq!(
        cipher::aes256_gcm_open(&key, &n2, aad, &sealed).unwrap_err(),
        auth
    );
    assert_eq!(
        cipher::aes256_gcm_open(&key, &nonce, b"Header", &sealed).unwrap_err(),
        auth
    );
    assert_eq!(
        cipher::aes256_gcm_open(&key, &nonce, b"", &sealed).unwrap_err(),
        auth
    );
    // Every single flipped bit, in the ciphertext and in the tag.
    for bit in 0..sealed.len() * 8 {
        let mut bad = sealed.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            cipher::aes256_gcm_open(&key, &nonce, aad, &bad).unwrap_err(),
            auth,
            "bit {bit}"
        );
    }
}

#[test]
fn gcm_open_nonce_appended_rejects_bad_input() {
    let key = [0x42u8; 32];
    let sealed = cipher::gcm_seal_nonce_appended(&key, &[9u8; 12], b"hi").unwrap();
    assert_eq!(sealed.len(), 2 + 16 + 12);
    assert_eq!(
        cipher::gcm_open_nonce_appended(&key, &sealed).unwrap(),
        b"hi"
    );
    for len in 0..28 {
        let e = cipher::gcm_open_nonce_appended(&key, &vec![0u8; len]).unwrap_err();
        assert!(is_len_err(&e, len), "len {len}: {e:?}");
    }
    // Empty plaintext: exactly 28 bytes, opens.
    let empty = cipher::gcm_seal_nonce_appended(&key, &[1u8; 12], b"").unwrap();
    assert_eq!(empty.len(), 28);
    assert_eq!(cipher::gcm_open_nonce_appended(&key, &empty).unwrap(), b"");
    let mut k2 = key;
    k2[31] ^= 0x80;
    assert_eq!(
        cipher::gcm_open_nonce_appended(&k2, &sealed).unwrap_err(),
        CryptoError::AuthenticationFailed
    );
    for bit in 0..sealed.len() * 8 {
        let mut bad = sealed.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            cipher::gcm_open_nonce_appended(&key, &bad).unwrap_err(),
            CryptoError::AuthenticationFailed,
            "bit {bit}"
        );
    }
}

// --------------------------------------------------------------------------- KDF / MAC

#[test]
fn hkdf_rejects_too_long_output() {
    let mut ok = vec![0u8; 255 * 32];
    kdf::hkdf_sha256(b"salt", b"ikm", b"info", &mut ok).unwrap();
    let mut too_long = vec![0u8; 255 * 32 + 1];
    assert_eq!(
        kdf::hkdf_sha256(b"salt", b"ikm", b"info", &mut too_long).unwrap_err(),
        CryptoError::KdfLength(255 * 32 + 1)
    );
    assert!(kdf::hkdf_sha256_secret::<8161>(b"", b"ikm", b"").is_err());
    // An empty output is not an error and does not panic.
    kdf::hkdf_sha256(b"salt", b"ikm", b"info", &mut []).unwrap();
}

#[test]
fn hmac_verify_rejects_wrong_tags() {
    let tag = kdf::hmac_sha256(b"key", b"data");
    kdf::hmac_sha256_verify(b"key", &[b"data"], &tag).unwrap();
    let auth = CryptoError::AuthenticationFailed;
    for len in LENGTHS.into_iter().filter(|&l| l != 32) {
        let t: Vec<u8> = tag.iter().copied().cycle().take(len).collect();
        assert_eq!(
            kdf::hmac_sha256_verify(b"key", &[b"data"], &t).unwrap_err(),
            auth
        );
    }
    for bit in 0..256 {
        let mut t = tag;
        t[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            kdf::hmac_sha256_verify(b"key", &[b"data"], &t).unwrap_err(),
            auth
        );
    }
    assert_eq!(
        kdf::hmac_sha256_verify(b"kez", &[b"data"], &tag).unwrap_err(),
        auth
    );
    assert_eq!(
        kdf::hmac_sha256_verify(b"key", &[b"dat"], &tag).unwrap_err(),
        auth
    );
}

#[test]
fn pbkdf2_rejects_zero_iterations_and_empty_output() {
    let mut out = [0u8; 32];
    assert!(kdf::pbkdf2_hmac_sha256(b"pw", b"salt", 0, &mut out).is_err());
    assert!(kdf::pbkdf2_hmac_sha256(b"pw", b"salt", 1, &mut []).is_err());
    // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", c = 1, dkLen = 64).
    let mut dk = [0u8; 64];
    kdf::pbkdf2_hmac_sha256(b"passwd", b"salt", 1, &mut dk).unwrap();
    assert_eq!(
        dk.to_vec(),
        h(
            "55ac046e56e3089fec1691c22544b605 f94185216dde0465e68b9d57c20dacbc
           49ca9cccf179b645991664b39d77ef31 7c71b845b1e30bd509112041d3a19783"
        )
    );
}

#[test]
fn secret_bytes_from_slice() {
    for len in LENGTHS.into_iter().filter(|&l| l != 32) {
        let e = SecretBytes::<32>::from_slice("test secret", &vec![1u8; len]).unwrap_err();
        assert_eq!(
            e,
            CryptoError::InvalidLength {
                what: "test secret",
                expected: 32,
                actual: len
            }
        );
    }
    let s = SecretBytes::<32>::from_slice("test secret", &[7u8; 32]).unwrap();
    assert_eq!(s.expose(), &[7u8; 32]);
    assert!(!s.is_zero());
    assert!(SecretBytes::<32>::zero().is_zero());
}

// --------------------------------------------------------------------------- proptest

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_and_agree_with_lengths(
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
        digest in any::<[u8; 32]>(),
        key in any::<[u8; 32]>(),
    ) {
        let len = bytes.len();

        match secp256k1::SecretKey::from_bytes(&bytes) {
            Ok(sk) => {
                prop_assert_eq!(len, 32);
                prop_assert!(sk.to_bytes().expose()[..] == bytes[..]);
            }
            Err(e) if len != 32 => prop_assert!(is_len_err(&e, len)),
            Err(e) => prop_assert_eq!(e, CryptoError::InvalidSecretKey),
        }

        match secp256k1::PublicKey::from_sec1(&bytes) {
            Ok(pk) => prop_assert!(
                (len == 33 && pk.to_compressed()[..] == bytes[..])
                    || (len == 65 && pk.to_uncompressed()[..] == bytes[..])
            ),
            Err(e) if len != 33 && len != 65 => prop_assert!(is_len_err(&e, len)),
            Err(e) => prop_assert_eq!(e, CryptoError::InvalidPublicKey("secp256k1")),
        }

        match secp256k1::PublicKey::from_compressed(&bytes) {
            Ok(pk) => prop_assert!(len == 33 && pk.to_compressed()[..] == bytes[..]),
            Err(e) if len != 33 => prop_assert!(is_len_err(&e, len)),
            Err(e) => prop_assert_eq!(e, CryptoError::InvalidPublicKey("secp256k1")),
        }

        match secp256k1::RecoverableSignature::from_bytes(&bytes) {
            Ok(sig) => {
                prop_assert_eq!(len, 65);
                prop_assert_eq!(&sig.to_bytes()[..], &bytes[..]);
                if let Ok(pk) = sig.recover(&digest) {
                    // Whatever key is recovered verifies the R‖S part.
                    prop_assert!(bytes[64] <= 3);
                    prop_assert!(secp256k1::verify_prehash(&pk, &digest, &bytes[..64]).is_ok());
                }
            }
            Err(e) => prop_assert!(len != 65 && is_len_err(&e, len)),
        }

        let (_, pk) = sample_key();
        let r = secp256k1::verify_prehash(&pk, &digest, &bytes);
        prop_assert!(r.is_err());
        if len != 64 {
            prop_assert_eq!(r.unwrap_err(), CryptoError::MalformedSignature);
        }
        // Prehashes of other lengths are length errors.
        match secp256k1::verify_prehash(&pk, &bytes, &digest.repeat(2)) {
            Err(e) if len != 32 => prop_assert!(is_len_err(&e, len)),
            Err(e) => prop_assert_eq!(e, CryptoError::AuthenticationFailed),
            Ok(()) => prop_assert!(false, "random signature verified"),
        }

        match x25519::SecretKey::from_bytes(&bytes) {
            Ok(sk) => {
                prop_assert_eq!(len, 32);
                prop_assert!(sk.to_bytes().expose()[..] == bytes[..]);
            }
            Err(e) => prop_assert!(len != 32 && is_len_err(&e, len)),
        }
        match x25519::PublicKey::from_bytes(&bytes) {
            Ok(p) => prop_assert!(len == 32 && p.to_bytes()[..] == bytes[..]),
            Err(e) => prop_assert!(len != 32 && is_len_err(&e, len)),
        }
        match SecretBytes::<32>::from_slice("x", &bytes) {
            Ok(s) => prop_assert!(len == 32 && s.expose()[..] == bytes[..]),
            Err(e) => prop_assert!(len != 32 && is_len_err(&e, len)),
        }

        // Random data never opens (a forgery has probability 2^-128).
        match cipher::gcm_open_nonce_appended(&key, &bytes) {
            Ok(_) => prop_assert!(false, "random data opened"),
            Err(e) if len < 28 => prop_assert!(is_len_err(&e, len)),
            Err(e) => prop_assert_eq!(e, CryptoError::AuthenticationFailed),
        }
        match cipher::aes256_gcm_open(&key, &[0u8; 12], &[], &bytes) {
            Ok(_) => prop_assert!(false, "random data opened"),
            Err(e) if len < 16 => prop_assert!(is_len_err(&e, len)),
            Err(e) => prop_assert_eq!(e, CryptoError::AuthenticationFailed),
        }
        prop_assert!(kdf::hmac_sha256_verify(&key, &[&digest], &bytes).is_err());
    }

    #[test]
    fn round_trips_hold_for_random_keys(
        secret in any::<[u8; 32]>(),
        digest in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        data in proptest::collection::vec(any::<u8>(), 0..200),
        iv in any::<[u8; 16]>(),
    ) {
        if let Ok(sk) = secp256k1::SecretKey::from_bytes(&secret) {
            let pk = sk.public_key();
            let sig = sk.sign_prehash_recoverable(&digest).unwrap();
            prop_assert!(sig.to_bytes()[64] <= 1);
            prop_assert!(sig.to_bytes()[32..64] <= SECP256K1_HALF_N[..]);
            prop_assert_eq!(sig.recover(&digest).unwrap(), pk.clone());
            prop_assert!(secp256k1::verify_prehash(&pk, &digest, &sig.to_bytes()[..64]).is_ok());
            prop_assert_eq!(secp256k1::PublicKey::from_sec1(&pk.to_uncompressed()).unwrap(), pk.clone());
            prop_assert_eq!(secp256k1::PublicKey::from_sec1(&pk.to_compressed()).unwrap(), pk);
        }
        let sealed = cipher::gcm_seal_nonce_appended(&secret, &nonce, &data).unwrap();
        prop_assert_eq!(cipher::gcm_open_nonce_appended(&secret, &sealed).unwrap(), data.clone());
        let mut buf = data.clone();
        cipher::aes256_ctr_apply(&secret, &iv, &mut buf);
        cipher::aes256_ctr_apply(&secret, &iv, &mut buf);
        prop_assert_eq!(buf, data);
    }
}
