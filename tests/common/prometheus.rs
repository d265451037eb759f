//! A real Prometheus (`scripts/peers/start-prometheus.sh`) scraping a
//! loopback target, queried through its HTTP API, stopped by PID
//! (`stop.sh`) when dropped.
//!
//! As with the exposition validator, a missing Prometheus skips the test
//! (with a message) unless `CI` is set, where it fails.

use std::process::Command;
use std::time::{Duration, Instant};

use super::json::{self, Value};
use super::peers::{script, INSTALL};

/// A running Prometheus.
pub struct Prometheus {
    url: String,
    pidfile: String,
}

impl Prometheus {
    /// Starts Prometheus with `features` (`PROM_FEATURES`) scraping
    /// `127.0.0.1:port` every second; `None` (after saying why) when it is
    /// not installed and `CI` is unset.
    pub fn start(test: &str, port: u16, features: &str) -> Option<Prometheus> {
        Prometheus::launch(test, &[("PROM_FEATURES", features)], &[&port.to_string()])
    }

    /// Starts Prometheus with the configuration `config` (a `prometheus.yml`
    /// body: its scrape jobs say what to scrape and how) and `features`.
    pub fn start_with_config(test: &str, config: &str, features: &str) -> Option<Prometheus> {
        let file = super::temp_path(test, "yml");
        std::fs::write(&file, config).unwrap();
        let file_str = file.to_str().expect("a UTF-8 temporary path").to_owned();
        let started = Prometheus::launch(test, &[("PROM_FEATURES", features), ("PROM_CONFIG", &file_str)], &[]);
        let _ = std::fs::remove_file(&file);
        started
    }

    fn launch(test: &str, env: &[(&str, &str)], args: &[&str]) -> Option<Prometheus> {
        let script = script("start-prometheus.sh");
        let installed = Command::new("prometheus").arg("--version").output().is_ok_and(|o| o.status.success());
        if !installed {
            let why = format!("the prometheus binary is not installed; run {INSTALL}");
            if std::env::var_os("CI").is_some() {
                panic!("{test}: Prometheus is required when CI is set, but {why}");
            }
            eprintln!("SKIPPED {test}: {why}");
            return None;
        }
        let out = Command::new("bash")
            .arg(&script)
            .args(args)
            .envs(env.iter().copied())
            .env("PEERS_OWNER_PID", std::process::id().to_string())
            .output()
            .expect("run start-prometheus.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{test}: start-prometheus.sh failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let var = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("start-prometheus.sh printed no {key}:\n{stdout}"))
                .trim_matches('\'')
                .to_owned()
        };
        Some(Prometheus { url: var("PROM_URL"), pidfile: var("PROM_PIDFILE") })
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let mut req = ureq::get(&format!("{}{path}", self.url)).timeout(Duration::from_secs(5));
        for (k, v) in query {
            req = req.query(k, v);
        }
        let body = match req.call() {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp.into_string().expect("a UTF-8 body"),
            Err(e) => panic!("GET {path}: {e}"),
        };
        let value = json::parse(&body).unwrap_or_else(|e| panic!("GET {path}: bad JSON ({e}): {body}"));
        assert_eq!(value.get("status").and_then(Value::as_str), Some("success"), "GET {path}: {body}");
        value
    }

    /// The result of the instant query `expr` (`data.result`).
    pub fn query(&self, expr: &str) -> Vec<Value> {
        self.get("/api/v1/query", &[("query", expr)])
            .get("data")
            .and_then(|d| d.get("result"))
            .map_or_else(Vec::new, |r| r.items().to_vec())
    }

    /// The value of the first series `expr` returns, once there is one
    /// (Prometheus's first scrape comes ~5 s after start); panics after
    /// `timeout`.
    pub fn query_value(&self, expr: &str, timeout: Duration) -> f64 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = self
                .query(expr)
                .first()
                .and_then(|s| s.get("value"))
                .and_then(|v| v.items().get(1))
                .and_then(Value::as_str)
            {
                return v.parse().unwrap_or_else(|e| panic!("{expr}: value {v:?}: {e}"));
            }
            assert!(
                Instant::now() < deadline,
                "{expr} returned nothing within {timeout:?}; targets: {:?}",
                self.targets()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `/api/v1/query_exemplars` for `expr` over the last hour, once it
    /// returns something; panics after `timeout`.
    pub fn exemplars(&self, expr: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = super::now();
            let (start, end) = ((now - 3600.0).to_string(), (now + 60.0).to_string());
            let data = self.get("/api/v1/query_exemplars", &[("query", expr), ("start", &start), ("end", &end)]);
            let series = data.get("data").map(|d| d.items().to_vec()).unwrap_or_default();
            if !series.is_empty() {
                return series;
            }
            assert!(
                Instant::now() < deadline,
                "no exemplars for {expr} within {timeout:?}; targets: {:?}",
                self.targets()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The health (`up`, `down`, `unknown`) and last error of the target of
    /// job `job`, once it has been scraped; panics after `timeout`.
    pub fn target_health(&self, job: &str, timeout: Duration) -> (String, String) {
        let deadline = Instant::now() + timeout;
        loop {
            let data = self.get("/api/v1/targets", &[]);
            let active =
                data.get("data").and_then(|d| d.get("activeTargets")).map(|t| t.items().to_vec()).unwrap_or_default();
            let found =
                active.iter().find(|t| t.get("labels").and_then(|l| l.get("job")).and_then(Value::as_str) == Some(job));
            if let Some(t) = found {
                let field = |k| t.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                if field("health") != "unknown" {
                    return (field("health"), field("lastError"));
                }
            }
            assert!(Instant::now() < deadline, "job {job} was not scraped within {timeout:?}: {:?}", self.targets());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Health and last error of each scrape target, for failure messages.
    pub fn targets(&self) -> Vec<String> {
        let data = self.get("/api/v1/targets", &[]);
        let active =
            data.get("data").and_then(|d| d.get("activeTargets")).map(|t| t.items().to_vec()).unwrap_or_default();
        active
            .iter()
            .map(|t| {
                let field = |k| t.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
                format!("{} {} {}", field("scrapeUrl"), field("health"), field("lastError"))
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script("stop.sh")).arg(&self.pidfile).status();
    }
}
