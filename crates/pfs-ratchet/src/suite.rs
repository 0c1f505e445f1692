//! The primitives of a ratchet suite, behind an object-safe trait.
//!
//! Both suites share `KDF_RK`, `KDF_CK`, the AEAD and the header encoding (the strings are
//! those of status-go's `EthereumCrypto` and of the doubleratchet library's
//! `DefaultCrypto`); they differ in the Diffie-Hellman group.

use crate::RatchetError;
use crate::keys::{ChainKey, DhKeyPair, HeaderKey, MessageKey, RootKey};
use crate::state::Header;
use pfs_crypto::cipher::aes256_ctr_apply;
use pfs_crypto::kdf::{hkdf_sha256_secret, hmac_sha256_parts, hmac_sha256_verify};
use pfs_crypto::kdf_cached::{hkdf_sha256_zero_salt, hmac_sha256_pair};
use pfs_crypto::{RandomSource, SecretBytes, secp256k1, x25519};
use serde::{Deserialize, Serialize};

/// HKDF `info` of `KDF_RK`.
pub const KDF_RK_INFO: &[u8] = b"rsZUpEuXUqqwXBvSy3EcievAh4cMj6QL";
/// HKDF `info` of the AEAD key derivation.
pub const AEAD_INFO: &[u8] = b"pcwSByyx2CRdryCffXJwy7xgVZWtW5Sh";
/// HKDF `info` of the spec suite's initial root and chain keys (see `docs/ratchet-suites.md`).
pub const SPEC_INITIAL_CHAIN_INFO: &[u8] = b"pfs spec suite v1 initial chain";
/// Shortest AEAD output: a 16-byte IV and a 32-byte tag around an empty ciphertext.
pub const MIN_CIPHERTEXT_LEN: usize = IV_LEN + TAG_LEN;

const IV_LEN: usize = 16;
const TAG_LEN: usize = 32;
const CK_NEXT: u8 = 0x0f;
const CK_MESSAGE: u8 = 0x10;

/// Which suite a session uses.
///
/// The suite follows from the length of a ratchet key:
///
/// ```
/// use pfs_ratchet::{SuiteId, suite_for_key_len};
/// assert_eq!(suite_for_key_len(33).map(|s| s.id()), Some(SuiteId::StatusGo));
/// assert_eq!(suite_for_key_len(32).map(|s| s.id()), Some(SuiteId::Spec));
/// assert!(SuiteId::StatusGo < SuiteId::Spec);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SuiteId {
    /// status-go: secp256k1 ratchet keys, 33-byte compressed on the wire.
    StatusGo,
    /// The specification's suite: X25519 ratchet keys, 32 bytes on the wire.
    Spec,
}

/// The primitives of a Double Ratchet suite. Object safe: used as `&dyn Suite`.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{Suite, SuiteId, suite};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// fn agree(s: &dyn Suite) -> Result<bool, Box<dyn std::error::Error>> {
///     let (a, b) = (s.generate_keypair(&mut OsRandom)?, s.generate_keypair(&mut OsRandom)?);
///     Ok(s.dh(&a, &b.public)? == s.dh(&b, &a.public)?)
/// }
/// assert!(agree(suite(SuiteId::StatusGo))? && agree(suite(SuiteId::Spec))?);
/// # Ok(())
/// # }
/// ```
pub trait Suite: Send + Sync {
    /// The suite's identifier.
    ///
    /// ```
    /// use pfs_ratchet::{SpecSuite, StatusGoSuite, Suite, SuiteId, suite};
    /// assert_eq!(StatusGoSuite.id(), SuiteId::StatusGo);
    /// assert_eq!(SpecSuite.id(), SuiteId::Spec);
    /// assert_eq!(suite(SuiteId::Spec).id(), SuiteId::Spec);
    /// ```
    fn id(&self) -> SuiteId;

    /// Length of a ratchet public key on the wire (33 or 32).
    ///
    /// ```
    /// use pfs_ratchet::{SpecSuite, StatusGoSuite, Suite};
    /// assert_eq!(StatusGoSuite.public_key_len(), 33); // compressed secp256k1
    /// assert_eq!(SpecSuite.public_key_len(), 32); // X25519
    /// ```
    fn public_key_len(&self) -> usize;

    /// Generates a ratchet key pair, consuming exactly one key from `rng`
    /// (`secp256k1_secret` or `x25519_secret`, plus redraws of invalid scalars).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{SuiteId, suite};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// for id in [SuiteId::StatusGo, SuiteId::Spec] {
    ///     let s = suite(id);
    ///     let (a, b) = (
    ///         s.generate_keypair(&mut OsRandom)?,
    ///         s.generate_keypair(&mut OsRandom)?,
    ///     );
    ///     assert_eq!(a.public.len(), s.public_key_len());
    ///     // Diffie-Hellman agrees in both directions.
    ///     assert_eq!(s.dh(&a, &b.public)?, s.dh(&b, &a.public)?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    fn generate_keypair(&self, rng: &mut dyn RandomSource) -> Result<DhKeyPair, RatchetError>;

    /// Diffie-Hellman of our pair with their public key as on the wire.
    ///
    /// The spec suite's DH is X25519: RFC 7748 section 6.1, Alice's secret with Bob's public key.
    ///
    /// ```
    /// use pfs_ratchet::{DhKeyPair, RatchetError, SecretBytes, SpecSuite, Suite};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let alice = DhKeyPair {
    ///     secret: SecretBytes::from_slice(
    ///         "secret",
    ///         &hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")?,
    ///     )?,
    ///     public: hex::decode(
    ///         "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    ///     )?,
    /// };
    /// let bob = hex::decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")?;
    /// assert_eq!(
    ///     hex::encode(SpecSuite.dh(&alice, &bob)?.expose()),
    ///     "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    /// );
    /// let short = SpecSuite.dh(&alice, &bob[..31]);
    /// assert!(matches!(short, Err(RatchetError::InvalidKeyLength { actual: 31, .. })));
    /// # Ok(())
    /// # }
    /// ```
    fn dh(&self, ours: &DhKeyPair, theirs: &[u8]) -> Result<SecretBytes<32>, RatchetError>;

    /// `KDF_RK`: HKDF-SHA256(IKM = dh_out, salt = rk, info = [`KDF_RK_INFO`], 96 bytes)
    /// split as root ‖ chain ‖ header key.
    ///
    /// ```
    /// use pfs_crypto::kdf::hkdf_sha256;
    /// use pfs_ratchet::{KDF_RK_INFO, RootKey, SecretBytes, SuiteId, suite};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (rk, dh_out) = (RootKey::from_bytes([1; 32]), SecretBytes::new([2; 32]));
    /// let (root, chain, header) = suite(SuiteId::StatusGo).kdf_rk(&rk, &dh_out)?;
    /// let mut okm = [0u8; 96];
    /// hkdf_sha256(&[1; 32], &[2; 32], KDF_RK_INFO, &mut okm)?;
    /// assert_eq!(root.expose()[..], okm[..32]);
    /// assert_eq!(chain.expose()[..], okm[32..64]);
    /// assert_eq!(header.expose()[..], okm[64..]);
    /// # Ok(())
    /// # }
    /// ```
    fn kdf_rk(
        &self,
        rk: &RootKey,
        dh_out: &SecretBytes<32>,
    ) -> Result<(RootKey, ChainKey, HeaderKey), RatchetError> {
        kdf_rk(rk, dh_out)
    }

    /// `KDF_CK`: next chain key = HMAC-SHA256(ck, 0x0f), message key = HMAC-SHA256(ck, 0x10).
    ///
    /// ```
    /// use pfs_crypto::kdf::hmac_sha256;
    /// use pfs_ratchet::{ChainKey, SuiteId, suite};
    /// let ck = ChainKey::from_bytes([0x42; 32]);
    /// let (next, mk) = suite(SuiteId::Spec).kdf_ck(&ck);
    /// assert_eq!(next.expose(), &hmac_sha256(&[0x42; 32], &[0x0f]));
    /// assert_eq!(mk.expose(), &hmac_sha256(&[0x42; 32], &[0x10]));
    /// ```
    fn kdf_ck(&self, ck: &ChainKey) -> (ChainKey, MessageKey) {
        kdf_ck(ck)
    }

    /// The AEAD: `iv ‖ AES-256-CTR(enc, iv, pt) ‖ HMAC-SHA256(auth, ad ‖ iv ‖ ct)` with
    /// `enc ‖ auth ‖ iv` = HKDF-SHA256(IKM = mk, salt = 32 zero bytes, info = [`AEAD_INFO`], 80).
    ///
    /// ```
    /// use pfs_crypto::{cipher::aes256_ctr_apply, kdf};
    /// use pfs_ratchet::{AEAD_INFO, MessageKey, SuiteId, suite};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let out =
    ///     suite(SuiteId::StatusGo).encrypt(&MessageKey::from_bytes([8; 32]), b"hello", b"ad")?;
    /// // The same bytes by hand from the construction above.
    /// let mut keys = [0u8; 80];
    /// kdf::hkdf_sha256(&[0; 32], &[8; 32], AEAD_INFO, &mut keys)?;
    /// let (enc, auth, iv) = (&keys[..32], &keys[32..64], &keys[64..]);
    /// let mut ct = *b"hello";
    /// aes256_ctr_apply(enc.try_into()?, iv.try_into()?, &mut ct);
    /// let body = [iv, &ct[..]].concat();
    /// let tag = kdf::hmac_sha256_parts(auth, &[b"ad", &body]);
    /// assert_eq!(out, [&body[..], &tag].concat());
    /// # Ok(())
    /// # }
    /// ```
    fn encrypt(
        &self,
        mk: &MessageKey,
        plaintext: &[u8],
        ad: &[u8],
    ) -> Result<Vec<u8>, RatchetError> {
        aead_encrypt(mk, plaintext, ad)
    }

    /// Inverse of [`Suite::encrypt`]: rejects inputs shorter than 48 bytes, verifies the full
    /// tag in constant time before decrypting, and uses the IV taken from the input.
    ///
    /// ```
    /// use pfs_ratchet::{MIN_CIPHERTEXT_LEN, MessageKey, RatchetError, SuiteId, suite};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (s, mk) = (suite(SuiteId::Spec), MessageKey::from_bytes([8; 32]));
    /// let mut ct = s.encrypt(&mk, b"hello", b"ad")?;
    /// assert_eq!(s.decrypt(&mk, &ct, b"ad")?, b"hello");
    /// assert_eq!(
    ///     s.decrypt(&mk, &ct, b"da"),
    ///     Err(RatchetError::AuthenticationFailed)
    /// );
    /// ct[0] ^= 1; // the IV is authenticated too
    /// assert_eq!(
    ///     s.decrypt(&mk, &ct, b"ad"),
    ///     Err(RatchetError::AuthenticationFailed)
    /// );
    /// let short = s.decrypt(&mk, &ct[..MIN_CIPHERTEXT_LEN - 1], b"ad");
    /// assert_eq!(short, Err(RatchetError::CiphertextTooShort { len: 47 }));
    /// # Ok(())
    /// # }
    /// ```
    fn decrypt(
        &self,
        mk: &MessageKey,
        ciphertext: &[u8],
        ad: &[u8],
    ) -> Result<Vec<u8>, RatchetError> {
        aead_decrypt(mk, ciphertext, ad)
    }

    /// Appends `LE32(n) ‖ LE32(pn) ‖ key` to `out`.
    ///
    /// ```
    /// use pfs_ratchet::{Header, SuiteId, suite};
    /// let header = Header {
    ///     key: vec![0xaa; 2],
    ///     n: 1,
    ///     pn: 258,
    /// };
    /// let mut out = b"ad".to_vec();
    /// suite(SuiteId::StatusGo).encode_header(&header, &mut out);
    /// assert_eq!(out, [b'a', b'd', 1, 0, 0, 0, 2, 1, 0, 0, 0xaa, 0xaa]);
    /// ```
    fn encode_header(&self, header: &Header, out: &mut Vec<u8>) {
        out.extend_from_slice(&header.n.to_le_bytes());
        out.extend_from_slice(&header.pn.to_le_bytes());
        out.extend_from_slice(&header.key);
    }
}

/// The status-go suite: secp256k1 ECDH (x-coordinate), 33-byte compressed keys.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{StatusGoSuite, Suite, SuiteId};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!((StatusGoSuite.id(), StatusGoSuite.public_key_len()), (SuiteId::StatusGo, 33));
/// let pair = StatusGoSuite.generate_keypair(&mut OsRandom)?;
/// assert!(matches!(pair.public[0], 2 | 3)); // SEC1 compressed
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusGoSuite;

/// The specification's suite: X25519 ratchet keys.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{RatchetError, SpecSuite, Suite, SuiteId};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!((SpecSuite.id(), SpecSuite.public_key_len()), (SuiteId::Spec, 32));
/// let pair = SpecSuite.generate_keypair(&mut OsRandom)?;
/// // A 33-byte key is a status-go key, not one of this suite.
/// assert!(matches!(SpecSuite.dh(&pair, &[2; 33]), Err(RatchetError::InvalidKeyLength { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SpecSuite;

static STATUS_GO: StatusGoSuite = StatusGoSuite;
static SPEC: SpecSuite = SpecSuite;

/// The suite for an identifier.
///
/// ```
/// use pfs_ratchet::{SuiteId, suite};
/// assert_eq!(suite(SuiteId::StatusGo).id(), SuiteId::StatusGo);
/// assert_eq!(suite(SuiteId::StatusGo).public_key_len(), 33); // compressed secp256k1
/// assert_eq!(suite(SuiteId::Spec).public_key_len(), 32); // X25519
/// ```
pub fn suite(id: SuiteId) -> &'static dyn Suite {
    match id {
        SuiteId::StatusGo => &STATUS_GO,
        SuiteId::Spec => &SPEC,
    }
}

/// The suite whose ratchet public keys have `len` bytes (33: status-go, 32: spec).
///
/// ```
/// use pfs_ratchet::{SuiteId, suite_for_key_len};
/// assert_eq!(
///     suite_for_key_len(33).map(|s| s.id()),
///     Some(SuiteId::StatusGo)
/// );
/// assert_eq!(suite_for_key_len(32).map(|s| s.id()), Some(SuiteId::Spec));
/// assert!(suite_for_key_len(65).is_none());
/// ```
pub fn suite_for_key_len(len: usize) -> Option<&'static dyn Suite> {
    match len {
        secp256k1::COMPRESSED_LEN => Some(&STATUS_GO),
        x25519::PUBLIC_LEN => Some(&SPEC),
        _ => None,
    }
}

fn check_len(suite: SuiteId, expected: usize, actual: usize) -> Result<(), RatchetError> {
    if expected == actual {
        Ok(())
    } else {
        Err(RatchetError::InvalidKeyLength {
            suite,
            expected,
            actual,
        })
    }
}

impl Suite for StatusGoSuite {
    fn id(&self) -> SuiteId {
        SuiteId::StatusGo
    }

    fn public_key_len(&self) -> usize {
        secp256k1::COMPRESSED_LEN
    }

    fn generate_keypair(&self, rng: &mut dyn RandomSource) -> Result<DhKeyPair, RatchetError> {
        let sk = secp256k1::SecretKey::generate(rng)?;
        Ok(DhKeyPair {
            secret: sk.to_bytes(),
            public: sk.public_key().to_compressed().to_vec(),
        })
    }

    fn dh(&self, ours: &DhKeyPair, theirs: &[u8]) -> Result<SecretBytes<32>, RatchetError> {
        check_len(SuiteId::StatusGo, secp256k1::COMPRESSED_LEN, theirs.len())?;
        let pk = secp256k1::PublicKey::from_compressed(theirs)?;
        let sk = secp256k1::SecretKey::from_bytes(ours.secret.expose())?;
        Ok(sk.diffie_hellman(&pk))
    }
}

impl Suite for SpecSuite {
    fn id(&self) -> SuiteId {
        SuiteId::Spec
    }

    fn public_key_len(&self) -> usize {
        x25519::PUBLIC_LEN
    }

    fn generate_keypair(&self, rng: &mut dyn RandomSource) -> Result<DhKeyPair, RatchetError> {
        let sk = x25519::SecretKey::generate(rng)?;
        Ok(DhKeyPair {
            secret: sk.to_bytes(),
            public: sk.public_key().to_bytes().to_vec(),
        })
    }

    fn dh(&self, ours: &DhKeyPair, theirs: &[u8]) -> Result<SecretBytes<32>, RatchetError> {
        check_len(SuiteId::Spec, x25519::PUBLIC_LEN, theirs.len())?;
        let pk = x25519::PublicKey::from_bytes(theirs)?;
        let sk = x25519::SecretKey::from_bytes(ours.secret.expose())?;
        Ok(sk.diffie_hellman(&pk)?)
    }
}

/// Splits a 96-byte secret into three 32-byte secrets.
fn split3(okm: &SecretBytes<96>) -> Result<[SecretBytes<32>; 3], RatchetError> {
    let (a, rest) = okm.expose().split_at(32);
    let (b, c) = rest.split_at(32);
    Ok([
        SecretBytes::from_slice("kdf output", a)?,
        SecretBytes::from_slice("kdf output", b)?,
        SecretBytes::from_slice("kdf output", c)?,
    ])
}

pub(crate) fn kdf_rk(
    rk: &RootKey,
    dh_out: &SecretBytes<32>,
) -> Result<(RootKey, ChainKey, HeaderKey), RatchetError> {
    let okm = hkdf_sha256_secret::<96>(rk.expose(), dh_out.expose(), KDF_RK_INFO)?;
    let [r, c, h] = split3(&okm)?;
    Ok((RootKey::new(r), ChainKey::new(c), HeaderKey::new(h)))
}

pub(crate) fn kdf_ck(ck: &ChainKey) -> (ChainKey, MessageKey) {
    // one HMAC key schedule for both outputs
    let (next, mk) = hmac_sha256_pair(ck.expose(), &[CK_NEXT], &[CK_MESSAGE]);
    let (next, mk) = (SecretBytes::new(next), SecretBytes::new(mk));
    (ChainKey::new(next), MessageKey::new(mk))
}

/// The spec suite's initial keys: HKDF-SHA256(IKM = SK, salt = 32 zero bytes,
/// info = [`SPEC_INITIAL_CHAIN_INFO`], 64) split as root ‖ chain.
pub(crate) fn spec_initial(sk: &SecretBytes<32>) -> Result<(RootKey, ChainKey), RatchetError> {
    let okm = hkdf_sha256_zero_salt::<64>(sk.expose(), SPEC_INITIAL_CHAIN_INFO)?;
    let (a, b) = okm.expose().split_at(32);
    Ok((
        RootKey::new(SecretBytes::from_slice("kdf output", a)?),
        ChainKey::new(SecretBytes::from_slice("kdf output", b)?),
    ))
}

struct AeadKeys {
    enc: SecretBytes<32>,
    auth: SecretBytes<32>,
    iv: [u8; IV_LEN],
}

fn aead_keys(mk: &MessageKey) -> Result<AeadKeys, RatchetError> {
    let okm = hkdf_sha256_zero_salt::<80>(mk.expose(), AEAD_INFO)?;
    let (enc, rest) = okm.expose().split_at(32);
    let (auth, iv) = rest.split_at(32);
    let iv: [u8; IV_LEN] = iv
        .try_into()
        .map_err(|_| RatchetError::Crypto(pfs_crypto::CryptoError::KdfLength(80)))?;
    Ok(AeadKeys {
        enc: SecretBytes::from_slice("aead key", enc)?,
        auth: SecretBytes::from_slice("aead key", auth)?,
        iv,
    })
}

pub(crate) fn aead_encrypt(
    mk: &MessageKey,
    plaintext: &[u8],
    ad: &[u8],
) -> Result<Vec<u8>, RatchetError> {
    let keys = aead_keys(mk)?;
    let mut out = Vec::with_capacity(IV_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&keys.iv);
    out.extend_from_slice(plaintext);
    if let Some(body) = out.get_mut(IV_LEN..) {
        aes256_ctr_apply(keys.enc.expose(), &keys.iv, body);
    }
    let tag = hmac_sha256_parts(keys.auth.expose(), &[ad, &out]);
    out.extend_from_slice(&tag);
    Ok(out)
}

pub(crate) fn aead_decrypt(
    mk: &MessageKey,
    input: &[u8],
    ad: &[u8],
) -> Result<Vec<u8>, RatchetError> {
    if input.len() < MIN_CIPHERTEXT_LEN {
        return Err(RatchetError::CiphertextTooShort { len: input.len() });
    }
    let (authenticated, tag) = input.split_at(input.len() - TAG_LEN);
    let keys = aead_keys(mk)?;
    hmac_sha256_verify(keys.auth.expose(), &[ad, authenticated], tag)
        .map_err(|_| RatchetError::AuthenticationFailed)?;
    let (iv, ct) = authenticated.split_at(IV_LEN);
    let iv: [u8; IV_LEN] = iv
        .try_into()
        .map_err(|_| RatchetError::CiphertextTooShort { len: input.len() })?;
    let mut pt = ct.to_vec();
    aes256_ctr_apply(keys.enc.expose(), &iv, &mut pt);
    Ok(pt)
}
