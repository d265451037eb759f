//! A recorder for the [`metrics`] facade: what any crate records through
//! `metrics::counter!`, `gauge!` and `histogram!` lands in a promdecl
//! [`Registry`], beside the metrics declared with promdecl itself.
//!
//! ```
//! use promdecl_runtime::{encode::{encode_to_string, Format}, metrics_facade::FacadeRecorder, Registry};
//!
//! let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
//! let recorder = FacadeRecorder::builder().registry(registry).build().unwrap();
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("cache.hits", "Cache hits.");
//!     metrics::counter!("cache.hits", "tier" => "l1").increment(3);
//! });
//! let text = encode_to_string(registry, Format::TEXT);
//! assert!(text.contains("# HELP cache_hits_total Cache hits.\n"));
//! assert!(text.contains("cache_hits_total{tier=\"l1\"} 3\n"));
//! ```
//!
//! A program installs it once, for the [default registry](crate::default_registry),
//! with [`install`]: `promdecl::metrics_facade::install()?;`.
//!
//! # How facade metrics are exposed
//!
//! * **Names** are made valid the way Prometheus expects: every character
//!   outside `[a-zA-Z0-9_:]` becomes `_` (`http.server.requests` is
//!   `http_server_requests`), a leading digit gets a `_` before it, and a
//!   counter is exposed as `name_total` (a trailing `_total` given by the
//!   crate is not doubled).
//! * **Descriptions** (`describe_counter!` and friends) become the HELP
//!   text, **units** a name suffix (`Unit::Seconds` adds `_seconds` unless
//!   the name ends with it already; `Unit::Count` adds nothing). A
//!   description that arrives after the metric was first used still takes
//!   effect at the next scrape; if its unit changes the name, the family is
//!   re-registered under the new name. Without a description, the family
//!   has no HELP line.
//! * **Labels** become labels. Their names are made valid as metric names
//!   are (`.` and `-` become `_`); a name Prometheus reserves (`le` on a
//!   histogram, a `__` prefix) is prefixed with `label_`. A series is the
//!   label set Prometheus sees: label order does not matter, a label given
//!   twice keeps its last value, and an empty value is the same as no label.
//! * **The same name with different label names** (`counter!("jobs",
//!   "queue" => "a")` and `counter!("jobs", "host" => "b")`) is one family
//!   whose series carry different labels, as the exposition formats allow
//!   (`jobs_total{queue="a"}`, `jobs_total{host="b"}`): each set of label
//!   names has its own series, and PromQL sees the missing labels as empty.
//! * **The same name as two kinds** (a counter and a gauge), or a name that
//!   another metric of the registry already exposes: the first to register
//!   keeps the name; what the other records goes nowhere, is logged through
//!   `tracing` (a warning naming both) and counted in
//!   [`FacadeRecorder::refused`]. The exposition never holds both.
//! * **Counters** support `increment` and `absolute`: `absolute(v)` raises
//!   the series to `v` (it never lowers it), so a crate that mirrors an
//!   outside total can report it as it is. A series that mixes both gets
//!   its increments plus the highest absolute value.
//! * **Histograms** get the buckets of the longest matching prefix given to
//!   [`FacadeRecorderBuilder::buckets_for`], else
//!   [`FacadeRecorderBuilder::buckets`] (default
//!   [`DEFAULT_BUCKETS`]).
//! * **Cardinality**: with [`FacadeRecorderBuilder::max_children`], each
//!   set of label names of a metric holds at most that many series; further
//!   label values are counted in the series whose labels are all
//!   `__overflow__`, as promdecl's own families do.

mod family;
mod names;

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use metrics::{CounterFn, GaugeFn, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};

use self::family::{Exported, FacadeFamily, PartConfig, Series};
use crate::{Error, Histogram, MetricType, Registry, DEFAULT_BUCKETS};

/// Installs a [`FacadeRecorder`] with the default settings for the
/// [default registry](crate::default_registry) as the `metrics` facade's
/// global recorder.
///
/// ```
/// promdecl_runtime::metrics_facade::install().unwrap();
/// metrics::gauge!("doc.install.queue_depth").set(7.0);
/// let registry = promdecl_runtime::default_registry();
/// assert_eq!(registry.get_sample_value("doc_install_queue_depth", &[]), Some(7.0));
/// // A second install fails: the facade has one global recorder.
/// assert!(promdecl_runtime::metrics_facade::install().is_err());
/// ```
pub fn install() -> Result<(), InstallError> {
    FacadeRecorder::builder().build().map_err(InstallError::Settings)?.install()
}

/// Why [`install`] failed.
///
/// ```
/// use promdecl_runtime::metrics_facade::InstallError;
/// assert!(InstallError::AlreadySet.to_string().contains("already"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The `metrics` facade already has a global recorder (it takes one
    /// per process).
    #[error("the metrics facade already has a global recorder; install this one before any other, once")]
    AlreadySet,
    /// The recorder's settings were refused.
    #[error("invalid metrics facade settings: {0}")]
    Settings(#[source] Error),
}

/// The registry a recorder registers in: `&'static Registry` or
/// `Arc<Registry>`.
type RegistryRef = Box<dyn Deref<Target = Registry> + Send + Sync>;

/// A `metrics::Recorder` that keeps what it is given in a promdecl
/// [`Registry`]; see the [module docs](self).
pub struct FacadeRecorder {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FacadeRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacadeRecorder")
            .field("families", &self.shared.families.read().map(|f| f.len()).unwrap_or(0))
            .field("refused", &self.refused())
            .finish_non_exhaustive()
    }
}

struct Shared {
    registry: RegistryRef,
    default_buckets: Vec<f64>,
    /// (prefix, buckets), longest prefix first.
    prefix_buckets: Vec<(String, Vec<f64>)>,
    max_children: Option<usize>,
    /// Descriptions by name as recorded: (help, unit suffix).
    descriptions: RwLock<HashMap<String, (String, Option<&'static str>)>>,
    /// Families by name as recorded.
    families: RwLock<HashMap<String, Arc<FacadeFamily>>>,
    counters: DashMap<Key, metrics::Counter>,
    gauges: DashMap<Key, metrics::Gauge>,
    histograms: DashMap<Key, metrics::Histogram>,
    refused: AtomicU64,
}

impl FacadeRecorder {
    /// A builder, for another registry, buckets or a cardinality limit.
    ///
    /// ```
    /// use promdecl_runtime::metrics_facade::FacadeRecorder;
    /// let recorder = FacadeRecorder::builder().max_children(100).build().unwrap();
    /// # let _ = recorder;
    /// ```
    pub fn builder() -> FacadeRecorderBuilder {
        FacadeRecorderBuilder {
            registry: None,
            buckets: DEFAULT_BUCKETS.to_vec(),
            prefix_buckets: Vec::new(),
            max_children: None,
        }
    }

    /// Installs this recorder as the `metrics` facade's global recorder.
    ///
    /// ```no_run
    /// use promdecl_runtime::metrics_facade::FacadeRecorder;
    /// FacadeRecorder::builder().buckets_for("db.", [0.001, 0.01, 0.1]).build()?.install()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn install(self) -> Result<(), InstallError> {
        metrics::set_global_recorder(self).map_err(|_| InstallError::AlreadySet)
    }

    /// How many times a metric could not be given a series (its name is
    /// taken by a metric of another kind, or by another metric of the
    /// registry), so that what was recorded went nowhere. Each is also
    /// logged through `tracing`.
    ///
    /// ```
    /// use promdecl_runtime::{metrics_facade::FacadeRecorder, Registry};
    /// let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    /// let recorder = FacadeRecorder::builder().registry(registry).build().unwrap();
    /// metrics::with_local_recorder(&recorder, || {
    ///     metrics::counter!("jobs").increment(1);
    ///     metrics::gauge!("jobs").set(5.0); // the name is a counter's
    /// });
    /// assert_eq!(recorder.refused(), 1);
    /// assert_eq!(registry.get_sample_value("jobs_total", &[]), Some(1.0));
    /// ```
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }
}

/// Settings for a [`FacadeRecorder`]; from [`FacadeRecorder::builder`].
pub struct FacadeRecorderBuilder {
    registry: Option<RegistryRef>,
    buckets: Vec<f64>,
    prefix_buckets: Vec<(String, Vec<f64>)>,
    max_children: Option<usize>,
}

impl std::fmt::Debug for FacadeRecorderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacadeRecorderBuilder")
            .field("buckets", &self.buckets)
            .field("prefix_buckets", &self.prefix_buckets)
            .field("max_children", &self.max_children)
            .finish_non_exhaustive()
    }
}

impl FacadeRecorderBuilder {
    /// Registers in `registry` (a `&'static Registry` or an
    /// `Arc<Registry>`) instead of the default registry.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use promdecl_runtime::{metrics_facade::FacadeRecorder, Registry};
    /// let registry = Arc::new(Registry::new());
    /// let recorder = FacadeRecorder::builder().registry(Arc::clone(&registry)).build().unwrap();
    /// metrics::with_local_recorder(&recorder, || metrics::gauge!("temp").set(21.5));
    /// assert_eq!(registry.get_sample_value("temp", &[]), Some(21.5));
    /// ```
    pub fn registry(mut self, registry: impl Deref<Target = Registry> + Send + Sync + 'static) -> Self {
        self.registry = Some(Box::new(registry));
        self
    }

    /// The buckets of histograms no [`buckets_for`](Self::buckets_for)
    /// prefix matches (default [`DEFAULT_BUCKETS`]).
    ///
    /// ```
    /// use promdecl_runtime::metrics_facade::FacadeRecorder;
    /// assert!(FacadeRecorder::builder().buckets([1.0, 0.5]).build().is_err()); // unsorted
    /// ```
    pub fn buckets(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.buckets = bounds.into_iter().collect();
        self
    }

    /// The buckets of histograms whose name, as the crate recorded it,
    /// starts with `prefix` (the longest matching prefix wins).
    ///
    /// ```
    /// use promdecl_runtime::{metrics_facade::FacadeRecorder, Registry};
    /// let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    /// let recorder = FacadeRecorder::builder()
    ///     .registry(registry)
    ///     .buckets_for("db.", [0.01, 0.1])
    ///     .buckets_for("db.bulk.", [1.0, 10.0])
    ///     .build()
    ///     .unwrap();
    /// metrics::with_local_recorder(&recorder, || {
    ///     metrics::histogram!("db.query").record(0.05);
    ///     metrics::histogram!("db.bulk.load").record(5.0);
    /// });
    /// assert_eq!(registry.get_sample_value("db_query_bucket", &[("le", "0.1")]), Some(1.0));
    /// assert_eq!(registry.get_sample_value("db_bulk_load_bucket", &[("le", "10.0")]), Some(1.0));
    /// ```
    pub fn buckets_for(mut self, prefix: impl Into<String>, bounds: impl IntoIterator<Item = f64>) -> Self {
        let prefix = prefix.into();
        self.prefix_buckets.retain(|(p, _)| *p != prefix);
        self.prefix_buckets.push((prefix, bounds.into_iter().collect()));
        self
    }

    /// At most `max` series for each set of label names of a metric;
    /// further label values are counted in the `__overflow__` series.
    ///
    /// ```
    /// use promdecl_runtime::{metrics_facade::FacadeRecorder, Registry};
    /// let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    /// let recorder = FacadeRecorder::builder().registry(registry).max_children(2).build().unwrap();
    /// metrics::with_local_recorder(&recorder, || {
    ///     for user in ["a", "b", "c", "d"] {
    ///         metrics::counter!("logins", "user" => user).increment(1);
    ///     }
    /// });
    /// assert_eq!(registry.get_sample_value("logins_total", &[("user", "__overflow__")]), Some(2.0));
    /// ```
    pub fn max_children(mut self, max: usize) -> Self {
        self.max_children = Some(max);
        self
    }

    /// Checks the buckets and makes the recorder.
    ///
    /// ```
    /// use promdecl_runtime::metrics_facade::FacadeRecorder;
    /// assert!(FacadeRecorder::builder().buckets_for("x", []).build().is_err());
    /// ```
    pub fn build(self) -> Result<FacadeRecorder, Error> {
        for bounds in std::iter::once(&self.buckets).chain(self.prefix_buckets.iter().map(|(_, b)| b)) {
            Histogram::builder("facade", "").buckets(bounds.iter().copied()).build()?;
        }
        let mut prefix_buckets = self.prefix_buckets;
        prefix_buckets.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        let registry = self.registry.unwrap_or_else(|| Box::new(crate::default_registry()));
        Ok(FacadeRecorder {
            shared: Arc::new(Shared {
                registry,
                default_buckets: self.buckets,
                prefix_buckets,
                max_children: self.max_children,
                descriptions: RwLock::default(),
                families: RwLock::default(),
                counters: DashMap::new(),
                gauges: DashMap::new(),
                histograms: DashMap::new(),
                refused: AtomicU64::new(0),
            }),
        })
    }
}

impl Shared {
    fn refuse(&self, what: std::fmt::Arguments<'_>) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("promdecl metrics facade: {what}; what it records is dropped");
    }

    fn exported(&self, raw: &str, kind: MetricType) -> Exported {
        let descriptions = self.descriptions.read().unwrap_or_else(|p| p.into_inner());
        let (help, unit) = descriptions.get(raw).map_or(("", ""), |(h, u)| (h.as_str(), u.unwrap_or("")));
        Exported { name: names::family_name(raw, kind, unit), help: help.to_owned(), unit: unit.to_owned() }
    }

    /// The family for `raw` of kind `kind`, created and registered if new;
    /// `None` (refused and counted) if the name is another kind's or the
    /// registry refuses it.
    fn family(&self, raw: &str, kind: MetricType) -> Option<Arc<FacadeFamily>> {
        let existing = self.families.read().unwrap_or_else(|p| p.into_inner()).get(raw).cloned();
        let family = match existing {
            Some(family) => family,
            None => {
                let mut families = self.families.write().unwrap_or_else(|p| p.into_inner());
                if let Some(family) = families.get(raw) {
                    Arc::clone(family)
                } else {
                    // Read under the families lock: a description that
                    // arrives meanwhile either is seen here or sees the family.
                    let exported = self.exported(raw, kind);
                    let buckets = self
                        .prefix_buckets
                        .iter()
                        .find(|(p, _)| raw.starts_with(p.as_str()))
                        .map_or(&self.default_buckets, |(_, b)| b)
                        .clone();
                    let config = PartConfig { buckets, max_children: self.max_children };
                    let family = FacadeFamily::new(kind, exported, config);
                    if let Err(e) = family.register(&self.registry) {
                        drop(families);
                        self.refuse(format_args!("{kind:?} {raw:?} cannot be registered: {e}"));
                        return None;
                    }
                    families.insert(raw.to_owned(), Arc::clone(&family));
                    family
                }
            }
        };
        if family.kind != kind {
            self.refuse(format_args!("{raw:?} is recorded as a {kind:?} but is already a {:?}", family.kind));
            return None;
        }
        Some(family)
    }

    /// The series `key` names, and whether it may be remembered.
    fn series(&self, key: &Key, kind: MetricType) -> Option<(Series, bool)> {
        let family = self.family(key.name(), kind)?;
        let (names, values) = names::canonical_labels(kind, key.labels().map(|l| (l.key(), l.value())));
        match family.series(&names, &values) {
            Ok(found) => Some(found),
            Err(e) => {
                self.refuse(format_args!("{kind:?} {:?} has no series for {key}: {e}", key.name()));
                None
            }
        }
    }

    fn describe(&self, name: &str, unit: Option<Unit>, help: &str) {
        {
            let mut descriptions = self.descriptions.write().unwrap_or_else(|p| p.into_inner());
            let entry = descriptions.entry(name.to_owned()).or_insert_with(|| (String::new(), None));
            entry.0 = help.to_owned();
            if let Some(unit) = unit {
                entry.1 = Some(names::unit_suffix(unit));
            }
        }
        let family = self.families.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned();
        if let Some(family) = family {
            let exported = self.exported(name, family.kind);
            if let Err(e) = family.redescribe(&self.registry, exported) {
                tracing::warn!("promdecl metrics facade: {name:?} keeps its name, the new one is taken: {e}");
            }
        }
    }
}

impl metrics::Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key.as_str(), unit, &description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key.as_str(), unit, &description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key.as_str(), unit, &description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        if let Some(found) = self.shared.counters.get(key) {
            return found.clone();
        }
        match self.shared.series(key, MetricType::Counter) {
            Some((Series::Counter(cell, absolute), own)) => {
                let counter = metrics::Counter::from_arc(Arc::new(CounterSeries { cell, absolute }));
                if own {
                    self.shared.counters.insert(key.clone(), counter.clone());
                }
                counter
            }
            _ => metrics::Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        if let Some(found) = self.shared.gauges.get(key) {
            return found.clone();
        }
        match self.shared.series(key, MetricType::Gauge) {
            Some((Series::Gauge(cell), own)) => {
                let gauge = metrics::Gauge::from_arc(Arc::new(GaugeSeries(cell)));
                if own {
                    self.shared.gauges.insert(key.clone(), gauge.clone());
                }
                gauge
            }
            _ => metrics::Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        if let Some(found) = self.shared.histograms.get(key) {
            return found.clone();
        }
        match self.shared.series(key, MetricType::Histogram) {
            Some((Series::Histogram(cell), own)) => {
                let histogram = metrics::Histogram::from_arc(Arc::new(HistogramSeries(cell)));
                if own {
                    self.shared.histograms.insert(key.clone(), histogram.clone());
                }
                histogram
            }
            _ => metrics::Histogram::noop(),
        }
    }
}

struct CounterSeries {
    cell: crate::Handle<crate::CounterCell>,
    absolute: Arc<AtomicU64>,
}

impl CounterFn for CounterSeries {
    fn increment(&self, value: u64) {
        self.cell.inc_by_u64(value);
    }

    fn absolute(&self, value: u64) {
        // Whoever raises the maximum adds the difference: concurrent calls
        // add each step exactly once.
        let previous = self.absolute.fetch_max(value, Ordering::AcqRel);
        if value > previous {
            self.cell.inc_by_u64(value - previous);
        }
    }
}

struct GaugeSeries(crate::Handle<crate::GaugeCell>);

impl GaugeFn for GaugeSeries {
    fn increment(&self, value: f64) {
        self.0.inc_by(value);
    }
    fn decrement(&self, value: f64) {
        self.0.dec_by(value);
    }
    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

struct HistogramSeries(crate::Handle<crate::HistogramCell>);

impl HistogramFn for HistogramSeries {
    fn record(&self, value: f64) {
        self.0.observe(value);
    }
}
