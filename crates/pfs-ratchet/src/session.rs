//! A ratchet state with an in-memory skipped-key store (for tests, benchmarks and simple
//! embedders). It applies [`SkippedKeyChanges`] exactly as a persistent store must.

use crate::keys::MessageKey;
use crate::skipped::{ConfirmMode, Decrypted, Limits, Receipt, SkippedKeyChanges, SkippedKeys};
use crate::state::{Encrypted, Header, RatchetState};
use crate::{DecryptError, RatchetError, SkippedKeysError};
use pfs_crypto::RandomSource;
use std::collections::BTreeMap;

/// A [`RatchetState`] plus its skipped-key store, the [`Limits`] and the [`ConfirmMode`].
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes, Session};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]);
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let mut bob = Session::new(
///     RatchetState::new_spec_responder(&sk)?,
///     Limits::default(),
///     ConfirmMode::Immediate,
/// );
/// let (h0, _) = alice.encrypt(b"lost", b"")?;
/// let (h1, _) = alice.encrypt(b"lost too", b"")?;
/// let (h2, c2) = alice.encrypt(b"third", b"")?;
/// bob.decrypt(&h2, &c2, b"", &mut OsRandom)?;
/// // The keys of messages 0 and 1 wait in the store (no secrets in the listing).
/// let listed: Vec<u32> = bob
///     .skipped_entries()
///     .into_iter()
///     .map(|(_, n, _)| n)
///     .collect();
/// assert_eq!(listed, [h0.n, h1.n]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Session {
    state: RatchetState,
    keys: MemStore,
    limits: Limits,
    mode: ConfirmMode,
}

/// (ratchet key, n) → (message key, seq).
#[derive(Debug, Clone, Default)]
struct MemStore(BTreeMap<(Vec<u8>, u32), (MessageKey, u64)>);

impl SkippedKeys for MemStore {
    fn get(&self, ratchet_key: &[u8], n: u32) -> Result<Option<MessageKey>, SkippedKeysError> {
        // The common case (nothing skipped) costs no allocation for the lookup key.
        if self.0.is_empty() {
            return Ok(None);
        }
        Ok(self
            .0
            .get(&(ratchet_key.to_vec(), n))
            .map(|(mk, _)| mk.clone()))
    }
}

impl SkippedKeys for Session {
    fn get(&self, ratchet_key: &[u8], n: u32) -> Result<Option<MessageKey>, SkippedKeysError> {
        self.keys.get(ratchet_key, n)
    }
}

impl Session {
    /// A session with an empty skipped-key store.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes, Session, SuiteId};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([9; 32]);
    /// let state = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let session = Session::new(state, Limits::default(), ConfirmMode::TwoPhase);
    /// assert_eq!(session.state().suite_id(), SuiteId::Spec);
    /// assert_eq!(
    ///     (session.mode(), session.skipped_len()),
    ///     (ConfirmMode::TwoPhase, 0)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(state: RatchetState, limits: Limits, mode: ConfirmMode) -> Self {
        Self {
            state,
            keys: MemStore::default(),
            limits,
            mode,
        }
    }

    /// The ratchet state.
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// let (h, c) = alice.encrypt(b"hi", b"")?;
    /// bob.decrypt(&h, &c, b"", &mut OsRandom)?;
    /// assert_eq!(bob.state().dhr(), Some(&h.key[..]));
    /// assert_eq!(bob.state().recv_chain_n(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn state(&self) -> &RatchetState {
        &self.state
    }

    /// The limits in force.
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// # let _ = (&mut alice, &mut bob);
    /// assert_eq!(bob.limits(), &Limits::default());
    /// # Ok(())
    /// # }
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The confirmation mode.
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// # let _ = (&mut alice, &mut bob);
    /// assert_eq!(alice.mode(), ConfirmMode::Immediate);
    /// # Ok(())
    /// # }
    /// ```
    pub fn mode(&self) -> ConfirmMode {
        self.mode
    }

    /// Number of keys in the skipped-key store.
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// alice.encrypt(b"lost", b"")?;
    /// alice.encrypt(b"lost too", b"")?;
    /// let (h, c) = alice.encrypt(b"third", b"")?;
    /// bob.decrypt(&h, &c, b"", &mut OsRandom)?;
    /// assert_eq!(bob.skipped_len(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn skipped_len(&self) -> usize {
        self.keys.0.len()
    }

    /// True when the store holds a key for `(ratchet_key, n)`.
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// let (h0, c0) = alice.encrypt(b"first", b"")?;
    /// let (h1, c1) = alice.encrypt(b"second", b"")?;
    /// bob.decrypt(&h1, &c1, b"", &mut OsRandom)?;
    /// assert!(bob.has_skipped(&h0.key, 0) && !bob.has_skipped(&h0.key, 1));
    /// bob.decrypt(&h0, &c0, b"", &mut OsRandom)?; // used: removed
    /// assert!(!bob.has_skipped(&h0.key, 0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn has_skipped(&self, ratchet_key: &[u8], n: u32) -> bool {
        self.keys.0.contains_key(&(ratchet_key.to_vec(), n))
    }

    /// The store's entries as (ratchet key, n, seq), in key order (no secrets).
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// let (h0, _) = alice.encrypt(b"lost", b"")?;
    /// let (h1, c1) = alice.encrypt(b"second", b"")?;
    /// bob.decrypt(&h1, &c1, b"", &mut OsRandom)?;
    /// let entries = bob.skipped_entries();
    /// assert_eq!(entries.len(), 1);
    /// let (key, n, _seq) = &entries[0];
    /// assert_eq!((key, *n), (&h0.key, 0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn skipped_entries(&self) -> Vec<(Vec<u8>, u32, u64)> {
        self.keys
            .0
            .iter()
            .map(|((k, n), (_, seq))| (k.clone(), *n, *seq))
            .collect()
    }

    /// Encrypts (see [`RatchetState::encrypt`]).
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// let (h0, _) = alice.encrypt(b"one", b"")?;
    /// let (h1, _) = alice.encrypt(b"two", b"")?;
    /// // Both in the same chain: the same ratchet key, message numbers 0 and 1.
    /// assert_eq!((h0.n, h1.n, h0.pn), (0, 1, 0));
    /// assert_eq!(h0.key, h1.key);
    /// assert_eq!(Some(&h0.key[..]), alice.state().dhs_public());
    /// # Ok(())
    /// # }
    /// ```
    pub fn encrypt(
        &mut self,
        plaintext: &[u8],
        ad_prefix: &[u8],
    ) -> Result<(Header, Vec<u8>), RatchetError> {
        self.state.encrypt(plaintext, ad_prefix)
    }

    /// Encrypts (see [`RatchetState::encrypt_detailed`]).
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// let sent = alice.encrypt_detailed(b"hello", b"ad")?;
    /// assert_eq!((sent.header.n, sent.header.pn), (0, 0));
    /// let (plaintext, _) = bob.decrypt(&sent.header, &sent.ciphertext, b"ad", &mut OsRandom)?;
    /// assert_eq!(plaintext, b"hello");
    /// # Ok(())
    /// # }
    /// ```
    pub fn encrypt_detailed(
        &mut self,
        plaintext: &[u8],
        ad_prefix: &[u8],
    ) -> Result<Encrypted, RatchetError> {
        self.state.encrypt_detailed(plaintext, ad_prefix)
    }

    /// Decrypts and, on success only, replaces the state and applies the store changes.
    /// Returns the plaintext and, in [`ConfirmMode::TwoPhase`], the receipt to confirm.
    ///
    /// ```
    /// use pfs_ratchet::DecryptError;
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// let (h0, c0) = alice.encrypt(b"first", b"ad")?;
    /// let (h1, c1) = alice.encrypt(b"second", b"ad")?;
    /// // Out of order: the key of message 0 is kept as a skipped key.
    /// assert_eq!(bob.decrypt(&h1, &c1, b"ad", &mut OsRandom)?.0, b"second");
    /// assert!(bob.has_skipped(&h0.key, 0));
    ///
    /// // A flipped bit is refused, and leaves the session as it was.
    /// let mut forged = c0.clone();
    /// forged[20] ^= 1;
    /// let refused = bob.decrypt(&h0, &forged, b"ad", &mut OsRandom);
    /// assert_eq!(refused.err(), Some(DecryptError::AuthenticationFailed));
    /// assert_eq!(bob.decrypt(&h0, &c0, b"ad", &mut OsRandom)?.0, b"first");
    /// assert_eq!(bob.skipped_len(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn decrypt(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
        ad_prefix: &[u8],
        rng: &mut dyn RandomSource,
    ) -> Result<(Vec<u8>, Option<Receipt>), DecryptError> {
        let d = self.try_decrypt(header, ciphertext, ad_prefix, rng)?;
        // Move, not copy: the caller does not see the new state or the changes.
        self.state = d.state;
        self.apply(d.changes);
        Ok((d.plaintext, d.receipt))
    }

    /// [`Self::decrypt`], returning everything the decryption produced (the `state` field
    /// is a copy of the new state, the `changes` are those just applied).
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// let sent = alice.encrypt_detailed(b"hello", b"ad")?;
    /// let got = bob.decrypt_detailed(&sent.header, &sent.ciphertext, b"ad", &mut OsRandom)?;
    /// // Both sides used the same message key and associated data.
    /// assert_eq!(got.message_key, sent.message_key);
    /// assert_eq!(got.associated_data, sent.associated_data);
    /// assert_eq!(
    ///     (got.plaintext.as_slice(), got.changes.is_empty()),
    ///     (&b"hello"[..], true)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn decrypt_detailed(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
        ad_prefix: &[u8],
        rng: &mut dyn RandomSource,
    ) -> Result<Decrypted, DecryptError> {
        let d = self.try_decrypt(header, ciphertext, ad_prefix, rng)?;
        self.state = d.state.clone();
        self.apply(d.changes.clone());
        Ok(d)
    }

    /// The pure decryption against this session's state, store, limits and mode.
    fn try_decrypt(
        &self,
        header: &Header,
        ciphertext: &[u8],
        ad_prefix: &[u8],
        rng: &mut dyn RandomSource,
    ) -> Result<Decrypted, DecryptError> {
        self.state.decrypt(
            &self.keys,
            header,
            ciphertext,
            ad_prefix,
            rng,
            &self.limits,
            self.mode,
        )
    }

    /// Confirms a processed message ([`ConfirmMode::TwoPhase`]): deletes its key.
    /// Returns whether a key was deleted.
    ///
    /// ```
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::TwoPhase);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::TwoPhase);
    /// let (h, c) = alice.encrypt(b"once", b"")?;
    /// let (_, receipt) = bob.decrypt(&h, &c, b"", &mut OsRandom)?;
    /// // Until confirmed, a duplicate delivery decrypts again (status-go behaviour).
    /// assert_eq!(bob.decrypt(&h, &c, b"", &mut OsRandom)?.0, b"once");
    /// assert!(bob.confirm(&receipt.ok_or("two-phase gives a receipt")?));
    /// assert!(bob.decrypt(&h, &c, b"", &mut OsRandom).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn confirm(&mut self, receipt: &Receipt) -> bool {
        self.keys
            .0
            .remove(&(receipt.ratchet_key.clone(), receipt.n))
            .is_some()
    }

    /// Applies store changes in the documented order: insert, remove, keep the newest
    /// `keep_newest` by seq, delete seq ≤ `delete_seq_at_or_below`.
    ///
    /// ```
    /// use pfs_ratchet::{MessageKey, NewSkippedKey, SkippedKeyChanges};
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # use pfs_ratchet::{ConfirmMode, DhKeyPair, Limits, RatchetState, SecretBytes, Session};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// # let sk = SecretBytes::new([7; 32]);
    /// # let alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// # let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// # let mut alice = Session::new(alice, Limits::default(), ConfirmMode::Immediate);
    /// # let mut bob = Session::new(bob, Limits::default(), ConfirmMode::Immediate);
    /// let mk = MessageKey::from_bytes([0; 32]);
    /// let key = |n, seq| NewSkippedKey {
    ///     ratchet_key: vec![2; 33],
    ///     n,
    ///     mk: mk.clone(),
    ///     seq,
    /// };
    /// let insert = vec![key(0, 10), key(1, 11), key(2, 12)];
    /// bob.apply(SkippedKeyChanges {
    ///     insert,
    ///     keep_newest: 2,
    ///     ..Default::default()
    /// });
    /// // Only the two newest by seq are left.
    /// assert_eq!(
    ///     bob.skipped_entries(),
    ///     [(vec![2; 33], 1, 11), (vec![2; 33], 2, 12)]
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn apply(&mut self, changes: SkippedKeyChanges) {
        for k in changes.insert {
            self.keys
                .0
                .insert((k.ratchet_key.clone(), k.n), (k.mk.clone(), k.seq));
        }
        for key in changes.remove {
            self.keys.0.remove(&key);
        }
        if self.keys.0.len() > changes.keep_newest {
            let mut seqs: Vec<u64> = self.keys.0.values().map(|(_, s)| *s).collect();
            seqs.sort_unstable();
            let drop = self.keys.0.len() - changes.keep_newest;
            if let Some(&cut) = seqs.get(drop.saturating_sub(1)) {
                // Sequence numbers are unique per session, so this drops exactly `drop`.
                self.keys.0.retain(|_, (_, s)| *s > cut);
            }
        }
        if let Some(limit) = changes.delete_seq_at_or_below {
            self.keys.0.retain(|_, (_, s)| *s > limit);
        }
    }
}
