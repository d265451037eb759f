//! A metric family: the children of one metric, one per label set.
//!
//! Label sets of fixed cardinality live in a dense array, indexed without
//! hashing or locking; the others in a sharded concurrent map keyed by the
//! label set itself (never by its hash alone).

pub mod cache;
mod child;
mod key;
#[cfg(all(test, promdecl_loom))]
mod loom_models;
mod map;

use std::ops::Deref;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use self::child::Child;
use self::key::{NamedValues, SetValues, Values};
use self::map::ChildMap;
use crate::encode::{Descriptor, EncodeLabels, EscapingScheme, LabelSink, MetricEncoder};
use crate::label::DynLabels;
use crate::metric::{MetricCell, MetricType};
use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::{Collector, Error, LabelSet};

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

struct Slot<C> {
    cell: C,
    present: AtomicBool,
}

pub(crate) struct Inner<L, C: MetricCell> {
    pub(crate) meta: Meta,
    pub(crate) config: C::Config,
    dense: Arc<[CachePadded<Slot<C>>]>,
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

/// The clock expiry reads: monotonic, so that a step of the wall clock (an
/// NTP correction, a suspended VM resuming) neither expires every child at
/// once nor keeps idle ones forever.
#[derive(Debug)]
enum ExpiryClock {
    Monotonic(crate::clock::Instant),
    #[cfg(test)]
    Manual(crate::clock::ManualClock),
}

#[cfg(test)]
std::thread_local! {
    /// The clock that families built on this thread read for expiry, in
    /// tests (see [`with_expiry_clock`]).
    static TEST_CLOCK: std::cell::RefCell<Option<crate::clock::ManualClock>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f`, in which the families built on this thread measure idleness
/// on `clock` instead of the monotonic clock.
#[cfg(test)]
pub(crate) fn with_expiry_clock<R>(clock: &crate::clock::ManualClock, f: impl FnOnce() -> R) -> R {
    TEST_CLOCK.with(|c| *c.borrow_mut() = Some(clock.clone()));
    let r = f();
    TEST_CLOCK.with(|c| *c.borrow_mut() = None);
    r
}

impl ExpiryClock {
    fn new() -> Self {
        #[cfg(test)]
        if let Some(clock) = TEST_CLOCK.with(|c| c.borrow().clone()) {
            return ExpiryClock::Manual(clock);
        }
        ExpiryClock::Monotonic(crate::clock::now())
    }

    /// Whole seconds since the family was made, plus one: [`Child`] keeps
    /// 0 for "never checked".
    fn seconds(&self) -> u64 {
        let elapsed = match self {
            ExpiryClock::Monotonic(start) => crate::clock::now().saturating_duration_since(*start),
            #[cfg(test)]
            ExpiryClock::Manual(clock) => clock.elapsed(),
        };
        elapsed.as_secs().saturating_add(1)
    }
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
}

impl<L: LabelSet, C: MetricCell> Clone for Family<L, C> {
    fn clone(&self) -> Self {
        Family { inner: Arc::clone(&self.inner) }
    }
}

impl<L: LabelSet, C: MetricCell> std::fmt::Debug for Family<L, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family").field("name", &self.inner.meta.name).field("kind", &self.inner.meta.kind).finish()
    }
}

fn dense_len<L: LabelSet>() -> Option<usize> {
    L::CARDINALITY.filter(|&n| n <= DENSE_LIMIT)
}

impl<L: LabelSet, C: MetricCell> Family<L, C> {
    pub(crate) fn new(meta: Meta, config: C::Config, limits: Limits) -> Self {
        let (dense, rendered, map): (Arc<[_]>, Box<[Box<str>]>, _) = match dense_len::<L>() {
            Some(n) => {
                let unlabelled = meta.labels.is_empty();
                let dense = (0..n)
                    .map(|i| {
                        let cell = C::new_child(&config, &|f| L::visit_dense(i, f));
                        CachePadded::new(Slot { cell, present: AtomicBool::new(unlabelled) })
                    })
                    .collect();
                let rendered = if meta.labels.iter().all(|n| crate::name::is_legacy_label_name(n)) {
                    (0..n).map(|i| render_dense::<L>(&meta.labels, i).into_boxed_str()).collect()
                } else {
                    Box::default()
                };
                (dense, rendered, None)
            }
            None => (Arc::new([]), Box::default(), Some(ChildMap::default())),
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
        Family { inner: Arc::new(inner) }
    }

    /// The child for `labels`, resolved when it is used. Nothing is locked
    /// between calls, so several `labels()` in one expression are fine.
    ///
    /// A [`DynLabels`] with another number of values than the family has
    /// label names is refused: it goes to the overflow series (every label
    /// [`OVERFLOW_LABEL_VALUE`]), never to a child exposed with labels
    /// missing. [`Family::try_labels`] fails on it instead.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, LabelSet, LabelValue};
    /// #[derive(Clone, PartialEq, Eq, Hash)]
    /// struct Op { op: &'static str }
    /// impl LabelSet for Op {
    ///     const NAMES: &'static [&'static str] = &["op"];
    ///     fn visit(&self, f: &mut dyn FnMut(&str)) { f(self.op) }
    /// }
    /// let c = Counter::builder("ops", "Ops.").label_set::<Op>().build().unwrap();
    /// c.labels(&Op { op: "get" }).inc();
    /// assert_eq!(c.labels(&Op { op: "get" }).get() + c.labels(&Op { op: "put" }).get(), 1.0);
    /// ```
    #[inline]
    pub fn labels<'a>(&'a self, labels: &'a L) -> Labeled<'a, L, C> {
        match dense_len::<L>() {
            Some(_) => {
                let index = labels.dense_index();
                self.inner.mark_present(index);
                Labeled { target: Target::Dense(&self.inner, index) }
            }
            None if labels.value_count().is_some_and(|n| n != self.inner.meta.labels.len()) => {
                Labeled { target: Target::Refused(&self.inner) }
            }
            None => Labeled { target: Target::Key(&self.inner, labels) },
        }
    }

    /// Like [`Family::labels`], but creates the child now and fails instead
    /// of using the overflow series when the family is at its
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
    pub fn try_labels<'a>(&'a self, labels: &'a L) -> Result<Labeled<'a, L, C>, Error> {
        let meta = &self.inner.meta;
        if let Some(got) = labels.value_count().filter(|&n| n != meta.labels.len()) {
            return Err(Error::LabelCount {
                metric: meta.name.to_string(),
                expected: meta.labels.len(),
                got,
                names: meta.names_joined(),
            });
        }
        if self.inner.map.is_some() {
            self.inner.try_insert(&SetValues(labels))?;
        }
        Ok(self.labels(labels))
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
            Some(_) => self.inner.remove_values(&SetValues(labels)),
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
    /// The child for label values given in label-name order.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a", "b"]).build().unwrap();
    /// assert!(c.with_label_values(&["only one"]).is_err());
    /// c.with_label_values(&["1", "2"]).unwrap().inc();
    /// ```
    #[inline]
    pub fn with_label_values<'a>(&'a self, values: &'a [&'a str]) -> Result<Labeled<'a, DynLabels, C>, Error> {
        self.check_count(values.len())?;
        Ok(Labeled { target: Target::Values(&self.inner, values) })
    }

    /// The child for label values given by name, in any order.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels};
    /// let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a", "b"]).build().unwrap();
    /// c.with_labels(&[("b", "2"), ("a", "1")]).unwrap().inc();
    /// assert_eq!(c.with_label_values(&["1", "2"]).unwrap().get(), 1.0);
    /// assert!(c.with_labels(&[("a", "1"), ("c", "3")]).is_err());
    /// ```
    pub fn with_labels<'a>(&'a self, labels: &'a [(&'a str, &'a str)]) -> Result<Labeled<'a, DynLabels, C>, Error> {
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
        Ok(Labeled { target: Target::Named(&self.inner, labels) })
    }

    /// Like [`Family::with_label_values`], but creates the child now and fails
    /// instead of using the overflow series when the family is full.
    pub fn try_with_label_values<'a>(&'a self, values: &'a [&'a str]) -> Result<Labeled<'a, DynLabels, C>, Error> {
        self.check_count(values.len())?;
        self.inner.try_insert(values)?;
        Ok(Labeled { target: Target::Values(&self.inner, values) })
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

impl<C: MetricCell> Deref for Family<(), C> {
    type Target = C;
    #[inline]
    fn deref(&self) -> &C {
        &self.inner.dense[0].cell
    }
}

impl<L: LabelSet, C: MetricCell> Inner<L, C> {
    #[inline]
    fn mark_present(&self, index: usize) {
        let slot = &self.dense[index];
        if !slot.present.load(Ordering::Relaxed) {
            slot.present.store(true, Ordering::Relaxed);
        }
    }

    fn map(&self) -> &ChildMap<C> {
        self.map.as_ref().expect("open label sets use the map")
    }

    /// Resets a dense child and hides it until its labels are used again;
    /// whether it was shown. The only child of a family without labels is
    /// reset but stays shown: it is used through `Deref`, which never marks
    /// it present again.
    fn clear_slot(&self, index: usize) -> bool {
        let slot = &self.dense[index];
        let was = if self.meta.labels.is_empty() {
            slot.present.load(Ordering::Relaxed)
        } else {
            slot.present.swap(false, Ordering::Relaxed)
        };
        slot.cell.reset(&self.config);
        was
    }

    /// Takes a new epoch, so no thread uses a cached child any more: done
    /// before every removal (and after those of [`Inner::removing`]).
    fn invalidate(&self) {
        self.epoch.store(cache::new_epoch(), Ordering::SeqCst);
    }

    /// Runs `f` on the map child holding `values`, created if needed (or the
    /// overflow child if the family is full).
    ///
    /// The per-thread cache answers first. On a miss, the child is looked up
    /// under its shard's read lock and, unless this thread's working set is
    /// too large for its cache, remembered there. The epoch is read before
    /// the lookup, so a child removed meanwhile is remembered under an epoch
    /// that is already over.
    #[inline(always)]
    fn with_values<V: Values + ?Sized, R>(&self, values: &V, f: impl FnOnce(&C) -> R) -> R {
        let hash = values.hash(self.seed);
        let f = match cache::with_cached(self.id, &self.epoch, hash, values, f) {
            Ok(r) => return r,
            Err(f) => f,
        };
        self.with_values_slow(hash, values, f)
    }

    #[inline(never)]
    fn with_values_slow<V: Values + ?Sized, R>(&self, hash: u64, values: &V, f: impl FnOnce(&C) -> R) -> R {
        if values.is_overflow() {
            return f(self.overflow().touch());
        }
        let map = self.map();
        loop {
            let epoch = self.epoch.load(Ordering::SeqCst);
            let Some(child) = map.get_or_insert(hash, values, |len| self.has_room(len), || self.new_cell(values))
            else {
                return f(self.overflow().touch());
            };
            let cell = child.touch();
            // As in the cache: an expiry check that started meanwhile may
            // have missed the mark; look again (the child may be gone).
            if self.epoch.load(Ordering::SeqCst) == epoch {
                cache::insert(self.id, epoch, hash, &child);
                return f(cell);
            }
        }
    }

    /// A new cell for the child holding `values`.
    fn new_cell<V: Values + ?Sized>(&self, values: &V) -> C {
        C::new_child(&self.config, &|f| values.each(f))
    }

    fn has_room(&self, len: usize) -> bool {
        self.max_children.is_none_or(|max| len < max)
    }

    /// The child holding `values`, created if the family has room, else the
    /// overflow child.
    fn get_or_insert<V: Values + ?Sized>(&self, values: &V) -> Child<C> {
        self.try_insert(values).unwrap_or_else(|_| self.overflow().clone())
    }

    /// The child holding `values`, created if the family has room. The bound
    /// is checked against the current size, so threads inserting at the same
    /// moment may pass it by one each.
    fn try_insert<V: Values + ?Sized>(&self, values: &V) -> Result<Child<C>, Error> {
        if values.is_overflow() {
            // One series with these labels, whoever sent them first.
            return Ok(self.overflow().clone());
        }
        let hash = values.hash(self.seed);
        self.map().get_or_insert(hash, values, |len| self.has_room(len), || self.new_cell(values)).ok_or_else(|| {
            Error::CardinalityLimit { metric: self.meta.name.to_string(), limit: self.max_children.unwrap_or_default() }
        })
    }

    /// The child holding `values` (or the overflow child), pinned for a
    /// handle. An expiry check may remove the child between the lookup and
    /// the pin; the child is then looked up again, so that a handle never
    /// holds a child the family no longer shows.
    fn pinned<V: Values + ?Sized>(&self, values: &V) -> Child<C> {
        loop {
            let child = self.get_or_insert(values);
            child.pin();
            child.touch();
            // Expiry removes a child only under its shard's write lock, and
            // only if it is not pinned: once the pin is in, a child still in
            // the map stays there.
            let overflow = self.overflow.get().is_some_and(|o| o.same(&child));
            if overflow || self.map().holds(values.hash(self.seed), values, &child) {
                return child;
            }
            child.unpin();
        }
    }

    fn remove_values<V: Values + ?Sized>(&self, values: &V) -> bool {
        self.removing(|| self.map().remove(values.hash(self.seed), values))
    }

    /// Runs `remove`, which takes children out of the map, between two new
    /// epochs: the first stops cached children from being used while it
    /// runs, the second forgets a child that a lookup found in the map and
    /// cached under the first, just before `remove` took it out.
    fn removing<R>(&self, remove: impl FnOnce() -> R) -> R {
        self.invalidate();
        let r = remove();
        self.invalidate();
        r
    }

    fn overflow(&self) -> &Child<C> {
        self.overflow.get_or_init(|| {
            let names: Vec<&str> = vec![OVERFLOW_LABEL_VALUE; self.meta.labels.len()];
            Child::new(self.new_cell(&names[..]), &names[..])
        })
    }
}

enum Target<'a, L: LabelSet, C: MetricCell> {
    Dense(&'a Inner<L, C>, usize),
    Key(&'a Inner<L, C>, &'a L),
    Values(&'a Inner<L, C>, &'a [&'a str]),
    Named(&'a Inner<L, C>, &'a [(&'a str, &'a str)]),
    /// A label set the family refuses (a [`DynLabels`] of the wrong length):
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
/// Returned by [`Family::labels`]; the metric types add their operations
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
#[must_use = "a labelled child does nothing until an operation such as inc() or observe() runs on it"]
pub struct Labeled<'a, L: LabelSet, C: MetricCell> {
    target: Target<'a, L, C>,
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

/// The labels of a dense slot: prerendered text plus the names and values for
/// sinks that want pairs.
struct DenseLabels<'a, L> {
    names: &'a [Box<str>],
    index: usize,
    rendered: Option<&'a str>,
    _set: std::marker::PhantomData<L>,
}

impl<L: LabelSet> EncodeLabels for DenseLabels<'_, L> {
    fn encode(&self, sink: &mut dyn LabelSink) {
        let mut names = self.names.iter();
        L::visit_dense(self.index, &mut |v| {
            if let Some(n) = names.next() {
                sink.label(n, v)
            }
        });
    }
    fn prerendered(&self) -> Option<&str> {
        self.rendered
    }
}

/// The labels of a map child.
struct ChildLabels<'a> {
    names: &'a [Box<str>],
    prefixes: Option<&'a [Box<str>]>,
    key: key::KeyRef<'a>,
}

impl EncodeLabels for ChildLabels<'_> {
    fn encode(&self, sink: &mut dyn LabelSink) {
        self.names.iter().zip(self.key.values()).for_each(|(n, v)| sink.label(n, v));
    }

    fn render(&self, out: &mut Vec<u8>) -> bool {
        let Some(prefixes) = self.prefixes else { return false };
        let plain = self.key.plain();
        for (p, v) in prefixes.iter().zip(self.key.values()) {
            crate::encode::put(out, p.as_bytes());
            if plain {
                crate::encode::put(out, v.as_bytes());
            } else {
                crate::encode::write_label_value(out, v);
            }
            out.push(b'"');
        }
        true
    }
}

fn render_dense<L: LabelSet>(names: &[Box<str>], index: usize) -> String {
    let mut buf = Vec::new();
    DenseLabels::<L> { names, index, rendered: None, _set: std::marker::PhantomData }
        .encode(&mut crate::encode::LabelWriter { buf: &mut buf, scheme: EscapingScheme::Underscores });
    String::from_utf8(buf).expect("label text is UTF-8")
}

impl<L: LabelSet, C: MetricCell> Collector for Family<L, C> {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        let inner = &*self.inner;
        enc.family(&inner.meta.descriptor());
        let names = &inner.meta.labels[..];
        let prefixes = inner.prefixes.as_deref();
        match &inner.map {
            None => {
                for (index, slot) in inner.dense.iter().enumerate() {
                    if slot.present.load(Ordering::Relaxed) {
                        let rendered = inner.rendered.get(index).map(|r| &**r);
                        let labels = DenseLabels::<L> { names, index, rendered, _set: std::marker::PhantomData };
                        slot.cell.collect(&inner.config, &labels, enc);
                    }
                }
            }
            Some(map) => {
                let now = inner.clock.seconds();
                let mut expired = Vec::new();
                let mut visible = |child: &Child<C>| match inner.expire_after {
                    Some(expire) if child.expired(now, expire) => {
                        expired.push(child.clone());
                        false
                    }
                    _ => true,
                };
                if C::RUNS_USER_CODE {
                    // Callbacks may touch this family: call them with no shard locked.
                    let mut children = Vec::with_capacity(map.len());
                    map.for_each(|child| {
                        if visible(child) {
                            children.push(child.clone());
                        }
                    });
                    for child in &children {
                        child.cell().collect(&inner.config, &ChildLabels { names, prefixes, key: child.key() }, enc);
                    }
                } else {
                    map.for_each(|child| {
                        if visible(child) {
                            child.cell().collect(
                                &inner.config,
                                &ChildLabels { names, prefixes, key: child.key() },
                                enc,
                            );
                        }
                    });
                }
                if !expired.is_empty() {
                    // Between two new epochs, as every removal: the first
                    // makes a lookup that touches one of these children from
                    // now on either be seen by the checks below or see a new
                    // epoch; the second forgets a child that a lookup found
                    // in the map, just before its removal, and cached under
                    // the first.
                    inner.removing(|| {
                        for child in expired {
                            // Unless it was used again, or a handle took it,
                            // since the check.
                            map.remove_if(&child, |c| !c.touched() && !c.pinned());
                        }
                    });
                }
                if let Some(overflow) = inner.overflow.get() {
                    overflow.cell().collect(&inner.config, &ChildLabels { names, prefixes, key: overflow.key() }, enc);
                }
            }
        }
    }

    fn describe(&self) -> Vec<crate::registry::FamilyDesc> {
        vec![crate::registry::FamilyDesc::new(&self.inner.meta.name, self.inner.meta.kind)]
    }
}

#[cfg(all(test, not(promdecl_loom)))]
mod tests {
    use std::time::Duration;

    use super::with_expiry_clock;
    use crate::clock::ManualClock;
    use crate::{Counter, DynLabels, Registry};

    /// Expiry measures idleness on the family's monotonic clock: here a
    /// manual one, which moves a minute while the wall clock does not.
    /// Reading the wall clock instead, the idle child would never expire in
    /// this test (and any step of the wall clock, such as an NTP
    /// correction, would expire every idle child at once or none for as
    /// long as the step).
    #[test]
    fn idle_children_expire_by_the_monotonic_clock() {
        let clock = ManualClock::new();
        let registry = Registry::new();
        let c: Counter<DynLabels> = with_expiry_clock(&clock, || {
            Counter::builder("sessions", "S.")
                .labels(["session"])
                .expire_after(Duration::from_secs(60))
                .register(&registry)
                .unwrap()
        });
        c.with_label_values(&["idle"]).unwrap().inc();
        let lookup = || registry.get_sample_value("sessions_total", &[("session", "idle")]);
        assert_eq!(lookup(), Some(1.0), "used since the last scrape: idle from now on");
        clock.advance(Duration::from_secs(59));
        assert_eq!(lookup(), Some(1.0), "idle for 59 s of 60");
        clock.advance(Duration::from_secs(1));
        assert_eq!(lookup(), None, "idle for 60 s: expired");
        assert_eq!(c.len(), 0);
    }
}
