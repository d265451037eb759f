//! The clock timers read.
//!
//! With the `fast-clock` feature (on by default in `promdecl`) [`Instant`]
//! reads [quanta](https://docs.rs/quanta)'s clock, the CPU's time-stamp
//! counter where it is invariant and the OS clock elsewhere; without it,
//! `std::time::Instant`. Both are monotonic, the public type is the same
//! either way, and subtracting two gives a `Duration`.
//!
//! ```
//! let start = promdecl_runtime::clock::now();
//! let elapsed = promdecl_runtime::clock::now() - start;
//! assert!(elapsed.as_secs_f64() >= 0.0);
//! ```

use std::ops::Sub;
use std::time::Duration;

#[cfg(feature = "fast-clock")]
use quanta::Instant as Inner;
#[cfg(not(feature = "fast-clock"))]
use std::time::Instant as Inner;

/// A point on the monotonic clock timers read. The same type with and
/// without `fast-clock`: the feature changes how it is read, not what code
/// that names it compiles to.
///
/// ```
/// use promdecl_runtime::clock::Instant;
/// let start = Instant::now();
/// let later = Instant::now();
/// assert!(later >= start);
/// assert!((later - start).as_secs() < 60);
/// assert!(start.elapsed() >= later - start);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(Inner);

impl Instant {
    /// The current instant.
    ///
    /// ```
    /// let now = promdecl_runtime::clock::Instant::now();
    /// assert!(promdecl_runtime::clock::Instant::now() >= now);
    /// ```
    #[inline]
    pub fn now() -> Instant {
        Instant(Inner::now())
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    ///
    /// ```
    /// use promdecl_runtime::clock::Instant;
    /// let (a, b) = (Instant::now(), Instant::now());
    /// assert!(a.saturating_duration_since(b).is_zero());
    /// ```
    #[inline]
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The time since `self`.
    ///
    /// ```
    /// let start = promdecl_runtime::clock::Instant::now();
    /// assert!(start.elapsed().as_secs() < 60);
    /// ```
    #[inline]
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }
}

impl Sub for Instant {
    type Output = Duration;

    /// The time from `rhs` to `self`, zero if `rhs` is later.
    #[inline]
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// Seconds since `start`, as timers record them.
///
/// `Duration::as_secs_f64` divides by 10⁹; a multiplication is a third of
/// the latency, and a timer's observation waits on it.
///
/// ```
/// let start = promdecl_runtime::clock::now();
/// assert!(promdecl_runtime::clock::seconds_since(start) >= 0.0);
/// ```
#[inline]
pub fn seconds_since(start: Instant) -> f64 {
    let elapsed = now() - start;
    elapsed.as_secs() as f64 + f64::from(elapsed.subsec_nanos()) * 1e-9
}

/// The current instant.
///
/// ```
/// let a = promdecl_runtime::clock::now();
/// assert!(promdecl_runtime::clock::now() >= a);
/// ```
#[inline]
pub fn now() -> Instant {
    Instant::now()
}

/// A clock that moves only when told to, for testing code whose metrics
/// depend on time passing: a [`Summary`](crate::Summary)'s quantile window
/// reads it instead of the monotonic clock when built with
/// [`quantile_clock`](crate::Builder::quantile_clock). Clones share one
/// time.
///
/// ```
/// use std::time::Duration;
/// use promdecl_runtime::clock::ManualClock;
/// let clock = ManualClock::new();
/// let seen_by_metric = clock.clone();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(seen_by_metric.elapsed(), Duration::from_secs(90));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl ManualClock {
    /// A clock at zero.
    ///
    /// ```
    /// let clock = promdecl_runtime::clock::ManualClock::new();
    /// assert!(clock.elapsed().is_zero());
    /// ```
    pub fn new() -> Self {
        ManualClock::default()
    }

    /// Moves the clock forward by `by` (saturating after 584 years).
    ///
    /// ```
    /// let clock = promdecl_runtime::clock::ManualClock::new();
    /// clock.advance(std::time::Duration::from_millis(5));
    /// assert_eq!(clock.elapsed().as_millis(), 5);
    /// ```
    pub fn advance(&self, by: std::time::Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ =
            self.nanos.fetch_update(std::sync::atomic::Ordering::Relaxed, std::sync::atomic::Ordering::Relaxed, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// How far the clock has moved since it was created.
    ///
    /// ```
    /// let clock = promdecl_runtime::clock::ManualClock::new();
    /// assert_eq!(clock.elapsed(), std::time::Duration::ZERO);
    /// ```
    pub fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.nanos.load(std::sync::atomic::Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    /// `fast-clock` is additive: the public type is promdecl's own, whichever
    /// clock it reads.
    #[test]
    fn the_public_instant_is_the_same_type_with_or_without_fast_clock() {
        assert_eq!(std::any::type_name::<super::Instant>(), "promdecl_runtime::clock::Instant");
        let start = super::Instant::now();
        let later = super::now();
        assert!(later >= start);
        assert_eq!(start - later, std::time::Duration::ZERO, "subtraction saturates");
    }
}
