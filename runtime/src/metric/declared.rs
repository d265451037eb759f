//! [`Declared`]: an unlabelled counter or gauge declared in `metrics!`,
//! whose value lives in the `static` itself.

use std::ops::Deref;

use crossbeam_utils::CachePadded;
use once_cell::sync::Lazy;

use super::{Counter, CounterCell, Gauge, GaugeCell};
use crate::family::{Family, PaddedSlot, Slot};
use crate::sync::atomic::{AtomicBool, Ordering};

/// An unlabelled [`Counter`] or [`Gauge`] declared in a
/// [`metrics!`](https://docs.rs/promdecl/latest/promdecl/macro.metrics.html)
/// block: the type of its `static`, made by the macro.
///
/// The value lives in the `static` itself, so an update such as
/// `REQUESTS.inc()` is one atomic operation at a fixed address, with no
/// check that the metric is built first. Everything else (its name, a
/// [`Handle`](crate::Handle), passing it as `&Counter`) goes through
/// `Deref` to the metric, which is built on first use around that same
/// value: updates made before are kept.
///
/// ```
/// use promdecl_runtime::{Counter, Declared};
/// # use promdecl_runtime::Opts;
/// # static JOBS: Declared<Counter> = Declared::<Counter>::__new(|| JOBS.__build(&Opts::new("jobs", "Jobs run.")));
/// // static JOBS: Declared<Counter>, from `metrics!`
/// JOBS.inc();
/// let counter: &Counter = &JOBS;
/// assert_eq!(counter.name(), "jobs");
/// assert_eq!(counter.get(), 1.0);
/// ```
pub struct Declared<M: HasStaticCell + 'static> {
    slot: PaddedSlot<M::Cell>,
    /// Set once a metric took `slot` as its only child.
    taken: AtomicBool,
    metric: Lazy<M, fn() -> M>,
}

/// The metrics whose only cell can live in a `static`: [`Counter`] and
/// [`Gauge`] without labels. Sealed.
///
/// ```
/// fn in_a_static<M: promdecl_runtime::HasStaticCell>() {}
/// in_a_static::<promdecl_runtime::Counter>();
/// in_a_static::<promdecl_runtime::Gauge>();
/// ```
pub trait HasStaticCell: sealed::Sealed {
    /// The cell.
    #[doc(hidden)]
    type Cell: crate::MetricCell;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! declared {
    ($metric:ident, $cell:ident) => {
        impl sealed::Sealed for $metric {}
        impl HasStaticCell for $metric {
            type Cell = $cell;
        }

        impl Declared<$metric> {
            /// A static whose metric `init` builds on first use, with
            /// [`Declared::__build`] on the same static. Only `metrics!`
            /// should call this.
            #[doc(hidden)]
            pub const fn __new(init: fn() -> $metric) -> Self {
                Declared {
                    slot: CachePadded::new(Slot { cell: $cell::zero(), present: AtomicBool::new(true) }),
                    taken: AtomicBool::new(false),
                    metric: Lazy::new(init),
                }
            }

            /// Builds the metric of this static from `opts`, with the
            /// static's value as its only child (the first time; another
            /// metric built for the same static gets a value of its own).
            /// Only `metrics!` should call this.
            ///
            /// # Panics
            ///
            /// If `opts` are invalid: `metrics!` checks names at compile time.
            #[doc(hidden)]
            pub fn __build(&'static self, opts: &super::Opts) -> $metric {
                let built = opts.meta::<(), $cell>().map(|(meta, limits)| {
                    if self.taken.swap(true, Ordering::AcqRel) {
                        Family::new(meta, (), limits)
                    } else {
                        Start::start(&self.slot.cell);
                        Family::with_static_slot(meta, (), limits, &self.slot)
                    }
                });
                match built {
                    Ok(family) => $metric { family },
                    Err(e) => panic!("promdecl: declared metric {:?} is invalid: {e}", opts.name),
                }
            }
        }
    };
}

declared!(Counter, CounterCell);
declared!(Gauge, GaugeCell);

/// What a cell does when a metric takes it from its `static`.
trait Start {
    fn start(&self) {}
}

/// The counter starts then, as far as its `_created` sample tells.
impl Start for CounterCell {
    fn start(&self) {
        self.start_now();
    }
}

impl Start for GaugeCell {}

impl<M: HasStaticCell> Declared<M> {
    /// The static's cell: the only child of its metric.
    #[inline(always)]
    pub(crate) fn cell(&self) -> &M::Cell {
        &self.slot.cell
    }
}

impl<M: HasStaticCell> Deref for Declared<M> {
    type Target = M;
    fn deref(&self) -> &M {
        Lazy::force(&self.metric)
    }
}

impl<M: HasStaticCell + std::fmt::Debug> std::fmt::Debug for Declared<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}
