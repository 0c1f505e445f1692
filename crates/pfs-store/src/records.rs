//! Plain records kept by the stores.

use crate::Nanos;
use pfs_crypto::{SecretBytes, SecretVec};
use pfs_x3dh::{EphemeralKey, IdentityKey, InstallationId, SignedPreKey};

/// Our own account.
///
/// ```
/// use pfs_crypto::SecretBytes;
/// use pfs_store::{AccountRecord, InstallationId, MemoryStore, Store};
///
/// let mut store = MemoryStore::new();
/// let account = AccountRecord {
///     identity_secret: SecretBytes::new([1; 32]),
///     installation_id: InstallationId::new("laptop")?,
///     created_at: 5,
/// };
/// let mut tx = store.begin()?;
/// tx.put_account(&account)?;
/// tx.commit()?;
/// assert_eq!(store.begin()?.account()?, Some(account));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// The 32-byte secp256k1 identity secret key.
    pub identity_secret: SecretBytes<32>,
    /// Our installation id.
    pub installation_id: InstallationId,
    /// When the account (this installation) was created or recovered.
    pub created_at: Nanos,
}

/// One of our signed prekeys.
///
/// ```
/// use pfs_crypto::SecretBytes;
/// use pfs_store::{MemoryStore, OwnPreKeyRecord, SignedPreKey, Store};
///
/// let prekey = |b, version| OwnPreKeyRecord {
///     public: SignedPreKey::from_bytes([b; 33]),
///     secret: SecretBytes::new([b; 32]),
///     version,
///     created_at: 0,
///     expired_at: None,
/// };
/// let mut store = MemoryStore::new();
/// let mut tx = store.begin()?;
/// tx.put_own_prekey(&prekey(3, 2))?;
/// tx.put_own_prekey(&prekey(4, 1))?;
/// // ordered by version
/// assert_eq!(tx.own_prekeys()?, [prekey(4, 1), prekey(3, 2)]);
/// tx.delete_own_prekey(&SignedPreKey::from_bytes([4; 33]))?;
/// assert_eq!(tx.own_prekey(&SignedPreKey::from_bytes([4; 33]))?, None);
/// # Ok::<(), pfs_store::StoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnPreKeyRecord {
    /// Its public key (also its id on the wire).
    pub public: SignedPreKey,
    /// 32-byte secret key.
    pub secret: SecretBytes<32>,
    /// Rotation counter (1, 2, …).
    pub version: u32,
    /// When it was generated.
    pub created_at: Nanos,
    /// When it was replaced by a newer prekey (no new sessions are rooted in it after).
    pub expired_at: Option<Nanos>,
}

/// An installation (device) of an identity: ours (paired devices) or a peer's.
///
/// ```
/// use pfs_store::{IdentityKey, InstallationId, InstallationRecord, MemoryStore, Store};
///
/// let alice = IdentityKey::from_bytes([2; 33]);
/// let device = |id: &str, missing_since| -> Result<InstallationRecord, Box<dyn std::error::Error>> {
///     Ok(InstallationRecord {
///         identity: alice,
///         installation_id: InstallationId::new(id)?,
///         timestamp: 10,
///         enabled: true,
///         protocol_version: 1,
///         first_seen: 1,
///         last_bundle_at: 10,
///         missing_since,
///         stale: false,
///         heard_with_protocol_version: false,
///     })
/// };
/// let mut store = MemoryStore::new();
/// let mut tx = store.begin()?;
/// tx.put_installation(&device("phone", None)?)?;
/// tx.put_installation(&device("laptop", Some(50))?)?;
/// // ordered by installation id
/// assert_eq!(tx.installations(&alice)?, [device("laptop", Some(50))?, device("phone", None)?]);
/// assert!(tx.installations_missing_until(49)?.is_empty());
/// assert_eq!(tx.installations_missing_until(50)?, [device("laptop", Some(50))?]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationRecord {
    /// The identity the installation belongs to.
    pub identity: IdentityKey,
    /// Its installation id.
    pub installation_id: InstallationId,
    /// Last activity: the newest bundle timestamp (sender's clock, ns) that listed it.
    pub timestamp: Nanos,
    /// Whether messages are sent to it (own devices need approval).
    pub enabled: bool,
    /// The protocol version it advertised.
    pub protocol_version: u32,
    /// When we first learnt of it (our clock).
    pub first_seen: Nanos,
    /// When a bundle listing it was last processed (our clock).
    pub last_bundle_at: Nanos,
    /// When a bundle of the same identity that did NOT list it started its stale timer
    /// (our clock); `None` while it is listed.
    pub missing_since: Option<Nanos>,
    /// Marked stale: no bundle for 7 days while its identity sent others.
    pub stale: bool,
    /// We decrypted a message from it whose bundle advertised protocol version ≥ 1
    /// (status-go's negotiated-secret bookkeeping).
    pub heard_with_protocol_version: bool,
}

/// A signed prekey of a peer's installation, as learnt from a verified bundle.
///
/// ```
/// use pfs_store::{IdentityKey, InstallationId, MemoryStore, PeerPreKeyRecord, SignedPreKey, Store};
///
/// let prekey = |b: u8, version| -> Result<PeerPreKeyRecord, Box<dyn std::error::Error>> {
///     Ok(PeerPreKeyRecord {
///         identity: IdentityKey::from_bytes([2; 33]),
///         installation_id: InstallationId::new("phone")?,
///         public: SignedPreKey::from_bytes([b; 33]),
///         version,
///         protocol_version: 1,
///         bundle_timestamp: 0,
///         expired: false,
///         received_at: 0,
///     })
/// };
/// let mut store = MemoryStore::new();
/// let mut tx = store.begin()?;
/// tx.put_peer_prekey(&prekey(3, 1)?)?;
/// tx.put_peer_prekey(&prekey(4, 2)?)?;
/// // highest version first
/// let got = tx.peer_prekeys(&IdentityKey::from_bytes([2; 33]), &InstallationId::new("phone")?)?;
/// assert_eq!(got, [prekey(4, 2)?, prekey(3, 1)?]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPreKeyRecord {
    /// The peer's identity.
    pub identity: IdentityKey,
    /// The installation the prekey belongs to.
    pub installation_id: InstallationId,
    /// The prekey.
    pub public: SignedPreKey,
    /// Its version.
    pub version: u32,
    /// The protocol version advertised with it.
    pub protocol_version: u32,
    /// The timestamp of the bundle it came in (ns, sender's clock).
    pub bundle_timestamp: Nanos,
    /// Superseded by a higher version.
    pub expired: bool,
    /// When we received it (our clock).
    pub received_at: Nanos,
}

/// Identifies a session: the peer's identity and status-go's session id
/// (`signed prekey (33 bytes) ‖ UTF-8 of the peer's installation id`).
///
/// ```
/// use pfs_store::{IdentityKey, SessionKey};
///
/// // status-go's session id: signed prekey (33 bytes) ‖ the peer's installation id
/// let mut id = vec![3; 33];
/// id.extend_from_slice(b"their-phone");
/// let key = SessionKey { peer_identity: IdentityKey::from_bytes([2; 33]), id };
/// assert_eq!(key.id.len(), 33 + 11);
/// assert!(key < SessionKey { peer_identity: IdentityKey::from_bytes([3; 33]), id: vec![] });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey {
    /// The peer's identity.
    pub peer_identity: IdentityKey,
    /// The session id.
    pub id: Vec<u8>,
}

/// A ratchet session with one installation of a peer.
///
/// ```
/// # use pfs_crypto::{SecretBytes, SecretVec};
/// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
/// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
/// #     Ok(SessionRecord {
/// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
/// #         peer_installation: InstallationId::new("their-phone")?,
/// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
/// #         we_initiated: true,
/// #         suite: RatchetSuite::StatusGo,
/// #         state: SecretVec::new(vec![1, 2, 3]),
/// #         shared_secret: SecretBytes::new([4; 32]),
/// #         pending_x3dh_ephemeral: None,
/// #         created_at: 1,
/// #         last_used: 2,
/// #         expired_at: None,
/// #     })
/// # }
/// use pfs_store::{MemoryStore, Store};
///
/// let mut store = MemoryStore::new();
/// let (a, b) = (session(2, b"b")?, session(2, b"a")?);
/// let mut tx = store.begin()?;
/// tx.put_session(&a)?;
/// tx.put_session(&b)?;
/// tx.commit()?;
/// let tx = store.begin()?;
/// // ordered by session id
/// assert_eq!(tx.sessions_with(&a.key.peer_identity, &a.peer_installation)?, [b, a.clone()]);
/// assert_eq!(tx.session(&a.key)?.map(|s| s.state.expose().to_vec()), Some(vec![1, 2, 3]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Its key.
    pub key: SessionKey,
    /// The peer installation.
    pub peer_installation: InstallationId,
    /// The signed prekey the session is rooted in (ours or the peer's).
    pub rooted_spk: SignedPreKey,
    /// True when we ran the active (initiator) side of X3DH.
    pub we_initiated: bool,
    /// The ratchet suite.
    pub suite: RatchetSuite,
    /// The serialized ratchet state (secret; encrypted at rest).
    pub state: SecretVec,
    /// The X3DH shared secret (secret; used for the concurrent-session tie-break).
    pub shared_secret: SecretBytes<32>,
    /// The X3DH ephemeral key to repeat in the header until the peer answered.
    pub pending_x3dh_ephemeral: Option<EphemeralKey>,
    /// When the session was created.
    pub created_at: Nanos,
    /// When it last encrypted or decrypted.
    pub last_used: Nanos,
    /// When it stopped being used for sending (deleted 14 days later).
    pub expired_at: Option<Nanos>,
}

/// A stored message key: skipped, or used and awaiting confirmation.
///
/// ```
/// # use pfs_crypto::{SecretBytes, SecretVec};
/// # use pfs_store::{IdentityKey, InstallationId, RatchetSuite, SessionKey, SessionRecord, SignedPreKey};
/// # fn session(peer: u8, id: &[u8]) -> Result<SessionRecord, Box<dyn std::error::Error>> {
/// #     Ok(SessionRecord {
/// #         key: SessionKey { peer_identity: IdentityKey::from_bytes([peer; 33]), id: id.to_vec() },
/// #         peer_installation: InstallationId::new("their-phone")?,
/// #         rooted_spk: SignedPreKey::from_bytes([3; 33]),
/// #         we_initiated: true,
/// #         suite: RatchetSuite::StatusGo,
/// #         state: SecretVec::new(vec![1, 2, 3]),
/// #         shared_secret: SecretBytes::new([4; 32]),
/// #         pending_x3dh_ephemeral: None,
/// #         created_at: 1,
/// #         last_used: 2,
/// #         expired_at: None,
/// #     })
/// # }
/// use pfs_store::{MemoryStore, SkippedKeyRecord, Store};
///
/// let mut store = MemoryStore::new();
/// let s = session(2, b"sid")?;
/// let key = SkippedKeyRecord {
///     ratchet_key: vec![5; 33], n: 7, message_key: SecretBytes::new([9; 32]), seq: 1, pending_message_id: None,
/// };
/// let mut tx = store.begin()?;
/// tx.put_session(&s)?;
/// tx.put_skipped_keys(&s.key, std::slice::from_ref(&key))?;
/// assert_eq!(tx.skipped_key(&s.key, &[5; 33], 7)?, Some(key));
/// tx.delete_skipped_key(&s.key, &[5; 33], 7)?;
/// assert_eq!(tx.skipped_key(&s.key, &[5; 33], 7)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKeyRecord {
    /// The ratchet public key of its chain, as on the wire.
    pub ratchet_key: Vec<u8>,
    /// Its message number in that chain.
    pub n: u32,
    /// The message key (secret; encrypted at rest).
    pub message_key: SecretBytes<32>,
    /// Insertion sequence number (status-go's `seq_num`) used for eviction.
    pub seq: u64,
    /// For a used key kept until the application confirms: the message id.
    pub pending_message_id: Option<MessageId>,
}

/// The relationship with a peer identity.
///
/// ```
/// use pfs_store::{ContactRecord, ContactState, IdentityKey, MemoryStore, Store};
///
/// let mut store = MemoryStore::new();
/// let eve = IdentityKey::from_bytes([9; 33]);
/// let mut tx = store.begin()?;
/// tx.put_contact(&ContactRecord { identity: eve, state: ContactState::RequestReceived, name: None, updated_at: 1 })?;
/// tx.put_contact(&ContactRecord { identity: eve, state: ContactState::Blocked, name: None, updated_at: 2 })?;
/// assert_eq!(tx.contact(&eve)?.map(|c| c.state), Some(ContactState::Blocked)); // replaced
/// tx.delete_contact(&eve)?;
/// assert_eq!(tx.contact(&eve)?, None);
/// # Ok::<(), pfs_store::StoreError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactState {
    /// We added them (contact code or chat key).
    Added,
    /// They wrote first; awaiting our decision.
    RequestReceived,
    /// We accepted their request.
    Accepted,
    /// We declined their request: their messages are dropped except a re-sent request.
    Declined,
    /// We blocked them: every message of theirs is dropped, contact requests included,
    /// and nothing is sent back.
    Blocked,
}

/// A contact.
///
/// ```
/// use pfs_store::{ContactRecord, ContactState, IdentityKey, MemoryStore, Store};
///
/// let mut store = MemoryStore::new();
/// let mut tx = store.begin()?;
/// let contact = |b: u8| ContactRecord { identity: IdentityKey::from_bytes([b; 33]), state: ContactState::Added, name: None, updated_at: 0 };
/// tx.put_contact(&contact(9))?;
/// tx.put_contact(&contact(2))?;
/// // ordered by identity bytes
/// assert_eq!(tx.contacts()?, [contact(2), contact(9)]);
/// # Ok::<(), pfs_store::StoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    /// Their identity.
    pub identity: IdentityKey,
    /// The relationship.
    pub state: ContactState,
    /// A local display name.
    pub name: Option<String>,
    /// When the state last changed.
    pub updated_at: Nanos,
}

/// The Double Ratchet suite of a session, stored as its code (1, 2; the column `suite`).
///
/// ```
/// use pfs_store::RatchetSuite;
///
/// for suite in [RatchetSuite::StatusGo, RatchetSuite::Spec, RatchetSuite::Unknown(7)] {
///     assert_eq!(RatchetSuite::from_code(suite.code()), suite);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RatchetSuite {
    /// status-go's ratchet on secp256k1 (code 1).
    StatusGo,
    /// The specification's ratchet on X25519 (code 2).
    Spec,
    /// A code this version does not know (written by a newer one): kept and written back
    /// unchanged; the engine refuses to use such a session.
    Unknown(u8),
}

impl RatchetSuite {
    /// The stored code.
    ///
    /// ```
    /// use pfs_store::RatchetSuite;
    /// assert_eq!(RatchetSuite::StatusGo.code(), 1);
    /// assert_eq!(RatchetSuite::from_code(2), RatchetSuite::Spec);
    /// assert_eq!(RatchetSuite::from_code(9), RatchetSuite::Unknown(9));
    /// ```
    pub const fn code(self) -> u8 {
        match self {
            Self::StatusGo => 1,
            Self::Spec => 2,
            Self::Unknown(c) => c,
        }
    }

    /// The suite of a stored code.
    ///
    /// ```
    /// use pfs_store::RatchetSuite;
    ///
    /// assert_eq!(RatchetSuite::from_code(1), RatchetSuite::StatusGo);
    /// // a code written by a newer version is kept as it is
    /// assert_eq!(RatchetSuite::from_code(0).code(), 0);
    /// ```
    pub const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::StatusGo,
            2 => Self::Spec,
            c => Self::Unknown(c),
        }
    }
}

/// The id an application gives a received message so that the engine can find the
/// message's kept key again when the application confirms it (`Engine::confirm`): opaque
/// bytes, for pfs-client the 32-byte deterministic hash of the WakuMessage that carried
/// it. Stored as a blob.
///
/// ```
/// use pfs_store::MessageId;
/// let hash = [7u8; 32];
/// let id = MessageId::from(hash);
/// assert_eq!(id.as_bytes(), &hash[..]);
/// assert_eq!(MessageId::from(&hash), id);
/// assert_eq!(MessageId::from(b"m1"), MessageId::new(vec![b'm', b'1']));
/// assert_eq!(format!("{:?}", MessageId::from(b"\x01\xab")), "MessageId(01ab)");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MessageId(Vec<u8>);

impl MessageId {
    /// An id of these bytes.
    ///
    /// ```
    /// use pfs_store::MessageId;
    ///
    /// assert_eq!(MessageId::new(*b"abc").as_bytes(), b"abc");
    /// assert_eq!(MessageId::new(Vec::new()), MessageId::default());
    /// ```
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Its bytes.
    ///
    /// ```
    /// use pfs_store::MessageId;
    ///
    /// assert_eq!(MessageId::from([1u8; 32]).as_bytes(), &[1; 32]);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Its bytes, owned.
    ///
    /// ```
    /// use pfs_store::MessageId;
    ///
    /// assert_eq!(MessageId::from(b"m1").into_bytes(), b"m1".to_vec());
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl From<[u8; 32]> for MessageId {
    fn from(hash: [u8; 32]) -> Self {
        Self(hash.to_vec())
    }
}

impl From<Vec<u8>> for MessageId {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl<T: AsRef<[u8]> + ?Sized> From<&T> for MessageId {
    fn from(bytes: &T) -> Self {
        Self(bytes.as_ref().to_vec())
    }
}

impl AsRef<[u8]> for MessageId {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MessageId(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}
