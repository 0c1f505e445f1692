//! What the engine returns to the application.

use pfs_crypto::SecretBytes;
use pfs_crypto::secp256k1::PublicKey;
use pfs_ratchet::SuiteId;
use pfs_x3dh::{InstallationId, SignedPreKey};

/// Why an outgoing message exists.
///
/// ```
/// # use pfs_protocol::{Config, Engine, ManualClock, MessageId};
/// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
/// #     Ok(Engine::create_account(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         Box::new(clock.clone()),
/// #         Box::new(pfs_crypto::OsRandom),
/// #         Config::default(),
/// #     )?.0)
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = ManualClock::new(1_700_000_000_000_000_000);
/// use pfs_protocol::OutgoingKind;
/// let (mut alice, mut bob, mut carol) = (new_engine(&clock)?, new_engine(&clock)?, new_engine(&clock)?);
/// alice.process_bundle(&bob.own_bundle()?)?;
/// let out = alice.send(bob.identity(), b"hi")?;
/// assert_eq!(out[0].kind, OutgoingKind::Message);
/// assert_eq!(alice.encrypt_public(b"to all")?.kind, OutgoingKind::Public);
/// // a message Carol cannot read makes her queue her bundle for the sender
/// let m = alice.encrypt_for(bob.identity(), b"for Bob", false)?;
/// assert!(carol.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"1")).is_err());
/// let replies = carol.take_outgoing();
/// assert_eq!(replies.len(), 1);
/// assert_eq!((replies[0].kind, &replies[0].recipient), (OutgoingKind::BundleReply, alice.identity()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutgoingKind {
    /// A message the application asked to send.
    Message,
    /// The copy of a message for our own paired devices (addressed to our own identity,
    /// so it travels on our own topic, as status-go reaches paired devices).
    OwnDevicesCopy,
    /// An empty message carrying our bundle: the reply to a partitioned device or to a
    /// message we could not decrypt (account recovery).
    BundleReply,
    /// A public (unencrypted) message.
    Public,
}

/// An encoded `ProtocolMessage` ready for the transport.
///
/// ```
/// # use pfs_protocol::{Config, Engine, ManualClock, MessageId};
/// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
/// #     Ok(Engine::create_account(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         Box::new(clock.clone()),
/// #         Box::new(pfs_crypto::OsRandom),
/// #         Config::default(),
/// #     )?.0)
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = ManualClock::new(1_700_000_000_000_000_000);
/// let (mut alice, mut bob) = (new_engine(&clock)?, new_engine(&clock)?);
/// // without Bob's bundle: one entry, not forward secret
/// let first = alice.encrypt_for(bob.identity(), b"hi", false)?;
/// assert!(!first.forward_secret);
/// assert_eq!(first.entries.len(), 1);
/// alice.process_bundle(&bob.own_bundle()?)?;
/// let m = alice.encrypt_for(bob.identity(), b"hi", false)?;
/// assert_eq!(&m.recipient, bob.identity());
/// assert!(m.forward_secret);
/// assert_eq!((m.targeted.as_slice(), m.entries.as_slice()), (std::slice::from_ref(bob.installation()), std::slice::from_ref(bob.installation())));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The identity the message is addressed to (the transport encrypts to this key).
    pub recipient: PublicKey,
    /// The encoded `ProtocolMessage`.
    pub bytes: Vec<u8>,
    /// Why it exists.
    pub kind: OutgoingKind,
    /// The installations selected as targets, in selection order.
    pub targeted: Vec<InstallationId>,
    /// The installations an entry was built for (`"none"` for the no-bundle path, the
    /// key status-go gives that entry on the wire).
    pub entries: Vec<InstallationId>,
    /// False when sent without forward secrecy (no bundle of the recipient: DH header).
    pub forward_secret: bool,
    /// status-go's negotiated secret (ECDH of the identity keys) when every addressed
    /// installation has advertised protocol version ≥ 1 to us: the transport may then use
    /// the negotiated topic and key.
    pub agreed_secret: Option<SecretBytes<32>>,
}

/// What kind of message was received.
///
/// ```
/// # use pfs_protocol::{Config, Engine, ManualClock, MessageId};
/// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
/// #     Ok(Engine::create_account(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         Box::new(clock.clone()),
/// #         Box::new(pfs_crypto::OsRandom),
/// #         Config::default(),
/// #     )?.0)
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = ManualClock::new(1_700_000_000_000_000_000);
/// use pfs_protocol::DeliveredKind;
/// let (mut alice, mut bob) = (new_engine(&clock)?, new_engine(&clock)?);
/// alice.process_bundle(&bob.own_bundle()?)?;
/// let direct = alice.encrypt_for(bob.identity(), b"hi", false)?;
/// assert_eq!(bob.decrypt(alice.identity(), &direct.bytes, &MessageId::from(b"1"))?.kind, DeliveredKind::Direct);
/// let public = alice.encrypt_public(b"to all")?;
/// let got = bob.decrypt(alice.identity(), &public.bytes, &MessageId::from(b"2"))?;
/// assert_eq!((got.kind, got.forward_secret, got.plaintext.as_slice()), (DeliveredKind::Public, false, &b"to all"[..]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveredKind {
    /// A 1:1 message.
    Direct,
    /// A public (unencrypted) message.
    Public,
    /// An empty message whose only purpose was to carry the sender's bundle.
    BundleOnly,
    /// A hash-ratchet (community) message: an entry with only an `HR_header`. Not
    /// decrypted (1:1 only); any group keys it carries are in
    /// [`Delivered::group_keys`].
    HashRatchet,
}

/// A hash-ratchet group key received in an `HR_header` (status-go communities), exposed for
/// applications that want them; a 1:1 client ignores them.
///
/// ```
/// use pfs_protocol::GroupKey;
///
/// let key = GroupKey {
///     group_id: b"community".to_vec(),
///     key: pfs_crypto::SecretVec::new(vec![0xaa; 32]),
///     timestamp: 1,
///     deprecated_key_id: 0,
/// };
/// // the key never shows in Debug output
/// let shown = format!("{key:?}");
/// assert!(shown.contains("<redacted>") && !shown.contains("170"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct GroupKey {
    /// The group (community id, or community id ‖ channel id).
    pub group_id: Vec<u8>,
    /// The key.
    pub key: pfs_crypto::SecretVec,
    /// Its timestamp (ms), 0 for old senders.
    pub timestamp: u64,
    /// status-go's deprecated 32-bit key id.
    pub deprecated_key_id: u32,
}

impl std::fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupKey")
            .field("group_id", &self.group_id)
            .field("key", &"<redacted>")
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// A message that was accepted.
///
/// ```
/// # use pfs_protocol::{Config, Engine, ManualClock, MessageId};
/// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
/// #     Ok(Engine::create_account(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         Box::new(clock.clone()),
/// #         Box::new(pfs_crypto::OsRandom),
/// #         Config::default(),
/// #     )?.0)
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = ManualClock::new(1_700_000_000_000_000_000);
/// let (mut alice, mut bob) = (new_engine(&clock)?, new_engine(&clock)?);
/// alice.process_bundle(&bob.own_bundle()?)?;
/// let m = alice.encrypt_for(bob.identity(), b"hello", false)?;
/// let got = bob.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"1"))?;
/// assert_eq!((&got.sender, got.plaintext.as_slice()), (alice.identity(), &b"hello"[..]));
/// assert_eq!(got.sender_installation.as_ref(), Some(alice.installation()));
/// assert!(got.forward_secret && got.pfs_established);
/// assert!(got.contact_request); // Alice is not a contact of Bob's yet
/// assert!(got.new_installations.iter().any(|(who, id)| who == alice.identity() && id == alice.installation()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The sender identity (as authenticated by the transport).
    pub sender: PublicKey,
    /// The sending installation, as the message names it (`None` when it names none or
    /// an invalid one; only public messages are accepted without one).
    pub sender_installation: Option<InstallationId>,
    /// Kind of message.
    pub kind: DeliveredKind,
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// True when it was protected by a Double Ratchet session.
    pub forward_secret: bool,
    /// The ratchet suite used, for forward-secret messages.
    pub suite: Option<SuiteId>,
    /// True when a session with this sender now exists ("PFS established").
    pub pfs_established: bool,
    /// True when the sender is not (yet) an accepted contact: show it as a contact
    /// request.
    pub contact_request: bool,
    /// Installations learnt from the message's bundles (own ones await approval).
    pub new_installations: Vec<(PublicKey, InstallationId)>,
    /// Hash-ratchet group keys carried by the entry's `HR_header` (communities).
    pub group_keys: Vec<GroupKey>,
}

/// A row of the installation table, as shown to users and compared with vectors.
///
/// ```
/// # use pfs_protocol::{Config, Engine, ManualClock, MessageId};
/// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
/// #     Ok(Engine::create_account(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         Box::new(clock.clone()),
/// #         Box::new(pfs_crypto::OsRandom),
/// #         Config::default(),
/// #     )?.0)
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = ManualClock::new(1_700_000_000_000_000_000);
/// let (mut alice, mut bob) = (new_engine(&clock)?, new_engine(&clock)?);
/// alice.process_bundle(&bob.own_bundle()?)?;
/// let rows = alice.installations()?;
/// let row = rows.iter().find(|r| &r.identity == bob.identity()).ok_or("Bob's device")?;
/// assert_eq!(&row.installation_id, bob.installation());
/// assert!(row.enabled && !row.stale);
/// assert_eq!(row.protocol_version, 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationView {
    /// Identity it belongs to.
    pub identity: PublicKey,
    /// Installation id.
    pub installation_id: InstallationId,
    /// Last activity (bundle timestamp, ns).
    pub timestamp: i64,
    /// Enabled (paired / addressed).
    pub enabled: bool,
    /// Advertised protocol version.
    pub protocol_version: u32,
    /// Marked stale.
    pub stale: bool,
}

/// A session, as shown to users.
///
/// ```
/// # use pfs_protocol::{Config, Engine, ManualClock, MessageId};
/// # fn new_engine(clock: &ManualClock) -> Result<Engine, pfs_protocol::EngineError> {
/// #     Ok(Engine::create_account(
/// #         Box::new(pfs_store::MemoryStore::new()),
/// #         Box::new(clock.clone()),
/// #         Box::new(pfs_crypto::OsRandom),
/// #         Config::default(),
/// #     )?.0)
/// # }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let clock = ManualClock::new(1_700_000_000_000_000_000);
/// use pfs_protocol::SuiteId;
/// let (mut alice, mut bob) = (new_engine(&clock)?, new_engine(&clock)?);
/// alice.process_bundle(&bob.own_bundle()?)?;
/// alice.encrypt_for(bob.identity(), b"hi", false)?;
/// let sessions = alice.sessions()?;
/// assert_eq!(sessions.len(), 1);
/// let s = &sessions[0];
/// assert_eq!((&s.peer, &s.peer_installation), (bob.identity(), bob.installation()));
/// assert_eq!(s.id.installation_id().as_ref(), Some(bob.installation()));
/// assert_eq!(s.suite, SuiteId::Spec);
/// assert!(s.active && s.we_initiated && s.expired_at.is_none());
/// assert_eq!(s.skipped_keys, 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The peer.
    pub peer: PublicKey,
    /// The peer installation.
    pub peer_installation: InstallationId,
    /// status-go's session id.
    pub id: SessionId,
    /// The suite.
    pub suite: SuiteId,
    /// True while it may be used for sending.
    pub active: bool,
    /// We started it.
    pub we_initiated: bool,
    /// Creation time.
    pub created_at: i64,
    /// Last use.
    pub last_used: i64,
    /// Expiry time.
    pub expired_at: Option<i64>,
    /// Skipped message keys held.
    pub skipped_keys: usize,
}

/// Hazardous inspection data recorded when [`crate::Engine::set_inspection`] is on:
/// message keys and associated data of the last operation. For vector replays and
/// debugging only; only with the `inspection` cargo feature.
#[cfg(feature = "inspection")]
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    /// Per entry of the last send: installation id, session id, message key, AD, and for
    /// a new session the X3DH shared secret.
    pub sent: Vec<SentEntryInspection>,
    /// The message key and AD of the last decryption.
    pub received: Option<(SecretBytes<32>, Vec<u8>)>,
}

/// Inspection data of one sent entry (the `inspection` cargo feature).
#[cfg(feature = "inspection")]
#[derive(Debug, Clone)]
pub struct SentEntryInspection {
    /// Target installation.
    pub installation_id: InstallationId,
    /// The session id used.
    pub session_id: SessionId,
    /// The message key.
    pub message_key: SecretBytes<32>,
    /// The associated data.
    pub associated_data: Vec<u8>,
    /// For a session created by this send: the X3DH shared secret.
    pub new_session_sk: Option<SecretBytes<32>>,
}

/// status-go's id of a session: the signed prekey it is rooted in (33 bytes, compressed)
/// followed by the UTF-8 bytes of the peer installation's id. Unique per peer identity.
///
/// ```
/// use pfs_protocol::SessionId;
/// use pfs_x3dh::{InstallationId, SignedPreKey};
/// let spk = SignedPreKey::from_bytes([2; 33]);
/// let phone = InstallationId::new("phone")?;
/// let id = SessionId::new(&spk, &phone);
/// assert_eq!(id.as_bytes().len(), 33 + 5);
/// assert_eq!(id.rooted_prekey(), Some(spk));
/// assert_eq!(id.installation_id(), Some(phone));
/// // an id as recorded elsewhere (a vector file), checked only when read
/// assert_eq!(SessionId::from_bytes(vec![1, 2]).rooted_prekey(), None);
/// assert_eq!(SessionId::from_bytes([[2; 33].as_slice(), b""].concat()).installation_id(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Vec<u8>);

impl SessionId {
    /// The id of the session rooted in `rooted_prekey` with `installation_id`.
    ///
    /// ```
    /// use pfs_protocol::{InstallationId, SessionId};
    /// use pfs_x3dh::SignedPreKey;
    ///
    /// let id = SessionId::new(&SignedPreKey::from_bytes([2; 33]), &InstallationId::new("ab")?);
    /// assert_eq!(id.as_bytes(), [[2; 33].as_slice(), b"ab"].concat());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(rooted_prekey: &SignedPreKey, installation_id: &InstallationId) -> Self {
        let mut id = rooted_prekey.as_bytes().to_vec();
        id.extend_from_slice(installation_id.as_bytes());
        Self(id)
    }

    /// An id given as bytes.
    ///
    /// ```
    /// use pfs_protocol::SessionId;
    ///
    /// // taken as given; the parts are checked when read
    /// let id = SessionId::from_bytes(vec![9; 3]);
    /// assert_eq!(id.as_bytes(), [9, 9, 9]);
    /// assert_eq!((id.rooted_prekey(), id.installation_id()), (None, None));
    /// ```
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The id's bytes.
    ///
    /// ```
    /// use pfs_protocol::SessionId;
    ///
    /// assert_eq!(SessionId::from_bytes(vec![1, 2]).as_bytes(), &[1, 2]);
    /// assert_eq!(format!("{:?}", SessionId::from_bytes(vec![1, 0xab])), "SessionId(01ab)");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The id's bytes, owned.
    ///
    /// ```
    /// use pfs_protocol::SessionId;
    ///
    /// let id = SessionId::from_bytes(vec![2; 40]);
    /// assert_eq!(id.clone().into_bytes(), id.as_bytes());
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The signed prekey part (`None` when shorter than a key).
    ///
    /// ```
    /// use pfs_protocol::SessionId;
    ///
    /// let mut bytes = vec![3; 33];
    /// bytes.extend_from_slice(b"phone");
    /// assert_eq!(SessionId::from_bytes(bytes).rooted_prekey().map(|k| k.to_bytes()), Some([3; 33]));
    /// assert_eq!(SessionId::from_bytes(vec![3; 32]).rooted_prekey(), None); // too short
    /// ```
    pub fn rooted_prekey(&self) -> Option<SignedPreKey> {
        self.0
            .get(..33)
            .and_then(|k| SignedPreKey::from_slice(k).ok())
    }

    /// The installation part (`None` when it is not a valid installation id: absent, not
    /// UTF-8, or too long).
    ///
    /// ```
    /// use pfs_protocol::SessionId;
    ///
    /// let id = |tail: &[u8]| SessionId::from_bytes([[3; 33].as_slice(), tail].concat());
    /// assert_eq!(id(b"phone").installation_id().as_ref().map(|i| i.as_str()), Some("phone"));
    /// assert_eq!(id(&[0xff]).installation_id(), None); // not UTF-8
    /// assert_eq!(id(b"").installation_id(), None); // absent
    /// ```
    pub fn installation_id(&self) -> Option<InstallationId> {
        self.0
            .get(33..)
            .and_then(|rest| std::str::from_utf8(rest).ok())
            .and_then(|s| InstallationId::new(s).ok())
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl AsRef<[u8]> for SessionId {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
