//! Counter: a total that only goes up.

use once_cell::race::OnceBox;

use super::exemplar::{ExemplarLabels, ExemplarSlot};
use super::guard::ExceptionGuard;
use super::{child_ops, metric_type, unix_now, AtomicF64, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::encode::{EncodeLabels, MetricEncoder, Number, Sample};
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::{Error, LabelSet};

metric_type! {
    /// A monotonically increasing total, exposed as `name_total` (with
    /// `name_created` in OpenMetrics).
    ///
    /// ```
    /// use promdecl_runtime::{Counter, Registry};
    /// let registry = Registry::new();
    /// let c = Counter::builder("requests", "Requests served.").register(&registry).unwrap();
    /// c.inc();
    /// c.inc_by(2.5).unwrap();
    /// assert!(c.inc_by(-1.0).is_err());
    /// assert_eq!(registry.get_sample_value("requests_total", &[]), Some(3.5));
    /// ```
    Counter [], CounterCell
}

impl Counter {
    /// Starts building a counter. A trailing `_total` in `name` is optional.
    ///
    /// ```
    /// let c = promdecl_runtime::Counter::builder("jobs_total", "Jobs.").build().unwrap();
    /// assert_eq!(c.name(), "jobs");
    /// ```
    pub fn builder(name: &str, help: &str) -> Builder<Self> {
        Builder::new(name, help)
    }
}

impl<L: LabelSet> FromOpts for Counter<L> {
    type Labels = L;
    type With<L2: LabelSet> = Counter<L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        Ok(Counter { family: opts.family(())? })
    }
}

/// The value of one counter child.
///
/// Whole increments go to an integer atomic, so the common `inc()` is a
/// single atomic add. Fractional increments and the exemplar live in a
/// second allocation made by the first of them: a counter that only counts
/// whole events is three words (value, start time and that pointer).
#[derive(Debug)]
pub struct CounterCell {
    whole: AtomicU64,
    created: AtomicF64,
    rare: OnceBox<Rare>,
}

/// What a counter cell allocates on first use.
#[derive(Debug, Default)]
struct Rare {
    fraction: AtomicF64,
    exemplar: ExemplarSlot,
}

/// Increments up to this are added exactly to the integer part.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// The largest step [`CounterCell::add`] adds to the integer part (2^53).
const EXACT_STEP: u64 = 1 << 53;

/// Past this, the integer part takes no more steps (2^63): it stays far
/// from wrapping around, and the float part takes the rest.
const SPILL_AT: u64 = 1 << 63;

/// How a counter takes the increment `v`: `Some(n)` to add `n` to its
/// integer part, `None` to add `v` to its fraction; an error for negative or
/// NaN increments.
#[inline]
pub(crate) fn split_increment(v: f64) -> Result<Option<u64>, Error> {
    if v.is_nan() || v < 0.0 {
        return Err(Error::NegativeIncrement(v));
    }
    Ok((v.fract() == 0.0 && v <= MAX_EXACT).then_some(v as u64))
}

child_ops! {
    impl[] CounterCell[] declared(Counter) {
        /// Adds one.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// c.inc();
        /// assert_eq!(c.get(), 1.0);
        /// ```
        #[inline]
        pub fn inc(&self) => with {
            self.whole.fetch_add(1, Ordering::Relaxed);
        }

        /// Adds `v`, which must be non-negative (NaN is refused too): a
        /// counter never goes down.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// c.inc_by(0.5).unwrap();
        /// assert!(c.inc_by(-1.0).is_err());
        /// assert!(c.inc_by(f64::NAN).is_err());
        /// assert_eq!(c.get(), 0.5);
        /// ```
        #[inline]
        pub fn inc_by(&self, v: f64) -> Result<(), Error> => with {
            match split_increment(v)? {
                Some(n) => self.inc_by_u64(n),
                None => self.rare().fraction.add(v),
            }
            Ok(())
        }

        /// Adds a whole number; it cannot be negative, so this cannot fail.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// c.inc_by_u64(5);
        /// assert_eq!(c.get(), 5.0);
        /// ```
        ///
        /// The total never wraps around: past 2^63 in the integer part (or
        /// for a single `n` over 2^53), increments go to the float part,
        /// which keeps growing (inexactly, as any float of that size).
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// c.inc();
        /// c.inc_by_u64(u64::MAX);
        /// assert!(c.get() >= u64::MAX as f64);
        /// ```
        #[inline]
        pub fn inc_by_u64(&self, n: u64) => with {
            if n > EXACT_STEP || self.whole.load(Ordering::Relaxed) > SPILL_AT {
                return self.add_inexact(n);
            }
            // Below SPILL_AT, steps of at most EXACT_STEP cannot reach
            // u64::MAX unless 2^10 threads add at the same moment.
            self.whole.fetch_add(n, Ordering::Relaxed);
        }

        /// Adds a whole number.
        ///
        /// ```
        /// # #![allow(deprecated)]
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// c.add(5);
        /// assert_eq!(c.get(), 5.0);
        /// ```
        #[deprecated(note = "renamed to `inc_by_u64`")]
        #[inline]
        pub fn add(&self, n: u64) => same {
            self.inc_by_u64(n)
        }

        /// Adds one and records `exemplar` (timestamped now unless
        /// [`ExemplarLabels::at`] says otherwise) as the exemplar of
        /// `_total`, replacing the previous one.
        ///
        /// An exemplar whose labels are invalid or longer than OpenMetrics
        /// allows is refused with an error; the increment still counts.
        ///
        /// ```
        /// use promdecl_runtime::{Counter, Error};
        /// let c = Counter::builder("c", "C.").build().unwrap();
        /// c.inc_with_exemplar(&[("trace_id", "abc123")]).unwrap();
        /// let long = "f".repeat(200);
        /// assert!(matches!(c.inc_with_exemplar(&[("trace_id", long.as_str())]), Err(Error::ExemplarTooLong { .. })));
        /// assert_eq!(c.get(), 2.0);
        /// assert_eq!(c.exemplar().unwrap().labels, [("trace_id".to_owned(), "abc123".to_owned())]);
        /// ```
        pub fn inc_with_exemplar['a](&self, exemplar: impl Into<ExemplarLabels<'a>>) -> Result<(), Error> => with {
            self.inc_by_with_exemplar(1.0, exemplar)
        }

        /// Adds `v` (non-negative) and records `exemplar` with value `v`;
        /// see [`CounterCell::inc_with_exemplar`]. A negative or NaN `v`
        /// records nothing.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// c.inc_by_with_exemplar(2.5, &[("trace_id", "abc")]).unwrap();
        /// assert!(c.inc_by_with_exemplar(-1.0, &[("trace_id", "x")]).is_err());
        /// assert_eq!(c.exemplar().unwrap().value, 2.5);
        /// ```
        pub fn inc_by_with_exemplar['a](&self, v: f64, exemplar: impl Into<ExemplarLabels<'a>>) -> Result<(), Error> => with {
            self.inc_by(v)?;
            self.rare().exemplar.store(exemplar.into().to_exemplar(v)?);
            Ok(())
        }

        /// The latest exemplar, if one was recorded.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// assert!(c.exemplar().is_none());
        /// ```
        pub fn exemplar(&self) -> Option<crate::encode::Exemplar> => with {
            self.rare.get()?.exemplar.get().map(|e| (*e).clone())
        }

        /// The current total.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// assert_eq!(c.get(), 0.0);
        /// ```
        pub fn get(&self) -> f64 => with {
            self.whole.load(Ordering::Relaxed) as f64 + self.fraction()
        }

        /// When the counter was created or last reset, in seconds since the
        /// epoch.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// assert!(c.created() > 1.0e9);
        /// ```
        pub fn created(&self) -> f64 => with {
            self.created.get()
        }

        /// Sets the total back to zero and the creation time to now.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// c.inc();
        /// c.reset();
        /// assert_eq!(c.get(), 0.0);
        /// ```
        pub fn reset(&self) => with {
            self.whole.store(0, Ordering::Relaxed);
            if let Some(rare) = self.rare.get() {
                rare.fraction.set(0.0);
                rare.exemplar.clear();
            }
            self.created.set(unix_now());
        }

        /// A guard that counts one if the thread panics before it is
        /// dropped; pass a `Result` through [`ExceptionGuard::check`] to
        /// count an `Err` too.
        ///
        /// ```
        /// let errors = promdecl_runtime::Counter::builder("errors", "E.").build().unwrap();
        /// let r: Result<(), &str> = errors.count_exceptions().check(Err("boom"));
        /// assert!(r.is_err());
        /// assert_eq!(errors.get(), 1.0);
        /// ```
        pub fn count_exceptions(&self) -> ExceptionGuard => guard(target) {
            ExceptionGuard::new(target)
        }
    }
}

impl CounterCell {
    #[cold]
    fn add_inexact(&self, n: u64) {
        self.rare().fraction.add(n as f64);
    }

    /// The fraction and exemplar, allocated on first use.
    fn rare(&self) -> &Rare {
        self.rare.get_or_init(Box::default)
    }

    fn fraction(&self) -> f64 {
        self.rare.get().map_or(0.0, |rare| rare.fraction.get())
    }

    fn value(&self) -> Number {
        let whole = self.whole.load(Ordering::Relaxed);
        let fraction = self.fraction();
        if fraction == 0.0 {
            Number::Int(whole)
        } else {
            Number::Float(whole as f64 + fraction)
        }
    }
}

impl CounterCell {
    /// A counter at zero that has not started: the value of a `static`
    /// (see [`Declared`](crate::Declared)), started when a metric takes it.
    #[cfg(not(promdecl_loom))]
    pub(super) const fn zero() -> Self {
        CounterCell { whole: AtomicU64::new(0), created: AtomicF64::zero(), rare: OnceBox::new() }
    }

    /// Sets the start time, shown as `_created`, to now.
    #[cfg(not(promdecl_loom))]
    pub(super) fn start_now(&self) {
        self.created.set(unix_now());
    }
}

impl MetricCell for CounterCell {
    type Config = ();
    const TYPE: MetricType = MetricType::Counter;

    fn new(_: &()) -> Self {
        CounterCell { whole: AtomicU64::new(0), created: AtomicF64::new(unix_now()), rare: OnceBox::new() }
    }

    fn reset(&self, _: &()) {
        CounterCell::reset(self)
    }

    fn collect(&self, _: &(), labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        let exemplar = self.rare.get().and_then(|rare| rare.exemplar.get());
        enc.sample(&Sample { exemplar: exemplar.as_deref(), ..Sample::new("_total", self.value()) });
        enc.sample(&Sample::new("_created", Number::Float(self.created())));
    }
}
