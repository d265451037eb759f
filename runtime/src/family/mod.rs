//! A metric family: the children of one metric, one per label set.
//!
//! Label sets of fixed cardinality live in a dense array, indexed without
//! hashing or locking; the others in a sharded concurrent map keyed by the
//! label set itself (never by its hash alone).

use std::any::Any;
use std::hash::BuildHasher;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_utils::CachePadded;
use dashmap::DashMap;

use crate::encode::{Descriptor, EncodeLabels, EscapingScheme, LabelSink, MetricEncoder};
use crate::label::{DynLabels, ValuesHash};
use crate::metric::{MetricCell, MetricType};
use crate::{Collector, Error, LabelSet};

/// Label sets with more combinations than this go to the map even if closed,
/// so a family never preallocates more than a few hundred KiB.
const DENSE_LIMIT: usize = 1024;

type Map<L, C> = DashMap<L, Arc<MapChild<C>>, foldhash::fast::RandomState>;

/// Value of every label of the series that takes what a full family refuses.
pub const OVERFLOW_LABEL_VALUE: &str = "__overflow__";

/// A child stored in the map, with what expiry needs to know about it.
pub struct MapChild<C> {
    cell: C,
    /// [`TOUCHED`], set by every lookup and cleared by every scrape, and in
    /// the other bits when a scrape first found the child untouched (seconds
    /// since the epoch), or 0.
    idle: AtomicU64,
}

const TOUCHED: u64 = 1 << 63;

impl<C> MapChild<C> {
    fn new(cell: C) -> Self {
        MapChild { cell, idle: AtomicU64::new(TOUCHED) }
    }

    /// Marks the child used. Costs a load unless a scrape cleared the mark.
    #[inline]
    fn touch(&self) -> &C {
        if self.idle.load(Ordering::Relaxed) & TOUCHED == 0 {
            self.idle.store(TOUCHED, Ordering::Relaxed);
        }
        &self.cell
    }

    fn touched(&self) -> bool {
        self.idle.load(Ordering::Relaxed) & TOUCHED != 0
    }

    /// Whether the child has been idle for `expire` as of `now`; records
    /// the start of its idleness.
    fn expired(&self, now: u64, expire: Duration) -> bool {
        let idle = self.idle.load(Ordering::Relaxed);
        if idle & TOUCHED != 0 || idle == 0 {
            // Used since the last scrape (or never checked): idle from now.
            self.idle.store(now.clamp(1, TOUCHED - 1), Ordering::Relaxed);
            return false;
        }
        now.saturating_sub(idle) >= expire.as_secs().max(1)
    }
}

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
    map: Option<Map<L, C>>,
    /// At most this many map children; further label sets go to `overflow`.
    max_children: Option<usize>,
    /// Children idle this long are dropped at scrape.
    expire_after: Option<Duration>,
    overflow: OnceLock<Arc<MapChild<C>>>,
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
                    .map(|_| CachePadded::new(Slot { cell: C::new(&config), present: AtomicBool::new(unlabelled) }))
                    .collect();
                let rendered = if meta.labels.iter().all(|n| crate::name::is_legacy_label_name(n)) {
                    (0..n).map(|i| render_dense::<L>(&meta.labels, i).into_boxed_str()).collect()
                } else {
                    Box::default()
                };
                (dense, rendered, None)
            }
            None => (Arc::new([]), Box::default(), Some(Map::default())),
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
            max_children: limits.max_children,
            expire_after: limits.expire_after,
            overflow: OnceLock::new(),
        };
        Family { inner: Arc::new(inner) }
    }

    /// The child for `labels`, resolved when it is used. Nothing is locked
    /// between calls, so several `labels()` in one expression are fine.
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
            None => Labeled { target: Target::Key(&self.inner, labels) },
        }
    }

    /// Like [`Family::labels`], but creates the child now and fails instead
    /// of using the overflow series when the family is at its
    /// [`max_children`](crate::Builder::max_children).
    ///
    /// ```
    /// use promdecl_runtime::{Counter, DynLabels, Error};
    /// let c = Counter::builder("x", "X.").labels(["user"]).max_children(1).build().unwrap();
    /// c.try_with_label_values(&["alice"]).unwrap().inc();
    /// assert!(matches!(c.try_with_label_values(&["bob"]), Err(Error::CardinalityLimit { .. })));
    /// c.with_label_values(&["bob"]).unwrap().inc(); // counted in the overflow series
    /// ```
    pub fn try_labels<'a>(&'a self, labels: &'a L) -> Result<Labeled<'a, L, C>, Error> {
        if let Some(map) = &self.inner.map {
            self.inner.try_insert(map, labels)?;
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
            Some(map) => map.remove(labels).is_some(),
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
            Some(map) => map.retain(|k, _| {
                let hit = matches(&mut |f| k.visit(f));
                removed += usize::from(hit);
                !hit
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
            Some(map) => map.clear(),
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
    pub fn with_labels(&self, labels: &[(&str, &str)]) -> Result<Labeled<'_, DynLabels, C>, Error> {
        let meta = &self.inner.meta;
        let mut values: Vec<Option<&str>> = vec![None; meta.labels.len()];
        for (name, value) in labels {
            match meta.labels.iter().position(|n| &**n == *name) {
                Some(pos) => values[pos] = Some(value),
                None => {
                    return Err(Error::UnknownLabel {
                        metric: meta.name.to_string(),
                        label: (*name).to_owned(),
                        names: meta.names_joined(),
                    })
                }
            }
        }
        let mut owned = Vec::with_capacity(values.len());
        for (pos, value) in values.into_iter().enumerate() {
            let Some(v) = value else {
                return Err(Error::MissingLabel { metric: meta.name.to_string(), label: meta.labels[pos].to_string() });
            };
            owned.push(v);
        }
        Ok(Labeled { target: Target::Owned(&self.inner, DynLabels::new(owned)) })
    }

    /// Like [`Family::with_label_values`], but creates the child now and fails
    /// instead of using the overflow series when the family is full.
    pub fn try_with_label_values<'a>(&'a self, values: &'a [&'a str]) -> Result<Labeled<'a, DynLabels, C>, Error> {
        self.check_count(values.len())?;
        let inner = &self.inner;
        if inner.map().get(&DynLabels::new(values)).is_none() {
            inner.try_insert(inner.map(), &DynLabels::new(values))?;
        }
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
        Ok(self.inner.dyn_inner().remove_values(values))
    }

    fn check_count(&self, got: usize) -> Result<(), Error> {
        let meta = &self.inner.meta;
        if got != meta.labels.len() {
            return Err(Error::LabelCount {
                metric: meta.name.to_string(),
                expected: meta.labels.len(),
                got,
                names: meta.names_joined(),
            });
        }
        Ok(())
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

    fn map(&self) -> &Map<L, C> {
        self.map.as_ref().expect("open label sets use the map")
    }

    fn dyn_inner(&self) -> &Inner<DynLabels, C> {
        (self as &dyn Any)
            .downcast_ref::<Inner<DynLabels, C>>()
            .expect("label values by position exist only for DynLabels families")
    }

    fn clear_slot(&self, index: usize) -> bool {
        let slot = &self.dense[index];
        let was = slot.present.swap(false, Ordering::Relaxed);
        slot.cell.reset(&self.config);
        was
    }

    #[inline]
    fn with_child<R>(&self, labels: &L, f: impl FnOnce(&C) -> R) -> R {
        let map = self.map();
        if let Some(c) = map.get(labels) {
            return f(c.touch());
        }
        f(self.get_or_insert(map, labels).touch())
    }

    /// The child for `labels`, created if the family has room, else the
    /// overflow child.
    fn get_or_insert(&self, map: &Map<L, C>, labels: &L) -> Arc<MapChild<C>> {
        self.try_insert(map, labels).unwrap_or_else(|_| self.overflow())
    }

    /// The child for `labels`, created if the family has room. The bound is
    /// checked against the current size, so threads inserting at the same
    /// moment may pass it by one each.
    fn try_insert(&self, map: &Map<L, C>, labels: &L) -> Result<Arc<MapChild<C>>, Error> {
        if let Some(max) = self.max_children {
            if map.len() >= max && !map.contains_key(labels) {
                return Err(Error::CardinalityLimit { metric: self.meta.name.to_string(), limit: max });
            }
        }
        let entry = map.entry(labels.clone()).or_insert_with(|| Arc::new(MapChild::new(C::new(&self.config))));
        Ok(Arc::clone(entry.value()))
    }

    fn overflow(&self) -> Arc<MapChild<C>> {
        Arc::clone(self.overflow.get_or_init(|| Arc::new(MapChild::new(C::new(&self.config)))))
    }
}

impl<C: MetricCell> Inner<DynLabels, C> {
    /// Runs `f` on the child with label `values`, found without building a
    /// key: hash the values, lock their shard, compare in place.
    #[inline]
    fn with_values<R>(&self, values: &[&str], f: impl FnOnce(&C) -> R) -> R {
        let map = self.map();
        let hash = map.hasher().hash_one(ValuesHash(values));
        let shard = map.shards()[map.determine_shard(hash as usize)].read();
        if let Some((_, cell)) = shard.get(hash, |(k, _)| k.equals(values)) {
            return f(cell.get().touch());
        }
        drop(shard);
        f(self.get_or_insert(map, &DynLabels::new(values)).touch())
    }

    fn remove_values(&self, values: &[&str]) -> bool {
        let map = self.map();
        let hash = map.hasher().hash_one(ValuesHash(values));
        let shard = map.shards()[map.determine_shard(hash as usize)].read();
        let key = shard.get(hash, |(k, _)| k.equals(values)).map(|(k, _)| k.clone());
        drop(shard);
        key.is_some_and(|k| map.remove(&k).is_some())
    }
}

enum Target<'a, L: LabelSet, C: MetricCell> {
    Dense(&'a Inner<L, C>, usize),
    Key(&'a Inner<L, C>, &'a L),
    Owned(&'a Inner<L, C>, L),
    Values(&'a Inner<L, C>, &'a [&'a str]),
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
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&C) -> R) -> R {
        match &self.target {
            Target::Dense(inner, index) => f(&inner.dense[*index].cell),
            Target::Key(inner, labels) => inner.with_child(labels, f),
            Target::Owned(inner, labels) => inner.with_child(labels, f),
            Target::Values(inner, values) => inner.dyn_inner().with_values(values, f),
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
            Target::Key(inner, labels) => HandleRepr::Shared(inner.get_or_insert(inner.map(), labels)),
            Target::Owned(inner, labels) => HandleRepr::Shared(inner.get_or_insert(inner.map(), labels)),
            Target::Values(inner, values) => {
                let inner = inner.dyn_inner();
                HandleRepr::Shared(inner.get_or_insert(inner.map(), &DynLabels::new(*values)))
            }
        };
        Handle { repr }
    }
}

enum HandleRepr<C> {
    Dense(Arc<[CachePadded<Slot<C>>]>, usize),
    Shared(Arc<MapChild<C>>),
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
            HandleRepr::Shared(c) => HandleRepr::Shared(Arc::clone(c)),
        };
        Handle { repr }
    }
}

impl<C> Deref for Handle<C> {
    type Target = C;
    #[inline]
    fn deref(&self) -> &C {
        match &self.repr {
            HandleRepr::Dense(d, i) => &d[*i].cell,
            HandleRepr::Shared(c) => &c.cell,
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
struct ChildLabels<'a, L> {
    names: &'a [Box<str>],
    prefixes: Option<&'a [Box<str>]>,
    set: &'a L,
}

impl<L: LabelSet> EncodeLabels for ChildLabels<'_, L> {
    fn encode(&self, sink: &mut dyn LabelSink) {
        let mut names = self.names.iter();
        self.set.visit(&mut |v| {
            if let Some(n) = names.next() {
                sink.label(n, v)
            }
        });
    }

    fn render(&self, out: &mut Vec<u8>) -> bool {
        let Some(prefixes) = self.prefixes else { return false };
        let mut prefixes = prefixes.iter();
        self.set.visit(&mut |v| {
            if let Some(p) = prefixes.next() {
                out.extend_from_slice(p.as_bytes());
                crate::encode::write_label_value(out, v);
                out.push(b'"');
            }
        });
        true
    }
}

/// The labels of the overflow series: every label is `__overflow__`.
struct OverflowLabels<'a>(&'a [Box<str>]);

impl EncodeLabels for OverflowLabels<'_> {
    fn encode(&self, sink: &mut dyn LabelSink) {
        self.0.iter().for_each(|name| sink.label(name, OVERFLOW_LABEL_VALUE));
    }
}

/// Calls `f` with every child of `map`, locking each shard once.
fn for_each_child<L: LabelSet, C>(map: &Map<L, C>, mut f: impl FnMut(&L, &Arc<MapChild<C>>)) {
    for shard in map.shards() {
        let table = shard.read();
        // SAFETY: the read guard keeps the table alive and unmodified for the
        // whole loop, and `iter` yields only buckets holding initialized
        // elements of that table.
        unsafe {
            for bucket in table.iter() {
                let (key, value) = bucket.as_ref();
                f(key, value.get());
            }
        }
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
                let now = crate::metric::unix_now() as u64;
                let mut expired = Vec::new();
                let mut visible = |set: &L, child: &MapChild<C>| match inner.expire_after {
                    Some(expire) if child.expired(now, expire) => {
                        expired.push(set.clone());
                        false
                    }
                    _ => true,
                };
                if C::RUNS_USER_CODE {
                    // Callbacks may touch this family: call them with no shard locked.
                    let mut children = Vec::with_capacity(map.len());
                    for_each_child(map, |set, child| {
                        if visible(set, child) {
                            children.push((set.clone(), Arc::clone(child)));
                        }
                    });
                    for (set, child) in &children {
                        child.cell.collect(&inner.config, &ChildLabels { names, prefixes, set }, enc);
                    }
                } else {
                    for_each_child(map, |set, child| {
                        if visible(set, child) {
                            child.cell.collect(&inner.config, &ChildLabels { names, prefixes, set }, enc);
                        }
                    });
                }
                for set in expired {
                    // Unless it was used again since the check.
                    map.remove_if(&set, |_, child| !child.touched());
                }
                if let Some(overflow) = inner.overflow.get() {
                    overflow.cell.collect(&inner.config, &OverflowLabels(names), enc);
                }
            }
        }
    }

    fn describe(&self) -> Vec<crate::registry::FamilyDesc> {
        vec![crate::registry::FamilyDesc::new(&self.inner.meta.name, self.inner.meta.kind)]
    }
}
