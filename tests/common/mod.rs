//! Helpers shared by the integration tests: `_created` normalisation, the
//! external exposition validator (`scripts/peers/validate-exposition.sh`)
//! and a small JSON reader for its `--dump` output.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod certs;
pub mod json;
pub mod peers;
pub mod prometheus;
pub mod trouble;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Replaces the value of every `*_created` sample line by `<T>` and returns
/// the text with the values that were replaced.
///
/// `_created` values are wall-clock times, so golden texts cannot spell them
/// out; the caller checks them separately (see [`assert_recent`]).
pub fn normalize_created(text: &str) -> (String, Vec<f64>) {
    let mut out = String::with_capacity(text.len());
    let mut created = Vec::new();
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let name_end = body.find(['{', ' ']).unwrap_or(body.len());
        if !body.starts_with('#') && body[..name_end].ends_with("_created") {
            let (head, value) = body.rsplit_once(' ').expect("a sample line has a value");
            created.push(value.parse::<f64>().unwrap_or_else(|e| panic!("bad _created value in {body:?}: {e}")));
            out.push_str(head);
            out.push_str(" <T>");
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    (out, created)
}

/// Asserts each value is a Unix time within a minute of now (the machine
/// may be busy, so "a few seconds" is stretched generously).
pub fn assert_recent(values: &[f64]) {
    let now = now();
    for &v in values {
        assert!((now - 60.0..=now + 1.0).contains(&v), "_created value {v} is not within a minute of now ({now})");
    }
}

/// The sample lines (not comments) of an exposition.
pub fn sample_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// A fresh path in the temporary directory, unique within this process.
pub fn temp_path(stem: &str, ext: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("promdecl-test-{}-{stem}-{n}.{ext}", std::process::id()))
}

/// What the validator said about one exposition.
pub struct Validation {
    /// Exit status 0.
    pub ok: bool,
    /// Everything it printed.
    pub output: String,
    /// What `prometheus_client` parsed (`--dump`), if it got that far.
    pub dump: Option<json::Value>,
}

fn validator_script() -> PathBuf {
    peers::script("validate-exposition.sh")
}

/// Why the validator cannot run here, if it cannot.
fn validator_missing() -> Option<String> {
    let install = peers::INSTALL;
    let venv = std::env::var("PEERS_VENV").unwrap_or_else(|_| "/tmp/peers-venv".to_owned());
    if !Path::new(&venv).join("bin/python").exists() {
        return Some(format!("no Python venv at {venv}; run {install}"));
    }
    let promtool = Command::new("promtool").arg("--version").output();
    if !promtool.is_ok_and(|o| o.status.success()) {
        return Some(format!("promtool is not installed; run {install}"));
    }
    None
}

/// Runs `validate-exposition.sh --lint warn --dump J` on `text`.
///
/// Returns `None`, after printing why, when the validator is not installed
/// and the `CI` environment variable is unset; with `CI` set a missing
/// validator fails the test, so CI cannot silently skip the check.
pub fn validate(test: &str, text: &str) -> Option<Validation> {
    validate_with(test, text, &[])
}

/// Like [`validate`], with more options for the validator (`--scrape`
/// also has a real Prometheus scrape the text).
pub fn validate_with(test: &str, text: &str, options: &[&str]) -> Option<Validation> {
    if let Some(why) = validator_missing() {
        if std::env::var_os("CI").is_some() {
            panic!("{test}: the exposition validator is required when CI is set, but {why}");
        }
        eprintln!("SKIPPED {test}: exposition validator not available ({why})");
        return None;
    }
    let ext = if text.ends_with("# EOF\n") { "om" } else { "prom" };
    let input = temp_path(test, ext);
    let dump = temp_path(test, "json");
    std::fs::write(&input, text).unwrap();
    let out = Command::new("bash")
        .arg(validator_script())
        .args(["--lint", "warn", "--dump"])
        .arg(&dump)
        .args(options)
        .arg(&input)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run validate-exposition.sh");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.code() == Some(2) {
        panic!("{test}: validate-exposition.sh could not run (exit 2):\n{output}");
    }
    let parsed = std::fs::read_to_string(&dump).ok().map(|s| json::parse(&s).expect("dump.json is valid JSON"));
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&dump);
    Some(Validation { ok: out.status.success(), output, dump: parsed })
}

/// A fresh, empty directory in the temporary directory, removed (with what
/// it holds) when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(stem: &str) -> TempDir {
        let path = temp_path(stem, "d");
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The executable of example `name`, which `cargo test --all-features`
/// builds next to the test binaries. `None`, after printing why `test` is
/// skipped, when it is not built and `CI` is unset; with `CI` set a missing
/// example fails the test.
pub fn example(test: &str, name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.exists() {
        return Some(path);
    }
    let why = format!("{} is not built (cargo test --all-features builds it)", path.display());
    assert!(std::env::var_os("CI").is_none(), "{test}: {why}");
    eprintln!("SKIPPED {test}: {why}");
    None
}

/// A running example that serves until killed; killed when dropped.
pub struct ServingExample {
    child: std::process::Child,
    /// The URL the example printed on start (`http://host:port/...`).
    pub url: String,
}

impl ServingExample {
    /// Starts example `name` with `args` and waits for the line naming its
    /// URL. `None` (after saying why) when the example is not built and
    /// `CI` is unset.
    pub fn start(test: &str, name: &str, args: &[&str]) -> Option<ServingExample> {
        use std::io::BufRead;
        let exe = example(test, name)?;
        let mut child = Command::new(exe)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{test}: cannot start example {name}: {e}"));
        let mut first = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout).read_line(&mut first).unwrap();
        let Some(url) = first.split_whitespace().find(|w| w.starts_with("http://") || w.starts_with("https://")) else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{test}: example {name} printed {first:?}; stderr: {}", String::from_utf8_lossy(&out.stderr));
        };
        Some(ServingExample { url: url.to_owned(), child })
    }

    /// The `scheme://host:port` part of the URL.
    pub fn base(&self) -> &str {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        let end = self.url[after_scheme..].find('/').map_or(self.url.len(), |i| after_scheme + i);
        &self.url[..end]
    }
}

impl Drop for ServingExample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP agent that never waits long: a hung server fails the test.
pub fn http_agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(5)).build()
}

/// The response to `req`, whatever its status.
pub fn call(req: ureq::Request) -> ureq::Response {
    match req.call() {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => panic!("request failed: {e}"),
    }
}
