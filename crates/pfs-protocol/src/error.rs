//! Errors, split by who is at fault (as rustls does): the peer (a malformed, forged or
//! replayed message), the situation (not addressed to us, unknown session — recoverable
//! by a bundle reply), or us (storage, randomness).

use pfs_crypto::CryptoError;
use pfs_store::StoreError;

/// A local failure: nothing the peer did.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store has no account yet.
    #[error("no account in this store: create or recover one first")]
    NoAccount,
    /// The mnemonic is wrong (word count, unknown word, checksum) or derivation failed.
    #[error("account: {0}")]
    Account(#[from] pfs_x3dh::AccountError),
    /// The store already holds an account.
    #[error("this store already holds an account")]
    AccountExists,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Randomness or a local key operation failed.
    #[error("local cryptographic failure: {0}")]
    Crypto(#[from] CryptoError),
    /// Stored data could not be decoded (a session state, a key).
    #[error("corrupt stored state: {0}")]
    Corrupt(String),
    /// An unknown installation was named.
    #[error("unknown installation {:?}", .0.as_str())]
    UnknownInstallation(pfs_x3dh::InstallationId),
    /// Too many devices are already enabled.
    #[error("at most {0} devices can be enabled; disable one first")]
    TooManyDevices(usize),
    /// The caller asked for something the state does not allow.
    #[error("{0}")]
    Invalid(String),
}

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A local failure.
    #[error(transparent)]
    Local(#[from] EngineError),
}

impl From<StoreError> for SendError {
    fn from(e: StoreError) -> Self {
        Self::Local(EngineError::Store(e))
    }
}
impl From<CryptoError> for SendError {
    fn from(e: CryptoError) -> Self {
        Self::Local(EngineError::Crypto(e))
    }
}

/// Why a received message was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The bytes are not a valid `ProtocolMessage` (peer's fault).
    #[error("malformed message: {0}")]
    Malformed(#[from] pfs_wire::WireError),
    /// A bundle in the message failed verification (peer's fault); nothing was stored.
    #[error("invalid bundle: {0}")]
    InvalidBundle(#[source] pfs_x3dh::BundleError),
    /// A contact code does not decode to a valid bundle.
    #[error("invalid contact code: {0}")]
    InvalidContactCode(#[source] pfs_x3dh::ContactCodeError),
    /// A header is malformed (wrong key length, missing DR header, …) (peer's fault).
    #[error("invalid header: {0}")]
    InvalidHeader(String),
    /// The message has no entry for this installation (status-go `ErrDeviceNotFound`):
    /// a partitioned or unpaired device. A bundle reply may have been queued.
    #[error("device not found: the message is not addressed to this installation")]
    DeviceNotFound,
    /// The message came from one of our own devices but has no entry for us
    /// (status-go `ErrNotPairedDevice`).
    #[error("received a message from not paired device")]
    NotPairedDevice,
    /// The X3DH header names a signed prekey we do not have (e.g. after account recovery).
    /// A bundle reply may have been queued.
    #[error("unknown signed prekey: the sender used a bundle this installation does not have")]
    UnknownSignedPreKey,
    /// No session matches the DR header (status-go "session not found"). A bundle reply may
    /// have been queued so that the peer starts a new session.
    #[error("session not found")]
    SessionNotFound,
    /// An initial (X3DH) message was replayed after its session was deleted.
    #[error("replayed initial message")]
    Replay,
    /// The ratchet refused the message: bad MAC, duplicate, gap too large, …
    #[error("ratchet: {0}")]
    Ratchet(#[from] pfs_ratchet::DecryptError),
    /// The no-PFS (DH header) payload failed to decrypt.
    #[error("DH-header message failed to decrypt: {0}")]
    DhDecrypt(CryptoError),
    /// The sender's contact request was declined: the message is dropped.
    #[error("message dropped: the sender's contact request was declined")]
    Declined,
    /// The sender is blocked: every message of theirs is dropped (contact requests too),
    /// before its bundles are stored, and no bundle reply is sent.
    #[error("message dropped: the sender is blocked")]
    Blocked,
    /// A local failure.
    #[error(transparent)]
    Local(#[from] EngineError),
}

impl ReceiveError {
    /// True for the situations a bundle reply resolves (the message was not for this
    /// device, or for a session or prekey it does not have: a partitioned device, a
    /// recovered account). [`crate::Engine::decrypt`] queues one for these, rate-limited.
    ///
    /// ```
    /// use pfs_protocol::ReceiveError;
    /// assert!(ReceiveError::SessionNotFound.wants_bundle_reply());
    /// assert!(!ReceiveError::Replay.wants_bundle_reply());
    /// assert!(!ReceiveError::SessionNotFound.is_peer_fault());
    /// ```
    pub fn wants_bundle_reply(&self) -> bool {
        matches!(
            self,
            Self::DeviceNotFound
                | Self::NotPairedDevice
                | Self::SessionNotFound
                | Self::UnknownSignedPreKey
        )
    }

    /// True when the peer (or an attacker) is at fault, false for local failures and for
    /// situations a bundle reply resolves.
    pub fn is_peer_fault(&self) -> bool {
        matches!(
            self,
            Self::Malformed(_)
                | Self::InvalidBundle(_)
                | Self::InvalidContactCode(_)
                | Self::InvalidHeader(_)
                | Self::Replay
                | Self::Ratchet(_)
                | Self::DhDecrypt(_)
        )
    }
}

impl From<StoreError> for ReceiveError {
    fn from(e: StoreError) -> Self {
        Self::Local(EngineError::Store(e))
    }
}
impl From<CryptoError> for ReceiveError {
    fn from(e: CryptoError) -> Self {
        Self::Local(EngineError::Crypto(e))
    }
}
