//! Accounts: BIP39 and BIP32 official test vectors through the helpers the account
//! derivation uses, and create/recover behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::ScriptedRng;
use pfs_x3dh::*;

/// BIP32 test vector 1 (bitcoin/bips bip-0032.mediawiki): seed 000102…0f, chain
/// m/0H/1/2H/2/1000000000.
#[test]
fn bip32_test_vector_1() {
    let seed = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
    let key = derive_secp256k1(&seed, "m/0'/1/2'/2/1000000000").unwrap();
    assert_eq!(
        hex::encode(key.to_bytes().expose()),
        "471b76e389e528d6de6d816857e012c5455051cad6660850e58372a6c3e6e7c8"
    );
    assert_eq!(
        hex::encode(key.public_key().to_compressed()),
        "022a471424da5e657499d1ff51cb43c47481a03b1e77f951fe64cec9f5a48f7011"
    );
    // m/0H/1/2H/2 of the same vector
    let key = derive_secp256k1(&seed, "m/0'/1/2'/2").unwrap();
    assert_eq!(
        hex::encode(key.to_bytes().expose()),
        "0f479245fb19a38a1954c5c7c0ebab2f9bdfd96a17563ef28a6a4b1a2a764ef4"
    );
}

#[test]
fn derivation_rejects_bad_input() {
    assert!(matches!(
        derive_secp256k1(&[0u8; 16], "not a path"),
        Err(AccountError::Derivation(_))
    ));
    assert!(matches!(
        derive_secp256k1(&[0u8; 7], "m/0"),
        Err(AccountError::Derivation(_))
    ));
}

/// Trezor BIP39 vectors (python-mnemonic vectors.json), first English case.
#[test]
fn bip39_trezor_vector() {
    let m = Mnemonic::from_entropy(&[0u8; 16]).unwrap();
    assert_eq!(
        m.phrase(),
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
    );
    assert_eq!(
        hex::encode(m.to_seed("TREZOR").expose()),
        "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
    );
    // Entropy 7f7f…7f → "legal winner thank year wave sausage worth useful legal winner thank yellow"
    let m = Mnemonic::from_entropy(&[0x7f; 16]).unwrap();
    assert_eq!(
        m.phrase(),
        "legal winner thank year wave sausage worth useful legal winner thank yellow"
    );
    assert_eq!(
        hex::encode(m.to_seed("TREZOR").expose()),
        "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607"
    );
}

#[test]
fn create_then_recover_gives_same_identity_new_installation() {
    let mut rng = ScriptedRng::with_bytes(&[7u8; 16]);
    let (account, mnemonic) = Account::create(&mut rng).unwrap();
    assert_eq!(mnemonic.phrase().split(' ').count(), 12);
    // 16 bytes of 0x07 entropy gave the mnemonic.
    assert_eq!(
        mnemonic.phrase(),
        Mnemonic::from_entropy(&[7u8; 16]).unwrap().phrase()
    );
    let recovered = Account::recover(mnemonic.phrase(), &mut rng).unwrap();
    assert_eq!(recovered.identity(), account.identity());
    assert_eq!(recovered.public_key(), account.public_key());
    assert_ne!(recovered.installation_id(), account.installation_id());
    // Messy input (case, extra whitespace) recovers the same identity.
    let messy = format!(
        "  {}\n",
        mnemonic.phrase().to_uppercase().replace(' ', "\t  ")
    );
    let again = Account::recover(&messy, &mut rng).unwrap();
    assert_eq!(again.identity(), account.identity());
    // The identity is the BIP32 key at Status's chat-key path of the empty-passphrase seed.
    let seed = mnemonic.to_seed("");
    let k = derive_secp256k1(seed.expose(), "m/43'/60'/1581'/0'/0").unwrap();
    assert_eq!(&k.public_key(), account.public_key());
    assert_eq!(STATUS_CHAT_KEY_PATH, "m/43'/60'/1581'/0'/0");
}

#[test]
fn recover_errors_are_typed() {
    let mut rng = ScriptedRng::default();
    let ok = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    assert!(Account::recover(ok, &mut rng).is_ok());
    assert_eq!(
        Account::recover("abandon abandon", &mut rng).unwrap_err(),
        AccountError::WrongWordCount {
            expected: 12,
            actual: 2
        }
    );
    let wrong_word = ok
        .replacen("abandon", "abandonn", 3)
        .replacen("abandonn", "abandon", 2);
    assert_eq!(
        Account::recover(&wrong_word, &mut rng).unwrap_err(),
        AccountError::UnknownWord { position: 3 }
    );
    let bad_checksum = ok.replace("about", "abandon");
    assert_eq!(
        Account::recover(&bad_checksum, &mut rng).unwrap_err(),
        AccountError::BadChecksum
    );
    let twenty_four = format!("{ok} {ok}");
    assert!(matches!(
        Account::recover(&twenty_four, &mut rng),
        Err(AccountError::WrongWordCount { actual: 24, .. })
    ));
    assert!(matches!(
        Account::recover("", &mut rng),
        Err(AccountError::WrongWordCount { actual: 0, .. })
    ));
}

#[test]
fn mnemonic_debug_is_redacted() {
    let m = Mnemonic::from_entropy(&[0u8; 16]).unwrap();
    let s = format!("{m:?}");
    assert!(!s.contains("abandon"));
    assert!(s.contains("redacted"));
    let a = Account::from_mnemonic(&m, &mut ScriptedRng::default()).unwrap();
    assert!(!format!("{a:?}").contains(&hex::encode(a.identity().secret().to_bytes().expose())));
}
