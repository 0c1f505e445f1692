//! The application layer's records (outbox, seen ids, clock) in the account's store.

use super::*;

impl Engine {
    /// Runs `f` on the application-layer records of the account's store (the app layer's
    /// outbox, seen ids, clock), in one transaction that is committed when `f` returns
    /// `Ok` and rolled back otherwise. Only those records are reachable through it.
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
    /// alice.with_app_records(|r| -> Result<(), pfs_protocol::EngineError> {
    ///     r.put("outbox", b"id-1", b"body", 10)?;
    ///     Ok(())
    /// })?;
    /// let (body, due) = alice.with_app_records(|r| -> Result<_, pfs_protocol::EngineError> {
    ///     Ok((r.get("outbox", b"id-1")?, r.due("outbox", 10, 100)?.len()))
    /// })?;
    /// assert_eq!(body.as_deref(), Some(&b"body"[..]));
    /// assert_eq!(due, 1);
    /// // an error rolls the transaction back
    /// let failed = alice.with_app_records(|r| -> Result<(), pfs_protocol::EngineError> {
    ///     r.delete("outbox", b"id-1")?;
    ///     Err(pfs_protocol::EngineError::Invalid("changed my mind".into()))
    /// });
    /// assert!(failed.is_err());
    /// assert_eq!(alice.with_app_records(|r| Ok::<_, pfs_protocol::EngineError>(r.count("outbox")?))?, 1);
    /// # Ok(()) }
    /// ```
    pub fn with_app_records<T, E: From<EngineError>>(
        &mut self,
        f: impl FnOnce(&mut AppRecords<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut tx = begin(&mut self.store, &mut self.ctx).map_err(EngineError::from)?;
        let out = f(&mut AppRecords { tx: &mut *tx })?;
        commit(tx, &mut self.ctx).map_err(EngineError::from)?;
        Ok(out)
    }
}

/// The application records of the account's store, inside a transaction of
/// [`Engine::with_app_records`] (see [`Transaction::app_record`] and the methods after it).
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
/// let mut alice = new_engine(&clock)?;
/// let (got, due, n) = alice.with_app_records(|r| -> Result<_, EngineError> {
///     r.put("outbox", b"a", b"first", 20)?;
///     r.put("outbox", b"b", b"second", 10)?;
///     r.put("seen", b"x", b"", 0)?;
///     r.delete("outbox", b"a")?;
///     Ok((r.get("outbox", b"a")?, r.due("outbox", 100, 10)?, r.count("outbox")?))
/// })?;
/// assert_eq!(got, None);
/// assert_eq!(due, [(b"b".to_vec(), b"second".to_vec())]);
/// assert_eq!(n, 1);
/// # Ok(()) }
/// ```
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
    /// let mut alice = new_engine(&clock)?;
    /// let v = alice.with_app_records(|r| -> Result<_, pfs_protocol::EngineError> {
    ///     r.put("clock", b"lamport", &[7], 0)?;
    ///     Ok((r.get("clock", b"lamport")?, r.get("clock", b"other")?))
    /// })?;
    /// assert_eq!(v, (Some(vec![7]), None));
    /// # Ok(()) }
    /// ```
    pub fn get(&self, kind: &str, key: &[u8]) -> Result<Option<Vec<u8>>, pfs_store::StoreError> {
        self.tx.app_record(kind, key)
    }
    /// Inserts or replaces a record.
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
    /// let mut alice = new_engine(&clock)?;
    /// alice.with_app_records(|r| -> Result<_, pfs_protocol::EngineError> {
    ///     r.put("clock", b"lamport", &[1], 0)?;
    ///     Ok(r.put("clock", b"lamport", &[2], 0)?) // replaces
    /// })?;
    /// let v = alice.with_app_records(|r| Ok::<_, pfs_protocol::EngineError>(r.get("clock", b"lamport")?))?;
    /// assert_eq!(v, Some(vec![2]));
    /// # Ok(()) }
    /// ```
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
    /// let mut alice = new_engine(&clock)?;
    /// let n = alice.with_app_records(|r| -> Result<_, pfs_protocol::EngineError> {
    ///     r.put("seen", b"m1", b"", 0)?;
    ///     r.delete("seen", b"m1")?;
    ///     r.delete("seen", b"never-there")?; // not an error
    ///     Ok(r.count("seen")?)
    /// })?;
    /// assert_eq!(n, 0);
    /// # Ok(()) }
    /// ```
    pub fn delete(&mut self, kind: &str, key: &[u8]) -> Result<(), pfs_store::StoreError> {
        self.tx.delete_app_record(kind, key)
    }
    /// Records with `due <= until`, earliest first, at most `limit`.
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
    /// let mut alice = new_engine(&clock)?;
    /// let due = alice.with_app_records(|r| -> Result<_, pfs_protocol::EngineError> {
    ///     r.put("outbox", b"late", b"", 30)?;
    ///     r.put("outbox", b"soon", b"", 10)?;
    ///     r.put("outbox", b"mid", b"", 20)?;
    ///     Ok(r.due("outbox", 25, 10)?)
    /// })?;
    /// let keys: Vec<&[u8]> = due.iter().map(|(k, _)| k.as_slice()).collect();
    /// assert_eq!(keys, [&b"soon"[..], b"mid"]);
    /// # Ok(()) }
    /// ```
    pub fn due(
        &self,
        kind: &str,
        until: i64,
        limit: usize,
    ) -> Result<Vec<pfs_store::AppRecord>, pfs_store::StoreError> {
        self.tx.due_app_records(kind, until, limit)
    }
    /// How many records of `kind` exist.
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
    /// let mut alice = new_engine(&clock)?;
    /// let n = alice.with_app_records(|r| -> Result<_, pfs_protocol::EngineError> {
    ///     r.put("seen", b"1", b"", 0)?;
    ///     r.put("seen", b"2", b"", 0)?;
    ///     r.put("outbox", b"1", b"", 0)?;
    ///     Ok((r.count("seen")?, r.count("none")?))
    /// })?;
    /// assert_eq!(n, (2, 0));
    /// # Ok(()) }
    /// ```
    pub fn count(&self, kind: &str) -> Result<usize, pfs_store::StoreError> {
        self.tx.count_app_records(kind)
    }
}
