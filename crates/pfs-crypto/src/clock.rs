//! Time, injected: the one clock of the workspace (the engine, the client and the
//! in-memory transport read it; none of them reads the system clock itself).
//!
//! ```
//! use pfs_crypto::clock::{Clock, ManualClock, SECOND};
//! let clock = ManualClock::new(1_700_000_000 * SECOND);
//! let shared = clock.clone();
//! clock.advance(5 * SECOND);
//! assert_eq!(shared.now_ns(), 1_700_000_005 * SECOND, "clones share the time");
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Nanoseconds in one second.
pub const SECOND: i64 = 1_000_000_000;
/// Nanoseconds in one hour.
pub const HOUR: i64 = 3600 * SECOND;
/// Nanoseconds in one day.
pub const DAY: i64 = 24 * HOUR;

/// A source of the current time.
pub trait Clock: Send {
    /// Nanoseconds since the Unix epoch.
    fn now_ns(&self) -> i64;
}

/// A shared clock is a clock (the engine and the code around it read one time source).
impl<C: Clock + Sync + ?Sized> Clock for Arc<C> {
    fn now_ns(&self) -> i64 {
        (**self).now_ns()
    }
}

/// A clock set by hand: for tests, simulations and vector replays. Clones share the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `now_ns`.
    pub fn new(now_ns: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now_ns)))
    }
    /// Sets the time.
    pub fn set(&self, now_ns: i64) {
        self.0.store(now_ns, Ordering::SeqCst);
    }
    /// Moves the time forward by `delta_ns`.
    pub fn advance(&self, delta_ns: i64) {
        self.0.fetch_add(delta_ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The system clock (for applications; the engine only sees the trait).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}
