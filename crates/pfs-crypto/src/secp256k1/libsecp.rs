//! The libsecp256k1 backend (cargo feature `libsecp256k1`) of the variable-base operations.
//!
//! Every function here takes inputs the caller has already validated the way the k256 path
//! validates them (shared code in the parent module), and hands back k256 types, converting
//! through bytes: 32-byte big-endian scalars and 65-byte uncompressed SEC1 points.
//!
//! libsecp256k1 0.33 needs no explicit context: its functions use a thread-local context
//! (the crate's `std` feature), and ECDH, parsing, verification and recovery need no
//! precomputed signing tables.

use super::{PublicKey, SecretKey};
use crate::{CryptoError, SecretBytes};
use ::secp256k1 as c;
use zeroize::Zeroize;

/// The k256 point of a 65-byte uncompressed encoding produced by libsecp256k1.
fn to_k256(uncompressed: &[u8; super::UNCOMPRESSED_LEN]) -> Option<k256::PublicKey> {
    k256::PublicKey::from_sec1_bytes(uncompressed).ok()
}

/// The libsecp256k1 point of one of our (valid) public keys.
fn from_ours(public: &PublicKey) -> Option<c::PublicKey> {
    c::PublicKey::from_byte_array_uncompressed(public.to_uncompressed()).ok()
}

/// ECDH x-coordinate. `None` only if a valid k256 key failed to convert (not expected; the
/// caller then falls back to k256).
pub(super) fn ecdh(secret: &SecretKey, their: &PublicKey) -> Option<SecretBytes<32>> {
    let point = from_ours(their)?;
    let scalar_bytes = secret.to_bytes();
    let mut scalar = c::SecretKey::from_secret_bytes(*scalar_bytes.expose()).ok()?;
    drop(scalar_bytes);
    let mut xy = c::ecdh::shared_secret_point(&point, &scalar);
    scalar.non_secure_erase();
    let mut out = SecretBytes::zero();
    let converted = match xy.first_chunk::<32>() {
        Some(x) => {
            out.expose_mut().copy_from_slice(x);
            true
        }
        None => false,
    };
    xy.zeroize();
    converted.then_some(out)
}

/// Decompresses a 33-byte key whose prefix (02 or 03) the caller has checked.
pub(super) fn decompress(
    compressed: &[u8; super::COMPRESSED_LEN],
) -> Result<k256::PublicKey, CryptoError> {
    let point = c::PublicKey::from_byte_array_compressed(*compressed)
        .map_err(|_| CryptoError::InvalidPublicKey("secp256k1"))?;
    to_k256(&point.serialize_uncompressed()).ok_or(CryptoError::InvalidPublicKey("secp256k1"))
}

/// Public-key recovery from a parsed, low-S `R ‖ S` (r, s in 1..n) and a recovery id 0..=3.
pub(super) fn recover(
    rs: &[u8; 64],
    recid: u8,
    prehash: &[u8; 32],
) -> Result<k256::PublicKey, CryptoError> {
    let recid = c::ecdsa::RecoveryId::try_from(i32::from(recid))
        .map_err(|_| CryptoError::MalformedSignature)?;
    let sig = c::ecdsa::RecoverableSignature::from_compact(rs, recid)
        .map_err(|_| CryptoError::MalformedSignature)?;
    let point = sig
        .recover_ecdsa(c::Message::from_digest(*prehash))
        .map_err(|_| CryptoError::RecoveryFailed)?;
    to_k256(&point.serialize_uncompressed()).ok_or(CryptoError::RecoveryFailed)
}

/// ECDSA verification of a parsed, low-S `R ‖ S` (r, s in 1..n) over a 32-byte prehash.
pub(super) fn verify(
    public: &PublicKey,
    prehash: &[u8; 32],
    rs: &[u8; 64],
) -> Result<(), CryptoError> {
    let point = from_ours(public).ok_or(CryptoError::AuthenticationFailed)?;
    let sig = c::ecdsa::Signature::from_compact(rs).map_err(|_| CryptoError::MalformedSignature)?;
    c::ecdsa::verify(&sig, c::Message::from_digest(*prehash), &point)
        .map_err(|_| CryptoError::AuthenticationFailed)
}

/// Differential tests: the k256 path and the libsecp256k1 path on the same random and
/// malformed inputs must give the same bytes or the same error.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::super::{
        PublicKey, RecoverableSignature, SecretKey, verify_prehash_k256, verify_prehash_libsecp,
    };
    use proptest::prelude::*;

    /// The group order n, big-endian.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];
    /// The field prime p, big-endian.
    const P: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff,
        0xfc, 0x2f,
    ];

    fn be_add_small(a: &[u8; 32], k: i16) -> [u8; 32] {
        // a + k (k small, may be negative), wrapping mod 2^256.
        let mut out = *a;
        let mut carry = i32::from(k);
        for byte in out.iter_mut().rev() {
            let v = i32::from(*byte) + carry;
            *byte = v.rem_euclid(256) as u8;
            carry = v.div_euclid(256);
            if carry == 0 {
                break;
            }
        }
        out
    }

    /// 32-byte values biased towards the edges: zero, around n and p, small values (an r
    /// below p - n exercises the "x reduced" recovery ids 2 and 3), all-ones, and random.
    fn scalar_like() -> impl Strategy<Value = [u8; 32]> {
        prop_oneof![
            4 => any::<[u8; 32]>(),
            1 => (-3i16..=3).prop_map(|k| be_add_small(&N, k)),
            1 => (-3i16..=3).prop_map(|k| be_add_small(&P, k)),
            1 => (0i16..=3).prop_map(|k| be_add_small(&[0u8; 32], k)),
            1 => any::<[u8; 16]>().prop_map(|lo| {
                let mut v = [0u8; 32];
                v[16..].copy_from_slice(&lo);
                v
            }),
            1 => Just([0xff; 32]),
        ]
    }

    fn secret() -> impl Strategy<Value = SecretKey> {
        scalar_like().prop_filter_map("valid scalar", |b| SecretKey::from_bytes(&b).ok())
    }

    /// SEC1-shaped byte strings: a valid key (maybe with a bit flipped), or an arbitrary x
    /// (and y) under any prefix, or a random length.
    fn sec1_like() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (secret(), any::<bool>(), any::<Option<(usize, u8)>>()).prop_map(
                |(sk, compressed, flip)| {
                    let pk = sk.public_key();
                    let mut v = if compressed {
                        pk.to_compressed().to_vec()
                    } else {
                        pk.to_uncompressed().to_vec()
                    };
                    if let Some((i, bit)) = flip {
                        let i = i % v.len();
                        v[i] ^= 1 << (bit % 8);
                    }
                    v
                }
            ),
            (0u8..=7, scalar_like()).prop_map(|(prefix, x)| [&[prefix][..], &x].concat()),
            (0u8..=7, scalar_like(), scalar_like()).prop_map(|(prefix, x, y)| [
                &[prefix][..],
                &x,
                &y
            ]
            .concat()),
            proptest::collection::vec(any::<u8>(), 0..70),
        ]
    }

    /// Recoverable signatures: a real one (maybe high-S, maybe with V or a byte changed),
    /// or edge-biased r, s and any V.
    fn signature_like() -> impl Strategy<Value = ([u8; 65], [u8; 32])> {
        prop_oneof![
            (
                secret(),
                any::<[u8; 32]>(),
                any::<bool>(),
                any::<Option<u8>>(),
                any::<Option<(usize, u8)>>(),
            )
                .prop_map(|(sk, digest, high, v, flip)| {
                    let mut sig = sk.sign_prehash_recoverable(&digest).unwrap().to_bytes();
                    if high {
                        let s: [u8; 32] = sig[32..64].try_into().unwrap();
                        sig[32..64].copy_from_slice(&sub(&N, &s));
                        sig[64] ^= 1;
                    }
                    if let Some(v) = v {
                        sig[64] = v % 6;
                    }
                    if let Some((i, bit)) = flip {
                        sig[i % 65] ^= 1 << (bit % 8);
                    }
                    (sig, digest)
                }),
            (scalar_like(), scalar_like(), 0u8..=5, any::<[u8; 32]>()).prop_map(
                |(r, s, v, digest)| {
                    let mut sig = [0u8; 65];
                    sig[..32].copy_from_slice(&r);
                    sig[32..64].copy_from_slice(&s);
                    sig[64] = v;
                    (sig, digest)
                }
            ),
        ]
    }

    fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i32;
        for i in (0..32).rev() {
            let v = i32::from(a[i]) - i32::from(b[i]) - borrow;
            out[i] = v.rem_euclid(256) as u8;
            borrow = i32::from(v < 0);
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        #[test]
        fn ecdh_matches(a in secret(), b in secret()) {
            let pb = b.public_key();
            let theirs = super::ecdh(&a, &pb).expect("libsecp256k1 ECDH");
            let ours = a.ecdh_k256(&pb);
            prop_assert_eq!(theirs.expose(), ours.expose());
            // and the exchange is symmetric on the libsecp256k1 side too
            let back = super::ecdh(&b, &a.public_key()).expect("libsecp256k1 ECDH");
            prop_assert_eq!(back.expose(), theirs.expose());
        }

        #[test]
        fn decompression_matches(bytes in sec1_like()) {
            let k = PublicKey::from_sec1_k256(&bytes);
            let l = PublicKey::from_sec1_libsecp(&bytes);
            if let (Ok(k), Ok(l)) = (&k, &l) {
                prop_assert_eq!(k.to_uncompressed(), l.to_uncompressed());
            }
            prop_assert_eq!(k, l, "input {}", hex::encode(&bytes));
        }

        #[test]
        fn recovery_matches((sig, digest) in signature_like()) {
            let sig = RecoverableSignature::from_bytes(&sig).unwrap();
            let k = sig.recover_k256(&digest);
            let l = sig.recover_libsecp(&digest);
            prop_assert_eq!(k, l, "sig {}", hex::encode(sig.to_bytes()));
        }

        #[test]
        fn verification_matches(
            (sig, digest) in signature_like(),
            key in secret(),
            prehash_len in prop_oneof![8 => Just(32usize), 1 => 0usize..40],
            sig_len in prop_oneof![8 => Just(64usize), 1 => 0usize..66],
        ) {
            // The signer's key when it can be recovered, otherwise an unrelated one.
            let rsig = RecoverableSignature::from_bytes(&sig).unwrap();
            let pk = rsig.recover_k256(&digest).unwrap_or_else(|_| key.public_key());
            let mut prehash = digest.to_vec();
            prehash.resize(prehash_len, 0);
            let mut rs = sig.to_vec();
            rs.resize(sig_len, 0);
            prop_assert_eq!(
                verify_prehash_k256(&pk, &prehash, &rs),
                verify_prehash_libsecp(&pk, &prehash, &rs)
            );
        }
    }

    /// Every combination of edge values of r and s (zero, one, around n and p, all-ones)
    /// with V in 0..=4, by hand, so a strategy change cannot silently drop them.
    #[test]
    fn edge_signatures_match() {
        let digest = [0x42u8; 32];
        let values = [
            [0u8; 32],
            be_add_small(&[0u8; 32], 1),
            be_add_small(&N, -1),
            N,
            be_add_small(&N, 1),
            be_add_small(&P, -1),
            P,
            [0xff; 32],
        ];
        let mut recovered = 0;
        for r in values {
            for s in values {
                for v in 0u8..=4 {
                    let mut bytes = [0u8; 65];
                    bytes[..32].copy_from_slice(&r);
                    bytes[32..64].copy_from_slice(&s);
                    bytes[64] = v;
                    let sig = RecoverableSignature::from_bytes(&bytes).unwrap();
                    let k = sig.recover_k256(&digest);
                    assert_eq!(k, sig.recover_libsecp(&digest), "{}", hex::encode(bytes));
                    recovered += usize::from(k.is_ok());
                }
            }
        }
        // r = 1 is the x of a curve point (1 + 7 = 8 is a square mod p, as p = 7 mod 8), so
        // some of these recover a key: the comparison covered successes, not only errors.
        assert!(recovered > 0);
    }

    /// Point at infinity and hybrid encodings are rejected by both backends alike.
    #[test]
    fn edge_points_match() {
        let sk = SecretKey::from_bytes(&[0x30; 32]).unwrap();
        let un = sk.public_key().to_uncompressed();
        let mut hybrid = un;
        hybrid[0] = 6 | (un[64] & 1);
        for bytes in [
            vec![0u8],
            vec![0u8; 33],
            vec![0u8; 65],
            hybrid.to_vec(),
            [&[2u8][..], &P].concat(),
            [&[3u8][..], &[0xff; 32]].concat(),
        ] {
            let k = PublicKey::from_sec1_k256(&bytes);
            assert!(k.is_err());
            assert_eq!(k, PublicKey::from_sec1_libsecp(&bytes));
        }
    }
}
