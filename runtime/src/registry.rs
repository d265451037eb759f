//! The registry: which collectors a scrape asks, and the checks that keep
//! their series apart.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use once_cell::sync::Lazy;

use crate::collect::series::first_clash;
use crate::collect::{CollectError, Descriptor, EncodeLabels, MetricEncoder, MetricType, Number, Sample};
pub use crate::collect::{Collector, FamilyDesc};
use crate::Error;

/// Identifies a registered collector, for [`Registry::unregister`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CollectorId(u64);

struct Entry {
    id: CollectorId,
    collector: Arc<dyn Collector>,
    names: Vec<String>,
}

#[derive(Default)]
struct State {
    entries: Vec<Entry>,
    /// Series name -> (owner, the owner's family name).
    names: HashMap<String, (CollectorId, String)>,
    next_id: u64,
    target_info: Option<Arc<[(String, String)]>>,
}

/// What a scrape works from: the collectors and the target info, copied out
/// of the lock.
type Snapshot = (Vec<Arc<dyn Collector>>, Option<Arc<[(String, String)]>>);

/// A set of collectors that is scraped together.
///
/// Most programs use the [`default_registry`]; tests and multi-tenant servers
/// make their own.
///
/// ```
/// use promdecl_runtime::{Counter, Gauge, Registry};
/// let registry = Registry::new();
/// Counter::builder("requests", "R.").register(&registry).unwrap();
/// let err = Gauge::builder("requests_total", "G.").register(&registry).unwrap_err();
/// assert!(err.to_string().contains("requests_total"));
/// ```
#[derive(Default)]
pub struct Registry {
    state: RwLock<State>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.read();
        f.debug_struct("Registry").field("collectors", &state.entries.len()).finish()
    }
}

impl Registry {
    /// An empty registry.
    ///
    /// ```
    /// let r = promdecl_runtime::Registry::new();
    /// assert_eq!(r.get_sample_value("anything", &[]), None);
    /// ```
    pub fn new() -> Self {
        Registry::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a collector. Fails, naming both families, if any series name it
    /// exposes is already exposed by a registered collector, and fails on a
    /// family name that is not a valid metric name.
    ///
    /// ```
    /// use promdecl_runtime::{Counter, Registry};
    /// let r = Registry::new();
    /// let c = Counter::builder("jobs", "J.").build().unwrap();
    /// let id = r.register(c.clone()).unwrap();
    /// assert!(r.register(c.clone()).is_err());
    /// r.unregister(id).unwrap();
    /// r.register(c).unwrap();
    /// ```
    pub fn register(&self, collector: impl Collector + 'static) -> Result<CollectorId, Error> {
        let collector: Arc<dyn Collector> = Arc::new(collector);
        // Describe outside the lock: a default describe() runs collect().
        let families = collector.describe();
        // Setters do not fail (`ProcessCollector::namespace`, say): a name
        // they made invalid is refused here, before anything is exposed.
        for family in &families {
            crate::name::validate_metric_name(&family.name)?;
        }
        let mut state = self.write();
        let mut names: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for family in &families {
            let series = family.series_names();
            let clash = first_clash(&series, |s| {
                state
                    .names
                    .get(s)
                    .map(|(_, owner)| owner.clone())
                    .or_else(|| (s == "target_info" && state.target_info.is_some()).then(|| "target".to_owned()))
            });
            if let Some((series, existing)) = clash {
                let series = series.to_owned();
                return Err(Error::DuplicateSeries { series, new: family.name.clone(), existing });
            }
            for series in series {
                if seen.insert(series.clone()) {
                    names.push(series);
                }
            }
        }
        let id = CollectorId(state.next_id);
        state.next_id += 1;
        for (series, family) in families.iter().flat_map(|f| f.series_names().into_iter().map(move |s| (s, f))) {
            state.names.insert(series, (id, family.name.clone()));
        }
        state.entries.push(Entry { id, collector, names });
        Ok(id)
    }

    /// Removes a collector.
    ///
    /// ```
    /// use promdecl_runtime::{Gauge, Registry};
    /// let r = Registry::new();
    /// let id = r.register(Gauge::builder("g", "G.").build().unwrap()).unwrap();
    /// r.unregister(id).unwrap();
    /// assert!(r.unregister(id).is_err());
    /// ```
    pub fn unregister(&self, id: CollectorId) -> Result<(), Error> {
        let mut state = self.write();
        let pos = state.entries.iter().position(|e| e.id == id).ok_or(Error::NotRegistered)?;
        let entry = state.entries.remove(pos);
        for name in &entry.names {
            state.names.remove(name);
        }
        Ok(())
    }

    /// Sets (or with `None` removes) the `target_info` metric: labels that
    /// describe the whole target, exposed first in every scrape.
    ///
    /// ```
    /// use promdecl_runtime::Registry;
    /// let r = Registry::new();
    /// r.set_target_info(Some(&[("env", "prod")])).unwrap();
    /// assert_eq!(r.get_sample_value("target_info", &[("env", "prod")]), Some(1.0));
    /// assert_eq!(r.target_info().unwrap()[0].1, "prod");
    /// ```
    pub fn set_target_info(&self, labels: Option<&[(&str, &str)]>) -> Result<(), Error> {
        let mut state = self.write();
        match labels {
            Some(labels) if !labels.is_empty() => {
                if let Some((_, owner)) = state.names.get("target_info") {
                    return Err(Error::DuplicateSeries {
                        series: "target_info".into(),
                        new: "target".into(),
                        existing: owner.clone(),
                    });
                }
                for (name, _) in labels {
                    crate::name::validate_label_name(MetricType::Info, name)?;
                }
                state.target_info = Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
            }
            _ => state.target_info = None,
        }
        Ok(())
    }

    /// The labels of `target_info`, if set.
    pub fn target_info(&self) -> Option<Vec<(String, String)>> {
        self.read().target_info.as_ref().map(|t| t.to_vec())
    }

    /// A view of this registry that exposes only the samples whose names
    /// (such as `requests_total`, `latency_seconds_bucket`) are in `names`,
    /// as the `name[]` query parameter of the HTTP handler selects.
    ///
    /// ```
    /// use promdecl_runtime::{encode::{encode_to_string, Format}, Counter, Gauge, Registry};
    /// let r = Registry::new();
    /// Counter::builder("a", "A.").register(&r).unwrap();
    /// Gauge::builder("b", "B.").register(&r).unwrap();
    /// let text = encode_to_string(&r.restricted(["b"]), Format::TEXT);
    /// assert_eq!(text, "# HELP b B.\n# TYPE b gauge\nb 0.0\n");
    /// ```
    pub fn restricted<I, S>(&self, names: I) -> Restricted<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Restricted::new(self, names.into_iter().map(Into::into).collect())
    }

    /// The value of one sample, for tests: `name` is the sample name (with its
    /// suffix) and `labels` must match the sample's labels exactly, in any
    /// order.
    ///
    /// ```
    /// use promdecl_runtime::{Histogram, Registry};
    /// let r = Registry::new();
    /// let h = Histogram::builder("lat", "L.").buckets([1.0]).register(&r).unwrap();
    /// h.observe(0.5);
    /// assert_eq!(r.get_sample_value("lat_bucket", &[("le", "1.0")]), Some(1.0));
    /// assert_eq!(r.get_sample_value("lat_count", &[]), Some(1.0));
    /// ```
    pub fn get_sample_value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut lookup = Lookup { name, labels, family: String::new(), current: Vec::new(), found: None };
        self.collect(&mut lookup);
        lookup.found
    }

    fn collectors(&self) -> Snapshot {
        let state = self.read();
        (state.entries.iter().map(|e| Arc::clone(&e.collector)).collect(), state.target_info.clone())
    }
}

impl Collector for Registry {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        // Collect from a snapshot: collectors may register or scrape themselves.
        let (collectors, target_info) = self.collectors();
        if let Some(labels) = target_info {
            enc.family(&Descriptor { name: "target", help: "Target metadata", unit: "", kind: MetricType::Info });
            enc.series(&&labels[..]);
            enc.sample(&Sample::new("_info", Number::Int(1)));
        }
        for c in &collectors {
            c.collect(enc);
        }
    }

    fn describe(&self) -> Vec<FamilyDesc> {
        self.collectors().0.iter().flat_map(|c| c.describe()).collect()
    }
}

/// A registry view limited to some sample names; see [`Registry::restricted`].
pub struct Restricted<'r> {
    collector: &'r dyn Collector,
    names: HashSet<String>,
}

impl<'r> Restricted<'r> {
    /// `collector` limited to the samples named in `names`.
    pub(crate) fn new(collector: &'r dyn Collector, names: HashSet<String>) -> Self {
        Restricted { collector, names }
    }
}

impl Collector for Restricted<'_> {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        let mut filter =
            Filter { inner: enc, names: &self.names, family: String::new(), header: None, series: None, wanted: false };
        self.collector.collect(&mut filter);
    }
}

/// Passes on only the samples whose names are selected. A family's header
/// and a series' labels go out with their first selected sample, so a
/// family with no selected sample leaves no trace.
struct Filter<'a> {
    inner: &'a mut dyn MetricEncoder,
    names: &'a HashSet<String>,
    family: String,
    /// The current family's descriptor, until its header is written.
    header: Option<(String, String, String, MetricType)>,
    /// The current series' labels, until they are written.
    series: Option<Vec<(String, String)>>,
    /// Whether the current family can have selected samples at all.
    wanted: bool,
}

impl MetricEncoder for Filter<'_> {
    fn fail(&mut self, error: CollectError) {
        self.inner.fail(error);
    }

    fn family(&mut self, desc: &Descriptor<'_>) {
        self.family.clear();
        self.family.push_str(desc.name);
        self.wanted = FamilyDesc::new(desc.name, desc.kind).series_names().iter().any(|n| self.names.contains(n));
        self.header =
            self.wanted.then(|| (desc.name.to_owned(), desc.help.to_owned(), desc.unit.to_owned(), desc.kind));
        self.series = None;
    }

    fn series(&mut self, labels: &dyn EncodeLabels) {
        if self.wanted {
            let mut owned = Vec::new();
            labels.encode(&mut owned);
            self.series = Some(owned);
        }
    }

    fn sample(&mut self, sample: &Sample<'_>) {
        if !self.wanted {
            return;
        }
        let len = self.family.len();
        self.family.push_str(sample.suffix);
        let selected = self.names.contains(&self.family) && self.inner.accepts(sample.suffix);
        self.family.truncate(len);
        if !selected {
            return;
        }
        if let Some((name, help, unit, kind)) = self.header.take() {
            self.inner.family(&Descriptor { name: &name, help: &help, unit: &unit, kind });
        }
        if let Some(labels) = self.series.take() {
            self.inner.series(&labels);
        }
        self.inner.sample(sample);
    }

    /// Native buckets go out with the series when the family's histogram
    /// names (`name`, `name_bucket`, `name_count`, `name_sum`) are selected.
    fn native_histogram(&mut self, histogram: &crate::collect::NativeHistogram) {
        if !self.wanted {
            return;
        }
        let family = &self.family;
        let selected = ["", "_bucket", "_count", "_sum"].iter().any(|s| self.names.contains(&format!("{family}{s}")));
        if !selected {
            return;
        }
        if let Some((name, help, unit, kind)) = self.header.take() {
            self.inner.family(&Descriptor { name: &name, help: &help, unit: &unit, kind });
        }
        if let Some(labels) = self.series.take() {
            self.inner.series(&labels);
        }
        self.inner.native_histogram(histogram);
    }
}

struct Lookup<'a> {
    name: &'a str,
    labels: &'a [(&'a str, &'a str)],
    family: String,
    current: Vec<(String, String)>,
    found: Option<f64>,
}

impl MetricEncoder for Lookup<'_> {
    /// A lookup answers from what could be collected.
    fn fail(&mut self, _: CollectError) {}

    fn family(&mut self, desc: &Descriptor<'_>) {
        self.family.clear();
        self.family.push_str(desc.name);
    }

    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.current.clear();
        labels.encode(&mut self.current);
    }

    fn sample(&mut self, s: &Sample<'_>) {
        if self.found.is_some()
            || !self.name.starts_with(self.family.as_str())
            || &self.name[self.family.len()..] != s.suffix
        {
            return;
        }
        let extra = s.extra.map(|e| match e {
            crate::collect::Extra::Le(v) => ("le", v),
            crate::collect::Extra::Quantile(v) => ("quantile", v),
            crate::collect::Extra::Label(n, v) => (n, v),
        });
        let expected = self.current.len() + usize::from(extra.is_some());
        let all_match = self.labels.len() == expected
            && self
                .labels
                .iter()
                .all(|(n, v)| self.current.iter().any(|(cn, cv)| cn == n && cv == v) || extra == Some((*n, *v)));
        if all_match {
            self.found = Some(match s.value {
                Number::Int(v) => v as f64,
                Number::Float(v) => v,
            });
        }
    }
}

/// Functions that register each `metrics!` block in the default registry;
/// the macros add one per block.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static METRIC_GROUPS: [fn()];

/// Functions that register a collector the crate itself puts in the default
/// registry (the process and platform collectors); each adds itself, after
/// the `metrics!` blocks.
#[linkme::distributed_slice]
pub(crate) static BUILTIN_COLLECTORS: [fn()];

static DEFAULT: Lazy<Registry> = Lazy::new(Registry::new);
static GROUPS_REGISTERED: std::sync::Once = std::sync::Once::new();
static REGISTRATION_ERRORS: std::sync::Mutex<Vec<Error>> = std::sync::Mutex::new(Vec::new());

/// The process-wide registry that metrics declared with the macros register
/// in, and that `serve` (feature `server`) exposes by default.
///
/// Its first use registers every `metrics!` block of the program, so a scrape
/// shows all declared metrics, touched or not.
/// It also holds, as the Python client's `REGISTRY` does, a
/// [`ProcessCollector`](crate::ProcessCollector) (`process_*`, on Linux with the `process` feature) and a
/// [`PlatformCollector`](crate::PlatformCollector) (`rust_info`).
///
/// ```
/// use promdecl_runtime::{default_registry, Counter};
/// let c = Counter::builder("doc_default_registry_example", "E.").register(default_registry()).unwrap();
/// c.inc();
/// ```
pub fn default_registry() -> &'static Registry {
    GROUPS_REGISTERED.call_once(|| {
        for register in METRIC_GROUPS {
            register();
        }
        for register in BUILTIN_COLLECTORS {
            register();
        }
    });
    &DEFAULT
}

/// Registers a macro-declared group in the default registry. A collision with
/// another group (two crates declaring the same name) cannot be caught at
/// compile time: the metrics still work, the error is kept for
/// [`registration_errors`] and printed once.
pub(crate) fn register_group(group: impl Collector + 'static) {
    register_builtin(group);
}

/// Registers a collector the crate itself puts in the default registry (a
/// macro-declared group, the process collector, ...), handling a collision
/// as [`register_group`] does.
pub(crate) fn register_builtin(collector: impl Collector + 'static) -> Option<CollectorId> {
    DEFAULT
        .register(collector)
        .map_err(|e| {
            eprintln!("promdecl: metrics not exposed: {e}");
            REGISTRATION_ERRORS.lock().unwrap_or_else(|e| e.into_inner()).push(e);
        })
        .ok()
}

/// Errors from registering `metrics!` blocks in the default registry, such
/// as two blocks declaring the same metric name. Empty in a healthy program;
/// worth asserting in a test.
///
/// ```
/// assert!(promdecl_runtime::registration_errors().is_empty());
/// ```
pub fn registration_errors() -> Vec<Error> {
    REGISTRATION_ERRORS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}
