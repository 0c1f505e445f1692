//! Round trips, tampering, boundaries and limits of the envelope layer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use pfs_crypto::hash::keccak256;
use pfs_transport::ecies::{self, EciesError};
use pfs_transport::envelope::{
    Envelope, EnvelopeDecodeError, OpenError, OpenKey, SealError, SealKey, open, open_bytes,
    seal_message,
};
use pfs_transport::message::{self, MessageBuildError, MessageParseError};
use pfs_transport::pow::{self, PowError};
use pfs_transport::rlp::RlpError;
use pfs_transport::symmetric::{self, SymKey, SymmetricError};
use pfs_transport::{PowVariant, Topic};

const VARIANTS: [PowVariant; 2] = [PowVariant::V1_4_10, PowVariant::V1_5_2];

fn sym_key() -> SymKey {
    SymKey::from_bytes(&keccak256(b"test symmetric key")).unwrap()
}

#[test]
fn symmetric_round_trip_signed_and_unsigned() {
    let alice = key("alice");
    let k = sym_key();
    for variant in VARIANTS {
        for signer in [Some(&alice), None] {
            let mut rng = TestRng(1);
            let payload = b"hello whisper".to_vec();
            let env = seal_message(
                &payload,
                signer,
                SealKey::Symmetric(&k),
                &seal_opts(variant),
                &mut rng,
            )
            .unwrap();
            assert!(
                env.pow(variant) >= 0.002 * 0.5,
                "sealed PoW reaches the target bits"
            );
            let (decoded, msg) =
                open_bytes(&env.encode(), OpenKey::Symmetric(&k), &open_opts(variant)).unwrap();
            assert_eq!(decoded, env);
            assert_eq!(msg.payload, payload);
            assert_eq!(msg.signer, signer.map(|s| s.public_key()));
            assert_eq!(msg.signature.is_some(), signer.is_some());
            assert_eq!(msg.topic, Topic::from_string("status"));
            assert_eq!(msg.sent, NOW);
        }
    }
}

#[test]
fn asymmetric_round_trip() {
    let alice = key("alice");
    let bob = key("bob");
    for variant in VARIANTS {
        let mut rng = TestRng(7);
        let payload = vec![0xabu8; 1000];
        let env = seal_message(
            &payload,
            Some(&alice),
            SealKey::Asymmetric(&bob.public_key()),
            &seal_opts(variant),
            &mut rng,
        )
        .unwrap();
        let (_, msg) = open_bytes(
            &env.encode(),
            OpenKey::Asymmetric(&bob),
            &open_opts(variant),
        )
        .unwrap();
        assert_eq!(msg.payload, payload);
        assert_eq!(msg.signer, Some(alice.public_key()));
        // The ECIES data is R ‖ IV ‖ ct ‖ tag around a 256-multiple plaintext.
        assert_eq!((env.data.len() - ecies::ECIES_OVERHEAD) % 256, 0);
    }
}

#[test]
fn wrong_keys_rejected() {
    let alice = key("alice");
    let bob = key("bob");
    let carol = key("carol");
    let v = PowVariant::V1_5_2;
    let env = seal_message(
        b"x",
        Some(&alice),
        SealKey::Symmetric(&sym_key()),
        &seal_opts(v),
        &mut TestRng(3),
    )
    .unwrap();
    let other = SymKey::from_bytes(&keccak256(b"other key")).unwrap();
    assert_eq!(
        open(&env, OpenKey::Symmetric(&other), &open_opts(v)),
        Err(OpenError::Symmetric(SymmetricError::AuthenticationFailed))
    );
    let env = seal_message(
        b"x",
        Some(&alice),
        SealKey::Asymmetric(&bob.public_key()),
        &seal_opts(v),
        &mut TestRng(3),
    )
    .unwrap();
    assert_eq!(
        open(&env, OpenKey::Asymmetric(&carol), &open_opts(v)),
        Err(OpenError::Ecies(EciesError::InvalidMessage))
    );
    // An ECIES envelope opened with a symmetric key fails too.
    assert!(matches!(
        open(&env, OpenKey::Symmetric(&sym_key()), &open_opts(v)),
        Err(OpenError::Symmetric(SymmetricError::AuthenticationFailed))
    ));
}

#[test]
fn zero_keys_and_zero_randomness_refused() {
    assert_eq!(SymKey::from_bytes(&[0u8; 32]), Err(SymmetricError::ZeroKey));
    assert_eq!(
        SymKey::from_bytes(&[1u8; 31]),
        Err(SymmetricError::KeyLength(31))
    );
    assert_eq!(
        symmetric::encrypt(&sym_key(), b"abc", &mut ZeroRng),
        Err(SymmetricError::ZeroNonce)
    );
    assert_eq!(
        message::build(b"abc", None, &mut ZeroRng),
        Err(MessageBuildError::ZeroPadding(256 - 5))
    );
}

/// Seals a tampered raw message (re-encrypted with the right key) and opens it.
fn open_tampered_raw(
    raw: &[u8],
    variant: PowVariant,
) -> Result<Option<pfs_crypto::secp256k1::PublicKey>, OpenError> {
    let k = sym_key();
    let data = symmetric::encrypt(&k, raw, &mut TestRng(99)).unwrap();
    let mut env = Envelope::new(NOW, 15, Topic::from_string("t"), data).unwrap();
    pow::seal(&mut env, variant, 0.002, 1 << 20).unwrap();
    open(&env, OpenKey::Symmetric(&k), &open_opts(variant)).map(|m| m.signer)
}

#[test]
fn tampered_message_fields_never_yield_the_signer() {
    let alice = key("alice");
    let v = PowVariant::V1_4_10;
    let payload = vec![0x55u8; 100];
    let raw = message::build(&payload, Some(&alice), &mut TestRng(5)).unwrap();
    assert_eq!(open_tampered_raw(&raw, v), Ok(Some(alice.public_key())));
    let sig_start = raw.len() - 65;
    // flags: size bits changed, signature bit cleared
    for (pos, xor) in [
        (0usize, 0x01u8),
        (0, 0x02),
        (0, 0x04),
        (1, 0x01),
        (2, 0x80),
        (1 + 1 + 100, 0x01),
    ]
    .into_iter()
    .chain([
        (sig_start - 1, 0x10),
        (sig_start, 0x01),
        (sig_start + 40, 0x01),
        (raw.len() - 1, 0x01),
    ]) {
        let mut t = raw.clone();
        t[pos] ^= xor;
        let r = open_tampered_raw(&t, v);
        assert_ne!(
            r,
            Ok(Some(alice.public_key())),
            "tampering byte {pos} with {xor:#x}"
        );
    }
}

#[test]
fn parse_errors_are_typed() {
    assert_eq!(message::parse(&[]), Err(MessageParseError::Empty));
    // signature flag but only 65 bytes
    let mut m = vec![0x04u8];
    m.extend_from_slice(&[0u8; 65]);
    assert_eq!(
        message::parse(&m),
        Err(MessageParseError::TooShortForSignature(66))
    );
    // size field of 3 bytes in a 2-byte message
    assert_eq!(
        message::parse(&[0x03, 0x01]),
        Err(MessageParseError::SizeFieldTruncated {
            needed: 4,
            available: 2
        })
    );
    // declared payload longer than the message
    assert_eq!(
        message::parse(&[0x01, 0x05, 1, 2]),
        Err(MessageParseError::PayloadOutOfBounds {
            declared: 5,
            available: 2
        })
    );
    // v1.6.1 check: the payload may not run into the signature
    let alice = key("alice");
    let raw = message::build(&[7u8; 10], Some(&alice), &mut TestRng(1)).unwrap();
    let mut t = raw.clone();
    t[1] = (raw.len() - 2 - 65 + 1) as u8; // one byte into the signature
    assert!(matches!(
        message::parse(&t),
        Err(MessageParseError::PayloadOutOfBounds { .. }) | Err(MessageParseError::BadSignature(_))
    ));
    // a bad recovery id
    let mut t = raw.clone();
    let last = t.len() - 1;
    t[last] = 9;
    assert!(matches!(
        message::parse(&t),
        Err(MessageParseError::BadSignature(_))
    ));
}

#[test]
fn tampered_ciphertext_tag_and_nonce_rejected() {
    let alice = key("alice");
    let bob = key("bob");
    let v = PowVariant::V1_5_2;
    let k = sym_key();
    let env = seal_message(
        &[1u8; 50],
        Some(&alice),
        SealKey::Symmetric(&k),
        &seal_opts(v),
        &mut TestRng(11),
    )
    .unwrap();
    let n = env.data.len();
    for pos in [0, n - 28 - 1, n - 28, n - 13, n - 12, n - 1] {
        let mut t = env.clone();
        t.data[pos] ^= 1;
        assert_eq!(
            open(
                &t,
                OpenKey::Symmetric(&k),
                &OpenOptions {
                    min_pow: 0.0,
                    ..open_opts(v)
                }
            ),
            Err(OpenError::Symmetric(SymmetricError::AuthenticationFailed)),
            "byte {pos}"
        );
    }
    let env = seal_message(
        &[1u8; 50],
        Some(&alice),
        SealKey::Asymmetric(&bob.public_key()),
        &seal_opts(v),
        &mut TestRng(11),
    )
    .unwrap();
    let n = env.data.len();
    // R, IV, ciphertext, tag
    for pos in [1, 64, 65, 80, 81, n - 33, n - 32, n - 1] {
        let mut t = env.clone();
        t.data[pos] ^= 1;
        let r = open(
            &t,
            OpenKey::Asymmetric(&bob),
            &OpenOptions {
                min_pow: 0.0,
                ..open_opts(v)
            },
        );
        assert!(
            matches!(
                r,
                Err(OpenError::Ecies(
                    EciesError::InvalidMessage | EciesError::InvalidPublicKey
                ))
            ),
            "byte {pos}: {r:?}"
        );
    }
    let mut t = env.clone();
    t.data[0] = 0x02;
    assert_eq!(
        open(
            &t,
            OpenKey::Asymmetric(&bob),
            &OpenOptions {
                min_pow: 0.0,
                ..open_opts(v)
            }
        ),
        Err(OpenError::Ecies(EciesError::InvalidPublicKey))
    );
}

use pfs_transport::envelope::OpenOptions;

#[test]
fn envelope_time_fields_and_nonce_checked() {
    let alice = key("alice");
    let k = sym_key();
    for v in VARIANTS {
        // find a payload whose minimal nonce is > 0
        let mut env = None;
        for i in 0u8..=255 {
            let e = seal_message(
                &[i; 20],
                Some(&alice),
                SealKey::Symmetric(&k),
                &seal_opts(v),
                &mut TestRng(20),
            )
            .unwrap();
            if e.nonce > 0 {
                env = Some(e);
                break;
            }
        }
        let env = env.unwrap();
        let opts = OpenOptions {
            min_pow: env.pow(v),
            ..open_opts(v)
        };
        assert!(open(&env, OpenKey::Symmetric(&k), &opts).is_ok());
        // every smaller nonce is below the sealed PoW
        let mut t = env.clone();
        t.nonce -= 1;
        assert!(matches!(
            open(&t, OpenKey::Symmetric(&k), &opts),
            Err(OpenError::InsufficientPow { .. })
        ));
        // expiry in the future beyond the allowance
        let mut t = env.clone();
        t.expiry += 11;
        assert!(matches!(
            open(
                &t,
                OpenKey::Symmetric(&k),
                &OpenOptions {
                    min_pow: 0.0,
                    ..opts
                }
            ),
            Err(OpenError::FromFuture { .. })
        ));
        // expired
        let late = OpenOptions {
            now: env.expiry + 1,
            min_pow: 0.0,
            ..opts
        };
        assert_eq!(
            open(&env, OpenKey::Symmetric(&k), &late),
            Err(OpenError::Expired {
                expiry: env.expiry,
                now: env.expiry + 1
            })
        );
        // ttl larger than expiry
        let mut t = env.clone();
        t.ttl = t.expiry + 1;
        assert!(matches!(
            open(
                &t,
                OpenKey::Symmetric(&k),
                &OpenOptions {
                    min_pow: 0.0,
                    ..opts
                }
            ),
            Err(OpenError::InvalidTimes { .. })
        ));
    }
}

#[test]
fn padding_boundaries() {
    let alice = key("alice");
    let payload_lens = (0..=3usize)
        .flat_map(|b| [b * 256, b * 256 + 1])
        .chain([
            188, 189, 190, 252, 253, 254, 255, 256, 257, 445, 446, 447, 510, 511, 512, 65535, 65536,
        ])
        .filter_map(|n| n.checked_sub(0));
    for n in payload_lens {
        for signed in [false, true] {
            let payload = vec![0x11u8; n];
            let raw =
                message::build(&payload, signed.then_some(&alice), &mut TestRng(n as u64)).unwrap();
            assert_eq!(raw.len() % 256, 0, "n={n} signed={signed}");
            let pad = message::padding_len(n, signed).unwrap();
            assert!((1..=256).contains(&pad));
            let sf = message::size_field(n).unwrap();
            assert_eq!(
                raw.len(),
                1 + sf.len() + n + pad + if signed { 65 } else { 0 }
            );
            let parsed = message::parse(&raw).unwrap();
            assert_eq!(parsed.payload, payload);
            assert_eq!(parsed.padding.len(), pad);
        }
    }
    // a message that would already be a multiple of 256 gets a whole block of padding
    assert_eq!(message::padding_len(254, false).unwrap(), 256);
    assert_eq!(message::padding_len(189, true).unwrap(), 256);
    assert_eq!(message::padding_len(253, false).unwrap(), 1);
    assert_eq!(message::size_field(255).unwrap(), vec![0xff]);
    assert_eq!(message::size_field(256).unwrap(), vec![0x00, 0x01]);
    assert_eq!(message::size_field(70000).unwrap(), vec![0x70, 0x11, 0x01]);
    assert_eq!(
        message::size_field(1 << 24),
        Err(MessageBuildError::PayloadTooLarge(1 << 24))
    );
}

#[test]
fn oversized_envelopes_rejected() {
    let k = sym_key();
    let v = PowVariant::V1_5_2;
    let small = pfs_transport::envelope::SealOptions {
        max_envelope_size: 1024,
        ..seal_opts(v)
    };
    assert!(matches!(
        seal_message(
            &[0u8; 2000],
            None,
            SealKey::Symmetric(&k),
            &small,
            &mut TestRng(1)
        ),
        Err(SealError::TooLarge { max: 1024, .. })
    ));
    let env = seal_message(
        &[0u8; 2000],
        None,
        SealKey::Symmetric(&k),
        &seal_opts(v),
        &mut TestRng(1),
    )
    .unwrap();
    let bytes = env.encode();
    let opts = OpenOptions {
        max_envelope_size: 1024,
        ..open_opts(v)
    };
    assert!(matches!(
        open_bytes(&bytes, OpenKey::Symmetric(&k), &opts),
        Err(OpenError::Decode(EnvelopeDecodeError::TooLarge {
            max: 1024,
            ..
        }))
    ));
    assert!(matches!(
        open(&env, OpenKey::Symmetric(&k), &opts),
        Err(OpenError::TooLarge { max: 1024, .. })
    ));
    // The data header alone is enough to reject: a data field declared just over the
    // limit, with the bytes in the input within the framing allowance.
    let mut e = env.clone();
    e.data.truncate(1024 - 20 + 1);
    assert!(matches!(
        Envelope::decode(&e.encode(), 1024),
        Err(EnvelopeDecodeError::TooLarge {
            size: 1025,
            max: 1024
        })
    ));
    assert!(
        Envelope::decode(
            &{
                let mut x = env.clone();
                x.data.truncate(1004);
                x
            }
            .encode(),
            1024
        )
        .is_ok()
    );
}

#[test]
fn truncated_and_malformed_envelopes_rejected() {
    let k = sym_key();
    let v = PowVariant::V1_4_10;
    let env = seal_message(
        &[3u8; 10],
        None,
        SealKey::Symmetric(&k),
        &seal_opts(v),
        &mut TestRng(2),
    )
    .unwrap();
    let bytes = env.encode();
    for cut in [0, 1, 3, 10, bytes.len() - 1] {
        assert!(
            matches!(
                Envelope::decode(&bytes[..cut], 1 << 20),
                Err(EnvelopeDecodeError::Truncated(_))
            ),
            "cut at {cut}"
        );
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        Envelope::decode(&trailing, 1 << 20),
        Err(EnvelopeDecodeError::Malformed(RlpError::TrailingBytes(1)))
    );
    // non-minimal integer: expiry with a leading zero byte
    let mut body = vec![0x85, 0x00];
    body.extend_from_slice(&env.expiry.to_be_bytes());
    let rest = {
        let full = env.encode();
        // skip the list header (3 bytes: f9 xx xx) and the 5-byte expiry
        full[3 + 5..].to_vec()
    };
    body.extend_from_slice(&rest);
    let mut bad = vec![0xf9];
    bad.extend_from_slice(&(body.len() as u16).to_be_bytes());
    bad.extend_from_slice(&body);
    assert_eq!(
        Envelope::decode(&bad, 1 << 20),
        Err(EnvelopeDecodeError::Malformed(RlpError::NonMinimalInteger))
    );
    // an envelope with a sixth element
    let mut body = env.encode()[3..].to_vec();
    body.push(0x80);
    let mut bad = vec![0xf9];
    bad.extend_from_slice(&(body.len() as u16).to_be_bytes());
    bad.extend_from_slice(&body);
    assert_eq!(
        Envelope::decode(&bad, 1 << 20),
        Err(EnvelopeDecodeError::Malformed(RlpError::TrailingBytes(1)))
    );
    // not a list
    assert_eq!(
        Envelope::decode(&[0x83, 1, 2, 3], 1 << 20),
        Err(EnvelopeDecodeError::Malformed(RlpError::ExpectedList))
    );
}

#[test]
fn work_limit_is_a_typed_error() {
    let data = vec![9u8; 300];
    let mut env = Envelope::new(NOW, 15, Topic::from_string("x"), data).unwrap();
    // 0.002 × 320 × 15 = 9.6 → 4 bits; allow a single try and a very high target
    assert_eq!(
        pow::seal(&mut env, PowVariant::V1_5_2, 1e9, 1),
        Err(PowError::WorkLimit {
            target_bits: 43,
            iterations: 1
        })
    );
    assert_eq!(pow::seal(&mut env, PowVariant::V1_5_2, 0.0, 1), Ok(None));
    assert_eq!(env.nonce, 0);
    assert!(matches!(
        pow::seal(&mut env, PowVariant::V1_5_2, -1.0, 1),
        Err(PowError::InvalidTarget(_))
    ));
}
