//! Counter: a total that only goes up.

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
/// single atomic add. A counter that only counts whole events is two
/// words: that integer and its start time. The first fractional increment
/// or exemplar moves the start time into an allocation that holds them
/// too, and the second word then points there.
///
/// The second word holds either the start time's bits with the lowest one
/// cleared (a quarter of a microsecond today), or the address of that
/// allocation with the lowest bit set; it changes from the first to the
/// second once, by compare-and-swap, and setting the start time swaps a
/// time for a time, so neither overwrites the other (loom models in this
/// file).
#[derive(Debug)]
pub struct CounterCell {
    whole: AtomicU64,
    stamp: AtomicU64,
}

/// What a counter cell allocates on first use.
#[derive(Debug, Default)]
struct Rare {
    created: AtomicF64,
    fraction: AtomicF64,
    exemplar: ExemplarSlot,
}

/// Set in [`CounterCell::stamp`] when it points to a [`Rare`].
const RARE: u64 = 1;

// The tag needs a free lowest bit in `Rare`'s address, and `CounterCell`
// owns a `Rare` behind an integer, so the compiler cannot see that it must
// be `Send` and `Sync` for the cell to be.
const _: () = assert!(std::mem::align_of::<Rare>() >= 2);
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Rare>();
};

/// A start time as [`CounterCell::stamp`] holds it: positive (so `-0.0` and
/// NaN become `0.0`), with the lowest bit clear.
fn time_bits(t: f64) -> u64 {
    let t = if t > 0.0 { t } else { 0.0 };
    t.to_bits() & !RARE
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
            let exemplar = exemplar.into().to_exemplar(v)?;
            self.rare().exemplar.store(exemplar);
            Ok(())
        }

        /// The latest exemplar, if one was recorded.
        ///
        /// ```
        /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
        /// assert!(c.exemplar().is_none());
        /// ```
        pub fn exemplar(&self) -> Option<crate::encode::Exemplar> => with {
            self.rare_if_any()?.exemplar.get().map(|e| (*e).clone())
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
            let stamp = self.stamp.load(Ordering::Acquire);
            // SAFETY: `stamp` was read from `self.stamp` by an acquire load.
            match unsafe { self.rare_at(stamp) } {
                Some(rare) => rare.created.get(),
                None => f64::from_bits(stamp),
            }
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
            if let Some(rare) = self.rare_if_any() {
                rare.fraction.set(0.0);
                rare.exemplar.clear();
            }
            self.set_start(unix_now());
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

    /// The [`Rare`] that `stamp` points to, if it is a pointer.
    ///
    /// # Safety
    ///
    /// `stamp` was read from `self.stamp` by an acquire load (or a
    /// compare-and-swap with acquire ordering on failure).
    #[inline]
    unsafe fn rare_at(&self, stamp: u64) -> Option<&Rare> {
        // SAFETY: a stamp with `RARE` set is the exposed address of a
        // `Rare` that `rare` leaked from a `Box` and published with a
        // release compare-and-swap, which the caller's acquire read of it
        // synchronizes with; it is freed only when the cell is dropped, so
        // it outlives `&self`.
        (stamp & RARE != 0).then(|| unsafe { &*std::ptr::with_exposed_provenance::<Rare>((stamp & !RARE) as usize) })
    }

    #[inline]
    fn rare_if_any(&self) -> Option<&Rare> {
        // SAFETY: read by an acquire load.
        unsafe { self.rare_at(self.stamp.load(Ordering::Acquire)) }
    }

    /// The start time, fraction and exemplar, allocated on first use.
    fn rare(&self) -> &Rare {
        let mut stamp = self.stamp.load(Ordering::Acquire);
        loop {
            // SAFETY: read by an acquire load or a failed compare-and-swap
            // with acquire ordering.
            if let Some(rare) = unsafe { self.rare_at(stamp) } {
                return rare;
            }
            let fresh = Box::new(Rare { created: AtomicF64::new(f64::from_bits(stamp)), ..Rare::default() });
            let fresh = Box::into_raw(fresh);
            let tagged = fresh.expose_provenance() as u64 | RARE;
            match self.stamp.compare_exchange(stamp, tagged, Ordering::AcqRel, Ordering::Acquire) {
                // SAFETY: just published; freed only with the cell.
                Ok(_) => return unsafe { &*fresh },
                Err(now) => {
                    // SAFETY: `fresh` was not published; this is its only owner.
                    drop(unsafe { Box::from_raw(fresh) });
                    stamp = now;
                }
            }
        }
    }

    /// Sets the start time, in the stamp or in the [`Rare`] it points to.
    fn set_start(&self, t: f64) {
        let mut stamp = self.stamp.load(Ordering::Acquire);
        loop {
            // SAFETY: read by an acquire load or a failed compare-and-swap
            // with acquire ordering.
            if let Some(rare) = unsafe { self.rare_at(stamp) } {
                rare.created.set(f64::from_bits(time_bits(t)));
                return;
            }
            match self.stamp.compare_exchange_weak(stamp, time_bits(t), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => stamp = now,
            }
        }
    }

    fn fraction(&self) -> f64 {
        self.rare_if_any().map_or(0.0, |rare| rare.fraction.get())
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
        CounterCell { whole: AtomicU64::new(0), stamp: AtomicU64::new(0) }
    }

    /// Sets the start time, shown as `_created`, to now.
    #[cfg(not(promdecl_loom))]
    pub(super) fn start_now(&self) {
        self.set_start(unix_now());
    }
}

impl Drop for CounterCell {
    fn drop(&mut self) {
        let stamp = self.stamp.load(Ordering::Acquire);
        if stamp & RARE != 0 {
            // SAFETY: the `Rare` that `rare` leaked and published; `&mut
            // self` means no reference to it is left.
            drop(unsafe { Box::from_raw(std::ptr::with_exposed_provenance_mut::<Rare>((stamp & !RARE) as usize)) });
        }
    }
}

impl MetricCell for CounterCell {
    type Config = ();
    const TYPE: MetricType = MetricType::Counter;

    fn new(_: &()) -> Self {
        CounterCell { whole: AtomicU64::new(0), stamp: AtomicU64::new(time_bits(unix_now())) }
    }

    fn reset(&self, _: &()) {
        CounterCell::reset(self)
    }

    fn collect(&self, _: &(), labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        enc.series(labels);
        let exemplar = self.rare_if_any().and_then(|rare| rare.exemplar.get());
        enc.sample(&Sample { exemplar: exemplar.as_deref(), ..Sample::new("_total", self.value()) });
        enc.sample(&Sample::new("_created", Number::Float(self.created())));
    }
}

/// Models of the counter cell's second word, run by loom
/// (`scripts/loom.sh`).
///
/// Invariant: **the first fractional increments of two threads both count,
/// and a start time set while one of them allocates keeps both the time
/// and the increment**: the word changes from a time to a pointer once,
/// by compare-and-swap, and a time is set by compare-and-swap against the
/// time it replaces.
#[cfg(all(test, promdecl_loom))]
mod loom_models {
    use std::sync::Arc;

    use loom::thread;

    use super::{CounterCell, MetricCell};
    use crate::sync::models::check;

    /// Two first fractional increments at once.
    ///
    /// Guards: the compare-and-swap in `rare`. Watched failing with a plain
    /// store there: one thread's allocation replaces the other's, with its
    /// increment.
    #[test]
    fn first_fractional_increments_race() {
        check(|| {
            let cell = Arc::new(CounterCell::new(&()));
            let t = {
                let cell = cell.clone();
                thread::spawn(move || cell.inc_by(0.5).unwrap())
            };
            cell.inc_by(0.25).unwrap();
            t.join().unwrap();
            assert_eq!(cell.get(), 0.75);
        });
    }

    /// Reading the start time and the value while the first fractional
    /// increment allocates.
    ///
    /// Guards: the acquire loads in `created` and `rare_if_any`. Watched
    /// failing with either `Relaxed` (loom reports the read of the new
    /// allocation). The `yield_now` lets loom run the other thread first
    /// (tokio-rs/loom#392: a thread that starts with a load is otherwise
    /// never interleaved).
    #[test]
    fn reads_vs_first_fractional_increment() {
        check(|| {
            let cell = Arc::new(CounterCell::new(&()));
            let start = cell.created();
            let t = {
                let cell = cell.clone();
                thread::spawn(move || cell.inc_by(0.5).unwrap())
            };
            thread::yield_now();
            assert_eq!(cell.created(), start);
            let v = cell.get();
            assert!(v == 0.0 || v == 0.5, "{v}");
            t.join().unwrap();
            assert_eq!(cell.get(), 0.5);
        });
    }

    /// Setting the start time while the first fractional increment
    /// allocates.
    ///
    /// Guards: the compare-and-swap in `set_start`. Watched failing with a
    /// plain store there: the time overwrites the pointer, and the
    /// increment is lost.
    #[test]
    fn start_time_vs_first_fractional_increment() {
        check(|| {
            let cell = Arc::new(CounterCell::new(&()));
            let t = {
                let cell = cell.clone();
                thread::spawn(move || cell.set_start(2.0e9))
            };
            cell.inc_by(0.5).unwrap();
            t.join().unwrap();
            assert_eq!(cell.get(), 0.5);
            assert_eq!(cell.created(), 2.0e9);
        });
    }
}
