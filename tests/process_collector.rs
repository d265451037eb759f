//! The process collector against values read independently from `/proc`
//! (and `getconf`), for this process, a child process, a pid that does not
//! exist and a fixture directory (the Python client's test data).
//!
//! Thread and descriptor counts are process-wide, and the test harness runs
//! tests on several threads: every test here takes [`serial`], and the
//! counting tests retry a few times in case a harness thread came or went
//! between two reads.
#![cfg(all(feature = "process", target_os = "linux"))]

mod common;

use std::fs::{self, File};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use promdecl::collector::ProcessCollector;
use promdecl::encode::{encode_to_string, Format};
use promdecl::registry::FamilyDesc;
use promdecl::{default_registry, Collector, MetricType, Registry};

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// One sample (no labels) of one scrape of `c`.
fn value(c: &ProcessCollector, name: &str) -> Option<f64> {
    let registry = Registry::new();
    registry.register(c.clone()).unwrap();
    registry.get_sample_value(name, &[])
}

fn getconf(name: &str) -> f64 {
    let out = Command::new("getconf").arg(name).output().expect("run getconf");
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap_or_else(|e| panic!("getconf {name}: {e}"))
}

fn ticks() -> f64 {
    getconf("CLK_TCK")
}

fn page_size() -> f64 {
    getconf("PAGESIZE")
}

/// The fields of `/proc/<pid>/stat` after the command name: index 0 is
/// field 3 (state) of proc(5).
fn stat_fields(pid: &str) -> Vec<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &text[text.rfind(')').unwrap() + 1..];
    // Index 0 is the state, a letter.
    rest.split_whitespace().map(|f| f.parse().unwrap_or(f64::NAN)).collect()
}

// proc(5) field numbers minus 3, as indexes into `stat_fields`.
const UTIME: usize = 11;
const STIME: usize = 12;
const NUM_THREADS: usize = 17;
const STARTTIME: usize = 19;
const VSIZE: usize = 20;
const RSS: usize = 21;

fn boot_time() -> f64 {
    let stat = fs::read_to_string("/proc/stat").unwrap();
    stat.lines().find_map(|l| l.strip_prefix("btime ")).unwrap().trim().parse().unwrap()
}

/// `(size, resident)` of `/proc/<pid>/statm`, in bytes.
fn statm(pid: &str) -> (f64, f64) {
    let text = fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let mut f = text.split_whitespace().map(|f| f.parse::<f64>().unwrap() * page_size());
    (f.next().unwrap(), f.next().unwrap())
}

fn fd_count(pid: &str) -> f64 {
    fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count() as f64
}

/// The soft "Max open files" limit of `/proc/<pid>/limits`.
fn max_open_files(pid: &str) -> f64 {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

fn now() -> f64 {
    common::now()
}

#[test]
fn thread_count_rises_by_the_threads_spawned() {
    const N: usize = 4;
    let _serial = serial();
    let c = ProcessCollector::new();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let before = value(&c, "process_threads").unwrap();
        let barrier = Arc::new(Barrier::new(N + 1));
        let threads: Vec<_> = (0..N)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                })
            })
            .collect();
        let during = value(&c, "process_threads").unwrap();
        let independent = stat_fields("self")[NUM_THREADS];
        barrier.wait();
        threads.into_iter().for_each(|t| t.join().unwrap());
        if during - before == N as f64 && during == independent {
            return;
        }
        seen.push((before, during, independent));
        thread::sleep(Duration::from_millis(50));
    }
    panic!("expected +{N} threads, matching /proc/self/stat; saw (before, during, /proc) {seen:?}");
}

#[test]
fn open_fds_rise_by_the_files_opened() {
    const K: usize = 5;
    let _serial = serial();
    let c = ProcessCollector::new();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let before = value(&c, "process_open_fds").unwrap();
        let files: Vec<File> = (0..K).map(|_| File::open("/dev/null").unwrap()).collect();
        let after = value(&c, "process_open_fds").unwrap();
        // Both listings count the descriptor they list /proc/self/fd with.
        let independent = fd_count("self");
        drop(files);
        if after - before == K as f64 && after == independent {
            return;
        }
        seen.push((before, after, independent));
        thread::sleep(Duration::from_millis(50));
    }
    panic!("expected +{K} fds, matching /proc/self/fd; saw (before, after, /proc) {seen:?}");
}

#[test]
fn max_fds_is_the_soft_limit() {
    let _serial = serial();
    assert_eq!(value(&ProcessCollector::new(), "process_max_fds"), Some(max_open_files("self")));
}

#[test]
fn memory_is_plausible_against_statm() {
    let _serial = serial();
    let c = ProcessCollector::new();
    let rss = value(&c, "process_resident_memory_bytes").unwrap();
    let vmem = value(&c, "process_virtual_memory_bytes").unwrap();
    let (statm_size, statm_rss) = statm("self");
    assert!(rss > 0.0 && rss <= vmem, "rss {rss}, vmem {vmem}");
    assert_eq!(rss % page_size(), 0.0, "rss {rss} is a whole number of pages");
    // Read at slightly different moments, by a process that allocates.
    let near = |a: f64, b: f64| a / b > 0.5 && a / b < 2.0;
    assert!(near(rss, statm_rss), "rss {rss} vs statm {statm_rss}");
    assert!(near(vmem, statm_size), "vmem {vmem} vs statm {statm_size}");
}

#[test]
fn start_time_is_the_process_start() {
    let _serial = serial();
    let start = value(&ProcessCollector::new(), "process_start_time_seconds").unwrap();
    let expected = stat_fields("self")[STARTTIME] / ticks() + boot_time();
    assert!((start - expected).abs() < 1e-6, "start {start}, /proc/self/stat says {expected}");
    // btime is whole seconds, so allow a second either way.
    assert!(start <= now() + 1.0, "start {start} is in the future");
    // The test binary started within the hour, surely.
    assert!(start > now() - 3600.0, "start {start} is more than an hour ago");
}

#[test]
fn cpu_seconds_grow_with_busy_work() {
    let _serial = serial();
    let c = ProcessCollector::new();
    let cpu = |pid: &str| {
        let f = stat_fields(pid);
        (f[UTIME] + f[STIME]) / ticks()
    };
    let first = value(&c, "process_cpu_seconds_total").unwrap();
    let independent = cpu("self");
    assert!(independent >= first, "collector {first} ahead of /proc/self/stat {independent}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut x = 0u64;
    while cpu("self") < first + 0.1 && Instant::now() < deadline {
        for i in 0..100_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    }
    let busy = cpu("self");
    let second = value(&c, "process_cpu_seconds_total").unwrap();
    assert!(busy >= first + 0.1, "0.1 s of CPU not reached in 20 s ({first} -> {busy})");
    assert!(second >= busy, "collector {second} behind /proc/self/stat {busy}");
}

#[test]
fn a_missing_pid_yields_no_samples() {
    let _serial = serial();
    let gone = ProcessCollector::new().pid(i32::MAX as u32);
    assert_eq!(encode_to_string(&gone, Format::TEXT), "");
    assert_eq!(encode_to_string(&gone, Format::OPENMETRICS), "# EOF\n");
    let none = ProcessCollector::new().pid_fn(|| None);
    assert_eq!(encode_to_string(&none, Format::TEXT), "");
    let no_proc = ProcessCollector::new().proc_root("/nonexistent/proc");
    assert_eq!(encode_to_string(&no_proc, Format::TEXT), "");
    // Still describes its families, so registering it reserves the names.
    assert_eq!(gone.describe().len(), 7);
    let registry = Registry::new();
    registry.register(gone).unwrap();
    let err = registry.register(no_proc).unwrap_err();
    assert!(err.to_string().contains("process_"), "{err}");
}

/// Kills and reaps the child when dropped, so a failing assertion does not
/// leave a `sleep` behind.
struct Sleeper(Child);

impl Sleeper {
    fn spawn() -> Sleeper {
        let child = Command::new("sleep")
            .arg("5")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let sleeper = Sleeper(child);
        // Wait until it is asleep: past exec and the loader's open files.
        let pid = sleeper.pid();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let comm_ok = stat.contains("(sleep)");
            let state = stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next());
            if comm_ok && state == Some("S") {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        thread::sleep(Duration::from_millis(50));
        sleeper
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_child_process_reports_its_own_values() {
    let _serial = serial();
    let spawned_at = now();
    let mut child = Sleeper::spawn();
    let pid = child.pid();
    let c = ProcessCollector::new().pid(child.0.id());

    let f = stat_fields(&pid);
    let (size, resident) = statm(&pid);
    assert_eq!(value(&c, "process_threads"), Some(1.0));
    assert_eq!(value(&c, "process_threads"), Some(f[NUM_THREADS]));
    assert_eq!(value(&c, "process_virtual_memory_bytes"), Some(f[VSIZE]));
    assert_eq!(value(&c, "process_virtual_memory_bytes"), Some(size));
    assert_eq!(value(&c, "process_resident_memory_bytes"), Some(f[RSS] * page_size()));
    // statm's resident and stat's rss come from the same counters, but
    // kernels with per-CPU counters may round them apart.
    let rss = value(&c, "process_resident_memory_bytes").unwrap();
    assert!((rss - resident).abs() <= 0.25 * resident, "rss {rss}, statm resident {resident}");
    assert_eq!(value(&c, "process_open_fds"), Some(fd_count(&pid)));
    assert_eq!(value(&c, "process_max_fds"), Some(max_open_files(&pid)));
    let cpu = value(&c, "process_cpu_seconds_total").unwrap();
    assert_eq!(cpu, (f[UTIME] + f[STIME]) / ticks());
    assert!(cpu < 1.0, "sleep used {cpu} s of CPU");

    let start = value(&c, "process_start_time_seconds").unwrap();
    assert!((start - (f[STARTTIME] / ticks() + boot_time())).abs() < 1e-6);
    // btime is whole seconds and the start is in clock ticks.
    assert!((spawned_at - 1.5..=now() + 1.5).contains(&start), "start {start}, spawned at {spawned_at}");
    let own_start = value(&ProcessCollector::new(), "process_start_time_seconds").unwrap();
    assert!(start >= own_start, "the child {start} started before this process {own_start}");

    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert_eq!(encode_to_string(&c, Format::TEXT), "", "a reaped child has no /proc entry");
}

#[test]
fn a_pid_source_is_asked_on_every_scrape() {
    let _serial = serial();
    let child = Sleeper::spawn();
    let pidfile = common::temp_path("pidfile", "pid");
    let path = pidfile.clone();
    let c = ProcessCollector::new()
        .namespace("mydaemon")
        .pid_fn(move || fs::read_to_string(&path).ok()?.trim().parse().ok());
    assert_eq!(encode_to_string(&c, Format::TEXT), "", "no pid file yet");
    fs::write(&pidfile, format!("{}\n", child.0.id())).unwrap();
    assert_eq!(value(&c, "mydaemon_process_threads"), Some(1.0));
    assert_eq!(value(&c, "mydaemon_process_open_fds"), Some(fd_count(&child.pid())));
    fs::write(&pidfile, "self").unwrap();
    assert_eq!(encode_to_string(&c, Format::TEXT), "", "an unparsable pid file");
    let _ = fs::remove_file(&pidfile);
}

#[test]
fn a_namespace_prefixes_every_name() {
    let _serial = serial();
    let c = ProcessCollector::new().namespace("mydaemon");
    let text = encode_to_string(&c, Format::TEXT);
    for name in [
        "mydaemon_process_cpu_seconds_total",
        "mydaemon_process_open_fds",
        "mydaemon_process_max_fds",
        "mydaemon_process_virtual_memory_bytes",
        "mydaemon_process_resident_memory_bytes",
        "mydaemon_process_start_time_seconds",
        "mydaemon_process_threads",
    ] {
        assert!(text.contains(&format!("\n{name} ")), "no {name} in\n{text}");
        assert!(text.contains(&format!("# HELP {name} ")), "no HELP for {name} in\n{text}");
    }
    assert_eq!(common::sample_lines(&text).len(), 7, "{text}");
    assert!(common::sample_lines(&text).iter().all(|l| l.starts_with("mydaemon_process_")), "{text}");
    assert_eq!(
        c.describe().iter().map(|d| (d.name.as_str(), d.kind)).collect::<Vec<_>>(),
        [
            ("mydaemon_process_virtual_memory_bytes", MetricType::Gauge),
            ("mydaemon_process_resident_memory_bytes", MetricType::Gauge),
            ("mydaemon_process_start_time_seconds", MetricType::Gauge),
            ("mydaemon_process_cpu_seconds", MetricType::Counter),
            ("mydaemon_process_threads", MetricType::Gauge),
            ("mydaemon_process_open_fds", MetricType::Gauge),
            ("mydaemon_process_max_fds", MetricType::Gauge),
        ]
    );
    // A namespaced collector and a plain one live side by side; two plain
    // ones collide.
    let registry = Registry::new();
    registry.register(c).unwrap();
    registry.register(ProcessCollector::new()).unwrap();
    assert!(registry.register(ProcessCollector::new()).is_err());
    assert_eq!(ProcessCollector::new().namespace("").describe()[0].name, "process_virtual_memory_bytes");
}

/// The namespace setter does not fail, like every other setter: an invalid
/// namespace is refused where the collector is registered, with the name it
/// would have made, and nothing of it is exposed.
#[test]
fn an_invalid_namespace_is_refused_at_registration() {
    let _serial = serial();
    let registry = Registry::new();
    let err = registry.register(ProcessCollector::new().namespace("my-daemon")).unwrap_err();
    assert!(
        matches!(&err, promdecl::Error::InvalidMetricName { name, .. } if name.starts_with("my-daemon_process_")),
        "{err:?}"
    );
    assert_eq!(encode_to_string(&registry, Format::TEXT), "");
    registry.register(ProcessCollector::new().namespace("my_daemon")).unwrap();
}

/// The Python client's fixture (tests/proc): pid 26231, a vim.
fn python_fixture(root: &Path) {
    fs::create_dir_all(root.join("26231/fd")).unwrap();
    fs::write(
        root.join("stat"),
        "cpu  301854 612 111922 8979004 3552 2 3944 0 0 0\n\
         cpu0 44490 19 21045 1087069 220 1 3410 0 0 0\n\
         intr 8355220\nctxt 40437347\nbtime 1418183276\nprocesses 26442\nprocs_running 2\nprocs_blocked 0\n",
    )
    .unwrap();
    fs::write(
        root.join("26231/stat"),
        "26231 (vim) R 5392 7446 5392 34835 7446 4218880 32533 309516 26 82 1677 44 158 99 20 0 1 0 82375 \
         56274944 1981 18446744073709551615 4194304 6294284 140736914091744 140736914087944 139965136429984 0 0 \
         12288 1870679807 0 0 0 17 0 0 0 31 0 0 8391624 8481048 16420864 140736914093252 140736914093279 \
         140736914093279 140736914096107 0\n",
    )
    .unwrap();
    fs::write(
        root.join("26231/limits"),
        "Limit                     Soft Limit           Hard Limit           Units\n\
         Max cpu time              unlimited            unlimited            seconds\n\
         Max file size             unlimited            unlimited            bytes\n\
         Max data size             unlimited            unlimited            bytes\n\
         Max stack size            8388608              unlimited            bytes\n\
         Max core file size        0                    unlimited            bytes\n\
         Max resident set          unlimited            unlimited            bytes\n\
         Max processes             62898                62898                processes\n\
         Max open files            2048                 4096                 files\n\
         Max locked memory         65536                65536                bytes\n\
         Max address space         unlimited            unlimited            bytes\n\
         Max file locks            unlimited            unlimited            locks\n\
         Max pending signals       62898                62898                signals\n\
         Max msgqueue size         819200               819200               bytes\n\
         Max nice priority         0                    0\n\
         Max realtime priority     0                    0\n\
         Max realtime timeout      unlimited            unlimited            us\n",
    )
    .unwrap();
    for fd in 0..5 {
        File::create(root.join(format!("26231/fd/{fd}"))).unwrap();
    }
}

#[test]
fn a_proc_fixture_gives_the_python_clients_values() {
    let _serial = serial();
    let root = common::temp_path("proc", "d");
    python_fixture(&root);
    let c = ProcessCollector::new().proc_root(&root).pid(26231);
    let (ticks, page) = (ticks(), page_size());
    // test_process_collector.py's expectations, which assume 100 Hz and 4 KiB pages.
    let expected = [
        ("process_cpu_seconds_total", 1721.0 / ticks),
        ("process_virtual_memory_bytes", 56274944.0),
        ("process_resident_memory_bytes", 1981.0 * page),
        ("process_start_time_seconds", 82375.0 / ticks + 1418183276.0),
        ("process_max_fds", 2048.0),
        ("process_open_fds", 5.0),
        ("process_threads", 1.0),
    ];
    for (name, v) in expected {
        assert_eq!(value(&c, name), Some(v), "{name}");
    }
    if (ticks, page) == (100.0, 4096.0) {
        assert_eq!(
            encode_to_string(&c, Format::TEXT),
            "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n\
             # TYPE process_virtual_memory_bytes gauge\n\
             process_virtual_memory_bytes 56274944.0\n\
             # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\n\
             process_resident_memory_bytes 8114176.0\n\
             # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n\
             # TYPE process_start_time_seconds gauge\n\
             process_start_time_seconds 1418184099.75\n\
             # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total 17.21\n\
             # HELP process_threads Number of OS threads in the process.\n\
             # TYPE process_threads gauge\n\
             process_threads 1.0\n\
             # HELP process_open_fds Number of open file descriptors.\n\
             # TYPE process_open_fds gauge\n\
             process_open_fds 5.0\n\
             # HELP process_max_fds Maximum number of open file descriptors.\n\
             # TYPE process_max_fds gauge\n\
             process_max_fds 2048.0\n"
        );
    }
    // Without a readable btime the collector is off, as in the Python client.
    fs::remove_file(root.join("stat")).unwrap();
    let c = ProcessCollector::new().proc_root(&root).pid(26231);
    assert_eq!(encode_to_string(&c, Format::TEXT), "");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_default_registry_holds_a_process_collector() {
    let _serial = serial();
    let registry = default_registry();
    assert!(ProcessCollector::default_id().is_some(), "registered by default on Linux");
    assert!(registry.describe().contains(&FamilyDesc::new("process_cpu_seconds", MetricType::Counter)));
    assert!(registry.get_sample_value("process_threads", &[]).unwrap() >= 1.0);
    assert!(registry.get_sample_value("process_resident_memory_bytes", &[]).unwrap() > 0.0);
    assert!(promdecl::registration_errors().is_empty(), "{:?}", promdecl::registration_errors());
    // Its names are taken: a user metric of the same name is refused.
    let err = promdecl::Gauge::builder("process_open_fds", "Mine.").register(registry).unwrap_err();
    assert!(err.to_string().contains("process_open_fds"), "{err}");

    for format in [Format::TEXT, Format::OPENMETRICS] {
        let text = encode_to_string(registry, format);
        let cpu_type = if text.ends_with("# EOF\n") {
            "# TYPE process_cpu_seconds counter\n"
        } else {
            "# TYPE process_cpu_seconds_total counter\n"
        };
        assert!(text.contains(cpu_type), "{text}");
        assert!(text.contains("rust_info{version=\""), "{text}");
        let Some(v) = common::validate("default_registry_process", &text) else { continue };
        assert!(v.ok, "validator rejected the default registry ({format:?}):\n{}\n{text}", v.output);
        let dump = v.dump.expect("the validator's dump");
        let family =
            |name: &str| dump.items().iter().find(|f| f.get("name").and_then(|n| n.as_str()) == Some(name)).cloned();
        let cpu = family("process_cpu_seconds").expect("process_cpu_seconds parsed");
        assert_eq!(cpu.get("type").and_then(|t| t.as_str()), Some("counter"));
        let threads = family("process_threads").expect("process_threads parsed");
        assert_eq!(threads.get("type").and_then(|t| t.as_str()), Some("gauge"));
    }
}
