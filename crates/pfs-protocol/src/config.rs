//! Engine configuration: every number of the protocol, in one place.

use crate::clock::{DAY, HOUR};

/// Which Double Ratchet suite the engine starts new sessions with.
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
/// # use pfs_protocol::SuiteId;
/// let (mut alice, mut bob) = (new_engine(&clock)?, new_engine(&clock)?);
/// // a status-go peer (protocol version 1) gets status-go's suite
/// let (mut old, _) = Engine::create_account(
///     Box::new(pfs_store::MemoryStore::new()),
///     Box::new(clock.clone()),
///     Box::new(pfs_crypto::OsRandom),
///     Config::status_go_compatible(),
/// )?;
/// alice.process_bundle(&bob.own_bundle()?)?;
/// alice.process_bundle(&old.own_bundle()?)?;
/// let to_bob = alice.encrypt_for(bob.identity(), b"hi", false)?;
/// let to_old = alice.encrypt_for(old.identity(), b"hi", false)?;
/// assert_eq!(bob.decrypt(alice.identity(), &to_bob.bytes, &MessageId::from(b"1"))?.suite, Some(SuiteId::Spec));
/// assert_eq!(old.decrypt(alice.identity(), &to_old.bytes, &MessageId::from(b"2"))?.suite, Some(SuiteId::StatusGo));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuitePreference {
    /// Always the status-go wire-compatible secp256k1 suite.
    StatusGo,
    /// The specification's X25519 suite when the peer installation advertises protocol
    /// version ≥ 2 (pfs peers), the status-go suite otherwise.
    SpecWhenSupported,
}

/// What happens to a message key after a successful decryption.
pub use pfs_ratchet::ConfirmMode;

/// The engine's parameters. [`Config::default`] is the full specification;
/// [`Config::status_go_compatible`] behaves exactly like deployed status-go (used to
/// replay its recorded runs).
///
/// ```
/// use pfs_protocol::{Config, SuitePreference};
///
/// // the specification's numbers (spec §4.2, §6)
/// let config = Config::default();
/// assert_eq!(config.max_installations, 3);
/// assert_eq!(config.prekey_rotation_ns, 24 * 3_600 * 1_000_000_000);
/// assert_eq!(config.expired_session_retention_ns, Some(14 * 24 * 3_600 * 1_000_000_000));
/// assert_eq!(config.stale_device_after_ns, Some(7 * 24 * 3_600 * 1_000_000_000));
/// assert_eq!((config.protocol_version, config.suite), (2, SuitePreference::SpecWhenSupported));
/// assert!(config.contact_requests && config.durable_sends);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Most installations a message is encrypted to (spec §4.2: 3). Our own bundle lists
    /// ours plus at most `max_installations − 1` paired devices.
    pub max_installations: usize,
    /// Age after which our signed prekey is replaced (24 h).
    pub prekey_rotation_ns: i64,
    /// Our signed bundle is re-signed when its content changes or when it is older than
    /// this (0: every time it is attached, as status-go does).
    pub bundle_resign_interval_ns: i64,
    /// Expired sessions (and expired prekeys without live sessions) are deleted this long
    /// after expiry (spec: 14 days). `None`: kept forever (status-go).
    pub expired_session_retention_ns: Option<i64>,
    /// A device is marked stale when no bundle listed it for this long while bundles of
    /// its identity arrived (spec: 7 days). `None`: never (status-go).
    pub stale_device_after_ns: Option<i64>,
    /// At most one bundle reply (partitioned device, account recovery) per sender per this
    /// interval (2 h).
    pub bundle_reply_interval_ns: i64,
    /// The protocol version we advertise in our bundle (1: status-go; 2: also speaks the
    /// spec suite).
    pub protocol_version: u32,
    /// Suite for sessions we start.
    pub suite: SuitePreference,
    /// Ratchet limits (MaxSkip, keys per session, MaxKeep).
    pub ratchet_limits: pfs_ratchet::Limits,
    /// Decoding limits for untrusted messages.
    pub wire_limits: pfs_wire::Limits,
    /// When used message keys are deleted.
    pub confirm_mode: ConfirmMode,
    /// Track contact requests (first messages from unknown identities; declined senders
    /// are dropped). Off in status-go mode, where every sender is delivered.
    pub contact_requests: bool,
    /// Send bundle replies to partitioned devices and after failed decryptions.
    pub bundle_replies: bool,
    /// Run maintenance (expiry, stale devices) automatically at most this often.
    pub maintenance_interval_ns: Option<i64>,
    /// Encrypting transactions are durable at commit even on a store that otherwise
    /// trades durability for speed ([`pfs_store::Store::begin_durable`]: a SQLite store in
    /// `synchronous=NORMAL` syncs its WAL for them). Without it, a power failure right
    /// after a send can roll the sending chain back, and the next message would reuse the
    /// lost message's key (AES-CTR keystream reuse). Costs one fsync per send. Receiving
    /// stays at the store's setting: a lost receive only means the message decrypts again.
    pub durable_sends: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_installations: 3,
            prekey_rotation_ns: DAY,
            bundle_resign_interval_ns: 60 * crate::clock::SECOND,
            expired_session_retention_ns: Some(14 * DAY),
            stale_device_after_ns: Some(7 * DAY),
            bundle_reply_interval_ns: 2 * HOUR,
            protocol_version: 2,
            suite: SuitePreference::SpecWhenSupported,
            ratchet_limits: pfs_ratchet::Limits::default(),
            wire_limits: pfs_wire::Limits::default(),
            confirm_mode: ConfirmMode::Immediate,
            contact_requests: true,
            bundle_replies: true,
            maintenance_interval_ns: Some(HOUR),
            durable_sends: true,
        }
    }
}

impl Config {
    /// Exactly deployed status-go's behaviour: status-go suite, protocol version 1, every
    /// bundle re-signed at each send, no expiry deletion, no stale devices, two-phase
    /// message keys, no contact-request filtering, no automatic replies.
    ///
    /// ```
    /// use pfs_protocol::config::ConfirmMode;
    /// use pfs_protocol::{Config, SuitePreference};
    ///
    /// let config = Config::status_go_compatible();
    /// assert_eq!((config.protocol_version, config.suite), (1, SuitePreference::StatusGo));
    /// assert_eq!(config.confirm_mode, ConfirmMode::TwoPhase);
    /// assert_eq!((config.expired_session_retention_ns, config.stale_device_after_ns), (None, None));
    /// assert!(!config.contact_requests && !config.bundle_replies);
    /// // the rest as the specification
    /// assert_eq!(config.max_installations, Config::default().max_installations);
    /// ```
    pub fn status_go_compatible() -> Self {
        Self {
            bundle_resign_interval_ns: 0,
            expired_session_retention_ns: None,
            stale_device_after_ns: None,
            protocol_version: 1,
            suite: SuitePreference::StatusGo,
            confirm_mode: ConfirmMode::TwoPhase,
            contact_requests: false,
            bundle_replies: false,
            maintenance_interval_ns: None,
            ..Self::default()
        }
    }
}
