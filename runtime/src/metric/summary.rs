//! Summary: observation count and sum.

use std::sync::atomic::{AtomicU64, Ordering};

use super::guard::Timer;
use super::{metric_type, unix_now, AtomicF64, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::encode::{EncodeLabels, MetricEncoder, Number, Sample};
use crate::family::{Handle, Labeled};
use crate::{Error, LabelSet};

metric_type! {
    /// The count and sum of observations, the cheapest way to track an
    /// average rate and size.
    ///
    /// ```
    /// use promdecl_runtime::Summary;
    /// let s = Summary::builder("task_seconds", "Task time.").build().unwrap();
    /// s.observe(0.2);
    /// s.observe(0.4);
    /// assert_eq!(s.count(), 2);
    /// assert!((s.sum() - 0.6).abs() < 1e-9);
    /// ```
    Summary [], SummaryCell
}

impl Summary {
    /// Starts building a summary.
    ///
    /// ```
    /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
    /// assert_eq!(s.count(), 0);
    /// ```
    pub fn builder(name: &str, help: &str) -> Builder<Self> {
        Builder::new(name, help)
    }
}

impl<L: LabelSet> FromOpts for Summary<L> {
    type Labels = L;
    type With<L2: LabelSet> = Summary<L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        Ok(Summary { family: opts.family(())? })
    }
}

/// The count, sum and creation time of one summary child.
#[derive(Debug)]
pub struct SummaryCell {
    count: AtomicU64,
    sum: AtomicF64,
    created: AtomicF64,
}

impl SummaryCell {
    /// Records one observation.
    ///
    /// ```
    /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
    /// s.observe(1.5);
    /// assert_eq!(s.sum(), 1.5);
    /// ```
    #[inline]
    pub fn observe(&self, v: f64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.add(v);
    }

    /// The number of observations.
    ///
    /// ```
    /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
    /// assert_eq!(s.count(), 0);
    /// ```
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The sum of observations.
    ///
    /// ```
    /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
    /// assert_eq!(s.sum(), 0.0);
    /// ```
    pub fn sum(&self) -> f64 {
        self.sum.get()
    }

    /// A timer that observes the elapsed seconds when dropped.
    ///
    /// ```
    /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
    /// drop(s.time());
    /// assert_eq!(s.count(), 1);
    /// ```
    pub fn time(&self) -> Timer<&Self> {
        Timer::new(self, crate::clock::now())
    }

    /// Runs `f` and observes how long it took.
    ///
    /// ```
    /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
    /// s.time_fn(|| std::thread::yield_now());
    /// assert_eq!(s.count(), 1);
    /// ```
    pub fn time_fn<R>(&self, f: impl FnOnce() -> R) -> R {
        let _timer = self.time();
        f()
    }
}

impl MetricCell for SummaryCell {
    type Config = ();
    const TYPE: MetricType = MetricType::Summary;

    fn new(_: &()) -> Self {
        SummaryCell { count: AtomicU64::new(0), sum: AtomicF64::new(0.0), created: AtomicF64::new(unix_now()) }
    }

    fn reset(&self, _: &()) {
        self.count.store(0, Ordering::Relaxed);
        self.sum.set(0.0);
        self.created.set(unix_now());
    }

    fn collect(&self, _: &(), labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        enc.sample(&Sample::new("_count", Number::Int(self.count())));
        enc.sample(&Sample::new("_sum", Number::Float(self.sum())));
        enc.sample(&Sample::new("_created", Number::Float(self.created.get())));
    }
}

impl<L: LabelSet> Labeled<'_, L, SummaryCell> {
    /// Records one observation in this child.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.with(|c| c.observe(v))
    }
    /// This child's observation count.
    pub fn count(&self) -> u64 {
        self.with(SummaryCell::count)
    }
    /// This child's observation sum.
    pub fn sum(&self) -> f64 {
        self.with(SummaryCell::sum)
    }
    /// A timer observing into this child when dropped.
    pub fn time(&self) -> Timer<Handle<SummaryCell>> {
        Timer::new(self.handle(), crate::clock::now())
    }
    /// Runs `f` and observes its duration into this child.
    pub fn time_fn<R>(&self, f: impl FnOnce() -> R) -> R {
        let _timer = self.time();
        f()
    }
}
