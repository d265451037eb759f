//! The writing side: snapshots of one process's metrics, taken through the
//! ordinary [`Collector`] interface and published to that process's files.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use once_cell::sync::Lazy;

use super::format::{self, FileWriter};
use super::{check_dir, dir_from_env, file_name, FileKind, GaugeMode, MultiProcessError};
use crate::encode::{Descriptor, EncodeLabels, Extra, LabelSink, MetricEncoder, Sample};
use crate::metric::unix_now;
use crate::Collector;

/// The directories and process ids that a writer of this process writes to,
/// with the id of the process that created the writer (a forked child
/// inherits this set).
static ACTIVE: Lazy<Mutex<HashSet<(PathBuf, u32, u32)>>> = Lazy::new(Mutex::default);
/// The files this process has created. A writer created again in the same
/// process replaces them, since its collector still holds every value; a
/// file left by another process that had the same id is carried on instead.
static CREATED: Lazy<Mutex<HashSet<PathBuf>>> = Lazy::new(Mutex::default);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

    /// What to write, instead of the [`default_registry`](crate::default_registry).
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::MultiProcessWriter;
    /// use promdecl_runtime::Registry;
    /// let builder = MultiProcessWriter::builder().collector(Registry::new());
    /// ```
    pub fn collector(mut self, collector: impl Collector + 'static) -> Self {
        self.collector = Some(Arc::new(collector));
        self
    }

    /// How often the background thread writes a snapshot (1 s by default):
    /// the most a scrape lags behind, and the most a crash loses.
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

    /// How the values of the gauge family `name` (its full name) in the
    /// different processes are combined; [`GaugeMode::All`] if not set.
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

    /// Writes a first snapshot and starts the flush thread.
    ///
    /// Fails if the directory does not exist, if a file cannot be written,
    /// or if another writer of this process writes to the same directory.
    pub fn build(self) -> Result<MultiProcessWriter, MultiProcessError> {
        let dir = match self.dir {
            Some(dir) => dir,
            None => dir_from_env()?,
        };
        check_dir(&dir)?;
        let process_id = self.process_id.unwrap_or_else(std::process::id);
        // Absolute, so that one directory reached by two paths is one.
        let dir = dir.canonicalize().map_err(|source| MultiProcessError::Io { path: dir.clone(), source })?;
        let active = (dir.clone(), process_id, std::process::id());
        if !lock(&ACTIVE).insert(active.clone()) {
            return Err(MultiProcessError::WriterExists { dir, process_id });
        }
        let collector = self.collector.unwrap_or_else(|| Arc::new(crate::default_registry()));
        let shared = Arc::new(Shared {
            collector,
            dir,
            process_id,
            owner: std::process::id(),
            modes: self.modes,
            next_seq: AtomicU64::new(0),
            state: Mutex::new(State { files: BTreeMap::new(), published: 0 }),
            reported: AtomicBool::new(false),
        });
        let mut writer = MultiProcessWriter { shared, flusher: None, active };
        writer.flush()?;
        if let Some(interval) = self.interval {
            writer.flusher = Some(Flusher::start(Arc::clone(&writer.shared), interval)?);
        }
        Ok(writer)
    }
}

/// Writes this process's metrics to its files in the multiprocess
/// directory, for a [`MultiProcessCollector`](super::MultiProcessCollector)
/// to merge: every flush interval, on [`flush`](Self::flush), and when
/// dropped. Keep one per process, for as long as the process records
/// metrics; see the [module docs](super).
///
/// ```
/// use promdecl_runtime::multiprocess::MultiProcessWriter;
/// use promdecl_runtime::{Counter, Registry};
///
/// let dir = std::env::temp_dir().join(format!("promdecl-mp-writer-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let registry = Registry::new();
/// let c = Counter::builder("jobs", "J.").register(&registry).unwrap();
/// let writer = MultiProcessWriter::builder().dir(&dir).collector(registry).build().unwrap();
/// c.inc();
/// writer.flush().unwrap();
/// assert!(dir.join(format!("counter_{}.db", writer.process_id())).exists());
/// drop(writer);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct MultiProcessWriter {
    shared: Arc<Shared>,
    flusher: Option<Flusher>,
    active: (PathBuf, u32, u32),
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

    /// Writes a snapshot now: call it before `std::process::exit`, or
    /// whenever a scrape must see the values already.
    ///
    /// Fails in a child forked from the process that created the writer,
    /// and if a file cannot be written.
    pub fn flush(&self) -> Result<(), MultiProcessError> {
        self.shared.flush()
    }

    /// The directory written to, made absolute.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The id this process's files are named after.
    pub fn process_id(&self) -> u32 {
        self.shared.process_id
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
        let _ = self.shared.flush();
        lock(&ACTIVE).remove(&self.active);
    }
}

/// The background thread and how to stop it.
struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Flusher {
    fn start(shared: Arc<Shared>, interval: Duration) -> Result<Flusher, MultiProcessError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let dir = shared.dir.clone();
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
                if let Err(e) = shared.flush() {
                    if !shared.reported.swap(true, Ordering::Relaxed) {
                        eprintln!("promdecl: multiprocess flush failed (reported once): {e}");
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

/// What the writer and its thread share.
struct Shared {
    collector: Arc<dyn Collector>,
    dir: PathBuf,
    process_id: u32,
    /// The process that created the writer.
    owner: u32,
    modes: HashMap<String, GaugeMode>,
    /// Numbers snapshots in the order they are taken.
    next_seq: AtomicU64,
    state: Mutex<State>,
    /// Whether a background flush error was printed.
    reported: AtomicBool,
}

struct State {
    files: BTreeMap<FileKind, OpenFile>,
    /// The number of the last snapshot published.
    published: u64,
}

impl Shared {
    fn flush(&self) -> Result<(), MultiProcessError> {
        let current = std::process::id();
        if current != self.owner {
            return Err(MultiProcessError::Forked { owner: self.owner, current });
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        // Collect outside the lock: collectors run user code (callback gauges).
        let mut snapshot =
            Snapshot { modes: &self.modes, files: BTreeMap::new(), family: None, labels: Vec::new(), below: 0.0 };
        self.collector.collect(&mut snapshot);
        let now = unix_now();
        let mut state = lock(&self.state);
        if seq < state.published {
            // A snapshot taken later has been published meanwhile.
            return Ok(());
        }
        state.published = seq;
        // A file whose families are gone gets an empty snapshot.
        for kind in state.files.keys() {
            snapshot.files.entry(*kind).or_default();
        }
        let mut result = Ok(());
        for (kind, records) in &snapshot.files {
            let published = self.publish(&mut state, *kind, records, now);
            result = result.and(published);
        }
        result
    }

    fn publish(
        &self,
        state: &mut State,
        kind: FileKind,
        records: &[(Vec<u8>, f64)],
        now: f64,
    ) -> Result<(), MultiProcessError> {
        let path = self.dir.join(file_name(&kind, self.process_id));
        let io = |source| MultiProcessError::Io { path: path.clone(), source };
        match state.files.entry(kind) {
            Entry::Occupied(mut e) => {
                let file = e.get_mut();
                let payload = file.values.payload(kind, records, now);
                file.writer.publish(&payload).map_err(io)
            }
            Entry::Vacant(e) => {
                let mut created = lock(&CREATED);
                let base = if kind.cumulative() && !created.contains(&path) { carried(&path) } else { HashMap::new() };
                let mut values = Values { base, changed: HashMap::new() };
                let payload = values.payload(kind, records, now);
                let writer = FileWriter::create(&path, &payload).map_err(io)?;
                created.insert(path.clone());
                e.insert(OpenFile { writer, values });
                Ok(())
            }
        }
    }
}

/// The values in a file left by an earlier process with the same id (a
/// reused process id), which this process carries on, as the Python client
/// does, so that counters do not go down.
fn carried(path: &Path) -> HashMap<Vec<u8>, f64> {
    let mut base = HashMap::new();
    if let Ok(payload) = format::read_payload(path) {
        if let Ok(records) = format::parse_payload(&payload) {
            for r in records {
                *base.entry(r.key.to_vec()).or_insert(0.0) += r.value;
            }
        }
    }
    base
}

/// One file of this process.
struct OpenFile {
    writer: FileWriter,
    values: Values,
}

/// What a file's records are computed from besides the snapshot.
struct Values {
    /// Values carried on from an earlier process with the same id.
    base: HashMap<Vec<u8>, f64>,
    /// For the most-recent modes: each key's last value and when it changed.
    changed: HashMap<Vec<u8>, (f64, f64)>,
}

impl Values {
    fn payload(&mut self, kind: FileKind, records: &[(Vec<u8>, f64)], now: f64) -> Vec<u8> {
        let most_recent = matches!(kind, FileKind::Gauge(mode) if mode.most_recent());
        let mut out = Vec::with_capacity(records.iter().map(|(k, _)| k.len() + 24).sum());
        let mut changed = HashMap::new();
        for (key, value) in records {
            let value = value + self.base.get(key).copied().unwrap_or(0.0);
            let timestamp = if most_recent {
                // A value never changed from zero counts as never set, as
                // an unset gauge in the Python client.
                let timestamp = match self.changed.get(key) {
                    Some(&(old, at)) if old.to_bits() == value.to_bits() => at,
                    None if value == 0.0 => 0.0,
                    _ => now,
                };
                changed.insert(key.clone(), (value, timestamp));
                timestamp
            } else {
                0.0
            };
            format::push_record(&mut out, key, value, timestamp);
        }
        if !self.base.is_empty() {
            let present: HashSet<&[u8]> = records.iter().map(|(k, _)| k.as_slice()).collect();
            for (key, value) in &self.base {
                if !present.contains(key.as_slice()) {
                    format::push_record(&mut out, key, *value, 0.0);
                }
            }
        }
        if most_recent {
            self.changed = changed;
        }
        out
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
    fn fail(&mut self, _: crate::encode::CollectError) {}

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
