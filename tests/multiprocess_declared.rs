//! Metrics declared in a `#[metrics(multiprocess)]` module, with real
//! processes: their updates write through to the files, so a worker killed
//! outright loses none that returned, and the function attributes work on
//! them.
//!
//! The worker processes are this test binary run again, as in
//! `tests/multiprocess.rs`: `child_entry` plays the role named by
//! `PROMDECL_MPD_ROLE` when the tests start the binary with
//! `child_entry --exact`.
#![cfg(all(feature = "multiprocess", unix))]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use promdecl::encode::{encode_to_string, Format};
use promdecl::multiprocess::{mark_process_dead, Merged, MultiProcessCollector, MultiProcessWriter, DIR_ENV};
use promdecl::prelude::*;
use promdecl::Registry;

const ROLE: &str = "PROMDECL_MPD_ROLE";
/// The directory, for a worker started without `PROMETHEUS_MULTIPROC_DIR`.
const DIR_VAR: &str = "PROMDECL_MPD_DIR";

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, LabelValue)]
#[label(rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    method: Method,
    endpoint: &'static str,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Batch {
    batch: String,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Handler {
    handler: &'static str,
}

promdecl::metrics! {
    /// What the workers record.
    #[metrics(namespace = "mpd", multiprocess)]
    pub mod work {
        /// Requests, by route.
        pub static REQUESTS_TOTAL: Counter<Route>;
        /// Increments, by batch of a thousand (an open label set).
        pub static REPORTED_TOTAL: Counter<Batch>;
        /// Request latency.
        #[buckets(0.25, 1)]
        pub static LATENCY_SECONDS: Histogram<Route>;
        /// Payload sizes.
        pub static PAYLOAD_BYTES: Summary;
        /// Requests being served right now.
        #[multiprocess(mode = "livesum")]
        pub static IN_FLIGHT: Gauge;
        /// Configuration generation.
        #[multiprocess(mode = "max")]
        pub static GENERATION: Gauge;
        /// Call latency, by handler.
        pub static CALL_SECONDS: Histogram<Handler>;
        /// Failed calls, by handler.
        pub static ERRORS_TOTAL: Counter<Handler>;
    }
}

// ---------------------------------------------------------------- children

/// A worker process, when run as one; see the module docs.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var(ROLE) else { return };
    match role.as_str() {
        "count_and_report" => count_and_report(),
        "attributes" => attributes(),
        "before_install" => before_install(),
        other => panic!("unknown role {other}"),
    }
}

/// Blocks until the parent closes our standard input.
fn wait_for_parent() {
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

/// Counts through declared metrics in a loop, and reports the number of
/// iterations on stdout after each one returns, until killed. The writer
/// comes from `PROMETHEUS_MULTIPROC_DIR` at the first update.
fn count_and_report() {
    let get = Route { method: Method::Get, endpoint: "/" };
    let post = Route { method: Method::Post, endpoint: "/submit" };
    let mut out = std::io::stdout().lock();
    let mut batch = Batch { batch: "0".into() };
    for n in 1u64.. {
        work::REQUESTS_TOTAL.labels(if n % 2 == 0 { &get } else { &post }).inc();
        work::LATENCY_SECONDS.labels(&get).observe(0.5);
        work::REPORTED_TOTAL.labels(&batch).inc();
        writeln!(out, "{n}").unwrap();
        if n % 1000 == 0 {
            batch = Batch { batch: (n / 1000).to_string() };
        }
    }
}

#[timed(work::CALL_SECONDS, labels = Handler { handler: "load" })]
#[count_exceptions(work::ERRORS_TOTAL, labels = Handler { handler: "load" })]
fn load(fail: bool) -> Result<(), String> {
    if fail {
        Err("no".into())
    } else {
        Ok(())
    }
}

#[track_inprogress(work::IN_FLIGHT)]
fn serve_until_parent_says() {
    println!("INSIDE");
    wait_for_parent();
}

/// Calls instrumented functions: ten loads, three of them failing, then
/// one call that stays in progress until the parent lets it go.
fn attributes() {
    MultiProcessWriter::builder().install().unwrap();
    for i in 0..10 {
        let _ = load(i % 4 == 0);
    }
    work::GENERATION.set(7.0);
    serve_until_parent_says();
    println!("DONE");
    // Exit without dropping anything: the files hold every update already.
    std::process::exit(0);
}

/// Updates declared metrics before any writer exists (they are kept in
/// memory), installs one, updates more, and waits to be killed.
fn before_install() {
    let get = Route { method: Method::Get, endpoint: "/" };
    for _ in 0..5 {
        work::REQUESTS_TOTAL.labels(&get).inc();
    }
    work::LATENCY_SECONDS.labels(&get).observe(2.0);
    work::PAYLOAD_BYTES.observe(100.0);
    work::IN_FLIGHT.inc();
    // Kept in memory: the process's own registry shows them.
    let text = encode_to_string(promdecl::default_registry(), Format::TEXT);
    assert!(text.contains("mpd_requests_total{method=\"GET\",endpoint=\"/\"} 5\n"), "{text}");
    assert!(MultiProcessWriter::installed().is_none());

    let dir = std::env::var(DIR_VAR).unwrap();
    // With the default registry as its snapshot collector, which holds the
    // declared metrics too: they must reach the files once, not twice.
    MultiProcessWriter::builder().dir(dir).registry(promdecl::default_registry()).install().unwrap();
    // Moved into the files: the process's registry no longer shows them.
    let text = encode_to_string(promdecl::default_registry(), Format::TEXT);
    assert!(!text.contains("mpd_requests_total{"), "{text}");
    work::REQUESTS_TOTAL.labels(&get).inc();
    work::PAYLOAD_BYTES.observe(50.0);
    println!("READY");
    wait_for_parent();
    panic!("should have been killed");
}

// ------------------------------------------------------------------ parent

/// A running child.
struct Worker {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    /// Starts a worker; `dir` goes to `PROMETHEUS_MULTIPROC_DIR` if
    /// `from_env`, else to `PROMDECL_MPD_DIR` only.
    fn spawn(role: &str, dir: &Path, from_env: bool) -> Worker {
        let exe = std::env::current_exe().unwrap();
        let mut command = Command::new(exe);
        command
            .args(["child_entry", "--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(ROLE, role)
            .env_remove(DIR_ENV)
            .env_remove("prometheus_multiproc_dir")
            .env(DIR_VAR, dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if from_env {
            command.env(DIR_ENV, dir);
        }
        let mut child = command.spawn().expect("start a worker");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Worker { child, stdout }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads lines until one starts with `prefix`.
    fn read_line_starting(&mut self, prefix: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "worker {} ended before printing {prefix}", self.pid());
            if line.starts_with(prefix) {
                return;
            }
        }
    }

    /// Closes the worker's stdin and waits for it to exit.
    fn finish(mut self) -> (ExitStatus, String) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("worker {} did not exit within two minutes", self.pid());
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        (status, rest)
    }
}

/// A fresh, empty directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = common::temp_path(name, "d");
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn merge(dir: &Path) -> Merged {
    let merged = MultiProcessCollector::new(dir).unwrap().merge().unwrap();
    assert!(merged.skipped.is_empty(), "skipped files: {:?}", merged.skipped);
    merged
}

/// The samples of one family: `suffix` + labels rendered `a=b,c=d` -> value.
fn samples(merged: &Merged, family: &str) -> BTreeMap<String, f64> {
    merged
        .families
        .iter()
        .filter(|f| f.name == family)
        .flat_map(|f| &f.samples)
        .map(|s| {
            let labels: Vec<String> = s.labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
            (format!("{}{}", s.suffix, labels.join(",")), s.value.as_f64())
        })
        .collect()
}

/// A worker counting through declared metrics, killed with SIGKILL in the
/// middle of its loop, loses nothing: each iteration it reported had
/// returned, so its updates are in the files.
#[test]
fn a_killed_worker_loses_no_declared_update_that_returned() {
    let dir = TempDir::new("declared-sigkill");
    let mut w = Worker::spawn("count_and_report", &dir.0, true);
    let pid = w.pid();
    let mut reported = 0u64;
    let started = Instant::now();
    let mut line = String::new();
    while started.elapsed() < Duration::from_millis(1500) {
        line.clear();
        assert!(w.stdout.read_line(&mut line).unwrap() > 0, "the worker ended");
        // The test harness prints a line or two of its own first.
        if let Ok(n) = line.trim().parse() {
            reported = n;
        }
    }
    w.child.kill().unwrap(); // SIGKILL
    let (status, rest) = w.finish();
    assert!(!status.success());
    // What was in the pipe when it died was reported too.
    if let Some(last) = rest.lines().rev().find_map(|l| l.trim().parse::<u64>().ok()) {
        reported = reported.max(last);
    }
    assert!(reported > 10_000, "only {reported} iterations: not much of a loop");
    let merged = merge(&dir.0);
    let requests = samples(&merged, "mpd_requests");
    let total: f64 = requests.values().sum();
    // At most one iteration returned and was not reported yet.
    let (at_least, at_most) = (reported as f64, reported as f64 + 1.0);
    assert!(total >= at_least && total <= at_most, "worker {pid}: reported {reported}, requests {total}");
    // Each route got its half.
    let get = requests["_totalmethod=GET,endpoint=/"];
    let post = requests["_totalmethod=POST,endpoint=/submit"];
    assert!((get - post).abs() <= 1.0, "GET {get}, POST {post}");
    let batches: f64 = samples(&merged, "mpd_reported").values().sum();
    assert!(batches >= at_least && batches <= at_most, "worker {pid}: reported {reported}, batches {batches}");
    let latency = samples(&merged, "mpd_latency_seconds");
    let count = latency["_countmethod=GET,endpoint=/"];
    assert!(count >= at_least && count <= at_most, "worker {pid}: reported {reported}, observed {count}");
    assert_eq!(latency["_bucketmethod=GET,endpoint=/,le=0.25"], 0.0);
    assert_eq!(latency["_bucketmethod=GET,endpoint=/,le=1.0"], count);
    assert_eq!(latency["_summethod=GET,endpoint=/"], count * 0.5);
}

/// `#[timed]`, `#[count_exceptions]` and `#[track_inprogress]` on declared
/// multiprocess metrics write through too: the in-progress gauge shows the
/// call while it runs, and a worker that exits without dropping anything
/// leaves every count.
#[test]
fn function_attributes_write_through() {
    let dir = TempDir::new("declared-attrs");
    let mut w = Worker::spawn("attributes", &dir.0, true);
    let pid = w.pid();
    w.read_line_starting("INSIDE");
    let merged = merge(&dir.0);
    assert_eq!(samples(&merged, "mpd_in_flight"), BTreeMap::from([(String::new(), 1.0)]));
    assert_eq!(samples(&merged, "mpd_generation"), BTreeMap::from([(String::new(), 7.0)]));
    let calls = samples(&merged, "mpd_call_seconds");
    assert_eq!(calls["_counthandler=load"], 10.0, "{calls:?}");
    assert_eq!(samples(&merged, "mpd_errors"), BTreeMap::from([("_totalhandler=load".to_owned(), 3.0)]));

    let (status, out) = w.finish();
    assert!(status.success(), "worker {pid}: {status}\n{out}");
    assert!(out.contains("DONE"), "{out}");
    let merged = merge(&dir.0);
    assert_eq!(samples(&merged, "mpd_in_flight"), BTreeMap::from([(String::new(), 0.0)]));
    mark_process_dead(pid, &dir.0).unwrap();
    assert!(samples(&merge(&dir.0), "mpd_in_flight").is_empty());
    assert_eq!(samples(&merge(&dir.0), "mpd_generation"), BTreeMap::from([(String::new(), 7.0)]));
}

/// Updates made before the writer is installed are kept in memory and
/// moved into the files at installation: none is lost, none counted twice
/// (not even by the first snapshot of a default registry that holds them).
#[test]
fn updates_before_the_writer_is_installed_are_not_lost() {
    let dir = TempDir::new("declared-before");
    let mut w = Worker::spawn("before_install", &dir.0, false);
    let pid = w.pid();
    w.read_line_starting("READY");
    w.child.kill().unwrap(); // SIGKILL
    let (status, out) = w.finish();
    assert!(!status.success(), "worker {pid} was killed\n{out}");
    let merged = merge(&dir.0);
    assert_eq!(samples(&merged, "mpd_requests"), BTreeMap::from([("_totalmethod=GET,endpoint=/".to_owned(), 6.0)]));
    let latency = samples(&merged, "mpd_latency_seconds");
    assert_eq!(latency["_countmethod=GET,endpoint=/"], 1.0, "{latency:?}");
    assert_eq!(latency["_summethod=GET,endpoint=/"], 2.0);
    assert_eq!(latency["_bucketmethod=GET,endpoint=/,le=1.0"], 0.0);
    let payload = samples(&merged, "mpd_payload_bytes");
    assert_eq!(payload, BTreeMap::from([("_count".to_owned(), 2.0), ("_sum".to_owned(), 150.0)]));
    assert_eq!(samples(&merged, "mpd_in_flight"), BTreeMap::from([(String::new(), 1.0)]));
}

/// In a process with no writer, declared multiprocess metrics are kept in
/// memory and exposed by the process's own registry, as in-memory metrics.
#[test]
fn without_a_writer_the_process_exposes_them_itself() {
    if std::env::var_os(DIR_ENV).is_some() || std::env::var_os(ROLE).is_some() {
        return; // this process may get a writer from the environment
    }
    let get = Route { method: Method::Get, endpoint: "/idle" };
    work::REQUESTS_TOTAL.labels(&get).inc();
    assert_eq!(work::REQUESTS_TOTAL.labels(&get).get(), 1.0);
    let registry = Registry::new();
    registry.register(work::REQUESTS_TOTAL.clone()).unwrap();
    let text = encode_to_string(&registry, Format::TEXT);
    assert!(text.contains("mpd_requests_total{method=\"GET\",endpoint=\"/idle\"} 1\n"), "{text}");
}
