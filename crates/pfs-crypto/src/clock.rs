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
///
/// Code that needs the time takes a clock, so a test can set it:
///
/// ```
/// use pfs_crypto::clock::{Clock, ManualClock, SECOND};
///
/// fn expired(clock: &dyn Clock, deadline_ns: i64) -> bool {
///     clock.now_ns() >= deadline_ns
/// }
/// let clock = ManualClock::new(100 * SECOND);
/// assert!(!expired(&clock, 101 * SECOND));
/// clock.advance(SECOND);
/// assert!(expired(&clock, 101 * SECOND));
/// ```
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
///
/// ```
/// use pfs_crypto::clock::{Clock, ManualClock};
/// let clock = ManualClock::default();
/// assert_eq!(clock.now_ns(), 0);
/// let shared = std::sync::Arc::new(clock.clone());
/// clock.set(42);
/// assert_eq!(shared.now_ns(), 42); // an Arc of a clock is a clock
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock showing `now_ns`.
    ///
    /// ```
    /// use pfs_crypto::clock::{Clock, ManualClock, SECOND};
    /// assert_eq!(ManualClock::new(1_700_000_000 * SECOND).now_ns(), 1_700_000_000_000_000_000);
    /// ```
    pub fn new(now_ns: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now_ns)))
    }
    /// Sets the time.
    ///
    /// The time may be set backwards (a clock jump):
    ///
    /// ```
    /// use pfs_crypto::clock::{Clock, ManualClock};
    /// let clock = ManualClock::new(1000);
    /// clock.set(10);
    /// assert_eq!(clock.now_ns(), 10);
    /// ```
    pub fn set(&self, now_ns: i64) {
        self.0.store(now_ns, Ordering::SeqCst);
    }
    /// Moves the time forward by `delta_ns`.
    ///
    /// ```
    /// use pfs_crypto::clock::{Clock, DAY, HOUR, ManualClock};
    /// let clock = ManualClock::new(0);
    /// for _ in 0..24 {
    ///     clock.advance(HOUR);
    /// }
    /// assert_eq!(clock.now_ns(), DAY);
    /// ```
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
///
/// ```
/// use pfs_crypto::clock::{Clock, SECOND, SystemClock};
/// let now = SystemClock.now_ns();
/// assert!(now > 1_700_000_000 * SECOND); // after November 2023
/// assert!(SystemClock.now_ns() >= now);
/// ```
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
