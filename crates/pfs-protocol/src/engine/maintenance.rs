//! Maintenance: expired sessions deleted after the retention, prekeys no longer needed,
//! stale devices; run at most once per interval inside an operation's transaction.

use super::*;

pub(super) const RATE_MAINTENANCE: &str = "maintenance";

impl Engine {
    /// Runs maintenance now: deletes sessions expired longer than the retention, deletes
    /// prekeys no longer needed, marks stale devices.
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
    /// // Bob re-keys (a newer bundle): Alice's session on his old prekey expires, and is
    /// // deleted 14 days later
    /// clock.advance(25 * pfs_protocol::clock::HOUR);
    /// alice.process_bundle(&bob.own_bundle()?)?;
    /// alice.maintain()?;
    /// assert!(!alice.sessions()?[0].active);
    /// clock.advance(15 * pfs_protocol::clock::DAY);
    /// alice.maintain()?;
    /// assert!(alice.sessions()?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn maintain(&mut self) -> Result<(), EngineError> {
        let now = self.ctx.clock.now_ns();
        let mut tx = begin(&mut self.store, &mut self.ctx)?;
        self.ctx.maintain(&mut *tx, now)?;
        commit(tx, &mut self.ctx)?;
        Ok(())
    }
}

impl Ctx {
    pub(super) fn maybe_maintain(
        &mut self,
        tx: &mut dyn Transaction,
        now: i64,
    ) -> Result<(), EngineError> {
        let Some(interval) = self.config.maintenance_interval_ns else {
            return Ok(());
        };
        let last = match self.maintenance.get(&()).copied() {
            Some(t) => Some(t),
            None => tx.rate_limit(RATE_MAINTENANCE, b"")?,
        };
        if let Some(last) = last
            && now.saturating_sub(last) < interval
            && now >= last
        {
            self.maintenance.note((), last);
            return Ok(());
        }
        self.maintain(tx, now)
    }

    /// Runs maintenance in `tx` and records it as done at `now` (in the store, and in
    /// memory once `tx` commits).
    pub(super) fn maintain(
        &mut self,
        tx: &mut dyn Transaction,
        now: i64,
    ) -> Result<(), EngineError> {
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
                if r.identity == self.me_key() {
                    // one of our devices: our bundle lists it no more
                    self.bundle_cache = None;
                }
            }
        }
        tx.put_rate_limit(RATE_MAINTENANCE, b"", now)?;
        self.maintenance.note((), now);
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
