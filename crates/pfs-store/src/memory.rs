//! [`MemoryStore`]: the store kept in process memory (tests, ephemeral sessions).
//!
//! Every table is a [`BTreeMap`] whose key order is exactly the order the trait
//! documents, so listing methods are plain range scans.
//!
//! ## Transactions
//! A transaction borrows the committed tables and writes **copy-on-write per table**: the
//! first write to a table clones it into the transaction, later reads and writes of that
//! table use the copy, and tables the transaction never wrote are read in place.
//! [`Transaction::commit`] moves the copies over the committed tables (it cannot fail
//! half way); dropping the transaction just drops the copies, so rollback costs nothing.
//! The price is one clone of each written table per transaction, which is fine for the
//! sizes the protocol keeps (a few thousand skipped keys at most).

use std::collections::BTreeMap;

use crate::{
    AccountRecord, ContactRecord, EphemeralKey, IdentityKey, InstallationId, InstallationRecord,
    MessageId, Nanos, OwnPreKeyRecord, PeerPreKeyRecord, SessionKey, SessionRecord, SignedPreKey,
    SkippedKeyRecord, Store, StoreError, Transaction, check_seq,
};

/// (identity, installation id as a string: the empty string starts a range).
type InstallationKey = (IdentityKey, String);
type PeerPreKeyKey = (IdentityKey, String, SignedPreKey);
type SkippedKey = (SessionKey, Vec<u8>, u32);

/// The committed tables.
#[derive(Debug, Clone, Default)]
struct Tables {
    account: Option<AccountRecord>,
    own_prekeys: BTreeMap<SignedPreKey, OwnPreKeyRecord>,
    installations: BTreeMap<InstallationKey, InstallationRecord>,
    peer_prekeys: BTreeMap<PeerPreKeyKey, PeerPreKeyRecord>,
    sessions: BTreeMap<SessionKey, SessionRecord>,
    skipped: BTreeMap<SkippedKey, SkippedKeyRecord>,
    x3dh_seen: BTreeMap<(SignedPreKey, EphemeralKey), Nanos>,
    rate_limits: BTreeMap<(String, Vec<u8>), Nanos>,
    contacts: BTreeMap<IdentityKey, ContactRecord>,
    app_records: AppRecordMap,
}

/// Application records: (kind, key) -> (value, due).
type AppRecordMap = BTreeMap<(String, Vec<u8>), (Vec<u8>, i64)>;

/// An in-memory [`Store`]. Its contents are lost when it is dropped.
///
/// `Clone` copies every committed table (secrets included, each copy zeroized on drop):
/// it is a consistent snapshot, used by tests to model a backup restore and by the fuzz
/// harness to restart from a fixed state. Clone only between transactions.
///
/// ```
/// use pfs_store::{MemoryStore, Store};
///
/// let mut store = MemoryStore::new();
/// let mut tx = store.begin()?;
/// tx.put_rate_limit("bundle", b"peer", 1)?;
/// tx.commit()?;
/// // a clone is a snapshot of what was committed
/// let mut backup = store.clone();
/// let mut tx = store.begin()?;
/// tx.put_rate_limit("bundle", b"peer", 2)?;
/// tx.commit()?;
/// assert_eq!(store.begin()?.rate_limit("bundle", b"peer")?, Some(2));
/// assert_eq!(backup.begin()?.rate_limit("bundle", b"peer")?, Some(1));
/// # Ok::<(), pfs_store::StoreError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    tables: Tables,
}

impl MemoryStore {
    /// An empty store.
    ///
    /// ```
    /// use pfs_store::{MemoryStore, Store};
    ///
    /// let mut store = MemoryStore::new();
    /// let tx = store.begin()?;
    /// assert_eq!(tx.account()?, None);
    /// assert!(tx.all_sessions()?.is_empty());
    /// # Ok::<(), pfs_store::StoreError>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

/// One table seen through a transaction: the committed table, and the transaction's
/// private copy once it has written to it.
struct Layer<'a, T: Clone> {
    base: &'a mut T,
    copy: Option<T>,
}

impl<'a, T: Clone> Layer<'a, T> {
    fn new(base: &'a mut T) -> Self {
        Self { base, copy: None }
    }

    fn get(&self) -> &T {
        self.copy.as_ref().unwrap_or(self.base)
    }

    fn get_mut(&mut self) -> &mut T {
        let base = &*self.base;
        self.copy.get_or_insert_with(|| base.clone())
    }

    fn commit(self) {
        if let Some(copy) = self.copy {
            *self.base = copy;
        }
    }
}

struct MemoryTx<'a> {
    account: Layer<'a, Option<AccountRecord>>,
    own_prekeys: Layer<'a, BTreeMap<SignedPreKey, OwnPreKeyRecord>>,
    installations: Layer<'a, BTreeMap<InstallationKey, InstallationRecord>>,
    peer_prekeys: Layer<'a, BTreeMap<PeerPreKeyKey, PeerPreKeyRecord>>,
    sessions: Layer<'a, BTreeMap<SessionKey, SessionRecord>>,
    skipped: Layer<'a, BTreeMap<SkippedKey, SkippedKeyRecord>>,
    x3dh_seen: Layer<'a, BTreeMap<(SignedPreKey, EphemeralKey), Nanos>>,
    rate_limits: Layer<'a, BTreeMap<(String, Vec<u8>), Nanos>>,
    contacts: Layer<'a, BTreeMap<IdentityKey, ContactRecord>>,
    app_records: Layer<'a, AppRecordMap>,
}

impl MemoryTx<'_> {
    /// Sets `expired_at` of the sessions `keys` (all present) to `at`.
    fn mark_expired(&mut self, keys: &[SessionKey], at: Nanos) {
        if keys.is_empty() {
            return;
        }
        let sessions = self.sessions.get_mut();
        for key in keys {
            if let Some(s) = sessions.get_mut(key) {
                s.expired_at = Some(at);
            }
        }
    }
}

impl Store for MemoryStore {
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        let Tables {
            account,
            own_prekeys,
            installations,
            peer_prekeys,
            sessions,
            skipped,
            x3dh_seen,
            rate_limits,
            contacts,
            app_records,
        } = &mut self.tables;
        Ok(Box::new(MemoryTx {
            account: Layer::new(account),
            own_prekeys: Layer::new(own_prekeys),
            installations: Layer::new(installations),
            peer_prekeys: Layer::new(peer_prekeys),
            sessions: Layer::new(sessions),
            skipped: Layer::new(skipped),
            x3dh_seen: Layer::new(x3dh_seen),
            rate_limits: Layer::new(rate_limits),
            contacts: Layer::new(contacts),
            app_records: Layer::new(app_records),
        }))
    }
}

/// All skipped keys of one session, in key order.
fn session_keys<'m>(
    map: &'m BTreeMap<SkippedKey, SkippedKeyRecord>,
    session: &SessionKey,
) -> impl Iterator<Item = (&'m SkippedKey, &'m SkippedKeyRecord)> + 'm {
    let start = (session.clone(), Vec::new(), 0u32);
    let session = session.clone();
    map.range(start..)
        .take_while(move |((s, _, _), _)| *s == session)
}

impl Transaction for MemoryTx<'_> {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let tx = *self;
        tx.account.commit();
        tx.own_prekeys.commit();
        tx.installations.commit();
        tx.peer_prekeys.commit();
        tx.sessions.commit();
        tx.skipped.commit();
        tx.x3dh_seen.commit();
        tx.rate_limits.commit();
        tx.contacts.commit();
        tx.app_records.commit();
        Ok(())
    }

    fn account(&self) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self.account.get().clone())
    }

    fn put_account(&mut self, account: &AccountRecord) -> Result<(), StoreError> {
        *self.account.get_mut() = Some(account.clone());
        Ok(())
    }

    fn own_prekeys(&self) -> Result<Vec<OwnPreKeyRecord>, StoreError> {
        let mut all: Vec<OwnPreKeyRecord> = self.own_prekeys.get().values().cloned().collect();
        // Stable sort: equal versions stay in public-key order.
        all.sort_by_key(|p| p.version);
        Ok(all)
    }

    fn own_prekey(&self, public: &SignedPreKey) -> Result<Option<OwnPreKeyRecord>, StoreError> {
        Ok(self.own_prekeys.get().get(public).cloned())
    }

    fn put_own_prekey(&mut self, prekey: &OwnPreKeyRecord) -> Result<(), StoreError> {
        self.own_prekeys
            .get_mut()
            .insert(prekey.public, prekey.clone());
        Ok(())
    }

    fn delete_own_prekey(&mut self, public: &SignedPreKey) -> Result<(), StoreError> {
        if self.own_prekeys.get().contains_key(public) {
            self.own_prekeys.get_mut().remove(public);
        }
        Ok(())
    }

    fn installation(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Option<InstallationRecord>, StoreError> {
        Ok(self
            .installations
            .get()
            .get(&(*identity, installation_id.as_str().to_owned()))
            .cloned())
    }

    fn installations(&self, identity: &IdentityKey) -> Result<Vec<InstallationRecord>, StoreError> {
        Ok(self
            .installations
            .get()
            .range((*identity, String::new())..)
            .take_while(|((id, _), _)| id == identity)
            .map(|(_, r)| r.clone())
            .collect())
    }

    fn all_installations(&self) -> Result<Vec<InstallationRecord>, StoreError> {
        Ok(self.installations.get().values().cloned().collect())
    }

    fn installations_missing_until(
        &self,
        until: Nanos,
    ) -> Result<Vec<InstallationRecord>, StoreError> {
        let mut out: Vec<InstallationRecord> = self
            .installations
            .get()
            .values()
            .filter(|r| !r.stale && r.missing_since.is_some_and(|m| m <= until))
            .cloned()
            .collect();
        // stable: ties keep the table's (identity, installation id) order
        out.sort_by_key(|r| r.missing_since);
        Ok(out)
    }

    fn put_installation(&mut self, installation: &InstallationRecord) -> Result<(), StoreError> {
        self.installations.get_mut().insert(
            (
                installation.identity,
                installation.installation_id.as_str().to_owned(),
            ),
            installation.clone(),
        );
        Ok(())
    }

    fn delete_installation(
        &mut self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<(), StoreError> {
        let k = (*identity, installation_id.as_str().to_owned());
        if self.installations.get().contains_key(&k) {
            self.installations.get_mut().remove(&k);
        }
        Ok(())
    }

    fn peer_prekeys(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Vec<PeerPreKeyRecord>, StoreError> {
        let mut v: Vec<PeerPreKeyRecord> = self
            .peer_prekeys
            .get()
            .range(
                (
                    *identity,
                    installation_id.as_str().to_owned(),
                    SignedPreKey::from_bytes([0u8; 33]),
                )..,
            )
            .take_while(|((id, inst, _), _)| id == identity && installation_id == inst)
            .map(|(_, r)| r.clone())
            .collect();
        // Stable sort: equal versions stay in public-key order.
        v.sort_by_key(|p| std::cmp::Reverse(p.version));
        Ok(v)
    }

    fn put_peer_prekey(&mut self, prekey: &PeerPreKeyRecord) -> Result<(), StoreError> {
        self.peer_prekeys.get_mut().insert(
            (
                prekey.identity,
                prekey.installation_id.as_str().to_owned(),
                prekey.public,
            ),
            prekey.clone(),
        );
        Ok(())
    }

    fn session(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.sessions.get().get(key).cloned())
    }

    fn sessions_with(
        &self,
        identity: &IdentityKey,
        installation_id: &InstallationId,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let start = SessionKey {
            peer_identity: *identity,
            id: Vec::new(),
        };
        Ok(self
            .sessions
            .get()
            .range(start..)
            .take_while(|(k, _)| k.peer_identity == *identity)
            .filter(|(_, s)| s.peer_installation == *installation_id)
            .map(|(_, s)| s.clone())
            .collect())
    }

    fn all_sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        Ok(self.sessions.get().values().cloned().collect())
    }

    fn put_session(&mut self, session: &SessionRecord) -> Result<(), StoreError> {
        self.sessions
            .get_mut()
            .insert(session.key.clone(), session.clone());
        Ok(())
    }

    fn delete_sessions_expired_until(&mut self, until: Nanos) -> Result<usize, StoreError> {
        let doomed: Vec<SessionKey> = self
            .sessions
            .get()
            .values()
            .filter(|s| s.expired_at.is_some_and(|at| at.max(s.last_used) <= until))
            .map(|s| s.key.clone())
            .collect();
        for key in &doomed {
            self.delete_session(key)?;
        }
        Ok(doomed.len())
    }

    fn expire_sessions_on_invalid_prekeys(&mut self, at: Nanos) -> Result<usize, StoreError> {
        let peer_prekeys = self.peer_prekeys.get();
        let own_prekeys = self.own_prekeys.get();
        let doomed: Vec<SessionKey> = self
            .sessions
            .get()
            .values()
            .filter(|s| s.expired_at.is_none())
            .filter(|s| {
                if s.we_initiated {
                    peer_prekeys
                        .get(&(
                            s.key.peer_identity,
                            s.peer_installation.as_str().to_owned(),
                            s.rooted_spk,
                        ))
                        .is_none_or(|p| p.expired)
                } else {
                    own_prekeys
                        .get(&s.rooted_spk)
                        .is_none_or(|p| p.expired_at.is_some())
                }
            })
            .map(|s| s.key.clone())
            .collect();
        self.mark_expired(&doomed, at);
        Ok(doomed.len())
    }

    fn expire_responder_sessions_rooted_in(
        &mut self,
        spks: &[SignedPreKey],
        at: Nanos,
    ) -> Result<usize, StoreError> {
        let doomed: Vec<SessionKey> = self
            .sessions
            .get()
            .values()
            .filter(|s| !s.we_initiated && s.expired_at.is_none() && spks.contains(&s.rooted_spk))
            .map(|s| s.key.clone())
            .collect();
        self.mark_expired(&doomed, at);
        Ok(doomed.len())
    }

    fn responder_session_rooted_in(&self, spk: &SignedPreKey) -> Result<bool, StoreError> {
        Ok(self
            .sessions
            .get()
            .values()
            .any(|s| !s.we_initiated && s.rooted_spk == *spk))
    }

    fn delete_session(&mut self, key: &SessionKey) -> Result<(), StoreError> {
        if self.sessions.get().contains_key(key) {
            self.sessions.get_mut().remove(key);
        }
        let doomed: Vec<SkippedKey> = session_keys(self.skipped.get(), key)
            .map(|(k, _)| k.clone())
            .collect();
        if !doomed.is_empty() {
            let map = self.skipped.get_mut();
            for k in doomed {
                map.remove(&k);
            }
        }
        Ok(())
    }

    fn skipped_key(
        &self,
        session: &SessionKey,
        ratchet_key: &[u8],
        n: u32,
    ) -> Result<Option<SkippedKeyRecord>, StoreError> {
        Ok(self
            .skipped
            .get()
            .get(&(session.clone(), ratchet_key.to_vec(), n))
            .cloned())
    }

    fn put_skipped_keys(
        &mut self,
        session: &SessionKey,
        keys: &[SkippedKeyRecord],
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        if !self.sessions.get().contains_key(session) {
            return Err(StoreError::Invalid(
                "skipped keys stored for a session that does not exist".into(),
            ));
        }
        for k in keys {
            check_seq(k.seq)?;
        }
        let map = self.skipped.get_mut();
        for k in keys {
            map.insert((session.clone(), k.ratchet_key.clone(), k.n), k.clone());
        }
        Ok(())
    }

    fn delete_skipped_key(
        &mut self,
        session: &SessionKey,
        ratchet_key: &[u8],
        n: u32,
    ) -> Result<(), StoreError> {
        let k = (session.clone(), ratchet_key.to_vec(), n);
        if self.skipped.get().contains_key(&k) {
            self.skipped.get_mut().remove(&k);
        }
        Ok(())
    }

    fn truncate_skipped_keys(
        &mut self,
        session: &SessionKey,
        keep: usize,
    ) -> Result<(), StoreError> {
        // Order of preference: highest seq first, ties broken by the highest
        // (ratchet key, n) — the same order the SQLite store uses.
        let mut all: Vec<(u64, SkippedKey)> = session_keys(self.skipped.get(), session)
            .map(|(k, r)| (r.seq, k.clone()))
            .collect();
        if all.len() <= keep {
            return Ok(());
        }
        all.sort_by(|a, b| b.cmp(a));
        let map = self.skipped.get_mut();
        for (_, k) in all.into_iter().skip(keep) {
            map.remove(&k);
        }
        Ok(())
    }

    fn delete_skipped_keys_upto(
        &mut self,
        session: &SessionKey,
        seq: u64,
    ) -> Result<(), StoreError> {
        let doomed: Vec<SkippedKey> = session_keys(self.skipped.get(), session)
            .filter(|(_, r)| r.seq <= seq)
            .map(|(k, _)| k.clone())
            .collect();
        if !doomed.is_empty() {
            let map = self.skipped.get_mut();
            for k in doomed {
                map.remove(&k);
            }
        }
        Ok(())
    }

    fn count_skipped_keys(&self, session: &SessionKey) -> Result<usize, StoreError> {
        Ok(session_keys(self.skipped.get(), session).count())
    }

    fn unconfirmed_keys(
        &self,
        message_id: &MessageId,
    ) -> Result<Vec<(SessionKey, SkippedKeyRecord)>, StoreError> {
        Ok(self
            .skipped
            .get()
            .iter()
            .filter(|(_, r)| r.pending_message_id.as_ref() == Some(message_id))
            .map(|((s, _, _), r)| (s.clone(), r.clone()))
            .collect())
    }

    fn x3dh_seen(
        &self,
        spk: &SignedPreKey,
        ephemeral: &EphemeralKey,
    ) -> Result<Option<Nanos>, StoreError> {
        Ok(self.x3dh_seen.get().get(&(*spk, *ephemeral)).copied())
    }

    fn put_x3dh_seen(
        &mut self,
        spk: &SignedPreKey,
        ephemeral: &EphemeralKey,
        at: Nanos,
    ) -> Result<(), StoreError> {
        self.x3dh_seen.get_mut().insert((*spk, *ephemeral), at);
        Ok(())
    }

    fn delete_x3dh_seen_for(&mut self, spk: &SignedPreKey) -> Result<(), StoreError> {
        let doomed: Vec<(SignedPreKey, EphemeralKey)> = self
            .x3dh_seen
            .get()
            .range((*spk, EphemeralKey::from_bytes([0u8; 33]))..)
            .take_while(|((s, _), _)| s == spk)
            .map(|(k, _)| *k)
            .collect();
        if !doomed.is_empty() {
            let map = self.x3dh_seen.get_mut();
            for k in doomed {
                map.remove(&k);
            }
        }
        Ok(())
    }

    fn rate_limit(&self, kind: &str, key: &[u8]) -> Result<Option<Nanos>, StoreError> {
        Ok(self
            .rate_limits
            .get()
            .get(&(kind.to_owned(), key.to_vec()))
            .copied())
    }

    fn put_rate_limit(&mut self, kind: &str, key: &[u8], at: Nanos) -> Result<(), StoreError> {
        self.rate_limits
            .get_mut()
            .insert((kind.to_owned(), key.to_vec()), at);
        Ok(())
    }

    fn app_record(&self, kind: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .app_records
            .get()
            .get(&(kind.to_owned(), key.to_vec()))
            .map(|(v, _)| v.clone()))
    }

    fn put_app_record(
        &mut self,
        kind: &str,
        key: &[u8],
        value: &[u8],
        due: i64,
    ) -> Result<(), StoreError> {
        self.app_records
            .get_mut()
            .insert((kind.to_owned(), key.to_vec()), (value.to_vec(), due));
        Ok(())
    }

    fn delete_app_record(&mut self, kind: &str, key: &[u8]) -> Result<(), StoreError> {
        let k = (kind.to_owned(), key.to_vec());
        if self.app_records.get().contains_key(&k) {
            self.app_records.get_mut().remove(&k);
        }
        Ok(())
    }

    fn due_app_records(
        &self,
        kind: &str,
        until: i64,
        limit: usize,
    ) -> Result<Vec<crate::AppRecord>, StoreError> {
        let start = (kind.to_owned(), Vec::new());
        let mut v: Vec<(i64, Vec<u8>, Vec<u8>)> = self
            .app_records
            .get()
            .range(start..)
            .take_while(|((k, _), _)| k == kind)
            .filter(|(_, (_, due))| *due <= until)
            .map(|((_, key), (value, due))| (*due, key.clone(), value.clone()))
            .collect();
        v.sort();
        Ok(v.into_iter()
            .take(limit)
            .map(|(_, k, val)| (k, val))
            .collect())
    }

    fn count_app_records(&self, kind: &str) -> Result<usize, StoreError> {
        let start = (kind.to_owned(), Vec::new());
        Ok(self
            .app_records
            .get()
            .range(start..)
            .take_while(|((k, _), _)| k == kind)
            .count())
    }

    fn contact(&self, identity: &IdentityKey) -> Result<Option<ContactRecord>, StoreError> {
        Ok(self.contacts.get().get(identity).cloned())
    }

    fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError> {
        Ok(self.contacts.get().values().cloned().collect())
    }

    fn put_contact(&mut self, contact: &ContactRecord) -> Result<(), StoreError> {
        self.contacts
            .get_mut()
            .insert(contact.identity, contact.clone());
        Ok(())
    }

    fn delete_contact(&mut self, identity: &IdentityKey) -> Result<(), StoreError> {
        if self.contacts.get().contains_key(identity) {
            self.contacts.get_mut().remove(identity);
        }
        Ok(())
    }
}
