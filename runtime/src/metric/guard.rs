//! Guards that record on drop: timers, exception counters, in-progress gauges.
//!
//! Each guard holds either a reference to an unlabelled metric or a
//! [`Handle`](crate::family::Handle) to a labelled child, and records when it
//! is dropped: at the end of a scope, during a panic's unwinding, or when an
//! async task holding it is cancelled.

use std::ops::Deref;
use std::time::Instant;

use super::{CounterCell, GaugeCell, HistogramCell, SummaryCell};

/// A metric that can record a duration in seconds.
pub trait Observe {
    /// Records `seconds`.
    fn observe_duration(&self, seconds: f64);
}

impl Observe for HistogramCell {
    fn observe_duration(&self, seconds: f64) {
        self.observe(seconds)
    }
}

impl Observe for SummaryCell {
    fn observe_duration(&self, seconds: f64) {
        self.observe(seconds)
    }
}

impl Observe for GaugeCell {
    fn observe_duration(&self, seconds: f64) {
        self.set(seconds)
    }
}

/// Observes the time since it was started when dropped.
///
/// ```
/// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
/// let t = h.time();
/// let secs = t.observe_duration();
/// assert!(secs >= 0.0);
/// assert_eq!(h.count(), 1);
/// ```
#[must_use = "a timer records when dropped; binding it to `_` drops it at once"]
pub struct Timer<T: Deref>
where
    T::Target: Observe,
{
    target: Option<T>,
    start: Instant,
}

impl<T: Deref> Timer<T>
where
    T::Target: Observe,
{
    /// A timer started at `start`.
    ///
    /// ```
    /// use promdecl_runtime::Timer;
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// drop(Timer::new(&**h, std::time::Instant::now()));
    /// assert_eq!(h.count(), 1);
    /// ```
    pub fn new(target: T, start: Instant) -> Self {
        Timer {
            target: Some(target),
            start,
        }
    }

    /// Records now and returns the seconds recorded.
    pub fn observe_duration(mut self) -> f64 {
        self.record()
    }

    /// Drops the timer without recording.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// h.time().discard();
    /// assert_eq!(h.count(), 0);
    /// ```
    pub fn discard(mut self) {
        self.target = None;
    }

    fn record(&mut self) -> f64 {
        let seconds = self.start.elapsed().as_secs_f64();
        if let Some(target) = self.target.take() {
            target.observe_duration(seconds);
        }
        seconds
    }
}

impl<T: Deref> Drop for Timer<T>
where
    T::Target: Observe,
{
    fn drop(&mut self) {
        self.record();
    }
}

/// Counts one on its counter if the thread panics while it is alive, and
/// counts `Err` results passed through [`ExceptionGuard::check`].
///
/// ```
/// let errors = promdecl_runtime::Counter::builder("errors", "E.").build().unwrap();
/// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     let _g = errors.count_exceptions();
///     panic!("boom");
/// }));
/// assert!(r.is_err());
/// assert_eq!(errors.get(), 1.0);
/// ```
#[must_use = "the guard counts panics only while it is alive"]
pub struct ExceptionGuard<T: Deref<Target = CounterCell>> {
    target: Option<T>,
}

impl<T: Deref<Target = CounterCell>> ExceptionGuard<T> {
    /// A guard on `target`.
    pub fn new(target: T) -> Self {
        ExceptionGuard {
            target: Some(target),
        }
    }

    /// Counts one if `result` is an `Err`, then returns it.
    pub fn check<V, E>(self, result: Result<V, E>) -> Result<V, E> {
        self.check_if(result, |_| true)
    }

    /// Counts one if `result` is an `Err` that `filter` accepts (the Python
    /// `count_exceptions(ValueError)`), then returns it.
    ///
    /// ```
    /// let errors = promdecl_runtime::Counter::builder("errors", "E.").build().unwrap();
    /// let _ = errors.count_exceptions().check_if(Err::<(), _>("timeout"), |e| *e == "timeout");
    /// let _ = errors.count_exceptions().check_if(Err::<(), _>("other"), |e| *e == "timeout");
    /// assert_eq!(errors.get(), 1.0);
    /// ```
    pub fn check_if<V, E>(
        mut self,
        result: Result<V, E>,
        filter: impl FnOnce(&E) -> bool,
    ) -> Result<V, E> {
        if let (Some(target), Err(e)) = (self.target.take(), &result) {
            if filter(e) {
                target.inc();
            }
        }
        result
    }

    /// Ends the guard without counting.
    pub fn disarm(mut self) {
        self.target = None;
    }
}

impl<T: Deref<Target = CounterCell>> Drop for ExceptionGuard<T> {
    fn drop(&mut self) {
        if let Some(target) = self.target.take() {
            if std::thread::panicking() {
                target.inc();
            }
        }
    }
}

/// Adds one to a gauge when created and subtracts it when dropped.
///
/// ```
/// let g = promdecl_runtime::Gauge::builder("busy", "B.").build().unwrap();
/// let guard = g.track_inprogress();
/// assert_eq!(g.get(), 1.0);
/// drop(guard);
/// assert_eq!(g.get(), 0.0);
/// ```
#[must_use = "the gauge is decremented as soon as the guard is dropped"]
pub struct InProgressGuard<T: Deref<Target = GaugeCell>> {
    target: T,
}

impl<T: Deref<Target = GaugeCell>> InProgressGuard<T> {
    /// Increments `target` and returns the guard that decrements it.
    pub fn new(target: T) -> Self {
        target.inc();
        InProgressGuard { target }
    }
}

impl<T: Deref<Target = GaugeCell>> Drop for InProgressGuard<T> {
    fn drop(&mut self) {
        self.target.dec();
    }
}
