//! Sending: one `ProtocolMessage` per identity, an entry per target installation
//! (continuing its session or starting one with X3DH), the DH fallback without a bundle,
//! public messages, and the copy for our own devices.

use super::*;

impl Engine {
    /// Encrypts `plaintext` for `to`: one message for the peer's devices and, when we have
    /// other enabled devices, a second message addressed to our own identity so that they
    /// get it too (spec §4.2).
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
    /// // without Bob's bundle: one message, not forward secret (the DH fallback)
    /// let first = alice.send(bob.identity(), b"hello")?;
    /// assert!(!first[0].forward_secret);
    /// assert_eq!(bob.decrypt(alice.identity(), &first[0].bytes, &MessageId::from(b"m1"))?.plaintext, b"hello");
    /// // that message carried Alice's bundle: Bob's reply is forward secret
    /// let reply = bob.send(alice.identity(), b"hi")?;
    /// assert!(reply[0].forward_secret);
    /// # Ok(()) }
    /// ```
    pub fn send(&mut self, to: &PublicKey, plaintext: &[u8]) -> Result<Vec<Outgoing>, SendError> {
        self.send_inner(to, plaintext, false)
    }

    /// Like [`Engine::send`], marked as a contact request (the only thing that reaches a
    /// peer who declined us).
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
    /// let out = alice.send_contact_request(bob.identity(), b"it's Alice")?;
    /// let got = bob.decrypt(alice.identity(), &out[0].bytes, &MessageId::from(b"m1"))?;
    /// assert!(got.contact_request, "Alice is not Bob's contact yet");
    /// # Ok(()) }
    /// ```
    pub fn send_contact_request(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
    ) -> Result<Vec<Outgoing>, SendError> {
        self.send_inner(to, plaintext, true)
    }

    fn send_inner(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
        request: bool,
    ) -> Result<Vec<Outgoing>, SendError> {
        let mut out = vec![self.encrypt_for(to, plaintext, request)?];
        if to != self.ctx.me.public() {
            let me = self.ctx.me.public().clone();
            let copy = self.encrypt_for(&me, plaintext, false)?;
            if !copy.entries.is_empty() {
                out.push(Outgoing {
                    kind: OutgoingKind::OwnDevicesCopy,
                    ..copy
                });
            }
        }
        Ok(out)
    }

    /// Encrypts one `ProtocolMessage` for the installations of ONE identity (`to` may be
    /// our own identity: that reaches our paired devices). This is status-go's
    /// `BuildDirectMessage`.
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
    /// let out = alice.encrypt_for(bob.identity(), b"one", false)?;
    /// assert_eq!(out.entries, vec![bob.installation_id().to_owned()], "one entry per device");
    /// assert_eq!(bob.decrypt(alice.identity(), &out.bytes, &MessageId::from(b"m1"))?.plaintext, b"one");
    /// # Ok(()) }
    /// ```
    pub fn encrypt_for(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
        contact_request: bool,
    ) -> Result<Outgoing, SendError> {
        self.encrypt_in_tx(to, plaintext, contact_request, true)
    }

    /// Like [`Engine::encrypt_for`], for a message the application sends on its own (an
    /// acknowledgement): the recipient's contact state is left as it is (a reply the user
    /// writes accepts a contact request; an automatic one must not, nor add a stranger).
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
    /// let ack = alice.encrypt_automatic(bob.identity(), b"ack")?;
    /// assert!(alice.contacts()?.is_empty(), "an automatic message adds no contact");
    /// assert_eq!(bob.decrypt(alice.identity(), &ack.bytes, &MessageId::from(b"m1"))?.plaintext, b"ack");
    /// # Ok(()) }
    /// ```
    pub fn encrypt_automatic(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
    ) -> Result<Outgoing, SendError> {
        self.encrypt_in_tx(to, plaintext, false, false)
    }

    /// One `ProtocolMessage` for `to`, in one sending transaction (maintenance first when
    /// due); `by_user`: the contact state follows (see [`Engine::encrypt_automatic`]).
    fn encrypt_in_tx(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
        contact_request: bool,
        by_user: bool,
    ) -> Result<Outgoing, SendError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin_send(&mut self.store, &mut self.ctx)?;
        self.ctx.maybe_maintain(&mut *tx, now)?;
        let out = self
            .ctx
            .encrypt_for(&mut *tx, to, plaintext, contact_request, by_user, now)?;
        commit(tx, &mut self.ctx)?;
        Ok(out)
    }

    /// A public (unencrypted) message carrying our bundle.
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
    /// let public = alice.encrypt_public(b"to everyone")?;
    /// let got = bob.decrypt(alice.identity(), &public.bytes, &MessageId::from(b"m1"))?;
    /// assert_eq!(got.kind, pfs_protocol::DeliveredKind::Public);
    /// assert_eq!(got.plaintext, b"to everyone");
    /// // it carried Alice's bundle: Bob can now write to her forward secret
    /// assert!(bob.encrypt_for(alice.identity(), b"hi", false)?.forward_secret);
    /// # Ok(()) }
    /// ```
    pub fn encrypt_public(&mut self, plaintext: &[u8]) -> Result<Outgoing, EngineError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let bundle = self.ctx.own_bundle(&mut *tx, now)?;
        commit(tx, &mut self.ctx)?;
        let msg = pb::ProtocolMessage {
            installation_id: self.ctx.me.id().to_owned(),
            bundles: vec![bundle],
            public_message: plaintext.to_vec(),
            ..Default::default()
        };
        Ok(Outgoing {
            recipient: self.ctx.me.public().clone(),
            bytes: msg.encode_to_vec(),
            kind: OutgoingKind::Public,
            targeted: Vec::new(),
            entries: Vec::new(),
            forward_secret: false,
            agreed_secret: None,
        })
    }
}

impl Ctx {
    pub(super) fn encrypt_for(
        &mut self,
        tx: &mut dyn Transaction,
        to: &PublicKey,
        plaintext: &[u8],
        contact_request: bool,
        by_user: bool,
        now: i64,
    ) -> Result<Outgoing, SendError> {
        let to33 = identity_key(to);
        let to_self = to == self.me.public();
        #[cfg(feature = "inspection")]
        if let Some(inspect) = self.inspect.as_mut() {
            *inspect = Inspection::default();
        }
        let targets = self.select_installations(&*tx, &to33, self.config.max_installations)?;
        let mut entries: Vec<pb::DirectMessageEntry> = Vec::new();
        let mut entry_ids: Vec<InstallationId> = Vec::new();
        let mut all_heard = !targets.is_empty();
        for inst in &targets {
            let Some(entry) = self.entry_for(tx, to, inst, plaintext, now)? else {
                continue;
            };
            all_heard &= inst.heard_with_protocol_version;
            entries.push(entry);
            entry_ids.push(inst.installation_id.clone());
        }
        if entries.is_empty() && !to_self {
            let mut out = self.dh_message(tx, to, plaintext, now)?;
            out.targeted = targets.iter().map(|t| t.installation_id.clone()).collect();
            if contact_request {
                let mut msg =
                    pfs_wire::decode_protocol_message(&out.bytes, &self.config.wire_limits)
                        .map_err(|e| EngineError::Invalid(e.to_string()))?;
                msg.contact_request = true;
                out.bytes = msg.encode_to_vec();
            }
            if by_user {
                self.note_contact_on_send(tx, to, now)?;
            }
            return Ok(out);
        }
        let bundle = self.own_bundle(tx, now)?;
        let msg = pb::ProtocolMessage {
            installation_id: self.me.id().to_owned(),
            bundles: vec![bundle],
            direct_message: entries,
            contact_request,
            ..Default::default()
        };
        if !to_self && by_user {
            self.note_contact_on_send(tx, to, now)?;
        }
        let agreed_secret = all_heard.then(|| self.agreed_secret(to));
        Ok(Outgoing {
            recipient: to.clone(),
            bytes: msg.encode_to_vec(),
            kind: OutgoingKind::Message,
            targeted: targets.iter().map(|t| t.installation_id.clone()).collect(),
            entries: entry_ids,
            forward_secret: true,
            agreed_secret,
        })
    }

    pub(super) fn note_contact_on_send(
        &mut self,
        tx: &mut dyn Transaction,
        to: &PublicKey,
        now: i64,
    ) -> Result<(), EngineError> {
        if !self.config.contact_requests {
            return Ok(());
        }
        let id = identity_key(to);
        let state = match self.contact_state(&*tx, &id)? {
            None => Some(ContactState::Added),
            // replying to a request accepts it
            Some(ContactState::RequestReceived) => Some(ContactState::Accepted),
            _ => None,
        };
        if let Some(state) = state {
            let name = tx.contact(&id)?.and_then(|c| c.name);
            self.put_contact(
                tx,
                &ContactRecord {
                    identity: id,
                    state,
                    name,
                    updated_at: now,
                },
            )?;
        }
        Ok(())
    }

    /// The entry for one target installation: continue its session or start one (X3DH).
    pub(super) fn entry_for(
        &mut self,
        tx: &mut dyn Transaction,
        to: &PublicKey,
        inst: &InstallationRecord,
        plaintext: &[u8],
        now: i64,
    ) -> Result<Option<pb::DirectMessageEntry>, SendError> {
        let to33 = identity_key(to);
        #[cfg(feature = "inspection")]
        let mut new_sk = None;
        let mut session = match self.sending_session(tx, &to33, &inst.installation_id, now)? {
            Some(s) => s,
            None => {
                let Some(prekey) = tx
                    .peer_prekeys(&to33, &inst.installation_id)?
                    .into_iter()
                    .filter(|p| !p.expired)
                    .max_by_key(|p| p.version)
                else {
                    tracing::warn!(installation = %inst.installation_id, "no session and no prekey: skipped");
                    return Ok(None);
                };
                let spk = prekey.public.to_public_key().map_err(EngineError::from)?;
                let (sk, ephemeral) =
                    adapters::x3dh_initiate(&self.me.identity, to, &spk, &mut *self.rng)?;
                let suite = self.choose_suite(inst.protocol_version.max(prekey.protocol_version));
                let state = adapters::initiator_state(suite, &sk, &spk, &mut *self.rng)?;
                #[cfg(feature = "inspection")]
                {
                    new_sk = Some(sk.clone());
                }
                SessionRecord {
                    key: SessionKey {
                        peer_identity: to33,
                        id: session_id(&prekey.public, &inst.installation_id),
                    },
                    peer_installation: inst.installation_id.clone(),
                    rooted_spk: prekey.public,
                    we_initiated: true,
                    suite: adapters::stored_suite(suite),
                    state: state.to_bytes(),
                    shared_secret: sk,
                    pending_x3dh_ephemeral: Some(EphemeralKey::from(&ephemeral)),
                    created_at: now,
                    last_used: now,
                    expired_at: None,
                }
            }
        };
        let mut state = RatchetState::from_bytes(session.state.expose())
            .map_err(|e| EngineError::Corrupt(e.to_string()))?;
        let enc = state
            .encrypt_detailed(plaintext, &[])
            .map_err(|e| EngineError::Invalid(format!("ratchet cannot send: {e}")))?;
        #[cfg(feature = "inspection")]
        if let Some(inspect) = self.inspect.as_mut() {
            inspect.sent.push(SentEntryInspection {
                installation_id: inst.installation_id.clone(),
                session_id: SessionId::from_bytes(session.key.id.clone()),
                message_key: SecretBytes::new(*enc.message_key.expose()),
                associated_data: enc.associated_data.clone(),
                new_session_sk: new_sk,
            });
        }
        let (header, payload) = (enc.header, enc.ciphertext);
        session.state = state.to_bytes();
        session.last_used = now;
        let x3dh_header = session.pending_x3dh_ephemeral.map(|ek| pb::X3dhHeader {
            key: ek.as_bytes().to_vec(),
            id: session.rooted_spk.as_bytes().to_vec(),
        });
        tx.put_session(&session)?;
        Ok(Some(pb::DirectMessageEntry {
            installation_id: inst.installation_id.as_str().to_owned(),
            message: Some(pb::DirectMessageProtocol {
                x3dh_header,
                dr_header: Some(pb::DrHeader {
                    key: header.key,
                    n: header.n,
                    pn: header.pn,
                    id: session.rooted_spk.as_bytes().to_vec(),
                }),
                dh_header: None,
                hr_header: None,
                payload,
            }),
        }))
    }

    /// A message without forward secrecy (no bundle of the recipient): one `"none"` entry
    /// with a DH header, AES-256-GCM under ECDH(ephemeral, recipient identity).
    pub(super) fn dh_message(
        &mut self,
        tx: &mut dyn Transaction,
        to: &PublicKey,
        plaintext: &[u8],
        now: i64,
    ) -> Result<Outgoing, EngineError> {
        let ek = SecretKey::generate(&mut *self.rng)?;
        let key = ek.diffie_hellman(to);
        let mut nonce = [0u8; 12];
        self.rng.fill_bytes(&mut nonce)?;
        let payload = pfs_crypto::cipher::gcm_seal_nonce_appended(key.expose(), &nonce, plaintext)?;
        let bundle = self.own_bundle(tx, now)?;
        let msg = pb::ProtocolMessage {
            installation_id: self.me.id().to_owned(),
            bundles: vec![bundle],
            direct_message: vec![pb::DirectMessageEntry {
                installation_id: pfs_wire::NO_INSTALLATION_ID.into(),
                message: Some(pb::DirectMessageProtocol {
                    dh_header: Some(pb::DhHeader {
                        key: ek.public_key().to_compressed().to_vec(),
                    }),
                    payload,
                    ..Default::default()
                }),
            }],
            ..Default::default()
        };
        Ok(Outgoing {
            recipient: to.clone(),
            bytes: msg.encode_to_vec(),
            kind: OutgoingKind::Message,
            targeted: Vec::new(),
            entries: vec![no_installation_id()?],
            forward_secret: false,
            agreed_secret: None,
        })
    }
}
