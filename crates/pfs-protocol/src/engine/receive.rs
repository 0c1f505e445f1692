//! Receiving: bundles first, then the message in one transaction (DH, X3DH, Double
//! Ratchet, skipped keys), contact-request bookkeeping, and the bundle replies of
//! partitioned devices and recovered accounts.

use super::*;
use std::cell::RefCell;

const RATE_BUNDLE_REPLY: &str = "bundle-reply";

impl Engine {
    /// Decrypts a message from `sender` (the identity authenticated by the transport).
    /// `message_id` identifies it for two-phase confirmation ([`Engine::confirm`]).
    ///
    /// Bundles carried by the message are verified and stored first, even when the rest
    /// then fails (as status-go does). A failure leaves every session untouched. Replies
    /// the engine wants to send (bundle replies) are queued: see [`Engine::take_outgoing`].
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
    /// let m = alice.encrypt_for(bob.identity(), b"secret", false)?;
    /// // a tampered copy is refused, the peer's fault, and changes nothing
    /// let mut bad = m.bytes.clone();
    /// let last = bad.len() - 40;
    /// bad[last] ^= 1;
    /// let err = bob.decrypt(alice.identity(), &bad, &MessageId::from(b"m1")).unwrap_err();
    /// assert!(err.is_peer_fault(), "{err}");
    /// assert_eq!(bob.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"m1"))?.plaintext, b"secret");
    /// // the same message again: refused (its key is gone)
    /// assert!(bob.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"m1")).is_err());
    /// # Ok(()) }
    /// ```
    pub fn decrypt(
        &mut self,
        sender: &PublicKey,
        bytes: &[u8],
        message_id: &MessageId,
    ) -> Result<Delivered, ReceiveError> {
        let now = self.ctx.clock.now_ns();
        let msg = pfs_wire::decode_protocol_message(bytes, &self.ctx.config.wire_limits)?;
        // 1. bundles: verify all, then store all, in their own transaction
        //    (an identical bundle stored less than a minute ago is not stored again)
        let mut verified = Vec::with_capacity(msg.bundles.len());
        for b in &msg.bundles {
            let (digest, vb) = self.ctx.verify_cached(b)?;
            if !self.ctx.recently_stored(&digest, now) {
                verified.push((digest, vb));
            }
        }
        let mut new_installations = Vec::new();
        if !verified.is_empty() {
            let mut tx = begin(&mut self.store, &mut self.ctx)?;
            // a blocked sender: nothing of the message is stored (step 2 checks it too)
            if sender != self.ctx.me.public()
                && self.ctx.contact_state(&*tx, &identity_key(sender))?
                    == Some(ContactState::Blocked)
            {
                return Err(ReceiveError::Blocked);
            }
            for (_, vb) in &verified {
                for (id, _) in self.ctx.store_bundle(&mut *tx, vb, now)? {
                    new_installations.push((vb.identity().clone(), id));
                }
            }
            commit(tx, &mut self.ctx)?;
            for (digest, _) in &verified {
                self.ctx.mark_stored(digest, now);
            }
        }
        // 2. the message itself, atomically
        let result = {
            let mut tx = begin(&mut self.store, &mut self.ctx)?;
            self.ctx.maybe_maintain(&mut *tx, now)?;
            match self.ctx.receive(&mut *tx, sender, &msg, message_id, now) {
                Ok(mut d) => {
                    d.new_installations = new_installations;
                    commit(tx, &mut self.ctx)?;
                    Ok(d)
                }
                Err(e) => Err(e),
            }
        };
        // 3. replies (partitioned device, account recovery)
        if let Err(e) = &result
            && e.wants_bundle_reply()
        {
            self.queue_bundle_reply(sender, now)?;
        }
        result
    }

    /// Confirms that the application stored the message `message_id`: its kept message
    /// key is deleted (two-phase mode). Unknown ids are ignored.
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
    /// use pfs_protocol::config::ConfirmMode;
    /// let (mut alice, _) = (new_engine(&clock)?, ());
    /// let (mut bob, _) = Engine::create_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config { confirm_mode: ConfirmMode::TwoPhase, ..Config::default() },
    /// )?;
    /// alice.process_bundle(&bob.own_bundle()?)?;
    /// let m = alice.encrypt_for(bob.identity(), b"kept until confirmed", false)?;
    /// bob.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"m1"))?;
    /// // the application stored it: the kept key goes
    /// bob.confirm(&MessageId::from(b"m1"))?;
    /// assert!(bob.decrypt(alice.identity(), &m.bytes, &MessageId::from(b"m1")).is_err());
    /// # Ok(()) }
    /// ```
    pub fn confirm(&mut self, message_id: &MessageId) -> Result<(), EngineError> {
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        for (session, key) in tx.unconfirmed_keys(message_id)? {
            tx.delete_skipped_key(&session, &key.ratchet_key, key.n)?;
        }
        commit(tx, &mut self.ctx)?;
        Ok(())
    }

    fn queue_bundle_reply(&mut self, to: &PublicKey, now: i64) -> Result<(), EngineError> {
        if !self.ctx.config.bundle_replies {
            return Ok(());
        }
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let key = identity_key(to);
        if let Some(last) = tx.rate_limit(RATE_BUNDLE_REPLY, key.as_bytes())?
            && now.saturating_sub(last) < self.ctx.config.bundle_reply_interval_ns
        {
            return Ok(());
        }
        let mut out = self.ctx.dh_message(&mut *tx, to, &[], now)?;
        out.kind = OutgoingKind::BundleReply;
        tx.put_rate_limit(RATE_BUNDLE_REPLY, key.as_bytes(), now)?;
        commit(tx, &mut self.ctx)?;
        self.ctx.outbox.push(out);
        Ok(())
    }
}

impl Ctx {
    pub(super) fn receive(
        &mut self,
        tx: &mut dyn Transaction,
        sender: &PublicKey,
        msg: &pb::ProtocolMessage,
        message_id: &MessageId,
        now: i64,
    ) -> Result<Delivered, ReceiveError> {
        let from_self = sender == self.me.public();
        #[cfg(feature = "inspection")]
        if let Some(inspect) = self.inspect.as_mut() {
            *inspect = Inspection::default();
        }
        // blocked: dropped whatever it is, with or without contact requests configured
        if !from_self
            && self.contact_state(&*tx, &identity_key(sender))? == Some(ContactState::Blocked)
        {
            return Err(ReceiveError::Blocked);
        }
        let contact = if self.config.contact_requests && !from_self {
            self.contact_state(&*tx, &identity_key(sender))?
        } else {
            None
        };
        if contact == Some(ContactState::Declined) && !msg.contact_request {
            return Err(ReceiveError::Declined);
        }
        // the sending installation as the message names it (none for an empty or
        // over-long id: public messages need none, sessions refuse the message below)
        let named_installation = InstallationId::new(msg.installation_id.as_str());
        let sender_installation = named_installation.clone().ok();
        let mut delivered = Delivered {
            sender: sender.clone(),
            sender_installation: sender_installation.clone(),
            kind: DeliveredKind::Direct,
            plaintext: Vec::new(),
            forward_secret: false,
            suite: None,
            pfs_established: false,
            contact_request: false,
            new_installations: Vec::new(),
            group_keys: Vec::new(),
        };
        if !msg.public_message.is_empty() {
            delivered.kind = DeliveredKind::Public;
            delivered.plaintext = msg.public_message.clone();
            delivered.pfs_established = pfs_established(&*tx, sender)?;
            return Ok(delivered);
        }
        let entry = msg
            .entry(self.me.id())
            .or_else(|| msg.entry(pfs_wire::NO_INSTALLATION_ID));
        let Some(entry) = entry else {
            return Err(if from_self {
                ReceiveError::NotPairedDevice
            } else {
                ReceiveError::DeviceNotFound
            });
        };
        if let Some(hr) = &entry.hr_header {
            delivered.group_keys = group_keys(hr);
            if entry.dh_header.is_none() && entry.dr_header.is_none() {
                // a community message: not ours to decrypt, never a failure
                delivered.kind = DeliveredKind::HashRatchet;
                delivered.pfs_established = pfs_established(&*tx, sender)?;
                return Ok(delivered);
            }
        }
        let mut used_session = None;
        if let Some(dh) = &entry.dh_header {
            let ek = PublicKey::from_compressed(&dh.key)
                .map_err(|e| ReceiveError::InvalidHeader(e.to_string()))?;
            let key = self.me.secret().diffie_hellman(&ek);
            let pt = pfs_crypto::cipher::gcm_open_nonce_appended(key.expose(), &entry.payload)
                .map_err(ReceiveError::DhDecrypt)?;
            delivered.kind = if pt.is_empty() {
                DeliveredKind::BundleOnly
            } else {
                DeliveredKind::Direct
            };
            delivered.plaintext = pt;
        } else {
            let (pt, suite, used) =
                self.receive_ratchet(tx, sender, &named_installation, entry, message_id, now)?;
            delivered.plaintext = pt;
            delivered.forward_secret = true;
            delivered.suite = Some(suite);
            used_session = Some(used);
        }
        let sender33 = identity_key(sender);
        // Whether the sender's installation row exists, looked up at most once (None: not
        // looked up yet).
        let mut sender_installation_exists: Option<bool> = None;
        // status-go bookkeeping: the sender's installation advertised protocol version ≥ 1
        if let Some(first) = msg.bundles.first()
            && let Some(installation) = &sender_installation
            && first
                .signed_pre_key(installation.as_str())
                .is_some_and(|s| s.protocol_version >= 1)
        {
            let heard_key = (sender33, installation.clone());
            if self.heard.get(&heard_key).is_some() {
                // known to exist, already marked: nothing to write
                sender_installation_exists = Some(true);
            } else {
                let row = tx.installation(&sender33, installation)?;
                if let Some(inst) = &row
                    && !inst.heard_with_protocol_version
                {
                    let mut inst = inst.clone();
                    inst.heard_with_protocol_version = true;
                    tx.put_installation(&inst)?;
                }
                if row.is_some() {
                    self.heard.note(heard_key, ());
                }
                sender_installation_exists = Some(row.is_some());
            }
        }
        if self.config.contact_requests && !from_self && delivered.kind != DeliveredKind::BundleOnly
        {
            let next = match contact {
                None => Some(ContactState::RequestReceived),
                Some(ContactState::Declined) => Some(ContactState::RequestReceived),
                _ => None,
            };
            if let Some(state) = next {
                self.put_contact(
                    tx,
                    &ContactRecord {
                        identity: sender33,
                        state,
                        name: None,
                        updated_at: now,
                    },
                )?;
            }
            // the contact's state as it now stands in this transaction
            delivered.contact_request =
                matches!(next.or(contact), Some(ContactState::RequestReceived));
        }
        // "PFS established": the session that just decrypted is usable for sending when it
        // is unexpired and its installation is known (what `pfs_established` looks for);
        // otherwise look at every session with the sender.
        delivered.pfs_established = match used_session {
            Some(UsedSession {
                active: true,
                peer_installation,
            }) => {
                let exists = match sender_installation_exists {
                    Some(e) if sender_installation.as_ref() == Some(&peer_installation) => e,
                    _ => tx.installation(&sender33, &peer_installation)?.is_some(),
                };
                exists || pfs_established(&*tx, sender)?
            }
            _ => pfs_established(&*tx, sender)?,
        };
        Ok(delivered)
    }

    fn receive_ratchet(
        &mut self,
        tx: &mut dyn Transaction,
        sender: &PublicKey,
        named_installation: &Result<InstallationId, pfs_x3dh::InstallationIdError>,
        entry: &pb::DirectMessageProtocol,
        message_id: &MessageId,
        now: i64,
    ) -> Result<(Vec<u8>, SuiteId, UsedSession), ReceiveError> {
        let dr = entry
            .dr_header
            .as_ref()
            .ok_or_else(|| ReceiveError::InvalidHeader("no DR, DH or X3DH header".into()))?;
        let rooted = SignedPreKey::from_slice(&dr.id).map_err(|_| {
            ReceiveError::InvalidHeader(format!("DR header id of {} bytes", dr.id.len()))
        })?;
        let installation = named_installation.clone().map_err(|e| {
            ReceiveError::InvalidHeader(format!("the message's installation id: {e}"))
        })?;
        let key = SessionKey {
            peer_identity: identity_key(sender),
            id: session_id(&rooted, &installation),
        };
        let mut new_x3dh: Option<(SignedPreKey, EphemeralKey)> = None;
        let existing = tx.session(&key)?;
        // An X3DH header whose (prekey, ephemeral) pair was never seen, under the id of an
        // existing session: the peer started a new session on the same prekey (its own copy
        // was expired or lost). Using the old state would fail for good; build the new one
        // (committed only if the message decrypts, so a forgery cannot replace anything).
        let restarted = match (&existing, &entry.x3dh_header) {
            (Some(_), Some(x)) if x.id == dr.id => match EphemeralKey::from_slice(&x.key) {
                Ok(ek33) => tx.x3dh_seen(&rooted, &ek33)?.is_none(),
                Err(_) => false,
            },
            _ => false,
        };
        let mut session = match (existing.filter(|_| !restarted), &entry.x3dh_header) {
            (Some(s), _) => s,
            (None, Some(x)) => {
                if x.id != dr.id {
                    return Err(ReceiveError::InvalidHeader(
                        "X3DH and DR headers name different prekeys".into(),
                    ));
                }
                let ek33 = EphemeralKey::from_slice(&x.key).map_err(|_| {
                    ReceiveError::InvalidHeader("X3DH ephemeral is not 33 bytes".into())
                })?;
                let ek = ek33
                    .to_public_key()
                    .map_err(|e| ReceiveError::InvalidHeader(e.to_string()))?;
                let our_spk = tx
                    .own_prekey(&rooted)?
                    .ok_or(ReceiveError::UnknownSignedPreKey)?;
                if tx.x3dh_seen(&rooted, &ek33)?.is_some() {
                    return Err(ReceiveError::Replay);
                }
                let spk_secret =
                    SecretKey::from_bytes(our_spk.secret.expose()).map_err(EngineError::from)?;
                let sk = adapters::x3dh_respond(&self.me.identity, &spk_secret, sender, &ek);
                let suite = pfs_ratchet::suite_for_key_len(dr.key.len())
                    .ok_or_else(|| {
                        ReceiveError::InvalidHeader(format!(
                            "ratchet key of {} bytes",
                            dr.key.len()
                        ))
                    })?
                    .id();
                let state = adapters::responder_state(suite, &sk, &spk_secret)?;
                new_x3dh = Some((rooted, ek33));
                SessionRecord {
                    key: key.clone(),
                    peer_installation: installation,
                    rooted_spk: rooted,
                    we_initiated: false,
                    suite: adapters::stored_suite(suite),
                    state: state.to_bytes(),
                    shared_secret: sk,
                    pending_x3dh_ephemeral: None,
                    created_at: now,
                    last_used: now,
                    expired_at: None,
                }
            }
            (None, None) => return Err(ReceiveError::SessionNotFound),
        };
        let suite = adapters::session_suite(session.suite)?;
        let state = RatchetState::from_bytes(session.state.expose())
            .map_err(|e| EngineError::Corrupt(e.to_string()))?;
        let header = pfs_ratchet::Header {
            key: dr.key.clone(),
            n: dr.n,
            pn: dr.pn,
        };
        let decrypted = {
            let lookup = TxSkipped {
                tx: &*tx,
                key: &key,
                failure: RefCell::new(None),
            };
            let result = state.decrypt(
                &lookup,
                &header,
                &entry.payload,
                &[],
                &mut *self.rng,
                &self.config.ratchet_limits,
                self.config.confirm_mode,
            );
            // a store failure during the skipped-key lookup is ours, not the peer's
            if let Some(e) = lookup.failure.into_inner() {
                return Err(ReceiveError::Local(EngineError::Store(e)));
            }
            result?
        };
        // the session row first: skipped keys belong to it
        session.state = decrypted.state.to_bytes();
        session.last_used = now;
        if session.we_initiated {
            session.pending_x3dh_ephemeral = None;
        }
        tx.put_session(&session)?;
        // apply the skipped-key changes exactly as the ratchet described them
        let changes = &decrypted.changes;
        let receipt = decrypted.receipt.as_ref();
        let records: Vec<SkippedKeyRecord> = changes
            .insert
            .iter()
            .map(|k| SkippedKeyRecord {
                ratchet_key: k.ratchet_key.clone(),
                n: k.n,
                message_key: SecretBytes::new(*k.mk.expose()),
                seq: k.seq,
                pending_message_id: receipt
                    .filter(|r| r.ratchet_key == k.ratchet_key && r.n == k.n)
                    .map(|_| message_id.clone()),
            })
            .collect();
        if !records.is_empty() {
            tx.put_skipped_keys(&key, &records)?;
        }
        // two-phase mode, key taken from the store (a skipped key): it is not among the
        // inserted keys, so tag the stored one with the message id for `confirm`
        if let Some(r) = receipt
            && !records
                .iter()
                .any(|k| k.ratchet_key == r.ratchet_key && k.n == r.n)
            && let Some(mut rec) = tx.skipped_key(&key, &r.ratchet_key, r.n)?
        {
            rec.pending_message_id = Some(message_id.clone());
            tx.put_skipped_keys(&key, &[rec])?;
        }
        for (rk, n) in &changes.remove {
            tx.delete_skipped_key(&key, rk, *n)?;
        }
        if let Some(seq) = changes.delete_seq_at_or_below {
            tx.delete_skipped_keys_upto(&key, seq)?;
        }
        tx.truncate_skipped_keys(&key, changes.keep_newest)?;
        #[cfg(feature = "inspection")]
        if let Some(inspect) = self.inspect.as_mut() {
            inspect.received = Some((
                SecretBytes::new(*decrypted.message_key.expose()),
                decrypted.associated_data.clone(),
            ));
        }
        if let Some((spk, ek)) = new_x3dh {
            tx.put_x3dh_seen(&spk, &ek, now)?;
        }
        let used = UsedSession {
            active: session.expired_at.is_none(),
            peer_installation: session.peer_installation,
        };
        Ok((decrypted.plaintext, suite, used))
    }
}

/// The session a received message was decrypted with, as written back.
struct UsedSession {
    /// Not expired.
    active: bool,
    /// The peer installation it is with.
    peer_installation: InstallationId,
}

/// Read-only skipped-key lookup over a store transaction, for the ratchet. A store
/// failure is kept (the ratchet only sees that the lookup failed) so that it is reported
/// as ours.
struct TxSkipped<'a> {
    tx: &'a dyn Transaction,
    key: &'a SessionKey,
    failure: RefCell<Option<pfs_store::StoreError>>,
}

impl pfs_ratchet::SkippedKeys for TxSkipped<'_> {
    fn get(
        &self,
        ratchet_key: &[u8],
        n: u32,
    ) -> Result<Option<pfs_ratchet::MessageKey>, pfs_ratchet::SkippedKeysError> {
        match self.tx.skipped_key(self.key, ratchet_key, n) {
            Ok(Some(rec)) => Ok(Some(pfs_ratchet::MessageKey::new(rec.message_key.clone()))),
            Ok(None) => Ok(None),
            Err(e) => {
                let why = pfs_ratchet::SkippedKeysError(e.to_string());
                *self.failure.borrow_mut() = Some(e);
                Err(why)
            }
        }
    }
}

/// The group keys of an `HR_header` (bounded by the wire validation).
fn group_keys(hr: &pb::HrHeader) -> Vec<GroupKey> {
    hr.keys
        .iter()
        .flat_map(|k| &k.keys)
        .map(|k| GroupKey {
            group_id: hr.group_id.clone(),
            key: pfs_crypto::SecretVec::new(k.key.clone()),
            timestamp: k.timestamp,
            deprecated_key_id: k.deprecated_key_id,
        })
        .collect()
}
