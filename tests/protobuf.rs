//! Protobuf exposition: our output decoded with prost and compared, message
//! by message, with the `io.prometheus.client.MetricFamily` structure every
//! metric type should have (created timestamps checked to be recent, then
//! left out of the comparison).
#![cfg(feature = "protobuf")]

mod common;

use promdecl::encode::proto::{
    self, Bucket, BucketSpan, Histogram as PbHistogram, LabelPair, Message, Metric, MetricFamily, MetricType, Quantile,
    Timestamp,
};
use promdecl::encode::{encode, negotiate, Format, FormatKind};
use promdecl::{
    Counter, DynLabels, Enum, ExemplarLabels, Gauge, GaugeHistogramFamily, Histogram, Info, Registry, Summary,
    UnknownFamily,
};

/// Encodes `collector` as protobuf and decodes every delimited message.
fn scrape(collector: &dyn promdecl::Collector) -> Vec<MetricFamily> {
    let mut buf = Vec::new();
    encode(collector, Format::PROTOBUF, &mut buf);
    let mut rest = buf.as_slice();
    let mut families = Vec::new();
    while !rest.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut rest).expect("a delimited MetricFamily"));
    }
    families
}

/// Takes the created timestamps out of `families`, asserting they are recent.
fn strip_created(families: &mut [MetricFamily]) -> usize {
    let mut seen = Vec::new();
    for m in families.iter_mut().flat_map(|f| f.metric.iter_mut()) {
        let ts = [
            m.counter.as_mut().and_then(|c| c.created_timestamp.take()),
            m.histogram.as_mut().and_then(|h| h.created_timestamp.take()),
            m.summary.as_mut().and_then(|s| s.created_timestamp.take()),
        ];
        seen.extend(ts.into_iter().flatten().map(|t| t.seconds as f64 + f64::from(t.nanos) * 1e-9));
    }
    common::assert_recent(&seen);
    seen.len()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs.iter().map(|(n, v)| LabelPair { name: Some((*n).into()), value: Some((*v).into()) }).collect()
}

fn family(name: &str, help: &str, kind: MetricType, metric: Vec<Metric>) -> MetricFamily {
    MetricFamily { name: Some(name.into()), help: Some(help.into()), r#type: Some(kind as i32), metric, unit: None }
}

fn exemplar(pairs: &[(&str, &str)], value: f64, seconds: i64, nanos: i32) -> proto::Exemplar {
    proto::Exemplar { label: labels(pairs), value: Some(value), timestamp: Some(Timestamp { seconds, nanos }) }
}

fn bucket(upper: f64, count: u64) -> Bucket {
    Bucket { cumulative_count: Some(count), upper_bound: Some(upper), ..Default::default() }
}

#[test]
fn counters_gauges_and_untyped() {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("requests", "Requests.").labels(["method"]).register(&r).unwrap();
    c.with_label_values(&["GET"]).unwrap().inc_by(3.0).unwrap();
    c.with_label_values(&["GET"])
        .unwrap()
        .inc_with_exemplar(ExemplarLabels::new(&[("trace_id", "abc123")]).at(Some(1700000000.25)))
        .unwrap();
    Gauge::builder("temperature", "Temp.").unit("celsius").register(&r).unwrap().set(-3.5);
    let mut u = UnknownFamily::new("legacy", "Legacy.", &["x"]);
    u.add_metric(&["1"], 7.0, Some(1700000001.5));
    r.register(u).unwrap();

    let mut got = scrape(&r);
    assert_eq!(strip_created(&mut got), 1);
    let want = vec![
        family(
            "requests_total",
            "Requests.",
            MetricType::Counter,
            vec![Metric {
                label: labels(&[("method", "GET")]),
                counter: Some(proto::Counter {
                    value: Some(4.0),
                    exemplar: Some(exemplar(&[("trace_id", "abc123")], 1.0, 1700000000, 250_000_000)),
                    created_timestamp: None,
                }),
                ..Default::default()
            }],
        ),
        MetricFamily {
            unit: Some("celsius".into()),
            ..family(
                "temperature_celsius",
                "Temp.",
                MetricType::Gauge,
                vec![Metric { gauge: Some(proto::Gauge { value: Some(-3.5) }), ..Default::default() }],
            )
        },
        family(
            "legacy",
            "Legacy.",
            MetricType::Untyped,
            vec![Metric {
                label: labels(&[("x", "1")]),
                untyped: Some(proto::Untyped { value: Some(7.0) }),
                timestamp_ms: Some(1700000001500),
                ..Default::default()
            }],
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn classic_histogram_with_exemplars() {
    let r = Registry::new();
    let h = Histogram::builder("latency_seconds", "Latency.").buckets([0.1, 1.0]).register(&r).unwrap();
    h.observe(0.5);
    h.observe_with_exemplar(0.05, ExemplarLabels::new(&[("trace_id", "a")]).at(Some(10.0))).unwrap();
    h.observe_with_exemplar(7.0, ExemplarLabels::new(&[("trace_id", "b")]).at(Some(11.0))).unwrap();

    let mut got = scrape(&r);
    assert_eq!(strip_created(&mut got), 1);
    let histogram = PbHistogram {
        sample_count: Some(3),
        sample_sum: Some(7.55),
        bucket: vec![
            Bucket { exemplar: Some(exemplar(&[("trace_id", "a")], 0.05, 10, 0)), ..bucket(0.1, 1) },
            bucket(1.0, 2),
            // +Inf is implicit, but written when it has an exemplar.
            Bucket { exemplar: Some(exemplar(&[("trace_id", "b")], 7.0, 11, 0)), ..bucket(f64::INFINITY, 3) },
        ],
        ..Default::default()
    };
    let want = family(
        "latency_seconds",
        "Latency.",
        MetricType::Histogram,
        vec![Metric { histogram: Some(histogram), ..Default::default() }],
    );
    assert_eq!(got, [want]);
}

/// The observations: 0.1, 0.2, 0.4, 0.8, 1.6 with factor 1.1
/// (schema 3): each doubles the previous, so they sit 8 buckets apart and
/// every gap is a new span.
#[test]
fn native_histogram_spans_and_deltas() {
    let r = Registry::new();
    let h = Histogram::builder("native_seconds", "Native.").native(1.1).register(&r).unwrap();
    for v in [0.1, 0.2, 0.4, 0.8, 1.6] {
        h.observe(v);
    }
    h.observe(0.0);
    h.observe(-0.1);

    let mut got = scrape(&r);
    strip_created(&mut got);
    let span = |offset, length| BucketSpan { offset: Some(offset), length: Some(length) };
    let histogram = PbHistogram {
        sample_count: Some(7),
        sample_sum: Some(0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 0.0 - 0.1),
        schema: Some(3),
        zero_threshold: Some(promdecl::metric::DEFAULT_NATIVE_ZERO_THRESHOLD),
        zero_count: Some(1),
        // 0.1 = 0.8 * 2^-3 is in bucket -26 ((0.7711, 0.8409] * 2^-3).
        positive_span: vec![span(-26, 1), span(7, 1), span(7, 1), span(7, 1), span(7, 1)],
        positive_delta: vec![1, 0, 0, 0, 0],
        negative_span: vec![span(-26, 1)],
        negative_delta: vec![1],
        ..Default::default()
    };
    let sum = histogram.sample_sum;
    let got_sum = got[0].metric[0].histogram.as_ref().and_then(|h| h.sample_sum);
    assert!((got_sum.unwrap() - sum.unwrap()).abs() < 1e-12);
    got[0].metric[0].histogram.as_mut().unwrap().sample_sum = sum;
    let want = family(
        "native_seconds",
        "Native.",
        MetricType::Histogram,
        vec![Metric { histogram: Some(histogram), ..Default::default() }],
    );
    assert_eq!(got, [want]);
}

#[test]
fn classic_and_native_together() {
    let r = Registry::new();
    let h = Histogram::builder("both_seconds", "Both.").buckets([1.0]).native(2.0).register(&r).unwrap();
    h.observe(0.75);
    h.observe(3.0);
    let got = scrape(&r);
    let pb = got[0].metric[0].histogram.as_ref().unwrap();
    assert_eq!(pb.bucket, [bucket(1.0, 1)]);
    assert_eq!((pb.schema, pb.sample_count), (Some(0), Some(2)));
    // Schema 0: 0.75 in (0.5, 1] (key 0), 3 in (2, 4] (key 2): one span with an empty bucket.
    assert_eq!(pb.positive_span, [BucketSpan { offset: Some(0), length: Some(3) }]);
    assert_eq!(pb.positive_delta, [1, -1, 1]);
    // The text formats keep the classic buckets.
    let text = promdecl::encode::encode_to_string(&r, Format::TEXT);
    assert!(text.contains("both_seconds_bucket{le=\"1.0\"} 1\nboth_seconds_bucket{le=\"+Inf\"} 2\n"), "{text}");
}

/// With a zero threshold of 0 and no observations, a native histogram needs
/// the no-op span, or it would look classic.
#[test]
fn empty_native_histogram_has_a_no_op_span() {
    let r = Registry::new();
    Histogram::builder("empty", "E.").native(1.1).native_zero_threshold(0.0).register(&r).unwrap();
    let got = scrape(&r);
    let pb = got[0].metric[0].histogram.as_ref().unwrap();
    assert_eq!(pb.positive_span, [BucketSpan { offset: Some(0), length: Some(0) }]);
    assert_eq!((pb.zero_threshold, pb.sample_count), (Some(0.0), Some(0)));
}

#[test]
fn summaries_infos_statesets_and_gauge_histograms() {
    let r = Registry::new();
    let s = Summary::builder("rpc_seconds", "RPC.").register(&r).unwrap();
    s.observe(2.0);
    s.observe(4.0);
    Info::builder("build", "Build.").register(&r).unwrap().info(&[("version", "1.2")]).unwrap();
    let e: Enum<&'static str> = Enum::builder("mode", "Mode.").states(["on", "off"]).register(&r).unwrap();
    e.set_state("off").unwrap();
    let mut g = GaugeHistogramFamily::new("queue", "Queue.", &[]);
    g.add_metric(&[], &[(1.0, 2), (f64::INFINITY, 5)], 9.0, None);
    r.register(g).unwrap();

    let mut got = scrape(&r);
    assert_eq!(strip_created(&mut got), 1);
    let gauge = |pairs: &[(&str, &str)], v: f64| Metric {
        label: labels(pairs),
        gauge: Some(proto::Gauge { value: Some(v) }),
        ..Default::default()
    };
    let summary = proto::Summary { sample_count: Some(2), sample_sum: Some(6.0), ..Default::default() };
    let want = vec![
        family(
            "rpc_seconds",
            "RPC.",
            MetricType::Summary,
            vec![Metric { summary: Some(summary), ..Default::default() }],
        ),
        family("build_info", "Build.", MetricType::Gauge, vec![gauge(&[("version", "1.2")], 1.0)]),
        family("mode", "Mode.", MetricType::Gauge, vec![gauge(&[("mode", "on")], 0.0), gauge(&[("mode", "off")], 1.0)]),
        family(
            "queue",
            "Queue.",
            MetricType::GaugeHistogram,
            vec![Metric {
                histogram: Some(PbHistogram {
                    sample_count: Some(5),
                    sample_sum: Some(9.0),
                    bucket: vec![bucket(1.0, 2)],
                    ..Default::default()
                }),
                ..Default::default()
            }],
        ),
    ];
    assert_eq!(got, want);
}

/// Families built by hand carry `quantile` as a label; it becomes the
/// quantile of one summary metric.
#[test]
fn hand_built_summary_quantiles() {
    let mut f = promdecl::MetricFamily::new("lat", "L.", promdecl::MetricType::Summary);
    for (q, v) in [("0.5", 1.0), ("0.9", 3.0)] {
        f.samples.push(promdecl::FamilySample {
            suffix: String::new(),
            labels: vec![("path".into(), "/".into()), ("quantile".into(), q.into())],
            value: promdecl::encode::Number::Float(v),
            timestamp: None,
            exemplar: None,
        });
    }
    let got = scrape(&f);
    assert_eq!(got[0].metric.len(), 1);
    let m = &got[0].metric[0];
    assert_eq!(m.label, labels(&[("path", "/")]));
    assert_eq!(
        m.summary.as_ref().unwrap().quantile,
        [Quantile { quantile: Some(0.5), value: Some(1.0) }, Quantile { quantile: Some(0.9), value: Some(3.0) }]
    );
}

#[test]
fn names_follow_the_escaping_scheme() {
    promdecl::name::set_name_validation(promdecl::name::NameValidation::Utf8);
    let r = Registry::new();
    Gauge::builder("my.gauge", "G.").register(&r).unwrap().set(1.0);
    let mut buf = Vec::new();
    encode(&r, Format::PROTOBUF, &mut buf);
    let f = MetricFamily::decode_length_delimited(buf.as_slice()).unwrap();
    assert_eq!(f.name(), "my_gauge");
    let utf8 = negotiate(
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8",
    );
    assert_eq!(utf8.kind, FormatKind::Protobuf);
    let mut buf = Vec::new();
    encode(&r, utf8, &mut buf);
    assert_eq!(MetricFamily::decode_length_delimited(buf.as_slice()).unwrap().name(), "my.gauge");
    promdecl::name::set_name_validation(promdecl::name::NameValidation::Legacy);
}

/// The server answers a protobuf-first `Accept` (Prometheus 2.42 with
/// native histograms) with protobuf.
#[test]
fn server_negotiates_protobuf() {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    Counter::builder("served", "S.").register(registry).unwrap().inc();
    let server = promdecl::serve_registry("127.0.0.1:0", registry).unwrap();
    let accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,\
                  application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,\
                  text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let resp = ureq::get(&format!("http://{}/metrics", server.local_addr())).set("Accept", accept).call().unwrap();
    assert_eq!(
        resp.header("Content-Type"),
        Some("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
    );
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
    let f = MetricFamily::decode_length_delimited(body.as_slice()).unwrap();
    assert_eq!(f.name(), "served_total");
    assert_eq!(f.metric[0].counter.as_ref().unwrap().value(), 1.0);
    server.shutdown();
}

/// `name[]` filtering (`Registry::restricted`) keeps a selected histogram's
/// native buckets and drops unselected families.
#[test]
fn restricted_registries_keep_native_buckets() {
    let r = Registry::new();
    Histogram::builder("picked_seconds", "P.").native(2.0).register(&r).unwrap().observe(3.0);
    Gauge::builder("other", "O.").register(&r).unwrap().set(1.0);
    for names in [&["picked_seconds_count"][..], &["picked_seconds"]] {
        let got = scrape(&r.restricted(names.iter().copied()));
        assert_eq!(got.len(), 1, "{names:?}");
        let h = got[0].metric[0].histogram.as_ref().unwrap();
        assert_eq!((h.schema, h.positive_delta.as_slice()), (Some(0), &[1][..]), "{names:?}");
    }
    assert!(scrape(&r.restricted(["other"]))[0].metric[0].histogram.is_none());
}
