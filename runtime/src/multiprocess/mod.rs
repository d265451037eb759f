//! Multiprocess mode, for pre-fork servers and pools of worker processes:
//! each process keeps its metrics in files in a shared directory, and the
//! process that serves `/metrics` merges them at scrape, as the Python
//! client's multiprocess mode does.
//!
//! * The metrics declared in a `metrics!` module marked
//!   `#[metrics(multiprocess)]` ([`MultiProcessCounter`],
//!   [`MultiProcessGauge`], [`MultiProcessHistogram`],
//!   [`MultiProcessSummary`]) keep the typed API of the in-memory ones
//!   (`labels(&Route)`, `inc`, `observe`, `set`, the function attributes)
//!   and write through to the files of the process's installed writer
//!   ([`MultiProcessWriterBuilder::install`], or one made from
//!   `PROMETHEUS_MULTIPROC_DIR` at the first update). A gauge takes its
//!   [`GaugeMode`] from `#[multiprocess(mode = "livesum")]` (`all` by
//!   default, as in the Python client).
//! * A [`MultiProcessWriter`] owns the process's files. Metrics made from it
//!   ([`counter`](MultiProcessWriter::counter),
//!   [`gauge`](MultiProcessWriter::gauge),
//!   [`histogram`](MultiProcessWriter::histogram),
//!   [`summary`](MultiProcessWriter::summary)) by name at run time keep
//!   their values in the files too.
//! * Either way, a child takes its cell in the file on first use, and every
//!   update is an atomic operation on the shared mapping (write-through): a
//!   worker killed outright loses no update that returned.
//! * A [collector](MultiProcessWriterBuilder::collector) given to the writer
//!   (other `metrics!` modules through the default registry, callback
//!   gauges) is written as a snapshot every flush interval, from a
//!   background thread.
//! * Where the scrape is served, a [`MultiProcessCollector`] reads every file
//!   and merges them: counters, summaries and histograms (bucket by bucket)
//!   are summed, gauges are combined per their [`GaugeMode`]. A file it
//!   cannot read fails the scrape, naming the file.
//! * When a worker exits, [`mark_process_dead`] removes its files for the
//!   `live*` gauge modes.
//!
//! A declared metric updated while no writer is installed (and none can be
//! made from the environment) keeps its updates in memory, where the
//! process's own registry shows them, and an error is logged once through
//! `tracing`; installing the writer moves them into the files, so none is
//! lost. Likewise when a child cannot take its cell (a full disk): its
//! updates stay in memory, and move to the file at the first later update
//! that finds room.
//!
//! ```
//! use promdecl_runtime::encode::{try_encode, Format};
//! use promdecl_runtime::multiprocess::{GaugeMode, MultiProcessCollector, MultiProcessWriter};
//! use promdecl_runtime::Registry;
//!
//! let dir = std::env::temp_dir().join(format!("promdecl-mp-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//!
//! // In each worker process:
//! let writer = MultiProcessWriter::builder().dir(&dir).build().unwrap();
//! let jobs = writer.counter("jobs", "Jobs done.", &[]).unwrap().labels(&[]).unwrap();
//! let busy = writer.gauge("busy", "Busy workers.", &[], GaugeMode::LiveSum).unwrap().labels(&[]).unwrap();
//! busy.set(1.0);
//! jobs.inc_by(3.0).unwrap();
//!
//! // Where /metrics is served: a registry holding only the merged view.
//! let scrape = Registry::new();
//! scrape.register(MultiProcessCollector::new(&dir).unwrap()).unwrap();
//! let mut text = Vec::new();
//! try_encode(&scrape, Format::TEXT, &mut text).unwrap();
//! assert_eq!(
//!     String::from_utf8(text).unwrap(),
//!     concat!(
//!         "# HELP busy Busy workers.\n# TYPE busy gauge\nbusy 1.0\n",
//!         "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n",
//!     )
//! );
//! drop(writer);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! # Files
//!
//! Each process writes `counter_<id>.db`, `histogram_<id>.db`,
//! `summary_<id>.db` and `gauge_<mode>_<id>.db`, named as in the Python
//! client, though in a format of promdecl's own (neither client reads the
//! other's files), and holds an `flock` on `.lock_<id>` while it writes them,
//! so that a second live writer with the same id is refused. A file is a
//! header and segments of records, each record a series key and an atomic
//! cell; segments are reserved on disk (`posix_fallocate`) before they are
//! mapped, so a full disk is an error when a new child needs room, never a
//! `SIGBUS`. Files are created under a temporary name with `O_EXCL` and
//! `O_NOFOLLOW` and renamed into place; existing files are opened with
//! `O_NOFOLLOW`. Readers load every byte of a live mapping atomically.
//!
//! A new process that gets the id of a dead one carries on the dead one's
//! counters, histograms and summaries, as in the Python client.
//!
//! # Deployment
//!
//! * Point every process at the same directory, with the environment
//!   variable `PROMETHEUS_MULTIPROC_DIR` (set it in the start-up script, so
//!   that it reaches every child) or explicitly with
//!   [`MultiProcessWriterBuilder::dir`] and [`MultiProcessCollector::new`].
//! * Wipe the directory between runs of the server (before start-up), by
//!   deleting its files: never truncate a file while a process may have it
//!   mapped (a reader of a file that shrank would fault; promdecl itself
//!   only ever grows files, and replaces them by renaming).
//! * Create (or install) the writer in each worker *after* it is forked or
//!   spawned. A writer inherited through `fork()` refuses new children and
//!   flushes in the child ([`MultiProcessError::Forked`]), but handles
//!   resolved before the fork (and declared metrics' children that took
//!   their cells before it) write to the parent's cells from the child: do
//!   not update declared multiprocess metrics in a parent that forks
//!   workers. [`install`](MultiProcessWriterBuilder::install) in a forked
//!   child replaces the inherited writer.
//! * When a worker exits, call [`mark_process_dead`] with its process id (in
//!   gunicorn's terms, from the `child_exit` hook).
//! * Serve a registry that holds the [`MultiProcessCollector`] and not the
//!   workers' metrics themselves, or they are exposed twice.
//!
//! # Limits
//!
//! The limits the Python client documents, and how they apply here:
//!
//! * *Registries cannot be used as normal; all instantiated metrics are
//!   exported.* Every family a writer holds is written.
//! * What is written through: the metrics of `#[metrics(multiprocess)]`
//!   modules and those made from the writer. What is a snapshot: the
//!   writer's collector, below.
//! * *Custom collectors do not work.* Here they can be given to the writer
//!   as its collector and are written as snapshots, once per flush interval:
//!   a process killed outright loses what they recorded since the last one,
//!   and they reach the scrape up to one interval late. Their gauges are
//!   merged per the mode, so per-process values such as memory use only
//!   make sense in the `all` modes (a `pid` label per process).
//! * *Gauges cannot use `set_function`.* A callback gauge in the collector is
//!   evaluated at each flush, in the process that owns it, not at scrape.
//! * *Info and Enum metrics do not work.* Info, state set (enum), gauge
//!   histogram and unknown-typed families are not written, nor is
//!   `target_info` (set it on the scraping registry). Declaring an Info or
//!   Enum (or a `ShardedCounter`) in a `#[metrics(multiprocess)]` module is
//!   a compile error.
//! * *The Pushgateway cannot be used* from a worker for the merged values:
//!   push a registry holding the [`MultiProcessCollector`] instead.
//! * *Gauges cannot use the `pid` label*: the `all` and `liveall` modes add
//!   it.
//! * *Exemplars are not supported*: they are dropped; so are `_created`
//!   samples, and summary quantiles.
//! * A histogram observation adds to its bucket and to its sum one after
//!   the other; a scrape in between sees one without the other.
//!
//! * `remove()` and `clear()` on a declared multiprocess metric hide
//!   children from the process's own registry only; their values stay in
//!   the files. The installed writer lives as long as the process: its
//!   collector, if any, is not flushed at exit (call
//!   [`MultiProcessWriter::flush`] first).
//!
//! Also: the files of dead processes stay (counters must not go down), so a
//! scrape reads one file per type per process that ever ran since the
//! directory was wiped; a child's cell is never freed; a gauge must use the
//! same mode in every process; one series key may take at most 4 MiB.

mod collector;
mod declared;
mod format;
mod writer;

pub use collector::{Merged, MultiProcessCollector, SkippedFile};
pub use declared::{
    build_multiprocess, MultiProcessCounter, MultiProcessCounterCell, MultiProcessGauge, MultiProcessGaugeCell,
    MultiProcessHistogram, MultiProcessHistogramCell, MultiProcessMetric, MultiProcessSummary, MultiProcessSummaryCell,
    Spec,
};
pub use writer::{
    CounterFamily, CounterHandle, GaugeFamily, GaugeHandle, HistogramFamily, HistogramHandle, MultiProcessWriter,
    MultiProcessWriterBuilder, SummaryFamily, SummaryHandle,
};

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::MetricType;

/// The environment variable naming the directory of multiprocess mode.
pub const DIR_ENV: &str = "PROMETHEUS_MULTIPROC_DIR";
/// The older, lower-case spelling, still read when [`DIR_ENV`] is unset.
const LEGACY_DIR_ENV: &str = "prometheus_multiproc_dir";

/// How the values of one gauge in several processes are combined at scrape
/// (the Python client's `multiprocess_mode`).
///
/// The `live*` modes count only processes that have not been passed to
/// [`mark_process_dead`].
///
/// ```
/// use promdecl_runtime::multiprocess::GaugeMode;
/// let mode: GaugeMode = "livesum".parse().unwrap();
/// assert_eq!(mode, GaugeMode::LiveSum);
/// assert!(mode.is_live());
/// assert_eq!(GaugeMode::default().as_str(), "all");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum GaugeMode {
    /// One series per process, told apart by a `pid` label (the default).
    #[default]
    All,
    /// As [`All`](Self::All), for live processes only.
    LiveAll,
    /// The smallest value of any process.
    Min,
    /// The smallest value of any live process.
    LiveMin,
    /// The largest value of any process.
    Max,
    /// The largest value of any live process.
    LiveMax,
    /// The sum over all processes.
    Sum,
    /// The sum over live processes, such as requests in progress.
    LiveSum,
    /// The value that changed last.
    MostRecent,
    /// The value that changed last, among live processes.
    LiveMostRecent,
}

impl GaugeMode {
    /// Every mode.
    pub const ALL: [GaugeMode; 10] = [
        GaugeMode::All,
        GaugeMode::LiveAll,
        GaugeMode::Min,
        GaugeMode::LiveMin,
        GaugeMode::Max,
        GaugeMode::LiveMax,
        GaugeMode::Sum,
        GaugeMode::LiveSum,
        GaugeMode::MostRecent,
        GaugeMode::LiveMostRecent,
    ];

    /// The mode's name, as the Python client spells it.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::multiprocess::GaugeMode::LiveMostRecent.as_str(), "livemostrecent");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            GaugeMode::All => "all",
            GaugeMode::LiveAll => "liveall",
            GaugeMode::Min => "min",
            GaugeMode::LiveMin => "livemin",
            GaugeMode::Max => "max",
            GaugeMode::LiveMax => "livemax",
            GaugeMode::Sum => "sum",
            GaugeMode::LiveSum => "livesum",
            GaugeMode::MostRecent => "mostrecent",
            GaugeMode::LiveMostRecent => "livemostrecent",
        }
    }

    /// Whether the mode forgets processes passed to [`mark_process_dead`].
    ///
    /// ```
    /// use promdecl_runtime::multiprocess::GaugeMode;
    /// assert!(GaugeMode::LiveMax.is_live() && !GaugeMode::Max.is_live());
    /// ```
    pub const fn is_live(self) -> bool {
        matches!(
            self,
            GaugeMode::LiveAll
                | GaugeMode::LiveMin
                | GaugeMode::LiveMax
                | GaugeMode::LiveSum
                | GaugeMode::LiveMostRecent
        )
    }

    /// Whether each process keeps its own series, labelled `pid`.
    const fn per_process(self) -> bool {
        matches!(self, GaugeMode::All | GaugeMode::LiveAll)
    }

    /// Whether values carry the time they last changed.
    const fn most_recent(self) -> bool {
        matches!(self, GaugeMode::MostRecent | GaugeMode::LiveMostRecent)
    }
}

impl fmt::Display for GaugeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GaugeMode {
    type Err = MultiProcessError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GaugeMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| MultiProcessError::UnknownGaugeMode(s.to_owned()))
    }
}

/// What can go wrong in multiprocess mode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MultiProcessError {
    /// No directory was given and the environment names none.
    #[error("no multiprocess directory: set PROMETHEUS_MULTIPROC_DIR to a directory shared by all processes, or pass one explicitly")]
    DirNotSet,
    /// The directory does not exist.
    #[error("multiprocess directory {0} does not exist or is not a directory: create it (empty) before starting the processes")]
    NotADirectory(PathBuf),
    /// Reading or writing a file failed.
    #[error("multiprocess file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Another live writer, of this or another process, has the same id.
    #[error("a live MultiProcessWriter with process id {process_id} already writes to {dir}: keep one writer per process, and give processes in different PID namespaces different ids")]
    WriterExists {
        /// The directory.
        dir: PathBuf,
        /// The process id its files are named after.
        process_id: u32,
    },
    /// [`install`](MultiProcessWriterBuilder::install) was called twice in
    /// one process.
    #[error("this process installed a MultiProcessWriter already (process id {process_id}, directory {dir}): install one per process")]
    AlreadyInstalled {
        /// The installed writer's directory.
        dir: PathBuf,
        /// The installed writer's process id.
        process_id: u32,
    },
    /// The writer was inherited through `fork()`.
    #[error("this MultiProcessWriter belongs to process {owner}, not to this forked child {current}: create a new writer in the child")]
    Forked {
        /// The process that created the writer.
        owner: u32,
        /// This process.
        current: u32,
    },
    /// The collector given to the writer panicked while a snapshot was taken.
    #[error("the multiprocess writer's collector panicked: {0}")]
    CollectorPanicked(String),
    /// A metric name, label or value was refused.
    #[error(transparent)]
    Metric(#[from] crate::Error),
    /// A gauge mode name that does not exist.
    #[error("unknown gauge mode {0:?}: expected all, liveall, min, livemin, max, livemax, sum, livesum, mostrecent or livemostrecent")]
    UnknownGaugeMode(String),
}

/// The directory named by `PROMETHEUS_MULTIPROC_DIR` (or its older
/// lower-case spelling).
///
/// ```
/// // Unset in doctests:
/// # if std::env::var_os("PROMETHEUS_MULTIPROC_DIR").is_none() && std::env::var_os("prometheus_multiproc_dir").is_none() {
/// assert!(promdecl_runtime::multiprocess::dir_from_env().is_err());
/// # }
/// ```
pub fn dir_from_env() -> Result<PathBuf, MultiProcessError> {
    [DIR_ENV, LEGACY_DIR_ENV]
        .into_iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or(MultiProcessError::DirNotSet)
}

fn check_dir(dir: &Path) -> Result<(), MultiProcessError> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(MultiProcessError::NotADirectory(dir.to_owned()))
    }
}

/// Forgets a process for the `live*` gauge modes: removes its files of
/// those modes from `dir`. Call it when a worker has exited. Its counters,
/// histograms, summaries and other gauges stay.
///
/// ```
/// use promdecl_runtime::multiprocess::mark_process_dead;
/// let dir = std::env::temp_dir();
/// mark_process_dead(4_000_000, &dir).unwrap(); // nothing to remove: fine
/// assert!(mark_process_dead(1, dir.join("no-such-dir")).is_err());
/// ```
pub fn mark_process_dead(pid: u32, dir: impl AsRef<Path>) -> Result<(), MultiProcessError> {
    let dir = dir.as_ref();
    check_dir(dir)?;
    for mode in GaugeMode::ALL.into_iter().filter(|m| m.is_live()) {
        let path = dir.join(file_name(&FileKind::Gauge(mode), pid));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(MultiProcessError::Io { path, source }),
        }
    }
    Ok(())
}

/// Which file of a process a family goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum FileKind {
    Counter,
    Histogram,
    Summary,
    Gauge(GaugeMode),
}

impl FileKind {
    fn of(kind: MetricType, mode: GaugeMode) -> Option<FileKind> {
        match kind {
            MetricType::Counter => Some(FileKind::Counter),
            MetricType::Histogram => Some(FileKind::Histogram),
            MetricType::Summary => Some(FileKind::Summary),
            MetricType::Gauge => Some(FileKind::Gauge(mode)),
            _ => None,
        }
    }

    fn metric_type(self) -> MetricType {
        match self {
            FileKind::Counter => MetricType::Counter,
            FileKind::Histogram => MetricType::Histogram,
            FileKind::Summary => MetricType::Summary,
            FileKind::Gauge(_) => MetricType::Gauge,
        }
    }

    /// Whether values only add up, so that a file left by an earlier
    /// process with the same id must be carried on rather than replaced.
    fn cumulative(self) -> bool {
        !matches!(self, FileKind::Gauge(_))
    }
}

/// `counter_<pid>.db`, `gauge_livesum_<pid>.db`, ... as the Python client
/// names them.
fn file_name(kind: &FileKind, pid: u32) -> String {
    match kind {
        FileKind::Counter => format!("counter_{pid}.db"),
        FileKind::Histogram => format!("histogram_{pid}.db"),
        FileKind::Summary => format!("summary_{pid}.db"),
        FileKind::Gauge(mode) => format!("gauge_{mode}_{pid}.db"),
    }
}

/// The kind and process id of a file name made by [`file_name`].
fn parse_file_name(name: &str) -> Option<(FileKind, &str)> {
    let (prefix, pid) = name.strip_suffix(".db")?.rsplit_once('_')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kind = match prefix {
        "counter" => FileKind::Counter,
        "histogram" => FileKind::Histogram,
        "summary" => FileKind::Summary,
        _ => FileKind::Gauge(prefix.strip_prefix("gauge_")?.parse().ok()?),
    };
    Some((kind, pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        let kinds = [FileKind::Counter, FileKind::Histogram, FileKind::Summary]
            .into_iter()
            .chain(GaugeMode::ALL.into_iter().map(FileKind::Gauge));
        for kind in kinds {
            let name = file_name(&kind, 4711);
            assert_eq!(parse_file_name(&name), Some((kind, "4711")), "{name}");
        }
        for bad in [
            "counter.db",
            "counter_.db",
            "counter_12.txt",
            "gauge_12.db",
            "gauge_nope_12.db",
            "x_1.db",
            "counter_1a.db",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }
}
