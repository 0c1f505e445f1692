//! Our bundle (signed prekey creation and rotation, the installations it lists) and
//! peers' bundles (verification, once per encoding; storage of prekeys and installations).

use super::*;

const VERIFIED_CACHE_MAX: usize = 512;

/// An identical bundle stored less than this long ago is not stored again: every message
/// carries the sender's bundle, and re-storing it unchanged would cost a transaction per
/// message.
const BUNDLE_RESTORE_AFTER_NS: i64 = 60 * crate::clock::SECOND;

/// `InstallationRecord::last_bundle_at` is refreshed at most this often (informational:
/// the stale-device timer uses `missing_since`).
const LAST_BUNDLE_AT_RESOLUTION_NS: i64 = 60 * crate::clock::SECOND;

pub(super) struct CachedBundle {
    entries: Vec<BundleEntry>,
    timestamp: i64,
    bundle: pb::Bundle,
    /// When our signed prekey in `entries` was created (its rotation is due by time).
    spk_created_at: i64,
    /// The transaction that built it committed, and nothing that feeds the bundle (our
    /// prekeys, our other installations and their prekeys) changed since: the bundle can
    /// be returned without reading them again. While false, `entries` is compared with
    /// the store first (the transaction may still roll back).
    pub(super) committed: bool,
}

/// A verified bundle, and when it was last written to the store.
pub(super) struct CachedVerified {
    bundle: Arc<VerifiedBundle>,
    stored_at: Option<i64>,
}

impl Engine {
    /// Our current bundle (creating or rotating our signed prekey when needed).
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
    /// let mut alice = new_engine(&clock)?;
    /// let bundle = alice.own_bundle()?;
    /// // one entry: this installation's signed prekey
    /// assert_eq!(bundle.signed_pre_keys.len(), 1);
    /// assert_eq!(bundle.signed_pre_keys[0].installation_id, alice.installation_id());
    /// // the same bundle until something changes or the prekey is due for rotation
    /// assert_eq!(alice.own_bundle()?, bundle);
    /// # Ok(()) }
    /// ```
    pub fn own_bundle(&mut self) -> Result<pb::Bundle, EngineError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let b = self.ctx.own_bundle(&mut *tx, now)?;
        commit(tx, &mut self.ctx)?;
        Ok(b)
    }

    /// Our current bundle as a contact code (base64 of the protobuf).
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
    /// let mut alice = new_engine(&clock)?;
    /// let code = alice.contact_code()?;
    /// let parsed = pfs_x3dh::parse_contact_code(&code)?; // verifies the signature
    /// assert_eq!(parsed.identity(), alice.identity());
    /// # Ok(()) }
    /// ```
    pub fn contact_code(&mut self) -> Result<String, EngineError> {
        let b = self.own_bundle()?;
        Ok(pfs_x3dh::contact_code(&b))
    }

    /// Verifies and stores a peer's (or our own other device's) bundle. Returns the
    /// installations it added, sorted by id, with their advertised protocol version.
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
    /// let added = alice.process_bundle(&bob.own_bundle()?)?;
    /// assert_eq!(added.len(), 1);
    /// assert_eq!(added[0].0, bob.installation_id());
    /// // seen again: nothing new
    /// assert!(alice.process_bundle(&bob.own_bundle()?)?.is_empty());
    /// // a forged bundle (Bob's, one byte of its signature changed) is refused
    /// let mut forged = bob.own_bundle()?;
    /// forged.signature[5] ^= 1;
    /// let err = alice.process_bundle(&forged).unwrap_err();
    /// assert!(err.is_peer_fault());
    /// # Ok(()) }
    /// ```
    pub fn process_bundle(
        &mut self,
        bundle: &pb::Bundle,
    ) -> Result<Vec<(InstallationId, u32)>, ReceiveError> {
        pfs_wire::validate_bundle(bundle, &self.ctx.config.wire_limits)?;
        let (digest, vb) = self.ctx.verify_cached(bundle)?;
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let added = self.ctx.store_bundle(&mut *tx, &vb, now)?;
        commit(tx, &mut self.ctx)?;
        self.ctx.mark_stored(&digest, now);
        Ok(added)
    }
}

impl Ctx {
    pub(super) fn current_prekey(
        &mut self,
        tx: &mut dyn Transaction,
        now: i64,
    ) -> Result<OwnPreKeyRecord, EngineError> {
        let all = tx.own_prekeys()?;
        let max_version = all.iter().map(|p| p.version).max().unwrap_or(0);
        let current = all
            .iter()
            .filter(|p| p.expired_at.is_none())
            .max_by_key(|p| p.version)
            .cloned();
        if let Some(p) = current {
            if p.created_at >= now.saturating_sub(self.config.prekey_rotation_ns) {
                return Ok(p);
            }
            // rotation: every own prekey expires; sessions rooted in them stop sending
            let mut expired = Vec::new();
            for mut old in all.into_iter().filter(|p| p.expired_at.is_none()) {
                old.expired_at = Some(now);
                tx.put_own_prekey(&old)?;
                expired.push(old.public);
            }
            if self.config.expired_session_retention_ns.is_some() {
                // metadata only: no session state is read
                tx.expire_responder_sessions_rooted_in(&expired, now)?;
            }
        }
        let secret = SecretKey::generate(&mut *self.rng)?;
        let rec = OwnPreKeyRecord {
            public: SignedPreKey::from(&secret.public_key()),
            secret: secret.to_bytes(),
            version: max_version + 1,
            created_at: now,
            expired_at: None,
        };
        tx.put_own_prekey(&rec)?;
        self.bundle_cache = None;
        Ok(rec)
    }

    pub(super) fn own_bundle(
        &mut self,
        tx: &mut dyn Transaction,
        now: i64,
    ) -> Result<pb::Bundle, EngineError> {
        // Nothing the bundle is made of changed since it was built and committed (every
        // write to our prekeys, our installations or their prekeys drops the cache), our
        // prekey is not due for rotation and the signature not due for renewal: the same
        // bundle as the full path below would return, without reading the store.
        if let Some(c) = &self.bundle_cache
            && c.committed
            && c.spk_created_at >= now.saturating_sub(self.config.prekey_rotation_ns)
            && self.config.bundle_resign_interval_ns > 0
            && now.saturating_sub(c.timestamp) <= self.config.bundle_resign_interval_ns
            && now >= c.timestamp
        {
            return Ok(c.bundle.clone());
        }
        let spk = self.current_prekey(tx, now)?;
        let spk_created_at = spk.created_at;
        let me = self.me_key();
        let mut entries = vec![BundleEntry {
            installation_id: self.me.installation_id.clone(),
            signed_pre_key: stored_key(&spk.public, "our signed prekey")?,
            version: spk.version,
            protocol_version: self.config.protocol_version,
        }];
        let siblings =
            self.select_installations(tx, &me, self.config.max_installations.saturating_sub(1))?;
        for s in siblings {
            let best = tx
                .peer_prekeys(&me, &s.installation_id)?
                .into_iter()
                .filter(|p| !p.expired)
                .max_by_key(|p| p.version);
            if let Some(p) = best {
                entries.push(BundleEntry {
                    installation_id: s.installation_id.clone(),
                    signed_pre_key: stored_key(&p.public, "a device's signed prekey")?,
                    version: p.version,
                    protocol_version: s.protocol_version,
                });
            }
        }
        if let Some(c) = &self.bundle_cache
            && c.entries == entries
            && self.config.bundle_resign_interval_ns > 0
            && now.saturating_sub(c.timestamp) <= self.config.bundle_resign_interval_ns
            && now >= c.timestamp
        {
            return Ok(c.bundle.clone());
        }
        let bundle = adapters::sign_bundle(&self.me.identity, &entries, now)?;
        self.bundle_cache = Some(CachedBundle {
            entries,
            timestamp: now,
            bundle: bundle.clone(),
            spk_created_at,
            committed: false,
        });
        Ok(bundle)
    }

    /// Verifies a bundle once per distinct encoding; returns its digest and content.
    pub(super) fn verify_cached(
        &mut self,
        bundle: &pb::Bundle,
    ) -> Result<([u8; 32], Arc<VerifiedBundle>), ReceiveError> {
        let digest = pfs_crypto::hash::sha256(&bundle.encode_to_vec());
        if let Some(v) = self.verified.get(&digest) {
            return Ok((digest, v.bundle.clone()));
        }
        let vb = Arc::new(pfs_x3dh::verify_bundle(bundle).map_err(ReceiveError::InvalidBundle)?);
        if self.verified.len() >= VERIFIED_CACHE_MAX {
            self.verified.clear();
        }
        self.verified.insert(
            digest,
            CachedVerified {
                bundle: vb.clone(),
                stored_at: None,
            },
        );
        Ok((digest, vb))
    }

    /// True when this exact bundle was stored less than a minute ago.
    pub(super) fn recently_stored(&self, digest: &[u8; 32], now: i64) -> bool {
        self.verified
            .get(digest)
            .and_then(|c| c.stored_at)
            .is_some_and(|t| now >= t && now - t < BUNDLE_RESTORE_AFTER_NS)
    }

    pub(super) fn mark_stored(&mut self, digest: &[u8; 32], now: i64) {
        if let Some(c) = self.verified.get_mut(digest) {
            c.stored_at = Some(now);
        }
    }

    /// Stores a verified bundle (status-go `ProcessPublicBundle` + the spec's stale timer).
    pub(super) fn store_bundle(
        &mut self,
        tx: &mut dyn Transaction,
        vb: &VerifiedBundle,
        now: i64,
    ) -> Result<Vec<(InstallationId, u32)>, EngineError> {
        let identity = identity_key(vb.identity());
        let own = identity == self.me_key();
        let mut added = Vec::new();
        for e in vb.entries() {
            if own && e.installation_id == self.me.installation_id {
                continue;
            }
            let spk = SignedPreKey::from(&e.signed_pre_key);
            let installation_id = &e.installation_id;
            // signed prekeys: the newest (version, then bundle time) is current; a newer
            // one expires the others (re-keying, and a wiped device re-using a version)
            let existing = tx.peer_prekeys(&identity, installation_id)?;
            if !existing.iter().any(|p| p.public == spk) {
                let newest = existing
                    .iter()
                    .map(|p| (p.version, p.bundle_timestamp))
                    .max();
                let current = newest.is_none_or(|n| (e.version, vb.timestamp_ns()) > n);
                tx.put_peer_prekey(&PeerPreKeyRecord {
                    identity,
                    installation_id: installation_id.clone(),
                    public: spk,
                    version: e.version,
                    protocol_version: e.protocol_version,
                    bundle_timestamp: vb.timestamp_ns(),
                    expired: !current,
                    received_at: now,
                })?;
                if current {
                    for mut p in existing.into_iter().filter(|p| !p.expired) {
                        p.expired = true;
                        tx.put_peer_prekey(&p)?;
                    }
                }
            }
            // installations
            match tx.installation(&identity, installation_id)? {
                None => {
                    tx.put_installation(&InstallationRecord {
                        identity,
                        installation_id: installation_id.clone(),
                        timestamp: vb.timestamp_ns(),
                        enabled: !own,
                        protocol_version: e.protocol_version,
                        first_seen: now,
                        last_bundle_at: now,
                        missing_since: None,
                        stale: false,
                        heard_with_protocol_version: false,
                    })?;
                    added.push((installation_id.clone(), e.protocol_version));
                }
                Some(old) => {
                    let mut r = old.clone();
                    if r.timestamp < vb.timestamp_ns() {
                        r.timestamp = vb.timestamp_ns();
                        r.protocol_version = r.protocol_version.max(e.protocol_version);
                    }
                    r.missing_since = None;
                    r.stale = false;
                    // Every message carries the sender's bundle: rewrite the row only when
                    // something changed, or to refresh `last_bundle_at` once per resolution.
                    let refresh = now.saturating_sub(r.last_bundle_at)
                        >= LAST_BUNDLE_AT_RESOLUTION_NS
                        || now < r.last_bundle_at;
                    if r != old || refresh {
                        r.last_bundle_at = now;
                        tx.put_installation(&r)?;
                    }
                }
            }
        }
        if self.config.stale_device_after_ns.is_some() {
            for mut r in tx.installations(&identity)? {
                let listed = vb
                    .entries()
                    .iter()
                    .any(|e| e.installation_id == r.installation_id);
                if !listed && r.missing_since.is_none() {
                    r.missing_since = Some(now);
                    tx.put_installation(&r)?;
                }
            }
        }
        if own {
            self.bundle_cache = None;
        }
        added.sort();
        Ok(added)
    }
}

/// A public key read from the store (a stored key that does not decode is corruption).
pub(super) fn stored_key(key: &impl AsRef<[u8]>, what: &str) -> Result<PublicKey, EngineError> {
    PublicKey::from_compressed(key.as_ref())
        .map_err(|e| EngineError::Corrupt(format!("{what}: {e}")))
}
