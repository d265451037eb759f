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
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use promdecl::encode::{encode_to_string, try_encode, CollectError, Format};
use promdecl::multiprocess::{
    mark_process_dead, GaugeMode, Merged, MultiProcessCollector, MultiProcessError, MultiProcessWriter, DIR_ENV,
};
use promdecl::{Counter, Gauge, Registry};

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
        "count_and_report" => count_and_report(),
        "fill_disk" => fill_disk(),
        "hold_id" => hold_id(),
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

/// Counts `PROMDECL_MP_K` jobs with write-through metrics, then ends as
/// `PROMDECL_MP_END` says: `return` (drops the writer), `exit`
/// (`process::exit`, dropping nothing) or `killed` (waits to be killed).
fn worker() {
    let k: usize = env("PROMDECL_MP_K");
    let end: String = env("PROMDECL_MP_END");
    // The directory comes from PROMETHEUS_MULTIPROC_DIR.
    let writer = MultiProcessWriter::builder().build().unwrap();
    let jobs = writer.counter("mp_jobs", "Jobs.", &["kind"]).unwrap();
    let latency = writer.histogram("mp_latency_seconds", "Latency.", &[], &[0.3, 1.0]).unwrap().labels(&[]).unwrap();
    let payload = writer.summary("mp_payload_bytes", "Payload.", &[]).unwrap().labels(&[]).unwrap();
    let busy = writer.gauge("mp_busy", "Busy.", &[], GaugeMode::LiveSum).unwrap().labels(&[]).unwrap();
    busy.set(1.0);
    for i in 0..k {
        // Resolved every time, as code that does not keep handles would.
        jobs.labels(&["whole"]).unwrap().inc();
        jobs.labels(&["half"]).unwrap().inc_by(0.5).unwrap();
        latency.observe(OBSERVATIONS[i % 3]);
        payload.observe(100.0);
    }
    match end.as_str() {
        "return" => {
            busy.set(0.0);
            drop(writer);
        }
        "exit" => std::process::exit(0),
        "killed" => {
            println!("READY");
            wait_for_parent();
            panic!("should have been killed");
        }
        other => panic!("unknown end {other}"),
    }
}

/// Sets one write-through gauge per mode to `PROMDECL_MP_VALUE`, and one
/// per mode through a collector's snapshot, says READY, and with
/// `PROMDECL_MP_HOLD` stays alive until the parent lets it go.
fn gauges() {
    let value: f64 = env("PROMDECL_MP_VALUE");
    let registry = Registry::new();
    let mut builder = MultiProcessWriter::builder().manual_flush();
    for mode in GaugeMode::ALL {
        let name = format!("s_{mode}");
        Gauge::builder(&name, "S.").register(&registry).unwrap().set(value);
        builder = builder.gauge_mode(name, mode);
    }
    let writer = builder.registry(registry).build().unwrap();
    for mode in GaugeMode::ALL {
        writer.gauge(&format!("g_{mode}"), "G.", &[], mode).unwrap().labels(&[]).unwrap().set(value);
    }
    // Never set: a most-recent gauge without a value is not exposed.
    writer.gauge("g_unset", "U.", &[], GaugeMode::MostRecent).unwrap().labels(&[]).unwrap();
    println!("READY");
    if std::env::var_os("PROMDECL_MP_HOLD").is_some() {
        wait_for_parent();
    }
    drop(writer);
}

/// Increments a growing set of write-through series (a new one every
/// eight rounds, so the file grows across segments while it is read) until
/// the parent creates the file `stop`.
fn hammer() {
    let dir = promdecl::multiprocess::dir_from_env().unwrap();
    let writer = MultiProcessWriter::builder().build().unwrap();
    let family = writer.counter("mp_grow", "Grow.", &["i"]).unwrap();
    let seconds = writer.histogram("mp_grow_seconds", "S.", &[], &[1.0]).unwrap().labels(&[]).unwrap();
    let mut children = Vec::new();
    println!("READY");
    let mut rounds = 0u64;
    while !dir.join("stop").exists() && rounds < 200_000 {
        if rounds % 8 == 0 {
            children.push(family.labels(&[&(rounds / 8).to_string()]).unwrap());
        }
        for child in &children[children.len().saturating_sub(64)..] {
            child.inc();
        }
        seconds.observe(0.5);
        rounds += 1;
    }
    println!("DONE {rounds}");
}

/// Counts `PROMDECL_MP_K` under the process id `PROMDECL_MP_ID`, as a
/// process that got the id of an earlier, dead one: once through a
/// collector's snapshot, once written through.
fn reuse() {
    let k: u64 = env("PROMDECL_MP_K");
    let registry = Registry::new();
    let c = Counter::builder("mp_reused", "R.").register(&registry).unwrap();
    let late = Counter::builder("mp_reused_late", "R.").labels(["x"]).register(&registry).unwrap();
    let writer = MultiProcessWriter::builder().registry(registry).process_id(env("PROMDECL_MP_ID")).build().unwrap();
    c.inc_by_u64(k);
    // A child first seen by a later snapshot than the first.
    late.with_label_values(&["y"]).unwrap().inc_by_u64(k);
    writer.counter("mp_reused_through", "R.", &[]).unwrap().labels(&[]).unwrap().inc_by(k as f64).unwrap();
    drop(writer);
}

/// Counts in a loop, a new label child every 1000 increments, and reports
/// the running total on stdout after each increment returns, until killed.
fn count_and_report() {
    let writer = MultiProcessWriter::builder().build().unwrap();
    let family = writer.counter("mp_reported", "Reported.", &["batch"]).unwrap();
    let mut out = std::io::stdout().lock();
    let mut child = family.labels(&["0"]).unwrap();
    for n in 1u64.. {
        child.inc();
        writeln!(out, "{n}").unwrap();
        if n % 1000 == 0 {
            child = family.labels(&[&(n / 1000).to_string()]).unwrap();
        }
    }
}

/// In the multiprocess directory, a small filesystem of its own: fills it,
/// then adds label children until one finds no room, which must be an
/// error and not a SIGBUS.
fn fill_disk() {
    let dir = promdecl::multiprocess::dir_from_env().unwrap();
    let writer = MultiProcessWriter::builder().build().unwrap();
    let family = writer.counter("mp_full", "Full.", &["i"]).unwrap();
    let first = family.labels(&["first"]).unwrap();
    // Take what is left of the disk.
    let mut filler = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![1u8; 4096];
    while filler.write_all(&block).is_ok() {}
    let _ = filler.sync_all();
    for i in 0..1_000_000u64 {
        match family.labels(&[&format!("{i:0>64}")]) {
            Ok(child) => child.inc(),
            Err(e) => {
                // Children already resolved keep working.
                first.inc();
                assert_eq!(first.get(), 1.0);
                println!("FULL {e}");
                return;
            }
        }
    }
    panic!("a million children fit on a full disk");
}

/// Holds a writer with the id `PROMDECL_MP_ID` until killed.
fn hold_id() {
    let _writer = MultiProcessWriter::builder().process_id(env("PROMDECL_MP_ID")).build().unwrap();
    println!("READY");
    wait_for_parent();
}

// ------------------------------------------------------------------ parent

/// A running child.
struct Worker {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn spawn(role: &str, dir: &Path, vars: &[(&str, String)]) -> Worker {
        Worker::spawn_under(&[], role, dir, vars)
    }

    /// Spawns the worker as the last arguments of `wrapper` (a command and
    /// its arguments), if any.
    fn spawn_under(wrapper: &[&str], role: &str, dir: &Path, vars: &[(&str, String)]) -> Worker {
        let exe = std::env::current_exe().unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let mut child = command
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
        // g_: written through; s_: snapshots of a collector.
        for p in ["g", "s"] {
            assert_eq!(samples(merged, &format!("{p}_all")), per_pid(&[0, 1, 2, 3]));
            assert_eq!(samples(merged, &format!("{p}_liveall")), per_pid(live));
            assert_eq!(gauge(merged, &format!("{p}_min")), Some(1.0));
            assert_eq!(gauge(merged, &format!("{p}_max")), Some(7.0));
            assert_eq!(gauge(merged, &format!("{p}_sum")), Some(16.0));
            assert_eq!(gauge(merged, &format!("{p}_mostrecent")), Some(1.0));
            for (mode, value) in expect {
                assert_eq!(gauge(merged, &format!("{p}_{mode}")), Some(value), "{p} {mode}, live {live:?}");
            }
        }
        assert_eq!(gauge(merged, "g_unset"), None, "a most-recent gauge never set is not exposed");
    };

    use GaugeMode::*;
    let merged = merge(&dir.0);
    check(&merged, &[0, 1, 2, 3], [(LiveMin, 1.0), (LiveMax, 7.0), (LiveSum, 16.0), (LiveMostRecent, 1.0)]);
    assert_eq!(merged.families.len(), 20);

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

/// Scrapes while a worker appends series and its file grows segment by
/// segment: every scrape reads every file, and nothing goes back.
#[test]
fn scrapes_while_a_worker_grows_its_file() {
    let dir = TempDir::new("grow");
    let mut w = Worker::spawn("hammer", &dir.0, &[]);
    let pid = w.pid();
    w.read_line_starting("READY");
    let collector = MultiProcessCollector::new(&dir.0).unwrap();
    let started = Instant::now();
    let (mut scrapes, mut last) = (0, BTreeMap::new());
    let mut last_count = 0.0;
    while started.elapsed() < Duration::from_millis(2000) {
        let merged = collector.merge().unwrap();
        assert!(merged.skipped.is_empty(), "{:?}", merged.skipped);
        let grow = samples(&merged, "mp_grow");
        assert!(grow.len() >= last.len(), "series went from {} to {}", last.len(), grow.len());
        for (series, v) in &last {
            assert!(grow[series] >= *v, "{series} went back from {v} to {}", grow[series]);
        }
        let count = samples(&merged, "mp_grow_seconds").get("_count").copied().unwrap_or(0.0);
        assert!(count >= last_count, "went back from {last_count} to {count}");
        (last, last_count) = (grow, count);
        scrapes += 1;
    }
    std::fs::write(dir.0.join("stop"), b"").unwrap();
    let done = w.read_line_starting("DONE");
    let rounds: u64 = done.trim_start_matches("DONE ").parse().unwrap();
    w.finish_ok();
    let merged = merge(&dir.0);
    let grow = samples(&merged, "mp_grow");
    assert_eq!(grow.len() as u64, rounds.div_ceil(8));
    // Series 0 was among the last 64 made in rounds 0..512.
    assert_eq!(grow["_totali=0"], 512f64.min(rounds as f64));
    assert_eq!(samples(&merged, "mp_grow_seconds")["_count"], rounds as f64);
    let size = std::fs::metadata(dir.0.join(format!("counter_{pid}.db"))).unwrap().len();
    assert!(size > 200 << 10, "the file grew into its third segment: {size} bytes");
    assert!(scrapes > 3, "{rounds} rounds, {scrapes} scrapes: not much of a race");
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
    assert_eq!(samples(&merged, "mp_reused_through")["_total"], 15.0);
    assert_eq!(samples(&merged, "mp_reused_late")["_totalx=y"], 15.0);
    assert!(dir.0.join("counter_4242.db").exists());
}

#[test]
fn a_writer_made_again_in_the_same_process_does_not_count_twice() {
    let dir = TempDir::new("again");
    let registry = std::sync::Arc::new(Registry::new());
    let c = Counter::builder("again", "A.").register(&registry).unwrap();
    c.inc_by_u64(3);
    let build = || MultiProcessWriter::builder().dir(&dir.0).registry(registry.clone()).process_id(77).manual_flush();
    let first = build().build().unwrap();
    assert!(matches!(build().build(), Err(MultiProcessError::WriterExists { process_id: 77, .. })));
    drop(first);
    let second = build().build().unwrap();
    c.inc();
    second.flush().unwrap();
    assert_eq!(samples(&merge(&dir.0), "again")["_total"], 4.0);
}

/// A scrape through `try_encode`: the text, or the collector's failure.
fn try_scrape(collector: &MultiProcessCollector) -> Result<String, CollectError> {
    let mut buf = Vec::new();
    try_encode(collector, Format::TEXT, &mut buf)?;
    Ok(String::from_utf8(buf).unwrap())
}

#[test]
fn unreadable_files_fail_the_scrape_naming_them() {
    let dir = TempDir::new("corrupt");
    let writer = MultiProcessWriter::builder().dir(&dir.0).process_id(1).build().unwrap();
    writer.counter("good", "G.", &[]).unwrap().labels(&[]).unwrap().inc_by(5.0).unwrap();
    let good = std::fs::read(dir.0.join("counter_1.db")).unwrap();
    let collector = MultiProcessCollector::new(&dir.0).unwrap();
    let text = "# HELP good_total G.\n# TYPE good_total counter\ngood_total 5\n";
    assert_eq!(try_scrape(&collector).unwrap(), text);

    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.0.join(name), bytes).unwrap();
    // Not named as a process's file: not read, no failure.
    put("notes.txt", b"not a metrics file");
    put("gauge_bogus_7.db", &good);
    put(".counter_8.db.1.0.new", b"a file being created");
    assert_eq!(try_scrape(&collector).unwrap(), text);

    let mut noise = 0x9e37_79b9_7f4a_7c15_u64;
    let garbage: Vec<u8> = (0..500)
        .map(|_| {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            noise as u8
        })
        .collect();
    let mut scrambled = good.clone();
    scrambled[64..].fill(0xff); // header intact, records garbage
    let bad: [(&str, &[u8]); 6] = [
        ("counter_2.db", &garbage),
        ("counter_3.db", &good[..40]),  // shorter than the header
        ("counter_4.db", &good[..100]), // cut in its first segment
        ("counter_9.db", &scrambled),
        ("gauge_livesum_6.db", b""), // empty
        ("histogram_5.db", &good),   // records of the wrong type
    ];
    for (name, bytes) in bad {
        put(name, bytes);
        let err = try_scrape(&collector).unwrap_err();
        let path = dir.0.join(name);
        assert!(err.message().contains(&path.display().to_string()), "{name}: {err}");
        let merged = collector.merge().unwrap();
        assert_eq!(merged.skipped.len(), 1, "{name}: {:?}", merged.skipped);
        assert_eq!(merged.skipped[0].path, path);
        assert!(!merged.skipped[0].reason.is_empty());
        // The good file is still merged, for whoever reads `Merged`.
        assert_eq!(samples(&merged, "good"), BTreeMap::from([("_total".to_owned(), 5.0)]));
        std::fs::remove_file(&path).unwrap();
    }
    assert_eq!(try_scrape(&collector).unwrap(), text);

    // A file that cannot be opened (a link loop stands in for EACCES,
    // which root ignores, and EMFILE): named too.
    let looped = dir.0.join("counter_10.db");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    let err = try_scrape(&collector).unwrap_err();
    assert!(err.message().contains(&looped.display().to_string()), "{err}");
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

    // Removed after the collector was made: merge() says so, and so does a
    // scrape, naming the directory.
    let gone = dir.0.join("gone");
    std::fs::create_dir(&gone).unwrap();
    let collector = MultiProcessCollector::new(&gone).unwrap();
    std::fs::remove_dir(&gone).unwrap();
    assert!(matches!(collector.merge(), Err(MultiProcessError::NotADirectory(_))));
    let err = try_scrape(&collector).unwrap_err();
    assert!(err.message().contains(&gone.display().to_string()), "{err}");
}

/// A worker killed with SIGKILL in the middle of a loop loses nothing:
/// each increment it reported had returned, so it is in the file.
#[test]
fn a_killed_worker_loses_no_increment_that_returned() {
    let dir = TempDir::new("sigkill");
    let mut w = Worker::spawn("count_and_report", &dir.0, &[]);
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
    let total: f64 = samples(&merge(&dir.0), "mp_reported").values().sum();
    assert!(reported > 10_000, "only {reported} increments: not much of a loop");
    // At most one increment returned and was not reported yet.
    assert!(
        total >= reported as f64 && total <= reported as f64 + 1.0,
        "worker {pid}: reported {reported}, merged {total}"
    );
}

/// On a full disk, a new label child is an `io::Error` (its segment is
/// reserved before it is mapped), never a SIGBUS.
#[test]
fn a_full_disk_is_an_error_not_a_sigbus() {
    // A filesystem of 512 KiB of its own, in a user and mount namespace.
    let usable = Command::new("unshare").args(["-Urm", "true"]).status().is_ok_and(|s| s.success());
    if !usable {
        let why = "no user namespaces (`unshare -Urm` from util-linux) to mount a small tmpfs in";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED a_full_disk_is_an_error_not_a_sigbus: {why}");
        return;
    }
    let dir = TempDir::new("full");
    let script = r#"mount -t tmpfs -o size=512k tmpfs "$PROMETHEUS_MULTIPROC_DIR" && exec "$@""#;
    let mut w = Worker::spawn_under(&["unshare", "-Urm", "sh", "-c", script, "sh"], "fill_disk", &dir.0, &[]);
    let line = w.read_line_starting("FULL");
    let (status, rest) = w.finish();
    assert!(status.success(), "the worker died: {status}\n{rest}");
    assert!(line.contains("No space left on device"), "{line}");
    assert!(line.contains("counter_"), "the error names the file: {line}");
}

/// A second live writer with the same id, in another process, is refused;
/// once the first dies (even by SIGKILL), the id is free again.
#[test]
fn two_live_writers_with_one_id_are_refused() {
    let dir = TempDir::new("same-id");
    let mut w = Worker::spawn("hold_id", &dir.0, &[("PROMDECL_MP_ID", "4343".to_owned())]);
    w.read_line_starting("READY");
    let build = || MultiProcessWriter::builder().dir(&dir.0).process_id(4343).build();
    let err = build().unwrap_err();
    assert!(matches!(err, MultiProcessError::WriterExists { process_id: 4343, .. }), "{err}");
    w.child.kill().unwrap();
    let _ = w.finish();
    build().unwrap();
}

/// A collector that panics while the flush thread snapshots it does not
/// end the thread: the next snapshot is written on time.
#[test]
fn the_flush_thread_survives_a_panicking_collector() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    struct Flaky {
        calls: AtomicU32,
    }
    impl promdecl::Collector for Flaky {
        fn collect(&self, enc: &mut dyn promdecl::encode::MetricEncoder) {
            let call = self.calls.fetch_add(1, Ordering::Relaxed);
            if (1..4).contains(&call) {
                panic!("callback gauge failed (call {call})");
            }
            let registry = Registry::new();
            Counter::builder("flaky", "F.").register(&registry).unwrap().inc_by_u64(u64::from(call));
            registry.collect(enc);
        }
        fn describe(&self) -> Vec<promdecl::registry::FamilyDesc> {
            Vec::new()
        }
    }

    let dir = TempDir::new("flaky");
    let flaky = Arc::new(Flaky { calls: AtomicU32::new(0) });
    let writer = MultiProcessWriter::builder()
        .dir(&dir.0)
        .registry(Arc::clone(&flaky))
        .flush_interval(Duration::from_millis(10))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while flaky.calls.load(Ordering::Relaxed) < 6 {
        assert!(
            Instant::now() < deadline,
            "the flush thread stopped after {} calls",
            flaky.calls.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(samples(&merge(&dir.0), "flaky")["_total"] >= 4.0);
    drop(writer);

    // A flush made by hand reports the panic as an error.
    let always = || -> Result<(), MultiProcessError> {
        struct Panics;
        impl promdecl::Collector for Panics {
            fn collect(&self, _: &mut dyn promdecl::encode::MetricEncoder) {
                panic!("always");
            }
            fn describe(&self) -> Vec<promdecl::registry::FamilyDesc> {
                Vec::new()
            }
        }
        MultiProcessWriter::builder().dir(&dir.0).process_id(9).registry(Panics).build().map(drop)
    };
    assert!(matches!(always(), Err(MultiProcessError::CollectorPanicked(ref m)) if m == "always"));
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

/// A gauge handle takes `inc_by`/`dec_by` as every gauge does, and the
/// names before the renaming still work for one release.
#[test]
#[allow(deprecated)]
fn gauge_handles_and_the_builder_take_the_consistent_names() {
    let dir = TempDir::new("names");
    let registry = std::sync::Arc::new(Registry::new());
    let c = Counter::builder("snap", "S.").register(&registry).unwrap();
    c.inc_by_u64(2);
    let writer =
        MultiProcessWriter::builder().dir(&dir.0).collector(registry).process_id(5).manual_flush().build().unwrap();
    let g = writer.gauge("level", "L.", &[], GaugeMode::All).unwrap().labels(&[]).unwrap();
    g.inc_by(5.0);
    g.dec_by(1.5);
    g.add(0.5);
    g.inc();
    g.dec();
    assert_eq!(g.get(), 4.0);
    writer.flush().unwrap();
    let merged = merge(&dir.0);
    assert_eq!(samples(&merged, "snap")["_total"], 2.0, "the deprecated `collector` still sets the snapshot source");
    assert_eq!(samples(&merged, "level").values().copied().collect::<Vec<_>>(), [4.0]);
}
