//! [`Labeled`], a child looked up when an operation runs, and [`Handle`], a
//! child resolved once.

use std::ops::Deref;
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use super::child::Child;
use super::key::{NamedValues, SetValues, Values};
use super::{Inner, Slot, OVERFLOW_LABEL_VALUE};
use crate::collect::MetricCell;
use crate::LabelSet;

pub(super) enum Target<'a, L: LabelSet, C: MetricCell> {
    Dense(&'a Inner<L, C>, usize),
    Key(&'a Inner<L, C>, &'a L),
    Values(&'a Inner<L, C>, &'a [&'a str]),
    Named(&'a Inner<L, C>, &'a [(&'a str, &'a str)]),
    /// A label set the family refuses (a [`DynLabels`](crate::DynLabels) of the wrong length):
    /// the overflow series.
    Refused(&'a Inner<L, C>),
}

/// The values of the overflow series, for a family of this many labels.
struct Overflowing(usize);

impl Values for Overflowing {
    fn each(&self, f: &mut dyn FnMut(&str)) {
        (0..self.0).for_each(|_| f(OVERFLOW_LABEL_VALUE));
    }
}

/// One child of a family, looked up when an operation runs.
///
/// Returned by [`Family::labels`](super::Family::labels); the metric types add their operations
/// (`inc`, `observe`, `set`, ...) to it. For a hot loop, resolve the child
/// once with [`Labeled::handle`].
///
/// ```
/// use promdecl_runtime::{Counter, DynLabels};
/// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a"]).build().unwrap();
/// let child = c.with_label_values(&["1"]).unwrap().handle();
/// for _ in 0..3 { child.inc(); }
/// assert_eq!(child.get(), 3.0);
/// ```
#[must_use = "a labelled child records nothing until an operation such as inc() or observe() runs on it"]
pub struct Labeled<'a, L: LabelSet, C: MetricCell> {
    pub(super) target: Target<'a, L, C>,
}

impl<L: LabelSet, C: MetricCell> Labeled<'_, L, C> {
    /// Runs `f` on the child, creating it if needed. `f` is always crate code:
    /// user code never runs while a shard of the map is locked.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&C) -> R) -> R {
        match &self.target {
            Target::Dense(inner, index) => f(&inner.dense[*index].cell),
            Target::Key(inner, labels) => inner.with_values(&SetValues(*labels), f),
            Target::Values(inner, values) => inner.with_values(*values, f),
            Target::Named(inner, pairs) => inner.with_values(&NamedValues { names: &inner.meta.labels, pairs }, f),
            Target::Refused(inner) => inner.with_values(&Overflowing(inner.meta.labels.len()), f),
        }
    }

    /// Resolves the child once, for use in a hot loop or to keep in a struct.
    /// After the child is removed from its family, the handle still works but
    /// what it records is no longer exposed.
    ///
    /// ```
    /// use promdecl_runtime::{Histogram, DynLabels};
    /// let h: Histogram<DynLabels> =
    ///     Histogram::builder("lat", "Latency.").labels(["op"]).build().unwrap();
    /// let child = h.with_label_values(&["read"]).unwrap().handle();
    /// child.observe(0.1);
    /// assert_eq!(child.count(), 1);
    /// ```
    pub fn handle(&self) -> Handle<C> {
        let repr = match &self.target {
            Target::Dense(inner, index) => HandleRepr::Dense(Arc::clone(&inner.dense), *index),
            Target::Key(inner, labels) => HandleRepr::Shared(inner.pinned(&SetValues(*labels))),
            Target::Values(inner, values) => HandleRepr::Shared(inner.pinned(*values)),
            Target::Refused(inner) => HandleRepr::Shared(inner.pinned(&Overflowing(inner.meta.labels.len()))),
            Target::Named(inner, pairs) => {
                HandleRepr::Shared(inner.pinned(&NamedValues { names: &inner.meta.labels, pairs }))
            }
        };
        Handle { repr }
    }
}

enum HandleRepr<C> {
    Dense(Arc<[CachePadded<Slot<C>>]>, usize),
    /// A map child, pinned: it does not expire while a handle holds it.
    Shared(Child<C>),
}

/// A resolved child that can be kept and used without further lookups.
///
/// ```
/// use promdecl_runtime::{Gauge, DynLabels};
/// let g: Gauge<DynLabels> = Gauge::builder("q", "Queue.").labels(["name"]).build().unwrap();
/// let h = g.with_label_values(&["jobs"]).unwrap().handle();
/// h.set(4.0);
/// assert_eq!(g.with_label_values(&["jobs"]).unwrap().get(), 4.0);
/// ```
pub struct Handle<C> {
    repr: HandleRepr<C>,
}

impl<C> Clone for Handle<C> {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            HandleRepr::Dense(d, i) => HandleRepr::Dense(Arc::clone(d), *i),
            // This handle's pin keeps the child in the map meanwhile.
            HandleRepr::Shared(c) => {
                c.pin();
                HandleRepr::Shared(c.clone())
            }
        };
        Handle { repr }
    }
}

impl<C> Drop for Handle<C> {
    fn drop(&mut self) {
        if let HandleRepr::Shared(child) = &self.repr {
            child.unpin();
        }
    }
}

impl<C> Deref for Handle<C> {
    type Target = C;
    #[inline]
    fn deref(&self) -> &C {
        match &self.repr {
            HandleRepr::Dense(d, i) => &d[*i].cell,
            HandleRepr::Shared(c) => c.cell(),
        }
    }
}

impl<C: std::fmt::Debug> std::fmt::Debug for Handle<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}
