//! A metric family: the children of one metric, one per label set.
//!
//! Label sets of fixed cardinality live in a dense array, indexed without
//! hashing or locking; the others in a sharded concurrent map whose keys are
//! the label values, encoded in one byte string (see `key`) and compared in
//! full on every lookup (never matched by their hash alone).

mod cache;
mod child;
mod collect;
mod dense;
mod key;
mod labeled;
mod lookup;
#[cfg(all(test, promdecl_loom))]
mod loom_models;
mod map;

use std::ops::Deref;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use self::child::Child;
use self::collect::{render_dense, ExpiryClock};
use self::dense::DenseSlots;
pub(crate) use self::dense::{PaddedSlot, Slot};
use self::key::{NamedValues, SetValues};
pub use self::labeled::{Handle, Labeled};
use self::labeled::{Overflowing, Target};
use self::map::ChildMap;
use crate::collect::{MetricCell, MetricType};
use crate::encode::Descriptor;
use crate::label::DynLabels;
use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::{Error, LabelSet};

/// Label sets with more combinations than this go to the map even if closed,
/// so a family never preallocates more than a few hundred KiB.
const DENSE_LIMIT: usize = 1024;

/// Value of every label of the series that takes what a full family refuses.
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";

/// Calls its argument with each label value of one child.
type ValueVisitor<'a> = dyn FnMut(&mut dyn FnMut(&str)) + 'a;

/// A family's name, help, unit, type and label names.
#[derive(Debug)]
pub(crate) struct Meta {
    pub(crate) name: Box<str>,
    pub(crate) help: Box<str>,
    pub(crate) unit: Box<str>,
    pub(crate) kind: MetricType,
    pub(crate) labels: Box<[Box<str>]>,
}

impl Meta {
    pub(crate) fn descriptor(&self) -> Descriptor<'_> {
        Descriptor { name: &self.name, help: &self.help, unit: &self.unit, kind: self.kind }
    }

    fn names_joined(&self) -> String {
        self.labels.join(", ")
    }
}

pub(crate) struct Inner<L, C: MetricCell> {
    pub(crate) meta: Meta,
    pub(crate) config: C::Config,
    dense: DenseSlots<C>,
    /// Labels of each dense slot, rendered once (legacy label names only).
    rendered: Box<[Box<str>]>,
    /// `name="` (first label) and `,name="` (the others), when every label
    /// name is legacy-valid, so map children render without per-name checks.
    prefixes: Option<Box<[Box<str>]>>,
    map: Option<ChildMap<C>>,
    /// Identifies the family in the per-thread lookup cache.
    id: u64,
    /// The family's current epoch (see [`cache`]): replaced before any
    /// child is removed, which invalidates every cached child at once.
    epoch: AtomicU64,
    /// The seed of the hashes of label values.
    seed: u64,
    /// At most this many map children; further label sets go to `overflow`.
    max_children: Option<usize>,
    /// Children idle this long are dropped at scrape.
    expire_after: Option<Duration>,
    /// What expiry measures idleness with.
    clock: ExpiryClock,
    overflow: OnceLock<Child<C>>,
    _labels: std::marker::PhantomData<fn(&L)>,
}

/// Bounds on a family's children; see
/// [`Builder::max_children`](crate::Builder::max_children) and
/// [`Builder::expire_after`](crate::Builder::expire_after).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits {
    pub(crate) max_children: Option<usize>,
    pub(crate) expire_after: Option<Duration>,
}

/// The children of one metric. The metric types ([`Counter`](crate::Counter),
/// [`Histogram`](crate::Histogram), ...) dereference to their family, which
/// gives them `labels`, `remove`, `clear` and friends; a family without labels
/// dereferences to its only child.
///
/// ```
/// use promdecl_runtime::{Counter, DynLabels};
/// let c: Counter<DynLabels> =
///     Counter::builder("calls", "Calls.").labels(["op"]).build().unwrap();
/// c.with_label_values(&["read"]).unwrap().inc();
/// assert_eq!(c.len(), 1);
/// c.clear();
/// assert_eq!(c.len(), 0);
/// ```
pub struct Family<L: LabelSet, C: MetricCell> {
    pub(crate) inner: Arc<Inner<L, C>>,
    /// `inner.dense`, held here too so that a dense child (and the only
    /// child of a family without labels) is one load away from the family:
    /// the slot's address is this pointer plus a constant.
    dense: DenseSlots<C>,
}

impl<L: LabelSet, C: MetricCell> Family<L, C> {
    /// The family's only constructor (its fields are never assigned after):
    /// it checks that a label set of `n` closed values has `n` dense slots,
    /// which the unlabelled `Deref` relies on.
    pub(crate) fn from_inner(inner: Arc<Inner<L, C>>) -> Self {
        let dense = inner.dense.clone();
        assert_eq!(dense.len(), dense_len::<L>().unwrap_or(0), "a family has one dense slot per closed label set");
        Family { inner, dense }
    }
}

impl<L: LabelSet, C: MetricCell> Clone for Family<L, C> {
    fn clone(&self) -> Self {
        Family { inner: Arc::clone(&self.inner), dense: self.dense.clone() }
    }
}

impl<L: LabelSet, C: MetricCell> std::fmt::Debug for Family<L, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family").field("name", &self.inner.meta.name).field("kind", &self.inner.meta.kind).finish()
    }
}

/// Runs `on_slice` with the values of `labels` as one slice, if its type
/// gives them so ([`LabelSet::visit_slice`]), else `on_visit` with them
/// value by value: both find the same child.
#[inline]
fn with_set_values<L: LabelSet, R>(
    labels: &L,
    on_slice: impl FnOnce(&[&str]) -> R,
    on_visit: impl FnOnce(&SetValues<'_, L>) -> R,
) -> R {
    match labels.visit_slice(on_slice) {
        Some(out) => out,
        None => on_visit(&SetValues(labels)),
    }
}

fn dense_len<L: LabelSet>() -> Option<usize> {
    L::CARDINALITY.filter(|&n| n <= DENSE_LIMIT)
}

impl<L: LabelSet, C: MetricCell> Family<L, C> {
    pub(crate) fn new(meta: Meta, config: C::Config, limits: Limits) -> Self {
        Self::with_slots(meta, config, limits, None)
    }

    /// A family without labels whose only child is the slot in a `static`,
    /// which it takes as it finds it.
    #[cfg(not(promdecl_loom))]
    pub(crate) fn with_static_slot(
        meta: Meta,
        config: C::Config,
        limits: Limits,
        slot: &'static PaddedSlot<C>,
    ) -> Self {
        Self::with_slots(meta, config, limits, Some(slot))
    }

    fn with_slots(meta: Meta, config: C::Config, limits: Limits, slot: Option<&'static PaddedSlot<C>>) -> Self {
        let (dense, rendered, map): (DenseSlots<C>, Box<[Box<str>]>, _) = match dense_len::<L>() {
            Some(n) => {
                let unlabelled = meta.labels.is_empty();
                let dense = match slot {
                    Some(slot) if n == 1 && unlabelled => DenseSlots::from_static(slot),
                    _ => DenseSlots::new(
                        (0..n)
                            .map(|i| {
                                let cell = C::new_child(&config, &|f| L::visit_dense(i, f));
                                CachePadded::new(Slot { cell, present: AtomicBool::new(unlabelled) })
                            })
                            .collect(),
                    ),
                };
                let rendered = if meta.labels.iter().all(|n| crate::name::is_legacy_label_name(n)) {
                    (0..n).map(|i| render_dense::<L>(&meta.labels, i).into_boxed_str()).collect()
                } else {
                    Box::default()
                };
                (dense, rendered, None)
            }
            None => (DenseSlots::new(Arc::new([])), Box::default(), Some(ChildMap::default())),
        };
        let prefixes = meta.labels.iter().all(|n| crate::name::is_legacy_label_name(n)).then(|| {
            let prefix = |(i, n): (usize, &str)| format!("{}{n}=\"", if i == 0 { "" } else { "," }).into_boxed_str();
            meta.labels.iter().map(|n| &**n).enumerate().map(prefix).collect()
        });
        let inner = Inner {
            meta,
            config,
            dense,
            rendered,
            prefixes,
            map,
            id: cache::new_epoch(),
            epoch: AtomicU64::new(cache::new_epoch()),
            seed: key::seed(),
            max_children: limits.max_children,
            expire_after: limits.expire_after,
            clock: ExpiryClock::new(),
            overflow: OnceLock::new(),
            _labels: std::marker::PhantomData,
        };
        Family::from_inner(Arc::new(inner))
    }

    /// The child for `labels`, looked up now: from now on it is shown in
    /// the exposition, at zero until something is recorded (as the Python
    /// client's `c.labels(...)` does). Nothing stays locked, so several
    /// `labels()` in one expression are fine, and the child borrows only the
    /// family, so it may be kept in a variable.
    ///
    /// A [`DynLabels`] with another number of values than the family has
    /// label names is refused: it goes to the overflow series (every label
    /// [`OVERFLOW_LABEL_VALUE`]), never to a child exposed with labels
    /// missing. [`Family::try_labels`] fails on it instead.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, LabelSet, LabelValue, Registry};
    /// #[derive(Clone, PartialEq, Eq, Hash)]
    /// struct Op { op: &'static str }
    /// impl LabelSet for Op {
    ///     const NAMES: &'static [&'static str] = &["op"];
    ///     fn visit(&self, f: &mut dyn FnMut(&str)) { f(self.op) }
    /// }
    /// let registry = Registry::new();
    /// let c = Counter::builder("ops", "Ops.").label_set::<Op>().register(&registry).unwrap();
    /// c.labels(&Op { op: "get" }).inc();
    /// let _ = c.labels(&Op { op: "put" });
    /// assert_eq!(registry.get_sample_value("ops_total", &[("op", "get")]), Some(1.0));
    /// assert_eq!(registry.get_sample_value("ops_total", &[("op", "put")]), Some(0.0));
    /// ```
    #[inline]
    pub fn labels(&self, labels: &L) -> Labeled<'_, L, C> {
        match dense_len::<L>() {
            Some(_) => {
                let index = labels.dense_index();
                self.dense[index].mark_present();
                Labeled { target: Target::Dense(&self.dense, index) }
            }
            None if labels.value_count().is_some_and(|n| n != self.inner.meta.labels.len()) => {
                Labeled::resolve(&self.inner, &Overflowing(self.inner.meta.labels.len()))
            }
            None => with_set_values(
                labels,
                |values| Labeled::resolve(&self.inner, values),
                |values| Labeled::resolve(&self.inner, values),
            ),
        }
    }

    /// Like [`Family::labels`], but fails instead of using the overflow
    /// series when the family is at its
    /// [`max_children`](crate::Builder::max_children), or when a
    /// [`DynLabels`] has the wrong number of values.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels, Error};
    /// let c = Counter::builder("x", "X.").labels(["user"]).max_children(1).build().unwrap();
    /// c.try_with_label_values(&["alice"]).unwrap().inc();
    /// assert!(matches!(c.try_with_label_values(&["bob"]), Err(Error::CardinalityLimit { .. })));
    /// c.with_label_values(&["bob"]).unwrap().inc(); // counted in the overflow series
    /// let two = DynLabels::new(["carol", "extra"]);
    /// assert!(matches!(c.try_labels(&two), Err(Error::LabelCount { expected: 1, got: 2, .. })));
    /// ```
    pub fn try_labels(&self, labels: &L) -> Result<Labeled<'_, L, C>, Error> {
        let meta = &self.inner.meta;
        if let Some(got) = labels.value_count().filter(|&n| n != meta.labels.len()) {
            return Err(Error::LabelCount {
                metric: meta.name.to_string(),
                expected: meta.labels.len(),
                got,
                names: meta.names_joined(),
            });
        }
        if self.inner.map.is_none() {
            return Ok(self.labels(labels));
        }
        let (child, epoch) =
            with_set_values(labels, |values| self.inner.try_resolve(values), |values| self.inner.try_resolve(values))?;
        Ok(Labeled { target: Target::Map(&self.inner, child, epoch) })
    }

    /// Removes the child for `labels`; returns whether it existed.
    ///
    /// A [`Handle`] to a removed map child keeps working but is no longer
    /// exposed. With a closed label set (dense storage) a child *is* its
    /// label set: removal zeroes and hides it, its handle keeps addressing
    /// it, and the next lookup shows it again with what was recorded since.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a"]).build().unwrap();
    /// c.with_label_values(&["1"]).unwrap().inc();
    /// assert!(c.remove(&DynLabels::new(["1"])));
    /// assert!(!c.remove(&DynLabels::new(["1"])));
    /// ```
    pub fn remove(&self, labels: &L) -> bool {
        match &self.inner.map {
            Some(_) => with_set_values(
                labels,
                |values| self.inner.remove_values(values),
                |values| self.inner.remove_values(values),
            ),
            None => self.inner.clear_slot(labels.dense_index()),
        }
    }

    /// Removes every child whose labels match all the given `(name, value)`
    /// pairs, and returns how many were removed. An unknown label name is an
    /// error.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a", "b"]).build().unwrap();
    /// for (a, b) in [("1", "x"), ("1", "y"), ("2", "x")] {
    ///     c.with_label_values(&[a, b]).unwrap().inc();
    /// }
    /// assert_eq!(c.remove_by_labels(&[("a", "1")]).unwrap(), 2);
    /// assert_eq!(c.len(), 1);
    /// ```
    pub fn remove_by_labels(&self, partial: &[(&str, &str)]) -> Result<usize, Error> {
        let meta = &self.inner.meta;
        let mut wanted: Vec<(usize, &str)> = Vec::with_capacity(partial.len());
        for (name, value) in partial {
            let Some(pos) = meta.labels.iter().position(|n| &**n == *name) else {
                return Err(Error::UnknownLabel {
                    metric: meta.name.to_string(),
                    label: (*name).to_owned(),
                    names: meta.names_joined(),
                });
            };
            wanted.push((pos, value));
        }
        if wanted.is_empty() {
            return Ok(0);
        }
        let matches = |visit: &mut ValueVisitor<'_>| {
            let (mut i, mut ok) = (0, true);
            visit(&mut |v| {
                ok &= wanted.iter().all(|&(pos, want)| pos != i || want == v);
                i += 1;
            });
            ok
        };
        let mut removed = 0;
        match &self.inner.map {
            Some(map) => self.inner.removing(|| {
                map.retain(|child| {
                    let hit = matches(&mut |f| child.key().values().for_each(&mut *f));
                    removed += usize::from(hit);
                    !hit
                })
            }),
            None => {
                for i in 0..self.inner.dense.len() {
                    if matches(&mut |f| L::visit_dense(i, f)) && self.inner.clear_slot(i) {
                        removed += 1;
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Removes every child. A family without labels keeps its only child.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a"]).build().unwrap();
    /// c.with_label_values(&["1"]).unwrap().inc();
    /// c.clear();
    /// assert!(c.is_empty());
    /// ```
    pub fn clear(&self) {
        match &self.inner.map {
            Some(map) => self.inner.removing(|| map.clear()),
            None if self.inner.meta.labels.is_empty() => {}
            None => (0..self.inner.dense.len()).for_each(|i| {
                self.inner.clear_slot(i);
            }),
        }
    }

    /// The number of exposed children.
    ///
    /// ```
    /// let c = promdecl_runtime::Counter::builder("x", "X.").build().unwrap();
    /// assert_eq!(c.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        match &self.inner.map {
            Some(map) => map.len(),
            None => self.inner.dense.iter().filter(|s| s.present.load(Ordering::Relaxed)).count(),
        }
    }

    /// Whether no child is exposed.
    ///
    /// ```
    /// let c = promdecl_runtime::Counter::builder("x", "X.").build().unwrap();
    /// assert!(!c.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The family name (without a counter's `_total`).
    ///
    /// ```
    /// let c = promdecl_runtime::Counter::builder("x_total", "X.").build().unwrap();
    /// assert_eq!(c.name(), "x");
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.meta.name
    }

    /// The label names, in order.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a", "b"]).build().unwrap();
    /// assert_eq!(c.label_names().len(), 2);
    /// ```
    pub fn label_names(&self) -> &[Box<str>] {
        &self.inner.meta.labels
    }
}

impl<C: MetricCell> Family<DynLabels, C> {
    /// The child for label values given in label-name order, looked up
    /// now: from now on it is shown in the exposition, at zero until
    /// something is recorded. It borrows only the family, not the values,
    /// so values made at run time can name a child kept in a variable.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["method", "path"]).build().unwrap();
    /// assert!(c.with_label_values(&["only one"]).is_err());
    /// let (method, path) = (String::from("GET"), String::from("/"));
    /// let child = c.with_label_values(&[method.as_str(), path.as_str()])?;
    /// child.inc();
    /// assert_eq!(c.with_label_values(&["GET", "/"])?.get(), 1.0);
    /// # Ok::<(), promdecl_runtime::Error>(())
    /// ```
    #[inline]
    pub fn with_label_values(&self, values: &[&str]) -> Result<Labeled<'_, DynLabels, C>, Error> {
        self.check_count(values.len())?;
        Ok(Labeled::resolve(&self.inner, values))
    }

    /// The child for label values given by name, in any order; looked up
    /// now, as with [`Family::with_label_values`].
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a", "b"]).build().unwrap();
    /// c.with_labels(&[("b", "2"), ("a", "1")]).unwrap().inc();
    /// assert_eq!(c.with_label_values(&["1", "2"]).unwrap().get(), 1.0);
    /// assert!(c.with_labels(&[("a", "1"), ("c", "3")]).is_err());
    /// ```
    pub fn with_labels(&self, labels: &[(&str, &str)]) -> Result<Labeled<'_, DynLabels, C>, Error> {
        let meta = &self.inner.meta;
        if let Some((name, _)) = labels.iter().find(|(name, _)| !meta.labels.iter().any(|n| &**n == *name)) {
            return Err(Error::UnknownLabel {
                metric: meta.name.to_string(),
                label: (*name).to_owned(),
                names: meta.names_joined(),
            });
        }
        if let Some(missing) = meta.labels.iter().find(|n| !labels.iter().any(|(name, _)| ***n == **name)) {
            return Err(Error::MissingLabel { metric: meta.name.to_string(), label: missing.to_string() });
        }
        Ok(Labeled::resolve(&self.inner, &NamedValues { names: &meta.labels, pairs: labels }))
    }

    /// Like [`Family::with_label_values`], but fails instead of using the
    /// overflow series when the family is full.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, Error};
    /// let c = Counter::builder("x", "X.").labels(["user"]).max_children(1).build().unwrap();
    /// c.try_with_label_values(&["alice"])?.inc();
    /// assert!(matches!(c.try_with_label_values(&["bob"]), Err(Error::CardinalityLimit { .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn try_with_label_values(&self, values: &[&str]) -> Result<Labeled<'_, DynLabels, C>, Error> {
        self.check_count(values.len())?;
        let (child, epoch) = self.inner.try_resolve(values)?;
        Ok(Labeled { target: Target::Map(&self.inner, child, epoch) })
    }

    /// Removes the child with these label values; returns whether it existed.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a"]).build().unwrap();
    /// c.with_label_values(&["1"]).unwrap().inc();
    /// assert!(c.remove_label_values(&["1"]).unwrap());
    /// ```
    pub fn remove_label_values(&self, values: &[&str]) -> Result<bool, Error> {
        self.check_count(values.len())?;
        Ok(self.inner.remove_values(values))
    }

    #[inline]
    fn check_count(&self, got: usize) -> Result<(), Error> {
        let meta = &self.inner.meta;
        if got != meta.labels.len() {
            return Err(self.count_error(got));
        }
        Ok(())
    }

    #[cold]
    fn count_error(&self, got: usize) -> Error {
        let meta = &self.inner.meta;
        Error::LabelCount {
            metric: meta.name.to_string(),
            expected: meta.labels.len(),
            got,
            names: meta.names_joined(),
        }
    }
}

// The only label set of a family without labels is dense.
const _: () = assert!(matches!(<() as LabelSet>::CARDINALITY, Some(1)) && DENSE_LIMIT >= 1);

impl<C: MetricCell> Deref for Family<(), C> {
    type Target = C;
    /// The only child, one load away and without a bounds check: a branch
    /// on a loaded length ahead of the child's atomic operation measurably
    /// slows it (`benches/neutral.rs`, counter inc: 2.38 ns with the check,
    /// 1.87 ns without).
    #[inline]
    fn deref(&self) -> &C {
        // SAFETY: `Family::from_inner`, the only constructor, asserts that
        // `dense` has `dense_len::<()>()` slots, which the const assertion
        // above makes 1; the field is never assigned after, and a
        // `DenseSlots` never changes length.
        unsafe { &self.dense.first_unchecked().cell }
    }
}
