//! The Graphite bridge against a real carbon-cache: values land in whisper
//! in plain and in tags mode, a push to a carbon that is down fails, the
//! periodic bridge keeps going until carbon is back, and the example works.
#![cfg(feature = "graphite")]

mod common;

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::peers::{self, Peer};
use promdecl::graphite::{GraphiteBridge, GraphiteError};
use promdecl::{Counter, Gauge, Histogram, Registry};

fn carbon(test: &str) -> Option<Peer> {
    peers::available(test, "carbon-cache").then(|| Peer::start("carbon", &[], &[]))
}

fn addr(carbon: &Peer) -> String {
    format!("127.0.0.1:{}", carbon.var("CARBON_PORT"))
}

fn registry() -> Arc<Registry> {
    let registry = Arc::new(Registry::new());
    let jobs = Counter::builder("promdecl_graphite_test_jobs", "Jobs.").labels(["queue"]).register(&registry).unwrap();
    jobs.with_label_values(&["mail/out bound"]).unwrap().inc_by(3.0).unwrap();
    Gauge::builder("promdecl_graphite_test_temp", "Temp.").register(&registry).unwrap().set(21.5);
    let h = Histogram::builder("promdecl_graphite_test_size", "Size.").buckets([0.5]).register(&registry).unwrap();
    h.observe(0.25);
    h.observe(4.0);
    registry
}

/// The value of the only point carbon wrote for `metric`, after checking
/// its timestamp is the push time.
fn point(carbon: &Peer, metric: &str) -> f64 {
    let points = peers::carbon_read(carbon.var("CARBON_DIR"), metric, 20, 1)
        .unwrap_or_else(|e| panic!("carbon has no point for {metric}: {e}"));
    let &(ts, value) = points.last().unwrap();
    assert!((common::now() - ts as f64).abs() < 60.0, "{metric}: timestamp {ts}");
    value
}

#[test]
fn plain_mode_folds_labels_into_the_path() {
    let Some(carbon) = carbon("plain_mode_folds_labels_into_the_path") else { return };
    let bridge = GraphiteBridge::new(addr(&carbon)).registry(registry()).prefix("promdecl.plain");
    bridge.push().unwrap();
    assert_eq!(point(&carbon, "promdecl.plain.promdecl_graphite_test_jobs_total.queue.mail_out_bound"), 3.0);
    assert_eq!(point(&carbon, "promdecl.plain.promdecl_graphite_test_temp"), 21.5);
    assert_eq!(point(&carbon, "promdecl.plain.promdecl_graphite_test_size_bucket.le.0_5"), 1.0);
    assert_eq!(point(&carbon, "promdecl.plain.promdecl_graphite_test_size_bucket.le._Inf"), 2.0);
    assert_eq!(point(&carbon, "promdecl.plain.promdecl_graphite_test_size_sum"), 4.25);
}

#[test]
fn tags_mode_sends_graphite_tags() {
    let Some(carbon) = carbon("tags_mode_sends_graphite_tags") else { return };
    let bridge = GraphiteBridge::new(addr(&carbon)).registry(registry()).tags(true);
    bridge.push().unwrap();
    assert_eq!(point(&carbon, "promdecl_graphite_test_jobs_total;queue=mail_out_bound"), 3.0);
    assert_eq!(point(&carbon, "promdecl_graphite_test_size_bucket;le=0_5"), 1.0);
    assert_eq!(point(&carbon, "promdecl_graphite_test_temp"), 21.5);
}

/// A loopback port with nothing listening on it.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_push_to_a_carbon_that_is_down_fails() {
    let addr = format!("127.0.0.1:{}", free_port());
    let err = GraphiteBridge::new(addr.clone()).registry(registry()).push().unwrap_err();
    assert!(
        matches!(&err, GraphiteError::Connect { addr: a, source } if a == &addr
        && source.kind() == io::ErrorKind::ConnectionRefused),
        "{err:?}"
    );
    assert!(err.to_string().contains(&addr), "{err}");

    let err = GraphiteBridge::new("no-port-here").push().unwrap_err();
    assert!(matches!(err, GraphiteError::Resolve { .. }), "{err:?}");
}

/// A collector that reports it could not read its source.
struct Unreadable;

impl promdecl::Collector for Unreadable {
    fn collect(&self, enc: &mut dyn promdecl::encode::MetricEncoder) {
        enc.fail(promdecl::encode::CollectError::new("cannot read /run/jobs.db: permission denied"));
    }
}

#[test]
fn a_collector_failure_sends_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let registry = registry();
    registry.register(Unreadable).unwrap();
    let err = GraphiteBridge::new(addr).registry(registry).push().unwrap_err();
    assert!(matches!(&err, GraphiteError::Collect(e) if e.message().contains("/run/jobs.db")), "{err:?}");
    assert!(err.to_string().contains("nothing sent to carbon"), "{err}");
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "no connection is made: {accepted:?}"
    );
}

/// Forwards every connection made to `listener` to `target`: stands for
/// carbon coming back on the address the bridge was given (start-carbon.sh
/// picks its port itself).
fn relay(listener: TcpListener, target: String) {
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let target = target.clone();
            std::thread::spawn(move || {
                let mut upstream = TcpStream::connect(&target).unwrap();
                io::copy(&mut client, &mut upstream).unwrap();
                upstream.shutdown(Shutdown::Write).unwrap();
            });
        }
    });
}

#[test]
fn the_periodic_bridge_keeps_going_until_carbon_is_back() {
    let test = "the_periodic_bridge_keeps_going_until_carbon_is_back";
    if !peers::available(test, "carbon-cache") {
        return;
    }
    let port = free_port();
    let running = GraphiteBridge::new(format!("127.0.0.1:{port}"))
        .registry(registry())
        .prefix("promdecl.periodic")
        .timeout(Duration::from_secs(2))
        .start(Duration::from_millis(200))
        .unwrap();

    // Carbon is down: pushes fail, the thread keeps trying.
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.failures() < 3 {
        assert!(Instant::now() < deadline, "only {} failed pushes", running.failures());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(running.successes(), 0);
    let last = running.last_error().expect("the failure is kept");
    assert!(matches!(*last, GraphiteError::Connect { .. }), "{last:?}");

    // Carbon comes up, reachable where the bridge sends.
    let carbon = Peer::start("carbon", &[], &[]);
    relay(TcpListener::bind(("127.0.0.1", port)).unwrap(), addr(&carbon));
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.successes() == 0 {
        assert!(Instant::now() < deadline, "no push succeeded after carbon came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(point(&carbon, "promdecl.periodic.promdecl_graphite_test_temp"), 21.5);
    // Several pushes, one a second at least: several points.
    let points = peers::carbon_read(carbon.var("CARBON_DIR"), "promdecl.periodic.promdecl_graphite_test_temp", 20, 2)
        .expect("pushes go on after the first success");
    assert!(points.iter().all(|&(_, v)| v == 21.5), "{points:?}");

    let failures = running.failures();
    let start = Instant::now();
    running.stop();
    assert!(start.elapsed() < Duration::from_secs(3), "stop took {:?}", start.elapsed());
    assert!(failures >= 3);
}

#[test]
fn stopping_or_dropping_ends_the_thread_between_pushes() {
    let hour = Duration::from_secs(3600);
    let port = free_port();
    let running = GraphiteBridge::new(format!("127.0.0.1:{port}")).registry(registry()).start(hour).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while running.failures() == 0 {
        assert!(Instant::now() < deadline, "the first push (right at start) never happened");
        std::thread::sleep(Duration::from_millis(10));
    }
    let start = Instant::now();
    drop(running);
    assert!(start.elapsed() < Duration::from_secs(3), "drop took {:?}", start.elapsed());
}

#[test]
fn the_example_pushes_in_both_modes() {
    let test = "the_example_pushes_in_both_modes";
    let Some(exe) = common::example(test, "graphite") else { return };
    let Some(carbon) = carbon(test) else { return };
    let a = addr(&carbon);
    let out = Command::new(&exe).args(["--addr", &a]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(&exe).args(["--addr", &a, "--tags"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(point(&carbon, "promdecl_example_graphite_pushes_total.kind.example"), 1.0);
    assert_eq!(point(&carbon, "promdecl_example_graphite_pushes_total;kind=example"), 1.0);

    let down = format!("127.0.0.1:{}", free_port());
    let out = Command::new(&exe).args(["--addr", &down]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("cannot connect to carbon"), "{stderr}");
}
