//! Property tests: input forms agree, malformed input gives typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use pfs_crypto::secp256k1::SecretKey;
use pfs_identity::{
    ColorHash, EmojiHash, Identicon, KeyError, Visuals, parse_chat_key, parse_key_bytes,
    parse_public_key_string, parse_zq3, public_key_string, to_zq3,
};
use proptest::prelude::*;

fn secret() -> impl Strategy<Value = SecretKey> {
    prop::array::uniform32(any::<u8>())
        .prop_filter_map("valid scalar", |b| SecretKey::from_bytes(&b).ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn all_input_forms_agree(sk in secret()) {
        let pk = sk.public_key();
        let comp = pk.to_compressed();
        let unc = pk.to_uncompressed();
        let s = format!("0x{}", hex::encode(unc));
        prop_assert_eq!(&s, &public_key_string(&pk));

        let from_c = parse_key_bytes(&comp).unwrap();
        let from_u = parse_key_bytes(&unc).unwrap();
        let from_s = parse_public_key_string(&s).unwrap();
        let from_z = parse_zq3(&to_zq3(&pk)).unwrap();
        prop_assert!(from_c == pk && from_u == pk && from_s == pk && from_z == pk);

        let v_c = Visuals::for_key(&from_c, None, None);
        let v_u = Visuals::for_key(&from_u, None, None);
        let v_s = Visuals::from_public_key_string(&s, None, None).unwrap();
        let v_z = Visuals::from_chat_key(&to_zq3(&pk), None, None).unwrap();
        let v_cs = Visuals::from_chat_key(&format!("0x{}", hex::encode(comp)), None, None).unwrap();
        prop_assert_eq!(&v_c, &v_u);
        prop_assert_eq!(&v_c, &v_s);
        prop_assert_eq!(&v_c, &v_z);
        prop_assert_eq!(&v_c, &v_cs);
        prop_assert_eq!(v_c.identicon.input(), s.as_str());
        prop_assert!(v_c.compressed_key_zq3.starts_with("zQ3sh"));
    }

    #[test]
    fn case_changes_identicon_only(sk in secret()) {
        let pk = sk.public_key();
        let lower = public_key_string(&pk);
        let upper = format!("0x{}", hex::encode_upper(pk.to_uncompressed()));
        prop_assert_eq!(parse_public_key_string(&upper).unwrap(), pk.clone());
        prop_assert_eq!(EmojiHash::from_public_key_string(&upper).unwrap(), EmojiHash::for_key(&pk));
        prop_assert_eq!(ColorHash::from_public_key_string(&upper).unwrap(), ColorHash::for_key(&pk));
        let v = Visuals::from_public_key_string(&upper, None, None).unwrap();
        prop_assert_eq!(v.identicon.input(), upper.as_str());
        prop_assert_eq!(v.identicon, Identicon::from_string(&upper));
        prop_assert_eq!(Identicon::for_key(&pk), Identicon::from_string(&lower));
    }

    #[test]
    fn negated_point_shares_x_derived_hashes(sk in secret()) {
        // P and -P have the same X: alias seed, emoji and colour hash agree (§9).
        let pk = sk.public_key();
        let mut neg = pk.to_compressed();
        neg[0] ^= 1;
        let npk = parse_key_bytes(&neg).unwrap();
        prop_assert_eq!(EmojiHash::for_key(&pk), EmojiHash::for_key(&npk));
        prop_assert_eq!(ColorHash::for_key(&pk), ColorHash::for_key(&npk));
        prop_assert_eq!(pfs_identity::alias::seed(&pk), pfs_identity::alias::seed(&npk));
        prop_assert_ne!(to_zq3(&pk), to_zq3(&npk));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        match parse_key_bytes(&bytes) {
            Ok(pk) => prop_assert!(bytes.len() == 33 || bytes.len() == 65, "{:?}", pk),
            Err(KeyError::WrongLength { actual, .. }) => {
                prop_assert_eq!(actual, bytes.len());
                prop_assert!(actual != 33 && actual != 65);
            }
            Err(KeyError::BadPrefix(_)) => {
                let tag_ok = matches!((bytes.len(), bytes[0]), (33, 2 | 3) | (65, 4));
                prop_assert!(!tag_ok);
            }
            Err(KeyError::NotOnCurve) => prop_assert!(bytes.len() == 33 || bytes.len() == 65),
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    #[test]
    fn wrong_lengths_are_typed(sk in secret(), len in 0usize..100) {
        prop_assume!(len != 33 && len != 65);
        let unc = sk.public_key().to_uncompressed();
        let mut b = unc.to_vec();
        b.resize(len, 0x42);
        prop_assert_eq!(parse_key_bytes(&b), Err(KeyError::WrongLength {
            expected: "33 (compressed) or 65 (uncompressed)", actual: len }));
        let s = format!("0x{}", hex::encode(&b));
        let got = parse_public_key_string(&s);
        prop_assert!(
            matches!(got, Err(KeyError::WrongLength { actual, .. }) if actual == len),
            "got {:?}",
            got
        );
    }

    #[test]
    fn random_strings_never_panic(s in ".{0,140}") {
        let _ = parse_public_key_string(&s);
        let _ = parse_chat_key(&s);
        let _ = parse_zq3(&s);
        let _ = pfs_identity::color_id_from_str(&s);
        let _ = Visuals::from_chat_key(&s, None, None);
        let _ = Identicon::from_string(&s);
    }

    #[test]
    fn random_hex_strings_give_typed_errors(b in prop::collection::vec(any::<u8>(), 65)) {
        let s = format!("0x{}", hex::encode(&b));
        match parse_public_key_string(&s) {
            Ok(_) => prop_assert_eq!(b[0], 4),
            Err(KeyError::BadPrefix(_)) => prop_assert_ne!(b[0], 4),
            Err(KeyError::NotOnCurve) => prop_assert_eq!(b[0], 4),
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    #[test]
    fn random_base58_never_panics(b in prop::collection::vec(any::<u8>(), 0..50)) {
        let s = format!("z{}", bs58_like(&b));
        let _ = parse_zq3(&s);
    }
}

/// Maps bytes onto base58 and non-base58 characters (including '0', 'O', 'I', 'l').
fn bs58_like(b: &[u8]) -> String {
    const CHARS: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIl";
    b.iter()
        .map(|&x| CHARS[usize::from(x) % CHARS.len()] as char)
        .collect()
}

#[test]
fn specific_malformed_keys() {
    assert_eq!(parse_public_key_string("0x04zz"), Err(KeyError::BadHex));
    assert_eq!(parse_public_key_string("0x4"), Err(KeyError::BadHex));
    assert!(matches!(
        parse_public_key_string("04abcd"),
        Err(KeyError::BadPrefix(_))
    ));
    assert!(matches!(parse_zq3("Q3sh"), Err(KeyError::BadPrefix(_))));
    assert_eq!(parse_zq3("z0OIl"), Err(KeyError::BadBase58));
    // Valid base58 of the wrong multicodec.
    assert!(matches!(parse_zq3("z11111"), Err(KeyError::BadPrefix(_))));
    // The generator (record priv_0x01 of the vector file) with the last bit of Y flipped:
    // only Y and p - Y (of opposite parity) lie on the curve.
    let mut g = hex::decode(concat!(
        "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
        "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
    ))
    .unwrap();
    assert!(parse_key_bytes(&g).is_ok());
    g[64] ^= 1;
    assert_eq!(parse_key_bytes(&g), Err(KeyError::NotOnCurve));
    let mut bad_tag = [0u8; 65];
    bad_tag[0] = 6;
    assert!(matches!(
        parse_key_bytes(&bad_tag),
        Err(KeyError::BadPrefix(_))
    ));
    assert!(matches!(
        parse_key_bytes(&[]),
        Err(KeyError::WrongLength { actual: 0, .. })
    ));
    assert_eq!(pfs_identity::color_id_from_str("0x"), Err(KeyError::BadHex));
}
