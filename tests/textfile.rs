//! `write_to_textfile`: atomic replacement, the failure paths (missing and
//! read-only directory, a directory in the way), and the real node
//! exporter's textfile collector serving what we wrote to a real
//! Prometheus.
#![cfg(feature = "textfile")]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::peers::{self, Peer};
use common::TempDir;
use promdecl::encode::{encode_to_string, Format};
use promdecl::textfile::{write_to_textfile, Stage};
use promdecl::{parse_text, Counter, Gauge, Registry};

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn registry_with(value: f64) -> Registry {
    let registry = Registry::new();
    let labelled = Gauge::builder("textfile_test_value", "A value.").labels(["kind"]).register(&registry).unwrap();
    labelled.with_label_values(&["x"]).unwrap().set(-value);
    let gauge = Gauge::builder("textfile_test_other", "Another.").register(&registry).unwrap();
    gauge.set(value);
    registry
}

#[test]
fn writes_the_text_exposition_and_replaces_it() {
    let dir = TempDir::new("textfile-replace");
    let path = dir.path().join("job.prom");
    let first = registry_with(1.0);
    write_to_textfile(&path, &first).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), encode_to_string(&first, Format::TEXT));

    let second = registry_with(2.5);
    write_to_textfile(&path, &second).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("textfile_test_other 2.5\n"), "{text}");
    assert_eq!(entries(dir.path()), ["job.prom"], "no temporary file is left behind");

    #[cfg(unix)]
    {
        // Readable by a node exporter running as another user.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o044, 0o044, "mode {mode:o}");
    }
}

/// A collector that reports it could not read its source.
struct Unreadable;

impl promdecl::Collector for Unreadable {
    fn collect(&self, enc: &mut dyn promdecl::encode::MetricEncoder) {
        enc.fail(promdecl::encode::CollectError::new("cannot read /run/jobs.db: permission denied"));
    }
}

#[test]
fn a_collector_failure_keeps_the_old_file() {
    let dir = TempDir::new("textfile-collect-failure");
    let path = dir.path().join("job.prom");
    let first = registry_with(1.0);
    write_to_textfile(&path, &first).unwrap();
    let before = std::fs::read_to_string(&path).unwrap();

    let failing = registry_with(2.0);
    failing.register(Unreadable).unwrap();
    let err = write_to_textfile(&path, &failing).unwrap_err();
    assert_eq!(err.stage(), Stage::Collect);
    assert!(err.to_string().contains("cannot read /run/jobs.db: permission denied"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "the old file is kept");
    assert_eq!(entries(dir.path()), ["job.prom"], "no temporary file is left behind");
}

#[test]
fn a_relative_path_without_directory_works() {
    let dir = TempDir::new("textfile-relative");
    // `cargo test` runs tests in threads of one process: change no working
    // directory, run a child with its own instead.
    let Some(exe) = common::example("a_relative_path_without_directory_works", "textfile") else { return };
    let out = Command::new(exe).arg("runs.prom").current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(entries(dir.path()), ["runs.prom"]);
}

#[test]
fn readers_never_see_a_partial_file() {
    let dir = TempDir::new("textfile-atomic");
    let path = dir.path().join("big.prom");
    let registry = Registry::new();
    let series = Counter::builder("textfile_test_series", "Many series.").labels(["n"]).register(&registry).unwrap();
    for n in 0..2000 {
        series.with_label_values(&[&format!("{n:06}")]).unwrap().inc();
    }
    let last = Gauge::builder("textfile_test_zz_last", "Written last.").register(&registry).unwrap();
    write_to_textfile(&path, &registry).unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, done) = (path.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                let text = std::fs::read_to_string(&path).unwrap();
                let families = parse_text(&text).unwrap_or_else(|e| panic!("torn file after {reads} reads: {e}"));
                assert_eq!(families.len(), 2, "torn file after {reads} reads");
                assert!(text.contains("\ntextfile_test_zz_last "), "torn file after {reads} reads");
                reads += 1;
            }
            reads
        })
    };
    for i in 0..200 {
        last.set(f64::from(i));
        write_to_textfile(&path, &registry).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    assert_eq!(entries(dir.path()), ["big.prom"]);
}

#[test]
fn a_missing_directory_is_an_error_naming_it() {
    let dir = TempDir::new("textfile-missing");
    let missing = dir.path().join("not-there");
    let err = write_to_textfile(missing.join("x.prom"), &registry_with(1.0)).unwrap_err();
    assert_eq!(err.stage(), Stage::CreateTemp);
    assert_eq!(err.path(), missing);
    assert_eq!(err.io_error().kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains(&*missing.to_string_lossy()), "{err}");
    assert!(entries(dir.path()).is_empty());
}

/// Makes `dir` read-only for this process: `chmod 0555`, and for root
/// (whom permission bits do not stop) the immutable attribute too.
struct ReadOnly<'a>(&'a Path, bool);

#[cfg(unix)]
impl<'a> ReadOnly<'a> {
    fn new(dir: &'a Path) -> Self {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let probe = dir.join(".owner-probe");
        std::fs::write(&probe, b"").unwrap();
        let root = std::fs::metadata(&probe).unwrap().uid() == 0;
        std::fs::remove_file(&probe).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        if root {
            let status = Command::new("chattr").arg("+i").arg(dir).status();
            assert!(
                status.as_ref().is_ok_and(|s| s.success()),
                "running as root, the test needs `chattr +i` (e2fsprogs, on a file system with the immutable \
                 attribute) to make {} read-only: {status:?}",
                dir.display()
            );
        }
        ReadOnly(dir, root)
    }
}

#[cfg(unix)]
impl Drop for ReadOnly<'_> {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = Command::new("chattr").arg("-i").arg(self.0).status();
        }
        let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o755));
    }
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_keeps_the_old_file() {
    let dir = TempDir::new("textfile-readonly");
    let path = dir.path().join("job.prom");
    write_to_textfile(&path, &registry_with(1.0)).unwrap();
    let old = std::fs::read_to_string(&path).unwrap();
    {
        let _ro = ReadOnly::new(dir.path());
        let err = write_to_textfile(&path, &registry_with(2.0)).unwrap_err();
        assert_eq!(err.stage(), Stage::CreateTemp, "{err}");
        assert_eq!(err.path(), dir.path());
        assert!(
            matches!(
                err.io_error().kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&*dir.path().to_string_lossy()), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), old);
        assert_eq!(entries(dir.path()), ["job.prom"]);
    }
}

#[test]
fn a_directory_in_the_way_fails_the_rename_and_leaves_no_temporary_file() {
    let dir = TempDir::new("textfile-dir-in-the-way");
    let path = dir.path().join("job.prom");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("inside"), b"kept").unwrap();
    let err = write_to_textfile(&path, &registry_with(1.0)).unwrap_err();
    assert_eq!(err.stage(), Stage::Rename, "{err}");
    assert_eq!(err.path(), path);
    assert_eq!(entries(dir.path()), ["job.prom"]);
    assert_eq!(std::fs::read(path.join("inside")).unwrap(), b"kept");
}

#[test]
fn the_node_exporter_serves_it_and_prometheus_scrapes_it() {
    let test = "the_node_exporter_serves_it_and_prometheus_scrapes_it";
    if !peers::available(test, "prometheus-node-exporter") || !peers::available(test, "prometheus") {
        return;
    }
    let Some(example) = common::example(test, "textfile") else { return };
    let dir = TempDir::new("textfile-node-exporter");

    let registry = Registry::new();
    let done =
        Counter::builder("promdecl_textfile_test_jobs", "Jobs done.").labels(["queue"]).register(&registry).unwrap();
    done.with_label_values(&["mail"]).unwrap().inc_by(41.0).unwrap();
    let ts = Gauge::builder("promdecl_textfile_test_last_run_seconds", "Last run.").register(&registry).unwrap();
    ts.set(1_700_000_000.0);
    write_to_textfile(dir.path().join("promdecl.prom"), &registry).unwrap();

    // The example writes its own file beside ours.
    let out = Command::new(example).arg(dir.path().join("example.prom")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let exporter = Peer::start("node-exporter", &[&dir.path().to_string_lossy()], &[]);
    let url = format!("{}/metrics", exporter.var("NODE_EXPORTER_URL"));
    let body = ureq::get(&url).timeout(Duration::from_secs(10)).call().unwrap().into_string().unwrap();
    for line in [
        "promdecl_textfile_test_jobs_total{queue=\"mail\"} 41\n",
        "promdecl_textfile_test_last_run_seconds 1.7e+09\n",
        "promdecl_example_textfile_runs_total 1\n",
        "node_textfile_scrape_error 0\n",
    ] {
        assert!(body.contains(line), "the node exporter does not serve {line:?}:\n{body}");
    }

    // Now with a new value: the next scrape sees it.
    done.with_label_values(&["mail"]).unwrap().inc();
    write_to_textfile(dir.path().join("promdecl.prom"), &registry).unwrap();

    let target = exporter.var("NODE_EXPORTER_URL").trim_start_matches("http://").to_owned();
    let prometheus = Peer::start("prometheus", &["--wait-scrape", &target], &[("PROM_FEATURES", "")]);
    let prom = prometheus.var("PROM_URL");
    peers::prom_expect(prom, "promdecl_textfile_test_jobs_total{queue=\"mail\"}", 42.0);
    peers::prom_expect(prom, "promdecl_textfile_test_last_run_seconds", 1_700_000_000.0);
    peers::prom_expect(prom, "promdecl_example_textfile_runs_total", 1.0);
    peers::prom_expect(prom, "node_textfile_scrape_error", 0.0);
}
