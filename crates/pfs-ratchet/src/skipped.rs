//! The skipped-key store interface: a read-only lookup during decryption and an explicit
//! list of changes to apply afterwards.

use crate::keys::{HexBytes, MessageKey};
use crate::{RatchetState, SkippedKeysError};
use core::fmt;
use serde::{Deserialize, Serialize};

/// Read-only lookup in a skipped-message-key store, keyed by (ratchet public key as on the
/// wire, message number). A store implements it; [`crate::RatchetState::decrypt`] calls it.
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
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty() && self.remove.is_empty()
    }
}

/// The result of a successful [`crate::RatchetState::decrypt`].
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
