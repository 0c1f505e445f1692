//! Installations: ours (pairing, approval, the at-most-N rule) and our peers', and the
//! selection of the installations a message goes to.

use super::*;

impl Engine {
    /// Every installation we know, ordered by identity then installation id.
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
    /// let known = alice.installations()?;
    /// assert_eq!(known.len(), 1);
    /// assert_eq!(known[0].installation_id, bob.installation_id());
    /// assert!(known[0].enabled, "a peer's devices are used at once; our own await approval");
    /// # Ok(()) }
    /// ```
    pub fn installations(&mut self) -> Result<Vec<InstallationView>, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        let rows = tx.all_installations()?;
        rows.into_iter().map(|r| view_installation(&r)).collect()
    }

    /// Enables (approves, pairs) one of our own installations.
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
    /// let (mut laptop, phrase) = Engine::create_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    /// )?;
    /// let mut phone = Engine::recover_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    ///     phrase.phrase(),
    /// )?;
    /// let mut bob = new_engine(&clock)?;
    /// laptop.process_bundle(&bob.own_bundle()?)?;
    /// laptop.process_bundle(&phone.own_bundle()?)?;
    /// // the phone is ours: not used until approved
    /// assert_eq!(laptop.send(bob.identity(), b"one")?.len(), 1);
    /// laptop.enable_installation(phone.installation())?;
    /// // now every message is copied to it
    /// let out = laptop.send(bob.identity(), b"two")?;
    /// assert_eq!(out.len(), 2);
    /// assert_eq!(out[1].kind, pfs_protocol::OutgoingKind::OwnDevicesCopy);
    /// let unknown = pfs_x3dh::InstallationId::new("unknown")?;
    /// assert!(matches!(
    ///     laptop.enable_installation(&unknown),
    ///     Err(pfs_protocol::EngineError::UnknownInstallation(id)) if id == unknown
    /// ));
    /// # Ok(()) }
    /// ```
    pub fn enable_installation(
        &mut self,
        installation_id: &InstallationId,
    ) -> Result<(), EngineError> {
        self.set_installation_enabled(installation_id, true)
    }

    /// Disables one of our own installations (a local action, spec §4.1).
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
    /// let (mut laptop, phrase) = Engine::create_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    /// )?;
    /// let mut phone = Engine::recover_account(
    ///     Box::new(pfs_store::MemoryStore::new()),
    ///     Box::new(clock.clone()),
    ///     Box::new(pfs_crypto::OsRandom),
    ///     Config::default(),
    ///     phrase.phrase(),
    /// )?;
    /// let mut bob = new_engine(&clock)?;
    /// laptop.process_bundle(&bob.own_bundle()?)?;
    /// laptop.process_bundle(&phone.own_bundle()?)?;
    /// laptop.enable_installation(phone.installation())?;
    /// assert_eq!(laptop.send(bob.identity(), b"one")?.len(), 2); // to Bob, and a copy to the phone
    /// laptop.disable_installation(phone.installation())?;
    /// assert_eq!(laptop.send(bob.identity(), b"two")?.len(), 1);
    /// let view = laptop.installations()?;
    /// assert!(view.iter().any(|i| &i.installation_id == phone.installation() && !i.enabled));
    /// # Ok(()) }
    /// ```
    pub fn disable_installation(
        &mut self,
        installation_id: &InstallationId,
    ) -> Result<(), EngineError> {
        self.set_installation_enabled(installation_id, false)
    }

    fn set_installation_enabled(
        &mut self,
        installation_id: &InstallationId,
        enabled: bool,
    ) -> Result<(), EngineError> {
        let me = identity_key(self.ctx.me.public());
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let mut rec = tx
            .installation(&me, installation_id)?
            .ok_or_else(|| EngineError::UnknownInstallation(installation_id.clone()))?;
        if enabled && !rec.enabled && self.ctx.config.contact_requests {
            let enabled_now = tx.installations(&me)?.iter().filter(|r| r.enabled).count();
            // we count ourselves: at most `max_installations` devices in total
            if enabled_now + 2 > self.ctx.config.max_installations {
                return Err(EngineError::TooManyDevices(
                    self.ctx.config.max_installations,
                ));
            }
        }
        rec.enabled = enabled;
        if enabled {
            rec.stale = false;
        }
        tx.put_installation(&rec)?;
        commit(tx, &mut self.ctx)?;
        self.ctx.bundle_cache = None;
        Ok(())
    }
}

impl Ctx {
    /// Enabled, non-stale installations of `identity` other than ourselves, most recently
    /// active first, ties by installation id bytes, at most `max`.
    pub(super) fn select_installations(
        &self,
        tx: &dyn Transaction,
        identity: &IdentityKey,
        max: usize,
    ) -> Result<Vec<InstallationRecord>, EngineError> {
        let mut rows: Vec<InstallationRecord> = tx
            .installations(identity)?
            .into_iter()
            .filter(|r| r.enabled && !r.stale)
            .filter(|r| !(r.identity == self.me_key() && r.installation_id == self.me.id()))
            .collect();
        rows.sort_by(|a, b| {
            b.timestamp.cmp(&a.timestamp).then_with(|| {
                a.installation_id
                    .as_bytes()
                    .cmp(b.installation_id.as_bytes())
            })
        });
        rows.truncate(max);
        Ok(rows)
    }
}

fn view_installation(r: &InstallationRecord) -> Result<InstallationView, EngineError> {
    Ok(InstallationView {
        identity: bundles::stored_key(&r.identity, "installation identity")?,
        installation_id: r.installation_id.clone(),
        timestamp: r.timestamp,
        enabled: r.enabled,
        protocol_version: r.protocol_version,
        stale: r.stale,
    })
}
