//! The skipped-key store interface: a read-only lookup during decryption and an explicit
//! list of changes to apply afterwards.

use crate::keys::{HexBytes, MessageKey};
use crate::{RatchetState, SkippedKeysError};
use core::fmt;
use serde::{Deserialize, Serialize};

/// Read-only lookup in a skipped-message-key store, keyed by (ratchet public key as on the
/// wire, message number). A store implements it; [`crate::RatchetState::decrypt`] calls it.
///
/// A store over a map, applying the [`SkippedKeyChanges`] a decryption returns:
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{
///     ConfirmMode, Limits, MessageKey, RatchetState, SecretBytes, SkippedKeys, SkippedKeysError,
/// };
/// use std::collections::BTreeMap;
///
/// #[derive(Default)]
/// struct MapStore(BTreeMap<(Vec<u8>, u32), MessageKey>);
/// impl SkippedKeys for MapStore {
///     fn get(&self, key: &[u8], n: u32) -> Result<Option<MessageKey>, SkippedKeysError> {
///         Ok(self.0.get(&(key.to_vec(), n)).cloned())
///     }
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([4; 32]);
/// let (mut alice, mut bob) = (
///     RatchetState::new_spec_initiator(&sk, &mut OsRandom)?,
///     RatchetState::new_spec_responder(&sk)?,
/// );
/// let (mut store, limits, mode) = (
///     MapStore::default(),
///     Limits::default(),
///     ConfirmMode::Immediate,
/// );
/// let (h0, c0) = alice.encrypt(b"zero", b"")?;
/// let (h1, c1) = alice.encrypt(b"one", b"")?;
/// for (h, c, pt) in [(&h1, &c1, &b"one"[..]), (&h0, &c0, &b"zero"[..])] {
///     let d = bob.decrypt(&store, h, c, b"", &mut OsRandom, &limits, mode)?;
///     assert_eq!(d.plaintext, pt);
///     for k in d.changes.insert {
///         store.0.insert((k.ratchet_key.clone(), k.n), k.mk.clone());
///     }
///     for k in d.changes.remove {
///         store.0.remove(&k);
///     }
///     bob = d.state;
/// }
/// assert!(store.0.is_empty()); // message 0's key was stored, then used and removed
/// # Ok(())
/// # }
/// ```
pub trait SkippedKeys {
    /// The stored message key for `(ratchet_key, n)`, if any.
    fn get(&self, ratchet_key: &[u8], n: u32) -> Result<Option<MessageKey>, SkippedKeysError>;
}

/// An empty store (no skipped keys): useful for one-shot decryptions and tests.
impl SkippedKeys for () {
    fn get(&self, _ratchet_key: &[u8], _n: u32) -> Result<Option<MessageKey>, SkippedKeysError> {
        Ok(None)
    }
}

/// Limits of the skipped-key store. The defaults are status-go's.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, DecryptError, Limits, RatchetState, SecretBytes, Session};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let d = Limits::default();
/// assert_eq!(
///     (d.max_skip, d.max_keys_per_session, d.max_keep),
///     (1000, 2000, 3000)
/// );
///
/// let sk = SecretBytes::new([4; 32]);
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let tight = Limits { max_skip: 2, ..d };
/// let mut bob = Session::new(
///     RatchetState::new_spec_responder(&sk)?,
///     tight,
///     ConfirmMode::Immediate,
/// );
/// for _ in 0..3 {
///     alice.encrypt(b"lost", b"")?;
/// }
/// let (h, c) = alice.encrypt(b"fourth", b"")?; // n = 3: three keys to skip
/// assert!(matches!(
///     bob.decrypt(&h, &c, b"", &mut OsRandom),
///     Err(DecryptError::TooManySkipped {
///         until: 3,
///         max_skip: 2,
///         ..
///     })
/// ));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Most message keys skipped in one chain by one message (status-go `MaxSkip` = 1000).
    pub max_skip: u32,
    /// Most keys kept per session: the newest by sequence number are kept
    /// (status-go `MaxMessageKeysPerSession` = 2000).
    pub max_keys_per_session: usize,
    /// Keys whose sequence number is at or below `keys_count − max_keep` are deleted
    /// (status-go `MaxKeep` = 3000).
    pub max_keep: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_skip: 1000,
            max_keys_per_session: 2000,
            max_keep: 3000,
        }
    }
}

/// What happens to the message key a decryption used.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, DecryptError, Limits, RatchetState, SecretBytes, Session};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([4; 32]);
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let (h, c) = alice.encrypt(b"once", b"")?;
/// let mut bob = Session::new(
///     RatchetState::new_spec_responder(&sk)?,
///     Limits::default(),
///     ConfirmMode::default(),
/// );
/// assert_eq!(bob.mode(), ConfirmMode::Immediate);
/// let (_, receipt) = bob.decrypt(&h, &c, b"", &mut OsRandom)?;
/// assert!(receipt.is_none());
/// // The key is gone at once: a replay is refused.
/// let replay = bob.decrypt(&h, &c, b"", &mut OsRandom);
/// assert_eq!(
///     replay.err(),
///     Some(DecryptError::DuplicateOrEvicted {
///         n: 0,
///         recv_chain_n: 1
///     })
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ConfirmMode {
    /// The used key is deleted at once: a replay gets [`crate::DecryptError::DuplicateOrEvicted`]
    /// (or another error, never a second plaintext).
    #[default]
    Immediate,
    /// status-go: the used key is kept in the skipped-key store (with the next sequence
    /// number) until the application confirms the message; until then a duplicate delivery
    /// decrypts again. Each decryption returns a [`Receipt`] to confirm with.
    TwoPhase,
}

/// Names the stored key of a decrypted message, to delete once the application has
/// processed it ([`ConfirmMode::TwoPhase`]).
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, Receipt, SecretBytes, Session};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]);
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let bob = RatchetState::new_spec_responder(&sk)?;
/// let mut bob = Session::new(bob, Limits::default(), ConfirmMode::TwoPhase);
/// let (h, c) = alice.encrypt(b"hi", b"")?;
/// let (_, receipt) = bob.decrypt(&h, &c, b"", &mut OsRandom)?;
/// let receipt = receipt.ok_or("two-phase decryption returns a receipt")?;
/// assert_eq!(receipt, Receipt { ratchet_key: h.key.clone(), n: 0 });
/// assert!(bob.confirm(&receipt));
/// assert!(!bob.confirm(&receipt)); // already confirmed
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Receipt {
    /// The ratchet public key of the message's chain, as on the wire.
    pub ratchet_key: Vec<u8>,
    /// The message number.
    pub n: u32,
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("ratchet_key", &HexBytes(&self.ratchet_key))
            .field("n", &self.n)
            .finish()
    }
}

/// A message key to add to the store.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]); // from X3DH
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let bob = RatchetState::new_spec_responder(&sk)?;
/// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
/// let lost = alice.encrypt_detailed(b"lost", b"")?;
/// let (h1, c1) = alice.encrypt(b"second", b"")?;
/// let d = bob.decrypt(&(), &h1, &c1, b"", &mut OsRandom, &limits, mode)?;
/// let [new] = &d.changes.insert[..] else { panic!("one skipped key") };
/// assert_eq!((&new.ratchet_key, new.n), (&lost.header.key, 0));
/// assert_eq!(new.mk, lost.message_key); // the key Alice used for message 0
/// assert_eq!(new.seq, 0); // the first in the store
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct NewSkippedKey {
    /// The ratchet public key of the chain, as on the wire.
    pub ratchet_key: Vec<u8>,
    /// The message number.
    pub n: u32,
    /// The message key.
    pub mk: MessageKey,
    /// The store sequence number (status-go `seq_num`), used for eviction.
    pub seq: u64,
}

impl fmt::Debug for NewSkippedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSkippedKey")
            .field("ratchet_key", &HexBytes(&self.ratchet_key))
            .field("n", &self.n)
            .field("mk", &self.mk)
            .field("seq", &self.seq)
            .finish()
    }
}

/// Exactly what the caller must apply to its skipped-key store for this session after a
/// successful decryption, in this order: insert `insert`; delete `remove`; keep only the
/// newest `keep_newest` keys of the session by `seq`; delete the session's keys with
/// `seq ≤ delete_seq_at_or_below`.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
/// use pfs_ratchet::{MessageKey, SkippedKeys, SkippedKeysError};
///
/// #[derive(Default)]
/// struct Store(std::collections::HashMap<(Vec<u8>, u32), MessageKey>);
/// impl SkippedKeys for Store {
///     fn get(&self, key: &[u8], n: u32) -> Result<Option<MessageKey>, SkippedKeysError> {
///         Ok(self.0.get(&(key.to_vec(), n)).cloned())
///     }
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]); // from X3DH
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let bob = RatchetState::new_spec_responder(&sk)?;
/// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
/// let (h0, c0) = alice.encrypt(b"first", b"")?;
/// let (h1, c1) = alice.encrypt(b"second", b"")?;
/// let d1 = bob.decrypt(&(), &h1, &c1, b"", &mut OsRandom, &limits, mode)?;
/// assert_eq!(d1.changes.insert.len(), 1); // message 0's key, to store
/// let mut store = Store::default();
/// for k in &d1.changes.insert {
///     store.0.insert((k.ratchet_key.clone(), k.n), k.mk.clone());
/// }
/// let d0 = d1.state.decrypt(&store, &h0, &c0, b"", &mut OsRandom, &limits, mode)?;
/// assert_eq!(d0.plaintext, b"first");
/// assert_eq!(d0.changes.remove, [(h0.key.clone(), 0)]); // used: delete it
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SkippedKeyChanges {
    /// Keys to insert.
    pub insert: Vec<NewSkippedKey>,
    /// Keys to delete, as (ratchet key, message number).
    pub remove: Vec<(Vec<u8>, u32)>,
    /// How many keys to keep per session (the newest by `seq`); `usize::MAX` keeps all.
    pub keep_newest: usize,
    /// Delete the session's keys with `seq` at or below this value.
    pub delete_seq_at_or_below: Option<u64>,
}

impl SkippedKeyChanges {
    /// True when nothing is inserted or removed. (Eviction rules alone only delete keys a
    /// previous change already made eligible.)
    ///
    /// ```
    /// use pfs_ratchet::SkippedKeyChanges;
    /// let only_eviction = SkippedKeyChanges {
    ///     keep_newest: 10,
    ///     delete_seq_at_or_below: Some(3),
    ///     ..Default::default()
    /// };
    /// assert!(only_eviction.is_empty());
    /// let removal = SkippedKeyChanges {
    ///     remove: vec![(vec![2; 33], 0)],
    ///     ..Default::default()
    /// };
    /// assert!(!removal.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty() && self.remove.is_empty()
    }
}

/// The result of a successful [`crate::RatchetState::decrypt`].
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]); // from X3DH
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let bob = RatchetState::new_spec_responder(&sk)?;
/// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
/// let sent = alice.encrypt_detailed(b"hello", b"ad")?;
/// let d = bob.decrypt(&(), &sent.header, &sent.ciphertext, b"ad", &mut OsRandom, &limits, mode)?;
/// assert_eq!(d.plaintext, b"hello");
/// assert_eq!((d.message_key, d.associated_data), (sent.message_key, sent.associated_data));
/// assert!(d.changes.is_empty() && d.receipt.is_none());
/// assert_eq!(d.state.recv_chain_n(), 1); // the new state replaces `bob`
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Decrypted {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The new ratchet state: replace the old one with it.
    pub state: RatchetState,
    /// The changes to apply to the skipped-key store.
    pub changes: SkippedKeyChanges,
    /// The message key used.
    pub message_key: MessageKey,
    /// The associated data used: `ad_prefix ‖ LE32(n) ‖ LE32(pn) ‖ key`.
    pub associated_data: Vec<u8>,
    /// In [`ConfirmMode::TwoPhase`], the key to confirm once the message is processed.
    pub receipt: Option<Receipt>,
}
