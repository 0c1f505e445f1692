//! One installation as the tool sees it: the protocol engine over a SQLite store, plus the
//! identity key that signs and opens transport envelopes.
//!
//! The engine is sans-IO and never hands out the identity secret, so the tool reads it
//! from the store's account record when it opens a home (or keeps it from the account it
//! just created) to sign envelopes and to open envelopes encrypted to us (ECIES).

use std::path::Path;

use pfs_crypto::OsRandom;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_protocol::{Config, Engine, EngineError, Outgoing, SystemClock};
use pfs_store::{SqliteOptions, SqliteStore, Store, StoreError};
use pfs_transport::envelope::Envelope;
use pfs_transport::{OpenKey, OpenOptions, PowVariant, SealKey, SealOptions};

use crate::error::CliError;

/// Status' 1:1 envelope time to live (seconds).
pub const TTL_SECS: u32 = 15;
/// Status' proof-of-work target for sending.
pub const POW_TARGET: f64 = 0.002;
/// The minimum proof of work accepted when opening (status-go).
pub const MIN_POW: f64 = 0.001;
/// The proof-of-work formula (whisper ≥ v1.5.1, Waku v1).
pub const POW_VARIANT: PowVariant = PowVariant::V1_5_2;
const MAX_POW_ITERATIONS: u64 = 50_000_000;

/// An installation: engine and identity secret.
pub struct Device {
    /// The protocol engine.
    pub engine: Engine,
    secret: SecretKey,
    rng: OsRandom,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// An envelope opened with our key.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The verified signer: the sender identity.
    pub sender: PublicKey,
    /// The `ProtocolMessage` bytes.
    pub payload: Vec<u8>,
    /// The envelope hash (Whisper id), used as message id.
    pub hash: [u8; 32],
    /// Seconds past the envelope's expiry when it was opened (0 when not expired).
    pub expired_for: u32,
}

/// Why an envelope could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenFailure {
    /// The bytes are not an envelope at all.
    #[error("corrupt envelope: {0}")]
    Corrupt(String),
    /// Our key cannot decrypt it: it is for someone else (or was damaged in transit).
    #[error("not for us: our key cannot decrypt it (addressed to someone else, or damaged)")]
    NotForUs,
    /// It opened but carries no signature, so it has no sender.
    #[error("unsigned envelope: no sender identity")]
    Unsigned,
    /// Any other envelope check failed (time, proof of work).
    #[error("rejected envelope: {0}")]
    Rejected(String),
}

/// Current Unix time in seconds, as the 32 bits whisper uses.
pub fn now_secs() -> u32 {
    u32::try_from(pfs_transport::transport::now_unix()).unwrap_or(u32::MAX)
}

/// Opens (creating the file when `create`) a SQLite store.
pub fn open_store(
    path: &Path,
    passphrase: &[u8],
    kdf_iterations: Option<u32>,
) -> Result<SqliteStore, CliError> {
    let mut opts = SqliteOptions::default();
    if let Some(n) = kdf_iterations {
        opts = opts.with_kdf_iterations(n);
    }
    SqliteStore::open(path, passphrase, opts).map_err(|e| match e {
        StoreError::WrongKey => CliError::WrongPassphrase(path.to_path_buf()),
        StoreError::Locked(_) => CliError::Locked(path.to_path_buf()),
        other => CliError::Store(other),
    })
}

impl Device {
    /// Creates a new account in `store`; returns the device and the mnemonic phrase.
    pub fn create(store: SqliteStore, config: Config) -> Result<(Self, String), CliError> {
        let mut rng = OsRandom;
        let (account, mnemonic) =
            pfs_x3dh::Account::create(&mut rng).map_err(|e| CliError::Other(e.to_string()))?;
        let device = Self::install(store, config, &account)?;
        Ok((device, mnemonic.phrase().to_owned()))
    }

    /// Recovers an account from its phrase into `store` (a new installation).
    pub fn recover(store: SqliteStore, config: Config, phrase: &str) -> Result<Self, CliError> {
        let mut rng = OsRandom;
        let account = pfs_x3dh::Account::recover(phrase, &mut rng).map_err(CliError::Mnemonic)?;
        Self::install(store, config, &account)
    }

    fn install(
        store: SqliteStore,
        config: Config,
        account: &pfs_x3dh::Account,
    ) -> Result<Self, CliError> {
        let secret = account.identity().secret().clone();
        let engine = Engine::create_with_identity(
            Box::new(store),
            Box::new(SystemClock),
            Box::new(OsRandom),
            config,
            secret.to_bytes().expose(),
            account.installation_id().as_ref(),
        )
        .map_err(|e| match e {
            EngineError::AccountExists => CliError::AccountExists,
            other => CliError::Engine(other),
        })?;
        Ok(Self {
            engine,
            secret,
            rng: OsRandom,
        })
    }

    /// Opens the account of an existing store.
    pub fn open(mut store: SqliteStore, config: Config) -> Result<Self, CliError> {
        let account = {
            let tx = store.begin().map_err(CliError::Store)?;
            tx.account().map_err(CliError::Store)?
        };
        let Some(account) = account else {
            return Err(CliError::Engine(EngineError::NoAccount));
        };
        let secret = SecretKey::from_bytes(account.identity_secret.expose())
            .map_err(|e| CliError::Other(format!("stored identity key is invalid: {e}")))?;
        let engine = Engine::open(
            Box::new(store),
            Box::new(SystemClock),
            Box::new(OsRandom),
            config,
        )?;
        Ok(Self {
            engine,
            secret,
            rng: OsRandom,
        })
    }

    /// Our identity (chat key).
    pub fn identity(&self) -> PublicKey {
        self.engine.identity().clone()
    }

    /// Our installation id.
    pub fn installation_id(&self) -> String {
        self.engine.installation_id().to_owned()
    }

    /// Wraps an outgoing protocol message into a signed envelope, ECIES-encrypted to the
    /// recipient identity, on the recipient's partitioned topic (status 1:1 rules: TTL 15 s,
    /// PoW target 0.002).
    pub fn seal(&mut self, out: &Outgoing, now: u32) -> Result<Envelope, CliError> {
        let opts = SealOptions {
            now,
            ttl: TTL_SECS,
            topic: pfs_transport::status::partitioned_topic(&out.recipient),
            pow_target: POW_TARGET,
            variant: POW_VARIANT,
            max_iterations: MAX_POW_ITERATIONS,
            max_envelope_size: pfs_transport::DEFAULT_MAX_ENVELOPE_SIZE,
        };
        pfs_transport::seal_message(
            &out.bytes,
            Some(&self.secret),
            SealKey::Asymmetric(&out.recipient),
            &opts,
            &mut self.rng,
        )
        .map_err(|e| CliError::Other(format!("cannot build the envelope: {e}")))
    }

    /// Opens envelope bytes with our identity key. Envelopes past their expiry are still
    /// opened (they come from a file, a pipe or a mailserver's history, which keeps
    /// envelopes long after their 15 s TTL); `expired_for` tells by how much.
    pub fn open_envelope(&self, bytes: &[u8], now: u32) -> Result<Opened, OpenFailure> {
        let env = Envelope::decode(bytes, pfs_transport::DEFAULT_MAX_ENVELOPE_SIZE)
            .map_err(|e| OpenFailure::Corrupt(e.to_string()))?;
        let expired_for = now.saturating_sub(env.expiry);
        let opts = OpenOptions {
            now: now.min(env.expiry),
            variant: POW_VARIANT,
            min_pow: MIN_POW,
            max_envelope_size: pfs_transport::DEFAULT_MAX_ENVELOPE_SIZE,
        };
        let opened = pfs_transport::open(&env, OpenKey::Asymmetric(&self.secret), &opts).map_err(
            |e| match e {
                pfs_transport::OpenError::Ecies(_) => OpenFailure::NotForUs,
                pfs_transport::OpenError::Decode(d) => OpenFailure::Corrupt(d.to_string()),
                pfs_transport::OpenError::Message(m) => OpenFailure::Corrupt(m.to_string()),
                other => OpenFailure::Rejected(other.to_string()),
            },
        )?;
        let sender = opened.signer.ok_or(OpenFailure::Unsigned)?;
        Ok(Opened {
            sender,
            payload: opened.payload,
            hash: opened.hash,
            expired_for,
        })
    }

    /// True when `payload` (from `sender`) is a message this very installation sent
    /// (our own-devices copy coming back on our own topic).
    pub fn is_own_echo(&self, sender: &PublicKey, payload: &[u8]) -> bool {
        if *sender != self.identity() {
            return false;
        }
        pfs_wire::decode_protocol_message(payload, &self.engine.config().wire_limits)
            .is_ok_and(|m| m.installation_id == self.engine.installation_id())
    }
}
