//! The writing side: one process's files, its write-through metrics, and
//! the snapshots of collectors that cannot write through.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use once_cell::sync::Lazy;

use super::format::{self, Cell, CellFile};
use super::{check_dir, dir_from_env, file_name, FileKind, GaugeMode, MultiProcessError};
use crate::encode::{CollectError, Descriptor, EncodeLabels, Extra, LabelSink, MetricEncoder, Sample};
use crate::metric::unix_now;
use crate::Collector;

/// The files this process has created. A writer created again in the same
/// process snapshots its collector over them, since the collector still
/// holds every value; a file left by another process that had the same id
/// is carried on instead.
static CREATED: Lazy<Mutex<HashSet<PathBuf>>> = Lazy::new(Mutex::default);

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Configures a [`MultiProcessWriter`]; from [`MultiProcessWriter::builder`].
#[must_use = "a builder does nothing until build()"]
pub struct MultiProcessWriterBuilder {
    dir: Option<PathBuf>,
    collector: Option<Arc<dyn Collector>>,
    interval: Option<Duration>,
    modes: HashMap<String, GaugeMode>,
    process_id: Option<u32>,
}

impl fmt::Debug for MultiProcessWriterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiProcessWriterBuilder")
            .field("dir", &self.dir)
            .field("interval", &self.interval)
            .field("modes", &self.modes)
            .field("process_id", &self.process_id)
            .finish_non_exhaustive()
    }
}

impl MultiProcessWriterBuilder {
    /// The directory to write to, instead of `PROMETHEUS_MULTIPROC_DIR`.
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::{MultiProcessError, MultiProcessWriter};
    /// let err = MultiProcessWriter::builder().dir("/no/such/dir").build().unwrap_err();
    /// assert!(matches!(err, MultiProcessError::NotADirectory(_)));
    /// ```
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// A collector to write as snapshots, every flush interval and when the
    /// writer is dropped: the macros' metrics (`default_registry()`), a
    /// registry, callback gauges. Unlike write-through metrics, a process
    /// killed outright loses what its collector recorded since the last
    /// snapshot.
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::MultiProcessWriter;
    /// use promdecl_runtime::Registry;
    /// let builder = MultiProcessWriter::builder().registry(Registry::new());
    /// ```
    pub fn registry(mut self, registry: impl Collector + 'static) -> Self {
        self.collector = Some(Arc::new(registry));
        self
    }

    /// Renamed to [`registry`](Self::registry), the name the server, the
    /// push client and the Graphite bridge use for what they read.
    #[deprecated(note = "renamed to `registry`")]
    pub fn collector(self, collector: impl Collector + 'static) -> Self {
        self.registry(collector)
    }

    /// How often the background thread writes a snapshot of the collector
    /// (1 s by default): the most a scrape lags behind it, and the most a
    /// crash loses of it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = promdecl_runtime::multiprocess::MultiProcessWriter::builder().flush_interval(Duration::from_millis(250));
    /// ```
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval.max(Duration::from_millis(1)));
        self
    }

    /// No background thread: snapshots are written only by
    /// [`MultiProcessWriter::flush`] and when the writer is dropped.
    ///
    /// ```
    /// let b = promdecl_runtime::multiprocess::MultiProcessWriter::builder().manual_flush();
    /// ```
    pub fn manual_flush(mut self) -> Self {
        self.interval = None;
        self
    }

    /// How the values of the collector's gauge family `name` (its full name)
    /// in the different processes are combined; [`GaugeMode::All`] if not set.
    /// Every process must use the same mode for a gauge.
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::{GaugeMode, MultiProcessWriter};
    /// let b = MultiProcessWriter::builder()
    ///     .gauge_mode("http_requests_in_progress", GaugeMode::LiveSum)
    ///     .gauge_mode("config_generation", GaugeMode::MostRecent);
    /// ```
    pub fn gauge_mode(mut self, name: impl Into<String>, mode: GaugeMode) -> Self {
        self.modes.insert(name.into(), mode);
        self
    }

    /// The id that names this process's files and `pid` labels, instead of
    /// the operating system's process id (the Python client's
    /// `process_identifier`): for processes that share a directory across
    /// PID namespaces, such as containers. Ids of processes running at the
    /// same time must differ.
    ///
    /// ```
    /// let b = promdecl_runtime::multiprocess::MultiProcessWriter::builder().process_id(7);
    /// ```
    pub fn process_id(mut self, id: u32) -> Self {
        self.process_id = Some(id);
        self
    }

    /// Takes this process id's lock in the directory, writes a first
    /// snapshot of the collector (if one was given) and starts the flush
    /// thread.
    ///
    /// Fails if the directory does not exist, if a file cannot be written,
    /// or if another live writer (of this or another process) has the same
    /// process id in the same directory.
    pub fn build(self) -> Result<MultiProcessWriter, MultiProcessError> {
        let dir = match self.dir {
            Some(dir) => dir,
            None => dir_from_env()?,
        };
        check_dir(&dir)?;
        let process_id = self.process_id.unwrap_or_else(std::process::id);
        // Absolute, so that one directory reached by two paths is one.
        let dir = dir.canonicalize().map_err(|source| MultiProcessError::Io { path: dir.clone(), source })?;
        // An flock, released by the kernel when its holder dies however it
        // dies: a second live writer with this id would append to the same
        // files at the same time.
        let lock_path = dir.join(format!(".lock_{process_id}"));
        let io = |source| MultiProcessError::Io { path: lock_path.clone(), source };
        let lock_file = format::open_lock_file(&lock_path).map_err(io)?;
        if !format::try_lock(&lock_file).map_err(io)? {
            return Err(MultiProcessError::WriterExists { dir, process_id });
        }
        let shared = Arc::new(Shared {
            dir,
            process_id,
            owner: std::process::id(),
            _lock: lock_file,
            files: Mutex::new(BTreeMap::new()),
        });
        let snapshots = self.collector.map(|collector| {
            Arc::new(Snapshots {
                shared: Arc::clone(&shared),
                collector,
                modes: self.modes,
                state: Mutex::new(HashMap::new()),
                reported: AtomicBool::new(false),
            })
        });
        let mut writer = MultiProcessWriter { shared, snapshots, flusher: None };
        writer.flush()?;
        if let (Some(snapshots), Some(interval)) = (&writer.snapshots, self.interval) {
            writer.flusher = Some(Flusher::start(Arc::clone(snapshots), interval)?);
        }
        Ok(writer)
    }
}

/// This process's files in the multiprocess directory, for a
/// [`MultiProcessCollector`](super::MultiProcessCollector) to merge.
///
/// Metrics made from it ([`counter`](Self::counter),
/// [`gauge`](Self::gauge), [`histogram`](Self::histogram),
/// [`summary`](Self::summary)) keep their values in the files themselves:
/// every update is an atomic operation on the shared mapping, so a process
/// killed outright loses nothing that returned. A
/// [collector](MultiProcessWriterBuilder::collector) (the macros' metrics, a
/// registry, callback gauges) is written as a snapshot instead, every flush
/// interval. Keep one writer per process; see the [module docs](super).
///
/// ```
/// use promdecl_runtime::multiprocess::MultiProcessWriter;
///
/// let dir = std::env::temp_dir().join(format!("promdecl-mp-writer-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let writer = MultiProcessWriter::builder().dir(&dir).build().unwrap();
/// let jobs = writer.counter("jobs", "Jobs done.", &["queue"]).unwrap();
/// let fast = jobs.labels(&["fast"]).unwrap(); // takes its slot in the file
/// fast.inc(); // an atomic add in the mapping, nothing else
/// assert!(dir.join(format!("counter_{}.db", writer.process_id())).exists());
/// drop(writer);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct MultiProcessWriter {
    shared: Arc<Shared>,
    snapshots: Option<Arc<Snapshots>>,
    flusher: Option<Flusher>,
}

impl fmt::Debug for MultiProcessWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiProcessWriter")
            .field("dir", &self.shared.dir)
            .field("process_id", &self.shared.process_id)
            .field("background_flush", &self.flusher.is_some())
            .finish_non_exhaustive()
    }
}

impl MultiProcessWriter {
    /// Starts configuring a writer.
    ///
    /// ```
    /// let builder = promdecl_runtime::multiprocess::MultiProcessWriter::builder();
    /// ```
    pub fn builder() -> MultiProcessWriterBuilder {
        MultiProcessWriterBuilder {
            dir: None,
            collector: None,
            interval: Some(Duration::from_secs(1)),
            modes: HashMap::new(),
            process_id: None,
        }
    }

    /// A write-through counter family; a trailing `_total` in `name` is
    /// optional. See [`CounterFamily`].
    pub fn counter(&self, name: &str, help: &str, labels: &[&str]) -> Result<CounterFamily, MultiProcessError> {
        let name = name.strip_suffix("_total").unwrap_or(name);
        Ok(CounterFamily(Family::new(&self.shared, FileKind::Counter, name, help, labels)?))
    }

    /// A write-through gauge family, whose values in the different
    /// processes are combined per `mode`. See [`GaugeFamily`].
    pub fn gauge(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        mode: GaugeMode,
    ) -> Result<GaugeFamily, MultiProcessError> {
        Ok(GaugeFamily(Family::new(&self.shared, FileKind::Gauge(mode), name, help, labels)?))
    }

    /// A write-through histogram family with the given bucket upper bounds
    /// (sorted, finite; `+Inf` is added). See [`HistogramFamily`].
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Result<HistogramFamily, MultiProcessError> {
        if labels.contains(&"le") {
            return Err(
                crate::Error::InvalidLabelName { name: "le".into(), reason: "reserved for histogram buckets" }.into()
            );
        }
        crate::metric::check_buckets(buckets).map_err(crate::Error::InvalidBuckets)?;
        let family = Family::new(&self.shared, FileKind::Histogram, name, help, labels)?;
        let bounds: Vec<String> = buckets
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .map(|b| {
                let mut s = Vec::new();
                crate::encode::write_float(&mut s, b);
                String::from_utf8(s).unwrap_or_default()
            })
            .collect();
        Ok(HistogramFamily { family, bounds: buckets.into(), le: bounds })
    }

    /// A write-through summary family (count and sum, no quantiles, as in
    /// the Python client's multiprocess mode). See [`SummaryFamily`].
    pub fn summary(&self, name: &str, help: &str, labels: &[&str]) -> Result<SummaryFamily, MultiProcessError> {
        if labels.contains(&"quantile") {
            return Err(crate::Error::InvalidLabelName {
                name: "quantile".into(),
                reason: "reserved for summary quantiles",
            }
            .into());
        }
        Ok(SummaryFamily(Family::new(&self.shared, FileKind::Summary, name, help, labels)?))
    }

    /// Writes a snapshot of the collector now (if one was given): call it
    /// before `std::process::exit`, or whenever a scrape must see the
    /// collector's values already. Write-through metrics need no flush.
    ///
    /// Fails in a child forked from the process that created the writer,
    /// if a file cannot be written, and if the collector panicked.
    pub fn flush(&self) -> Result<(), MultiProcessError> {
        match &self.snapshots {
            Some(snapshots) => snapshots.flush(),
            None => self.shared.check_owner(),
        }
    }

    /// The directory written to, made absolute.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The id this process's files are named after.
    pub fn process_id(&self) -> u32 {
        self.shared.process_id
    }

    /// The process that created the writer.
    pub(super) fn owner(&self) -> u32 {
        self.shared.owner
    }
}

impl Drop for MultiProcessWriter {
    fn drop(&mut self) {
        if std::process::id() != self.shared.owner {
            // Inherited through fork(): the flush thread does not exist here
            // and a lock may have been held by a thread that does not either.
            std::mem::forget(self.flusher.take());
            return;
        }
        if let Some(flusher) = self.flusher.take() {
            flusher.stop();
        }
        // Errors have nowhere to go; flush() first to see them.
        let _ = self.flush();
    }
}

/// What the writer, its metrics and its thread share. The lock of the
/// process id is held until the last of them is gone.
struct Shared {
    dir: PathBuf,
    process_id: u32,
    /// The process that created the writer.
    owner: u32,
    /// Holds the flock of `.lock_<id>`.
    _lock: File,
    files: Mutex<BTreeMap<FileKind, OpenFile>>,
}

/// One file of this process.
struct OpenFile {
    file: CellFile,
    /// Whether it holds the values of an earlier process with this id.
    carried: bool,
}

impl Shared {
    fn check_owner(&self) -> Result<(), MultiProcessError> {
        let current = std::process::id();
        if current != self.owner {
            return Err(MultiProcessError::Forked { owner: self.owner, current });
        }
        Ok(())
    }

    /// Runs `f` on the file of `kind`, opening it first if needed, and on
    /// whether the file was carried on from another process with this id.
    fn with_file<T>(
        &self,
        kind: FileKind,
        f: impl FnOnce(&mut CellFile, bool) -> std::io::Result<T>,
    ) -> Result<T, MultiProcessError> {
        self.check_owner()?;
        let path = self.dir.join(file_name(&kind, self.process_id));
        let io = |source| MultiProcessError::Io { path: path.clone(), source };
        let mut files = lock(&self.files);
        let file = match files.entry(kind) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                // Cumulative values of an earlier process with this id are
                // carried on, as in the Python client; gauges start afresh.
                let mut created = lock(&CREATED);
                let carried = kind.cumulative() && !created.contains(&path) && path.exists();
                let file = CellFile::open(&path, kind.cumulative()).map_err(io)?;
                created.insert(path.clone());
                e.insert(OpenFile { file, carried })
            }
        };
        f(&mut file.file, file.carried).map_err(io)
    }

    /// The cells of `keys`, each taking its slot on first use.
    fn cells(&self, kind: FileKind, keys: &[Vec<u8>]) -> Result<Vec<&'static Cell>, MultiProcessError> {
        self.with_file(kind, |file, _| keys.iter().map(|k| file.cell(k)).collect())
    }
}

/// What every write-through family holds.
#[derive(Clone)]
struct Family {
    shared: Arc<Shared>,
    kind: FileKind,
    name: String,
    help: String,
    labels: Arc<[String]>,
}

impl fmt::Debug for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family").field("name", &self.name).field("labels", &self.labels).finish_non_exhaustive()
    }
}

impl Family {
    fn new(
        shared: &Arc<Shared>,
        kind: FileKind,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<Family, MultiProcessError> {
        crate::name::validate_metric_name(name)?;
        for (i, label) in labels.iter().enumerate() {
            crate::name::validate_label_name(kind.metric_type(), label)?;
            if labels[..i].contains(label) {
                return Err(crate::Error::InvalidLabelName { name: (*label).into(), reason: "given twice" }.into());
            }
        }
        shared.check_owner()?;
        Ok(Family {
            shared: Arc::clone(shared),
            kind,
            name: name.to_owned(),
            help: help.to_owned(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        })
    }

    /// The record key of one sample of the child with `values`.
    fn key(&self, values: &[&str], suffix: &str, extra: Option<(&str, &str)>) -> Result<Vec<u8>, MultiProcessError> {
        if values.len() != self.labels.len() {
            return Err(crate::Error::LabelCount {
                metric: self.name.clone(),
                expected: self.labels.len(),
                got: values.len(),
                names: self.labels.join(", "),
            }
            .into());
        }
        let code = format::type_code(self.kind.metric_type()).expect("a written type");
        let labels = self.labels.iter().map(String::as_str).zip(values.iter().copied()).chain(extra);
        let mut key = Vec::new();
        format::encode_key(&mut key, code, &self.name, &self.help, suffix, labels);
        Ok(key)
    }
}

/// A family of write-through counters; from [`MultiProcessWriter::counter`].
///
/// ```
/// use promdecl_runtime::multiprocess::MultiProcessWriter;
/// # let dir = std::env::temp_dir().join(format!("promdecl-mp-counter-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let writer = MultiProcessWriter::builder().dir(&dir).build().unwrap();
/// let requests = writer.counter("requests_total", "Requests.", &["method"]).unwrap();
/// let get = requests.labels(&["GET"]).unwrap();
/// get.inc();
/// get.inc_by(2.0).unwrap();
/// assert_eq!(get.get(), 3.0);
/// assert!(requests.labels(&[]).is_err()); // one value per label
/// # drop(writer); std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct CounterFamily(Family);

impl CounterFamily {
    /// The child with these label values (in the order the labels were
    /// given). Its first use appends its cell to the file, which fails on a
    /// full disk; resolve it once and keep the handle on hot paths.
    pub fn labels(&self, values: &[&str]) -> Result<CounterHandle, MultiProcessError> {
        let key = self.0.key(values, "_total", None)?;
        let cells = self.0.shared.cells(self.0.kind, &[key])?;
        Ok(CounterHandle { cell: cells[0] })
    }
}

/// One counter child, writing through to its cell in the shared file.
#[derive(Debug, Clone, Copy)]
pub struct CounterHandle {
    pub(super) cell: &'static Cell,
}

impl CounterHandle {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.cell.inc();
    }

    /// Adds `v`, which must be neither negative nor NaN.
    #[inline]
    pub fn inc_by(&self, v: f64) -> Result<(), crate::Error> {
        if v.is_nan() || v < 0.0 {
            return Err(crate::Error::NegativeIncrement(v));
        }
        self.cell.add_count(v);
        Ok(())
    }

    /// The value in the file: this process's count, plus what an earlier
    /// process with the same id left.
    pub fn get(&self) -> f64 {
        self.cell.count()
    }
}

/// A family of write-through gauges; from [`MultiProcessWriter::gauge`].
///
/// ```
/// use promdecl_runtime::multiprocess::{GaugeMode, MultiProcessWriter};
/// # let dir = std::env::temp_dir().join(format!("promdecl-mp-gauge-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let writer = MultiProcessWriter::builder().dir(&dir).build().unwrap();
/// let busy = writer.gauge("busy", "Busy workers.", &[], GaugeMode::LiveSum).unwrap().labels(&[]).unwrap();
/// busy.inc();
/// busy.dec();
/// busy.set(4.0);
/// assert_eq!(busy.get(), 4.0);
/// # drop(writer); std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct GaugeFamily(Family);

impl GaugeFamily {
    /// The child with these label values; see [`CounterFamily::labels`].
    pub fn labels(&self, values: &[&str]) -> Result<GaugeHandle, MultiProcessError> {
        let key = self.0.key(values, "", None)?;
        let cells = self.0.shared.cells(self.0.kind, &[key])?;
        let most_recent = matches!(self.0.kind, FileKind::Gauge(mode) if mode.most_recent());
        Ok(GaugeHandle { cell: cells[0], most_recent })
    }
}

/// One gauge child, writing through to its cell in the shared file.
#[derive(Debug, Clone, Copy)]
pub struct GaugeHandle {
    pub(super) cell: &'static Cell,
    most_recent: bool,
}

impl GaugeHandle {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.cell.set(v);
        self.touch();
    }

    /// Adds `v`.
    #[inline]
    pub fn inc_by(&self, v: f64) {
        self.cell.add(v);
        self.touch();
    }

    /// Subtracts `v`.
    #[inline]
    pub fn dec_by(&self, v: f64) {
        self.inc_by(-v);
    }

    /// Renamed to [`inc_by`](Self::inc_by), the name every gauge uses.
    #[deprecated(note = "renamed to `inc_by`")]
    #[inline]
    pub fn add(&self, v: f64) {
        self.inc_by(v);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.inc_by(-1.0);
    }

    /// The value in the file.
    pub fn get(&self) -> f64 {
        self.cell.get()
    }

    /// The most-recent modes keep when the value was last changed.
    #[inline]
    fn touch(&self) {
        if self.most_recent {
            self.cell.set_timestamp(unix_now());
        }
    }
}

/// A family of write-through histograms; from
/// [`MultiProcessWriter::histogram`].
///
/// ```
/// use promdecl_runtime::multiprocess::MultiProcessWriter;
/// # let dir = std::env::temp_dir().join(format!("promdecl-mp-hist-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let writer = MultiProcessWriter::builder().dir(&dir).build().unwrap();
/// let latency = writer.histogram("latency_seconds", "Latency.", &[], &[0.1, 1.0]).unwrap();
/// latency.labels(&[]).unwrap().observe(0.25);
/// assert!(writer.histogram("h", "H.", &[], &[1.0, 0.5]).is_err()); // unsorted
/// # drop(writer); std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct HistogramFamily {
    family: Family,
    bounds: Arc<[f64]>,
    /// The `le` label of each bucket, `+Inf` last.
    le: Vec<String>,
}

impl HistogramFamily {
    /// The child with these label values; see [`CounterFamily::labels`].
    /// Its first use appends a cell per bucket and one for the sum.
    pub fn labels(&self, values: &[&str]) -> Result<HistogramHandle, MultiProcessError> {
        let mut keys = Vec::with_capacity(self.le.len() + 1);
        for le in &self.le {
            keys.push(self.family.key(values, "_bucket", Some(("le", le)))?);
        }
        keys.push(self.family.key(values, "_sum", None)?);
        let mut cells = self.family.shared.cells(self.family.kind, &keys)?;
        let sum = cells.pop().expect("the sum's cell");
        Ok(HistogramHandle { bounds: Arc::clone(&self.bounds), buckets: cells.into(), sum })
    }
}

/// One histogram child, writing through to its cells in the shared file.
/// Each bucket's cell counts its own observations; a scrape adds them up.
#[derive(Debug, Clone)]
pub struct HistogramHandle {
    bounds: Arc<[f64]>,
    pub(super) buckets: Arc<[&'static Cell]>,
    pub(super) sum: &'static Cell,
}

impl HistogramHandle {
    /// Counts `v` in its bucket and adds it to the sum.
    #[inline]
    pub fn observe(&self, v: f64) {
        // NaN belongs to no finite bucket: it lands in +Inf.
        let i = if v.is_nan() { self.bounds.len() } else { self.bounds.partition_point(|&b| b < v) };
        self.buckets[i].inc();
        self.sum.add(v);
    }
}

/// A family of write-through summaries; from [`MultiProcessWriter::summary`].
///
/// ```
/// use promdecl_runtime::multiprocess::MultiProcessWriter;
/// # let dir = std::env::temp_dir().join(format!("promdecl-mp-summary-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let writer = MultiProcessWriter::builder().dir(&dir).build().unwrap();
/// writer.summary("payload_bytes", "Payload.", &[]).unwrap().labels(&[]).unwrap().observe(512.0);
/// # drop(writer); std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SummaryFamily(Family);

impl SummaryFamily {
    /// The child with these label values; see [`CounterFamily::labels`].
    pub fn labels(&self, values: &[&str]) -> Result<SummaryHandle, MultiProcessError> {
        let keys = [self.0.key(values, "_count", None)?, self.0.key(values, "_sum", None)?];
        let cells = self.0.shared.cells(self.0.kind, &keys)?;
        Ok(SummaryHandle { count: cells[0], sum: cells[1] })
    }
}

/// One summary child, writing through to its cells in the shared file.
#[derive(Debug, Clone, Copy)]
pub struct SummaryHandle {
    pub(super) count: &'static Cell,
    pub(super) sum: &'static Cell,
}

impl SummaryHandle {
    /// Counts `v` and adds it to the sum.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.count.inc();
        self.sum.add(v);
    }
}

/// The collector given to the builder, written as snapshots.
struct Snapshots {
    shared: Arc<Shared>,
    collector: Arc<dyn Collector>,
    modes: HashMap<String, GaugeMode>,
    /// For each cumulative key: the collector's value written last.
    state: Mutex<HashMap<(FileKind, Vec<u8>), f64>>,
    /// Whether a background flush error was reported.
    reported: AtomicBool,
}

impl Snapshots {
    fn flush(&self) -> Result<(), MultiProcessError> {
        self.shared.check_owner()?;
        // Collect outside any lock: collectors run user code (callback
        // gauges), which may panic; the panic is the flush's error.
        let mut snapshot =
            Snapshot { modes: &self.modes, files: BTreeMap::new(), family: None, labels: Vec::new(), below: 0.0 };
        let collected =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.collector.collect(&mut snapshot)));
        if let Err(panic) = collected {
            return Err(MultiProcessError::CollectorPanicked(panic_message(&*panic)));
        }
        let now = unix_now();
        let mut written_so_far = lock(&self.state);
        let mut result = Ok(());
        for (kind, records) in &snapshot.files {
            let most_recent = matches!(kind, FileKind::Gauge(mode) if mode.most_recent());
            let written = self.shared.with_file(*kind, |file, carried| {
                for (key, value) in records {
                    let cell = file.cell(key)?;
                    if kind.cumulative() {
                        // Added as the difference from the last snapshot, so
                        // that the cell carries on what an earlier process
                        // with this id left. A file this process made
                        // before holds this collector's values already.
                        let last = written_so_far.entry((*kind, key.clone())).or_insert_with(|| {
                            if carried {
                                0.0
                            } else {
                                cell.count()
                            }
                        });
                        // A total that went down (a child removed and made
                        // again) adds nothing until it passes the last one.
                        if *value > *last {
                            cell.add_count(value - *last);
                        }
                        *last = last.max(*value);
                    } else if cell.get().to_bits() != value.to_bits() {
                        // A value never changed from zero counts as never
                        // set, as an unset gauge in the Python client.
                        cell.set(*value);
                        if most_recent {
                            cell.set_timestamp(now);
                        }
                    }
                }
                Ok(())
            });
            result = result.and(written);
        }
        result
    }
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The background thread and how to stop it.
struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Flusher {
    fn start(snapshots: Arc<Snapshots>, interval: Duration) -> Result<Flusher, MultiProcessError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let dir = snapshots.shared.dir.clone();
        let thread = std::thread::Builder::new()
            .name("promdecl-multiprocess".into())
            .spawn(move || loop {
                let (stopped, wake) = &*signal;
                let guard = lock(stopped);
                let (guard, _) = wake
                    .wait_timeout_while(guard, interval, |stopped| !*stopped)
                    .unwrap_or_else(PoisonError::into_inner);
                if *guard {
                    return;
                }
                drop(guard);
                // flush() catches a panicking collector, so the thread lives on.
                match snapshots.flush() {
                    Ok(()) => {}
                    Err(e @ MultiProcessError::CollectorPanicked(_)) => {
                        tracing::error!(error = %e, "promdecl: multiprocess flush: the collector panicked; flushing again next interval");
                    }
                    Err(e) => {
                        if !snapshots.reported.swap(true, Ordering::Relaxed) {
                            tracing::error!(error = %e, "promdecl: multiprocess flush failed (reported once)");
                        }
                    }
                }
            })
            .map_err(|source| MultiProcessError::Io { path: dir, source })?;
        Ok(Flusher { stop, thread })
    }

    fn stop(self) {
        let (stopped, wake) = &*self.stop;
        *lock(stopped) = true;
        wake.notify_all();
        let _ = self.thread.join();
    }
}

/// The sink a snapshot is collected into: the records of each file.
struct Snapshot<'a> {
    modes: &'a HashMap<String, GaugeMode>,
    files: BTreeMap<FileKind, Vec<(Vec<u8>, f64)>>,
    /// The current family, unless it is of a type that is not written.
    family: Option<FamilyKey>,
    labels: Vec<(String, String)>,
    /// The cumulative count of the current series' buckets so far.
    below: f64,
}

struct FamilyKey {
    kind: FileKind,
    code: u8,
    name: String,
    help: String,
}

struct Labels<'a>(&'a mut Vec<(String, String)>);

impl LabelSink for Labels<'_> {
    fn label(&mut self, name: &str, value: &str) {
        self.0.push((name.to_owned(), value.to_owned()));
    }
}

impl MetricEncoder for Snapshot<'_> {
    /// A worker's own metrics are in memory: a failure of one of them leaves
    /// the others to write.
    fn fail(&mut self, _: CollectError) {}

    fn family(&mut self, desc: &Descriptor<'_>) {
        let mode = self.modes.get(desc.name).copied().unwrap_or_default();
        self.family = FileKind::of(desc.kind, mode).zip(format::type_code(desc.kind)).map(|(kind, code)| FamilyKey {
            kind,
            code,
            name: desc.name.to_owned(),
            help: desc.help.to_owned(),
        });
    }

    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.labels.clear();
        labels.encode(&mut Labels(&mut self.labels));
        self.below = 0.0;
    }

    fn sample(&mut self, sample: &Sample<'_>) {
        let Some(family) = &self.family else { return };
        // _created is per process; a histogram's _count is its +Inf bucket.
        if sample.suffix == "_created" || (family.kind == FileKind::Histogram && sample.suffix == "_count") {
            return;
        }
        let mut value = sample.value.as_f64();
        let extra = match sample.extra {
            None => None,
            Some(Extra::Le(le)) => {
                // Buckets are stored apart, as the Python client does, and
                // made cumulative again at merge.
                let cumulative = value;
                value = cumulative - self.below;
                self.below = cumulative;
                Some(("le", le))
            }
            Some(Extra::Quantile(_)) => return,
            Some(Extra::Label(name, v)) => Some((name, v)),
        };
        let labels = self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).chain(extra);
        let mut key = Vec::new();
        format::encode_key(&mut key, family.code, &family.name, &family.help, sample.suffix, labels);
        self.files.entry(family.kind).or_default().push((key, value));
    }
}
