//! Contacts: codes and keys, requests accepted or declined, removal and blocking; the
//! contact-state reads every message makes, cached across transactions.

use super::*;

impl Engine {
    /// Adds a contact from a contact code (its bundle is verified and stored, so the first
    /// message is forward secret).
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
    /// let code = bob.contact_code()?;
    /// let who = alice.add_contact_code(&code, Some("Bob"))?;
    /// assert_eq!(&who, bob.identity());
    /// assert_eq!(alice.contacts()?[0].name.as_deref(), Some("Bob"));
    /// // the code carried Bob's bundle: the first message is forward secret
    /// assert!(alice.encrypt_for(&who, b"hi", false)?.forward_secret);
    /// assert!(alice.add_contact_code("not a code", None).is_err());
    /// # Ok(()) }
    /// ```
    pub fn add_contact_code(
        &mut self,
        code: &str,
        name: Option<&str>,
    ) -> Result<PublicKey, ReceiveError> {
        let vb = pfs_x3dh::parse_contact_code(code).map_err(ReceiveError::InvalidContactCode)?;
        let bundle = vb.bundle().clone();
        self.process_bundle(&bundle)?;
        let id = vb.identity().clone();
        self.set_contact(&id, ContactState::Added, name)?;
        Ok(id)
    }

    /// Adds a contact by bare chat key: messages go without forward secrecy until a
    /// bundle of theirs arrives.
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
    /// let (mut alice, bob) = (new_engine(&clock)?, new_engine(&clock)?);
    /// alice.add_contact_key(bob.identity(), Some("Bob"))?;
    /// assert_eq!(alice.contacts()?[0].state, pfs_store::ContactState::Added);
    /// // no bundle of Bob's yet: not forward secret
    /// assert!(!alice.encrypt_for(bob.identity(), b"hi", false)?.forward_secret);
    /// # Ok(()) }
    /// ```
    pub fn add_contact_key(
        &mut self,
        key: &PublicKey,
        name: Option<&str>,
    ) -> Result<(), EngineError> {
        self.set_contact(key, ContactState::Added, name)
    }

    /// Accepts a contact request.
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
    /// let req = alice.send_contact_request(bob.identity(), b"hello")?;
    /// assert!(bob.decrypt(alice.identity(), &req[0].bytes, &MessageId::from(b"m1"))?.contact_request);
    /// bob.accept_contact(alice.identity())?;
    /// assert_eq!(bob.contacts()?[0].state, pfs_store::ContactState::Accepted);
    /// # Ok(()) }
    /// ```
    pub fn accept_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        self.set_contact(key, ContactState::Accepted, None)
    }

    /// Declines a contact request: further messages are dropped, except a re-sent request.
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
    /// let req = alice.send_contact_request(bob.identity(), b"hello")?;
    /// bob.decrypt(alice.identity(), &req[0].bytes, &MessageId::from(b"m1"))?;
    /// bob.decline_contact(alice.identity())?;
    /// let again = alice.send(bob.identity(), b"please")?;
    /// assert!(matches!(
    ///     bob.decrypt(alice.identity(), &again[0].bytes, &MessageId::from(b"m2")),
    ///     Err(pfs_protocol::ReceiveError::Declined)
    /// ));
    /// # Ok(()) }
    /// ```
    pub fn decline_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        self.set_contact(key, ContactState::Declined, None)
    }

    /// Every contact.
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
    /// use pfs_store::{ContactState, IdentityKey};
    /// let (mut alice, bob, carol) = (new_engine(&clock)?, new_engine(&clock)?, new_engine(&clock)?);
    /// alice.add_contact_key(bob.identity(), Some("Bob"))?;
    /// alice.add_contact_key(carol.identity(), None)?;
    /// let contacts = alice.contacts()?;
    /// assert_eq!(contacts.len(), 2);
    /// let b = contacts.iter().find(|c| c.identity == IdentityKey::from(bob.identity())).ok_or("Bob")?;
    /// assert_eq!((b.state, b.name.as_deref()), (ContactState::Added, Some("Bob")));
    /// # Ok(()) }
    /// ```
    pub fn contacts(&mut self) -> Result<Vec<ContactRecord>, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        Ok(tx.contacts()?)
    }

    /// Forgets a contact: its name and state (a block too). Its sessions, installations
    /// and bundle are kept, so a later message from them is decrypted as before and makes
    /// them a contact request again; [`Engine::reset_sessions`] forgets the sessions.
    /// Returns false when `key` was not a contact.
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
    /// let (mut alice, bob) = (new_engine(&clock)?, new_engine(&clock)?);
    /// alice.add_contact_key(bob.identity(), None)?;
    /// assert!(alice.remove_contact(bob.identity())?);
    /// assert!(alice.contacts()?.is_empty());
    /// assert!(!alice.remove_contact(bob.identity())?, "not a contact any more");
    /// # Ok(()) }
    /// ```
    pub fn remove_contact(&mut self, key: &PublicKey) -> Result<bool, EngineError> {
        let id = identity_key(key);
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let existed = tx.contact(&id)?.is_some();
        if existed {
            tx.delete_contact(&id)?;
            self.ctx.contact_states.note(id, None);
        }
        commit(tx, &mut self.ctx)?;
        Ok(existed)
    }

    /// Blocks `key` (a contact or not; a name it has is kept): every message of theirs is
    /// dropped with [`ReceiveError::Blocked`], contact requests included, before their
    /// bundles are stored, and no bundle reply is sent to them. Sessions are kept.
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
    /// bob.block_contact(alice.identity())?;
    /// let m = alice.send(bob.identity(), b"hello?")?;
    /// assert!(matches!(
    ///     bob.decrypt(alice.identity(), &m[0].bytes, &MessageId::from(b"m1")),
    ///     Err(pfs_protocol::ReceiveError::Blocked)
    /// ));
    /// assert!(bob.take_outgoing().is_empty(), "no bundle reply to a blocked sender");
    /// bob.unblock_contact(alice.identity())?;
    /// assert!(bob.unblock_contact(alice.identity()).is_err(), "not blocked any more");
    /// # Ok(()) }
    /// ```
    pub fn block_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        if key == self.ctx.me.public() {
            return Err(EngineError::Invalid("cannot block your own account".into()));
        }
        self.set_contact(key, ContactState::Blocked, None)
    }

    /// Lifts a block: the contact is [`ContactState::Added`] again. Refused when `key` is
    /// not blocked.
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
    /// use pfs_protocol::EngineError;
    /// use pfs_store::ContactState;
    /// let (mut alice, bob) = (new_engine(&clock)?, new_engine(&clock)?);
    /// assert!(matches!(alice.unblock_contact(bob.identity()), Err(EngineError::Invalid(_))));
    /// alice.block_contact(bob.identity())?;
    /// alice.unblock_contact(bob.identity())?;
    /// assert_eq!(alice.contacts()?[0].state, ContactState::Added);
    /// # Ok(()) }
    /// ```
    pub fn unblock_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        let state = {
            let tx = begin(&mut self.store, &mut self.ctx)?;
            tx.contact(&identity_key(key))?.map(|c| c.state)
        };
        if state != Some(ContactState::Blocked) {
            return Err(EngineError::Invalid("this contact is not blocked".into()));
        }
        self.set_contact(key, ContactState::Added, None)
    }

    fn set_contact(
        &mut self,
        key: &PublicKey,
        state: ContactState,
        name: Option<&str>,
    ) -> Result<(), EngineError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let old = tx.contact(&identity_key(key))?;
        let name = name.map(str::to_owned).or_else(|| old.and_then(|c| c.name));
        self.ctx.put_contact(
            &mut *tx,
            &ContactRecord {
                identity: identity_key(key),
                state,
                name,
                updated_at: now,
            },
        )?;
        commit(tx, &mut self.ctx)?;
        Ok(())
    }
}

impl Ctx {
    /// The state of the contact `id` (None: not a contact): what the open transaction last
    /// read or wrote, else the cache of committed states, else the store.
    pub(super) fn contact_state(
        &mut self,
        tx: &dyn Transaction,
        id: &IdentityKey,
    ) -> Result<Option<ContactState>, EngineError> {
        if let Some(state) = self.contact_states.get(id) {
            return Ok(*state);
        }
        let state = tx.contact(id)?.map(|c| c.state);
        self.contact_states.note(*id, state);
        Ok(state)
    }

    /// Writes a contact (every engine write of a contact goes through here).
    pub(super) fn put_contact(
        &mut self,
        tx: &mut dyn Transaction,
        contact: &ContactRecord,
    ) -> Result<(), EngineError> {
        tx.put_contact(contact)?;
        self.contact_states
            .note(contact.identity, Some(contact.state));
        Ok(())
    }
}
