//! The process collector: CPU time, memory, file descriptors, threads and
//! start time of a process, read from `/proc` (the Python client's
//! `ProcessCollector`, with its metric names and help texts).
//!
//! ```
//! use promdecl_runtime::{collector::ProcessCollector, Registry};
//!
//! let registry = Registry::new();
//! registry.register(ProcessCollector::new()).unwrap();
//! if cfg!(all(feature = "process", target_os = "linux")) {
//!     assert!(registry.get_sample_value("process_resident_memory_bytes", &[]).unwrap() > 0.0);
//!     assert!(registry.get_sample_value("process_cpu_seconds_total", &[]).is_some());
//! }
//! ```
//!
//! `/proc` is read with the `procfs` crate (built without its default
//! features, it adds only `rustix` and a few small crates): it parses `stat`
//! and `limits` the way the kernel documents them, and gives the clock tick
//! and page size through `sysconf` without `libc` bindings of our own. Open
//! descriptors are counted by listing `fd/`, as the Python and Go clients do
//! (procfs's shortcut for that count is only right on a real `/proc`, not on
//! the directory [`ProcessCollector::proc_root`] may point at).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use once_cell::sync::OnceCell;

use crate::encode::{Descriptor, MetricEncoder, Number, Sample};
use crate::registry::FamilyDesc;
use crate::{Collector, CollectorId, MetricType};

/// Family names (after the `process_` prefix), help texts and types, in
/// exposition order. The help texts are the Python client's; `threads` is
/// not in it and takes rust-prometheus's text.
const FAMILIES: [(&str, &str, MetricType); 7] = [
    ("virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge),
    ("resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge),
    ("start_time_seconds", "Start time of the process since unix epoch in seconds.", MetricType::Gauge),
    ("cpu_seconds", "Total user and system CPU time spent in seconds.", MetricType::Counter),
    ("threads", "Number of OS threads in the process.", MetricType::Gauge),
    ("open_fds", "Number of open file descriptors.", MetricType::Gauge),
    ("max_fds", "Maximum number of open file descriptors.", MetricType::Gauge),
];

#[cfg(all(feature = "process", target_os = "linux"))]
const VIRTUAL_MEMORY: usize = 0;
#[cfg(all(feature = "process", target_os = "linux"))]
const RESIDENT_MEMORY: usize = 1;
#[cfg(all(feature = "process", target_os = "linux"))]
const START_TIME: usize = 2;
#[cfg(all(feature = "process", target_os = "linux"))]
const CPU: usize = 3;
#[cfg(all(feature = "process", target_os = "linux"))]
const THREADS: usize = 4;
#[cfg(all(feature = "process", target_os = "linux"))]
const OPEN_FDS: usize = 5;
#[cfg(all(feature = "process", target_os = "linux"))]
const MAX_FDS: usize = 6;

type PidSource = Arc<dyn Fn() -> Option<u32> + Send + Sync>;

/// Exports the standard `process_*` metrics of this process, or of another
/// one, from `/proc`:
///
/// | metric | type | value |
/// | --- | --- | --- |
/// | `process_cpu_seconds_total` | counter | user + system CPU time |
/// | `process_open_fds` | gauge | entries of `/proc/<pid>/fd` |
/// | `process_max_fds` | gauge | soft `RLIMIT_NOFILE` (left out when unlimited) |
/// | `process_virtual_memory_bytes` | gauge | `vsize` |
/// | `process_resident_memory_bytes` | gauge | `rss` × page size |
/// | `process_start_time_seconds` | gauge | boot time + `starttime` |
/// | `process_threads` | gauge | `num_threads` |
///
/// A scrape never fails because of it: when `/proc` cannot be read or the
/// process is gone, it yields nothing (or only what could be read). The
/// [default registry](crate::default_registry) holds one for this process.
///
/// **Linux only, with the `process` feature** (on by default in `promdecl`).
/// Elsewhere the type exists, so code using it compiles everywhere, but it
/// collects nothing and the default registry does not hold one. Its [`describe`](Collector::describe) lists the
/// families on every target, so the names are reserved alike.
///
/// ```
/// use promdecl_runtime::{collector::ProcessCollector, encode::{encode_to_string, Format}};
///
/// // The Python `ProcessCollector(namespace='mydaemon', pid=lambda: open(pidfile).read())`.
/// let pidfile = std::env::temp_dir().join("promdecl-doc-mydaemon.pid");
/// std::fs::write(&pidfile, std::process::id().to_string()).unwrap();
/// let collector = ProcessCollector::new()
///     .namespace("mydaemon")
///     .pid_fn(move || std::fs::read_to_string(&pidfile).ok()?.trim().parse().ok());
/// let text = encode_to_string(&collector, Format::TEXT);
/// if cfg!(all(feature = "process", target_os = "linux")) {
///     assert!(text.contains("# TYPE mydaemon_process_cpu_seconds_total counter\n"));
/// }
/// ```
#[derive(Clone)]
pub struct ProcessCollector {
    /// Full family names, in [`FAMILIES`] order.
    names: [String; 7],
    namespace: String,
    /// `None`: the collecting process itself (`/proc/self`).
    pid: Option<PidSource>,
    proc_root: PathBuf,
    /// Seconds since the epoch, from `btime` in `<proc_root>/stat`; kept once
    /// read (it does not change), retried while it cannot be.
    boot_time: OnceCell<f64>,
}

impl fmt::Debug for ProcessCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessCollector")
            .field("namespace", &self.namespace)
            .field("pid", &self.pid.as_ref().map_or("self", |_| "fn"))
            .field("proc_root", &self.proc_root)
            .finish()
    }
}

impl Default for ProcessCollector {
    fn default() -> Self {
        ProcessCollector::new()
    }
}

impl ProcessCollector {
    /// A collector for the calling process, with the plain `process_` prefix.
    ///
    /// ```
    /// let c = promdecl_runtime::collector::ProcessCollector::new();
    /// assert_eq!(c.namespace_str(), "");
    /// ```
    pub fn new() -> Self {
        ProcessCollector {
            names: family_names(""),
            namespace: String::new(),
            pid: None,
            proc_root: PathBuf::from("/proc"),
            boot_time: OnceCell::new(),
        }
    }

    /// Prefixes every name with `namespace_`: `mydaemon_process_cpu_seconds_total`.
    /// An empty namespace means no prefix.
    ///
    /// Like every setter, it does not fail: a namespace that is not a valid
    /// metric name is refused when the collector is registered.
    ///
    /// ```
    /// use promdecl_runtime::{collector::ProcessCollector, registry::FamilyDesc, Collector, MetricType, Registry};
    /// let c = ProcessCollector::new().namespace("mydaemon");
    /// assert!(c.describe().contains(&FamilyDesc::new("mydaemon_process_cpu_seconds", MetricType::Counter)));
    /// assert!(Registry::new().register(ProcessCollector::new().namespace("my daemon")).is_err());
    /// ```
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        self.names = family_names(&namespace);
        self.namespace = namespace;
        self
    }

    /// The namespace set with [`namespace`](Self::namespace), or `""`.
    ///
    /// ```
    /// use promdecl_runtime::collector::ProcessCollector;
    /// assert_eq!(ProcessCollector::new().namespace("app").namespace_str(), "app");
    /// ```
    pub fn namespace_str(&self) -> &str {
        &self.namespace
    }

    /// Monitors the process `pid` instead of the calling one.
    ///
    /// ```
    /// use promdecl_runtime::{collector::ProcessCollector, Registry};
    /// let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
    /// let registry = Registry::new();
    /// registry.register(ProcessCollector::new().pid(child.id())).unwrap();
    /// if cfg!(all(feature = "process", target_os = "linux")) {
    ///     assert_eq!(registry.get_sample_value("process_threads", &[]), Some(1.0));
    /// }
    /// child.kill().unwrap();
    /// child.wait().unwrap();
    /// ```
    pub fn pid(self, pid: u32) -> Self {
        self.pid_fn(move || Some(pid))
    }

    /// Monitors the process whose id `pid` returns, asked again on every
    /// scrape (for a daemon that writes a pid file, say); `None` means there
    /// is no such process at the moment, and the scrape gets nothing from
    /// this collector. See the [type docs](Self) for an example.
    ///
    /// ```
    /// use promdecl_runtime::{collector::ProcessCollector, encode::{encode_to_string, Format}};
    /// let c = ProcessCollector::new().pid_fn(|| None);
    /// assert_eq!(encode_to_string(&c, Format::TEXT), "");
    /// ```
    pub fn pid_fn(mut self, pid: impl Fn() -> Option<u32> + Send + Sync + 'static) -> Self {
        self.pid = Some(Arc::new(pid));
        self
    }

    /// Reads from another directory than `/proc` (the Python client's
    /// `proc=` argument): a container's, or a fixture in a test.
    ///
    /// ```
    /// use promdecl_runtime::{collector::ProcessCollector, encode::{encode_to_string, Format}};
    /// let c = ProcessCollector::new().proc_root("/nonexistent");
    /// assert_eq!(encode_to_string(&c, Format::TEXT), "");
    /// ```
    pub fn proc_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.proc_root = root.into();
        self.boot_time = OnceCell::new();
        self
    }

    /// The id under which the [default registry](crate::default_registry)
    /// holds its process collector, to take it out as the Python client's
    /// `REGISTRY.unregister(PROCESS_COLLECTOR)` does. `None` on targets other
    /// than Linux, or if a `metrics!` block declared one of its names first.
    ///
    /// ```
    /// use promdecl_runtime::{collector::ProcessCollector, default_registry};
    /// if let Some(id) = ProcessCollector::default_id() {
    ///     default_registry().unregister(id).unwrap();
    /// }
    /// assert_eq!(default_registry().get_sample_value("process_threads", &[]), None);
    /// ```
    pub fn default_id() -> Option<CollectorId> {
        crate::default_registry();
        DEFAULT_ID.get().copied()
    }

    #[cfg_attr(not(all(feature = "process", target_os = "linux")), allow(dead_code))]
    fn write(&self, enc: &mut dyn MetricEncoder, family: usize, value: f64) {
        const NO_LABELS: &[(&str, &str)] = &[];
        let (_, help, kind) = FAMILIES[family];
        enc.family(&Descriptor { name: &self.names[family], help, unit: "", kind });
        enc.series(&NO_LABELS);
        let suffix = if kind == MetricType::Counter { "_total" } else { "" };
        enc.sample(&Sample::new(suffix, Number::Float(value)));
    }
}

fn family_names(namespace: &str) -> [String; 7] {
    let prefix = if namespace.is_empty() { "process_".to_owned() } else { format!("{namespace}_process_") };
    FAMILIES.map(|(name, _, _)| format!("{prefix}{name}"))
}

static DEFAULT_ID: OnceCell<CollectorId> = OnceCell::new();

/// Puts a process collector for this process in the default registry.
#[cfg(all(feature = "process", target_os = "linux"))]
pub(crate) fn register_default() {
    if let Some(id) = crate::registry::register_builtin(ProcessCollector::new()) {
        let _ = DEFAULT_ID.set(id);
    }
}

impl Collector for ProcessCollector {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        #[cfg(all(feature = "process", target_os = "linux"))]
        self.collect_linux(enc);
        #[cfg(not(all(feature = "process", target_os = "linux")))]
        let _ = enc;
    }

    fn describe(&self) -> Vec<FamilyDesc> {
        self.names.iter().zip(FAMILIES).map(|(name, (_, _, kind))| FamilyDesc::new(name, kind)).collect()
    }
}

#[cfg(all(feature = "process", target_os = "linux"))]
impl ProcessCollector {
    /// Each group of values is read on its own, so what can be read is
    /// exposed even when the rest cannot (another user's process hides its
    /// `fd/`, say). Every failure means "no sample", as in the Python client.
    fn collect_linux(&self, enc: &mut dyn MetricEncoder) {
        use procfs::process::{LimitValue, Process};

        // As in the Python client, an unreadable `stat` (no /proc) disables
        // the collector.
        let Some(boot_time) = self.boot_time() else { return };
        let dir = match &self.pid {
            None => "self".to_owned(),
            Some(pid) => match pid() {
                Some(pid) => pid.to_string(),
                None => return,
            },
        };
        let path = self.proc_root.join(dir);
        let Ok(process) = Process::new_with_root(path.clone()) else { return };

        if let Ok(stat) = process.stat() {
            // sysconf cannot really fail on Linux; 100 Hz and 4 KiB are the
            // Python client's fallbacks.
            let ticks = match procfs::ticks_per_second() {
                0 => 100.0,
                t => t as f64,
            };
            let page_size = match procfs::page_size() {
                0 => 4096.0,
                p => p as f64,
            };
            self.write(enc, VIRTUAL_MEMORY, stat.vsize as f64);
            self.write(enc, RESIDENT_MEMORY, stat.rss as f64 * page_size);
            self.write(enc, START_TIME, stat.starttime as f64 / ticks + boot_time);
            self.write(enc, CPU, (stat.utime + stat.stime) as f64 / ticks);
            self.write(enc, THREADS, stat.num_threads as f64);
        }
        let max_fds = process.limits().ok().and_then(|limits| match limits.max_open_files.soft_limit {
            LimitValue::Value(max) => Some(max),
            LimitValue::Unlimited => None,
        });
        // `process` holds a descriptor of the /proc/<pid> directory: close
        // it first, so that only the one listing fd/ is counted, as in the
        // Python client.
        drop(process);
        if let Ok(fds) = std::fs::read_dir(path.join("fd")) {
            self.write(enc, OPEN_FDS, fds.count() as f64);
        }
        if let Some(max) = max_fds {
            self.write(enc, MAX_FDS, max as f64);
        }
    }

    fn boot_time(&self) -> Option<f64> {
        use procfs::FromReadSI;

        self.boot_time
            .get_or_try_init(|| {
                let stat = procfs::KernelStats::from_file(self.proc_root.join("stat"), procfs::current_system_info());
                stat.map(|s| s.btime as f64)
            })
            .ok()
            .copied()
    }
}
