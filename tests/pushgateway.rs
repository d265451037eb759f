//! The Pushgateway client against a real Pushgateway: push / pushadd /
//! delete semantics, grouping key encoding, basic auth, TLS and mutual TLS,
//! custom handlers, the failure paths, the example program, and a real
//! Prometheus scraping the gateway.
#![cfg(feature = "push")]

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::peers::{self, Peer};
use promdecl::push::{GroupingKey, Method, PushError, PushRequest, PushResponse, Pushgateway, Transport};
use promdecl::{parse_text, Counter, Gauge, Histogram, Registry};

const GATEWAY: &str = "prometheus-pushgateway";

/// A plain Pushgateway, or `None` when the peers are not installed.
fn gateway(test: &str, args: &[&str]) -> Option<Peer> {
    peers::available(test, GATEWAY).then(|| Peer::start("pushgateway", args, &[]))
}

/// A client that trusts the gateway's certificate (and has credentials)
/// as its start script printed them.
fn client_for(peer: &Peer) -> Pushgateway {
    let mut b = Pushgateway::builder(peer.var("PUSHGW_URL")).timeout(Duration::from_secs(10));
    if let Some(ca) = peer.get("PUSHGW_CACERT") {
        b = b.ca_file(ca);
    }
    if let (Some(cert), Some(key)) = (peer.get("PUSHGW_CLIENT_CERT"), peer.get("PUSHGW_CLIENT_KEY")) {
        b = b.client_cert(cert, key);
    }
    if let (Some(user), Some(password)) = (peer.get("PUSHGW_USER"), peer.get("PUSHGW_PASSWORD")) {
        b = b.basic_auth(user, password);
    }
    b.build().unwrap()
}

/// The gateway's own `/metrics`, read with curl (so the check does not
/// depend on the client under test), as `name{sorted labels}` -> value for
/// the series whose name starts with `promdecl_` or is `push_time_seconds`.
fn gateway_series(peer: &Peer) -> BTreeMap<String, f64> {
    let mut cmd = Command::new("curl");
    cmd.args(["-fsS", "--max-time", "10"]);
    if let Some(ca) = peer.get("PUSHGW_CACERT") {
        cmd.args(["--cacert", ca]);
    }
    if let (Some(cert), Some(key)) = (peer.get("PUSHGW_CLIENT_CERT"), peer.get("PUSHGW_CLIENT_KEY")) {
        cmd.args(["--cert", cert, "--key", key]);
    }
    if let (Some(user), Some(password)) = (peer.get("PUSHGW_USER"), peer.get("PUSHGW_PASSWORD")) {
        cmd.args(["-u", &format!("{user}:{password}")]);
    }
    let out = cmd.arg(format!("{}/metrics", peer.var("PUSHGW_URL"))).output().expect("run curl");
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut series = BTreeMap::new();
    for family in parse_text(&text).unwrap() {
        for s in &family.samples {
            let name = format!("{}{}", family.name, s.suffix);
            if !name.starts_with("promdecl_") && name != "push_time_seconds" {
                continue;
            }
            let mut labels = s.labels.clone();
            labels.sort();
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            series.insert(format!("{name}{{{}}}", labels.join(",")), s.value.as_f64());
        }
    }
    series
}

/// The series of `series` whose key starts with `name{`.
fn named<'a>(series: &'a BTreeMap<String, f64>, name: &str) -> BTreeMap<&'a str, f64> {
    let prefix = format!("{name}{{");
    series.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(k, v)| (k.as_str(), *v)).collect()
}

fn batch_registry(rows: f64) -> Registry {
    let registry = Registry::new();
    let jobs = Counter::builder("promdecl_push_test_rows", "Rows.").labels(["table"]).register(&registry).unwrap();
    jobs.with_label_values(&["users"]).unwrap().inc_by(rows).unwrap();
    Gauge::builder("promdecl_push_test_duration_seconds", "Duration.").register(&registry).unwrap().set(1.5);
    let h = Histogram::builder("promdecl_push_test_batch_size", "Sizes.").buckets([10.0]).register(&registry).unwrap();
    h.observe(3.0);
    h.observe(30.0);
    registry
}

fn one_gauge(name: &str, value: f64) -> Registry {
    let registry = Registry::new();
    Gauge::builder(name, "A gauge.").register(&registry).unwrap().set(value);
    registry
}

#[test]
fn push_lands_in_the_group_with_its_labels() {
    let Some(gw) = gateway("push_lands_in_the_group_with_its_labels", &[]) else { return };
    let client = client_for(&gw);
    client.push("nightly", [("instance", "web-1")], &batch_registry(42.0)).unwrap();

    let series = gateway_series(&gw);
    let expect = [
        (r#"promdecl_push_test_rows_total{instance="web-1",job="nightly",table="users"}"#, 42.0),
        (r#"promdecl_push_test_duration_seconds{instance="web-1",job="nightly"}"#, 1.5),
        (r#"promdecl_push_test_batch_size_bucket{instance="web-1",job="nightly",le="10"}"#, 1.0),
        (r#"promdecl_push_test_batch_size_bucket{instance="web-1",job="nightly",le="+Inf"}"#, 2.0),
        (r#"promdecl_push_test_batch_size_sum{instance="web-1",job="nightly"}"#, 33.0),
        (r#"promdecl_push_test_batch_size_count{instance="web-1",job="nightly"}"#, 2.0),
    ];
    for (key, value) in expect {
        assert_eq!(series.get(key), Some(&value), "{key} in {series:#?}");
    }
    let pushed = named(&series, "push_time_seconds");
    let time = pushed[r#"push_time_seconds{instance="web-1",job="nightly"}"#];
    assert!((common::now() - time).abs() < 60.0, "push_time_seconds {time}");
    let failed = named(&series, "push_failure_time_seconds");
    assert!(failed.is_empty());
}

#[test]
fn push_replaces_the_group_and_pushadd_only_the_families_pushed() {
    let Some(gw) = gateway("push_replaces_the_group_and_pushadd_only_the_families_pushed", &[]) else { return };
    let client = client_for(&gw);
    let both = Registry::new();
    Gauge::builder("promdecl_push_test_a", "A.").register(&both).unwrap().set(1.0);
    Gauge::builder("promdecl_push_test_b", "B.").register(&both).unwrap().set(2.0);
    client.push("sem", GroupingKey::new(), &both).unwrap();
    // Another group of the same job, to see that nothing spills over.
    client.push("sem", [("instance", "other")], &one_gauge("promdecl_push_test_a", 7.0)).unwrap();

    // pushadd (POST) replaces a, keeps b.
    client.pushadd("sem", GroupingKey::new(), &one_gauge("promdecl_push_test_a", 10.0)).unwrap();
    let series = gateway_series(&gw);
    assert_eq!(series.get(r#"promdecl_push_test_a{instance="",job="sem"}"#), Some(&10.0), "{series:#?}");
    assert_eq!(series.get(r#"promdecl_push_test_b{instance="",job="sem"}"#), Some(&2.0), "{series:#?}");
    assert_eq!(series.get(r#"promdecl_push_test_a{instance="other",job="sem"}"#), Some(&7.0), "{series:#?}");

    // push (PUT) replaces the whole group: b is gone.
    client.push("sem", GroupingKey::new(), &one_gauge("promdecl_push_test_a", 5.0)).unwrap();
    let series = gateway_series(&gw);
    assert_eq!(series.get(r#"promdecl_push_test_a{instance="",job="sem"}"#), Some(&5.0), "{series:#?}");
    assert_eq!(named(&series, "promdecl_push_test_b"), BTreeMap::new(), "{series:#?}");
    assert_eq!(series.get(r#"promdecl_push_test_a{instance="other",job="sem"}"#), Some(&7.0), "{series:#?}");
}

#[test]
fn delete_removes_only_its_group() {
    let Some(gw) = gateway("delete_removes_only_its_group", &[]) else { return };
    let client = client_for(&gw);
    client.push("del", [("instance", "a")], &one_gauge("promdecl_push_test_del", 1.0)).unwrap();
    client.push("del", [("instance", "b")], &one_gauge("promdecl_push_test_del", 2.0)).unwrap();
    client.delete("del", [("instance", "a")]).unwrap();
    let series = gateway_series(&gw);
    let left = named(&series, "promdecl_push_test_del");
    assert_eq!(left, BTreeMap::from([(r#"promdecl_push_test_del{instance="b",job="del"}"#, 2.0)]));
    assert!(!series.contains_key(r#"push_time_seconds{instance="a",job="del"}"#), "{series:#?}");
    // Deleting a group that does not exist is not an error for the gateway.
    client.delete("del", [("instance", "never-pushed")]).unwrap();
}

#[test]
fn grouping_key_values_reach_the_gateway_intact() {
    let Some(gw) = gateway("grouping_key_values_reach_the_gateway_intact", &[]) else { return };
    let client = client_for(&gw);
    let key = GroupingKey::new()
        .with("path", "/var/lib/db")
        .with("spaced", "a b+c")
        .with("odd", "100%?#&=\u{e9}\u{1f600}")
        .with("empty", "");
    client.push("backup/nightly", key, &one_gauge("promdecl_push_test_enc", 3.0)).unwrap();
    let series = gateway_series(&gw);
    // The gateway keeps the empty label in the group key.
    let want = r#"promdecl_push_test_enc{empty="",instance="",job="backup/nightly",odd="100%?#&=é😀",path="/var/lib/db",spaced="a b+c"}"#;
    assert_eq!(series.get(want), Some(&3.0), "{series:#?}");
}

#[test]
fn the_gateways_refusal_comes_back_with_status_and_message() {
    let Some(gw) = gateway("the_gateways_refusal_comes_back_with_status_and_message", &[]) else { return };
    let client = client_for(&gw);
    let counter = Registry::new();
    Counter::builder("promdecl_push_test_kind", "K.").register(&counter).unwrap().inc();
    client.push("a", GroupingKey::new(), &counter).unwrap();
    // The same name as a gauge in another group: the gateway refuses it.
    let err = client.push("b", GroupingKey::new(), &one_gauge("promdecl_push_test_kind_total", 1.0)).unwrap_err();
    let PushError::Status { method, url, status, message } = &err else { panic!("{err:?}") };
    assert_eq!((*method, *status), (Method::Put, 400));
    assert_eq!(url, &format!("{}/metrics/job/b", gw.var("PUSHGW_URL")));
    assert!(message.contains("inconsistent"), "{message}");
    assert!(err.to_string().contains("400"), "{err}");
}

#[test]
fn basic_auth_right_and_wrong() {
    let Some(gw) = gateway("basic_auth_right_and_wrong", &["--basic-auth", "pusher:s3cr=t pw"]) else { return };
    let url = gw.var("PUSHGW_URL");
    client_for(&gw).push("auth", GroupingKey::new(), &one_gauge("promdecl_push_test_auth", 1.0)).unwrap();
    assert_eq!(gateway_series(&gw).get(r#"promdecl_push_test_auth{instance="",job="auth"}"#), Some(&1.0));

    let wrong = Pushgateway::builder(url).basic_auth("pusher", "wrong").build().unwrap();
    let err = wrong.push("auth", GroupingKey::new(), &one_gauge("promdecl_push_test_auth", 2.0)).unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(err.to_string().contains("401"), "{err}");
    let none = Pushgateway::new(url).unwrap();
    assert_eq!(none.delete("auth", GroupingKey::new()).unwrap_err().status(), Some(401));
    // Nothing changed.
    assert_eq!(gateway_series(&gw).get(r#"promdecl_push_test_auth{instance="",job="auth"}"#), Some(&1.0));
}

#[test]
fn tls_with_the_ca_file_and_refused_without_it() {
    let Some(gw) = gateway("tls_with_the_ca_file_and_refused_without_it", &["--tls"]) else { return };
    let url = gw.var("PUSHGW_URL");
    assert!(url.starts_with("https://"));
    client_for(&gw).push("tls", GroupingKey::new(), &one_gauge("promdecl_push_test_tls", 1.0)).unwrap();
    assert_eq!(gateway_series(&gw).get(r#"promdecl_push_test_tls{instance="",job="tls"}"#), Some(&1.0));

    // Without the CA file the self-signed certificate is not trusted.
    let untrusted = Pushgateway::builder(url).timeout(Duration::from_secs(10)).build().unwrap();
    let err = untrusted.push("tls", GroupingKey::new(), &one_gauge("promdecl_push_test_tls", 2.0)).unwrap_err();
    assert!(
        matches!(&err, PushError::Tls { source, .. } if source.to_string().starts_with("invalid peer certificate")),
        "{err:?}"
    );
    assert!(err.to_string().contains("ca_file"), "{err}");

    // Nor with another CA file: a second gateway's certificate.
    let Some(other) = gateway("tls_with_the_ca_file_and_refused_without_it", &["--tls"]) else { return };
    let wrong_ca = Pushgateway::builder(url).ca_file(other.var("PUSHGW_CACERT")).build().unwrap();
    let err = wrong_ca.push("tls", GroupingKey::new(), &one_gauge("promdecl_push_test_tls", 3.0)).unwrap_err();
    assert!(matches!(err, PushError::Tls { .. }), "{err:?}");
    assert_eq!(gateway_series(&gw).get(r#"promdecl_push_test_tls{instance="",job="tls"}"#), Some(&1.0));
}

#[test]
fn mutual_tls_with_a_client_certificate() {
    let Some(gw) = gateway("mutual_tls_with_a_client_certificate", &["--mtls"]) else { return };
    client_for(&gw).push("mtls", [("instance", "x")], &one_gauge("promdecl_push_test_mtls", 4.0)).unwrap();
    assert_eq!(gateway_series(&gw).get(r#"promdecl_push_test_mtls{instance="x",job="mtls"}"#), Some(&4.0));

    // Trusting the server is not enough: it wants our certificate.
    let anonymous = Pushgateway::builder(gw.var("PUSHGW_URL")).ca_file(gw.var("PUSHGW_CACERT")).build().unwrap();
    let err = anonymous.push("mtls", [("instance", "x")], &one_gauge("promdecl_push_test_mtls", 5.0)).unwrap_err();
    // TLS 1.3: the gateway checks the client only after the handshake, so
    // its alert may arrive while the request is still being written, and
    // the client sees the connection closed instead.
    assert!(
        matches!(&err, PushError::Tls { source, .. } if source.to_string().contains("alert"))
            || matches!(&err, PushError::Transport { .. }),
        "{err:?}"
    );

    // A certificate with a key that is not its own: refused, here or by the
    // gateway.
    let server_key = format!("{}/tls/server.key", gw.var("PUSHGW_DIR"));
    let mismatched = Pushgateway::builder(gw.var("PUSHGW_URL"))
        .ca_file(gw.var("PUSHGW_CACERT"))
        .client_cert(gw.var("PUSHGW_CLIENT_CERT"), server_key)
        .build()
        .and_then(|c| c.push("mtls", [("instance", "x")], &one_gauge("promdecl_push_test_mtls", 6.0)));
    assert!(
        matches!(mismatched, Err(PushError::Tls { .. } | PushError::TlsConfig(_) | PushError::Transport { .. })),
        "{mismatched:?}"
    );
    assert_eq!(gateway_series(&gw).get(r#"promdecl_push_test_mtls{instance="x",job="mtls"}"#), Some(&4.0));
}

#[test]
fn tls_files_that_are_missing_or_wrong_are_named() {
    let dir = common::TempDir::new("push-tls-files");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let err = Pushgateway::builder("https://gw").ca_file(&not_pem).build().unwrap_err();
    assert!(matches!(&err, PushError::TlsFile { path, .. } if path == &not_pem), "{err:?}");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = Pushgateway::builder("https://gw").client_cert(&missing, &not_pem).build().unwrap_err();
    assert!(matches!(&err, PushError::TlsFile { path, .. } if path == &missing), "{err:?}");
}

#[test]
fn a_gateway_that_is_down_is_a_connect_error_at_once() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Pushgateway::builder(format!("127.0.0.1:{port}")).timeout(Duration::from_secs(5)).build().unwrap();
    let start = Instant::now();
    let err = client.push("down", GroupingKey::new(), &one_gauge("promdecl_push_test_down", 1.0)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert!(matches!(err, PushError::Connect { method: Method::Put, .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn a_gateway_that_never_answers_times_out() {
    // Accepted by the kernel (backlog), never read, never answered.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let timeout = Duration::from_millis(500);
    let client = Pushgateway::builder(format!("http://{addr}")).timeout(timeout).build().unwrap();
    let start = Instant::now();
    let err = client.delete("slow", GroupingKey::new()).unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, PushError::Timeout { timeout: t, .. } if t == timeout), "{err:?}");
    assert!(took >= timeout && took < timeout + Duration::from_secs(5), "took {took:?}");
    drop(listener);
}

#[test]
fn a_handler_sees_and_decorates_every_request() {
    let Some(gw) = gateway("a_handler_sees_and_decorates_every_request", &["--basic-auth", "tok:en"]) else { return };
    let seen: Arc<Mutex<Vec<PushRequest>>> = Arc::default();
    let log = Arc::clone(&seen);
    // Authenticates by itself (the client has no basic auth configured).
    let client = Pushgateway::builder(gw.var("PUSHGW_URL"))
        .handler(move |mut req: PushRequest, transport: &Transport| {
            log.lock().unwrap().push(req.clone());
            req.set_header("Authorization", "Basic dG9rOmVu");
            transport.send(req)
        })
        .build()
        .unwrap();
    client.pushadd("hooked", [("instance", "h")], &one_gauge("promdecl_push_test_hooked", 6.0)).unwrap();
    client.delete("hooked", [("instance", "gone")]).unwrap();
    assert_eq!(gateway_series(&gw).get(r#"promdecl_push_test_hooked{instance="h",job="hooked"}"#), Some(&6.0));

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let base = gw.var("PUSHGW_URL");
    assert_eq!(
        (seen[0].method, seen[0].url.as_str()),
        (Method::Post, &*format!("{base}/metrics/job/hooked/instance/h"))
    );
    assert_eq!(seen[0].header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    assert_eq!(
        String::from_utf8(seen[0].body.clone()).unwrap(),
        "# HELP promdecl_push_test_hooked A gauge.\n# TYPE promdecl_push_test_hooked gauge\npromdecl_push_test_hooked 6.0\n"
    );
    assert_eq!((seen[1].method, seen[1].body.is_empty()), (Method::Delete, true));
    assert_eq!(seen[1].header("authorization"), None);
}

#[test]
fn a_handler_can_answer_by_itself_and_fail_its_own_way() {
    let refusing = Pushgateway::builder("127.0.0.1:1")
        .handler(|_: PushRequest, _: &Transport| Ok(PushResponse { status: 503, body: "  maintenance \n".into() }))
        .build()
        .unwrap();
    let err = refusing.delete("j", GroupingKey::new()).unwrap_err();
    assert!(matches!(&err, PushError::Status { status: 503, message, .. } if message == "maintenance"), "{err:?}");

    let failing = Pushgateway::builder("127.0.0.1:1")
        .handler(|_: PushRequest, _: &Transport| Err(PushError::Handler("no token available".into())))
        .build()
        .unwrap();
    let err = failing.delete("j", GroupingKey::new()).unwrap_err();
    assert_eq!(err.to_string(), "the push handler failed: no token available");
}

#[test]
fn bad_jobs_and_keys_fail_before_sending() {
    let client = Pushgateway::builder("127.0.0.1:1")
        .handler(|_: PushRequest, _: &Transport| -> Result<PushResponse, PushError> { panic!("nothing is sent") })
        .build()
        .unwrap();
    assert!(matches!(client.delete("", GroupingKey::new()), Err(PushError::EmptyJob)));
    let err = client.push("j", [("job", "x")], &Registry::new()).unwrap_err();
    assert!(matches!(err, PushError::InvalidGroupingKey { .. }), "{err:?}");
    let err = client.pushadd("j", [("bad-name", "x")], &Registry::new()).unwrap_err();
    assert!(err.to_string().contains("bad-name"), "{err}");
}

#[test]
fn prometheus_scrapes_the_pushed_values_from_the_gateway() {
    let test = "prometheus_scrapes_the_pushed_values_from_the_gateway";
    if !peers::available(test, "prometheus") {
        return;
    }
    let Some(gw) = gateway(test, &[]) else { return };
    client_for(&gw).push("etl", [("instance", "batch-7")], &batch_registry(1234.0)).unwrap();
    let target = gw.var("PUSHGW_URL").trim_start_matches("http://").to_owned();
    let prometheus =
        Peer::start("prometheus", &["--wait-scrape", &target], &[("PROM_HONOR_LABELS", "true"), ("PROM_FEATURES", "")]);
    let prom = prometheus.var("PROM_URL");
    // honor_labels: the pushed job and instance, not the scrape target's.
    let out = peers::prom_expect(
        prom,
        r#"promdecl_push_test_rows_total{job="etl",instance="batch-7",table="users"}"#,
        1234.0,
    );
    assert!(out.contains(r#"instance="batch-7""#), "{out}");
    peers::prom_expect(prom, r#"promdecl_push_test_batch_size_count{job="etl",instance="batch-7"}"#, 2.0);
    peers::prom_expect(prom, r#"promdecl_push_test_duration_seconds{job="etl"}"#, 1.5);
}

/// Runs the pushgateway example with `args`; returns (success, stderr).
fn run_example(exe: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(exe).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_example_pushes_and_reports_failures() {
    let test = "the_example_pushes_and_reports_failures";
    let Some(exe) = common::example(test, "pushgateway") else { return };
    let Some(plain) = gateway(test, &[]) else { return };
    let (ok, stderr) = run_example(&exe, &["--gateway", plain.var("PUSHGW_URL"), "--job", "example"]);
    assert!(ok, "{stderr}");
    let series = gateway_series(&plain);
    assert_eq!(series.get(r#"promdecl_example_pushes_total{instance="",job="example"}"#), Some(&1.0), "{series:#?}");
    let ts = series[r#"promdecl_example_last_push_timestamp_seconds{instance="",job="example"}"#];
    assert!((common::now() - ts).abs() < 60.0, "{ts}");

    let Some(secure) = gateway(test, &["--basic-auth", "ex:pw", "--tls"]) else { return };
    let url = secure.var("PUSHGW_URL");
    let ca = secure.var("PUSHGW_CACERT");
    let (ok, stderr) =
        run_example(&exe, &["--gateway", url, "--job", "example", "--user", "ex", "--password", "pw", "--cacert", ca]);
    assert!(ok, "{stderr}");
    assert_eq!(gateway_series(&secure).get(r#"promdecl_example_pushes_total{instance="",job="example"}"#), Some(&1.0));

    let (ok, stderr) =
        run_example(&exe, &["--gateway", url, "--job", "example", "--user", "ex", "--password", "no", "--cacert", ca]);
    assert!(!ok && stderr.contains("401"), "{stderr}");
    let (ok, stderr) = run_example(&exe, &["--gateway", url, "--job", "example", "--user", "ex", "--password", "pw"]);
    assert!(!ok && stderr.contains("TLS"), "{stderr}");
    drop(plain);
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (ok, stderr) = run_example(&exe, &["--gateway", &format!("127.0.0.1:{port}"), "--job", "example"]);
    assert!(!ok && stderr.contains("cannot connect"), "{stderr}");
}
