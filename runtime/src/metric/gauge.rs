//! Gauge: a value that goes up and down.

use super::guard::{InProgressGuard, Timer};
use super::{child_ops, metric_type, unix_now, AtomicF64, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::encode::{EncodeLabels, MetricEncoder, Number, Sample};
use crate::{Error, LabelSet};
use std::sync::{Arc, RwLock};

metric_type! {
    /// A value that can go up and down, or be read from a callback at scrape.
    ///
    /// ```
    /// use promdecl_runtime::Gauge;
    /// let g = Gauge::builder("queue_depth", "Jobs waiting.").build().unwrap();
    /// g.inc();
    /// g.inc_by(4.0);
    /// g.dec();
    /// assert_eq!(g.get(), 4.0);
    /// g.set_function(|| 42.0);
    /// assert_eq!(g.get(), 42.0);
    /// ```
    Gauge [], GaugeCell
}

impl Gauge {
    /// Starts building a gauge.
    ///
    /// ```
    /// let g = promdecl_runtime::Gauge::builder("temp", "T.").unit("celsius").build().unwrap();
    /// assert_eq!(g.name(), "temp_celsius");
    /// ```
    pub fn builder(name: &str, help: &str) -> Builder<Self> {
        Builder::new(name, help)
    }
}

impl<L: LabelSet> FromOpts for Gauge<L> {
    type Labels = L;
    type With<L2: LabelSet> = Gauge<L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        Ok(Gauge { family: opts.family(())? })
    }
}

type Callback = Arc<dyn Fn() -> f64 + Send + Sync>;

/// The value of one gauge child.
pub struct GaugeCell {
    value: AtomicF64,
    function: RwLock<Option<Callback>>,
}

impl std::fmt::Debug for GaugeCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GaugeCell").field("value", &self.get()).finish()
    }
}

child_ops! {
    impl[] GaugeCell[] declared(Gauge) {
        /// Sets the value.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.set(2.5);
        /// assert_eq!(g.get(), 2.5);
        /// ```
        #[inline]
        pub fn set(&self, v: f64) => with {
            self.value.set(v)
        }

        /// Adds one.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.inc();
        /// assert_eq!(g.get(), 1.0);
        /// ```
        #[inline]
        pub fn inc(&self) => with {
            self.value.add(1.0)
        }

        /// Subtracts one.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.dec();
        /// assert_eq!(g.get(), -1.0);
        /// ```
        #[inline]
        pub fn dec(&self) => with {
            self.value.add(-1.0)
        }

        /// Adds `v`, which may be negative: a gauge has no direction to
        /// keep, so this cannot fail.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.inc_by(2.0);
        /// g.inc_by(-0.5);
        /// assert_eq!(g.get(), 1.5);
        /// ```
        #[inline]
        pub fn inc_by(&self, v: f64) => with {
            self.value.add(v)
        }

        /// Subtracts `v`.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.dec_by(1.5);
        /// assert_eq!(g.get(), -1.5);
        /// ```
        #[inline]
        pub fn dec_by(&self, v: f64) => with {
            self.value.add(-v)
        }

        /// Adds `v` (which may be negative).
        ///
        /// ```
        /// # #![allow(deprecated)]
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.add(-2.0);
        /// assert_eq!(g.get(), -2.0);
        /// ```
        #[deprecated(note = "renamed to `inc_by`")]
        #[inline]
        pub fn add(&self, v: f64) => same {
            self.inc_by(v)
        }

        /// Subtracts `v`.
        ///
        /// ```
        /// # #![allow(deprecated)]
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.sub(1.5);
        /// assert_eq!(g.get(), -1.5);
        /// ```
        #[deprecated(note = "renamed to `dec_by`")]
        #[inline]
        pub fn sub(&self, v: f64) => same {
            self.dec_by(v)
        }

        /// Sets the value to the current Unix time in seconds.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.set_to_current_time();
        /// assert!(g.get() > 1.0e9);
        /// ```
        pub fn set_to_current_time(&self) => with {
            self.value.set(unix_now())
        }

        /// Reads the value from `f` at every scrape from now on.
        ///
        /// `f` runs while the registry is being encoded; it may use other
        /// metrics, including this family.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// g.set_function(|| 7.0);
        /// assert_eq!(g.get(), 7.0);
        /// ```
        pub fn set_function(&self, f: impl Fn() -> f64 + Send + Sync + 'static) => handle {
            let old = self.function.write().unwrap_or_else(|e| e.into_inner()).replace(Arc::new(f));
            // Dropped with no lock held: dropping the old callback may run
            // code of the user's that reads this gauge.
            drop(old);
        }

        /// The value: the callback's, if one is set.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("g", "G.").build().unwrap();
        /// assert_eq!(g.get(), 0.0);
        /// ```
        pub fn get(&self) -> f64 => handle {
            let f = self.function.read().unwrap_or_else(|e| e.into_inner()).clone();
            match f {
                Some(f) => f(),
                None => self.value.get(),
            }
        }

        /// Adds one now and subtracts it when the guard is dropped (also on
        /// panic or when an async task is cancelled).
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("in_flight", "I.").build().unwrap();
        /// {
        ///     let _guard = g.track_inprogress();
        ///     assert_eq!(g.get(), 1.0);
        /// }
        /// assert_eq!(g.get(), 0.0);
        /// ```
        pub fn track_inprogress(&self) -> InProgressGuard => guard(target) {
            InProgressGuard::new(target)
        }

        /// A timer that sets the gauge to the elapsed seconds when dropped.
        ///
        /// ```
        /// let g = promdecl_runtime::Gauge::builder("last_run_seconds", "L.").build().unwrap();
        /// drop(g.time());
        /// assert!(g.get() >= 0.0);
        /// ```
        pub fn time(&self) -> Timer => guard(target) {
            Timer::new(target, crate::clock::now())
        }
    }
}

impl GaugeCell {
    /// A gauge at zero: the value of a `static` (see
    /// [`Declared`](crate::Declared)).
    #[cfg(not(promdecl_loom))]
    pub(super) const fn zero() -> Self {
        GaugeCell { value: AtomicF64::zero(), function: RwLock::new(None) }
    }
}

impl MetricCell for GaugeCell {
    type Config = ();
    const TYPE: MetricType = MetricType::Gauge;
    const RUNS_USER_CODE: bool = true;

    fn new(_: &()) -> Self {
        GaugeCell { value: AtomicF64::new(0.0), function: RwLock::new(None) }
    }

    fn reset(&self, _: &()) {
        self.value.set(0.0);
        let old = self.function.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(old);
    }

    fn collect(&self, _: &(), labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        let value = self.get();
        enc.series(labels);
        enc.sample(&Sample::new("", Number::Float(value)));
    }
}
