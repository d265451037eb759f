//! Real peers (Prometheus, Pushgateway, node exporter, carbon) started
//! through `scripts/peers/start-*.sh` and stopped by PID with `stop.sh`.
//!
//! Like [`validate`](super::validate): when a peer is not installed, the test
//! prints `SKIPPED` and names [`INSTALL`], unless `CI` is set, where it fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The command that installs the peers, relative to the repository root
/// (where `cargo test` runs the tests), for the messages of skipped tests.
pub const INSTALL: &str = "scripts/peers/install.sh";

/// The folder of the peer scripts, inside the repository.
///
/// The scripts are part of the checkout, so a missing one is a broken
/// checkout, never a reason to skip: this panics rather than let every peer
/// test skip silently.
pub fn peers_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peers");
    assert!(dir.join("stop.sh").is_file(), "{} has no peer scripts: the checkout is incomplete", dir.display());
    dir
}

/// The peer script `name` (`start-prometheus.sh`, `stop.sh`, ...).
pub fn script(name: &str) -> PathBuf {
    let path = peers_dir().join(name);
    assert!(path.is_file(), "{} is missing: the checkout is incomplete", path.display());
    path
}

/// Why `binary` cannot be used here, if it cannot.
fn missing(binary: &str) -> Option<String> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        return Some(format!("{binary} is not installed; run {INSTALL}"));
    }
    None
}

/// True when `binary` is installed; otherwise prints why `test` is skipped
/// and returns false, or panics when `CI` is set.
pub fn available(test: &str, binary: &str) -> bool {
    let Some(why) = missing(binary) else { return true };
    if std::env::var_os("CI").is_some() {
        panic!("{test}: needs a real peer when CI is set, but {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
    false
}

/// A running peer; stopped (by its recorded PID) when dropped.
#[derive(Debug)]
pub struct Peer {
    vars: HashMap<String, String>,
    pidfile: PathBuf,
}

impl Peer {
    /// Runs `start-<name>.sh args...` with `env`, and reads the
    /// `KEY=VALUE` lines it prints. Panics, with the script's messages, if
    /// the peer does not come up.
    pub fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> Peer {
        let script = script(&format!("start-{name}.sh"));
        let out = Command::new("bash")
            .arg(&script)
            .args(args)
            .envs(env.iter().copied())
            // A crashed test binary does not leave its peers running.
            .env("PEERS_OWNER_PID", std::process::id().to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} {args:?} failed ({}):\n{}{}",
            script.display(),
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        let vars: HashMap<String, String> =
            stdout.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), unquote(v))).collect();
        let pidfile = vars
            .iter()
            .find(|(k, _)| k.ends_with("_PIDFILE"))
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| panic!("{} printed no *_PIDFILE:\n{stdout}", script.display()));
        Peer { vars, pidfile }
    }

    /// A value the start script printed, such as `PUSHGW_URL`.
    pub fn var(&self, key: &str) -> &str {
        self.vars.get(key).unwrap_or_else(|| panic!("the peer printed no {key} (it printed {:?})", self.vars))
    }

    /// A value the start script printed, if it printed it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// Stops the peer now (also done on drop).
    pub fn stop(self) {}
}

impl Drop for Peer {
    fn drop(&mut self) {
        let status = Command::new("bash")
            .arg(script("stop.sh"))
            .arg(&self.pidfile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if !status.is_ok_and(|s| s.success()) && !std::thread::panicking() {
            panic!("stop.sh {} failed", self.pidfile.display());
        }
    }
}

/// Undoes bash's `printf %q` for the values the scripts print (paths and
/// URLs: at most backslash escapes or `$'...'` quoting).
fn unquote(v: &str) -> String {
    let v = v.strip_prefix("$'").and_then(|s| s.strip_suffix('\'')).unwrap_or(v);
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `prom-query.sh --expect VALUE URL EXPR` (retries until some series
/// of `expr` has `value`, 30 s at most) and returns what it printed; panics
/// with its output if the value never came.
pub fn prom_expect(prom_url: &str, expr: &str, value: f64) -> String {
    let out = Command::new("bash")
        .arg(script("prom-query.sh"))
        .args(["--expect", &value.to_string(), "--timeout", "30", prom_url, expr])
        .stdin(Stdio::null())
        .output()
        .expect("run prom-query.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "Prometheus never returned {value} for {expr}:\n{text}");
    text
}

/// Runs `carbon-read.sh DIR METRIC TIMEOUT MIN_POINTS` and returns the
/// `(timestamp, value)` points carbon wrote to whisper for `metric`; `Err`
/// (with what the script said) if fewer than `min_points` came in time.
pub fn carbon_read(
    carbon_dir: &str,
    metric: &str,
    timeout_secs: u32,
    min_points: usize,
) -> Result<Vec<(u64, f64)>, String> {
    let out = Command::new("bash")
        .arg(script("carbon-read.sh"))
        .args([carbon_dir, metric, &timeout_secs.to_string(), &min_points.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("run carbon-read.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(stdout
        .lines()
        .map(|l| {
            let (ts, v) = l.split_once(' ').unwrap_or_else(|| panic!("bad carbon-read.sh line {l:?}"));
            (ts.parse().unwrap(), v.parse().unwrap())
        })
        .collect())
}
