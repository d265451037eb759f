//! The metric types and what they share: options, builder, cells.

mod ckms;
mod counter;
#[cfg(not(promdecl_loom))]
mod declared;
mod enumeration;
mod exemplar;
mod gauge;
mod guard;
mod histogram;
mod info;
mod native;
mod quantile_window;
mod quantiles;
mod sharded;
mod summary;
mod thread_shards;

pub use counter::{Counter, CounterCell};
#[cfg(not(promdecl_loom))]
pub use declared::{Declared, HasStaticCell};
pub use enumeration::{Enum, EnumCell};
pub use exemplar::{ExemplarLabels, MAX_EXEMPLAR_CHARS};
pub use gauge::{Gauge, GaugeCell};
pub use guard::{
    ExceptionGuard, ExemplarTimer, InProgressGuard, Increment, Observe, ObserveWithExemplar, Timer, Track,
};
pub use histogram::{
    check_buckets, exponential_buckets, linear_buckets, Histogram, HistogramCell, HistogramConfig, NativeOpts,
    DEFAULT_BUCKETS,
};
pub use info::{Info, InfoCell};
pub use native::{
    native_bucket_upper_bound, native_schema, DEFAULT_NATIVE_ZERO_THRESHOLD, NATIVE_SCHEMA_MAX, NATIVE_SCHEMA_MIN,
};
pub use quantiles::{check_quantiles, QuantileError, QuantileOpts, DEFAULT_AGE_BUCKETS, DEFAULT_MAX_AGE};
pub use sharded::{ShardedCounter, ShardedCounterCell};
pub use summary::{Summary, SummaryCell, SummaryConfig};

use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::collect::Collector;
pub use crate::collect::{ChildValues, MetricCell, MetricType};
pub use crate::encode::{created_series, set_created_series};
use crate::family::{Family, Meta};
use crate::registry::{CollectorId, Registry};
use crate::{DynLabels, Error, LabelSet};

/// The options every metric is built from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Opts {
    /// The metric name, without namespace and subsystem.
    pub name: String,
    /// The help text.
    pub help: String,
    /// Prefix joined with `_`.
    pub namespace: String,
    /// Second prefix joined with `_`.
    pub subsystem: String,
    /// Unit, appended to the name when missing.
    pub unit: String,
    /// Label names for [`DynLabels`] metrics.
    pub label_names: Vec<String>,
    /// Histogram bucket upper bounds.
    pub buckets: Option<Vec<f64>>,
    /// Histogram native buckets.
    pub native: NativeOpts,
    /// Enum states.
    pub states: Vec<String>,
    /// At most this many children (label sets); see [`Builder::max_children`].
    pub max_children: Option<usize>,
    /// Children idle this long are dropped; see [`Builder::expire_after`].
    pub expire_after: Option<std::time::Duration>,
    /// Summary quantile objectives and their window; see
    /// [`Builder::quantiles`].
    pub quantiles: QuantileOpts,
}

impl Opts {
    /// Options with a name and help text.
    ///
    /// ```
    /// let o = promdecl_runtime::Opts::new("requests", "Requests.");
    /// assert_eq!(o.name, "requests");
    /// ```
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Self {
        Opts { name: name.into(), help: help.into(), ..Opts::default() }
    }

    /// Builds the family: composes and validates the name and label names.
    pub(crate) fn family<L: LabelSet, C: MetricCell>(&self, config: C::Config) -> Result<Family<L, C>, Error> {
        let (meta, limits) = self.meta::<L, C>()?;
        Ok(Family::new(meta, config, limits))
    }

    /// The family's description and bounds, validated.
    pub(crate) fn meta<L: LabelSet, C: MetricCell>(&self) -> Result<(Meta, crate::family::Limits), Error> {
        let name = crate::name::full_name(C::TYPE, &self.namespace, &self.subsystem, &self.name, &self.unit)?;
        let labels: Vec<Box<str>> = if !L::NAMES.is_empty() || self.label_names.is_empty() {
            if !self.label_names.is_empty() {
                return Err(Error::InvalidOption {
                    metric: name,
                    reason: "label names come from the label set type; use DynLabels for names chosen at run time",
                });
            }
            L::NAMES.iter().map(|&n| n.into()).collect()
        } else {
            self.label_names.iter().map(|n| n.as_str().into()).collect()
        };
        for (i, label) in labels.iter().enumerate() {
            crate::name::validate_label_name(C::TYPE, label)?;
            if labels[..i].contains(label) {
                return Err(Error::InvalidLabelName { name: label.to_string(), reason: "label names must be unique" });
            }
        }
        let meta = Meta {
            name: name.into(),
            help: self.help.as_str().into(),
            unit: self.unit.as_str().into(),
            kind: C::TYPE,
            labels: labels.into(),
        };
        let limits = crate::family::Limits { max_children: self.max_children, expire_after: self.expire_after };
        Ok((meta, limits))
    }
}

/// Builds a metric from [`Opts`]; the metric types implement it.
pub trait FromOpts: Collector + Clone + Sized + 'static {
    /// The label set of the metric.
    type Labels: LabelSet;
    /// The same metric type with another label set.
    type With<L2: LabelSet>: FromOpts<Labels = L2>;
    /// Builds the metric.
    fn from_opts(opts: &Opts) -> Result<Self, Error>;
}

/// Builds a metric: `Counter::builder("name", "help").namespace("app").build()`.
///
/// ```
/// use promdecl_runtime::{Counter, Registry};
/// let registry = Registry::new();
/// let c = Counter::builder("requests", "Requests served.")
///     .namespace("app")
///     .subsystem("http")
///     .register(&registry)
///     .unwrap();
/// c.inc();
/// assert_eq!(registry.get_sample_value("app_http_requests_total", &[]), Some(1.0));
/// ```
#[must_use = "a builder does nothing until build() or register()"]
pub struct Builder<M> {
    opts: Opts,
    _metric: PhantomData<fn() -> M>,
}

impl<M: FromOpts> Builder<M> {
    pub(crate) fn new(name: &str, help: &str) -> Self {
        Builder { opts: Opts::new(name, help), _metric: PhantomData }
    }

    /// Builds from complete options.
    ///
    /// ```
    /// use promdecl_runtime::{Builder, Gauge, Opts};
    /// let g: Gauge = Builder::from_opts(Opts::new("g", "G.")).build().unwrap();
    /// ```
    pub fn from_opts(opts: Opts) -> Self {
        Builder { opts, _metric: PhantomData }
    }

    /// Prefixes the name with `namespace_`.
    ///
    /// ```
    /// let g = promdecl_runtime::Gauge::builder("g", "G.").namespace("app").build().unwrap();
    /// assert_eq!(g.name(), "app_g");
    /// ```
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.opts.namespace = namespace.into();
        self
    }

    /// Prefixes the name with `subsystem_` (after the namespace).
    ///
    /// ```
    /// let g = promdecl_runtime::Gauge::builder("g", "G.").subsystem("db").build().unwrap();
    /// assert_eq!(g.name(), "db_g");
    /// ```
    pub fn subsystem(mut self, subsystem: impl Into<String>) -> Self {
        self.opts.subsystem = subsystem.into();
        self
    }

    /// Sets the unit; it is appended to the name unless already there.
    ///
    /// ```
    /// let g = promdecl_runtime::Gauge::builder("size", "S.").unit("bytes").build().unwrap();
    /// assert_eq!(g.name(), "size_bytes");
    /// ```
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.opts.unit = unit.into();
        self
    }

    /// Bounds the number of children (label sets) of a metric whose label
    /// values are not a closed set. Past the bound, new label sets are
    /// counted in one overflow series whose labels are all `__overflow__`,
    /// so nothing is lost silently and memory stays bounded however many
    /// distinct values arrive; `try_labels` and `try_with_label_values`
    /// return an error instead.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, Registry};
    /// let r = Registry::new();
    /// let c = Counter::builder("logins", "L.").labels(["user"]).max_children(2).register(&r).unwrap();
    /// for user in ["a", "b", "c", "d"] {
    ///     c.with_label_values(&[user]).unwrap().inc();
    /// }
    /// assert_eq!(c.len(), 2);
    /// assert_eq!(r.get_sample_value("logins_total", &[("user", "__overflow__")]), Some(2.0));
    /// ```
    pub fn max_children(mut self, max: usize) -> Self {
        self.opts.max_children = Some(max);
        self
    }

    /// Drops children (label sets) that were not used for `idle` (at least
    /// one second), checked at each scrape: they leave the exposition and
    /// come back at zero when used again. Lookups count as use, and a child
    /// that a [`Handle`](crate::Handle) holds never expires (what is recorded
    /// through the handle is never lost); it may expire once its handles are
    /// dropped. Label sets of a closed type (enums, `bool`) never expire.
    ///
    /// ```
    /// let c = promdecl_runtime::Counter::builder("x", "X.")
    ///     .labels(["session"])
    ///     .expire_after(std::time::Duration::from_secs(600))
    ///     .build()
    ///     .unwrap();
    /// c.with_label_values(&["s1"]).unwrap().inc();
    /// ```
    pub fn expire_after(mut self, idle: std::time::Duration) -> Self {
        self.opts.expire_after = Some(idle);
        self
    }

    /// Builds the metric without registering it.
    ///
    /// ```
    /// assert!(promdecl_runtime::Gauge::builder("ok", "Ok.").build().is_ok());
    /// ```
    pub fn build(self) -> Result<M, Error> {
        M::from_opts(&self.opts)
    }

    /// Builds the metric and registers it in `registry`.
    ///
    /// ```
    /// use promdecl_runtime::{Gauge, Registry};
    /// let r = Registry::new();
    /// Gauge::builder("g", "G.").register(&r).unwrap();
    /// assert!(Gauge::builder("g", "G.").register(&r).is_err());
    /// ```
    pub fn register(self, registry: &Registry) -> Result<M, Error> {
        self.register_with_id(registry).map(|(metric, _)| metric)
    }

    /// Builds the metric, registers it in `registry`, and returns the
    /// registration's id too, for [`Registry::unregister`].
    ///
    /// ```
    /// use promdecl_runtime::{Gauge, Registry};
    /// let r = Registry::new();
    /// let (g, id) = Gauge::builder("g", "G.").register_with_id(&r).unwrap();
    /// g.set(1.0);
    /// r.unregister(id).unwrap();
    /// assert_eq!(r.get_sample_value("g", &[]), None);
    /// // The name is free again.
    /// Gauge::builder("g", "G.").register(&r).unwrap();
    /// ```
    pub fn register_with_id(self, registry: &Registry) -> Result<(M, CollectorId), Error> {
        let metric = self.build()?;
        let id = registry.register(metric.clone())?;
        Ok((metric, id))
    }

    pub(crate) fn opts_mut(&mut self) -> &mut Opts {
        &mut self.opts
    }
}

impl<M: FromOpts<Labels = ()>> Builder<M> {
    /// Label names chosen at run time: the metric's children are then looked
    /// up with `with_label_values(&[...])` or `with_labels(&[(name, value)])`.
    ///
    /// ```
    /// let c = promdecl_runtime::Counter::builder("x", "X.").labels(["method", "endpoint"]).build().unwrap();
    /// c.with_label_values(&["GET", "/"]).unwrap().inc();
    /// assert_eq!(c.label_names().len(), 2);
    /// ```
    pub fn labels<I, S>(self, names: I) -> Builder<M::With<DynLabels>>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut opts = self.opts;
        opts.label_names = names.into_iter().map(Into::into).collect();
        Builder { opts, _metric: PhantomData }
    }

    /// Labels from a [`LabelSet`] type, checked by the compiler: the label
    /// names are its field names.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, LabelSet};
    /// #[derive(Clone, PartialEq, Eq, Hash)]
    /// struct Op { op: &'static str }
    /// impl LabelSet for Op {
    ///     const NAMES: &'static [&'static str] = &["op"];
    ///     fn visit(&self, f: &mut dyn FnMut(&str)) { f(self.op) }
    /// }
    /// let c = Counter::builder("ops", "Ops.").label_set::<Op>().build().unwrap();
    /// c.labels(&Op { op: "get" }).inc();
    /// ```
    pub fn label_set<L: LabelSet>(self) -> Builder<M::With<L>> {
        Builder { opts: self.opts, _metric: PhantomData }
    }
}

// The cells of the metric types: the only `MetricCell`s.
impl crate::collect::sealed::Sealed for CounterCell {}
impl crate::collect::sealed::Sealed for ShardedCounterCell {}
impl crate::collect::sealed::Sealed for GaugeCell {}
impl crate::collect::sealed::Sealed for HistogramCell {}
impl crate::collect::sealed::Sealed for SummaryCell {}
impl crate::collect::sealed::Sealed for InfoCell {}
impl<S: crate::LabelValue + 'static> crate::collect::sealed::Sealed for EnumCell<S> {}

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// An `f64` stored in an `AtomicU64`.
#[derive(Debug, Default)]
pub(crate) struct AtomicF64(crate::sync::atomic::AtomicU64);

impl AtomicF64 {
    #[cfg(not(promdecl_loom))]
    pub(crate) const fn zero() -> Self {
        AtomicF64(crate::sync::atomic::AtomicU64::new(0))
    }
    pub(crate) fn new(v: f64) -> Self {
        AtomicF64(crate::sync::atomic::AtomicU64::new(v.to_bits()))
    }
    #[inline]
    pub(crate) fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    #[inline]
    pub(crate) fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed)
    }
    #[inline]
    pub(crate) fn add(&self, v: f64) {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(cur) + v).to_bits();
            match self.0.compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// Declares a metric newtype over a [`Family`]: `Deref`, `Clone`, `Debug`,
/// `Collector`. An optional leading type parameter (`[S: Bound]`) is passed to
/// the cell type.
macro_rules! metric_type {
    ($(#[$doc:meta])* $name:ident [$($g:ident : $($b:tt)+)?], $cell:ty) => {
        $(#[$doc])*
        pub struct $name<$($g: $($b)+,)? L: $crate::LabelSet = ()> {
            pub(crate) family: $crate::family::Family<L, $cell>,
        }

        impl<$($g: $($b)+,)? L: $crate::LabelSet> ::std::ops::Deref for $name<$($g,)? L> {
            type Target = $crate::family::Family<L, $cell>;
            #[inline]
            fn deref(&self) -> &Self::Target {
                &self.family
            }
        }

        impl<$($g: $($b)+,)? L: $crate::LabelSet> Clone for $name<$($g,)? L> {
            fn clone(&self) -> Self {
                $name { family: self.family.clone() }
            }
        }

        impl<$($g: $($b)+,)? L: $crate::LabelSet> ::std::fmt::Debug for $name<$($g,)? L> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.family.fmt(f)
            }
        }

        impl<$($g: $($b)+,)? L: $crate::LabelSet> $crate::Collector for $name<$($g,)? L> {
            fn collect(&self, enc: &mut dyn $crate::encode::MetricEncoder) {
                self.family.collect(enc)
            }
            fn describe(&self) -> Vec<$crate::registry::FamilyDesc> {
                self.family.describe()
            }
        }
    };
}
pub(crate) use metric_type;

/// States each operation of a cell type once and makes it twice: a method of
/// the cell, which the unlabelled metric and a [`Handle`](crate::Handle)
/// reach through `Deref`, and the same method on a
/// [`Labeled`](crate::Labeled) child, so the two lists cannot drift apart.
///
/// Each operation is a method definition with, after `=>`, how a child runs
/// it:
/// - `with`: on the child's cell, found through the lookup (the hot path);
/// - `handle`: through a [`Handle`](crate::Handle), for operations that may
///   run user code (a gauge's callback), which must never run while a shard
///   of the family's map is locked;
/// - `same`: the body as written, which uses only other operations of `self`;
/// - `guard(target)`: a guard of the type named after `->`, made by the body
///   from `target`: `&Self` on the cell, a `Handle` on a child.
///
/// The generic parameters of a method go in brackets after its name
/// (`fn time_fn[R](..)`); those of the cell's `impl` in brackets after
/// `impl`, each followed by a comma.
macro_rules! child_ops {
    (impl[$($g:tt)*] $cell:ident[$($p:ident),*] { $($ops:tt)* }) => {
        impl<$($g)*> $cell<$($p),*> {
            $crate::metric::child_ops!(@cell $($ops)*);
        }
        impl<$($g)* L: $crate::LabelSet> $crate::family::Labeled<'_, L, $cell<$($p),*>> {
            $crate::metric::child_ops!(@child $cell[$($p),*] $($ops)*);
        }
    };
    // A cell whose unlabelled metric can be a `Declared` static: the
    // static gets the operations too, on the cell it holds.
    (impl[] $cell:ident[] declared($metric:ident) { $($ops:tt)* }) => {
        $crate::metric::child_ops!(impl[] $cell[] { $($ops)* });
        #[cfg(not(promdecl_loom))]
        impl $crate::metric::Declared<$metric> {
            $crate::metric::child_ops!(@declared $cell $($ops)*);
        }
    };

    (@declared $cell:ident) => {};
    (@declared $cell:ident $(#[$($a:tt)*])* $v:vis fn $n:ident(&$s:ident) -> $guard:ident
        => guard($t:ident) $body:block $($rest:tt)*) => {
        $crate::metric::child_ops!(@attrs "static" $cell $n [] [$(#[$($a)*])*]
            $v fn $n(&$s) -> $guard<&$cell> {
                $s.cell().$n()
            }
        );
        $crate::metric::child_ops!(@declared $cell $($rest)*);
    };
    (@declared $cell:ident $(#[$($a:tt)*])* $v:vis fn $n:ident $([$($gen:tt)*])?
        (&$s:ident $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)? => same $body:block $($rest:tt)*) => {
        $crate::metric::child_ops!(@attrs "static" $cell $n [] [$(#[$($a)*])*]
            $v fn $n $(<$($gen)*>)? (&$s $(, $arg: $ty)*) $(-> $ret)? $body
        );
        $crate::metric::child_ops!(@declared $cell $($rest)*);
    };
    (@declared $cell:ident $(#[$($a:tt)*])* $v:vis fn $n:ident $([$($gen:tt)*])?
        (&$s:ident $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)? => $mode:ident $body:block $($rest:tt)*) => {
        $crate::metric::child_ops!(@attrs "static" $cell $n [] [$(#[$($a)*])*]
            $v fn $n $(<$($gen)*>)? (&$s $(, $arg: $ty)*) $(-> $ret)? {
                $s.cell().$n($($arg),*)
            }
        );
        $crate::metric::child_ops!(@declared $cell $($rest)*);
    };

    (@cell) => {};
    (@cell $(#[$($a:tt)*])* $v:vis fn $n:ident(&$s:ident) -> $guard:ident => guard($t:ident) $body:block $($rest:tt)*) => {
        $(#[$($a)*])*
        $v fn $n(&$s) -> $guard<&Self> {
            let $t = $s;
            $body
        }
        $crate::metric::child_ops!(@cell $($rest)*);
    };
    (@cell $(#[$($a:tt)*])* $v:vis fn $n:ident $([$($gen:tt)*])? (&$s:ident $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)?
        => $mode:ident $body:block $($rest:tt)*) => {
        $(#[$($a)*])*
        $v fn $n $(<$($gen)*>)? (&$s $(, $arg: $ty)*) $(-> $ret)? $body
        $crate::metric::child_ops!(@cell $($rest)*);
    };

    (@child $cell:ident[$($p:ident),*]) => {};
    (@child $cell:ident[$($p:ident),*] $(#[$($a:tt)*])* $v:vis fn $n:ident(&$s:ident) -> $guard:ident
        => guard($t:ident) $body:block $($rest:tt)*) => {
        $crate::metric::child_ops!(@attrs "child" $cell $n [] [$(#[$($a)*])*]
            $v fn $n(&$s) -> $guard<$crate::family::Handle<$cell<$($p),*>>> {
                let $t = $s.handle();
                $body
            }
        );
        $crate::metric::child_ops!(@child $cell[$($p),*] $($rest)*);
    };
    (@child $cell:ident[$($p:ident),*] $(#[$($a:tt)*])* $v:vis fn $n:ident $([$($gen:tt)*])?
        (&$s:ident $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)? => with $body:block $($rest:tt)*) => {
        $crate::metric::child_ops!(@attrs "child" $cell $n [] [$(#[$($a)*])*]
            $v fn $n $(<$($gen)*>)? (&$s $(, $arg: $ty)*) $(-> $ret)? {
                $s.with(move |cell| cell.$n($($arg),*))
            }
        );
        $crate::metric::child_ops!(@child $cell[$($p),*] $($rest)*);
    };
    (@child $cell:ident[$($p:ident),*] $(#[$($a:tt)*])* $v:vis fn $n:ident $([$($gen:tt)*])?
        (&$s:ident $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)? => handle $body:block $($rest:tt)*) => {
        $crate::metric::child_ops!(@attrs "child" $cell $n [] [$(#[$($a)*])*]
            $v fn $n $(<$($gen)*>)? (&$s $(, $arg: $ty)*) $(-> $ret)? {
                $s.handle().$n($($arg),*)
            }
        );
        $crate::metric::child_ops!(@child $cell[$($p),*] $($rest)*);
    };
    (@child $cell:ident[$($p:ident),*] $(#[$($a:tt)*])* $v:vis fn $n:ident $([$($gen:tt)*])?
        (&$s:ident $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)? => same $body:block $($rest:tt)*) => {
        $crate::metric::child_ops!(@attrs "child" $cell $n [] [$(#[$($a)*])*]
            $v fn $n $(<$($gen)*>)? (&$s $(, $arg: $ty)*) $(-> $ret)? $body
        );
        $crate::metric::child_ops!(@child $cell[$($p),*] $($rest)*);
    };

    // A child's method keeps the cell method's attributes but its docs,
    // which would repeat the examples; it links to them instead.
    (@attrs $on:literal $cell:ident $n:ident [$($keep:tt)*] [] $($item:tt)*) => {
        #[doc = concat!("[`", stringify!($cell), "::", stringify!($n), "`], on this ", $on, ".")]
        $($keep)*
        $($item)*
    };
    (@attrs $on:literal $cell:ident $n:ident [$($keep:tt)*] [#[doc = $($d:tt)*] $($more:tt)*] $($item:tt)*) => {
        $crate::metric::child_ops!(@attrs $on $cell $n [$($keep)*] [$($more)*] $($item)*);
    };
    (@attrs $on:literal $cell:ident $n:ident [$($keep:tt)*] [#[$($a:tt)*] $($more:tt)*] $($item:tt)*) => {
        $crate::metric::child_ops!(@attrs $on $cell $n [$($keep)* #[$($a)*]] [$($more)*] $($item)*);
    };
}
pub(crate) use child_ops;
