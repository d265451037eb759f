//! Multiprocess mode with real processes.
//!
//! The worker processes are this test binary run again: `child_entry` is a
//! test that does nothing in a normal run, and plays the role named by the
//! `PROMDECL_MP_TEST_ROLE` environment variable when the tests below start
//! the binary with `child_entry --exact`. The parent (the test) then merges
//! the files the children wrote and checks exact totals.
#![cfg(feature = "multiprocess")]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use promdecl::encode::{encode_to_string, Format};
use promdecl::multiprocess::{
    mark_process_dead, GaugeMode, Merged, MultiProcessCollector, MultiProcessError, MultiProcessWriter, DIR_ENV,
};
use promdecl::{Counter, Gauge, Histogram, Registry, Summary};

const ROLE: &str = "PROMDECL_MP_TEST_ROLE";
/// The values the workers observe, in turn; exact in binary, so sums are too.
const OBSERVATIONS: [f64; 3] = [0.25, 0.5, 2.0];

// ---------------------------------------------------------------- children

/// A worker process, when run as one; see the module docs.
#[test]
fn child_entry() {
    let Ok(role) = std::env::var(ROLE) else { return };
    match role.as_str() {
        "worker" => worker(),
        "gauges" => gauges(),
        "hammer" => hammer(),
        "reuse" => reuse(),
        other => panic!("unknown role {other}"),
    }
}

fn env<T: std::str::FromStr>(name: &str) -> T {
    let v = std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    v.parse().unwrap_or_else(|_| panic!("bad {name}: {v}"))
}

/// Blocks until the parent closes our standard input.
fn wait_for_parent() {
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

/// Counts `PROMDECL_MP_K` jobs, then ends as `PROMDECL_MP_END` says:
/// `return` (drops the writer), `exit` (flushes, then `process::exit`
/// without dropping anything) or `killed` (relies on the background flush
/// and waits to be killed).
fn worker() {
    let k: usize = env("PROMDECL_MP_K");
    let end: String = env("PROMDECL_MP_END");
    let registry = Registry::new();
    let jobs = Counter::builder("mp_jobs", "Jobs.").labels(["kind"]).register(&registry).unwrap();
    let latency = Histogram::builder("mp_latency_seconds", "Latency.").buckets([0.3, 1.0]).register(&registry).unwrap();
    let payload = Summary::builder("mp_payload_bytes", "Payload.").register(&registry).unwrap();
    let busy = Gauge::builder("mp_busy", "Busy.").register(&registry).unwrap();
    let interval = Duration::from_millis(if end == "killed" { 10 } else { 1000 });
    // The directory comes from PROMETHEUS_MULTIPROC_DIR.
    let writer = MultiProcessWriter::builder()
        .collector(registry)
        .gauge_mode("mp_busy", GaugeMode::LiveSum)
        .flush_interval(interval)
        .build()
        .unwrap();
    busy.set(1.0);
    for i in 0..k {
        jobs.with_label_values(&["whole"]).unwrap().inc();
        jobs.with_label_values(&["half"]).unwrap().inc_by(0.5).unwrap();
        latency.observe(OBSERVATIONS[i % 3]);
        payload.observe(100.0);
    }
    match end.as_str() {
        "return" => {
            busy.set(0.0);
            drop(writer);
        }
        "exit" => {
            writer.flush().unwrap();
            std::process::exit(0);
        }
        "killed" => {
            // Plenty of background flushes, then a crash.
            std::thread::sleep(interval * 50);
            println!("READY");
            wait_for_parent();
            panic!("should have been killed");
        }
        other => panic!("unknown end {other}"),
    }
}

/// Sets one gauge per mode to `PROMDECL_MP_VALUE`, says READY, and with
/// `PROMDECL_MP_HOLD` stays alive until the parent lets it go.
fn gauges() {
    let value: f64 = env("PROMDECL_MP_VALUE");
    let registry = Registry::new();
    let mut builder = MultiProcessWriter::builder().manual_flush();
    for mode in GaugeMode::ALL {
        let name = format!("g_{mode}");
        Gauge::builder(&name, "G.").register(&registry).unwrap().set(value);
        builder = builder.gauge_mode(name, mode);
    }
    // Never set: a most-recent gauge without a value is not exposed.
    Gauge::builder("g_unset", "U.").register(&registry).unwrap();
    let writer = builder.gauge_mode("g_unset", GaugeMode::MostRecent).collector(registry).build().unwrap();
    println!("READY");
    if std::env::var_os("PROMDECL_MP_HOLD").is_some() {
        wait_for_parent();
    }
    drop(writer);
}

/// Increments many series together and flushes after each round, until
/// the parent creates the file `stop`; each published snapshot has every
/// series equal, so a torn read would show.
fn hammer() {
    let dir = promdecl::multiprocess::dir_from_env().unwrap();
    let registry = Registry::new();
    let torn = Counter::builder("mp_torn", "Torn.").labels(["i"]).register(&registry).unwrap();
    let seconds = Histogram::builder("mp_torn_seconds", "S.").buckets([1.0]).register(&registry).unwrap();
    let children: Vec<_> = (0..256).map(|i| torn.with_label_values(&[&i.to_string()]).unwrap().handle()).collect();
    let writer = MultiProcessWriter::builder().collector(registry).manual_flush().build().unwrap();
    println!("READY");
    let mut rounds = 0u64;
    while !dir.join("stop").exists() && rounds < 1_000_000 {
        for child in &children {
            child.inc();
        }
        seconds.observe(0.5);
        rounds += 1;
        writer.flush().unwrap();
    }
    println!("DONE {rounds}");
}

/// Counts `PROMDECL_MP_K` under the process id `PROMDECL_MP_ID`, as a
/// process that got the id of an earlier, dead one.
fn reuse() {
    let k: u64 = env("PROMDECL_MP_K");
    let registry = Registry::new();
    let c = Counter::builder("mp_reused", "R.").register(&registry).unwrap();
    let writer = MultiProcessWriter::builder().collector(registry).process_id(env("PROMDECL_MP_ID")).build().unwrap();
    c.add(k);
    drop(writer);
}

// ------------------------------------------------------------------ parent

/// A running child.
struct Worker {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn spawn(role: &str, dir: &Path, vars: &[(&str, String)]) -> Worker {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["child_entry", "--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(ROLE, role)
            .env(DIR_ENV, dir)
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a worker");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Worker { child, stdout }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads lines until one starts with `prefix`, and returns it.
    fn read_line_starting(&mut self, prefix: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "worker {} ended before printing {prefix}", self.pid());
            if line.starts_with(prefix) {
                return line.trim_end().to_owned();
            }
        }
    }

    /// Lets the worker go on (closes its stdin) and waits for it to exit.
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

    fn finish_ok(self) -> String {
        let pid = self.pid();
        let (status, out) = self.finish();
        assert!(status.success(), "worker {pid} failed: {status}\n{out}");
        out
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

fn scrape(dir: &Path) -> String {
    let registry = Registry::new();
    registry.register(MultiProcessCollector::new(dir).unwrap()).unwrap();
    encode_to_string(&registry, Format::TEXT)
}

/// The samples of one family: labels rendered `a=b,c=d` -> value.
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

/// The one value of an unlabelled gauge, or `None` if it is not exposed.
fn gauge(merged: &Merged, name: &str) -> Option<f64> {
    let s = samples(merged, name);
    assert!(s.len() <= 1, "{name}: {s:?}");
    s.get("").copied()
}

#[test]
fn workers_counters_histograms_and_summaries_add_up() {
    let dir = TempDir::new("totals");
    // Two return normally, one exits early after flushing, one is killed
    // after only background flushes.
    let plan: [(usize, &str); 4] = [(1000, "return"), (500, "exit"), (1000, "killed"), (250, "return")];
    let mut workers: Vec<Worker> = plan
        .iter()
        .map(|&(k, end)| {
            Worker::spawn("worker", &dir.0, &[("PROMDECL_MP_K", k.to_string()), ("PROMDECL_MP_END", end.to_owned())])
        })
        .collect();
    let mut killed = workers.remove(2);
    let killed_pid = killed.pid();
    killed.read_line_starting("READY");
    killed.child.kill().unwrap();
    let (status, _) = killed.finish();
    assert!(!status.success(), "the killed worker was killed");
    let pids: Vec<u32> = workers.iter().map(Worker::pid).collect();
    for w in workers {
        w.finish_ok();
    }

    let total: usize = plan.iter().map(|p| p.0).sum();
    let (mut n0, mut n1) = (0, 0);
    for &(k, _) in &plan {
        n0 += k.div_ceil(3);
        n1 += (k + 1) / 3;
    }
    let n2 = total - n0 - n1;
    let sum = 0.25 * n0 as f64 + 0.5 * n1 as f64 + 2.0 * n2 as f64;
    let expected = |busy: &str| {
        format!(
            "{busy}\
             # HELP mp_jobs_total Jobs.\n# TYPE mp_jobs_total counter\n\
             mp_jobs_total{{kind=\"half\"}} {half}\n\
             mp_jobs_total{{kind=\"whole\"}} {total}\n\
             # HELP mp_latency_seconds Latency.\n# TYPE mp_latency_seconds histogram\n\
             mp_latency_seconds_bucket{{le=\"0.3\"}} {n0}\n\
             mp_latency_seconds_bucket{{le=\"1.0\"}} {n01}\n\
             mp_latency_seconds_bucket{{le=\"+Inf\"}} {total}\n\
             mp_latency_seconds_count {total}\n\
             mp_latency_seconds_sum {sum:?}\n\
             # HELP mp_payload_bytes Payload.\n# TYPE mp_payload_bytes summary\n\
             mp_payload_bytes_count {total}\n\
             mp_payload_bytes_sum {payload:?}\n",
            half = total / 2,
            n01 = n0 + n1,
            payload = 100.0 * total as f64,
        )
    };
    let busy = |v: &str| format!("# HELP mp_busy Busy.\n# TYPE mp_busy gauge\nmp_busy {v}\n");

    // The early exit and the killed worker left busy at 1.
    assert_eq!(scrape(&dir.0), expected(&busy("2.0")));
    mark_process_dead(pids[1], &dir.0).unwrap();
    mark_process_dead(killed_pid, &dir.0).unwrap();
    assert_eq!(scrape(&dir.0), expected(&busy("0.0")));
    // Once every worker is dead, the live gauge has no series left; the
    // totals stay.
    for pid in [pids[0], pids[2]] {
        mark_process_dead(pid, &dir.0).unwrap();
    }
    assert_eq!(scrape(&dir.0), expected(""));
    let merged = merge(&dir.0);
    assert_eq!(merged.families.len(), 3);
}

#[test]
fn gauge_modes_combine_processes_as_python_does() {
    let dir = TempDir::new("gauges");
    let values = [3.0, 7.0, 5.0, 1.0];
    let mut pids = Vec::new();
    let mut last = None;
    // One after the other, so the most recent value is the last worker's.
    for (i, v) in values.iter().enumerate() {
        let mut vars = vec![("PROMDECL_MP_VALUE", v.to_string())];
        let hold = i == values.len() - 1;
        if hold {
            vars.push(("PROMDECL_MP_HOLD", "1".to_owned()));
        }
        let mut w = Worker::spawn("gauges", &dir.0, &vars);
        w.read_line_starting("READY");
        pids.push(w.pid());
        if hold {
            last = Some(w);
        } else {
            w.finish_ok();
        }
        // Distinct change times even on a coarse clock.
        std::thread::sleep(Duration::from_millis(20));
    }
    let per_pid = |alive: &[usize]| -> BTreeMap<String, f64> {
        alive.iter().map(|&i| (format!("pid={}", pids[i]), values[i])).collect()
    };
    let check = |merged: &Merged, live: &[usize], expect: [(GaugeMode, f64); 4]| {
        assert_eq!(samples(merged, "g_all"), per_pid(&[0, 1, 2, 3]));
        assert_eq!(samples(merged, "g_liveall"), per_pid(live));
        assert_eq!(gauge(merged, "g_min"), Some(1.0));
        assert_eq!(gauge(merged, "g_max"), Some(7.0));
        assert_eq!(gauge(merged, "g_sum"), Some(16.0));
        assert_eq!(gauge(merged, "g_mostrecent"), Some(1.0));
        for (mode, value) in expect {
            assert_eq!(gauge(merged, &format!("g_{mode}")), Some(value), "{mode}, live {live:?}");
        }
        assert_eq!(gauge(merged, "g_unset"), None, "a most-recent gauge never set is not exposed");
    };

    use GaugeMode::*;
    let merged = merge(&dir.0);
    check(&merged, &[0, 1, 2, 3], [(LiveMin, 1.0), (LiveMax, 7.0), (LiveSum, 16.0), (LiveMostRecent, 1.0)]);
    assert_eq!(merged.families.len(), 10);

    mark_process_dead(pids[1], &dir.0).unwrap();
    let merged = merge(&dir.0);
    check(&merged, &[0, 2, 3], [(LiveMin, 1.0), (LiveMax, 5.0), (LiveSum, 9.0), (LiveMostRecent, 1.0)]);

    last.unwrap().finish_ok();
    mark_process_dead(pids[3], &dir.0).unwrap();
    let merged = merge(&dir.0);
    check(&merged, &[0, 2], [(LiveMin, 3.0), (LiveMax, 5.0), (LiveSum, 8.0), (LiveMostRecent, 5.0)]);

    let text = scrape(&dir.0);
    assert!(text.contains(&format!("g_liveall{{pid=\"{}\"}} 3.0\n", pids[0])), "{text}");
    if let Some(v) = common::validate("multiprocess_gauges", &text) {
        assert!(v.ok, "{}", v.output);
    }
}

#[test]
fn a_scrape_never_sees_a_torn_snapshot() {
    let dir = TempDir::new("torn");
    let mut w = Worker::spawn("hammer", &dir.0, &[]);
    w.read_line_starting("READY");
    let collector = MultiProcessCollector::new(&dir.0).unwrap();
    let started = Instant::now();
    let (mut scrapes, mut last, mut last_count) = (0, 0.0, 0.0);
    while started.elapsed() < Duration::from_millis(1500) {
        let merged = collector.merge().unwrap();
        assert!(merged.skipped.is_empty(), "{:?}", merged.skipped);
        let torn = samples(&merged, "mp_torn");
        assert_eq!(torn.len(), 256);
        let first = *torn.values().next().unwrap();
        assert!(torn.values().all(|&v| v == first), "a torn snapshot: {torn:?}");
        // The histogram is in another file, maybe from another snapshot.
        let seconds = samples(&merged, "mp_torn_seconds");
        let count = seconds["_count"];
        assert_eq!(seconds["_bucketle=+Inf"], count, "{seconds:?}");
        assert_eq!(seconds["_bucketle=1.0"], count, "{seconds:?}");
        assert_eq!(seconds["_sum"], count / 2.0, "{seconds:?}");
        assert!(first >= last && count >= last_count, "went back from {last}/{last_count} to {first}/{count}");
        (last, last_count) = (first, count);
        scrapes += 1;
    }
    std::fs::write(dir.0.join("stop"), b"").unwrap();
    let done = w.read_line_starting("DONE");
    let rounds: f64 = done.trim_start_matches("DONE ").parse().unwrap();
    w.finish_ok();
    let merged = merge(&dir.0);
    assert_eq!(samples(&merged, "mp_torn")["_totali=0"], rounds);
    assert_eq!(samples(&merged, "mp_torn_seconds")["_count"], rounds);
    assert!(rounds > 10.0 && scrapes > 10, "{rounds} rounds, {scrapes} scrapes: not much of a race");
}

#[test]
fn a_reused_process_id_carries_on_the_dead_process_counters() {
    let dir = TempDir::new("reuse");
    for k in [10, 5] {
        Worker::spawn("reuse", &dir.0, &[("PROMDECL_MP_K", k.to_string()), ("PROMDECL_MP_ID", "4242".to_owned())])
            .finish_ok();
    }
    let merged = merge(&dir.0);
    assert_eq!(samples(&merged, "mp_reused")["_total"], 15.0);
    assert!(dir.0.join("counter_4242.db").exists());
}

#[test]
fn a_writer_made_again_in_the_same_process_does_not_count_twice() {
    let dir = TempDir::new("again");
    let registry = std::sync::Arc::new(Registry::new());
    let c = Counter::builder("again", "A.").register(&registry).unwrap();
    c.add(3);
    let build = || MultiProcessWriter::builder().dir(&dir.0).collector(registry.clone()).process_id(77).manual_flush();
    let first = build().build().unwrap();
    assert!(matches!(build().build(), Err(MultiProcessError::WriterExists { process_id: 77, .. })));
    drop(first);
    let second = build().build().unwrap();
    c.inc();
    second.flush().unwrap();
    assert_eq!(samples(&merge(&dir.0), "again")["_total"], 4.0);
}

#[test]
fn corrupt_truncated_and_foreign_files_are_skipped() {
    let dir = TempDir::new("corrupt");
    let registry = Registry::new();
    Counter::builder("good", "G.").register(&registry).unwrap().add(5);
    let writer =
        MultiProcessWriter::builder().dir(&dir.0).collector(registry).process_id(1).manual_flush().build().unwrap();
    let good = std::fs::read(dir.0.join("counter_1.db")).unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.0.join(name), bytes).unwrap();
    let mut noise = 0x9e37_79b9_7f4a_7c15_u64;
    let garbage: Vec<u8> = (0..500)
        .map(|_| {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            noise as u8
        })
        .collect();
    put("counter_2.db", &garbage);
    put("counter_3.db", &good[..40]); // shorter than the header
    put("counter_4.db", &good[..100]); // the header, not the snapshot
    put("histogram_5.db", &good); // records of the wrong type
    put("gauge_livesum_6.db", b""); // empty
    put("gauge_bogus_7.db", &good); // no such mode
    let mut scrambled = good.clone();
    scrambled[64..].fill(0xff); // header intact, snapshot garbage
    put("counter_9.db", &scrambled);
    put("notes.txt", b"not a metrics file"); // not looked at
    put(".counter_8.db.new", &garbage); // a file being created: not looked at

    let merged = MultiProcessCollector::new(&dir.0).unwrap().merge().unwrap();
    let skipped: Vec<String> =
        merged.skipped.iter().map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        skipped,
        [
            "counter_2.db",
            "counter_3.db",
            "counter_4.db",
            "counter_9.db",
            "gauge_bogus_7.db",
            "gauge_livesum_6.db",
            "histogram_5.db"
        ],
        "{:?}",
        merged.skipped
    );
    assert!(merged.skipped.iter().all(|s| !s.reason.is_empty()));
    assert_eq!(samples(&merged, "good"), BTreeMap::from([("_total".to_owned(), 5.0)]));
    assert_eq!(scrape(&dir.0), "# HELP good_total G.\n# TYPE good_total counter\ngood_total 5\n");
    drop(writer);
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let dir = TempDir::new("missing");
    let missing = dir.0.join("nope");
    let err = MultiProcessCollector::new(&missing).unwrap_err();
    assert!(matches!(err, MultiProcessError::NotADirectory(ref p) if p == &missing));
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(matches!(MultiProcessWriter::builder().dir(&missing).build(), Err(MultiProcessError::NotADirectory(_))));
    assert!(matches!(mark_process_dead(1, &missing), Err(MultiProcessError::NotADirectory(_))));

    // Removed after the collector was made: merge() says so, a scrape is empty.
    let gone = dir.0.join("gone");
    std::fs::create_dir(&gone).unwrap();
    let collector = MultiProcessCollector::new(&gone).unwrap();
    std::fs::remove_dir(&gone).unwrap();
    assert!(matches!(collector.merge(), Err(MultiProcessError::NotADirectory(_))));
    assert_eq!(encode_to_string(&collector, Format::TEXT), "");
}

#[test]
fn the_example_merges_its_workers() {
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join(format!("multiprocess{}", std::env::consts::EXE_SUFFIX));
    if !example.exists() {
        let why = format!("{} is not built (cargo test builds it with --features multiprocess)", example.display());
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED the_example_merges_its_workers: {why}");
        return;
    }
    let dir = TempDir::new("example");
    let out = Command::new(&example)
        .args(["--workers", "3", "--increments", "250", "--dir"])
        .arg(&dir.0)
        .env_remove(DIR_ENV)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}\n{text}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains(
            "# HELP promdecl_example_jobs_total Jobs done by the workers.\n\
             # TYPE promdecl_example_jobs_total counter\n\
             promdecl_example_jobs_total 750\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "# HELP promdecl_example_workers_busy Workers running right now.\n\
             # TYPE promdecl_example_workers_busy gauge\n\
             promdecl_example_workers_busy 0.0\n"
        ),
        "{text}"
    );
    if let Some(v) = common::validate("multiprocess_example", &text) {
        assert!(v.ok, "{}", v.output);
    }
}
