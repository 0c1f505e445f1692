//! Session selection (the one to send on, concurrent sessions, expiry on a superseded
//! prekey), the identity agreement cache, the suite choice, and session views.

use super::*;

const AGREED_CACHE_MAX: usize = 512;

impl Engine {
    /// Every session, for display.
    ///
    /// ```
    /// # use pfs_protocol::{Config, Engine, ManualClock};
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
    /// alice.encrypt_for(bob.identity(), b"hi", false)?;
    /// let sessions = alice.sessions()?;
    /// assert_eq!(sessions.len(), 1);
    /// assert_eq!(&sessions[0].peer, bob.identity());
    /// assert!(sessions[0].we_initiated && sessions[0].active);
    /// # Ok(()) }
    /// ```
    pub fn sessions(&mut self) -> Result<Vec<SessionView>, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        let mut out = Vec::new();
        for s in tx.all_sessions()? {
            out.push(view_session(&*tx, &s)?);
        }
        Ok(out)
    }

    /// Deletes every session with `peer` (with every device of theirs, expired ones too,
    /// and their skipped message keys) and returns what was deleted. The peer's bundle and
    /// installations are kept: the next message to them starts a new X3DH session when we
    /// have a bundle of theirs, and goes without forward secrecy otherwise. When we had
    /// started a session, our new one replaces their copy when our first message arrives
    /// (same prekey, same session id). A session *they* started is not theirs to drop by
    /// our reset: they keep sending on their copy, which fails here as "session not found"
    /// (a bundle reply is queued), until they reset it too; after both resets, whoever
    /// writes first starts the one new session.
    ///
    /// ```
    /// # use pfs_protocol::{Config, Engine, ManualClock};
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
    /// alice.encrypt_for(bob.identity(), b"hi", false)?;
    /// assert_eq!(alice.reset_sessions(bob.identity())?.len(), 1);
    /// assert!(alice.sessions()?.is_empty());
    /// // the bundle is kept: the next message starts a new session
    /// assert!(alice.encrypt_for(bob.identity(), b"again", false)?.forward_secret);
    /// # Ok(()) }
    /// ```
    pub fn reset_sessions(&mut self, peer: &PublicKey) -> Result<Vec<SessionView>, EngineError> {
        let peer33 = identity_key(peer);
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let mut reset = Vec::new();
        for s in tx.all_sessions()? {
            if s.key.peer_identity == peer33 {
                reset.push(view_session(&*tx, &s)?);
                tx.delete_session(&s.key)?;
            }
        }
        commit(tx, &mut self.ctx)?;
        Ok(reset)
    }

    /// The ratchet state of one session (for inspection and vector replays).
    ///
    /// ```
    /// # use pfs_protocol::{Config, Engine, ManualClock};
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
    /// alice.encrypt_for(bob.identity(), b"hi", false)?;
    /// let id = alice.sessions()?[0].id.clone();
    /// let state = alice.session_state(bob.identity(), &id)?.expect("a session");
    /// // between two pfs engines the spec's X25519 ratchet (`Config::status_go_compatible`
    /// // keeps status-go's)
    /// assert_eq!(state.suite_id(), pfs_protocol::SuiteId::Spec);
    /// let unknown = pfs_protocol::SessionId::new(
    ///     &pfs_x3dh::SignedPreKey::from_bytes([2; 33]),
    ///     &pfs_x3dh::InstallationId::new("no such device")?,
    /// );
    /// assert!(alice.session_state(bob.identity(), &unknown)?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn session_state(
        &mut self,
        peer: &PublicKey,
        id: &SessionId,
    ) -> Result<Option<RatchetState>, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        let key = SessionKey {
            peer_identity: identity_key(peer),
            id: id.as_bytes().to_vec(),
        };
        match tx.session(&key)? {
            Some(s) => Ok(Some(
                RatchetState::from_bytes(s.state.expose())
                    .map_err(|e| EngineError::Corrupt(e.to_string()))?,
            )),
            None => Ok(None),
        }
    }

    /// True when a session usable for sending exists with some installation of `peer`
    /// ("PFS established").
    ///
    /// ```
    /// # use pfs_protocol::{Config, Engine, ManualClock};
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
    /// assert!(!alice.pfs_established(bob.identity())?);
    /// alice.process_bundle(&bob.own_bundle()?)?;
    /// alice.encrypt_for(bob.identity(), b"hi", false)?;
    /// assert!(alice.pfs_established(bob.identity())?);
    /// # Ok(()) }
    /// ```
    pub fn pfs_established(&mut self, peer: &PublicKey) -> Result<bool, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        pfs_established(&*tx, peer)
    }
}

impl Ctx {
    pub(super) fn prekey_expired(
        &self,
        tx: &dyn Transaction,
        s: &SessionRecord,
    ) -> Result<bool, EngineError> {
        if s.we_initiated {
            let theirs = tx.peer_prekeys(&s.key.peer_identity, &s.peer_installation)?;
            Ok(theirs
                .iter()
                .find(|p| p.public == s.rooted_spk)
                .is_none_or(|p| p.expired))
        } else {
            Ok(tx
                .own_prekey(&s.rooted_spk)?
                .is_none_or(|p| p.expired_at.is_some()))
        }
    }

    /// The session to send on for one installation: unexpired, rooted in an unexpired
    /// prekey; among several, the one whose shared secret is first in byte order (spec
    /// §3.2), the others are marked expired.
    pub(super) fn sending_session(
        &self,
        tx: &mut dyn Transaction,
        peer: &IdentityKey,
        installation_id: &InstallationId,
        now: i64,
    ) -> Result<Option<SessionRecord>, EngineError> {
        let mut usable = Vec::new();
        for mut s in tx.sessions_with(peer, installation_id)? {
            if s.expired_at.is_some() {
                continue;
            }
            if self.prekey_expired(&*tx, &s)? {
                if self.config.expired_session_retention_ns.is_some() {
                    s.expired_at = Some(now);
                    tx.put_session(&s)?;
                }
                continue;
            }
            usable.push(s);
        }
        if usable.len() > 1 {
            usable.sort_by(|a, b| a.shared_secret.expose().cmp(b.shared_secret.expose()));
            for mut loser in usable.drain(1..) {
                loser.expired_at = Some(now);
                tx.put_session(&loser)?;
            }
        }
        Ok(usable.into_iter().next())
    }

    /// ECDH of our identity with `peer`'s, computed once per peer.
    pub(super) fn agreed_secret(&mut self, peer: &PublicKey) -> SecretBytes<32> {
        let id = identity_key(peer);
        if let Some(s) = self.agreed.get(&id) {
            return s.clone();
        }
        let s = self.me.secret().diffie_hellman(peer);
        if self.agreed.len() >= AGREED_CACHE_MAX {
            self.agreed.clear();
        }
        self.agreed.insert(id, s.clone());
        s
    }

    pub(super) fn choose_suite(&self, peer_protocol_version: u32) -> SuiteId {
        match self.config.suite {
            SuitePreference::SpecWhenSupported if peer_protocol_version >= 2 => SuiteId::Spec,
            _ => SuiteId::StatusGo,
        }
    }
}

fn view_session(tx: &dyn Transaction, s: &SessionRecord) -> Result<SessionView, EngineError> {
    Ok(SessionView {
        peer: bundles::stored_key(&s.key.peer_identity, "session peer identity")?,
        peer_installation: s.peer_installation.clone(),
        id: SessionId::from_bytes(s.key.id.clone()),
        suite: adapters::session_suite(s.suite)?,
        active: s.expired_at.is_none(),
        we_initiated: s.we_initiated,
        created_at: s.created_at,
        last_used: s.last_used,
        expired_at: s.expired_at,
        skipped_keys: tx.count_skipped_keys(&s.key)?,
    })
}

/// Looks only at the peer's own installations: this runs on every received message, and
/// reading every session of every contact would make receiving cost grow with the number
/// of contacts.
pub(super) fn pfs_established(tx: &dyn Transaction, peer: &PublicKey) -> Result<bool, EngineError> {
    let peer33 = identity_key(peer);
    for inst in tx.installations(&peer33)? {
        if tx
            .sessions_with(&peer33, &inst.installation_id)?
            .iter()
            .any(|s| s.expired_at.is_none())
        {
            return Ok(true);
        }
    }
    Ok(false)
}
