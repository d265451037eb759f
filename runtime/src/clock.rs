//! The clock timers read.
//!
//! With the `fast-clock` feature (on by default in `promdecl`) this is
//! [quanta](https://docs.rs/quanta)'s `Instant`, which reads the CPU's
//! time-stamp counter where it is invariant and the OS clock elsewhere;
//! without it, `std::time::Instant`. Both are monotonic, and subtracting two
//! gives a `Duration`.
//!
//! ```
//! let start = promdecl_runtime::clock::now();
//! let elapsed = promdecl_runtime::clock::now() - start;
//! assert!(elapsed.as_secs_f64() >= 0.0);
//! ```

#[cfg(feature = "fast-clock")]
pub use quanta::Instant;
#[cfg(not(feature = "fast-clock"))]
pub use std::time::Instant;

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
