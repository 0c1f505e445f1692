//! Property tests: hostile bytes never panic the decoders, and encoding round-trips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_crypto::secp256k1::SecretKey;
use pfs_transport::envelope::Envelope;
use pfs_transport::symmetric::{self, SymKey};
use pfs_transport::{ContentTopic, Topic, ecies, message, rlp};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn envelope_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Envelope::decode(&bytes, 1 << 20);
        let _ = Envelope::decode(&bytes, 64);
        let _ = rlp::decode_exact(&bytes);
    }

    #[test]
    fn rlp_list_shaped_input_never_panics(
        head in prop_oneof![Just(0xf8u8), Just(0xf9), Just(0xfa), Just(0xff), 0xc0u8..0xf8],
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut input = vec![head];
        input.extend_from_slice(&bytes);
        let _ = Envelope::decode(&input, 1 << 20);
    }

    #[test]
    fn message_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = message::parse(&bytes);
    }

    #[test]
    fn decryptors_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let sk = SecretKey::from_bytes(&[7u8; 32]).unwrap();
        let _ = ecies::decrypt(&sk, &bytes);
        let mut with_prefix = vec![4u8];
        with_prefix.extend_from_slice(&bytes);
        let _ = ecies::decrypt(&sk, &with_prefix);
        let k = SymKey::from_bytes(&[9u8; 32]).unwrap();
        let _ = symmetric::decrypt(&k, &bytes);
    }

    #[test]
    fn envelope_round_trip(
        expiry in any::<u32>(),
        ttl in any::<u32>(),
        topic in any::<[u8; 4]>(),
        data in proptest::collection::vec(any::<u8>(), 0..300),
        nonce in any::<u64>(),
    ) {
        let env = Envelope { expiry, ttl, topic: Topic(topic), data, nonce };
        let bytes = env.encode();
        prop_assert_eq!(Envelope::decode(&bytes, 1 << 20), Ok(env));
    }

    #[test]
    fn content_topics_are_checked_without_panicking(
        s in "(/|[a-z0-9.]{0,3}){0,8}",
        bytes in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        if let Ok(t) = ContentTopic::new(s.as_str()) {
            prop_assert_eq!(t.as_str(), s.as_str());
            prop_assert!(s.starts_with('/'));
        }
        let _ = ContentTopic::new(String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn status_content_topics_are_content_topics(topic in any::<[u8; 4]>()) {
        let t = ContentTopic::from_topic(&Topic(topic));
        prop_assert_eq!(ContentTopic::new(t.as_str()), Ok(t.clone()));
        prop_assert_eq!(t.status_topic(), Some(Topic(topic)));
    }
}
