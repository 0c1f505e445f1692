//! Accounts: a BIP39 mnemonic, the identity key derived from it, and an installation id.
//!
//! The derivation (the one Status uses for the chat key) is:
//!
//! 1. the 12-word English BIP39 mnemonic encodes 16 bytes of entropy;
//! 2. seed = BIP39 `PBKDF2-HMAC-SHA512(mnemonic, "mnemonic" ‖ passphrase, 2048)` with an
//!    **empty passphrase** (64 bytes);
//! 3. BIP32 master key from the seed, then the hardened/normal path
//!    [`STATUS_CHAT_KEY_PATH`] = `m/43'/60'/1581'/0'/0` (EIP-1581, the "whisper" key);
//! 4. the resulting secp256k1 private key is the identity key.
//!
//! Recovering from the mnemonic yields the same identity key and a **new** installation
//! id: a recovered account is a new device of the same person.

use core::fmt;

use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{CryptoError, RandomSource, SecretBytes};
use zeroize::{Zeroize, Zeroizing};

use crate::keys::{IdentityKeyPair, InstallationId};

/// The BIP32 path of Status's chat (identity) key, EIP-1581 whisper key.
pub const STATUS_CHAT_KEY_PATH: &str = "m/43'/60'/1581'/0'/0";

/// Number of words of an account mnemonic.
pub const MNEMONIC_WORDS: usize = 12;

/// Bytes of entropy behind a 12-word mnemonic.
pub const MNEMONIC_ENTROPY_LEN: usize = 16;

/// Why an account could not be created or recovered.
///
/// What a user typing a phrase gets back:
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{Account, AccountError};
/// let recover = |phrase: &str| Account::recover(phrase, &mut OsRandom).err();
/// // Twelve valid words whose checksum does not match.
/// assert_eq!(recover(&["abandon"; 12].join(" ")), Some(AccountError::BadChecksum));
/// let typo = format!("{} abuot", ["abandon"; 11].join(" "));
/// assert_eq!(recover(&typo), Some(AccountError::UnknownWord { position: 12 }));
/// assert_eq!(recover(""), Some(AccountError::WrongWordCount { expected: 12, actual: 0 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The phrase does not have exactly [`MNEMONIC_WORDS`] words.
    #[error("a recovery phrase has {expected} words, this one has {actual}")]
    WrongWordCount {
        /// Words required.
        expected: usize,
        /// Words given.
        actual: usize,
    },
    /// A word is not in the BIP39 English word list.
    #[error("word {position} of the recovery phrase is not in the BIP39 English word list")]
    UnknownWord {
        /// 1-based position of the word in the phrase.
        position: usize,
    },
    /// Every word is valid but the checksum does not match: a word is wrong or misplaced.
    #[error("the recovery phrase's checksum does not match (a word is wrong or out of order)")]
    BadChecksum,
    /// BIP32 derivation failed (astronomically unlikely for a valid seed).
    #[error("key derivation failed: {0}")]
    Derivation(String),
    /// The randomness source or a key constructor failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// A 12-word English BIP39 mnemonic: the account's secret recovery phrase.
///
/// Zeroized on drop and redacted in `Debug`; read it only through [`Mnemonic::phrase`].
///
/// ```
/// use pfs_x3dh::Mnemonic;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let m = Mnemonic::from_entropy(&[0; 16])?;
/// assert!(m.phrase().starts_with("abandon abandon"));
/// assert!(!format!("{m:?}").contains("abandon")); // never logged
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Mnemonic {
    inner: bip39::Mnemonic,
    phrase: Zeroizing<String>,
}

impl Mnemonic {
    /// Encodes 16 bytes of entropy as a 12-word phrase.
    ///
    /// ```
    /// use pfs_x3dh::Mnemonic;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The first BIP39 test vector (all-zero entropy) and its seed for the empty passphrase.
    /// let m = Mnemonic::from_entropy(&[0; 16])?;
    /// assert_eq!(m.phrase(), format!("{}about", "abandon ".repeat(11)));
    /// assert_eq!(
    ///     hex::encode(m.to_seed("").expose()),
    ///     "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1\
    ///      9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_entropy(entropy: &[u8; MNEMONIC_ENTROPY_LEN]) -> Result<Self, AccountError> {
        let inner = bip39::Mnemonic::from_entropy_in(bip39::Language::English, entropy)
            .map_err(|e| AccountError::Derivation(e.to_string()))?;
        Ok(Self::wrap(inner))
    }

    /// Draws 16 bytes of entropy from `rng` (`fill_bytes`) and encodes them.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{MNEMONIC_WORDS, Mnemonic};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let m = Mnemonic::generate(&mut OsRandom)?;
    /// assert_eq!(m.phrase().split(' ').count(), MNEMONIC_WORDS);
    /// // What the user writes down parses back to the same identity.
    /// assert_eq!(Mnemonic::parse(m.phrase())?.identity()?, m.identity()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn generate(rng: &mut dyn RandomSource) -> Result<Self, AccountError> {
        let mut entropy = Zeroizing::new([0u8; MNEMONIC_ENTROPY_LEN]);
        rng.fill_bytes(entropy.as_mut())?;
        Self::from_entropy(&entropy)
    }

    /// Parses a phrase typed by a person: words separated by any whitespace, any case.
    /// Errors name the first word not in the list (by position) before the checksum is
    /// checked.
    ///
    /// ```
    /// use pfs_x3dh::{AccountError, Mnemonic};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The BIP39 vector for entropy 7f × 16, typed carelessly.
    /// let s = "  Legal winner thank year wave sausage\n worth useful legal winner thank YELLOW ";
    /// let want = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    /// assert_eq!(Mnemonic::parse(s)?.phrase(), want);
    /// assert_eq!(Mnemonic::from_entropy(&[0x7f; 16])?.phrase(), want);
    ///
    /// let ok = format!("{}about", "abandon ".repeat(11));
    /// let typo = ok.replacen("abandon", "abandn", 1);
    /// assert_eq!(
    ///     Mnemonic::parse(&typo).err(),
    ///     Some(AccountError::UnknownWord { position: 1 })
    /// );
    /// let swapped = ok.replace("about", "abandon"); // all words valid, checksum wrong
    /// assert_eq!(
    ///     Mnemonic::parse(&swapped).err(),
    ///     Some(AccountError::BadChecksum)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(phrase: &str) -> Result<Self, AccountError> {
        let lang = bip39::Language::English;
        let words: Vec<Zeroizing<String>> = phrase
            .split_whitespace()
            .map(|w| Zeroizing::new(w.to_lowercase()))
            .collect();
        if words.len() != MNEMONIC_WORDS {
            return Err(AccountError::WrongWordCount {
                expected: MNEMONIC_WORDS,
                actual: words.len(),
            });
        }
        for (i, w) in words.iter().enumerate() {
            if lang.find_word(w).is_none() {
                return Err(AccountError::UnknownWord { position: i + 1 });
            }
        }
        let mut joined = Zeroizing::new(String::new());
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                joined.push(' ');
            }
            joined.push_str(w);
        }
        let inner = bip39::Mnemonic::parse_in_normalized(lang, &joined).map_err(|e| match e {
            bip39::Error::InvalidChecksum => AccountError::BadChecksum,
            bip39::Error::UnknownWord(i) => AccountError::UnknownWord { position: i + 1 },
            bip39::Error::BadWordCount(n) => AccountError::WrongWordCount {
                expected: MNEMONIC_WORDS,
                actual: n,
            },
            other => AccountError::Derivation(other.to_string()),
        })?;
        Ok(Self::wrap(inner))
    }

    fn wrap(inner: bip39::Mnemonic) -> Self {
        let mut phrase = Zeroizing::new(String::new());
        for (i, w) in inner.words().enumerate() {
            if i > 0 {
                phrase.push(' ');
            }
            phrase.push_str(w);
        }
        Self { inner, phrase }
    }

    /// The phrase: 12 lowercase words separated by single spaces. This is the account's
    /// master secret: show it to its owner only.
    ///
    /// ```
    /// use pfs_x3dh::Mnemonic;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The BIP39 (Trezor) vector for 16 zero bytes of entropy.
    /// let expected = format!("{} about", ["abandon"; 11].join(" "));
    /// assert_eq!(Mnemonic::from_entropy(&[0; 16])?.phrase(), expected);
    /// # Ok(())
    /// # }
    /// ```
    pub fn phrase(&self) -> &str {
        &self.phrase
    }

    /// The BIP39 seed for `passphrase` (NFKD-normalised). Status uses the empty
    /// passphrase.
    ///
    /// ```
    /// use pfs_x3dh::Mnemonic;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The Trezor BIP39 vector for all-zero entropy with the passphrase "TREZOR".
    /// let seed = Mnemonic::from_entropy(&[0; 16])?.to_seed("TREZOR");
    /// assert_eq!(
    ///     hex::encode(seed.expose()),
    ///     "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e5349553\
    ///      1f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_seed(&self, passphrase: &str) -> SecretBytes<64> {
        let mut seed = self.inner.to_seed(passphrase);
        let out = SecretBytes::new(seed);
        seed.zeroize();
        out
    }

    /// The identity key this mnemonic derives (see the module documentation).
    ///
    /// ```
    /// use pfs_x3dh::{Mnemonic, STATUS_CHAT_KEY_PATH, derive_secp256k1};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let m = Mnemonic::from_entropy(&[7; 16])?;
    /// let by_hand = derive_secp256k1(m.to_seed("").expose(), "m/43'/60'/1581'/0'/0")?;
    /// assert_eq!(m.identity()?.public(), &by_hand.public_key());
    /// assert_eq!(STATUS_CHAT_KEY_PATH, "m/43'/60'/1581'/0'/0");
    /// # Ok(())
    /// # }
    /// ```
    pub fn identity(&self) -> Result<IdentityKeyPair, AccountError> {
        let seed = self.to_seed("");
        derive_secp256k1(seed.expose(), STATUS_CHAT_KEY_PATH).map(IdentityKeyPair::from_secret)
    }
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mnemonic(<redacted>)")
    }
}

/// BIP32 derivation of a secp256k1 private key from `seed` (16, 32 or 64 bytes) along
/// `path` (e.g. `m/0'/1/2'`). This is the helper the account derivation uses.
///
/// ```
/// use pfs_x3dh::{AccountError, derive_secp256k1};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // BIP32 test vector 1, chain m/0H/1/2H/2/1000000000.
/// let seed = hex::decode("000102030405060708090a0b0c0d0e0f")?;
/// let key = derive_secp256k1(&seed, "m/0'/1/2'/2/1000000000")?;
/// assert_eq!(
///     hex::encode(key.public_key().to_compressed()),
///     "022a471424da5e657499d1ff51cb43c47481a03b1e77f951fe64cec9f5a48f7011"
/// );
/// assert!(matches!(
///     derive_secp256k1(&seed, "not a path"),
///     Err(AccountError::Derivation(_))
/// ));
/// # Ok(())
/// # }
/// ```
pub fn derive_secp256k1(seed: &[u8], path: &str) -> Result<SecretKey, AccountError> {
    let path: bip32::DerivationPath = path
        .parse()
        .map_err(|e: bip32::Error| AccountError::Derivation(e.to_string()))?;
    let xprv = bip32::XPrv::derive_from_path(seed, &path)
        .map_err(|e| AccountError::Derivation(e.to_string()))?;
    let mut bytes = xprv.private_key().to_bytes();
    let key = SecretKey::from_bytes(bytes.as_slice());
    bytes.as_mut_slice().zeroize();
    Ok(key?)
}

/// An account on this device: the identity key and this installation's id.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{Account, Mnemonic};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mnemonic = Mnemonic::from_entropy(&[0; 16])?;
/// let a = Account::from_mnemonic(&mnemonic, &mut OsRandom)?;
/// let b = Account::from_mnemonic(&mnemonic, &mut OsRandom)?;
/// assert_eq!(a.identity(), b.identity()); // one person
/// assert_ne!(a.installation_id(), b.installation_id()); // two devices
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Account {
    identity: IdentityKeyPair,
    installation_id: InstallationId,
}

impl Account {
    /// Creates a new account: draws 16 bytes of mnemonic entropy from `rng`, then 16
    /// bytes for the installation id (both with `fill_bytes`, in that order). Returns the
    /// mnemonic so that it can be shown to the user once.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::Account;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (account, mnemonic) = Account::create(&mut OsRandom)?;
    /// assert_eq!(mnemonic.identity()?, *account.identity());
    /// assert_eq!(account.public_key(), account.identity().public());
    /// assert_eq!(account.installation_id().as_str().len(), 36); // a UUID
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(rng: &mut dyn RandomSource) -> Result<(Self, Mnemonic), AccountError> {
        let mnemonic = Mnemonic::generate(rng)?;
        let account = Self::from_mnemonic(&mnemonic, rng)?;
        Ok((account, mnemonic))
    }

    /// Recovers an account from its phrase: the same identity key, a new installation id
    /// (16 bytes drawn from `rng`).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{Account, AccountError};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (phone, mnemonic) = Account::create(&mut OsRandom)?;
    /// let laptop = Account::recover(mnemonic.phrase(), &mut OsRandom)?;
    /// assert_eq!(laptop.public_key(), phone.public_key()); // the same person
    /// assert_ne!(laptop.installation_id(), phone.installation_id()); // another device
    ///
    /// let short = Account::recover("abandon abandon", &mut OsRandom);
    /// assert_eq!(
    ///     short.err(),
    ///     Some(AccountError::WrongWordCount {
    ///         expected: 12,
    ///         actual: 2
    ///     })
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn recover(phrase: &str, rng: &mut dyn RandomSource) -> Result<Self, AccountError> {
        let mnemonic = Mnemonic::parse(phrase)?;
        Self::from_mnemonic(&mnemonic, rng)
    }

    /// Derives the identity from `mnemonic` and generates a new installation id.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{Account, Mnemonic};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mnemonic = Mnemonic::from_entropy(&[7; 16])?;
    /// let a = Account::from_mnemonic(&mnemonic, &mut OsRandom)?;
    /// let b = Account::from_mnemonic(&mnemonic, &mut OsRandom)?;
    /// assert_eq!(a.identity(), b.identity()); // the identity comes from the phrase only
    /// assert_ne!(a.installation_id(), b.installation_id());
    /// assert_eq!(a.identity(), &mnemonic.identity()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_mnemonic(
        mnemonic: &Mnemonic,
        rng: &mut dyn RandomSource,
    ) -> Result<Self, AccountError> {
        let identity = mnemonic.identity()?;
        let installation_id = InstallationId::generate(rng)?;
        Ok(Self {
            identity,
            installation_id,
        })
    }

    /// An account from stored parts.
    ///
    /// ```
    /// use pfs_x3dh::{Account, IdentityKeyPair, InstallationId};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::from_bytes(&[0x42; 32])?;
    /// let account = Account::from_parts(identity.clone(), "desktop-1".parse()?);
    /// assert_eq!(account.identity(), &identity);
    /// assert_eq!(
    ///     account.installation_id(),
    ///     &InstallationId::new("desktop-1")?
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_parts(identity: IdentityKeyPair, installation_id: InstallationId) -> Self {
        Self {
            identity,
            installation_id,
        }
    }

    /// The identity key pair.
    ///
    /// ```
    /// use pfs_x3dh::{Account, IdentityKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::from_bytes(&[0x42; 32])?;
    /// let account = Account::from_parts(identity.clone(), "phone".parse()?);
    /// assert_eq!(account.identity(), &identity);
    /// # Ok(())
    /// # }
    /// ```
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// The public identity key (the chat key).
    ///
    /// ```
    /// use pfs_crypto::secp256k1::SecretKey;
    /// use pfs_x3dh::{Account, IdentityKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::from_bytes(&[0x42; 32])?;
    /// let account = Account::from_parts(identity, "phone".parse()?);
    /// assert_eq!(account.public_key(), &SecretKey::from_bytes(&[0x42; 32])?.public_key());
    /// # Ok(())
    /// # }
    /// ```
    pub fn public_key(&self) -> &PublicKey {
        self.identity.public()
    }

    /// This installation's id.
    ///
    /// ```
    /// use pfs_x3dh::{Account, IdentityKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = IdentityKeyPair::from_bytes(&[0x42; 32])?;
    /// let account = Account::from_parts(identity, "phone".parse()?);
    /// assert_eq!(account.installation_id().as_str(), "phone");
    /// # Ok(())
    /// # }
    /// ```
    pub fn installation_id(&self) -> &InstallationId {
        &self.installation_id
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("identity", &self.identity)
            .field("installation_id", &self.installation_id)
            .finish()
    }
}
