//! Contacts: codes and keys, requests accepted or declined, removal and blocking; the
//! contact-state reads every message makes, cached across transactions.

use super::*;

impl Engine {
    /// Adds a contact from a contact code (its bundle is verified and stored, so the first
    /// message is forward secret).
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
    pub fn add_contact_key(
        &mut self,
        key: &PublicKey,
        name: Option<&str>,
    ) -> Result<(), EngineError> {
        self.set_contact(key, ContactState::Added, name)
    }

    /// Accepts a contact request.
    pub fn accept_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        self.set_contact(key, ContactState::Accepted, None)
    }

    /// Declines a contact request: further messages are dropped, except a re-sent request.
    pub fn decline_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        self.set_contact(key, ContactState::Declined, None)
    }

    /// Every contact.
    pub fn contacts(&mut self) -> Result<Vec<ContactRecord>, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        Ok(tx.contacts()?)
    }

    /// Forgets a contact: its name and state (a block too). Its sessions, installations
    /// and bundle are kept, so a later message from them is decrypted as before and makes
    /// them a contact request again; [`Engine::reset_sessions`] forgets the sessions.
    /// Returns false when `key` was not a contact.
    pub fn remove_contact(&mut self, key: &PublicKey) -> Result<bool, EngineError> {
        let id = key33(key);
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
    pub fn block_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        if key == self.ctx.me.public() {
            return Err(EngineError::Invalid("cannot block your own account".into()));
        }
        self.set_contact(key, ContactState::Blocked, None)
    }

    /// Lifts a block: the contact is [`ContactState::Added`] again. Refused when `key` is
    /// not blocked.
    pub fn unblock_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        let state = {
            let tx = begin(&mut self.store, &mut self.ctx)?;
            tx.contact(&key33(key))?.map(|c| c.state)
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
        let old = tx.contact(&key33(key))?;
        let name = name.map(str::to_owned).or_else(|| old.and_then(|c| c.name));
        self.ctx.put_contact(
            &mut *tx,
            &ContactRecord {
                identity: key33(key),
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
        id: &Key33,
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
