//! A counter split into per-thread cells, for counters so hot that threads
//! contend on one atomic.

use std::sync::atomic::AtomicUsize;

use crate::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

use super::exemplar::{ExemplarLabels, ExemplarSlots};
use super::guard::ExceptionGuard;
use super::thread_shards::{add_u64_owned, ThreadShards};
use super::{child_ops, metric_type, unix_now, AtomicF64, Builder, FromOpts, MetricCell, MetricType, Opts};
use crate::encode::{EncodeLabels, MetricEncoder, Number, Sample};
use crate::{Error, LabelSet};

metric_type! {
    /// A counter whose increments go to a cell of the incrementing thread's
    /// own, summed at scrape.
    ///
    /// Threads incrementing the same [`Counter`](crate::Counter) contend on
    /// one cache line; with a sharded counter they do not, and each
    /// increment is a plain store rather than a locked instruction. Each
    /// child costs a cache line (128 bytes) for every thread that
    /// increments it, plus one per CPU for threads that hold too many cells
    /// to keep one each, so use it for a few very hot counters, not for
    /// large label sets. It is exposed exactly like a counter.
    ///
    /// ```
    /// use promdecl_runtime::{Registry, ShardedCounter};
    /// let registry = Registry::new();
    /// let c = ShardedCounter::builder("packets", "Packets seen.").register(&registry).unwrap();
    /// std::thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| for _ in 0..1000 { c.inc() });
    ///     }
    /// });
    /// assert_eq!(registry.get_sample_value("packets_total", &[]), Some(4000.0));
    /// ```
    ShardedCounter [], ShardedCounterCell
}

impl ShardedCounter {
    /// Starts building a sharded counter. A trailing `_total` is optional.
    ///
    /// ```
    /// let c = promdecl_runtime::ShardedCounter::builder("hits_total", "Hits.").build().unwrap();
    /// assert_eq!(c.name(), "hits");
    /// ```
    pub fn builder(name: &str, help: &str) -> Builder<Self> {
        Builder::new(name, help)
    }
}

impl<L: LabelSet> FromOpts for ShardedCounter<L> {
    type Labels = L;
    type With<L2: LabelSet> = ShardedCounter<L2>;
    fn from_opts(opts: &Opts) -> Result<Self, Error> {
        let shards = std::thread::available_parallelism().map_or(4, |n| n.get()).clamp(2, 64).next_power_of_two();
        Ok(ShardedCounter { family: opts.family(shards)? })
    }
}

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

crate::sync::thread_locals! {
    /// This thread's shard, assigned round-robin on first use.
    static THREAD_SHARD: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

/// The cells of one sharded counter child.
#[derive(Debug)]
pub struct ShardedCounterCell {
    cells: Box<[CachePadded<AtomicU64>]>,
    fraction: AtomicF64,
    created: AtomicF64,
    exemplar: ExemplarSlots,
    /// Per-thread cells that only their thread writes, with no locked
    /// instruction; `cells` take the increments of threads without one.
    owned: ThreadShards,
}

impl ShardedCounterCell {
    #[inline]
    fn cell(&self) -> &AtomicU64 {
        let shard = THREAD_SHARD.with(|s| *s);
        &self.cells[shard & (self.cells.len() - 1)]
    }
}

child_ops! {
    impl[] ShardedCounterCell[] {
        /// Adds one.
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// c.inc();
        /// assert_eq!(c.get(), 1.0);
        /// ```
        #[inline]
        pub fn inc(&self) => with {
            self.inc_by_u64(1);
        }

        /// Adds `v`, which must be non-negative (NaN is refused too).
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// c.inc_by(0.5).unwrap();
        /// assert!(c.inc_by(-1.0).is_err());
        /// ```
        #[inline]
        pub fn inc_by(&self, v: f64) -> Result<(), Error> => with {
            match super::counter::split_increment(v)? {
                Some(n) => self.inc_by_u64(n),
                None => self.fraction.add(v),
            }
            Ok(())
        }

        /// Adds a whole number; it cannot be negative, so this cannot fail.
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// c.inc_by_u64(3);
        /// assert_eq!(c.get(), 3.0);
        /// ```
        #[inline]
        pub fn inc_by_u64(&self, n: u64) => with {
            if self.owned.with_local(|words| add_u64_owned(&words[0], n)).is_none() {
                self.cell().fetch_add(n, Ordering::Relaxed);
            }
        }

        /// Adds a whole number.
        ///
        /// ```
        /// # #![allow(deprecated)]
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// c.add(3);
        /// assert_eq!(c.get(), 3.0);
        /// ```
        #[deprecated(note = "renamed to `inc_by_u64`")]
        #[inline]
        pub fn add(&self, n: u64) => same {
            self.inc_by_u64(n)
        }

        /// Adds one and records `exemplar`; see
        /// [`CounterCell::inc_with_exemplar`](crate::CounterCell::inc_with_exemplar).
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// c.inc_with_exemplar(&[("trace_id", "abc")]).unwrap();
        /// assert_eq!(c.get(), 1.0);
        /// ```
        pub fn inc_with_exemplar['a](&self, exemplar: impl Into<ExemplarLabels<'a>>) -> Result<(), Error> => with {
            self.inc_by_with_exemplar(1.0, exemplar)
        }

        /// Adds `v` (non-negative) and records `exemplar`; see
        /// [`CounterCell::inc_with_exemplar`](crate::CounterCell::inc_with_exemplar).
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// c.inc_by_with_exemplar(1.0, &[("trace_id", "abc")]).unwrap();
        /// assert_eq!(c.exemplar().unwrap().value, 1.0);
        /// ```
        pub fn inc_by_with_exemplar['a](&self, v: f64, exemplar: impl Into<ExemplarLabels<'a>>) -> Result<(), Error> => with {
            self.inc_by(v)?;
            self.exemplar.store(1, 0, exemplar.into().to_exemplar(v)?);
            Ok(())
        }

        /// The latest exemplar, if one was recorded.
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// assert!(c.exemplar().is_none());
        /// ```
        pub fn exemplar(&self) -> Option<crate::encode::Exemplar> => with {
            self.exemplar.get(0).map(|e| (*e).clone())
        }

        /// The total over all shards.
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// assert_eq!(c.get(), 0.0);
        /// ```
        pub fn get(&self) -> f64 => with {
            self.whole() as f64 + self.fraction.get()
        }

        /// When the counter was created or last reset, in seconds since the
        /// epoch.
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// assert!(c.created() > 1.0e9);
        /// ```
        pub fn created(&self) -> f64 => with {
            self.created.get()
        }

        /// Sets the total back to zero and the creation time to now.
        ///
        /// ```
        /// let c = promdecl_runtime::ShardedCounter::builder("c", "C.").build().unwrap();
        /// c.inc();
        /// c.reset();
        /// assert_eq!(c.get(), 0.0);
        /// ```
        pub fn reset(&self) => with {
            self.owned.reset();
            self.cells.iter().for_each(|c| c.store(0, Ordering::Relaxed));
            self.fraction.set(0.0);
            self.created.set(unix_now());
            self.exemplar.clear();
        }

        /// A guard that counts one if the thread panics before it is
        /// dropped; see [`CounterCell::count_exceptions`](crate::CounterCell::count_exceptions).
        ///
        /// ```
        /// let errors = promdecl_runtime::ShardedCounter::builder("errors", "E.").build().unwrap();
        /// let r: Result<(), &str> = errors.count_exceptions().check(Err("boom"));
        /// assert!(r.is_err());
        /// assert_eq!(errors.get(), 1.0);
        /// ```
        pub fn count_exceptions(&self) -> ExceptionGuard => guard(target) {
            ExceptionGuard::new(target)
        }
    }
}

impl ShardedCounterCell {
    fn whole(&self) -> u64 {
        let mut whole = self.cells.iter().map(|c| c.load(Ordering::Relaxed)).fold(0, u64::wrapping_add);
        self.owned.for_each(|words| whole = whole.wrapping_add(words[0].load(Ordering::Relaxed)));
        whole
    }
}

impl MetricCell for ShardedCounterCell {
    type Config = usize;
    const TYPE: MetricType = MetricType::Counter;

    fn new(shards: &usize) -> Self {
        ShardedCounterCell {
            cells: (0..*shards).map(|_| CachePadded::new(AtomicU64::new(0))).collect(),
            fraction: AtomicF64::new(0.0),
            created: AtomicF64::new(unix_now()),
            exemplar: ExemplarSlots::default(),
            owned: ThreadShards::new(1),
        }
    }

    fn reset(&self, _: &usize) {
        ShardedCounterCell::reset(self)
    }

    fn collect(&self, _: &usize, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder) {
        let (whole, fraction) = (self.whole(), self.fraction.get());
        let value = if fraction == 0.0 { Number::Int(whole) } else { Number::Float(whole as f64 + fraction) };
        enc.series(labels);
        let exemplar = self.exemplar.get(0);
        enc.sample(&Sample { exemplar: exemplar.as_deref(), ..Sample::new("_total", value) });
        enc.sample(&Sample::new("_created", Number::Float(self.created.get())));
    }
}
