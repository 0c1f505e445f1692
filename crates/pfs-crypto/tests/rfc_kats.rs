//! Known-answer tests typed in from the standards: RFC 5869 (HKDF-SHA256), RFC 4231
//! (HMAC-SHA256), NIST SP 800-38A (AES-CTR), Keccak-256 / SHA-256 / SHA3-256 reference values.

// Helper functions outside #[test] items may unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{h, ha};
use pfs_crypto::{cipher, hash, kdf, secp256k1};

// --------------------------------------------------------------------------- RFC 5869 (HKDF)

fn hkdf_case(ikm: &[u8], salt: &[u8], info: &[u8], okm: &[u8]) {
    let mut out = vec![0u8; okm.len()];
    kdf::hkdf_sha256(salt, ikm, info, &mut out).unwrap();
    assert_eq!(hex::encode(&out), hex::encode(okm));
}

#[test]
fn rfc5869_case1_basic() {
    hkdf_case(
        &[0x0b; 22],
        &h("000102030405060708090a0b0c"),
        &h("f0f1f2f3f4f5f6f7f8f9"),
        &h(
            "3cb25f25faacd57a90434f64d0362f2a 2d2d0a90cf1a5a4c5db02d56ecc4c5bf
            34007208d5b887185865",
        ),
    );
}

#[test]
fn rfc5869_case2_long_inputs() {
    let ikm: Vec<u8> = (0x00..=0x4f).collect();
    let salt: Vec<u8> = (0x60..=0xaf).collect();
    let info: Vec<u8> = (0xb0..=0xff).collect();
    assert_eq!((ikm.len(), salt.len(), info.len()), (80, 80, 80));
    hkdf_case(
        &ikm,
        &salt,
        &info,
        &h(
            "b11e398dc80327a1c8e7f78c596a4934 4f012eda2d4efad8a050cc4c19afa97c
            59045a99cac7827271cb41c65e590e09 da3275600c2f09b8367793a9aca3db71
            cc30c58179ec3e87c14c01d5c1f3434f 1d87",
        ),
    );
}

#[test]
fn rfc5869_case3_empty_salt_and_info() {
    let okm = h(
        "8da4e775a563c18f715f802a063c5a31 b8a11f5c5ee1879ec3454e5f3c738d2d
                 9d201395faa4b61a96c8",
    );
    hkdf_case(&[0x0b; 22], &[], &[], &okm);
    // The RFC: an absent salt is HashLen zero bytes.
    hkdf_case(&[0x0b; 22], &[0u8; 32], &[], &okm);
    // The fixed-size wrapper gives the same first 32 bytes.
    let s = kdf::hkdf_sha256_secret::<32>(&[], &[0x0b; 22], &[]).unwrap();
    assert_eq!(s.expose()[..], okm[..32]);
}

// --------------------------------------------------------------------------- RFC 4231 (HMAC)

fn hmac_case(key: &[u8], data: &[u8], tag: &[u8]) {
    let full = kdf::hmac_sha256(key, data);
    assert_eq!(hex::encode(&full[..tag.len()]), hex::encode(tag));
    // The multi-part form over a split of the data gives the same tag.
    let (a, b) = data.split_at(data.len() / 2);
    assert_eq!(kdf::hmac_sha256_parts(key, &[a, b]), full);
    if tag.len() == 32 {
        kdf::hmac_sha256_verify(key, &[a, b], tag).unwrap();
    }
}

#[test]
fn rfc4231_case1() {
    hmac_case(
        &[0x0b; 20],
        b"Hi There",
        &h("b0344c61d8db38535ca8afceaf0bf12b 881dc200c9833da726e9376c2e32cff7"),
    );
}

#[test]
fn rfc4231_case2_short_key() {
    hmac_case(
        b"Jefe",
        b"what do ya want for nothing?",
        &h("5bdcc146bf60754e6a042426089575c7 5a003f089d2739839dec58b964ec3843"),
    );
}

#[test]
fn rfc4231_case3() {
    hmac_case(
        &[0xaa; 20],
        &[0xdd; 50],
        &h("773ea91e36800e46854db8ebd09181a7 2959098b3ef8c122d9635514ced565fe"),
    );
}

#[test]
fn rfc4231_case4() {
    let key: Vec<u8> = (0x01..=0x19).collect();
    assert_eq!(key.len(), 25);
    hmac_case(
        &key,
        &[0xcd; 50],
        &h("82558a389a443c0ea4cc819899f2083a 85f0faa3e578f8077a2e3ff46729665b"),
    );
}

#[test]
fn rfc4231_case5_truncated_to_128_bits() {
    hmac_case(
        &[0x0c; 20],
        b"Test With Truncation",
        &h("a3b6167473100ee06e0c796c2955552b"),
    );
}

#[test]
fn rfc4231_case6_key_larger_than_block() {
    hmac_case(
        &[0xaa; 131],
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        &h("60e431591ee0b67f0d8a26aacbf5b77f 8e0bc6213728c5140546040f0ee37f54"),
    );
}

#[test]
fn rfc4231_case7_key_and_data_larger_than_block() {
    hmac_case(
        &[0xaa; 131],
        b"This is a test using a larger than block-size key and a larger than block-size data. \
The key needs to be hashed before being used by the HMAC algorithm.",
        &h("9b09ffa71b942fcb27635fbcd5b0e944 bfdc63644f0713938a7f51535c3a35e2"),
    );
}

// --------------------------------------------------------------------------- SP 800-38A (CTR)

const SP800_38A_PLAINTEXT: &str = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                                   30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
const SP800_38A_CTR_IV: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

#[test]
fn sp800_38a_f51_ctr_aes128_encrypt_and_decrypt() {
    let key: [u8; 16] = ha("2b7e151628aed2a6abf7158809cf4f3c");
    let iv: [u8; 16] = ha(SP800_38A_CTR_IV);
    let ct = h(
        "874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff
                5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee",
    );
    let mut buf = h(SP800_38A_PLAINTEXT);
    cipher::aes128_ctr_apply(&key, &iv, &mut buf);
    assert_eq!(hex::encode(&buf), hex::encode(&ct));
    // F.5.2 (decrypt) is the same vector backwards.
    cipher::aes128_ctr_apply(&key, &iv, &mut buf);
    assert_eq!(buf, h(SP800_38A_PLAINTEXT));
}

const CTR_AES256_KEY: &str = "603deb1015ca71be2b73aef0857d7781 1f352c073b6108d72d9810a30914dff4";
const CTR_AES256_CT: &str = "601ec313775789a5b7a7f504bbf3d228 f443e3ca4d62b59aca84e990cacaf5c5
                             2b0930daa23de94ce87017ba2d84988d dfc9c58db67aada613c2dd08457941a6";

#[test]
fn sp800_38a_f55_ctr_aes256_encrypt() {
    let key: [u8; 32] = ha(CTR_AES256_KEY);
    let iv: [u8; 16] = ha(SP800_38A_CTR_IV);
    let mut buf = h(SP800_38A_PLAINTEXT);
    cipher::aes256_ctr_apply(&key, &iv, &mut buf);
    assert_eq!(hex::encode(&buf), hex::encode(h(CTR_AES256_CT)));
}

#[test]
fn sp800_38a_f56_ctr_aes256_decrypt() {
    let key: [u8; 32] = ha(CTR_AES256_KEY);
    let iv: [u8; 16] = ha(SP800_38A_CTR_IV);
    let mut buf = h(CTR_AES256_CT);
    cipher::aes256_ctr_apply(&key, &iv, &mut buf);
    assert_eq!(hex::encode(&buf), hex::encode(h(SP800_38A_PLAINTEXT)));
}

#[test]
fn ctr_aes256_partial_blocks_continue_the_keystream() {
    // A message that is not a whole number of blocks: prefixes of the F.5.5 vector.
    let key: [u8; 32] = ha(CTR_AES256_KEY);
    let iv: [u8; 16] = ha(SP800_38A_CTR_IV);
    for len in [0usize, 1, 15, 17, 33, 63] {
        let mut buf = h(SP800_38A_PLAINTEXT)[..len].to_vec();
        cipher::aes256_ctr_apply(&key, &iv, &mut buf);
        assert_eq!(buf[..], h(CTR_AES256_CT)[..len], "len {len}");
    }
}

/// The expected CTR keystream computed block by block with AES-ECB from the `aes` crate,
/// with the counter incremented as a 128-bit big-endian integer.
fn reference_keystream_aes256(key: &[u8; 32], iv: &[u8; 16], blocks: usize) -> Vec<u8> {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let cipher = aes::Aes256::new(key.into());
    let mut counter = u128::from_be_bytes(*iv);
    let mut out = Vec::new();
    for _ in 0..blocks {
        let mut block = counter.to_be_bytes().into();
        cipher.encrypt_block(&mut block);
        out.extend_from_slice(&block);
        counter = counter.wrapping_add(1);
    }
    out
}

fn reference_keystream_aes128(key: &[u8; 16], iv: &[u8; 16], blocks: usize) -> Vec<u8> {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let cipher = aes::Aes128::new(key.into());
    let mut counter = u128::from_be_bytes(*iv);
    let mut out = Vec::new();
    for _ in 0..blocks {
        let mut block = counter.to_be_bytes().into();
        cipher.encrypt_block(&mut block);
        out.extend_from_slice(&block);
        counter = counter.wrapping_add(1);
    }
    out
}

#[test]
fn ctr_counter_is_128_bit_big_endian_and_wraps() {
    let key256: [u8; 32] = ha(CTR_AES256_KEY);
    let key128: [u8; 16] = ha("2b7e151628aed2a6abf7158809cf4f3c");
    let ivs: [[u8; 16]; 3] = [
        // full wrap: ff..ff → 00..00 → 00..01
        [0xff; 16],
        // carry across the 64-bit boundary (a 64-bit counter would wrap to ..ff00..00 instead)
        ha("0102030405060708ffffffffffffffff"),
        // carry across the 32-bit boundary
        ha("000000000000000000000000fffffffe"),
    ];
    for iv in ivs {
        let mut ks = vec![0u8; 4 * 16];
        cipher::aes256_ctr_apply(&key256, &iv, &mut ks);
        assert_eq!(
            ks,
            reference_keystream_aes256(&key256, &iv, 4),
            "AES-256 iv {iv:02x?}"
        );
        let mut ks = vec![0u8; 4 * 16];
        cipher::aes128_ctr_apply(&key128, &iv, &mut ks);
        assert_eq!(
            ks,
            reference_keystream_aes128(&key128, &iv, 4),
            "AES-128 iv {iv:02x?}"
        );
    }
    // The reference itself agrees with SP 800-38A F.5.5 (so it is the right construction).
    let iv: [u8; 16] = ha(SP800_38A_CTR_IV);
    let ks = reference_keystream_aes256(&key256, &iv, 4);
    let pt = h(SP800_38A_PLAINTEXT);
    let ct: Vec<u8> = pt.iter().zip(&ks).map(|(p, k)| p ^ k).collect();
    assert_eq!(ct, h(CTR_AES256_CT));
}

// --------------------------------------------------------------------------- hashes

#[test]
fn keccak256_known_answers() {
    let cases: [(&[u8], &str); 4] = [
        (
            b"",
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
        ),
        (
            b"abc",
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
        ),
        (
            b"The quick brown fox jumps over the lazy dog",
            "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15",
        ),
        // The ERC-20 Transfer event topic.
        (
            b"Transfer(address,address,uint256)",
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(hex::encode(hash::keccak256(input)), expected, "{input:?}");
    }
    // Well-known ERC-20 function selectors (first 4 bytes).
    for (sig, selector) in [
        ("transfer(address,uint256)", "a9059cbb"),
        ("balanceOf(address)", "70a08231"),
        ("approve(address,uint256)", "095ea7b3"),
    ] {
        assert_eq!(
            hex::encode(&hash::keccak256(sig.as_bytes())[..4]),
            selector,
            "{sig}"
        );
    }
    // The concatenating form is the hash of the concatenation.
    assert_eq!(
        hash::keccak256_concat(&[b"Transfer(address,", b"", b"address,uint256)"]),
        hash::keccak256(b"Transfer(address,address,uint256)")
    );
    assert_eq!(hash::keccak256_concat(&[]), hash::keccak256(b""));
}

#[test]
fn keccak256_is_not_sha3_256() {
    use sha3::Digest;
    // FIPS 202 SHA3-256 reference values.
    assert_eq!(
        hex::encode(sha3::Sha3_256::digest(b"")),
        "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    );
    assert_eq!(
        hex::encode(sha3::Sha3_256::digest(b"abc")),
        "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
    );
    for input in [&b""[..], b"abc", b"status"] {
        assert_ne!(
            hash::keccak256(input)[..],
            sha3::Sha3_256::digest(input)[..],
            "{input:?}"
        );
    }
}

#[test]
fn sha256_known_answers() {
    assert_eq!(
        hex::encode(hash::sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex::encode(hash::sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hash::sha256_concat(&[b"a", b"", b"bc"]),
        hash::sha256(b"abc")
    );
}

#[test]
fn ethereum_address_of_private_key_one() {
    // Private key 1: the public key is the generator G; its address is well known.
    let mut one = [0u8; 32];
    one[31] = 1;
    let sk = secp256k1::SecretKey::from_bytes(&one).unwrap();
    let pk = sk.public_key();
    assert_eq!(
        hex::encode(pk.to_compressed()),
        "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    );
    assert_eq!(
        hex::encode(pk.to_uncompressed()),
        "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\
         483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
    );
    assert_eq!(
        hex::encode(pk.ethereum_address()),
        "7e5f4552091a69125d5dfcb7b8c2659029395bdf"
    );
}
