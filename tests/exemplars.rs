//! Exemplars: recording on counters, labelled children and histogram
//! buckets, the OpenMetrics 128-character rule, golden OpenMetrics text, the
//! reference validators, and a real Prometheus with exemplar storage
//! returning them from `/api/v1/query_exemplars`.

mod common;

use std::time::Duration;

use common::json::Value;
use common::prometheus::Prometheus;
use promdecl::encode::{encode_to_string, Format};
use promdecl::{Counter, DynLabels, Error, ExemplarLabels, Histogram, Registry};

#[test]
fn counter_exemplar_replaces_the_previous_one() {
    let c = Counter::builder("jobs", "Jobs.").build().unwrap();
    assert!(c.exemplar().is_none());
    c.inc_with_exemplar(&[("trace_id", "first")]).unwrap();
    c.inc_by_with_exemplar(2.5, &[("trace_id", "second"), ("span_id", "s1")]).unwrap();
    let e = c.exemplar().unwrap();
    assert_eq!(e.labels, [("trace_id".into(), "second".into()), ("span_id".into(), "s1".into())]);
    assert_eq!(e.value, 2.5);
    // Timestamped when recorded.
    common::assert_recent(&[e.timestamp.unwrap()]);
    assert_eq!(c.get(), 3.5);
    // A plain inc keeps the exemplar.
    c.inc();
    assert_eq!(c.exemplar().unwrap().value, 2.5);
    c.reset();
    assert!(c.exemplar().is_none());
}

#[test]
fn labelled_children_keep_their_own_exemplars() {
    let c: Counter<DynLabels> = Counter::builder("hits", "Hits.").labels(["path"]).build().unwrap();
    c.with_label_values(&["/a"]).unwrap().inc_with_exemplar(&[("trace_id", "a")]).unwrap();
    c.with_label_values(&["/b"]).unwrap().inc_by_with_exemplar(2.0, &[("trace_id", "b")]).unwrap();
    assert_eq!(c.with_label_values(&["/a"]).unwrap().exemplar().unwrap().labels[0].1, "a");
    assert_eq!(c.with_label_values(&["/b"]).unwrap().exemplar().unwrap().value, 2.0);

    let h: Histogram<DynLabels> = Histogram::builder("lat", "Lat.").labels(["op"]).buckets([1.0]).build().unwrap();
    let child = h.with_label_values(&["read"]).unwrap();
    child.observe_with_exemplar(3.0, &[("trace_id", "slow")]).unwrap();
    let handle = child.handle();
    assert_eq!(handle.bucket_exemplar(1).unwrap().labels[0].1, "slow");
    assert!(handle.bucket_exemplar(0).is_none());
}

#[test]
fn sharded_counters_take_exemplars_too() {
    let r = Registry::new();
    let c = promdecl::ShardedCounter::builder("hot", "Hot.").register(&r).unwrap();
    c.inc_with_exemplar(ExemplarLabels::new(&[("trace_id", "t9")]).at(Some(5.0))).unwrap();
    c.inc();
    let om = encode_to_string(&r, Format::OPENMETRICS);
    assert!(om.contains("hot_total 2 # {trace_id=\"t9\"} 1.0 5.0\n"), "{om}");
}

#[test]
fn the_128_character_rule() {
    let c = Counter::builder("c", "C.").build().unwrap();
    // "trace_id" is 8 characters: 120 more make exactly 128.
    let ok = "x".repeat(120);
    c.inc_with_exemplar(&[("trace_id", ok.as_str())]).unwrap();
    let too_long = "x".repeat(121);
    let err = c.inc_with_exemplar(&[("trace_id", too_long.as_str())]).unwrap_err();
    assert_eq!(err, Error::ExemplarTooLong { chars: 129 });
    assert!(err.to_string().contains("129") && err.to_string().contains("at most 128"), "{err}");
    // Characters, not bytes: 120 two-byte characters are still 128.
    let wide = "é".repeat(120);
    c.inc_with_exemplar(&[("trace_id", wide.as_str())]).unwrap();
    // Refused exemplars still count the event, and leave the last good one.
    assert_eq!(c.get(), 3.0);
    assert_eq!(c.exemplar().unwrap().labels[0].1, wide);

    let h = Histogram::builder("h", "H.").build().unwrap();
    assert!(matches!(
        h.observe_with_exemplar(0.1, &[("trace_id", too_long.as_str())]),
        Err(Error::ExemplarTooLong { .. })
    ));
    assert_eq!(h.count(), 1);
}

#[test]
fn invalid_exemplar_labels_are_refused() {
    let c = Counter::builder("c", "C.").build().unwrap();
    for labels in [&[("1trace", "x")][..], &[("__reserved", "x")], &[("a", "1"), ("a", "2")], &[("", "x")]] {
        let err = c.inc_with_exemplar(labels).unwrap_err();
        assert!(matches!(err, Error::InvalidLabelName { .. }), "{labels:?}: {err}");
    }
    assert!(c.exemplar().is_none());
    // No labels at all is allowed by OpenMetrics.
    c.inc_with_exemplar(&[]).unwrap();
    assert_eq!(c.exemplar().unwrap().labels, []);
}

/// A registry with exemplars at fixed times, for the goldens; one exemplar
/// value needs escaping.
fn registry() -> Registry {
    registry_with("q\"uote\\")
}

fn registry_with(odd_trace_id: &str) -> Registry {
    let r = Registry::new();
    let c = Counter::builder("requests", "Requests.").register(&r).unwrap();
    c.inc_by_with_exemplar(2.0, ExemplarLabels::new(&[("trace_id", "abc123")]).at(Some(1700000000.5))).unwrap();
    let h = Histogram::builder("request_seconds", "Latency.").buckets([0.1, 1.0]).register(&r).unwrap();
    h.observe_with_exemplar(0.05, ExemplarLabels::new(&[("trace_id", "abc123")]).at(Some(1700000001.0))).unwrap();
    h.observe_with_exemplar(0.5, ExemplarLabels::new(&[("trace_id", odd_trace_id)]).at(None)).unwrap();
    h.observe(5.0);
    r
}

#[test]
fn openmetrics_golden_with_exemplars() {
    let (om, created) = common::normalize_created(&encode_to_string(&registry(), Format::OPENMETRICS));
    common::assert_recent(&created);
    assert_eq!(
        om,
        "# HELP requests Requests.\n\
         # TYPE requests counter\n\
         requests_total 2 # {trace_id=\"abc123\"} 2.0 1700000000.5\n\
         requests_created <T>\n\
         # HELP request_seconds Latency.\n\
         # TYPE request_seconds histogram\n\
         request_seconds_bucket{le=\"0.1\"} 1 # {trace_id=\"abc123\"} 0.05 1700000001.0\n\
         request_seconds_bucket{le=\"1.0\"} 2 # {trace_id=\"q\\\"uote\\\\\"} 0.5\n\
         request_seconds_bucket{le=\"+Inf\"} 3\n\
         request_seconds_count 3\n\
         request_seconds_sum 5.55\n\
         request_seconds_created <T>\n\
         # EOF\n"
    );
}

#[test]
fn text_format_has_no_exemplars() {
    let text = encode_to_string(&registry(), Format::TEXT);
    assert!(common::sample_lines(&text).iter().all(|l| !l.contains(" # ")), "{text}");
    assert!(!text.contains("abc123"), "{text}");
    assert!(text.contains("request_seconds_bucket{le=\"0.1\"} 1\n"), "{text}");
}

/// promtool, the Python parsers and Prometheus' own OpenMetrics parser.
/// (The Python parser misreads an exemplar value ending in an escaped
/// backslash, `"q\"uote\\"`, which Prometheus' parser and ours read right;
/// the golden above covers that escaping.)
#[test]
fn reference_validators_accept_exemplars() {
    let om = encode_to_string(&registry_with("span-7 é"), Format::OPENMETRICS);
    let Some(v) = common::validate("exemplars", &om) else { return };
    assert!(v.ok, "validate-exposition.sh rejected:\n{om}\n{}", v.output);
    // The Python OpenMetrics parser read the exemplars back.
    let dump = format!("{:?}", v.dump.expect("a dump"));
    assert!(dump.contains("abc123") && dump.contains("span-7"), "{dump}");
}

/// Our own OpenMetrics parser reads every exemplar back, escapes included.
#[test]
fn exemplars_round_trip_through_our_parser() {
    let om = encode_to_string(&registry(), Format::OPENMETRICS);
    let families = promdecl::parse_openmetrics(&om).unwrap();
    let exemplars: Vec<_> = families.iter().flat_map(|f| &f.samples).filter_map(|s| s.exemplar.as_ref()).collect();
    assert_eq!(exemplars.len(), 3);
    assert_eq!(exemplars[2].labels, [("trace_id".to_owned(), "q\"uote\\".to_owned())]);
    assert_eq!((exemplars[2].value, exemplars[2].timestamp), (0.5, None));
    assert_eq!(exemplars[0].timestamp, Some(1700000000.5));
}

/// Prometheus 2.42 with exemplar storage (and without native histograms, so
/// it asks for OpenMetrics) stores our exemplars.
#[test]
fn prometheus_returns_our_exemplars() {
    prometheus_stores_exemplars("prometheus_returns_our_exemplars", "exemplar-storage");
}

/// With the peers' default features (exemplar storage and native
/// histograms) Prometheus asks for protobuf first, which the server offers
/// with the `protobuf` feature: the exemplars come through it.
#[cfg(feature = "protobuf")]
#[test]
fn prometheus_returns_our_exemplars_over_protobuf() {
    prometheus_stores_exemplars("prometheus_returns_our_exemplars_over_protobuf", "exemplar-storage,native-histograms");
}

fn prometheus_stores_exemplars(test: &str, features: &str) {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let h = Histogram::builder("promdecl_test_request_seconds", "Latency.")
        .buckets([0.01, 0.05, 0.1])
        .register(registry)
        .unwrap();
    h.observe_with_exemplar(0.05, &[("trace_id", "abc123")]).unwrap();
    let c = Counter::builder("promdecl_test_requests", "Requests.").register(registry).unwrap();
    c.inc_with_exemplar(&[("trace_id", "def456")]).unwrap();
    let server = promdecl::serve_registry("127.0.0.1:0", registry).unwrap();
    let Some(prom) = Prometheus::start(test, server.local_addr().port(), features) else {
        return;
    };

    let series = prom.exemplars("promdecl_test_request_seconds_bucket", Duration::from_secs(40));
    let found: Vec<(String, String, f64)> = series
        .iter()
        .flat_map(|s| {
            let le = s.get("seriesLabels").and_then(|l| l.get("le")).and_then(Value::as_str).unwrap_or("").to_owned();
            s.get("exemplars").map(|e| e.items().to_vec()).unwrap_or_default().into_iter().map(move |e| {
                let trace =
                    e.get("labels").and_then(|l| l.get("trace_id")).and_then(Value::as_str).unwrap_or("").to_owned();
                let value = e.get("value").and_then(Value::as_str).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
                (le.clone(), trace, value)
            })
        })
        .collect();
    assert!(found.contains(&("0.05".into(), "abc123".into(), 0.05)), "exemplars: {found:?}");

    let series = prom.exemplars("promdecl_test_requests_total", Duration::from_secs(20));
    let text = format!("{series:?}");
    assert!(text.contains("def456"), "{text}");
    server.shutdown();
}

/// `examples/exemplars.rs` serves its exemplar in OpenMetrics only.
#[test]
fn the_exemplars_example_serves_its_exemplar() {
    let test = "the_exemplars_example_serves_its_exemplar";
    let Some(example) = common::ServingExample::start(test, "exemplars", &["--addr", "127.0.0.1:0"]) else {
        return;
    };
    let get = |accept: &str| {
        ureq::get(&example.url)
            .set("Accept", accept)
            .timeout(Duration::from_secs(5))
            .call()
            .expect("the example answers")
            .into_string()
            .unwrap()
    };
    let om = get("application/openmetrics-text; version=1.0.0");
    let line = om.lines().find(|l| l.starts_with("promdecl_example_request_seconds_bucket{le=\"0.05\"}"));
    assert!(line.is_some_and(|l| l.contains(" # {trace_id=\"abc123\"} 0.05 ")), "{om}");
    let text = get("text/plain; version=0.0.4");
    assert!(
        text.contains("promdecl_example_request_seconds_bucket{le=\"0.05\"} 1\n") && !text.contains("abc123"),
        "{text}"
    );
}
