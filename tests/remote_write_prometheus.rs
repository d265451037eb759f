//! Remote write against the real Prometheus, started with its remote-write
//! receiver by `scripts/peers/start-prometheus.sh`: the example's write
//! is stored with its `job` label, a wrong path and wrong credentials fail
//! the example, and the background thread's rounds arrive.
#![cfg(feature = "remote-write")]

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::json::{self, Value};
use common::peers::Peer;
use promdecl::remote_write::RemoteWrite;
use promdecl::{Counter, Gauge, Registry};

/// A Prometheus that scrapes nothing: remote write is all it receives.
const CONFIG: &str = "global:\n  scrape_interval: 1s\nscrape_configs: []\n";

/// Starts Prometheus with `env`, or says why not (and fails under CI).
fn prometheus(test: &str, env: &[(&str, &str)]) -> Option<(Peer, common::TempDir)> {
    if !common::peers::available(test, "prometheus") {
        return None;
    }
    let dir = common::TempDir::new(test);
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut env = env.to_vec();
    env.push(("PROM_CONFIG", config.to_str().unwrap()));
    env.push(("PROM_FEATURES", ""));
    Some((Peer::start("prometheus", &[], &env), dir))
}

/// The value of the first series `expr` returns, once there is one;
/// panics after 20 s.
fn query(prom_url: &str, auth: Option<(&str, &str)>, expr: &str) -> (Value, f64) {
    let agent = common::http_agent();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut req = agent.get(&format!("{prom_url}/api/v1/query")).query("query", expr);
        if let Some((user, password)) = auth {
            use base64::Engine as _;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            req = req.set("Authorization", &format!("Basic {token}"));
        }
        let body = common::call(req).into_string().unwrap();
        let value = json::parse(&body).unwrap_or_else(|e| panic!("{expr}: bad JSON ({e}): {body}"));
        let first = value.get("data").and_then(|d| d.get("result")).and_then(|r| r.items().first().cloned());
        if let Some(series) = first {
            let v =
                series.get("value").and_then(|v| v.items().get(1)).and_then(Value::as_str).unwrap().parse().unwrap();
            return (series.get("metric").cloned().unwrap(), v);
        }
        assert!(Instant::now() < deadline, "{expr} returned nothing: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn label<'a>(metric: &'a Value, name: &str) -> Option<&'a str> {
    metric.get(name).and_then(Value::as_str)
}

/// Runs `examples/remote_write.rs` with `args`.
fn run_example(test: &str, args: &[&str]) -> Option<Output> {
    let exe = common::example(test, "remote_write")?;
    Some(Command::new(exe).args(args).output().unwrap())
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The example's one write is stored with its `job` label; a wrong URL
/// path makes it exit non-zero, naming the status.
#[test]
fn the_example_writes_to_prometheus() {
    let test = "the_example_writes_to_prometheus";
    let Some((prom, _dir)) = prometheus(test, &[]) else { return };
    let url = format!("{}/api/v1/write", prom.var("PROM_URL"));
    let Some(out) = run_example(test, &["--url", &url, "--job", "nightly_backup"]) else { return };
    assert!(out.status.success(), "{}", describe(&out));
    let (metric, value) = query(prom.var("PROM_URL"), None, "promdecl_example_remote_writes_total");
    assert_eq!(value, 1.0);
    assert_eq!(label(&metric, "job"), Some("nightly_backup"));

    let wrong = format!("{}/api/v1/writ", prom.var("PROM_URL"));
    let out = run_example(test, &["--url", &wrong, "--job", "nightly_backup"]).unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered 404"), "{}", describe(&out));
}

/// A Prometheus whose `--web.config.file` requires basic auth stores the
/// write made with the right password, and refuses a wrong one or none.
#[test]
fn basic_auth_against_prometheus() {
    let test = "basic_auth_against_prometheus";
    if !common::peers::available(test, "prometheus") {
        return;
    }
    let auth = common::TempDir::new("remote_write_auth");
    let hash = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=4)).decode())",
        ])
        .arg("s3cret")
        .output();
    let hash = match hash {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        _ => {
            let why = "python3-bcrypt is missing; run scripts/peers/install.sh";
            assert!(std::env::var_os("CI").is_none(), "{test}: {why}");
            eprintln!("SKIPPED {test}: {why}");
            return;
        }
    };
    let web = auth.path().join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  writer: {hash}\n")).unwrap();
    // The start script's readiness probe is curl: it reads its credentials
    // from $CURL_HOME/.curlrc.
    std::fs::write(auth.path().join(".curlrc"), "user = \"writer:s3cret\"\n").unwrap();
    let web_arg = format!("--web.config.file={}", web.display());
    let curl_home = auth.path().to_str().unwrap().to_owned();
    let Some((prom, _dir)) = prometheus(test, &[("PROM_EXTRA_ARGS", &web_arg), ("CURL_HOME", &curl_home)]) else {
        return;
    };
    let url = format!("{}/api/v1/write", prom.var("PROM_URL"));

    for (why, extra) in [("a wrong password", &["--user", "writer", "--password", "wrong"][..]), ("no password", &[])] {
        let mut args = vec!["--url", url.as_str(), "--job", "refused"];
        args.extend_from_slice(extra);
        let Some(out) = run_example(test, &args) else { return };
        assert_eq!(out.status.code(), Some(1), "{why}: {}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("answered 401"), "{why}: {}", describe(&out));
    }
    let args = ["--url", url.as_str(), "--job", "authorized", "--user", "writer", "--password", "s3cret"];
    let out = run_example(test, &args).unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let (metric, value) =
        query(prom.var("PROM_URL"), Some(("writer", "s3cret")), "promdecl_example_remote_writes_total");
    assert_eq!(value, 1.0);
    assert_eq!(label(&metric, "job"), Some("authorized"));
    let refused =
        query(prom.var("PROM_URL"), Some(("writer", "s3cret")), "count(promdecl_example_remote_writes_total)");
    assert_eq!(refused.1, 1.0, "only the authorized write is stored");
}

/// The background thread's rounds reach Prometheus with the external
/// labels, and dropping the handle sends the latest values.
#[test]
fn the_background_thread_writes_to_prometheus() {
    let test = "the_background_thread_writes_to_prometheus";
    let Some((prom, _dir)) = prometheus(test, &[]) else { return };
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let stage = Gauge::builder("promdecl_test_rw_stage", "Stage.").register(registry).unwrap();
    let rows = Counter::builder("promdecl_test_rw_rows", "Rows.").labels(["table"]).register(registry).unwrap();
    stage.set(1.0);
    rows.with_label_values(&["users"]).unwrap().inc_by(10.0).unwrap();
    let running = RemoteWrite::builder(format!("{}/api/v1/write", prom.var("PROM_URL")))
        .registry(registry)
        .job("worker")
        .instance("host-7")
        .build()
        .unwrap()
        .start(Duration::from_millis(200))
        .unwrap();
    running.flush();
    let url = prom.var("PROM_URL");
    let (metric, value) = query(url, None, r#"promdecl_test_rw_rows_total{table="users"}"#);
    assert_eq!(value, 10.0);
    assert_eq!((label(&metric, "job"), label(&metric, "instance")), (Some("worker"), Some("host-7")));
    stage.set(2.0);
    drop(running);
    let (_, value) = query(url, None, "promdecl_test_rw_stage");
    assert_eq!(value, 2.0);
    let (_, value) = query(url, None, "count_over_time(promdecl_test_rw_stage[1m]) > 1");
    assert!(value > 1.0);
}
