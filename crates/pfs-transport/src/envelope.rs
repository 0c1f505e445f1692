//! The Whisper v6 envelope: wire form, hash, size, bloom, sealing and opening.
//!
//! ```text
//! envelope = RLP[ expiry u32, ttl u32, topic [4]byte, data bytes, nonce u64 ]
//! hash     = Keccak256(envelope)
//! size     = 20 + len(data)
//! ```
//!
//! Decoding is strict (canonical RLP only, nothing trailing) and checks the configured
//! maximum size from the headers before copying any data. Opening checks the time
//! fields against an injected `now`, the proof of work, then decrypts and parses.

use crate::ecies::{self, ECIES_OVERHEAD, EciesError};
use crate::message::{self, MessageBuildError, MessageParseError};
use crate::pow::{self, PowError, PowHasher, PowVariant};
use crate::rlp::{self, ListReader, RlpError};
use crate::symmetric::{self, SYMMETRIC_OVERHEAD, SymKey, SymmetricError};
use crate::topic::{BLOOM_LEN, Topic};
use pfs_crypto::RandomSource;
use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::{PublicKey, RecoverableSignature, SecretKey};

/// The fixed part counted in an envelope's size (whisper `EnvelopeHeaderLength`).
pub const ENVELOPE_HEADER_LEN: usize = 20;
/// Default maximum envelope size (whisper's default `MaxMessageSize`, 1 MiB).
pub const DEFAULT_MAX_ENVELOPE_SIZE: usize = 1 << 20;
/// Clock skew tolerated for envelopes sent "in the future" (whisper `DefaultSyncAllowance`).
pub const SYNC_ALLOWANCE: u32 = 10;
/// Upper bound of the RLP framing around `data`: list header (9), expiry (5), ttl (5),
/// topic (5), data header (9) and nonce (9).
pub const MAX_RLP_FRAMING: usize = 42;

/// A Whisper v6 envelope.
///
/// ```
/// use pfs_transport::{Envelope, Topic};
///
/// let env = Envelope { expiry: 1, ttl: 2, topic: Topic([1, 2, 3, 4]), data: vec![5], nonce: 0 };
/// // RLP (Ethereum yellow paper, appendix B): a list of 9 bytes (c9) holding 1, 2, the
/// // 4-byte string 01020304 (84…), the single byte 05 and the integer 0 (80)
/// assert_eq!(hex::encode(env.encode()), "c9010284010203040580");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Unix time (seconds) after which the envelope is dropped: sent time + TTL.
    pub expiry: u32,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The topic.
    pub topic: Topic,
    /// The encrypted message.
    pub data: Vec<u8>,
    /// The proof-of-work nonce.
    pub nonce: u64,
}

/// Errors while decoding an envelope from its wire bytes.
///
/// ```
/// use pfs_transport::{Envelope, EnvelopeDecodeError, Topic};
///
/// let wire = Envelope { expiry: 1, ttl: 2, topic: Topic([1, 2, 3, 4]), data: vec![5], nonce: 0 }.encode();
/// assert!(matches!(Envelope::decode(&wire[..5], 1024), Err(EnvelopeDecodeError::Truncated(_))));
/// let mut trailing = wire.clone();
/// trailing.push(0);
/// assert!(matches!(Envelope::decode(&trailing, 1024), Err(EnvelopeDecodeError::Malformed(_))));
/// // size 20 + 1 > 20
/// assert_eq!(Envelope::decode(&wire, 20), Err(EnvelopeDecodeError::TooLarge { size: 21, max: 20 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeDecodeError {
    /// The envelope is larger than the configured maximum.
    #[error("envelope of size {size} exceeds the maximum of {max}")]
    TooLarge {
        /// Size (or a lower bound of it) of the envelope.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The input ends early.
    #[error("truncated envelope: {0}")]
    Truncated(RlpError),
    /// The RLP is malformed or not canonical.
    #[error("malformed envelope RLP: {0}")]
    Malformed(RlpError),
}

impl From<RlpError> for EnvelopeDecodeError {
    fn from(e: RlpError) -> Self {
        match e {
            RlpError::Truncated { .. } | RlpError::MissingElement => Self::Truncated(e),
            other => Self::Malformed(other),
        }
    }
}

impl Envelope {
    /// An unsealed envelope (nonce 0) sent at `now`: `expiry = now + ttl`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_transport::{DEFAULT_MAX_ENVELOPE_SIZE, Envelope, Topic};
    ///
    /// let env = Envelope::new(1_000, 50, Topic([1, 2, 3, 4]), vec![9; 30]).ok_or("overflow")?;
    /// assert_eq!((env.expiry, env.sent(), env.size()), (1_050, Some(1_000), 20 + 30));
    /// let wire = env.encode();
    /// assert_eq!(Envelope::decode(&wire, DEFAULT_MAX_ENVELOPE_SIZE)?, env);
    /// assert!(Envelope::decode(&wire, 49).is_err()); // size 50 > 49
    /// assert_eq!(Envelope::new(u32::MAX, 1, Topic::default(), vec![]), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(now: u32, ttl: u32, topic: Topic, data: Vec<u8>) -> Option<Self> {
        Some(Self {
            expiry: now.checked_add(ttl)?,
            ttl,
            topic,
            data,
            nonce: 0,
        })
    }

    /// `20 + len(data)`: the size used for PoW targets and size limits.
    ///
    /// ```
    /// use pfs_transport::{Envelope, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic::default(), data: vec![0; 100], nonce: 0 };
    /// assert_eq!(env.size(), 120);
    /// ```
    pub fn size(&self) -> usize {
        ENVELOPE_HEADER_LEN + self.data.len()
    }

    /// The send time `expiry − ttl`, or `None` when `ttl > expiry`.
    ///
    /// ```
    /// use pfs_transport::{Envelope, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic::default(), data: vec![], nonce: 0 };
    /// assert_eq!(env.sent(), Some(10));
    /// assert_eq!(Envelope { ttl: 61, ..env }.sent(), None);
    /// ```
    pub fn sent(&self) -> Option<u32> {
        self.expiry.checked_sub(self.ttl)
    }

    fn encode_list(&self, with_nonce: bool) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.data.len() + MAX_RLP_FRAMING);
        rlp::encode_uint(&mut body, u64::from(self.expiry));
        rlp::encode_uint(&mut body, u64::from(self.ttl));
        rlp::encode_bytes(&mut body, self.topic.as_bytes());
        rlp::encode_bytes(&mut body, &self.data);
        if with_nonce {
            rlp::encode_uint(&mut body, self.nonce);
        }
        let mut out = Vec::with_capacity(body.len() + 9);
        rlp::encode_list_header(&mut out, body.len());
        out.extend_from_slice(&body);
        out
    }

    /// The wire form `RLP[expiry, ttl, topic, data, nonce]`.
    ///
    /// ```
    /// use pfs_transport::{Envelope, Topic};
    ///
    /// let env = Envelope { expiry: 1, ttl: 2, topic: Topic([1, 2, 3, 4]), data: vec![5], nonce: 0x0100 };
    /// // the nonce 256 is the 2-byte string 0100 (82 01 00); the list grows to 11 bytes (cb)
    /// assert_eq!(hex::encode(env.encode()), "cb0102840102030405820100");
    /// assert_eq!(Envelope::decode(&env.encode(), 1024)?, env);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        self.encode_list(true)
    }

    /// `RLP[expiry, ttl, topic, data]`, the input of the proof of work.
    ///
    /// ```
    /// use pfs_transport::{Envelope, Topic};
    ///
    /// let env = Envelope { expiry: 1, ttl: 2, topic: Topic([1, 2, 3, 4]), data: vec![5], nonce: 7 };
    /// assert_eq!(hex::encode(env.rlp_without_nonce()), "c80102840102030405");
    /// ```
    pub fn rlp_without_nonce(&self) -> Vec<u8> {
        self.encode_list(false)
    }

    /// The envelope hash `Keccak256(RLP(envelope))`.
    ///
    /// ```
    /// use pfs_crypto::hash::keccak256;
    /// use pfs_transport::{Envelope, Topic};
    ///
    /// let env = Envelope { expiry: 1, ttl: 2, topic: Topic([1, 2, 3, 4]), data: vec![5], nonce: 0 };
    /// assert_eq!(env.hash(), keccak256(&hex::decode("c9010284010203040580")?));
    /// assert_ne!(env.hash(), Envelope { nonce: 1, ..env.clone() }.hash());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hash(&self) -> [u8; 32] {
        keccak256(&self.encode())
    }

    /// The bloom filter of the topic.
    ///
    /// ```
    /// use pfs_transport::{Envelope, Topic};
    ///
    /// let env = Envelope { expiry: 1, ttl: 1, topic: Topic([1, 2, 3, 0]), data: vec![], nonce: 0 };
    /// assert_eq!(env.bloom(), env.topic.bloom());
    /// ```
    pub fn bloom(&self) -> [u8; BLOOM_LEN] {
        self.topic.bloom()
    }

    /// The proof of work of this envelope with its own nonce and TTL.
    ///
    /// ```
    /// use pfs_transport::pow::{PowHasher, pow_value};
    /// use pfs_transport::{Envelope, PowVariant, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 3 };
    /// let hasher = PowHasher::new(&env, PowVariant::V1_5_2);
    /// // 2^bits / len(rlp_without_nonce) / ttl
    /// let expected = pow_value(hasher.zero_bits(3), env.rlp_without_nonce().len(), 50);
    /// assert_eq!(env.pow(PowVariant::V1_5_2), expected);
    /// ```
    pub fn pow(&self, variant: PowVariant) -> f64 {
        PowHasher::new(self, variant).pow(self.nonce, u64::from(self.ttl))
    }

    /// Decodes the wire form, rejecting anything larger than `max_size` (an envelope
    /// size, `20 + len(data)`) before copying data.
    ///
    /// ```
    /// use pfs_transport::{Envelope, EnvelopeDecodeError};
    ///
    /// // RLP[1, 2, 01020304, 05, 0]
    /// let env = Envelope::decode(&hex::decode("c9010284010203040580")?, 1024)?;
    /// assert_eq!((env.expiry, env.ttl, env.topic.0, env.data.as_slice(), env.nonce), (1, 2, [1, 2, 3, 4], &[5][..], 0));
    /// // a 3-byte topic
    /// assert!(matches!(Envelope::decode(&hex::decode("c80102830102030580")?, 1024), Err(EnvelopeDecodeError::Malformed(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decode(bytes: &[u8], max_size: usize) -> Result<Self, EnvelopeDecodeError> {
        let bound = max_size.saturating_add(MAX_RLP_FRAMING);
        if bytes.len() > bound {
            return Err(EnvelopeDecodeError::TooLarge {
                size: bytes.len().saturating_sub(MAX_RLP_FRAMING),
                max: max_size,
            });
        }
        let mut list = ListReader::new(rlp::decode_exact(bytes)?)?;
        let expiry = list.uint(4)?;
        let ttl = list.uint(4)?;
        let topic = Topic(list.fixed::<4>()?);
        let data = list.bytes()?;
        let size = ENVELOPE_HEADER_LEN.saturating_add(data.len());
        if size > max_size {
            return Err(EnvelopeDecodeError::TooLarge {
                size,
                max: max_size,
            });
        }
        let nonce = list.uint(8)?;
        list.finish()?;
        Ok(Self {
            expiry: u32::try_from(expiry)
                .map_err(|_| RlpError::IntegerTooWide { len: 5, max: 4 })?,
            ttl: u32::try_from(ttl).map_err(|_| RlpError::IntegerTooWide { len: 5, max: 4 })?,
            topic,
            data: data.to_vec(),
            nonce,
        })
    }
}

/// How to encrypt a message into an envelope.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::{OpenKey, OpenOptions, PowVariant, SealKey, SealOptions, Topic};
///
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.0,
///     variant: PowVariant::V1_5_2, max_iterations: 0, max_envelope_size: 1 << 20,
/// };
/// // asymmetric: ECIES to Bob's public key, opened with his private key
/// let env = pfs_transport::seal_message(b"hi", None, SealKey::Asymmetric(&bob.public_key()), &opts, &mut OsRandom)?;
/// let open = OpenOptions { now: 1_000, variant: PowVariant::V1_5_2, min_pow: 0.0, max_envelope_size: 1 << 20 };
/// assert_eq!(pfs_transport::open(&env, OpenKey::Asymmetric(&bob), &open)?.payload, b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub enum SealKey<'a> {
    /// AES-256-GCM with a shared key (public chats, negotiated topics).
    Symmetric(&'a SymKey),
    /// ECIES to the recipient's public key.
    Asymmetric(&'a PublicKey),
}

/// Parameters of [`seal_message`].
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::{PowVariant, SealKey, SealOptions, SymKey, Topic};
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.002,
///     variant: PowVariant::V1_5_2, max_iterations: 1 << 20, max_envelope_size: 1 << 20,
/// };
/// let env = pfs_transport::seal_message(b"hi", None, SealKey::Symmetric(&key), &opts, &mut OsRandom)?;
/// assert_eq!((env.expiry, env.ttl, env.topic), (1_050, 50, opts.topic));
/// // 256-byte plaintext, 16-byte tag, 12-byte nonce
/// assert_eq!(env.data.len(), 256 + 16 + 12);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SealOptions {
    /// Current Unix time in seconds (injected, never read from a clock here).
    pub now: u32,
    /// Time to live in seconds (must not be 0).
    pub ttl: u32,
    /// The topic.
    pub topic: Topic,
    /// PoW target (status: 0.002); 0 skips sealing.
    pub pow_target: f64,
    /// The PoW formula of the network.
    pub variant: PowVariant,
    /// Maximum number of nonces to try.
    pub max_iterations: u64,
    /// Maximum envelope size (`20 + len(data)`).
    pub max_envelope_size: usize,
}

/// Errors of [`seal_message`].
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::{PowVariant, SealError, SealKey, SealOptions, SymKey, Topic, seal_message};
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.0,
///     variant: PowVariant::V1_5_2, max_iterations: 0, max_envelope_size: 1 << 20,
/// };
/// let seal = |o: &SealOptions| seal_message(b"hi", None, SealKey::Symmetric(&key), o, &mut OsRandom);
/// assert_eq!(seal(&SealOptions { ttl: 0, ..opts }), Err(SealError::ZeroTtl));
/// assert_eq!(seal(&SealOptions { now: u32::MAX, ..opts }), Err(SealError::ExpiryOverflow));
/// // 20 + 256 + 28 bytes do not fit in 100
/// assert_eq!(seal(&SealOptions { max_envelope_size: 100, ..opts }), Err(SealError::TooLarge { size: 304, max: 100 }));
/// assert!(matches!(seal(&SealOptions { pow_target: 1e9, max_iterations: 3, ..opts }), Err(SealError::Pow(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SealError {
    /// TTL 0 is refused (whisper would silently substitute 50 s).
    #[error("TTL must be positive")]
    ZeroTtl,
    /// `now + ttl` does not fit in 32 bits.
    #[error("expiry overflows 32 bits")]
    ExpiryOverflow,
    /// The envelope would exceed the maximum size.
    #[error("envelope of size {size} would exceed the maximum of {max}")]
    TooLarge {
        /// Size the envelope would have.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// Building the message failed.
    #[error("message: {0}")]
    Message(#[from] MessageBuildError),
    /// Symmetric encryption failed.
    #[error("symmetric encryption: {0}")]
    Symmetric(#[from] SymmetricError),
    /// ECIES encryption failed.
    #[error("asymmetric encryption: {0}")]
    Ecies(#[from] EciesError),
    /// Proof of work failed.
    #[error("proof of work: {0}")]
    Pow(#[from] PowError),
}

/// Builds, signs (if `signer` is given), encrypts and seals a message (whisper
/// `NewSentMessage` + `Wrap`). Randomness is drawn in whisper's order: padding, then the
/// GCM nonce or the ECIES ephemeral key and IV.
///
/// # Examples
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::{OpenError, OpenKey, OpenOptions, PowVariant, SealKey, SealOptions, SymKey, Topic};
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.0,
///     variant: PowVariant::V1_5_2, max_iterations: 0, max_envelope_size: 1 << 20,
/// };
/// let env = pfs_transport::seal_message(b"hi", None, SealKey::Symmetric(&key), &opts, &mut OsRandom)?;
/// let open = OpenOptions { now: 1_010, variant: PowVariant::V1_5_2, min_pow: 0.0, max_envelope_size: 1 << 20 };
/// let (_, opened) = pfs_transport::open_bytes(&env.encode(), OpenKey::Symmetric(&key), &open)?;
/// assert_eq!((opened.payload.as_slice(), opened.sent, opened.topic), (&b"hi"[..], 1_000, opts.topic));
/// let late = OpenOptions { now: 1_051, ..open };
/// assert!(matches!(
///     pfs_transport::open(&env, OpenKey::Symmetric(&key), &late),
///     Err(OpenError::Expired { expiry: 1_050, now: 1_051 })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn seal_message(
    payload: &[u8],
    signer: Option<&SecretKey>,
    key: SealKey<'_>,
    opts: &SealOptions,
    rng: &mut dyn RandomSource,
) -> Result<Envelope, SealError> {
    if opts.ttl == 0 {
        return Err(SealError::ZeroTtl);
    }
    let expiry = opts
        .now
        .checked_add(opts.ttl)
        .ok_or(SealError::ExpiryOverflow)?;
    let raw_len = message::message_len(payload.len(), signer.is_some())?;
    let overhead = match key {
        SealKey::Symmetric(_) => SYMMETRIC_OVERHEAD,
        SealKey::Asymmetric(_) => ECIES_OVERHEAD,
    };
    let size = ENVELOPE_HEADER_LEN + raw_len + overhead;
    if size > opts.max_envelope_size {
        return Err(SealError::TooLarge {
            size,
            max: opts.max_envelope_size,
        });
    }
    let raw = message::build(payload, signer, rng)?;
    let data = match key {
        SealKey::Symmetric(k) => symmetric::encrypt(k, &raw, rng)?,
        SealKey::Asymmetric(pk) => ecies::encrypt(pk, &raw, rng)?,
    };
    let mut env = Envelope {
        expiry,
        ttl: opts.ttl,
        topic: opts.topic,
        data,
        nonce: 0,
    };
    pow::seal(&mut env, opts.variant, opts.pow_target, opts.max_iterations)?;
    Ok(env)
}

/// How to decrypt an envelope.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::{OpenError, OpenKey, OpenOptions, PowVariant, SealKey, SealOptions, SymKey, Topic};
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.0,
///     variant: PowVariant::V1_5_2, max_iterations: 0, max_envelope_size: 1 << 20,
/// };
/// let env = pfs_transport::seal_message(b"hi", None, SealKey::Symmetric(&key), &opts, &mut OsRandom)?;
/// let open = OpenOptions { now: 1_000, variant: PowVariant::V1_5_2, min_pow: 0.0, max_envelope_size: 1 << 20 };
/// assert_eq!(pfs_transport::open(&env, OpenKey::Symmetric(&key), &open)?.payload, b"hi");
/// // a symmetric envelope tried with a private key
/// let me = pfs_crypto::secp256k1::SecretKey::generate(&mut OsRandom)?;
/// assert!(matches!(pfs_transport::open(&env, OpenKey::Asymmetric(&me), &open), Err(OpenError::Ecies(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub enum OpenKey<'a> {
    /// A symmetric key.
    Symmetric(&'a SymKey),
    /// Our private key (ECIES).
    Asymmetric(&'a SecretKey),
}

/// Parameters of [`open`] and [`open_bytes`].
///
/// ```
/// use pfs_transport::{Envelope, OpenError, OpenKey, OpenOptions, PowVariant, SymKey, Topic};
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// let env = Envelope { expiry: 1_050, ttl: 50, topic: Topic::default(), data: vec![0; 100], nonce: 0 };
/// let open = OpenOptions { now: 1_000, variant: PowVariant::V1_5_2, min_pow: 0.0, max_envelope_size: 100 };
/// // the size limit counts 20 + len(data) and is checked first
/// assert_eq!(pfs_transport::open(&env, OpenKey::Symmetric(&key), &open), Err(OpenError::TooLarge { size: 120, max: 100 }));
/// let bad_times = Envelope { ttl: 2_000, ..env };
/// let open = OpenOptions { max_envelope_size: 1 << 20, ..open };
/// assert_eq!(pfs_transport::open(&bad_times, OpenKey::Symmetric(&key), &open), Err(OpenError::InvalidTimes { expiry: 1_050, ttl: 2_000 }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Current Unix time in seconds (injected).
    pub now: u32,
    /// The PoW formula of the network.
    pub variant: PowVariant,
    /// Minimum PoW (status-go: 0.001); 0 accepts any.
    pub min_pow: f64,
    /// Maximum envelope size (`20 + len(data)`).
    pub max_envelope_size: usize,
}

/// Errors while opening an envelope.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::{OpenError, OpenKey, OpenOptions, PowVariant, SealKey, SealOptions, SymKey, Topic};
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.0,
///     variant: PowVariant::V1_5_2, max_iterations: 0, max_envelope_size: 1 << 20,
/// };
/// let env = pfs_transport::seal_message(b"hi", None, SealKey::Symmetric(&key), &opts, &mut OsRandom)?;
/// let open = OpenOptions { now: 1_000, variant: PowVariant::V1_5_2, min_pow: 0.0, max_envelope_size: 1 << 20 };
/// let k = OpenKey::Symmetric(&key);
/// // sent at 1000, more than 10 s in the future of 900
/// assert_eq!(pfs_transport::open(&env, k, &OpenOptions { now: 900, ..open }), Err(OpenError::FromFuture { sent: 1_000, now: 900 }));
/// assert!(matches!(pfs_transport::open(&env, k, &OpenOptions { min_pow: 1e9, ..open }), Err(OpenError::InsufficientPow { .. })));
/// let other = SymKey::from_bytes(&[4; 32])?;
/// assert!(matches!(pfs_transport::open(&env, OpenKey::Symmetric(&other), &open), Err(OpenError::Symmetric(_))));
/// assert!(matches!(pfs_transport::open_bytes(&[0xc0], k, &open), Err(OpenError::Decode(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpenError {
    /// The wire bytes could not be decoded.
    #[error("decode: {0}")]
    Decode(#[from] EnvelopeDecodeError),
    /// The envelope exceeds the maximum size.
    #[error("envelope of size {size} exceeds the maximum of {max}")]
    TooLarge {
        /// Envelope size.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// `ttl > expiry`: no valid send time.
    #[error("TTL {ttl} exceeds expiry {expiry}")]
    InvalidTimes {
        /// Expiry field.
        expiry: u32,
        /// TTL field.
        ttl: u32,
    },
    /// Sent more than the allowed skew in the future.
    #[error("envelope sent at {sent}, in the future of {now}")]
    FromFuture {
        /// Send time.
        sent: u32,
        /// Our time.
        now: u32,
    },
    /// Already expired.
    #[error("envelope expired at {expiry}, now is {now}")]
    Expired {
        /// Expiry.
        expiry: u32,
        /// Our time.
        now: u32,
    },
    /// Proof of work below the minimum.
    #[error("proof of work {pow} below the minimum {min}")]
    InsufficientPow {
        /// Envelope PoW.
        pow: f64,
        /// Required minimum.
        min: f64,
    },
    /// Symmetric decryption failed.
    #[error("symmetric decryption: {0}")]
    Symmetric(#[from] SymmetricError),
    /// ECIES decryption failed.
    #[error("asymmetric decryption: {0}")]
    Ecies(#[from] EciesError),
    /// The decrypted message is malformed.
    #[error("message: {0}")]
    Message(#[from] MessageParseError),
}

/// An opened envelope.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::{OpenKey, OpenOptions, PowVariant, SealKey, SealOptions, SymKey, Topic};
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// let me = SecretKey::generate(&mut OsRandom)?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.0,
///     variant: PowVariant::V1_5_2, max_iterations: 0, max_envelope_size: 1 << 20,
/// };
/// let env = pfs_transport::seal_message(b"signed", Some(&me), SealKey::Symmetric(&key), &opts, &mut OsRandom)?;
/// let open = OpenOptions { now: 1_005, variant: PowVariant::V1_5_2, min_pow: 0.0, max_envelope_size: 1 << 20 };
/// let m = pfs_transport::open(&env, OpenKey::Symmetric(&key), &open)?;
/// assert_eq!((m.payload.as_slice(), m.signer, m.topic, m.hash, m.sent), (&b"signed"[..], Some(me.public_key()), opts.topic, env.hash(), 1_000));
/// assert!(m.signature.is_some());
/// assert_eq!(m.padding.len(), 256 - 1 - 1 - 6 - 65);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedMessage {
    /// The payload.
    pub payload: Vec<u8>,
    /// The padding.
    pub padding: Vec<u8>,
    /// The signature, if signed.
    pub signature: Option<RecoverableSignature>,
    /// The verified sender (recovered from the signature), `None` when unsigned.
    pub signer: Option<PublicKey>,
    /// The envelope topic.
    pub topic: Topic,
    /// The envelope hash.
    pub hash: [u8; 32],
    /// The send time.
    pub sent: u32,
    /// The proof of work (adjusted for a send time in the future, as whisper does).
    pub pow: f64,
}

/// Checks an envelope's size, times and proof of work, then decrypts and parses it.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::{OpenKey, OpenOptions, PowVariant, SealKey, SealOptions, Topic};
///
/// let me = SecretKey::generate(&mut OsRandom)?;
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.002,
///     variant: PowVariant::V1_5_2, max_iterations: 1 << 20, max_envelope_size: 1 << 20,
/// };
/// let env = pfs_transport::seal_message(b"hi", Some(&me), SealKey::Asymmetric(&bob.public_key()), &opts, &mut OsRandom)?;
/// let open = OpenOptions { now: 1_001, variant: PowVariant::V1_5_2, min_pow: 0.001, max_envelope_size: 1 << 20 };
/// let opened = pfs_transport::open(&env, OpenKey::Asymmetric(&bob), &open)?;
/// assert_eq!((opened.payload.as_slice(), opened.signer), (&b"hi"[..], Some(me.public_key())));
/// assert_eq!((opened.hash, opened.sent), (env.hash(), 1_000));
/// assert!(opened.pow >= open.min_pow);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open(
    env: &Envelope,
    key: OpenKey<'_>,
    opts: &OpenOptions,
) -> Result<OpenedMessage, OpenError> {
    let size = env.size();
    if size > opts.max_envelope_size {
        return Err(OpenError::TooLarge {
            size,
            max: opts.max_envelope_size,
        });
    }
    let sent = env.sent().ok_or(OpenError::InvalidTimes {
        expiry: env.expiry,
        ttl: env.ttl,
    })?;
    let mut diff = 0u64;
    if sent > opts.now {
        if sent - opts.now > SYNC_ALLOWANCE {
            return Err(OpenError::FromFuture {
                sent,
                now: opts.now,
            });
        }
        diff = u64::from(sent - opts.now) + 1;
    }
    if env.expiry < opts.now {
        return Err(OpenError::Expired {
            expiry: env.expiry,
            now: opts.now,
        });
    }
    let pow = PowHasher::new(env, opts.variant).pow(env.nonce, u64::from(env.ttl) + diff);
    if pow < opts.min_pow || pow.is_nan() {
        return Err(OpenError::InsufficientPow {
            pow,
            min: opts.min_pow,
        });
    }
    let raw = match key {
        OpenKey::Symmetric(k) => symmetric::decrypt(k, &env.data)?,
        OpenKey::Asymmetric(sk) => ecies::decrypt(sk, &env.data)?,
    };
    let parsed = message::parse(&raw)?;
    Ok(OpenedMessage {
        payload: parsed.payload,
        padding: parsed.padding,
        signature: parsed.signature,
        signer: parsed.signer,
        topic: env.topic,
        hash: env.hash(),
        sent,
        pow,
    })
}

/// Decodes wire bytes (size checked first) and opens the envelope.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_transport::{OpenKey, OpenOptions, PowVariant, SealKey, SealOptions, SymKey, Topic};
///
/// let key = SymKey::from_bytes(&[3; 32])?;
/// let opts = SealOptions {
///     now: 1_000, ttl: 50, topic: Topic([1, 2, 3, 4]), pow_target: 0.0,
///     variant: PowVariant::V1_5_2, max_iterations: 0, max_envelope_size: 1 << 20,
/// };
/// let env = pfs_transport::seal_message(b"hi", None, SealKey::Symmetric(&key), &opts, &mut OsRandom)?;
/// let open = OpenOptions { now: 1_000, variant: PowVariant::V1_5_2, min_pow: 0.0, max_envelope_size: 1 << 20 };
/// let (decoded, opened) = pfs_transport::open_bytes(&env.encode(), OpenKey::Symmetric(&key), &open)?;
/// assert_eq!((decoded, opened.payload), (env, b"hi".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn open_bytes(
    bytes: &[u8],
    key: OpenKey<'_>,
    opts: &OpenOptions,
) -> Result<(Envelope, OpenedMessage), OpenError> {
    let env = Envelope::decode(bytes, opts.max_envelope_size)?;
    let opened = open(&env, key, opts)?;
    Ok((env, opened))
}
