//! # pfs-x3dh: accounts, prekey bundles and X3DH (level 1)
//!
//! This layer owns the identity of an account (a secp256k1 key derived from a BIP39
//! mnemonic), the signed prekey bundles that advertise its installations, the contact
//! codes and QR codes that carry those bundles, and the X3DH key agreement without
//! one-time prekeys that turns a bundle into a shared secret. It builds on `pfs-crypto`
//! and `pfs-wire` and performs no I/O: time (nanoseconds since the Unix epoch, `i64`)
//! and randomness (`&mut dyn pfs_crypto::RandomSource`) are passed in; nothing here
//! reads the clock.
//!
//! * [`keys`]: the key roles ([`IdentityKeyPair`], [`SignedPreKeyPair`],
//!   [`EphemeralKeyPair`]) and [`InstallationId`].
//! * [`account`]: [`Mnemonic`] and [`Account`]. The identity key is derived as
//!   BIP39 (12 English words, 16 bytes of entropy) → seed with the **empty passphrase**
//!   → BIP32 at `m/43'/60'/1581'/0'/0` ([`STATUS_CHAT_KEY_PATH`], EIP-1581 whisper key,
//!   Status's chat key) → secp256k1 private key. Recovery gives the same identity and a
//!   new installation id.
//! * [`bundle`]: the status-go signature material, [`sign_bundle`], [`verify_bundle`]
//!   → [`VerifiedBundle`], and signed prekey rotation ([`spk_needs_rotation`], 24 h).
//! * [`contact`]: contact codes (standard base64 of the bundle protobuf) and their QR
//!   codes (terminal text, SVG, PNG).
//! * [`x3dh`]: [`x3dh_initiate`] / [`x3dh_respond`] and the replay id
//!   [`InitialMessageId`].
//!
//! ## Example
//!
//! Bob publishes a signed bundle as a contact code; Alice parses it and starts X3DH; Bob
//! answers her header with the secret of the signed prekey it names. Both get the same key.
//!
//! ```
//! use pfs_crypto::OsRandom;
//! use pfs_x3dh::{Account, BundleEntry, SignedPreKeyPair};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (alice, _) = Account::create(&mut OsRandom)?;
//! let (bob, _) = Account::create(&mut OsRandom)?;
//! let now_ns = 1_700_000_000_000_000_000;
//! let bob_spk = SignedPreKeyPair::generate(&mut OsRandom, 1, now_ns)?;
//! let entry = BundleEntry::own(bob.installation_id().clone(), &bob_spk, 1);
//! let code = pfs_x3dh::contact_code(&pfs_x3dh::sign_bundle(bob.identity(), &[entry], now_ns)?);
//!
//! let bundle = pfs_x3dh::parse_contact_code(&code)?; // signature checked
//! let spk = &bundle
//!     .entry(bob.installation_id().as_str())
//!     .ok_or("no entry")?
//!     .signed_pre_key;
//! let (alice_sk, header) =
//!     pfs_x3dh::x3dh_initiate(alice.identity(), bundle.identity(), spk, &mut OsRandom)?;
//!
//! let bob_sk =
//!     pfs_x3dh::x3dh_respond_to_header(bob.identity(), alice.public_key(), &header, |id| {
//!         (id == &bob_spk.id()).then(|| bob_spk.secret().clone())
//!     })?;
//! assert_eq!(alice_sk, bob_sk);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod account;
pub mod bundle;
pub mod contact;
pub mod keys;
pub mod public;
pub mod x3dh;

pub use account::{
    Account, AccountError, MNEMONIC_WORDS, Mnemonic, STATUS_CHAT_KEY_PATH, derive_secp256k1,
};
pub use bundle::{
    BUNDLE_REFRESH_INTERVAL_NS, BundleEntry, BundleError, VerifiedBundle,
    bundle_signature_material, sign_bundle, signature_material, spk_needs_rotation, verify_bundle,
};
pub use contact::{
    ContactCodeError, ContactCodeQr, MAX_CONTACT_CODE_LEN, QrError, contact_code, contact_code_qr,
    decode_contact_code, parse_contact_code,
};
pub use keys::{
    EphemeralKeyPair, IdentityKeyPair, InstallationId, InstallationIdError, SPK_ID_LEN,
    SignedPreKeyPair,
};
pub use public::{COMPRESSED_KEY_LEN, EphemeralKey, IdentityKey, SignedPreKey};
pub use x3dh::{
    InitialMessageId, X3dhError, X3dhHeader, x3dh_initiate, x3dh_initiate_with_ephemeral,
    x3dh_respond, x3dh_respond_to_header,
};
