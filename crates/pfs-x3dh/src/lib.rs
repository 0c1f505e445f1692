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
#![forbid(unsafe_code)]

pub mod account;
pub mod bundle;
pub mod contact;
pub mod keys;
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
pub use x3dh::{
    InitialMessageId, X3dhError, X3dhHeader, x3dh_initiate, x3dh_initiate_with_ephemeral,
    x3dh_respond, x3dh_respond_to_header,
};
