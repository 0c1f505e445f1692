//! Typed errors, one enum per operation.

use crate::SuiteId;
use pfs_crypto::CryptoError;

/// Errors of the suite primitives, of session creation and of encryption.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{RatchetError, RatchetState, SecretBytes, SuiteId};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]);
/// // A status-go session needs a 33-byte compressed key for the peer's signed prekey.
/// let short = RatchetState::new_status_go_initiator(&sk, &[2; 32], &mut OsRandom);
/// assert_eq!(
///     short.err(),
///     Some(RatchetError::InvalidKeyLength { suite: SuiteId::StatusGo, expected: 33, actual: 32 })
/// );
/// let zero = RatchetState::new_spec_initiator(&SecretBytes::new([0; 32]), &mut OsRandom);
/// assert_eq!(zero.err(), Some(RatchetError::ZeroSharedSecret));
/// // A spec responder sends only after it has read a message.
/// let mut bob = RatchetState::new_spec_responder(&sk)?;
/// assert_eq!(bob.encrypt(b"too early", b"").err(), Some(RatchetError::NoSendingChain));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatchetError {
    /// A ratchet public key had the wrong length for the suite.
    #[error("invalid {suite:?} ratchet public key length: expected {expected} bytes, got {actual}")]
    InvalidKeyLength {
        /// The suite that rejected the key.
        suite: SuiteId,
        /// The suite's public key length.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// A primitive failed (invalid point, non-contributory DH, randomness, ...).
    #[error("crypto error: {0}")]
    Crypto(#[from] CryptoError),
    /// The shared secret SK given to a session constructor is all zero.
    #[error("the shared secret is all zero")]
    ZeroSharedSecret,
    /// The state has no sending chain yet (spec-suite responder before its first message).
    #[error("no sending chain yet: the session must receive a message first")]
    NoSendingChain,
    /// An AEAD input shorter than IV (16) + tag (32) bytes.
    #[error("ciphertext too short: {len} bytes, at least 48 needed")]
    CiphertextTooShort {
        /// Length received.
        len: usize,
    },
    /// The AEAD tag did not verify: wrong key, wrong associated data or tampered data.
    #[error("authentication failed: wrong key, wrong associated data or tampered data")]
    AuthenticationFailed,
}

/// The error of a read-only skipped-key store lookup ([`crate::SkippedKeys::get`]).
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{
///     ConfirmMode, DecryptError, Limits, MessageKey, RatchetState, SecretBytes, SkippedKeys,
///     SkippedKeysError,
/// };
///
/// /// A store whose backend is gone.
/// struct Broken;
/// impl SkippedKeys for Broken {
///     fn get(&self, _: &[u8], _: u32) -> Result<Option<MessageKey>, SkippedKeysError> {
///         Err(SkippedKeysError("database closed".into()))
///     }
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]);
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let bob = RatchetState::new_spec_responder(&sk)?;
/// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
/// let (h0, c0) = alice.encrypt(b"late", b"")?;
/// let (h1, c1) = alice.encrypt(b"early", b"")?;
/// let bob = bob.decrypt(&(), &h1, &c1, b"", &mut OsRandom, &limits, mode)?.state;
/// // Message 0 is behind the chain: its key must come from the store, which fails.
/// let failed = bob.decrypt(&Broken, &h0, &c0, b"", &mut OsRandom, &limits, mode);
/// assert_eq!(
///     failed.err(),
///     Some(DecryptError::SkippedStore(SkippedKeysError("database closed".into())))
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("skipped-key store failed: {0}")]
pub struct SkippedKeysError(pub String);

/// Errors of [`crate::RatchetState::decrypt`]. On any of them the caller keeps its old
/// state and applies no change to its skipped-key store.
///
/// A failed AEAD check from a suite primitive becomes the top-level
/// [`DecryptError::AuthenticationFailed`]; other primitive errors are wrapped:
///
/// ```
/// use pfs_ratchet::{DecryptError, RatchetError};
/// assert_eq!(
///     DecryptError::from(RatchetError::AuthenticationFailed),
///     DecryptError::AuthenticationFailed
/// );
/// assert_eq!(
///     DecryptError::from(RatchetError::CiphertextTooShort { len: 3 }),
///     DecryptError::Ratchet(RatchetError::CiphertextTooShort { len: 3 })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The header's ratchet key has the wrong length for the session's suite.
    #[error("invalid header ratchet key length: expected {expected} bytes, got {actual}")]
    InvalidHeaderKey {
        /// The suite's public key length.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// The header asks to skip more than `max_skip` message keys in one chain. Rejected
    /// before any key is derived.
    #[error(
        "too many skipped messages: chain at {recv_chain_n}, header asks for {until}, max skip {max_skip}"
    )]
    TooManySkipped {
        /// Number of keys already derived in that chain.
        recv_chain_n: u32,
        /// The message number (or previous-chain length) the header asks for.
        until: u32,
        /// The configured limit.
        max_skip: u32,
    },
    /// The message number is below the current receiving chain position and its key is
    /// not in the skipped-key store: the message was already decrypted (a duplicate, in
    /// [`crate::ConfirmMode::Immediate`] or after confirmation) or its skipped key was
    /// evicted. The two cases cannot be told apart without keeping used keys.
    #[error("message key {n} is gone (receiving chain at {recv_chain_n}): duplicate or evicted")]
    DuplicateOrEvicted {
        /// The header's message number.
        n: u32,
        /// Number of keys already derived in the current receiving chain.
        recv_chain_n: u32,
    },
    /// The header's previous-chain length `pn` is below the number of keys already derived
    /// in the current receiving chain (status-go: "bad until").
    #[error("previous chain length {pn} is below the receiving chain position {recv_chain_n}")]
    InvalidPreviousChainLength {
        /// The header's `pn`.
        pn: u32,
        /// Number of keys already derived in the current receiving chain.
        recv_chain_n: u32,
    },
    /// The state has no receiving chain to decrypt with (cannot happen for states built by
    /// this crate; reported for hand-made or corrupt states).
    #[error("the state has no receiving chain")]
    NoReceivingChain,
    /// The payload did not authenticate under the derived message key.
    #[error("authentication failed: wrong key, wrong associated data or tampered data")]
    AuthenticationFailed,
    /// A primitive failed (invalid ratchet key point, short payload, randomness, ...).
    #[error("ratchet error: {0}")]
    Ratchet(RatchetError),
    /// The skipped-key store lookup failed.
    #[error(transparent)]
    SkippedStore(#[from] SkippedKeysError),
}

impl From<RatchetError> for DecryptError {
    fn from(e: RatchetError) -> Self {
        match e {
            RatchetError::AuthenticationFailed => DecryptError::AuthenticationFailed,
            other => DecryptError::Ratchet(other),
        }
    }
}

/// Errors of [`crate::RatchetState::from_bytes`].
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{RatchetState, STATE_FORMAT_VERSION, SecretBytes, StateDecodeError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let state = RatchetState::new_spec_initiator(&SecretBytes::new([6; 32]), &mut OsRandom)?;
/// let bytes = state.to_bytes();
/// let bytes = bytes.expose();
/// assert_eq!(bytes[0], STATE_FORMAT_VERSION);
/// assert_eq!(RatchetState::from_bytes(bytes)?, state);
/// assert_eq!(RatchetState::from_bytes(&[]).err(), Some(StateDecodeError::Empty));
/// assert_eq!(RatchetState::from_bytes(&[99]).err(), Some(StateDecodeError::UnknownVersion(99)));
/// let truncated = RatchetState::from_bytes(&bytes[..bytes.len() - 1]);
/// assert!(matches!(truncated, Err(StateDecodeError::Malformed(_))));
/// let trailing = RatchetState::from_bytes(&[bytes, &[0]].concat());
/// assert_eq!(trailing.err(), Some(StateDecodeError::TrailingBytes(1)));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateDecodeError {
    /// The input is empty.
    #[error("empty state encoding")]
    Empty,
    /// The version byte is not one this build reads.
    #[error("unknown state format version {0}")]
    UnknownVersion(u8),
    /// The body is not a valid encoding (truncated, bad tag, ...).
    #[error("malformed state encoding: {0}")]
    Malformed(String),
    /// Bytes left over after the state.
    #[error("{0} trailing bytes after the state")]
    TrailingBytes(usize),
    /// The decoded fields are inconsistent (wrong key length, half a key pair, ...).
    #[error("invalid state: {0}")]
    Invalid(&'static str),
}
