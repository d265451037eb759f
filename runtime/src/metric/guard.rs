//! Guards that record on drop: timers, exception counters, in-progress gauges.
//!
//! A guard holds what it records into: a reference to an unlabelled metric, a
//! [`Handle`] to a labelled child, or a [`Labeled`] child (which follows its
//! labels if the child is removed meanwhile). It records when dropped: at the end of a scope, during a
//! panic's unwinding, or when an async task holding it is cancelled.

use super::{CounterCell, GaugeCell, HistogramCell, MetricCell, ShardedCounterCell, SummaryCell};
use crate::clock::Instant;
use crate::family::{Handle, Labeled};
use crate::LabelSet;

/// Something that can record a duration in seconds: histograms and
/// summaries observe it, gauges are set to it.
pub trait Observe {
    /// Records `seconds`.
    fn observe_duration(&self, seconds: f64);
}

/// Something that records a duration with an exemplar: a histogram.
pub trait ObserveWithExemplar {
    /// Records `seconds` with exemplar `labels`; an exemplar the OpenMetrics
    /// rules refuse is dropped, the duration still counts.
    fn observe_duration_with_exemplar(&self, seconds: f64, labels: &[(&str, &str)]);
}

/// Something that counts events: a counter.
pub trait Increment {
    /// Counts one.
    fn increment(&self);
}

/// Something that tracks work in progress: a gauge.
pub trait Track {
    /// One more in progress.
    fn enter(&self);
    /// One fewer in progress.
    fn exit(&self);
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

impl ObserveWithExemplar for HistogramCell {
    fn observe_duration_with_exemplar(&self, seconds: f64, labels: &[(&str, &str)]) {
        // The observation is recorded either way; only the exemplar can be refused.
        let _ = self.observe_with_exemplar(seconds, labels);
    }
}

impl Increment for CounterCell {
    fn increment(&self) {
        self.inc()
    }
}

impl Increment for ShardedCounterCell {
    fn increment(&self) {
        self.inc()
    }
}

impl Track for GaugeCell {
    fn enter(&self) {
        self.inc()
    }
    fn exit(&self) {
        self.dec()
    }
}

macro_rules! forward {
    ($($trait:ident { $($method:ident($($arg:ident: $ty:ty),*);)* })*) => {$(
        impl<T: $trait + ?Sized> $trait for &T {
            $(fn $method(&self, $($arg: $ty),*) { (**self).$method($($arg),*) })*
        }
        impl<C: $trait> $trait for Handle<C> {
            $(fn $method(&self, $($arg: $ty),*) { (**self).$method($($arg),*) })*
        }
        impl<L: LabelSet, C: MetricCell + $trait> $trait for Labeled<'_, L, C> {
            $(fn $method(&self, $($arg: $ty),*) { self.with(|c| c.$method($($arg),*)) })*
        }
    )*};
}

forward! {
    Observe { observe_duration(seconds: f64); }
    ObserveWithExemplar { observe_duration_with_exemplar(seconds: f64, labels: &[(&str, &str)]); }
    Increment { increment(); }
    Track { enter(); exit(); }
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
pub struct Timer<O: Observe> {
    target: Option<O>,
    start: Instant,
}

impl<O: Observe> Timer<O> {
    /// A timer started at `start`.
    ///
    /// ```
    /// use promdecl_runtime::Timer;
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// drop(Timer::new(&**h, promdecl_runtime::clock::now()));
    /// assert_eq!(h.count(), 1);
    /// ```
    #[inline]
    pub fn new(target: O, start: Instant) -> Self {
        Timer { target: Some(target), start }
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

    #[inline]
    fn record(&mut self) -> f64 {
        let seconds = crate::clock::seconds_since(self.start);
        if let Some(target) = self.target.take() {
            target.observe_duration(seconds);
        }
        seconds
    }
}

impl<O: Observe> Drop for Timer<O> {
    #[inline]
    fn drop(&mut self) {
        self.record();
    }
}

/// Like [`Timer`], and records an exemplar (such as the trace id of the
/// request being timed) with the duration; what `#[timed(M, exemplar(...))]`
/// uses. The exemplar's values are taken when the timer starts.
///
/// ```
/// use promdecl_runtime::{clock, ExemplarTimer, Histogram};
/// let h = Histogram::builder("h", "H.").build().unwrap();
/// drop(ExemplarTimer::new(&**h, clock::now(), [("trace_id", "abc123".to_owned())]));
/// assert_eq!(h.count(), 1);
/// let e = (0..15).find_map(|i| h.bucket_exemplar(i)).unwrap();
/// assert_eq!(e.labels, [("trace_id".to_owned(), "abc123".to_owned())]);
/// ```
#[must_use = "a timer records when dropped; binding it to `_` drops it at once"]
pub struct ExemplarTimer<O: ObserveWithExemplar, const N: usize> {
    target: Option<O>,
    start: Instant,
    labels: [(&'static str, String); N],
}

impl<O: ObserveWithExemplar, const N: usize> ExemplarTimer<O, N> {
    /// A timer started at `start` that records `labels` as the exemplar.
    #[inline]
    pub fn new(target: O, start: Instant, labels: [(&'static str, String); N]) -> Self {
        ExemplarTimer { target: Some(target), start, labels }
    }

    /// Drops the timer without recording.
    pub fn discard(mut self) {
        self.target = None;
    }
}

impl<O: ObserveWithExemplar, const N: usize> Drop for ExemplarTimer<O, N> {
    fn drop(&mut self) {
        let seconds = crate::clock::seconds_since(self.start);
        if let Some(target) = self.target.take() {
            let labels: [(&str, &str); N] = std::array::from_fn(|i| (self.labels[i].0, self.labels[i].1.as_str()));
            target.observe_duration_with_exemplar(seconds, &labels);
        }
    }
}

/// Counts one if the thread panics while it is alive, and counts `Err`
/// results passed through [`ExceptionGuard::check`].
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
pub struct ExceptionGuard<T: Increment> {
    target: Option<T>,
}

impl<T: Increment> ExceptionGuard<T> {
    /// A guard on `target`.
    #[inline]
    pub fn new(target: T) -> Self {
        ExceptionGuard { target: Some(target) }
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
    pub fn check_if<V, E>(mut self, result: Result<V, E>, filter: impl FnOnce(&E) -> bool) -> Result<V, E> {
        if let (Some(target), Err(e)) = (self.target.take(), &result) {
            if filter(e) {
                target.increment();
            }
        }
        result
    }

    /// Counts one now and ends the guard.
    pub fn count(mut self) {
        if let Some(target) = self.target.take() {
            target.increment();
        }
    }

    /// Ends the guard without counting.
    pub fn disarm(mut self) {
        self.target = None;
    }
}

impl<T: Increment> Drop for ExceptionGuard<T> {
    fn drop(&mut self) {
        if let Some(target) = self.target.take() {
            if std::thread::panicking() {
                target.increment();
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
pub struct InProgressGuard<T: Track> {
    target: T,
}

impl<T: Track> InProgressGuard<T> {
    /// Increments `target` and returns the guard that decrements it.
    #[inline]
    pub fn new(target: T) -> Self {
        target.enter();
        InProgressGuard { target }
    }
}

impl<T: Track> Drop for InProgressGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.target.exit();
    }
}
