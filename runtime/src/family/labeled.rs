//! [`Labeled`], a child looked up when it is asked for, and [`Handle`], a
//! child resolved once.

use std::ops::Deref;

use super::child::Child;
use super::dense::DenseSlots;
use super::key::{KeyRef, Values};
use super::{Inner, OVERFLOW_LABEL_VALUE};
use crate::collect::MetricCell;
use crate::sync::atomic::Ordering;
use crate::LabelSet;

pub(super) enum Target<'a, L: LabelSet, C: MetricCell> {
    Dense(&'a DenseSlots<C>, usize),
    /// A map child (or the overflow child) and the family's epoch when it
    /// was looked up: while the epoch lasts, the child is the one its labels
    /// name.
    Map(&'a Inner<L, C>, Child<C>, u64),
}

/// The values of the overflow series, for a family of this many labels.
pub(super) struct Overflowing(pub(super) usize);

impl Values for Overflowing {
    fn each(&self, f: &mut dyn FnMut(&str)) {
        (0..self.0).for_each(|_| f(OVERFLOW_LABEL_VALUE));
    }
}

/// The label values a child was made with, to look it up again.
struct KeyValues<'a>(KeyRef<'a>);

impl Values for KeyValues<'_> {
    fn each(&self, f: &mut dyn FnMut(&str)) {
        self.0.values().for_each(f);
    }
}

/// One child of a family, looked up by its labels.
///
/// Returned by [`Family::labels`](super::Family::labels) and
/// [`Family::with_label_values`](super::Family::with_label_values); the
/// metric types add their operations (`inc`, `observe`, `set`, ...) to it.
/// The lookup happens once, when the child is asked for: from then on the
/// child is shown in the exposition (at zero until something is recorded),
/// and it borrows neither the label values nor the label set, so it may be
/// kept in a variable while they are gone. If the child is removed from its
/// family meanwhile, the next operation looks its labels up again and
/// records into the family's child for them. For a hot loop, or to keep a
/// child in a struct, resolve it once with [`Labeled::handle`].
///
/// ```
/// use promdecl_runtime::{Counter, DynLabels};
/// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["method", "path"]).build().unwrap();
/// let (method, path) = (String::from("GET"), format!("/items/{}", 7));
/// let child = c.with_label_values(&[method.as_str(), path.as_str()]).unwrap();
/// child.inc();
/// assert_eq!(child.get(), 1.0);
/// ```
pub struct Labeled<'a, L: LabelSet, C: MetricCell> {
    pub(super) target: Target<'a, L, C>,
}

impl<'a, L: LabelSet, C: MetricCell> Labeled<'a, L, C> {
    /// The map child holding `values`, created if needed.
    #[inline]
    pub(super) fn resolve<V: Values + ?Sized>(inner: &'a Inner<L, C>, values: &V) -> Self {
        let (child, epoch) = inner.resolve(values);
        Labeled { target: Target::Map(inner, child, epoch) }
    }
}

impl<L: LabelSet, C: MetricCell> Labeled<'_, L, C> {
    /// Runs `f` on the child. `f` is always crate code: user code never
    /// runs while a shard of the map is locked.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&C) -> R) -> R {
        match &self.target {
            Target::Dense(dense, index) => f(&dense[*index].cell),
            Target::Map(inner, child, epoch) => {
                // As a cache hit: marked used, then still the family's child
                // unless a removal has begun since the lookup.
                let cell = child.touch();
                if inner.epoch.load(Ordering::SeqCst) == *epoch {
                    f(cell)
                } else {
                    look_up_again(inner, child, f)
                }
            }
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
            Target::Dense(dense, index) => HandleRepr::Dense((*dense).clone(), *index),
            Target::Map(inner, child, _) => HandleRepr::Shared(inner.pinned(&KeyValues(child.key()))),
        };
        Handle { repr }
    }
}

/// Runs `f` on the family's child for the labels of `child`, which a
/// removal may have taken out since it was looked up. Out of line: the hot
/// path of an operation on a child is the branch that does not come here.
#[cold]
#[inline(never)]
fn look_up_again<L: LabelSet, C: MetricCell, R>(inner: &Inner<L, C>, child: &Child<C>, f: impl FnOnce(&C) -> R) -> R {
    inner.with_values(&KeyValues(child.key()), f)
}

enum HandleRepr<C> {
    Dense(DenseSlots<C>, usize),
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
            HandleRepr::Dense(d, i) => HandleRepr::Dense(d.clone(), *i),
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
