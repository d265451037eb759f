//! Histogram: observations counted in cumulative buckets.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::exemplar::{ExemplarLabels, ExemplarSlots};
use super::guard::Timer;
use super::native::{native_schema, NativeConfig, NativeState, DEFAULT_NATIVE_ZERO_THRESHOLD};
use super::thread_shards::{add_f64_owned, add_u64_owned, ThreadShards};
use super::{child_ops, metric_type, unix_now, AtomicF64, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::encode::{Buckets, EncodeLabels, Exemplar, Extra, MetricEncoder, NativeHistogram, Number, Sample};

use crate::sync::atomic::{AtomicU64, Ordering};
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

    /// Adds native (sparse, exponential) buckets whose width grows by at
    /// most `factor` from one bucket to the next (client_golang's
    /// `NativeHistogramBucketFactor`; 1.1 gives 8 buckets per power of two).
    /// `factor` must be above 1. A histogram with native buckets keeps its
    /// classic ones only if [`buckets`](Self::buckets) is given too;
    /// otherwise its classic part is the `+Inf` bucket, count and sum.
    /// Native buckets reach a scraper only through the protobuf format
    /// (feature `protobuf`); the text formats show the classic part.
    ///
    /// ```
    /// use promdecl_runtime::Histogram;
    /// let h = Histogram::builder("h", "H.").buckets([0.5, 1.0]).native(1.1).build().unwrap();
    /// h.observe(0.7);
    /// assert_eq!(h.bucket_counts(), vec![0, 1, 1]);
    /// assert_eq!(h.native_snapshot().unwrap().count, 1);
    /// assert!(Histogram::builder("h", "H.").native(1.0).build().is_err());
    /// ```
    pub fn native(mut self, factor: f64) -> Self {
        self.opts_mut().native.bucket_factor = Some(factor);
        self
    }

    /// Observations with an absolute value up to `threshold` count in the
    /// zero bucket; default 2^-128, 0 takes only exact zeros.
    ///
    /// ```
    /// use promdecl_runtime::Histogram;
    /// let h = Histogram::builder("h", "H.").native(2.0).native_zero_threshold(0.001).build().unwrap();
    /// h.observe(0.0005);
    /// assert_eq!(h.native_snapshot().unwrap().zero_count, 1);
    /// ```
    pub fn native_zero_threshold(mut self, threshold: f64) -> Self {
        self.opts_mut().native.zero_threshold = Some(threshold);
        self
    }

    /// Keeps each child at about `max` native buckets (0: no limit): past
    /// it, the child is reset if its last reset is at least
    /// [`native_min_reset_interval`](Self::native_min_reset_interval) ago,
    /// else its zero bucket widens up to
    /// [`native_max_zero_threshold`](Self::native_max_zero_threshold), else
    /// its resolution is halved, until it is within the limit (or at
    /// schema -4).
    ///
    /// ```
    /// use promdecl_runtime::Histogram;
    /// let h = Histogram::builder("h", "H.").native(1.1).native_max_buckets(4).build().unwrap();
    /// for v in [1.0, 2.0, 4.0, 8.0, 16.0, 32.0] {
    ///     h.observe(v);
    /// }
    /// let native = h.native_snapshot().unwrap();
    /// assert!(native.positive_buckets().len() <= 4);
    /// assert!(native.schema < 3);
    /// assert_eq!(native.count, 6);
    /// ```
    pub fn native_max_buckets(mut self, max: u32) -> Self {
        self.opts_mut().native.max_buckets = Some(max);
        self
    }

    /// How long after a reset (or creation) a child over its
    /// [`native_max_buckets`](Self::native_max_buckets) is reset instead of
    /// losing resolution, and after which a reduced resolution returns to
    /// the configured one (at the next scrape, after it is encoded). Zero,
    /// the default, never resets.
    pub fn native_min_reset_interval(mut self, interval: Duration) -> Self {
        self.opts_mut().native.min_reset_interval = Some(interval);
        self
    }

    /// How far the zero bucket may widen to keep within
    /// [`native_max_buckets`](Self::native_max_buckets); default 0 (never).
    pub fn native_max_zero_threshold(mut self, threshold: f64) -> Self {
        self.opts_mut().native.max_zero_threshold = Some(threshold);
        self
    }
}

/// The native-bucket options of [`Opts`], set through the `native*` methods
/// of the histogram builder.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct NativeOpts {
    /// See [`Builder::native`].
    pub bucket_factor: Option<f64>,
    /// See [`Builder::native_zero_threshold`].
    pub zero_threshold: Option<f64>,
    /// See [`Builder::native_max_buckets`].
    pub max_buckets: Option<u32>,
    /// See [`Builder::native_min_reset_interval`].
    pub min_reset_interval: Option<Duration>,
    /// See [`Builder::native_max_zero_threshold`].
    pub max_zero_threshold: Option<f64>,
}

impl NativeOpts {
    fn config(&self, metric: &str) -> Result<Option<NativeConfig>, Error> {
        let invalid = |reason| Err(Error::InvalidOption { metric: metric.to_owned(), reason });
        let Some(factor) = self.bucket_factor else {
            if *self != NativeOpts::default() {
                return invalid("native_* histogram options need native buckets: call .native(factor) too");
            }
            return Ok(None);
        };
        if factor.is_nan() || factor <= 1.0 {
            return invalid("the native bucket factor must be a number above 1 (1.1 gives 8 buckets per power of two)");
        }
        let zero_threshold = self.zero_threshold.unwrap_or(DEFAULT_NATIVE_ZERO_THRESHOLD);
        let max_zero_threshold = self.max_zero_threshold.unwrap_or(0.0);
        let usable = |t: f64| t.is_finite() && t >= 0.0;
        if !usable(zero_threshold) || !usable(max_zero_threshold) {
            return invalid("native zero thresholds must be finite and not negative");
        }
        Ok(Some(NativeConfig {
            schema: native_schema(factor),
            zero_threshold,
            max_buckets: self.max_buckets.unwrap_or(0),
            min_reset_interval: self.min_reset_interval.unwrap_or(Duration::ZERO),
            max_zero_threshold,
        }))
    }
}

impl<L: LabelSet> FromOpts for Histogram<L> {
    type Labels = L;
    type With<L2: LabelSet> = Histogram<L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        let native = opts.native.config(&opts.name)?;
        let bounds = match (&opts.buckets, native) {
            // Native buckets without classic ones: only the +Inf bucket.
            (None, Some(_)) => Arc::from([]),
            (buckets, _) => validate_buckets(buckets.as_deref().unwrap_or(&DEFAULT_BUCKETS))?,
        };
        Ok(Histogram { family: opts.family(HistogramConfig::new(bounds, native))? })
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
    native: Option<NativeConfig>,
}

impl HistogramConfig {
    fn new(bounds: Arc<[f64]>, native: Option<NativeConfig>) -> Self {
        let le = bounds
            .iter()
            .chain(std::iter::once(&f64::INFINITY))
            .map(|&b| {
                let mut text = Vec::new();
                crate::encode::write_float(&mut text, b);
                String::from_utf8(text).unwrap_or_default().into_boxed_str()
            })
            .collect();
        HistogramConfig { bounds, le, native }
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
    /// The latest exemplar of each bucket.
    exemplars: ExemplarSlots,
    /// Native buckets, if configured: then every observation happens under
    /// this lock, so a scrape sees classic and native parts agree.
    native: Option<Box<Native>>,
    /// Per-thread copies of `counts` and `sum` (the last word, as `f64`
    /// bits), which threads write without locked instructions; classic-only
    /// histograms record there when they can.
    shards: ThreadShards,
}

#[derive(Debug)]
struct Native {
    config: NativeConfig,
    state: Mutex<NativeState>,
}

impl Native {
    fn lock(&self) -> MutexGuard<'_, NativeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

child_ops! {
    impl[] HistogramCell[] {
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
        pub fn observe(&self, v: f64) => with {
            if let Some(native) = &self.native {
                self.observe_native(native, v);
                return;
            }
            self.record(self.bucket_index(v), v);
        }

        /// Records one observation and `exemplar` (timestamped now unless
        /// [`ExemplarLabels::at`] says otherwise) as the exemplar of the bucket
        /// it falls in, replacing that bucket's previous one.
        ///
        /// An exemplar whose labels are invalid or longer than OpenMetrics allows
        /// is refused with an error; the observation still counts.
        ///
        /// ```
        /// let h = promdecl_runtime::Histogram::builder("h", "H.").buckets([0.1, 1.0]).build().unwrap();
        /// h.observe_with_exemplar(0.05, &[("trace_id", "abc123")]).unwrap();
        /// assert_eq!(h.bucket_exemplar(0).unwrap().value, 0.05);
        /// assert!(h.bucket_exemplar(1).is_none());
        /// ```
        pub fn observe_with_exemplar['a](&self, v: f64, exemplar: impl Into<ExemplarLabels<'a>>) -> Result<(), Error> => with {
            let index = match &self.native {
                Some(native) => self.observe_native(native, v),
                None => {
                    let index = self.bucket_index(v);
                    self.record(index, v);
                    index
                }
            };
            self.exemplars.store(self.counts.len(), index, exemplar.into().to_exemplar(v)?);
            Ok(())
        }

        /// The latest exemplar of bucket `index` (the last one is `+Inf`).
        pub fn bucket_exemplar(&self, index: usize) -> Option<Exemplar> => with {
            self.exemplars.get(index).map(|e| (*e).clone())
        }

        /// The native buckets, count and sum now, if the histogram has native
        /// buckets.
        ///
        /// ```
        /// let h = promdecl_runtime::Histogram::builder("h", "H.").native(2.0).build().unwrap();
        /// h.observe(3.0);
        /// h.observe(0.0);
        /// let n = h.native_snapshot().unwrap();
        /// assert_eq!((n.schema, n.count, n.zero_count, n.sum), (0, 2, 1, 3.0));
        /// assert_eq!(n.positive_buckets(), [(2, 1)]);
        /// ```
        pub fn native_snapshot(&self) -> Option<NativeHistogram> => with {
            let native = self.native.as_ref()?;
            let state = native.lock();
            Some(self.native_locked(&state))
        }

        /// The number of observations.
        ///
        /// ```
        /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
        /// assert_eq!(h.count(), 0);
        /// ```
        pub fn count(&self) -> u64 => with {
            self.with_totals(|counts, _| counts.iter().sum())
        }

        /// The sum of observations.
        ///
        /// ```
        /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
        /// assert_eq!(h.sum(), 0.0);
        /// ```
        pub fn sum(&self) -> f64 => with {
            self.with_totals(|_, sum| sum)
        }

        /// Cumulative counts per bucket, the last one being `+Inf`.
        ///
        /// ```
        /// let h = promdecl_runtime::Histogram::builder("h", "H.").buckets([1.0]).build().unwrap();
        /// h.observe(5.0);
        /// assert_eq!(h.bucket_counts(), vec![0, 1]);
        /// ```
        pub fn bucket_counts(&self) -> Vec<u64> => with {
            let mut total = 0;
            self.totals()
                .0
                .into_iter()
                .map(|c| {
                    total += c;
                    total
                })
                .collect()
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
        pub fn time(&self) -> Timer => guard(target) {
            Timer::new(target, crate::clock::now())
        }

        /// Runs `f` and observes how long it took.
        ///
        /// ```
        /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
        /// assert_eq!(h.time_fn(|| 1 + 1), 2);
        /// assert_eq!(h.count(), 1);
        /// ```
        pub fn time_fn[R](&self, f: impl FnOnce() -> R) -> R => same {
            let _timer = self.time();
            f()
        }
    }
}

impl HistogramCell {
    #[inline]
    fn bucket_index(&self, v: f64) -> usize {
        if self.bounds.len() <= 16 {
            // The number of bounds below `v`, counted without a branch per
            // bound: where a scan would stop is as unpredictable as the
            // observations, and a mispredicted branch costs more than the
            // whole count.
            let below = self.bounds.iter().fold(0, |i, &b| i + usize::from(v > b));
            if v.is_nan() {
                return self.bounds.len();
            }
            below
        } else {
            self.bounds.partition_point(|&b| b < v)
        }
    }

    #[inline(always)]
    fn record(&self, index: usize, v: f64) {
        let nan = v.is_nan();
        if self.native.is_none() {
            let local = self.shards.with_local(|words| {
                if !nan {
                    add_u64_owned(&words[index], 1);
                }
                add_f64_owned(&words[words.len() - 1], v);
            });
            if local.is_some() {
                return;
            }
        }
        if !nan {
            self.counts[index].fetch_add(1, Ordering::Relaxed);
        }
        self.sum.add(v);
    }

    /// Calls `f` with the non-cumulative bucket counts and the sum, shards
    /// included; on the stack for up to 63 buckets, as a scrape needs it
    /// for every child.
    fn with_totals<R>(&self, f: impl FnOnce(&mut [u64], f64) -> R) -> R {
        let n = self.counts.len();
        let mut stack = [0u64; 64];
        let mut heap = Vec::new();
        let counts: &mut [u64] = if n <= stack.len() {
            &mut stack[..n]
        } else {
            heap.resize(n, 0);
            &mut heap
        };
        let sum = self.add_totals(counts);
        f(counts, sum)
    }

    /// The non-cumulative bucket counts and the sum, shards included.
    fn totals(&self) -> (Vec<u64>, f64) {
        let mut counts = vec![0; self.counts.len()];
        let sum = self.add_totals(&mut counts);
        (counts, sum)
    }

    fn add_totals(&self, counts: &mut [u64]) -> f64 {
        for (total, c) in counts.iter_mut().zip(self.counts.iter()) {
            *total = c.load(Ordering::Relaxed);
        }
        let mut sum = self.sum.get();
        self.shards.for_each(|words| {
            let (sum_word, count_words) = words.split_last().expect("a sum word");
            for (total, w) in counts.iter_mut().zip(count_words) {
                *total += w.load(Ordering::Relaxed);
            }
            sum += f64::from_bits(sum_word.load(Ordering::Relaxed));
        });
        sum
    }

    /// Records `v` in classic and native buckets under the native lock, then
    /// keeps the native bucket count within its limit. Returns the classic
    /// bucket index.
    #[inline(never)]
    fn observe_native(&self, native: &Native, v: f64) -> usize {
        let mut state = native.lock();
        let index = self.bucket_index(v);
        self.record(index, v);
        if v.is_nan() {
            return index;
        }
        state.add(v);
        let config = &native.config;
        let max = config.max_buckets as usize;
        if max > 0 && state.len() > max {
            let interval = config.min_reset_interval;
            if !interval.is_zero() && state.last_reset.elapsed() >= interval {
                self.reset_locked(&mut state, config);
                self.record(index, v);
                state.add(v);
                return index;
            }
            while state.len() > max {
                if !state.widen_zero_bucket(config.max_zero_threshold) {
                    if state.schema == super::native::NATIVE_SCHEMA_MIN {
                        break;
                    }
                    state.double_bucket_width();
                }
            }
        }
        index
    }

    /// Back to a fresh child, with the native lock held (exemplars stay).
    fn reset_locked(&self, state: &mut NativeState, config: &NativeConfig) {
        self.counts.iter().for_each(|c| c.store(0, Ordering::Relaxed));
        self.sum.set(0.0);
        self.created.set(unix_now());
        *state = NativeState::new(config);
    }

    fn native_locked(&self, state: &NativeState) -> NativeHistogram {
        let (positive_spans, positive_deltas) = NativeState::spans(&state.positive);
        let (negative_spans, negative_deltas) = NativeState::spans(&state.negative);
        let count = state.zero_count + state.positive.values().sum::<u64>() + state.negative.values().sum::<u64>();
        NativeHistogram {
            schema: state.schema,
            zero_threshold: state.zero_threshold,
            zero_count: state.zero_count,
            count,
            sum: self.sum.get(),
            positive_spans,
            positive_deltas,
            negative_spans,
            negative_deltas,
        }
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
            exemplars: ExemplarSlots::default(),
            native: config
                .native
                .map(|config| Box::new(Native { config, state: Mutex::new(NativeState::new(&config)) })),
            shards: ThreadShards::new(config.bounds.len() + 2),
        }
    }

    fn reset(&self, _: &HistogramConfig) {
        match &self.native {
            Some(native) => self.reset_locked(&mut native.lock(), &native.config),
            None => {
                self.shards.reset();
                self.counts.iter().for_each(|c| c.store(0, Ordering::Relaxed));
                self.sum.set(0.0);
                self.created.set(unix_now());
            }
        }
        self.exemplars.clear();
    }

    fn collect(&self, config: &HistogramConfig, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        let Some(native) = &self.native else {
            return self.with_totals(|counts, sum| self.emit(config, labels, enc, counts, sum, None));
        };
        // One consistent view of classic and native parts, taken under the
        // lock; encoders (which may be user code) run after it is released.
        let (counts, sum, snapshot) = {
            let mut state = native.lock();
            let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            let snapshot = self.native_locked(&state);
            let sum = self.sum.get();
            let interval = native.config.min_reset_interval;
            if !interval.is_zero() && state.reduced(&native.config) && state.last_reset.elapsed() >= interval {
                // Back to the configured resolution; what was recorded until
                // now is in this scrape.
                self.reset_locked(&mut state, &native.config);
            }
            (counts, sum, snapshot)
        };
        let mut counts = counts;
        self.emit(config, labels, enc, &mut counts, sum, Some(&snapshot));
    }
}

impl HistogramCell {
    fn emit(
        &self,
        config: &HistogramConfig,
        labels: &dyn EncodeLabels,
        enc: &mut dyn MetricEncoder,
        counts: &mut [u64],
        sum: f64,
        native: Option<&NativeHistogram>,
    ) {
        enc.series(labels);
        let mut total = 0;
        for count in counts.iter_mut() {
            total += *count;
            *count = total;
        }
        if self.exemplars.is_empty() {
            enc.buckets(Buckets { le: &config.le, cumulative: counts });
        } else {
            for (i, (&count, le)) in counts.iter().zip(config.le.iter()).enumerate() {
                let exemplar = self.exemplars.get(i);
                enc.sample(&Sample {
                    extra: Some(Extra::Le(le)),
                    exemplar: exemplar.as_deref(),
                    ..Sample::new("_bucket", Number::Int(count))
                });
            }
        }
        enc.sample(&Sample::new("_count", Number::Int(total)));
        // OpenMetrics: a histogram that may have negative observations has no _sum.
        if config.bounds.first().is_none_or(|&b| b >= 0.0) {
            enc.sample(&Sample::new("_sum", Number::Float(sum)));
        }
        enc.sample(&Sample::new("_created", Number::Float(self.created.get())));
        if let Some(native) = native {
            enc.native_histogram(native);
        }
    }
}
