//! Histogram: observations counted in cumulative buckets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::guard::Timer;
use super::{metric_type, unix_now, AtomicF64, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::encode::{EncodeLabels, Extra, MetricEncoder, Number, Sample};
use crate::family::{Handle, Labeled};
use crate::{Error, LabelSet};

/// The Python client's default buckets (the `+Inf` bucket is implicit).
pub const DEFAULT_BUCKETS: [f64; 14] =
    [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

metric_type! {
    /// Observations (latencies, sizes) counted in buckets, with their count
    /// and sum.
    ///
    /// A scrape always shows `_count` equal to the `+Inf` bucket: the count is
    /// derived from the buckets themselves.
    ///
    /// ```
    /// use promdecl_runtime::Histogram;
    /// let h = Histogram::builder("latency_seconds", "Latency.")
    ///     .buckets([0.1, 0.5, 1.0])
    ///     .build()
    ///     .unwrap();
    /// h.observe(0.05);
    /// h.observe(0.3);
    /// assert_eq!(h.count(), 2);
    /// assert_eq!(h.bucket_counts(), vec![1, 2, 2, 2]);
    /// ```
    Histogram [], HistogramCell
}

impl Histogram {
    /// Starts building a histogram with [`DEFAULT_BUCKETS`].
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// assert_eq!(h.bucket_counts().len(), 15);
    /// ```
    pub fn builder(name: &str, help: &str) -> Builder<Self> {
        Builder::new(name, help)
    }
}

impl<L: LabelSet> Builder<Histogram<L>> {
    /// Sets the bucket upper bounds: finite, strictly increasing, at least
    /// one. A trailing `+Inf` may be given; it is always added.
    ///
    /// ```
    /// use promdecl_runtime::Histogram;
    /// assert!(Histogram::builder("h", "H.").buckets([1.0, 0.5]).build().is_err());
    /// assert!(Histogram::builder("h", "H.").buckets([0.5, 1.0, f64::INFINITY]).build().is_ok());
    /// ```
    pub fn buckets(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.opts_mut().buckets = Some(bounds.into_iter().collect());
        self
    }
}

impl<L: LabelSet> FromOpts for Histogram<L> {
    type Labels = L;
    type With<L2: LabelSet> = Histogram<L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        let bounds = validate_buckets(opts.buckets.as_deref().unwrap_or(&DEFAULT_BUCKETS))?;
        Ok(Histogram { family: opts.family(HistogramConfig::new(bounds))? })
    }
}

/// Checks bucket upper bounds: at least one finite bound, all finite but an
/// optional trailing `+Inf`, strictly increasing (so no duplicates). The
/// macros evaluate it at compile time.
///
/// ```
/// use promdecl_runtime::metric::check_buckets;
/// assert!(check_buckets(&[0.1, 1.0, f64::INFINITY]).is_ok());
/// assert!(check_buckets(&[1.0, 1.0]).is_err());
/// assert!(check_buckets(&[]).is_err());
/// ```
pub const fn check_buckets(bounds: &[f64]) -> Result<(), &'static str> {
    let mut len = bounds.len();
    if len > 0 && bounds[len - 1] == f64::INFINITY {
        len -= 1;
    }
    if len == 0 {
        return Err("a histogram needs at least one finite bucket bound");
    }
    let mut i = 0;
    while i < len {
        if !bounds[i].is_finite() {
            return Err("bucket bounds must be finite numbers (+Inf is added as the last bucket)");
        }
        if i > 0 && bounds[i - 1] >= bounds[i] {
            return Err("bucket bounds must be sorted in strictly increasing order, without duplicates");
        }
        i += 1;
    }
    Ok(())
}

/// Checks bucket bounds and drops a trailing `+Inf`.
pub(crate) fn validate_buckets(bounds: &[f64]) -> Result<Arc<[f64]>, Error> {
    check_buckets(bounds).map_err(Error::InvalidBuckets)?;
    let finite = bounds.strip_suffix(&[f64::INFINITY]).unwrap_or(bounds);
    Ok(finite.into())
}

/// `count` bounds starting at `start`, `width` apart.
///
/// ```
/// assert_eq!(promdecl_runtime::linear_buckets(1.0, 2.0, 3).unwrap(), vec![1.0, 3.0, 5.0]);
/// assert!(promdecl_runtime::linear_buckets(1.0, 0.0, 3).is_err());
/// ```
pub fn linear_buckets(start: f64, width: f64, count: usize) -> Result<Vec<f64>, Error> {
    if count == 0 || width.is_nan() || width <= 0.0 || !start.is_finite() {
        return Err(Error::InvalidBuckets("linear buckets need count >= 1, width > 0 and a finite start"));
    }
    Ok((0..count).map(|i| start + width * i as f64).collect())
}

/// `count` bounds starting at `start`, each `factor` times the previous.
///
/// ```
/// assert_eq!(promdecl_runtime::exponential_buckets(1.0, 2.0, 4).unwrap(), vec![1.0, 2.0, 4.0, 8.0]);
/// assert!(promdecl_runtime::exponential_buckets(0.0, 2.0, 4).is_err());
/// ```
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Result<Vec<f64>, Error> {
    if count == 0 || start.is_nan() || start <= 0.0 || !start.is_finite() || factor.is_nan() || factor <= 1.0 {
        return Err(Error::InvalidBuckets("exponential buckets need count >= 1, start > 0 and factor > 1"));
    }
    Ok((0..count).map(|i| start * factor.powi(i as i32)).collect())
}

/// The bucket bounds of a histogram family, and their `le` label text,
/// formatted once.
#[derive(Debug)]
pub struct HistogramConfig {
    bounds: Arc<[f64]>,
    le: Box<[Box<str>]>,
}

impl HistogramConfig {
    fn new(bounds: Arc<[f64]>) -> Self {
        let le = bounds
            .iter()
            .chain(std::iter::once(&f64::INFINITY))
            .map(|&b| {
                let mut text = Vec::new();
                crate::encode::write_float(&mut text, b);
                String::from_utf8(text).unwrap_or_default().into_boxed_str()
            })
            .collect();
        HistogramConfig { bounds, le }
    }
}

/// The buckets, sum and creation time of one histogram child.
#[derive(Debug)]
pub struct HistogramCell {
    bounds: Arc<[f64]>,
    /// Non-cumulative counts; the last one is the `+Inf` bucket.
    counts: Box<[AtomicU64]>,
    sum: AtomicF64,
    created: AtomicF64,
}

impl HistogramCell {
    /// Records one observation.
    ///
    /// A NaN observation makes the sum NaN and lands in no bucket, as in the
    /// Python client.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// h.observe(0.2);
    /// assert_eq!(h.sum(), 0.2);
    /// ```
    #[inline]
    pub fn observe(&self, v: f64) {
        let index = if self.bounds.len() <= 16 {
            self.bounds.iter().position(|&b| v <= b).unwrap_or(self.bounds.len())
        } else {
            self.bounds.partition_point(|&b| b < v)
        };
        if !v.is_nan() {
            self.counts[index].fetch_add(1, Ordering::Relaxed);
        }
        self.sum.add(v);
    }

    /// The number of observations.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// assert_eq!(h.count(), 0);
    /// ```
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The sum of observations.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// assert_eq!(h.sum(), 0.0);
    /// ```
    pub fn sum(&self) -> f64 {
        self.sum.get()
    }

    /// Cumulative counts per bucket, the last one being `+Inf`.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").buckets([1.0]).build().unwrap();
    /// h.observe(5.0);
    /// assert_eq!(h.bucket_counts(), vec![0, 1]);
    /// ```
    pub fn bucket_counts(&self) -> Vec<u64> {
        let mut total = 0;
        self.counts
            .iter()
            .map(|c| {
                total += c.load(Ordering::Relaxed);
                total
            })
            .collect()
    }

    /// The finite bucket upper bounds.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").buckets([1.0, 2.0]).build().unwrap();
    /// assert_eq!(h.bounds(), &[1.0, 2.0]);
    /// ```
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// A timer that observes the elapsed seconds when dropped, also when the
    /// code it times panics.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// {
    ///     let _t = h.time();
    /// }
    /// assert_eq!(h.count(), 1);
    /// ```
    pub fn time(&self) -> Timer<&Self> {
        Timer::new(self, crate::clock::now())
    }

    /// Runs `f` and observes how long it took.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// assert_eq!(h.time_fn(|| 1 + 1), 2);
    /// assert_eq!(h.count(), 1);
    /// ```
    pub fn time_fn<R>(&self, f: impl FnOnce() -> R) -> R {
        let _timer = self.time();
        f()
    }
}

impl MetricCell for HistogramCell {
    type Config = HistogramConfig;
    const TYPE: MetricType = MetricType::Histogram;

    fn new(config: &HistogramConfig) -> Self {
        HistogramCell {
            bounds: Arc::clone(&config.bounds),
            counts: (0..=config.bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicF64::new(0.0),
            created: AtomicF64::new(unix_now()),
        }
    }

    fn reset(&self, _: &HistogramConfig) {
        self.counts.iter().for_each(|c| c.store(0, Ordering::Relaxed));
        self.sum.set(0.0);
        self.created.set(unix_now());
    }

    fn collect(&self, config: &HistogramConfig, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        let mut total = 0;
        for (count, le) in self.counts.iter().zip(config.le.iter()) {
            total += count.load(Ordering::Relaxed);
            enc.sample(&Sample { extra: Some(Extra::Le(le)), ..Sample::new("_bucket", Number::Int(total)) });
        }
        enc.sample(&Sample::new("_count", Number::Int(total)));
        // OpenMetrics: a histogram that may have negative observations has no _sum.
        if config.bounds.first().is_none_or(|&b| b >= 0.0) {
            enc.sample(&Sample::new("_sum", Number::Float(self.sum.get())));
        }
        enc.sample(&Sample::new("_created", Number::Float(self.created.get())));
    }
}

impl<L: LabelSet> Labeled<'_, L, HistogramCell> {
    /// Records one observation in this child.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.with(|c| c.observe(v))
    }
    /// This child's observation count.
    pub fn count(&self) -> u64 {
        self.with(HistogramCell::count)
    }
    /// This child's observation sum.
    pub fn sum(&self) -> f64 {
        self.with(HistogramCell::sum)
    }
    /// A timer observing into this child when dropped.
    pub fn time(&self) -> Timer<Handle<HistogramCell>> {
        Timer::new(self.handle(), crate::clock::now())
    }
    /// Runs `f` and observes its duration into this child.
    pub fn time_fn<R>(&self, f: impl FnOnce() -> R) -> R {
        let _timer = self.time();
        f()
    }
}
