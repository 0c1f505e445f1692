//! The Whisper v6 message: the plaintext that gets encrypted into an envelope.
//!
//! ```text
//! raw = flags(1) ‖ size_field(1..3) ‖ payload ‖ padding(1..256) ‖ [signature(65)]
//! ```
//!
//! * `flags` bits 0–1 give the length of `size_field`; bit 2 marks a signature.
//! * `size_field` is the payload length, little-endian, in the fewest bytes (at least 1).
//! * The padding brings the whole message (signature included) to a multiple of 256;
//!   it is 1 to 256 random bytes and, when longer than 3 bytes, never all zero.
//! * The signature is a recoverable secp256k1 signature `R ‖ S ‖ V` of
//!   `Keccak256(flags ‖ size_field ‖ payload ‖ padding)`, computed *after* setting bit 2.
//!
//! Parsing applies the bounds checks of whisper v1.6.1.

use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::{PublicKey, RecoverableSignature, SIGNATURE_LEN, SecretKey};
use pfs_crypto::{CryptoError, RandomSource};

/// Mask of the flag bits holding the length of the size field.
pub const SIZE_MASK: u8 = 3;
/// Flag bit marking a signed message.
pub const SIGNATURE_FLAG: u8 = 4;
/// The padded message length is a multiple of this.
pub const PADDING_BLOCK: usize = 256;
/// The largest payload a 3-byte size field can describe.
pub const MAX_PAYLOAD_LEN: usize = (1 << 24) - 1;

/// Errors while building a message.
///
/// ```
/// use pfs_transport::message::{MAX_PAYLOAD_LEN, MessageBuildError, build, size_field};
///
/// assert_eq!(size_field(MAX_PAYLOAD_LEN + 1), Err(MessageBuildError::PayloadTooLarge(1 << 24)));
/// // a "random" source that only returns zeros makes all-zero padding, which is refused
/// struct Zeros;
/// impl pfs_crypto::RandomSource for Zeros {
///     fn fill_bytes(&mut self, out: &mut [u8]) -> Result<(), pfs_crypto::CryptoError> {
///         out.fill(0);
///         Ok(())
///     }
/// }
/// assert_eq!(build(b"hi", None, &mut Zeros), Err(MessageBuildError::ZeroPadding(252)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageBuildError {
    /// The payload does not fit a 3-byte size field.
    #[error("payload of {0} bytes is too large for a Whisper message")]
    PayloadTooLarge(usize),
    /// The random source returned all-zero padding longer than 3 bytes.
    #[error("random padding of {0} bytes is all zero")]
    ZeroPadding(usize),
    /// The random source failed.
    #[error("randomness: {0}")]
    Randomness(CryptoError),
    /// Signing failed.
    #[error("signing: {0}")]
    Signing(CryptoError),
}

/// Errors while parsing a decrypted message.
///
/// ```
/// use pfs_transport::message::{MessageParseError, parse};
///
/// assert_eq!(parse(&[]), Err(MessageParseError::Empty));
/// // flags say a 1-byte size field, and it declares 9 payload bytes where 2 remain
/// assert_eq!(
///     parse(&[1, 9, 0xaa, 0xbb]),
///     Err(MessageParseError::PayloadOutOfBounds { declared: 9, available: 2 })
/// );
/// // flags say a 3-byte size field, but only 1 byte follows
/// assert_eq!(
///     parse(&[3, 1]),
///     Err(MessageParseError::SizeFieldTruncated { needed: 4, available: 2 })
/// );
/// // the signature flag (4) on a message too short to hold a 65-byte signature
/// assert_eq!(parse(&[4 | 1, 0]), Err(MessageParseError::TooShortForSignature(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageParseError {
    /// The message is empty.
    #[error("empty Whisper message")]
    Empty,
    /// The signature flag is set but the message is too short to hold a signature and
    /// anything before it.
    #[error("signed Whisper message of {0} bytes is too short")]
    TooShortForSignature(usize),
    /// The signature is malformed or no key can be recovered from it.
    #[error("invalid message signature: {0}")]
    BadSignature(CryptoError),
    /// The size field runs past the end of the message body.
    #[error("size field of {needed} bytes does not fit in {available} bytes")]
    SizeFieldTruncated {
        /// Bytes needed up to the end of the size field.
        needed: usize,
        /// Bytes available before the signature.
        available: usize,
    },
    /// The declared payload runs past the end of the message body.
    #[error("declared payload length {declared} exceeds the {available} bytes available")]
    PayloadOutOfBounds {
        /// Payload length from the size field.
        declared: usize,
        /// Bytes available after the size field and before the signature.
        available: usize,
    },
}

/// The size field for a payload of `len` bytes (little-endian, 1 to 3 bytes).
///
/// ```
/// use pfs_transport::message::size_field;
///
/// assert_eq!(size_field(0)?, [0]);
/// assert_eq!(size_field(255)?, [255]);
/// assert_eq!(size_field(256)?, [0, 1]); // little-endian, fewest bytes
/// assert_eq!(size_field(0x01_0000)?, [0, 0, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn size_field(len: usize) -> Result<Vec<u8>, MessageBuildError> {
    if len > MAX_PAYLOAD_LEN {
        return Err(MessageBuildError::PayloadTooLarge(len));
    }
    let width = if len < 1 << 8 {
        1
    } else if len < 1 << 16 {
        2
    } else {
        3
    };
    Ok(len.to_le_bytes().iter().take(width).copied().collect())
}

/// Padding length for a payload of `payload_len` bytes: 1..=256, so that flags, size
/// field, payload, padding and (if `signed`) the signature add up to a multiple of 256.
///
/// ```
/// use pfs_transport::message::padding_len;
///
/// // flags(1) + size(1) + payload(2) + padding = 256
/// assert_eq!(padding_len(2, false)?, 252);
/// // ... with a 65-byte signature
/// assert_eq!(padding_len(2, true)?, 187);
/// // flags(1) + size(1) + 254 bytes is already 256: a full block of padding, never 0
/// assert_eq!(padding_len(254, false)?, 256);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn padding_len(payload_len: usize, signed: bool) -> Result<usize, MessageBuildError> {
    let sf = size_field(payload_len)?.len();
    let raw = 1 + sf + payload_len + if signed { SIGNATURE_LEN } else { 0 };
    Ok(PADDING_BLOCK - raw % PADDING_BLOCK)
}

/// Length of the complete message for a payload of `payload_len` bytes.
///
/// ```
/// use pfs_transport::message::message_len;
///
/// assert_eq!(message_len(2, false)?, 256);
/// assert_eq!(message_len(2, true)?, 256);
/// assert_eq!(message_len(300, true)?, 512);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn message_len(payload_len: usize, signed: bool) -> Result<usize, MessageBuildError> {
    let sf = size_field(payload_len)?.len();
    let pad = padding_len(payload_len, signed)?;
    Ok(1 + sf + payload_len + pad + if signed { SIGNATURE_LEN } else { 0 })
}

/// Builds the raw message: padding from `rng`, signed by `signer` if given
/// (whisper `NewSentMessage` followed by `sign`).
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::message::{SIGNATURE_FLAG, build, parse};
///
/// let me = SecretKey::generate(&mut OsRandom)?;
/// let raw = build(b"hello", Some(&me), &mut OsRandom)?;
/// assert_eq!(raw.len(), 256);
/// assert_eq!(raw[0], 1 | SIGNATURE_FLAG); // 1-byte size field, signed
/// assert_eq!(&raw[1..7], b"\x05hello");
/// let parsed = parse(&raw)?;
/// assert_eq!((parsed.payload.as_slice(), parsed.signer), (&b"hello"[..], Some(me.public_key())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn build(
    payload: &[u8],
    signer: Option<&SecretKey>,
    rng: &mut dyn RandomSource,
) -> Result<Vec<u8>, MessageBuildError> {
    let sf = size_field(payload.len())?;
    let pad_len = padding_len(payload.len(), signer.is_some())?;
    let total = message_len(payload.len(), signer.is_some())?;
    let mut raw = Vec::with_capacity(total);
    // sf.len() is 1..=3, so it fits in the two size bits.
    raw.push(sf.len() as u8 & SIZE_MASK);
    raw.extend_from_slice(&sf);
    raw.extend_from_slice(payload);
    let pad_start = raw.len();
    raw.resize(pad_start + pad_len, 0);
    let pad = raw.get_mut(pad_start..).unwrap_or_default();
    rng.fill_bytes(pad).map_err(MessageBuildError::Randomness)?;
    // whisper's validateDataIntegrity only rejects all-zero data longer than 3 bytes.
    if pad_len > 3 && pad.iter().all(|b| *b == 0) {
        return Err(MessageBuildError::ZeroPadding(pad_len));
    }
    if let Some(key) = signer {
        if let Some(flags) = raw.first_mut() {
            *flags |= SIGNATURE_FLAG;
        }
        let hash = keccak256(&raw);
        let sig = key
            .sign_prehash_recoverable(&hash)
            .map_err(MessageBuildError::Signing)?;
        raw.extend_from_slice(sig.as_bytes());
    }
    Ok(raw)
}

/// A parsed (decrypted) message.
///
/// ```
/// use pfs_transport::message::{SIGNATURE_FLAG, parse};
///
/// // flags 1 (one size byte, unsigned), size 2, "ok", padding 7 7
/// let parsed = parse(&[1, 2, b'o', b'k', 7, 7])?;
/// assert_eq!((parsed.flags, parsed.payload.as_slice(), parsed.padding.as_slice()), (1, &b"ok"[..], &[7, 7][..]));
/// assert_eq!(parsed.flags & SIGNATURE_FLAG, 0);
/// assert!(parsed.signature.is_none() && parsed.signer.is_none());
/// # Ok::<(), pfs_transport::message::MessageParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// The flags byte as received.
    pub flags: u8,
    /// The payload.
    pub payload: Vec<u8>,
    /// The padding (not checked).
    pub padding: Vec<u8>,
    /// The signature, when the signature flag is set.
    pub signature: Option<RecoverableSignature>,
    /// The signer recovered from the signature, when signed.
    pub signer: Option<PublicKey>,
}

/// Parses a decrypted message (whisper v1.6.1 `ValidateAndParse` and `SigToPubKey`).
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::message::{build, parse};
///
/// let raw = build(b"hi", None, &mut OsRandom)?;
/// let parsed = parse(&raw)?;
/// assert_eq!(parsed.payload, b"hi");
/// assert_eq!(parsed.padding.len(), 252);
/// assert_eq!((parsed.signature, parsed.signer), (None, None));
/// // a hand-made message: flags 1, size 2, payload "ok", one byte of padding
/// assert_eq!(parse(&[1, 2, b'o', b'k', 0])?.payload, b"ok");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(raw: &[u8]) -> Result<ParsedMessage, MessageParseError> {
    let Some(&flags) = raw.first() else {
        return Err(MessageParseError::Empty);
    };
    let mut end = raw.len();
    let mut signature = None;
    let mut signer = None;
    if flags & SIGNATURE_FLAG != 0 {
        end = end.saturating_sub(SIGNATURE_LEN);
        if end <= 1 {
            return Err(MessageParseError::TooShortForSignature(raw.len()));
        }
        let (body, sig_bytes) = raw.split_at(end);
        let sig =
            RecoverableSignature::from_bytes(sig_bytes).map_err(MessageParseError::BadSignature)?;
        let key = sig
            .recover(&keccak256(body))
            .map_err(MessageParseError::BadSignature)?;
        signature = Some(sig);
        signer = Some(key);
    }
    let n = usize::from(flags & SIZE_MASK);
    let mut beg = 1usize;
    let mut payload_len = 0usize;
    if n != 0 {
        let field = raw.get(beg..beg + n).filter(|_| beg + n <= end).ok_or(
            MessageParseError::SizeFieldTruncated {
                needed: beg + n,
                available: end,
            },
        )?;
        payload_len = field
            .iter()
            .rev()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        beg += n;
        if beg + payload_len > end {
            return Err(MessageParseError::PayloadOutOfBounds {
                declared: payload_len,
                available: end - beg,
            });
        }
    }
    let payload = raw.get(beg..beg + payload_len).unwrap_or_default().to_vec();
    let padding = raw.get(beg + payload_len..end).unwrap_or_default().to_vec();
    Ok(ParsedMessage {
        flags,
        payload,
        padding,
        signature,
        signer,
    })
}
