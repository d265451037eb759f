//! Summary: observation count and sum, and optional quantiles over a
//! sliding time window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::guard::Timer;
use super::quantile_window::QuantileWindow;
use super::quantiles::QuantileConfig;
use super::{child_ops, metric_type, unix_now, AtomicF64, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::clock::ManualClock;
use crate::encode::{EncodeLabels, Extra, MetricEncoder, Number, Sample};

use crate::{Error, LabelSet};

metric_type! {
    /// The count and sum of observations, the cheapest way to track an
    /// average rate and size; optionally also quantiles (`{quantile="0.99"}`)
    /// over a sliding time window, as the Go client computes them.
    ///
    /// ```
    /// use promdecl_runtime::Summary;
    /// let s = Summary::builder("task_seconds", "Task time.").build().unwrap();
    /// s.observe(0.2);
    /// s.observe(0.4);
    /// assert_eq!(s.count(), 2);
    /// assert!((s.sum() - 0.6).abs() < 1e-9);
    /// ```
    ///
    /// With quantile objectives, each `(quantile, error)` pair promises a
    /// value whose rank among the window's observations is within
    /// `(quantile ± error) * n`:
    ///
    /// ```
    /// use promdecl_runtime::Summary;
    /// let s = Summary::builder("rpc_seconds", "RPC latency.")
    ///     .quantiles([(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)])
    ///     .build()
    ///     .unwrap();
    /// for i in 1..=1000 {
    ///     s.observe(f64::from(i) / 1000.0);
    /// }
    /// let q = s.quantiles();
    /// assert_eq!(q[0].0, 0.5);
    /// assert!((q[0].1 - 0.5).abs() <= 0.05);
    /// assert!((q[2].1 - 0.99).abs() <= 0.001);
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

impl<L: LabelSet> Builder<Summary<L>> {
    /// Adds quantile objectives: `(quantile, allowed error)` pairs, each
    /// quantile in `[0, 1]` and each error in `(0, 1)`. The summary then
    /// also exposes `{quantile="..."}` samples over a sliding window of
    /// [`max_age`](Builder::max_age), each a value whose rank among the
    /// window's observations is within `(quantile ± error) * n`; NaN while
    /// the window holds no observation. A smaller error costs memory and
    /// observe time; the Go client's usual `0.5 ± 0.05, 0.9 ± 0.01,
    /// 0.99 ± 0.001` keeps a few dozen values per stream.
    ///
    /// ```
    /// use promdecl_runtime::{Error, Summary};
    /// let s = Summary::builder("s", "S.").quantiles([(0.5, 0.05), (0.99, 0.001)]).build().unwrap();
    /// s.observe(1.0);
    /// assert_eq!(s.quantiles(), vec![(0.5, 1.0), (0.99, 1.0)]);
    /// let err = Summary::builder("s", "S.").quantiles([(1.5, 0.01)]).build().unwrap_err();
    /// assert!(matches!(err, Error::InvalidQuantiles { .. }));
    /// ```
    pub fn quantiles(mut self, objectives: impl IntoIterator<Item = (f64, f64)>) -> Self {
        self.opts_mut().quantiles.objectives = objectives.into_iter().collect();
        self
    }

    /// How long an observation counts towards the quantiles
    /// ([`DEFAULT_MAX_AGE`](crate::metric::DEFAULT_MAX_AGE), ten minutes,
    /// unless set). Observations leave the window at most `max_age` after
    /// they were made, and stay at least `max_age - max_age / age_buckets`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = promdecl_runtime::Summary::builder("s", "S.")
    ///     .quantiles([(0.5, 0.05)])
    ///     .max_age(Duration::from_secs(60))
    ///     .build()
    ///     .unwrap();
    /// s.observe(2.0);
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.opts_mut().quantiles.max_age = Some(max_age);
        self
    }

    /// How many steps the quantile window slides by
    /// ([`DEFAULT_AGE_BUCKETS`](crate::metric::DEFAULT_AGE_BUCKETS), five,
    /// unless set): more buckets age observations out more smoothly, each
    /// costing one more stream per child.
    ///
    /// ```
    /// let s = promdecl_runtime::Summary::builder("s", "S.")
    ///     .quantiles([(0.9, 0.01)])
    ///     .age_buckets(10)
    ///     .build()
    ///     .unwrap();
    /// s.observe(2.0);
    /// ```
    pub fn age_buckets(mut self, age_buckets: u32) -> Self {
        self.opts_mut().quantiles.age_buckets = Some(age_buckets);
        self
    }

    /// Makes the quantile window read `clock` instead of the monotonic
    /// clock, so a test can age observations out without waiting.
    ///
    /// ```
    /// use std::time::Duration;
    /// use promdecl_runtime::{clock::ManualClock, Summary};
    /// let clock = ManualClock::new();
    /// let s = Summary::builder("s", "S.")
    ///     .quantiles([(0.5, 0.05)])
    ///     .max_age(Duration::from_secs(60))
    ///     .quantile_clock(clock.clone())
    ///     .build()
    ///     .unwrap();
    /// s.observe(1.0);
    /// assert_eq!(s.quantiles(), vec![(0.5, 1.0)]);
    /// clock.advance(Duration::from_secs(61));
    /// assert!(s.quantiles()[0].1.is_nan());
    /// assert_eq!(s.count(), 1); // count and sum never age out
    /// ```
    pub fn quantile_clock(mut self, clock: ManualClock) -> Self {
        self.opts_mut().quantiles.clock = Some(clock);
        self
    }
}

impl<L: LabelSet> FromOpts for Summary<L> {
    type Labels = L;
    type With<L2: LabelSet> = Summary<L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        let quantiles = QuantileConfig::new(&opts.quantiles)
            .map_err(|reason| Error::InvalidQuantiles { metric: opts.name.clone(), reason })?;
        Ok(Summary { family: opts.family(SummaryConfig { quantiles })? })
    }
}

/// What the children of one summary family share: their quantile
/// objectives, if any.
///
/// ```
/// use promdecl_runtime::{metric::SummaryConfig, MetricCell, SummaryCell};
/// fn config_of<C: MetricCell<Config = SummaryConfig>>() {}
/// config_of::<SummaryCell>();
/// ```
#[derive(Debug)]
pub struct SummaryConfig {
    quantiles: Option<Arc<QuantileConfig>>,
}

/// The count, sum and creation time of one summary child, and its quantile
/// window if the summary has objectives.
#[derive(Debug)]
pub struct SummaryCell {
    count: AtomicU64,
    sum: AtomicF64,
    created: AtomicF64,
    window: Option<Box<QuantileWindow>>,
}

child_ops! {
    impl[] SummaryCell[] {
        /// Records one observation.
        ///
        /// ```
        /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
        /// s.observe(1.5);
        /// assert_eq!(s.sum(), 1.5);
        /// ```
        #[inline]
        pub fn observe(&self, v: f64) => with {
            self.count.fetch_add(1, Ordering::Relaxed);
            self.sum.add(v);
            if let Some(window) = &self.window {
                window.observe(v);
            }
        }

        /// The current value of each quantile objective, as `(quantile,
        /// value)` in ascending quantile order; empty for a summary without
        /// objectives. A value is NaN while the window holds no observation.
        ///
        /// ```
        /// let s = promdecl_runtime::Summary::builder("s", "S.").quantiles([(0.5, 0.05)]).build().unwrap();
        /// assert!(s.quantiles()[0].1.is_nan());
        /// s.observe(3.0);
        /// assert_eq!(s.quantiles(), vec![(0.5, 3.0)]);
        /// ```
        pub fn quantiles(&self) -> Vec<(f64, f64)> => with {
            match &self.window {
                Some(window) => window.quantile_values().collect(),
                None => Vec::new(),
            }
        }

        /// The number of values each quantile stream keeps and the bytes the
        /// window has allocated: what memory bounds are checked against.
        #[doc(hidden)]
        pub fn quantile_footprint(&self) -> Option<(Vec<usize>, usize)> => with {
            self.window.as_ref().map(|w| w.footprint())
        }

        /// The number of observations.
        ///
        /// ```
        /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
        /// assert_eq!(s.count(), 0);
        /// ```
        pub fn count(&self) -> u64 => with {
            self.count.load(Ordering::Relaxed)
        }

        /// The sum of observations.
        ///
        /// ```
        /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
        /// assert_eq!(s.sum(), 0.0);
        /// ```
        pub fn sum(&self) -> f64 => with {
            self.sum.get()
        }

        /// A timer that observes the elapsed seconds when dropped.
        ///
        /// ```
        /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
        /// drop(s.time());
        /// assert_eq!(s.count(), 1);
        /// ```
        pub fn time(&self) -> Timer => guard(target) {
            Timer::new(target, crate::clock::now())
        }

        /// Runs `f` and observes how long it took.
        ///
        /// ```
        /// let s = promdecl_runtime::Summary::builder("s", "S.").build().unwrap();
        /// s.time_fn(|| std::thread::yield_now());
        /// assert_eq!(s.count(), 1);
        /// ```
        pub fn time_fn[R](&self, f: impl FnOnce() -> R) -> R => same {
            let _timer = self.time();
            f()
        }
    }
}

impl MetricCell for SummaryCell {
    type Config = SummaryConfig;
    const TYPE: MetricType = MetricType::Summary;

    fn new(config: &SummaryConfig) -> Self {
        SummaryCell {
            count: AtomicU64::new(0),
            sum: AtomicF64::new(0.0),
            created: AtomicF64::new(unix_now()),
            window: config.quantiles.as_ref().map(|q| Box::new(QuantileWindow::new(Arc::clone(q)))),
        }
    }

    fn reset(&self, _: &SummaryConfig) {
        self.count.store(0, Ordering::Relaxed);
        self.sum.set(0.0);
        if let Some(window) = &self.window {
            window.reset();
        }
        self.created.set(unix_now());
    }

    fn collect(&self, config: &SummaryConfig, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        if let (Some(window), Some(quantiles)) = (&self.window, &config.quantiles) {
            // Computed before any sample is written: the encoder may be user
            // code, and the window's locks are released by then.
            let values = window.quantiles();
            for (label, value) in quantiles.labels.iter().zip(values) {
                enc.sample(&Sample { extra: Some(Extra::Quantile(label)), ..Sample::new("", Number::Float(value)) });
            }
        }
        enc.sample(&Sample::new("_count", Number::Int(self.count())));
        enc.sample(&Sample::new("_sum", Number::Float(self.sum())));
        enc.sample(&Sample::new("_created", Number::Float(self.created.get())));
    }
}
