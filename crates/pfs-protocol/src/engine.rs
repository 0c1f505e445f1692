//! The engine: accounts, bundles, devices, sending, receiving, maintenance.

use crate::adapters::{self, BundleEntry, VerifiedBundle};
use crate::clock::Clock;
use crate::config::{Config, SuitePreference};
use crate::error::{EngineError, ReceiveError, SendError};
use crate::types::*;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{RandomSource, SecretBytes};
use pfs_ratchet::{RatchetState, SuiteId};
use pfs_store::{
    AccountRecord, ContactRecord, ContactState, InstallationRecord, Key33, OwnPreKeyRecord,
    PeerPreKeyRecord, SessionKey, SessionRecord, SkippedKeyRecord, Store, Transaction,
};
use pfs_wire::{Message, pb};
use std::collections::{HashMap, HashSet};

const RATE_BUNDLE_REPLY: &str = "bundle-reply";
const RATE_MAINTENANCE: &str = "maintenance";
const VERIFIED_CACHE_MAX: usize = 512;
const AGREED_CACHE_MAX: usize = 512;
/// Entries of the contact-state and heard-installation caches before they start over.
const ROW_CACHE_MAX: usize = 4096;
/// `InstallationRecord::last_bundle_at` is refreshed at most this often (informational:
/// the stale-device timer uses `missing_since`).
const LAST_BUNDLE_AT_RESOLUTION_NS: i64 = 60 * crate::clock::SECOND;

/// The protocol engine of one installation. Sans-IO: bytes in, bytes out.
///
/// The engine owns its store and must be its only user while it runs: besides the store
/// it keeps a few committed facts in memory (when maintenance last ran, our current
/// bundle, contact states, installations already marked as heard), updated only when a
/// transaction commits. Open a new engine on a store that was changed from outside.
pub struct Engine {
    store: Box<dyn Store>,
    ctx: Ctx,
}

struct Me {
    secret: SecretKey,
    public: PublicKey,
    installation_id: String,
}

struct CachedBundle {
    entries: Vec<BundleEntry>,
    timestamp: i64,
    bundle: pb::Bundle,
    /// When our signed prekey in `entries` was created (its rotation is due by time).
    spk_created_at: i64,
    /// The transaction that built it committed, and nothing that feeds the bundle (our
    /// prekeys, our other installations and their prekeys) changed since: the bundle can
    /// be returned without reading them again. While false, `entries` is compared with
    /// the store first (the transaction may still roll back).
    committed: bool,
}

/// A verified bundle, and when it was last written to the store.
struct CachedVerified {
    bundle: VerifiedBundle,
    stored_at: Option<i64>,
}

/// An identical bundle stored less than this long ago is not stored again: every message
/// carries the sender's bundle, and re-storing it unchanged would cost a transaction per
/// message.
const BUNDLE_RESTORE_AFTER_NS: i64 = 60 * crate::clock::SECOND;

struct Ctx {
    clock: Box<dyn Clock>,
    rng: Box<dyn RandomSource>,
    config: Config,
    me: Me,
    bundle_cache: Option<CachedBundle>,
    verified: HashMap<[u8; 32], CachedVerified>,
    /// ECDH(our identity, peer identity) per peer: both keys are fixed, and the scalar
    /// multiplication was the largest cost of a send.
    agreed: HashMap<Key33, SecretBytes<32>>,
    /// When maintenance last ran, as committed (None: not read from the store yet). This
    /// engine is the store's only writer, so the value stays right between transactions.
    last_maintenance: Option<i64>,
    /// The maintenance time written or read by the open transaction, kept on commit.
    pending_maintenance: Option<i64>,
    /// Contact states as committed (None: no contact row), for the contacts looked up on
    /// every message; only this engine writes them.
    contact_states: HashMap<Key33, Option<ContactState>>,
    /// Contact states read or written by the open transaction, in order, kept on commit.
    pending_contact_states: Vec<(Key33, Option<ContactState>)>,
    /// Installations known to exist with `heard_with_protocol_version` set, as committed
    /// (installation rows are never deleted and the flag is never cleared).
    heard: HashSet<(Key33, String)>,
    /// Installations the open transaction read or marked so, kept on commit.
    pending_heard: Vec<(Key33, String)>,
    outbox: Vec<Outgoing>,
    inspect: Option<Inspection>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("identity", &self.ctx.me.public)
            .field("installation_id", &self.ctx.me.installation_id)
            .finish_non_exhaustive()
    }
}

fn key33(k: &PublicKey) -> Key33 {
    k.to_compressed()
}

/// Begins a transaction of the engine (every transaction but account creation goes
/// through here and, when it commits, through [`commit`]).
fn begin<'s>(
    store: &'s mut Box<dyn Store>,
    ctx: &mut Ctx,
) -> Result<Box<dyn Transaction + 's>, pfs_store::StoreError> {
    begin_with(store, ctx, false)
}

/// [`begin`] for a transaction that consumes sending message keys: durable at commit when
/// [`Config::durable_sends`] is on (see [`Store::begin_durable`]).
fn begin_send<'s>(
    store: &'s mut Box<dyn Store>,
    ctx: &mut Ctx,
) -> Result<Box<dyn Transaction + 's>, pfs_store::StoreError> {
    let durable = ctx.config.durable_sends;
    begin_with(store, ctx, durable)
}

fn begin_with<'s>(
    store: &'s mut Box<dyn Store>,
    ctx: &mut Ctx,
    durable: bool,
) -> Result<Box<dyn Transaction + 's>, pfs_store::StoreError> {
    ctx.begun();
    if durable {
        store.begin_durable()
    } else {
        store.begin()
    }
}

/// Commits a transaction begun with [`begin`]; the in-memory caches then take what it
/// wrote.
fn commit(tx: Box<dyn Transaction + '_>, ctx: &mut Ctx) -> Result<(), pfs_store::StoreError> {
    tx.commit()?;
    ctx.committed();
    Ok(())
}

fn session_id(spk: &Key33, installation_id: &str) -> Vec<u8> {
    let mut id = spk.to_vec();
    id.extend_from_slice(installation_id.as_bytes());
    id
}

impl Engine {
    // ------------------------------------------------------------------ accounts

    /// Creates a new account in an empty store: returns the engine and the 12-word
    /// mnemonic (show it once; it is not stored).
    pub fn create_account(
        mut store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        mut rng: Box<dyn RandomSource>,
        config: Config,
    ) -> Result<(Self, pfs_x3dh::Mnemonic), EngineError> {
        let (account, mnemonic) = pfs_x3dh::Account::create(&mut *rng)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let secret = account.identity().secret().clone();
        let installation_id = account.installation_id().to_string();
        Self::install(&mut *store, &*clock, &secret, &installation_id)?;
        Ok((
            Self::new(store, clock, rng, config, secret, installation_id),
            mnemonic,
        ))
    }

    /// Recovers an account from its mnemonic into an empty store, with a new installation
    /// id (spec §4.3: recovery is a new device).
    pub fn recover_account(
        mut store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        mut rng: Box<dyn RandomSource>,
        config: Config,
        phrase: &str,
    ) -> Result<Self, EngineError> {
        let account = pfs_x3dh::Account::recover(phrase, &mut *rng)?;
        let secret = account.identity().secret().clone();
        let installation_id = account.installation_id().to_string();
        Self::install(&mut *store, &*clock, &secret, &installation_id)?;
        Ok(Self::new(
            store,
            clock,
            rng,
            config,
            secret,
            installation_id,
        ))
    }

    /// Creates an account with a given identity key and installation id (tests, vector
    /// replays, imports).
    pub fn create_with_identity(
        mut store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        rng: Box<dyn RandomSource>,
        config: Config,
        identity_secret: &[u8],
        installation_id: &str,
    ) -> Result<Self, EngineError> {
        let secret = SecretKey::from_bytes(identity_secret)?;
        if installation_id.is_empty() {
            return Err(EngineError::Invalid("empty installation id".into()));
        }
        Self::install(&mut *store, &*clock, &secret, installation_id)?;
        Ok(Self::new(
            store,
            clock,
            rng,
            config,
            secret,
            installation_id.to_owned(),
        ))
    }

    fn install(
        store: &mut dyn Store,
        clock: &dyn Clock,
        secret: &SecretKey,
        installation_id: &str,
    ) -> Result<(), EngineError> {
        let mut tx = store.begin()?;
        if tx.account()?.is_some() {
            return Err(EngineError::AccountExists);
        }
        tx.put_account(&AccountRecord {
            identity_secret: secret.to_bytes(),
            installation_id: installation_id.to_owned(),
            created_at: clock.now_ns(),
        })?;
        tx.commit()?;
        Ok(())
    }

    /// Opens the account held by `store`.
    pub fn open(
        mut store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        rng: Box<dyn RandomSource>,
        config: Config,
    ) -> Result<Self, EngineError> {
        let account = {
            let tx = store.begin()?;
            tx.account()?.ok_or(EngineError::NoAccount)?
        };
        let secret = SecretKey::from_bytes(account.identity_secret.expose())
            .map_err(|e| EngineError::Corrupt(e.to_string()))?;
        Ok(Self::new(
            store,
            clock,
            rng,
            config,
            secret,
            account.installation_id,
        ))
    }

    fn new(
        store: Box<dyn Store>,
        clock: Box<dyn Clock>,
        rng: Box<dyn RandomSource>,
        config: Config,
        secret: SecretKey,
        installation_id: String,
    ) -> Self {
        let public = secret.public_key();
        Self {
            store,
            ctx: Ctx {
                clock,
                rng,
                config,
                me: Me {
                    secret,
                    public,
                    installation_id,
                },
                bundle_cache: None,
                verified: HashMap::new(),
                agreed: HashMap::new(),
                last_maintenance: None,
                pending_maintenance: None,
                contact_states: HashMap::new(),
                pending_contact_states: Vec::new(),
                heard: HashSet::new(),
                pending_heard: Vec::new(),
                outbox: Vec::new(),
                inspect: None,
            },
        }
    }

    /// Our identity (chat key).
    pub fn identity(&self) -> &PublicKey {
        &self.ctx.me.public
    }

    /// Our installation id.
    pub fn installation_id(&self) -> &str {
        &self.ctx.me.installation_id
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    /// Turns hazardous inspection (message keys of the last operation) on or off.
    pub fn set_inspection(&mut self, on: bool) {
        self.ctx.inspect = on.then(Inspection::default);
    }

    /// The inspection data of the last operation, when inspection is on.
    pub fn inspection(&self) -> Option<&Inspection> {
        self.ctx.inspect.as_ref()
    }

    /// Messages the engine wants sent (bundle replies), in order. Drains the outbox.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.ctx.outbox)
    }

    // ------------------------------------------------------------------ bundles

    /// Our current bundle (creating or rotating our signed prekey when needed).
    pub fn own_bundle(&mut self) -> Result<pb::Bundle, EngineError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let b = self.ctx.own_bundle(&mut *tx, now)?;
        commit(tx, &mut self.ctx)?;
        Ok(b)
    }

    /// Our current bundle as a contact code (base64 of the protobuf).
    pub fn contact_code(&mut self) -> Result<String, EngineError> {
        let b = self.own_bundle()?;
        Ok(pfs_x3dh::contact_code(&b))
    }

    /// Verifies and stores a peer's (or our own other device's) bundle. Returns the
    /// installations it added, sorted by id, with their advertised protocol version.
    pub fn process_bundle(
        &mut self,
        bundle: &pb::Bundle,
    ) -> Result<Vec<(String, u32)>, ReceiveError> {
        pfs_wire::validate_bundle(bundle, &self.ctx.config.wire_limits)?;
        let (digest, vb) = self.ctx.verify_cached(bundle)?;
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let added = self.ctx.store_bundle(&mut *tx, &vb, now)?;
        commit(tx, &mut self.ctx)?;
        self.ctx.mark_stored(&digest, now);
        Ok(added)
    }

    // ------------------------------------------------------------------ devices

    /// Every installation we know, ordered by identity then installation id.
    pub fn installations(&mut self) -> Result<Vec<InstallationView>, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        let rows = tx.all_installations()?;
        rows.into_iter().map(|r| view_installation(&r)).collect()
    }

    /// Enables (approves, pairs) one of our own installations.
    pub fn enable_installation(&mut self, installation_id: &str) -> Result<(), EngineError> {
        self.set_installation_enabled(installation_id, true)
    }

    /// Disables one of our own installations (a local action, spec §4.1).
    pub fn disable_installation(&mut self, installation_id: &str) -> Result<(), EngineError> {
        self.set_installation_enabled(installation_id, false)
    }

    fn set_installation_enabled(
        &mut self,
        installation_id: &str,
        enabled: bool,
    ) -> Result<(), EngineError> {
        let me = key33(&self.ctx.me.public);
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let mut rec = tx
            .installation(&me, installation_id)?
            .ok_or_else(|| EngineError::UnknownInstallation(installation_id.to_owned()))?;
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

    // ------------------------------------------------------------------ sending

    /// Encrypts `plaintext` for `to`: one message for the peer's devices and, when we have
    /// other enabled devices, a second message addressed to our own identity so that they
    /// get it too (spec §4.2).
    pub fn send(&mut self, to: &PublicKey, plaintext: &[u8]) -> Result<Vec<Outgoing>, SendError> {
        self.send_inner(to, plaintext, false)
    }

    /// Like [`Engine::send`], marked as a contact request (the only thing that reaches a
    /// peer who declined us).
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
        if *to != self.ctx.me.public {
            let me = self.ctx.me.public.clone();
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
    pub fn encrypt_for(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
        contact_request: bool,
    ) -> Result<Outgoing, SendError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin_send(&mut self.store, &mut self.ctx)?;
        self.ctx.maybe_maintain(&mut *tx, now)?;
        let out = self
            .ctx
            .encrypt_for(&mut *tx, to, plaintext, contact_request, true, now)?;
        commit(tx, &mut self.ctx)?;
        Ok(out)
    }

    /// Like [`Engine::encrypt_for`], for a message the application sends on its own (an
    /// acknowledgement): the recipient's contact state is left as it is (a reply the user
    /// writes accepts a contact request; an automatic one must not, nor add a stranger).
    pub fn encrypt_automatic(
        &mut self,
        to: &PublicKey,
        plaintext: &[u8],
    ) -> Result<Outgoing, SendError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin_send(&mut self.store, &mut self.ctx)?;
        self.ctx.maybe_maintain(&mut *tx, now)?;
        let out = self
            .ctx
            .encrypt_for(&mut *tx, to, plaintext, false, false, now)?;
        commit(tx, &mut self.ctx)?;
        Ok(out)
    }

    /// A public (unencrypted) message carrying our bundle.
    pub fn encrypt_public(&mut self, plaintext: &[u8]) -> Result<Outgoing, EngineError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        let bundle = self.ctx.own_bundle(&mut *tx, now)?;
        commit(tx, &mut self.ctx)?;
        let msg = pb::ProtocolMessage {
            installation_id: self.ctx.me.installation_id.clone(),
            bundles: vec![bundle],
            public_message: plaintext.to_vec(),
            ..Default::default()
        };
        Ok(Outgoing {
            recipient: self.ctx.me.public.clone(),
            bytes: msg.encode_to_vec(),
            kind: OutgoingKind::Public,
            targeted: Vec::new(),
            entries: Vec::new(),
            forward_secret: false,
            agreed_secret: None,
        })
    }

    // ------------------------------------------------------------------ receiving

    /// Decrypts a message from `sender` (the identity authenticated by the transport).
    /// `message_id` identifies it for two-phase confirmation ([`Engine::confirm`]).
    ///
    /// Bundles carried by the message are verified and stored first, even when the rest
    /// then fails (as status-go does). A failure leaves every session untouched. Replies
    /// the engine wants to send (bundle replies) are queued: see [`Engine::take_outgoing`].
    pub fn decrypt(
        &mut self,
        sender: &PublicKey,
        bytes: &[u8],
        message_id: &[u8],
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
            if *sender != self.ctx.me.public
                && self.ctx.contact_state(&*tx, &key33(sender))? == Some(ContactState::Blocked)
            {
                return Err(ReceiveError::Blocked);
            }
            for (_, vb) in &verified {
                for (id, _) in self.ctx.store_bundle(&mut *tx, vb, now)? {
                    new_installations.push((vb.identity.clone(), id));
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
            && matches!(
                e,
                ReceiveError::DeviceNotFound
                    | ReceiveError::NotPairedDevice
                    | ReceiveError::SessionNotFound
                    | ReceiveError::UnknownSignedPreKey
            )
        {
            self.queue_bundle_reply(sender, now)?;
        }
        result
    }

    /// Confirms that the application stored the message `message_id`: its kept message
    /// key is deleted (two-phase mode). Unknown ids are ignored.
    pub fn confirm(&mut self, message_id: &[u8]) -> Result<(), EngineError> {
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
        let key = key33(to);
        if let Some(last) = tx.rate_limit(RATE_BUNDLE_REPLY, &key)?
            && now.saturating_sub(last) < self.ctx.config.bundle_reply_interval_ns
        {
            return Ok(());
        }
        let mut out = self.ctx.dh_message(&mut *tx, to, &[], now)?;
        out.kind = OutgoingKind::BundleReply;
        tx.put_rate_limit(RATE_BUNDLE_REPLY, &key, now)?;
        commit(tx, &mut self.ctx)?;
        self.ctx.outbox.push(out);
        Ok(())
    }

    // ------------------------------------------------------------------ sessions

    /// Every session, for display.
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
    pub fn reset_sessions(&mut self, peer: &PublicKey) -> Result<Vec<SessionView>, EngineError> {
        let peer33 = key33(peer);
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
    pub fn session_state(
        &mut self,
        peer: &PublicKey,
        id: &[u8],
    ) -> Result<Option<RatchetState>, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        let key = SessionKey {
            peer_identity: key33(peer),
            id: id.to_vec(),
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
    pub fn pfs_established(&mut self, peer: &PublicKey) -> Result<bool, EngineError> {
        let tx = begin(&mut self.store, &mut self.ctx)?;
        pfs_established(&*tx, peer)
    }

    /// Runs maintenance now: deletes sessions expired longer than the retention, deletes
    /// prekeys no longer needed, marks stale devices.
    pub fn maintain(&mut self) -> Result<(), EngineError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        self.ctx.maintain(&mut *tx, now)?;
        commit(tx, &mut self.ctx)?;
        Ok(())
    }

    // ------------------------------------------------------------------ app records

    /// Runs `f` on the application-layer records of the account's store (the app layer's
    /// outbox, seen ids, clock), in one transaction that is committed when `f` returns
    /// `Ok` and rolled back otherwise. Only those records are reachable through it.
    pub fn with_app_records<T, E: From<EngineError>>(
        &mut self,
        f: impl FnOnce(&mut AppRecords<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut tx = begin(&mut self.store, &mut self.ctx).map_err(EngineError::from)?;
        let out = f(&mut AppRecords { tx: &mut *tx })?;
        commit(tx, &mut self.ctx).map_err(EngineError::from)?;
        Ok(out)
    }

    // ------------------------------------------------------------------ contacts

    /// Adds a contact from a contact code (its bundle is verified and stored, so the first
    /// message is forward secret).
    pub fn add_contact_code(
        &mut self,
        code: &str,
        name: Option<&str>,
    ) -> Result<PublicKey, ReceiveError> {
        let vb = pfs_x3dh::parse_contact_code(code)
            .map_err(|e| ReceiveError::InvalidBundle(e.to_string()))?;
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
            self.ctx.pending_contact_states.push((id, None));
        }
        commit(tx, &mut self.ctx)?;
        Ok(existed)
    }

    /// Blocks `key` (a contact or not; a name it has is kept): every message of theirs is
    /// dropped with [`ReceiveError::Blocked`], contact requests included, before their
    /// bundles are stored, and no bundle reply is sent to them. Sessions are kept.
    pub fn block_contact(&mut self, key: &PublicKey) -> Result<(), EngineError> {
        if *key == self.ctx.me.public {
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

fn view_session(tx: &dyn Transaction, s: &SessionRecord) -> Result<SessionView, EngineError> {
    Ok(SessionView {
        peer: PublicKey::from_compressed(&s.key.peer_identity)
            .map_err(|e| EngineError::Corrupt(e.to_string()))?,
        peer_installation: s.peer_installation.clone(),
        id: s.key.id.clone(),
        suite: adapters::suite_from_code(s.suite)?,
        active: s.expired_at.is_none(),
        we_initiated: s.we_initiated,
        created_at: s.created_at,
        last_used: s.last_used,
        expired_at: s.expired_at,
        skipped_keys: tx.count_skipped_keys(&s.key)?,
    })
}

fn view_installation(r: &InstallationRecord) -> Result<InstallationView, EngineError> {
    Ok(InstallationView {
        identity: PublicKey::from_compressed(&r.identity)
            .map_err(|e| EngineError::Corrupt(e.to_string()))?,
        installation_id: r.installation_id.clone(),
        timestamp: r.timestamp,
        enabled: r.enabled,
        protocol_version: r.protocol_version,
        stale: r.stale,
    })
}

/// Looks only at the peer's own installations: this runs on every received message, and
/// reading every session of every contact would make receiving cost grow with the number
/// of contacts.
fn pfs_established(tx: &dyn Transaction, peer: &PublicKey) -> Result<bool, EngineError> {
    let peer33 = key33(peer);
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

/// The session a received message was decrypted with, as written back.
struct UsedSession {
    /// Not expired.
    active: bool,
    /// The peer installation it is with.
    peer_installation: String,
}

/// Read-only skipped-key lookup over a store transaction, for the ratchet.
struct TxSkipped<'a> {
    tx: &'a dyn Transaction,
    key: &'a SessionKey,
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
            Err(e) => Err(pfs_ratchet::SkippedKeysError(e.to_string())),
        }
    }
}

impl Ctx {
    fn me33(&self) -> Key33 {
        key33(&self.me.public)
    }

    /// A transaction begins: whatever an earlier one left pending was not committed.
    fn begun(&mut self) {
        self.pending_maintenance = None;
        self.pending_contact_states.clear();
        self.pending_heard.clear();
        if self.bundle_cache.as_ref().is_some_and(|c| !c.committed) {
            self.bundle_cache = None;
        }
    }

    /// The transaction committed.
    fn committed(&mut self) {
        if let Some(t) = self.pending_maintenance.take() {
            self.last_maintenance = Some(t);
        }
        if self.contact_states.len() + self.pending_contact_states.len() > ROW_CACHE_MAX {
            self.contact_states.clear();
        }
        self.contact_states
            .extend(self.pending_contact_states.drain(..));
        if self.heard.len() + self.pending_heard.len() > ROW_CACHE_MAX {
            self.heard.clear();
        }
        self.heard.extend(self.pending_heard.drain(..));
        if let Some(c) = self.bundle_cache.as_mut() {
            c.committed = true;
        }
    }

    /// The state of the contact `id` (None: not a contact): what the open transaction last
    /// read or wrote, else the cache of committed states, else the store.
    fn contact_state(
        &mut self,
        tx: &dyn Transaction,
        id: &Key33,
    ) -> Result<Option<ContactState>, EngineError> {
        if let Some((_, state)) = self
            .pending_contact_states
            .iter()
            .rev()
            .find(|(k, _)| k == id)
        {
            return Ok(*state);
        }
        if let Some(state) = self.contact_states.get(id) {
            return Ok(*state);
        }
        let state = tx.contact(id)?.map(|c| c.state);
        self.pending_contact_states.push((*id, state));
        Ok(state)
    }

    /// Writes a contact (every engine write of a contact goes through here).
    fn put_contact(
        &mut self,
        tx: &mut dyn Transaction,
        contact: &ContactRecord,
    ) -> Result<(), EngineError> {
        tx.put_contact(contact)?;
        self.pending_contact_states
            .push((contact.identity, Some(contact.state)));
        Ok(())
    }

    // ------------------------------------------------------------ own prekeys & bundle

    fn current_prekey(
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
            public: secret.public_key().to_compressed(),
            secret: secret.to_bytes(),
            version: max_version + 1,
            created_at: now,
            expired_at: None,
        };
        tx.put_own_prekey(&rec)?;
        self.bundle_cache = None;
        Ok(rec)
    }

    /// Enabled, non-stale installations of `identity` other than ourselves, most recently
    /// active first, ties by installation id bytes, at most `max`.
    fn select_installations(
        &self,
        tx: &dyn Transaction,
        identity: &Key33,
        max: usize,
    ) -> Result<Vec<InstallationRecord>, EngineError> {
        let mut rows: Vec<InstallationRecord> = tx
            .installations(identity)?
            .into_iter()
            .filter(|r| r.enabled && !r.stale)
            .filter(|r| {
                !(r.identity == self.me33() && r.installation_id == self.me.installation_id)
            })
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

    fn own_bundle(
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
        let me = self.me33();
        let mut entries = vec![BundleEntry {
            installation_id: self.me.installation_id.clone(),
            spk: spk.public,
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
                    spk: p.public,
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
        let bundle = adapters::sign_bundle(&self.me.secret, &entries, now)?;
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
    fn verify_cached(
        &mut self,
        bundle: &pb::Bundle,
    ) -> Result<([u8; 32], VerifiedBundle), ReceiveError> {
        let digest = pfs_crypto::hash::sha256(&bundle.encode_to_vec());
        if let Some(v) = self.verified.get(&digest) {
            return Ok((digest, v.bundle.clone()));
        }
        let vb = adapters::verify_bundle(bundle).map_err(ReceiveError::InvalidBundle)?;
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
    fn recently_stored(&self, digest: &[u8; 32], now: i64) -> bool {
        self.verified
            .get(digest)
            .and_then(|c| c.stored_at)
            .is_some_and(|t| now >= t && now - t < BUNDLE_RESTORE_AFTER_NS)
    }

    fn mark_stored(&mut self, digest: &[u8; 32], now: i64) {
        if let Some(c) = self.verified.get_mut(digest) {
            c.stored_at = Some(now);
        }
    }

    /// Stores a verified bundle (status-go `ProcessPublicBundle` + the spec's stale timer).
    fn store_bundle(
        &mut self,
        tx: &mut dyn Transaction,
        vb: &VerifiedBundle,
        now: i64,
    ) -> Result<Vec<(String, u32)>, EngineError> {
        let identity = key33(&vb.identity);
        let own = identity == self.me33();
        let mut added = Vec::new();
        for e in &vb.entries {
            if own && e.installation_id == self.me.installation_id {
                continue;
            }
            // signed prekeys: the newest (version, then bundle time) is current; a newer
            // one expires the others (re-keying, and a wiped device re-using a version)
            let existing = tx.peer_prekeys(&identity, &e.installation_id)?;
            if !existing.iter().any(|p| p.public == e.spk) {
                let newest = existing
                    .iter()
                    .map(|p| (p.version, p.bundle_timestamp))
                    .max();
                let current = newest.is_none_or(|n| (e.version, vb.timestamp) > n);
                tx.put_peer_prekey(&PeerPreKeyRecord {
                    identity,
                    installation_id: e.installation_id.clone(),
                    public: e.spk,
                    version: e.version,
                    protocol_version: e.protocol_version,
                    bundle_timestamp: vb.timestamp,
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
            match tx.installation(&identity, &e.installation_id)? {
                None => {
                    tx.put_installation(&InstallationRecord {
                        identity,
                        installation_id: e.installation_id.clone(),
                        timestamp: vb.timestamp,
                        enabled: !own,
                        protocol_version: e.protocol_version,
                        first_seen: now,
                        last_bundle_at: now,
                        missing_since: None,
                        stale: false,
                        heard_with_protocol_version: false,
                    })?;
                    added.push((e.installation_id.clone(), e.protocol_version));
                }
                Some(old) => {
                    let mut r = old.clone();
                    if r.timestamp < vb.timestamp {
                        r.timestamp = vb.timestamp;
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
                    .entries
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

    // ------------------------------------------------------------ sessions

    fn prekey_expired(&self, tx: &dyn Transaction, s: &SessionRecord) -> Result<bool, EngineError> {
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
    fn sending_session(
        &self,
        tx: &mut dyn Transaction,
        peer: &Key33,
        installation_id: &str,
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
    fn agreed_secret(&mut self, peer: &PublicKey) -> SecretBytes<32> {
        let id = key33(peer);
        if let Some(s) = self.agreed.get(&id) {
            return s.clone();
        }
        let s = self.me.secret.diffie_hellman(peer);
        if self.agreed.len() >= AGREED_CACHE_MAX {
            self.agreed.clear();
        }
        self.agreed.insert(id, s.clone());
        s
    }

    fn choose_suite(&self, peer_protocol_version: u32) -> SuiteId {
        match self.config.suite {
            SuitePreference::SpecWhenSupported if peer_protocol_version >= 2 => SuiteId::Spec,
            _ => SuiteId::StatusGo,
        }
    }

    // ------------------------------------------------------------ sending

    fn encrypt_for(
        &mut self,
        tx: &mut dyn Transaction,
        to: &PublicKey,
        plaintext: &[u8],
        contact_request: bool,
        by_user: bool,
        now: i64,
    ) -> Result<Outgoing, SendError> {
        let to33 = key33(to);
        let to_self = *to == self.me.public;
        if let Some(inspect) = self.inspect.as_mut() {
            *inspect = Inspection::default();
        }
        let targets = self.select_installations(&*tx, &to33, self.config.max_installations)?;
        let mut entries: Vec<pb::DirectMessageEntry> = Vec::new();
        let mut all_heard = !targets.is_empty();
        for inst in &targets {
            let Some(entry) = self.entry_for(tx, to, inst, plaintext, now)? else {
                continue;
            };
            all_heard &= inst.heard_with_protocol_version;
            entries.push(entry);
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
        let entry_ids = entries.iter().map(|e| e.installation_id.clone()).collect();
        let msg = pb::ProtocolMessage {
            installation_id: self.me.installation_id.clone(),
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

    fn note_contact_on_send(
        &mut self,
        tx: &mut dyn Transaction,
        to: &PublicKey,
        now: i64,
    ) -> Result<(), EngineError> {
        if !self.config.contact_requests {
            return Ok(());
        }
        let id = key33(to);
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
    fn entry_for(
        &mut self,
        tx: &mut dyn Transaction,
        to: &PublicKey,
        inst: &InstallationRecord,
        plaintext: &[u8],
        now: i64,
    ) -> Result<Option<pb::DirectMessageEntry>, SendError> {
        let to33 = key33(to);
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
                let spk = PublicKey::from_compressed(&prekey.public).map_err(EngineError::from)?;
                let (sk, ephemeral) =
                    adapters::x3dh_initiate(&self.me.secret, to, &spk, &mut *self.rng)?;
                let suite = self.choose_suite(inst.protocol_version.max(prekey.protocol_version));
                let state = adapters::initiator_state(suite, &sk, &spk, &mut *self.rng)?;
                new_sk = Some(sk.clone());
                SessionRecord {
                    key: SessionKey {
                        peer_identity: to33,
                        id: session_id(&prekey.public, &inst.installation_id),
                    },
                    peer_installation: inst.installation_id.clone(),
                    rooted_spk: prekey.public,
                    we_initiated: true,
                    suite: adapters::suite_code(suite),
                    state: state.to_bytes(),
                    shared_secret: sk,
                    pending_x3dh_ephemeral: Some(ephemeral.to_compressed()),
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
        if let Some(inspect) = self.inspect.as_mut() {
            inspect.sent.push(SentEntryInspection {
                installation_id: inst.installation_id.clone(),
                session_id: session.key.id.clone(),
                message_key: SecretBytes::new(*enc.message_key.expose()),
                associated_data: enc.associated_data.clone(),
                new_session_sk: new_sk,
            });
        }
        let (header, payload) = (enc.header, enc.ciphertext);
        session.state = state.to_bytes();
        session.last_used = now;
        let x3dh_header = session.pending_x3dh_ephemeral.map(|ek| pb::X3dhHeader {
            key: ek.to_vec(),
            id: session.rooted_spk.to_vec(),
        });
        tx.put_session(&session)?;
        Ok(Some(pb::DirectMessageEntry {
            installation_id: inst.installation_id.clone(),
            message: Some(pb::DirectMessageProtocol {
                x3dh_header,
                dr_header: Some(pb::DrHeader {
                    key: header.key,
                    n: header.n,
                    pn: header.pn,
                    id: session.rooted_spk.to_vec(),
                }),
                dh_header: None,
                hr_header: None,
                payload,
            }),
        }))
    }

    /// A message without forward secrecy (no bundle of the recipient): one `"none"` entry
    /// with a DH header, AES-256-GCM under ECDH(ephemeral, recipient identity).
    fn dh_message(
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
            installation_id: self.me.installation_id.clone(),
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
            entries: vec![pfs_wire::NO_INSTALLATION_ID.into()],
            forward_secret: false,
            agreed_secret: None,
        })
    }

    // ------------------------------------------------------------ receiving

    fn receive(
        &mut self,
        tx: &mut dyn Transaction,
        sender: &PublicKey,
        msg: &pb::ProtocolMessage,
        message_id: &[u8],
        now: i64,
    ) -> Result<Delivered, ReceiveError> {
        let from_self = *sender == self.me.public;
        if let Some(inspect) = self.inspect.as_mut() {
            *inspect = Inspection::default();
        }
        // blocked: dropped whatever it is, with or without contact requests configured
        if !from_self && self.contact_state(&*tx, &key33(sender))? == Some(ContactState::Blocked) {
            return Err(ReceiveError::Blocked);
        }
        let contact = if self.config.contact_requests && !from_self {
            self.contact_state(&*tx, &key33(sender))?
        } else {
            None
        };
        if contact == Some(ContactState::Declined) && !msg.contact_request {
            return Err(ReceiveError::Declined);
        }
        let mut delivered = Delivered {
            sender: sender.clone(),
            sender_installation: msg.installation_id.clone(),
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
            .entry(&self.me.installation_id)
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
            let key = self.me.secret.diffie_hellman(&ek);
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
                self.receive_ratchet(tx, sender, msg, entry, message_id, now)?;
            delivered.plaintext = pt;
            delivered.forward_secret = true;
            delivered.suite = Some(suite);
            used_session = Some(used);
        }
        let sender33 = key33(sender);
        // Whether the sender's installation row exists, looked up at most once (None: not
        // looked up yet).
        let mut sender_installation_exists: Option<bool> = None;
        // status-go bookkeeping: the sender's installation advertised protocol version ≥ 1
        if let Some(first) = msg.bundles.first()
            && first
                .signed_pre_key(&msg.installation_id)
                .is_some_and(|s| s.protocol_version >= 1)
        {
            let heard_key = (sender33, msg.installation_id.clone());
            if self.heard.contains(&heard_key) {
                // known to exist, already marked: nothing to write
                sender_installation_exists = Some(true);
            } else {
                let row = tx.installation(&sender33, &msg.installation_id)?;
                if let Some(inst) = &row
                    && !inst.heard_with_protocol_version
                {
                    let mut inst = inst.clone();
                    inst.heard_with_protocol_version = true;
                    tx.put_installation(&inst)?;
                }
                if row.is_some() {
                    self.pending_heard.push(heard_key);
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
                    Some(e) if peer_installation == msg.installation_id => e,
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
        msg: &pb::ProtocolMessage,
        entry: &pb::DirectMessageProtocol,
        message_id: &[u8],
        now: i64,
    ) -> Result<(Vec<u8>, SuiteId, UsedSession), ReceiveError> {
        let dr = entry
            .dr_header
            .as_ref()
            .ok_or_else(|| ReceiveError::InvalidHeader("no DR, DH or X3DH header".into()))?;
        let rooted: Key33 = dr.id.as_slice().try_into().map_err(|_| {
            ReceiveError::InvalidHeader(format!("DR header id of {} bytes", dr.id.len()))
        })?;
        let key = SessionKey {
            peer_identity: key33(sender),
            id: session_id(&rooted, &msg.installation_id),
        };
        let mut new_x3dh: Option<(Key33, Key33)> = None;
        let existing = tx.session(&key)?;
        // An X3DH header whose (prekey, ephemeral) pair was never seen, under the id of an
        // existing session: the peer started a new session on the same prekey (its own copy
        // was expired or lost). Using the old state would fail for good; build the new one
        // (committed only if the message decrypts, so a forgery cannot replace anything).
        let restarted = match (&existing, &entry.x3dh_header) {
            (Some(_), Some(x)) if x.id == dr.id => match <Key33>::try_from(x.key.as_slice()) {
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
                let ek33: Key33 = x.key.as_slice().try_into().map_err(|_| {
                    ReceiveError::InvalidHeader("X3DH ephemeral is not 33 bytes".into())
                })?;
                let ek = PublicKey::from_compressed(&ek33)
                    .map_err(|e| ReceiveError::InvalidHeader(e.to_string()))?;
                let our_spk = tx
                    .own_prekey(&rooted)?
                    .ok_or(ReceiveError::UnknownSignedPreKey)?;
                if tx.x3dh_seen(&rooted, &ek33)?.is_some() {
                    return Err(ReceiveError::Replay);
                }
                let spk_secret =
                    SecretKey::from_bytes(our_spk.secret.expose()).map_err(EngineError::from)?;
                let sk = adapters::x3dh_respond(&self.me.secret, &spk_secret, sender, &ek);
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
                    peer_installation: msg.installation_id.clone(),
                    rooted_spk: rooted,
                    we_initiated: false,
                    suite: adapters::suite_code(suite),
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
        let suite = adapters::suite_from_code(session.suite)?;
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
            };
            state.decrypt(
                &lookup,
                &header,
                &entry.payload,
                &[],
                &mut *self.rng,
                &self.config.ratchet_limits,
                self.config.confirm_mode,
            )?
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
                    .map(|_| message_id.to_vec()),
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
            rec.pending_message_id = Some(message_id.to_vec());
            tx.put_skipped_keys(&key, &[rec])?;
        }
        for (rk, n) in &changes.remove {
            tx.delete_skipped_key(&key, rk, *n)?;
        }
        if let Some(seq) = changes.delete_seq_at_or_below {
            tx.delete_skipped_keys_upto(&key, seq)?;
        }
        tx.truncate_skipped_keys(&key, changes.keep_newest)?;
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

    // ------------------------------------------------------------ maintenance

    fn maybe_maintain(&mut self, tx: &mut dyn Transaction, now: i64) -> Result<(), EngineError> {
        let Some(interval) = self.config.maintenance_interval_ns else {
            return Ok(());
        };
        let last = match self.last_maintenance {
            Some(t) => Some(t),
            None => tx.rate_limit(RATE_MAINTENANCE, b"")?,
        };
        if let Some(last) = last
            && now.saturating_sub(last) < interval
            && now >= last
        {
            self.pending_maintenance = Some(last);
            return Ok(());
        }
        self.maintain(tx, now)
    }

    /// Runs maintenance in `tx` and records it as done at `now` (in the store, and in
    /// memory once `tx` commits).
    fn maintain(&mut self, tx: &mut dyn Transaction, now: i64) -> Result<(), EngineError> {
        // Metadata-only store queries, filtered by the store: no session state or shared
        // secret is read, and only the rows that change are touched.
        if let Some(retention) = self.config.expired_session_retention_ns {
            // Counted from the later of expiry and last use: a session still receiving
            // late messages is not cut off under them. Sessions marked expired below (at
            // `now`) are not candidates: they were unexpired when this ran.
            if let Some(until) = at_least_ago(now, retention) {
                tx.delete_sessions_expired_until(until)?;
            }
            // unexpired sessions rooted in a prekey that is expired or gone
            tx.expire_sessions_on_invalid_prekeys(now)?;
            for p in tx.own_prekeys()? {
                if let Some(at) = p.expired_at
                    && now.saturating_sub(at) >= retention
                    && !tx.responder_session_rooted_in(&p.public)?
                {
                    tx.delete_own_prekey(&p.public)?;
                    tx.delete_x3dh_seen_for(&p.public)?;
                }
            }
        }
        if let Some(after) = self.config.stale_device_after_ns
            && let Some(until) = at_least_ago(now, after)
        {
            for mut r in tx.installations_missing_until(until)? {
                r.stale = true;
                tx.put_installation(&r)?;
                if r.identity == self.me33() {
                    // one of our devices: our bundle lists it no more
                    self.bundle_cache = None;
                }
            }
        }
        tx.put_rate_limit(RATE_MAINTENANCE, b"", now)?;
        self.pending_maintenance = Some(now);
        Ok(())
    }
}

/// The latest time `t` with `now.saturating_sub(t) >= age` (every earlier time qualifies
/// too), or `None` when no time does: the bound the maintenance queries take.
fn at_least_ago(now: i64, age: i64) -> Option<i64> {
    if age == i64::MIN {
        // `saturating_sub` never goes below `i64::MIN`: every time qualifies
        return Some(i64::MAX);
    }
    // `now.saturating_sub(t) >= age` holds exactly when `now - t >= age` in exact
    // arithmetic (saturation is monotonic and `age` is within range)
    let t = i128::from(now) - i128::from(age);
    if t > i128::from(i64::MAX) {
        Some(i64::MAX)
    } else {
        i64::try_from(t).ok()
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

/// The application records of the account's store, inside a transaction of
/// [`Engine::with_app_records`] (see [`Transaction::app_record`] and the methods after it).
pub struct AppRecords<'t> {
    tx: &'t mut dyn Transaction,
}

impl std::fmt::Debug for AppRecords<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppRecords")
    }
}

impl AppRecords<'_> {
    /// One record.
    pub fn get(&self, kind: &str, key: &[u8]) -> Result<Option<Vec<u8>>, pfs_store::StoreError> {
        self.tx.app_record(kind, key)
    }
    /// Inserts or replaces a record.
    pub fn put(
        &mut self,
        kind: &str,
        key: &[u8],
        value: &[u8],
        due: i64,
    ) -> Result<(), pfs_store::StoreError> {
        self.tx.put_app_record(kind, key, value, due)
    }
    /// Deletes a record.
    pub fn delete(&mut self, kind: &str, key: &[u8]) -> Result<(), pfs_store::StoreError> {
        self.tx.delete_app_record(kind, key)
    }
    /// Records with `due <= until`, earliest first, at most `limit`.
    pub fn due(
        &self,
        kind: &str,
        until: i64,
        limit: usize,
    ) -> Result<Vec<pfs_store::AppRecord>, pfs_store::StoreError> {
        self.tx.due_app_records(kind, until, limit)
    }
    /// How many records of `kind` exist.
    pub fn count(&self, kind: &str) -> Result<usize, pfs_store::StoreError> {
        self.tx.count_app_records(kind)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::clock::ManualClock;
    use pfs_crypto::OsRandom;
    use pfs_store::MemoryStore;

    fn engine(clock: &ManualClock, name: &str) -> (Engine, PublicKey) {
        let sk = SecretKey::generate(&mut OsRandom).unwrap();
        let e = Engine::create_with_identity(
            Box::new(MemoryStore::new()),
            Box::new(clock.clone()),
            Box::new(OsRandom),
            Config::default(),
            sk.to_bytes().expose(),
            name,
        )
        .unwrap();
        (e, sk.public_key())
    }

    /// A bundle built in a transaction that rolled back (here: its first signed prekey,
    /// generated for a message that then failed) is never served from the in-memory
    /// cache, even after later transactions commit: peers would start sessions on a
    /// prekey we do not have.
    #[test]
    fn a_rolled_back_bundle_is_never_served() {
        let clock = ManualClock::new(1_700_000_000_000_000_000);
        let (mut alice, alice_id) = engine(&clock, "alice");
        let (mut bob, bob_id) = engine(&clock, "bob");
        // No bundle of Bob yet: a contact request goes the DH way with our bundle, then
        // fails (larger than the wire limit) after the bundle and its prekey were made.
        let too_big = vec![0u8; alice.config().wire_limits.max_message_size + 1];
        assert!(alice.send_contact_request(&bob_id, &too_big).is_err());
        // an unrelated transaction commits
        alice.process_bundle(&bob.own_bundle().unwrap()).unwrap();
        // Bob starts a session on the bundle Alice now serves: it must decrypt
        let ab = alice.own_bundle().unwrap();
        bob.process_bundle(&ab).unwrap();
        let m = bob.encrypt_for(&alice_id, b"hello", false).unwrap();
        assert!(m.forward_secret);
        let d = alice.decrypt(&bob_id, &m.bytes, b"m1").unwrap();
        assert_eq!(d.plaintext, b"hello");
        // and the served bundle is the committed one, stable from call to call
        assert_eq!(alice.own_bundle().unwrap(), ab);
    }

    /// Within one transaction a contact read sees that transaction's own write, even when
    /// the committed cache holds an older state of the same contact; a rolled-back write
    /// never reaches the cache.
    #[test]
    fn contact_state_reads_the_open_transactions_writes() {
        let clock = ManualClock::new(1_700_000_000_000_000_000);
        let (mut alice, _) = engine(&clock, "alice");
        let peer = [2u8; 33];
        let record = |state| ContactRecord {
            identity: peer,
            state,
            name: None,
            updated_at: 1,
        };
        // a committed read caches "not a contact"
        let tx = begin(&mut alice.store, &mut alice.ctx).unwrap();
        assert_eq!(alice.ctx.contact_state(&*tx, &peer).unwrap(), None);
        commit(tx, &mut alice.ctx).unwrap();
        assert_eq!(alice.ctx.contact_states.get(&peer), Some(&None));
        // write then read in one transaction that rolls back
        let mut tx = begin(&mut alice.store, &mut alice.ctx).unwrap();
        alice
            .ctx
            .put_contact(&mut *tx, &record(ContactState::Accepted))
            .unwrap();
        assert_eq!(
            alice.ctx.contact_state(&*tx, &peer).unwrap(),
            Some(ContactState::Accepted)
        );
        drop(tx);
        let tx = begin(&mut alice.store, &mut alice.ctx).unwrap();
        assert_eq!(alice.ctx.contact_state(&*tx, &peer).unwrap(), None);
        drop(tx);
        // committed, it is cached
        let mut tx = begin(&mut alice.store, &mut alice.ctx).unwrap();
        alice
            .ctx
            .put_contact(&mut *tx, &record(ContactState::Declined))
            .unwrap();
        commit(tx, &mut alice.ctx).unwrap();
        assert_eq!(
            alice.ctx.contact_states.get(&peer),
            Some(&Some(ContactState::Declined))
        );
    }

    /// Maintenance that ran in a transaction that rolled back (a message that failed to
    /// decrypt) is not remembered as done: the next transaction runs it again.
    #[test]
    fn rolled_back_maintenance_is_not_remembered() {
        let clock = ManualClock::new(1_700_000_000_000_000_000);
        let (mut alice, alice_id) = engine(&clock, "alice");
        let (mut bob, bob_id) = engine(&clock, "bob");
        alice.process_bundle(&bob.own_bundle().unwrap()).unwrap();
        bob.process_bundle(&alice.own_bundle().unwrap()).unwrap();
        let m = alice.encrypt_for(&bob_id, b"one", false).unwrap();
        bob.decrypt(&alice_id, &m.bytes, b"1").unwrap();
        let interval = bob.config().maintenance_interval_ns.unwrap();
        clock.advance(interval + 1);
        // a tampered message: maintenance runs in its transaction, which rolls back
        let two = alice.encrypt_for(&bob_id, b"two", false).unwrap().bytes;
        let mut msg =
            pfs_wire::decode_protocol_message(&two, &Config::default().wire_limits).unwrap();
        let entry = msg.direct_message[0].message.as_mut().unwrap();
        entry.payload[0] ^= 1;
        let bad = msg.encode_to_vec();
        assert!(matches!(
            bob.decrypt(&alice_id, &bad, b"2"),
            Err(ReceiveError::Ratchet(_))
        ));
        // a transaction without maintenance commits: still not done
        bob.process_bundle(&alice.own_bundle().unwrap()).unwrap();
        assert_eq!(bob.ctx.last_maintenance, Some(1_700_000_000_000_000_000));
        let m = alice.encrypt_for(&bob_id, b"three", false).unwrap();
        bob.decrypt(&alice_id, &m.bytes, b"3").unwrap();
        assert_eq!(
            bob.ctx.last_maintenance,
            Some(1_700_000_000_000_000_000 + interval + 1)
        );
        let tx = bob.store.begin().unwrap();
        assert_eq!(
            tx.rate_limit(RATE_MAINTENANCE, b"").unwrap(),
            bob.ctx.last_maintenance
        );
    }
}
