//! 26/WAKU2-PAYLOAD version 1: the Whisper v6 message and its encryption, carried in
//! `WakuMessage.payload` with `version = 1`.
//!
//! ```text
//! plaintext = flags(1) ‖ size_field(1..3) ‖ payload ‖ padding(1..256) ‖ [signature(65)]
//! symmetric = AES-256-GCM(plaintext) ‖ tag(16) ‖ nonce(12)
//! ECIES     = R(65, 04‖X‖Y) ‖ IV(16) ‖ AES-128-CTR(plaintext) ‖ HMAC-SHA256(32)
//! ```
//!
//! The plaintext and both encryptions are byte-identical to Whisper v6's envelope `data`
//! (go-waku's `payload.go` is a copy of whisper's message code), so this module only
//! reuses [`message::build`]/[`message::parse`], [`symmetric`] and [`ecies`]: there is no
//! envelope, no RLP, no proof of work and no TTL. The signature is `R ‖ S ‖ V` with
//! `V ∈ {0,1}` (go-ethereum and js-waku; the spec text's 27/28 is not what they send).
//!
//! Differences from Whisper kept here on purpose:
//! * [`seal`] refuses an empty payload ([`PayloadError::EmptyPayload`]);
//! * sizes are bounded by the Waku relay limit ([`MAX_SEALED_LEN`]), not by the Whisper
//!   envelope limit.
//!
//! [`open`] parses exactly as whisper v1.6.1 does. In particular a flags byte whose size
//! bits are 0 opens as an empty payload, where js-waku's `postCipher` drops the message;
//! no implementation writes such a message (they all write a size field of at least one
//! byte, even for an empty payload).

use crate::ecies::{self, ECIES_OVERHEAD, EciesError};
use crate::envelope::{OpenKey, SealKey};
use crate::message::{self, MessageBuildError, MessageParseError};
use crate::symmetric::{self, SYMMETRIC_OVERHEAD, SymmetricError};
use crate::topic::ContentTopic;
use crate::waku::{DEFAULT_MAX_MESSAGE_SIZE, PAYLOAD_VERSION_1, WakuMessage};
use pfs_crypto::RandomSource;
use pfs_crypto::secp256k1::{PublicKey, RecoverableSignature, SecretKey};
use pfs_wire::Message as _;

/// Largest encrypted payload [`seal`] produces and [`open`] accepts: the default relay
/// limit of an encoded WakuMessage ([`DEFAULT_MAX_MESSAGE_SIZE`], 150 KiB), which the
/// payload alone can never exceed on a network that enforces it.
pub const MAX_SEALED_LEN: usize = DEFAULT_MAX_MESSAGE_SIZE;

/// Errors of sealing and opening a version 1 payload.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::payload::{self, MAX_SEALED_LEN};
/// use pfs_transport::{OpenKey, PayloadError, SealKey, SymKey};
///
/// let key = SymKey::from_bytes(&[7; 32])?;
/// assert_eq!(payload::seal(b"", None, SealKey::Symmetric(&key), &mut OsRandom), Err(PayloadError::EmptyPayload));
/// assert!(matches!(
///     payload::seal(&vec![1; MAX_SEALED_LEN], None, SealKey::Symmetric(&key), &mut OsRandom),
///     Err(PayloadError::TooLarge { max: MAX_SEALED_LEN, .. })
/// ));
/// assert!(matches!(payload::open(&[0; 10], OpenKey::Symmetric(&key)), Err(PayloadError::Symmetric(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// An empty payload is refused when sealing (a project rule: js-waku's `postCipher`
    /// drops a plaintext with a 0-byte size field, which whisper read as empty).
    #[error("refusing to seal an empty payload")]
    EmptyPayload,
    /// The encrypted payload would exceed, or exceeds, [`MAX_SEALED_LEN`].
    #[error("encrypted payload of {size} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// Length of the encrypted payload.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// The encoded WakuMessage would exceed the relay limit ([`DEFAULT_MAX_MESSAGE_SIZE`]).
    #[error("encoded WakuMessage of {size} bytes exceeds the relay limit of {max}")]
    MessageTooLarge {
        /// Length of the encoded message.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The WakuMessage is not a version 1 (26/WAKU2-PAYLOAD) message.
    #[error("WakuMessage version {version:?} is not 1 (26/WAKU2-PAYLOAD)")]
    WrongVersion {
        /// The message's `version` field (`None` when absent, which means 0).
        version: Option<u32>,
    },
    /// Building the plaintext failed.
    #[error("message: {0}")]
    Message(#[from] MessageBuildError),
    /// The decrypted plaintext is malformed (or its signature is invalid).
    #[error("message: {0}")]
    Parse(#[from] MessageParseError),
    /// Symmetric encryption or decryption failed (wrong key, tampered or truncated data).
    #[error("symmetric: {0}")]
    Symmetric(#[from] SymmetricError),
    /// ECIES encryption or decryption failed (wrong key, tampered or truncated data).
    #[error("asymmetric: {0}")]
    Ecies(#[from] EciesError),
}

/// An opened version 1 payload.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::{OpenKey, SealKey, SymKey, payload};
///
/// let key = SymKey::from_bytes(&[7; 32])?;
/// let sealed = payload::seal(b"hi", None, SealKey::Symmetric(&key), &mut OsRandom)?;
/// let opened = payload::open(&sealed, OpenKey::Symmetric(&key))?;
/// assert_eq!(opened.payload, b"hi");
/// // flags, size field, payload and padding fill one 256-byte block
/// assert_eq!(opened.padding.len(), 256 - 1 - 1 - 2);
/// assert_eq!((opened.signature, opened.signer), (None, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPayload {
    /// The application payload.
    pub payload: Vec<u8>,
    /// The padding (not checked).
    pub padding: Vec<u8>,
    /// The signature, when the message is signed.
    pub signature: Option<RecoverableSignature>,
    /// The signer recovered from the signature, when signed (`None` when unsigned).
    pub signer: Option<PublicKey>,
}

/// Length of the encrypted payload for a payload of `payload_len` bytes.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::ecies::ECIES_OVERHEAD;
/// use pfs_transport::symmetric::SYMMETRIC_OVERHEAD;
/// use pfs_transport::{SealKey, SymKey, payload};
///
/// let key = SymKey::from_bytes(&[7; 32])?;
/// assert_eq!(payload::sealed_len(2, false, SealKey::Symmetric(&key))?, 256 + SYMMETRIC_OVERHEAD);
/// let bob = SecretKey::generate(&mut OsRandom)?.public_key();
/// assert_eq!(payload::sealed_len(2, true, SealKey::Asymmetric(&bob))?, 256 + ECIES_OVERHEAD);
/// let sealed = payload::seal(b"hi", None, SealKey::Symmetric(&key), &mut OsRandom)?;
/// assert_eq!(sealed.len(), payload::sealed_len(2, false, SealKey::Symmetric(&key))?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sealed_len(
    payload_len: usize,
    signed: bool,
    key: SealKey<'_>,
) -> Result<usize, PayloadError> {
    let overhead = match key {
        SealKey::Symmetric(_) => SYMMETRIC_OVERHEAD,
        SealKey::Asymmetric(_) => ECIES_OVERHEAD,
    };
    Ok(message::message_len(payload_len, signed)? + overhead)
}

/// Builds, signs (if `signer` is given) and encrypts `payload`: the bytes of
/// `WakuMessage.payload`. Randomness is drawn in whisper's order: padding, then the GCM
/// nonce or the ECIES ephemeral key and IV.
///
/// # Examples
///
/// Symmetric, signed: the signer is recovered, a flipped byte is refused.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_transport::{OpenKey, PayloadError, SealKey, SymKey, payload};
///
/// let key = SymKey::from_bytes(&[7; 32])?;
/// let me = SecretKey::generate(&mut OsRandom)?;
/// let sealed = payload::seal(b"hello", Some(&me), SealKey::Symmetric(&key), &mut OsRandom)?;
/// let opened = payload::open(&sealed, OpenKey::Symmetric(&key))?;
/// assert_eq!(opened.payload, b"hello");
/// assert_eq!(opened.signer, Some(me.public_key()));
///
/// let mut tampered = sealed.clone();
/// tampered[0] ^= 1;
/// assert!(matches!(
///     payload::open(&tampered, OpenKey::Symmetric(&key)),
///     Err(PayloadError::Symmetric(_))
/// ));
/// assert_eq!(
///     payload::seal(b"", None, SealKey::Symmetric(&key), &mut OsRandom),
///     Err(PayloadError::EmptyPayload)
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Asymmetric (ECIES to the recipient's key), unsigned: only the recipient opens it.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_transport::{OpenKey, PayloadError, SealKey, payload};
///
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// let eve = SecretKey::generate(&mut OsRandom)?;
/// let sealed = payload::seal(b"for bob", None, SealKey::Asymmetric(&bob.public_key()), &mut OsRandom)?;
/// let opened = payload::open(&sealed, OpenKey::Asymmetric(&bob))?;
/// assert_eq!((opened.payload.as_slice(), opened.signer), (&b"for bob"[..], None));
/// assert!(matches!(
///     payload::open(&sealed, OpenKey::Asymmetric(&eve)),
///     Err(PayloadError::Ecies(_))
/// ));
/// let mut tampered = sealed;
/// *tampered.last_mut().ok_or("empty")? ^= 1;
/// assert!(payload::open(&tampered, OpenKey::Asymmetric(&bob)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn seal(
    payload: &[u8],
    signer: Option<&SecretKey>,
    key: SealKey<'_>,
    rng: &mut dyn RandomSource,
) -> Result<Vec<u8>, PayloadError> {
    if payload.is_empty() {
        return Err(PayloadError::EmptyPayload);
    }
    let size = sealed_len(payload.len(), signer.is_some(), key)?;
    if size > MAX_SEALED_LEN {
        return Err(PayloadError::TooLarge {
            size,
            max: MAX_SEALED_LEN,
        });
    }
    let raw = message::build(payload, signer, rng)?;
    Ok(match key {
        SealKey::Symmetric(k) => symmetric::encrypt(k, &raw, rng)?,
        SealKey::Asymmetric(pk) => ecies::encrypt(pk, &raw, rng)?,
    })
}

/// Decrypts and parses the bytes of `WakuMessage.payload` (at most [`MAX_SEALED_LEN`]).
/// A signed message's signer is recovered and returned; it is not compared with anything.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::{OpenKey, PayloadError, SealKey, SymKey, payload};
///
/// let key = SymKey::from_bytes(&[7; 32])?;
/// let sealed = payload::seal(b"hi", None, SealKey::Symmetric(&key), &mut OsRandom)?;
/// assert_eq!(payload::open(&sealed, OpenKey::Symmetric(&key))?.payload, b"hi");
/// let other = SymKey::from_bytes(&[8; 32])?;
/// assert!(matches!(payload::open(&sealed, OpenKey::Symmetric(&other)), Err(PayloadError::Symmetric(_))));
/// assert!(payload::open(&sealed[..20], OpenKey::Symmetric(&key)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open(data: &[u8], key: OpenKey<'_>) -> Result<OpenedPayload, PayloadError> {
    if data.len() > MAX_SEALED_LEN {
        return Err(PayloadError::TooLarge {
            size: data.len(),
            max: MAX_SEALED_LEN,
        });
    }
    let raw = match key {
        OpenKey::Symmetric(k) => symmetric::decrypt(k, data)?,
        OpenKey::Asymmetric(sk) => ecies::decrypt(sk, data)?,
    };
    let parsed = message::parse(&raw)?;
    Ok(OpenedPayload {
        payload: parsed.payload,
        padding: parsed.padding,
        signature: parsed.signature,
        signer: parsed.signer,
    })
}

/// [`seal`] into a WakuMessage: `version = Some(1)`, `timestamp = Some(timestamp_ns)`,
/// `ephemeral = Some(true)` only when `ephemeral` (otherwise `None`), no `meta` and no
/// rate-limit proof. Refuses a message whose encoding exceeds [`DEFAULT_MAX_MESSAGE_SIZE`].
///
/// # Examples
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::waku::PAYLOAD_VERSION_1;
/// use pfs_transport::{OpenKey, PayloadError, SealKey, SymKey, payload};
///
/// let key = SymKey::from_password("a shared password")?;
/// let topic = "/waku/1/0x01020304/rfc26".parse()?;
/// let msg = payload::seal_message(b"hi", None, SealKey::Symmetric(&key), topic, 42, false, &mut OsRandom)?;
/// assert_eq!((msg.version, msg.timestamp, msg.ephemeral), (Some(PAYLOAD_VERSION_1), Some(42), None));
/// assert_eq!(payload::open_message(&msg, OpenKey::Symmetric(&key))?.payload, b"hi");
///
/// // A version 0 (plaintext) message is not opened as version 1.
/// let plain = pfs_transport::waku::WakuMessage { version: None, ..msg };
/// assert_eq!(
///     payload::open_message(&plain, OpenKey::Symmetric(&key)),
///     Err(PayloadError::WrongVersion { version: None })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn seal_message(
    payload: &[u8],
    signer: Option<&SecretKey>,
    key: SealKey<'_>,
    content_topic: ContentTopic,
    timestamp_ns: i64,
    ephemeral: bool,
    rng: &mut dyn RandomSource,
) -> Result<WakuMessage, PayloadError> {
    let msg = WakuMessage {
        payload: seal(payload, signer, key, rng)?,
        content_topic: content_topic.into_string(),
        version: Some(PAYLOAD_VERSION_1),
        timestamp: Some(timestamp_ns),
        meta: None,
        rate_limit_proof: None,
        ephemeral: ephemeral.then_some(true),
    };
    let size = msg.encoded_len();
    if size > DEFAULT_MAX_MESSAGE_SIZE {
        return Err(PayloadError::MessageTooLarge {
            size,
            max: DEFAULT_MAX_MESSAGE_SIZE,
        });
    }
    Ok(msg)
}

/// Opens the payload of a WakuMessage, refusing any `version` other than 1.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::waku::WakuMessage;
/// use pfs_transport::{OpenKey, PayloadError, SealKey, SymKey, payload};
///
/// let key = SymKey::from_bytes(&[7; 32])?;
/// let msg = payload::seal_message(b"hi", None, SealKey::Symmetric(&key), "/waku/1/0x01020304/rfc26".parse()?, 1, false, &mut OsRandom)?;
/// assert_eq!(payload::open_message(&msg, OpenKey::Symmetric(&key))?.payload, b"hi");
/// let v2 = WakuMessage { version: Some(2), ..msg };
/// assert_eq!(payload::open_message(&v2, OpenKey::Symmetric(&key)), Err(PayloadError::WrongVersion { version: Some(2) }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_message(msg: &WakuMessage, key: OpenKey<'_>) -> Result<OpenedPayload, PayloadError> {
    if msg.version != Some(PAYLOAD_VERSION_1) {
        return Err(PayloadError::WrongVersion {
            version: msg.version,
        });
    }
    open(&msg.payload, key)
}
