//! The `metrics` facade bridge (feature `metrics-facade`): what crates
//! record through `metrics::counter!`, `gauge!` and `histogram!` lands in a
//! promdecl registry, with valid names and labels, and is scraped by the
//! real Prometheus.
#![cfg(feature = "metrics-facade")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use promdecl::encode::{encode_to_string, Format};
use promdecl::metrics_facade::FacadeRecorder;
use promdecl::{Counter, Registry};

fn recorder() -> (Arc<Registry>, FacadeRecorder) {
    let registry = Arc::new(Registry::new());
    let recorder = FacadeRecorder::builder().registry(Arc::clone(&registry)).build().unwrap();
    (registry, recorder)
}

fn text(registry: &Registry) -> String {
    encode_to_string(registry, Format::TEXT)
}

/// The whole exposition of a small mixed set, spelled out.
#[test]
fn golden_exposition() {
    let registry = Arc::new(Registry::new());
    let recorder = FacadeRecorder::builder().registry(Arc::clone(&registry)).buckets([0.1, 1.0]).build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        describe_counter!("http.requests", "Requests served.");
        counter!("http.requests", "method" => "GET", "path" => "/").increment(2);
        describe_gauge!("pool.size", Unit::Bytes, "Pool size.");
        gauge!("pool.size").set(1024.0);
        histogram!("work.time", "step" => "a").record(0.5);
    });
    assert_eq!(
        text(&registry),
        "# HELP http_requests_total Requests served.\n\
         # TYPE http_requests_total counter\n\
         http_requests_total{method=\"GET\",path=\"/\"} 2\n\
         # HELP pool_size_bytes Pool size.\n\
         # TYPE pool_size_bytes gauge\n\
         pool_size_bytes 1024.0\n\
         # TYPE work_time histogram\n\
         work_time_bucket{step=\"a\",le=\"0.1\"} 0\n\
         work_time_bucket{step=\"a\",le=\"1.0\"} 1\n\
         work_time_bucket{step=\"a\",le=\"+Inf\"} 1\n\
         work_time_count{step=\"a\"} 1\n\
         work_time_sum{step=\"a\"} 0.5\n"
    );
}

/// A description that arrives after the first use still sets HELP, and its
/// unit renames the family.
#[test]
fn late_descriptions_take_effect() {
    let (registry, recorder) = recorder();
    metrics::with_local_recorder(&recorder, || {
        counter!("jobs.done").increment(1);
        histogram!("jobs.duration").record(2.0);
        describe_counter!("jobs.done", "Jobs finished.");
        describe_histogram!("jobs.duration", Unit::Seconds, "How long a job took.");
        // The series keep their values under the new name.
        histogram!("jobs.duration").record(1.0);
    });
    let text = text(&registry);
    assert!(text.contains("# HELP jobs_done_total Jobs finished.\n"), "{text}");
    assert!(text.contains("# HELP jobs_duration_seconds How long a job took.\n"), "{text}");
    assert!(!text.contains("jobs_duration_count"), "{text}");
    assert_eq!(registry.get_sample_value("jobs_duration_seconds_count", &[]), Some(2.0));
    assert_eq!(registry.get_sample_value("jobs_duration_seconds_sum", &[]), Some(3.0));
    // The new name is registered, the old one free again.
    assert!(Counter::builder("jobs_duration_seconds", "X.").register(&registry).is_err());
    assert!(Counter::builder("jobs_duration", "X.").register(&registry).is_ok());
}

/// A unit whose name is taken keeps the old name (and the new help).
#[test]
fn a_late_unit_whose_name_is_taken_keeps_the_old_name() {
    let (registry, recorder) = recorder();
    promdecl::Gauge::builder("cache_bytes", "Taken.").register(&registry).unwrap().set(1.0);
    metrics::with_local_recorder(&recorder, || {
        gauge!("cache").set(5.0);
        describe_gauge!("cache", Unit::Bytes, "Cache size.");
    });
    let text = text(&registry);
    assert!(text.contains("# HELP cache Cache size.\n"), "{text}");
    assert_eq!(registry.get_sample_value("cache", &[]), Some(5.0));
    assert_eq!(registry.get_sample_value("cache_bytes", &[]), Some(1.0));
}

/// Dotted names and label names become valid; a reserved label name is
/// kept apart instead of breaking the histogram.
#[test]
fn names_and_labels_are_made_valid() {
    let (registry, recorder) = recorder();
    metrics::with_local_recorder(&recorder, || {
        counter!("net.bytes-sent", "peer.addr" => "10.0.0.1").increment(5);
        histogram!("rpc.latency", "le" => "x", "__meta" => "y").record(0.1);
        gauge!("9lives").set(9.0);
    });
    assert_eq!(registry.get_sample_value("net_bytes_sent_total", &[("peer_addr", "10.0.0.1")]), Some(5.0));
    let labels = [("label_le", "x"), ("label___meta", "y")];
    assert_eq!(registry.get_sample_value("rpc_latency_count", &labels), Some(1.0));
    assert_eq!(registry.get_sample_value("_9lives", &[]), Some(9.0));
    let Some(v) = common::validate("names_and_labels_are_made_valid", &text(&registry)) else { return };
    assert!(v.ok, "{}", v.output);
}

/// Label order, repeated labels and empty values do not make two series
/// of what Prometheus sees as one.
#[test]
fn one_series_per_label_set_as_prometheus_sees_it() {
    let (registry, recorder) = recorder();
    metrics::with_local_recorder(&recorder, || {
        counter!("hits", "a" => "1", "b" => "2").increment(1);
        counter!("hits", "b" => "2", "a" => "1").increment(1);
        counter!("hits", "a" => "0", "b" => "2", "a" => "1").increment(1);
        counter!("hits", "a.x" => "1").increment(1);
        counter!("hits", "a_x" => "1", "c" => "").increment(1);
        // Another facade key (the empty label), the same series once sorted.
        counter!("hits", "b" => "2", "a" => "1", "c" => "").increment(1);
    });
    assert_eq!(registry.get_sample_value("hits_total", &[("a", "1"), ("b", "2")]), Some(4.0));
    assert_eq!(registry.get_sample_value("hits_total", &[("a_x", "1")]), Some(2.0));
    let Some(v) = common::validate("one_series_per_label_set", &text(&registry)) else { return };
    assert!(v.ok, "{}", v.output);
}

/// The same name with different label names is one family whose series
/// carry their own labels: a valid exposition, and each value where the
/// crate put it.
#[test]
fn the_same_name_with_different_label_names() {
    let (registry, recorder) = recorder();
    metrics::with_local_recorder(&recorder, || {
        counter!("tasks", "queue" => "mail").increment(1);
        counter!("tasks", "host" => "web1").increment(2);
        counter!("tasks").increment(4);
    });
    let text = text(&registry);
    assert_eq!(text.matches("# TYPE tasks_total counter\n").count(), 1, "{text}");
    assert_eq!(registry.get_sample_value("tasks_total", &[("queue", "mail")]), Some(1.0));
    assert_eq!(registry.get_sample_value("tasks_total", &[("host", "web1")]), Some(2.0));
    assert_eq!(registry.get_sample_value("tasks_total", &[]), Some(4.0));
    for format in [Format::TEXT, Format::OPENMETRICS] {
        let Some(v) =
            common::validate("the_same_name_with_different_label_names", &encode_to_string(&*registry, format))
        else {
            return;
        };
        assert!(v.ok, "{}", v.output);
    }
}

/// `increment` adds; `absolute` raises the counter to the value given and
/// never lowers it, and concurrent callers add each step once.
#[test]
fn counters_increment_and_absolute() {
    let (registry, recorder) = recorder();
    metrics::with_local_recorder(&recorder, || {
        counter!("bytes.read").absolute(100);
        counter!("bytes.read").absolute(40);
        counter!("bytes.read").absolute(150);
        counter!("events").increment(2);
        counter!("events").increment(3);
    });
    assert_eq!(registry.get_sample_value("bytes_read_total", &[]), Some(150.0));
    assert_eq!(registry.get_sample_value("events_total", &[]), Some(5.0));

    let handle = metrics::with_local_recorder(&recorder, || counter!("racing"));
    let start = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        // Every thread reports the same rising total, as several workers
        // mirroring one outside counter would.
        for _ in 0..4 {
            let (handle, start) = (handle.clone(), &start);
            s.spawn(move || {
                start.wait();
                for v in 1..=500_000u64 {
                    handle.absolute(v);
                }
            });
        }
    });
    assert_eq!(registry.get_sample_value("racing_total", &[]), Some(500_000.0));
}

#[test]
fn gauges_go_up_down_and_are_set() {
    let (registry, recorder) = recorder();
    metrics::with_local_recorder(&recorder, || {
        gauge!("inflight").increment(3.0);
        gauge!("inflight").decrement(1.0);
        gauge!("temp", "room" => "a").set(21.5);
    });
    assert_eq!(registry.get_sample_value("inflight", &[]), Some(2.0));
    assert_eq!(registry.get_sample_value("temp", &[("room", "a")]), Some(21.5));
}

/// The longest matching prefix picks the buckets; others get the default.
#[test]
fn histogram_buckets_by_name_prefix() {
    let registry = Arc::new(Registry::new());
    let recorder = FacadeRecorder::builder()
        .registry(Arc::clone(&registry))
        .buckets([10.0])
        .buckets_for("db.", [0.5])
        .buckets_for("db.slow.", [5.0])
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        histogram!("db.query").record(0.1);
        histogram!("db.slow.scan").record(1.0);
        histogram!("render").record(1.0);
    });
    assert_eq!(registry.get_sample_value("db_query_bucket", &[("le", "0.5")]), Some(1.0));
    assert_eq!(registry.get_sample_value("db_slow_scan_bucket", &[("le", "5.0")]), Some(1.0));
    assert_eq!(registry.get_sample_value("db_slow_scan_bucket", &[("le", "0.5")]), None);
    assert_eq!(registry.get_sample_value("render_bucket", &[("le", "10.0")]), Some(1.0));
}

/// `max_children` bounds each metric as it bounds promdecl's families: the
/// excess goes to the `__overflow__` series, nothing is lost.
#[test]
fn cardinality_limits_apply() {
    let registry = Arc::new(Registry::new());
    let recorder = FacadeRecorder::builder().registry(Arc::clone(&registry)).max_children(3).build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..10 {
            counter!("requests", "user" => format!("u{i}")).increment(1);
            gauge!("sessions", "user" => format!("u{i}")).increment(1.0);
        }
        // A series created before the limit keeps counting.
        counter!("requests", "user" => "u0").increment(1);
    });
    assert_eq!(registry.get_sample_value("requests_total", &[("user", "u0")]), Some(2.0));
    assert_eq!(registry.get_sample_value("requests_total", &[("user", "__overflow__")]), Some(7.0));
    assert_eq!(registry.get_sample_value("sessions", &[("user", "__overflow__")]), Some(7.0));
    let series = text(&registry).lines().filter(|l| l.starts_with("requests_total{")).count();
    assert_eq!(series, 4);
}

/// A name used as two kinds, or already taken in the registry, is refused
/// (counted), and the exposition holds only the first.
#[test]
fn conflicting_names_are_refused_not_broken() {
    let (registry, recorder) = recorder();
    Counter::builder("orders", "Orders.").register(&registry).unwrap().inc();
    metrics::with_local_recorder(&recorder, || {
        counter!("widgets").increment(1);
        gauge!("widgets").set(9.0);
        histogram!("widgets").record(1.0);
        counter!("orders_total").increment(5);
    });
    assert_eq!(recorder.refused(), 3);
    let text = text(&registry);
    assert_eq!(registry.get_sample_value("widgets_total", &[]), Some(1.0));
    assert_eq!(registry.get_sample_value("orders_total", &[]), Some(1.0));
    assert_eq!(text.matches("# TYPE widgets").count(), 1, "{text}");
    let Some(v) = common::validate("conflicting_names_are_refused_not_broken", &text) else { return };
    assert!(v.ok, "{}", v.output);
}

/// `examples/metrics_facade.rs`, scraped by the real Prometheus: PromQL
/// finds the three metrics its stand-in library recorded.
#[test]
fn the_facade_example_is_scraped_by_prometheus() {
    let test = "the_facade_example_is_scraped_by_prometheus";
    let Some(example) = common::ServingExample::start(test, "metrics_facade", &["--addr", "127.0.0.1:0"]) else {
        return;
    };
    let port: u16 = example.base().rsplit(':').next().unwrap().parse().unwrap();
    let Some(prom) = common::prometheus::Prometheus::start(test, port, "") else { return };
    let timeout = Duration::from_secs(40);
    assert_eq!(prom.query_value(r#"promdecl_example_facade_events_total{kind="demo"}"#, timeout), 3.0);
    assert_eq!(prom.query_value("promdecl_example_facade_queue_depth", timeout), 7.0);
    assert_eq!(prom.query_value("promdecl_example_facade_latency_seconds_count", timeout), 2.0);
    assert_eq!(prom.query_value("promdecl_example_facade_latency_seconds_sum", timeout), 1.0);
    assert_eq!(prom.query_value(r#"promdecl_example_facade_latency_seconds_bucket{le="0.5"}"#, timeout), 1.0);
}
