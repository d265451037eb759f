//! The exposition parsers: every metric type survives encode -> parse ->
//! encode byte for byte in both formats, errors point at the right line and
//! column, and no input makes them panic.

use promdecl::encode::{encode_to_string, EscapingScheme, Exemplar, Format, FormatKind, MetricEncoder, Number};
use promdecl::model::FamilySample;
use promdecl::{
    parse_openmetrics, parse_text, Collector, Counter, CounterFamily, Enum, Gauge, GaugeFamily, GaugeHistogramFamily,
    Histogram, HistogramFamily, Info, MetricFamily, MetricType, ParseError, Registry, StateSetFamily, Summary,
    SummaryFamily, UnknownFamily,
};

/// Parsed families, encoded again in order.
struct Families(Vec<MetricFamily>);

impl Collector for Families {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        for family in &self.0 {
            family.encode(enc);
        }
    }
}

const HELP: &str = "Help with a \\ backslash, a \"quote\" and\na second line.";

/// One metric of every type, built-in and custom, with escapes, units,
/// timestamps, exemplars and odd values.
fn registry() -> Registry {
    let r = Registry::new();
    Counter::builder("jobs", "Jobs run.").register(&r).unwrap().inc_by(3.0).unwrap();
    let requests = Counter::builder("requests", HELP).labels(["method", "path"]).register(&r).unwrap();
    requests.with_label_values(&["GET", "/a\"b\\c\nd"]).unwrap().inc();
    requests.with_label_values(&["POST", "/日本"]).unwrap().inc_by_u64(5);
    Counter::builder("idle", "No children yet.").labels(["x"]).register(&r).unwrap();
    Gauge::builder("temperature", "Temperature.").unit("celsius").register(&r).unwrap().set(-3.5);
    Gauge::builder("ratio", "Not a number.").register(&r).unwrap().set(f64::NAN);
    Gauge::builder("ceiling", "Infinite.").register(&r).unwrap().set(f64::INFINITY);
    Gauge::builder("tiny", "Small.").register(&r).unwrap().set(1e-7);
    let latency = Histogram::builder("latency_seconds", "Latency.")
        .buckets([0.1, 0.5, 1.0])
        .labels(["route"])
        .register(&r)
        .unwrap();
    for v in [0.05, 0.3, 0.7, 4.0] {
        latency.with_label_values(&["/"]).unwrap().observe(v);
    }
    let summary = Summary::builder("task_seconds", "Task time.").register(&r).unwrap();
    summary.observe(0.25);
    summary.observe(1.5);
    Info::builder("build", "Build.").register(&r).unwrap().info(&[("version", "1.2.3"), ("commit", "abc")]).unwrap();
    let state: Enum<&'static str> =
        Enum::builder("worker_state", "State.").states(["starting", "running", "stopped"]).register(&r).unwrap();
    state.state("running");

    let mut g = GaugeHistogramFamily::new("queue_items", "Queue.", &["queue"]);
    g.add_metric(&["a"], &[(-1.0, 1), (1.0, 2), (f64::INFINITY, 3)], -0.5, None);
    r.register(MetricFamily::from(g)).unwrap();
    let mut s = StateSetFamily::new("mode", "Mode.", &["host"]);
    s.add_metric(&["h1"], &[("on", true), ("off", false)], None);
    r.register(MetricFamily::from(s)).unwrap();
    let mut u = UnknownFamily::new("legacy", "", &["k"]);
    u.add_metric(&["v"], 42.0, None);
    u.add_metric(&["w"], -0.0, None);
    r.register(MetricFamily::from(u)).unwrap();
    let mut t = GaugeFamily::new("stamped", "Timestamps.", &["n"]);
    t.add_metric(&["1"], 1.0, Some(1_700_000_000.5));
    t.add_metric(&["2"], 2.0, Some(1_700_000_000.123));
    r.register(MetricFamily::from(t)).unwrap();
    let mut c = CounterFamily::new("events_total", "Events.", &[]);
    c.add_metric(&[], 7.0, Some(1_600_000_000.25), Some(1_700_000_000.0));
    r.register(MetricFamily::from(c)).unwrap();
    let mut h = HistogramFamily::new("size_bytes", "Sizes.", &[]);
    h.add_metric(&[], &[(1024.0, 1), (f64::INFINITY, 2)], Some(3000.0), None);
    let mut h = MetricFamily::from(h);
    h.samples[0].exemplar =
        Some(Exemplar { labels: vec![("trace_id".into(), "abc\"1".into())], value: 512.0, timestamp: Some(1.5) });
    r.register(h).unwrap();
    r
}

fn round_trip(format: Format, parse: fn(&str) -> Result<Vec<MetricFamily>, ParseError>) -> Vec<MetricFamily> {
    let text = encode_to_string(&registry(), format);
    let families = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let again = encode_to_string(&Families(families.clone()), format);
    assert_eq!(again, text);
    families
}

fn kinds(families: &[MetricFamily]) -> Vec<(&str, MetricType)> {
    families.iter().map(|f| (f.name.as_str(), f.kind)).collect()
}

#[test]
fn openmetrics_round_trips_every_type() {
    let families = round_trip(Format::OPENMETRICS, parse_openmetrics);
    use MetricType::*;
    assert_eq!(
        kinds(&families),
        [
            ("jobs", Counter),
            ("requests", Counter),
            ("idle", Counter),
            ("temperature_celsius", Gauge),
            ("ratio", Gauge),
            ("ceiling", Gauge),
            ("tiny", Gauge),
            ("latency_seconds", Histogram),
            ("task_seconds", Summary),
            ("build", Info),
            ("worker_state", StateSet),
            ("queue_items", GaugeHistogram),
            ("mode", StateSet),
            ("legacy", Unknown),
            ("stamped", Gauge),
            ("events", Counter),
            ("size_bytes", Histogram),
        ]
    );
    assert_eq!(families[1].help, HELP);
    let get = families[1].samples.iter().find(|s| s.labels[0].1 == "GET").expect("GET sample");
    assert_eq!(get.labels[1].1, "/a\"b\\c\nd");
    assert_eq!(families[3].unit, "celsius");
    let size = &families[16];
    assert_eq!(size.samples[0].exemplar.as_ref().map(|e| e.labels[0].1.as_str()), Some("abc\"1"));
    assert_eq!(families[14].samples[0].timestamp, Some(1_700_000_000.5));
}

#[test]
fn text_round_trips_every_type() {
    let families = round_trip(Format::TEXT, parse_text);
    use MetricType::*;
    // The text format has no gaugehistogram, info or stateset: they are
    // exposed as histograms and gauges, and parsed back as such.
    let expected = [
        ("jobs", Counter),
        ("requests", Counter),
        ("idle", Counter),
        ("temperature_celsius", Gauge),
        ("ratio", Gauge),
        ("ceiling", Gauge),
        ("tiny", Gauge),
        ("latency_seconds", Histogram),
        ("task_seconds", Summary),
        ("build_info", Gauge),
        ("worker_state", Gauge),
        ("queue_items", Histogram),
        ("mode", Gauge),
        ("legacy", Unknown),
        ("stamped", Gauge),
        ("events", Counter),
        ("size_bytes", Histogram),
    ];
    assert_eq!(kinds(&families), expected);
    assert_eq!(families[1].help, HELP);
    assert_eq!(families[14].samples[1].timestamp, Some(1_700_000_000.123));
}

#[test]
fn utf8_names_round_trip_quoted() {
    let mut c = CounterFamily::new("my.requests", "Requests.", &["http.method"]);
    c.add_metric(&["GET"], 2.0, None, None);
    let mut g = GaugeFamily::new("température", "Température.", &["pièce"]);
    g.add_metric(&["salle \"1\""], 19.5, None);
    let families = Families(vec![c.into(), g.into()]);
    for (kind, parse) in [
        (FormatKind::OpenMetrics100, parse_openmetrics as fn(&str) -> Result<Vec<MetricFamily>, ParseError>),
        (FormatKind::Text100, parse_text),
    ] {
        let format = Format { kind, escaping: EscapingScheme::AllowUtf8, announce_escaping: true };
        let text = encode_to_string(&families, format);
        assert!(text.contains("{\"my.requests_total\",\"http.method\"=\"GET\"}"), "{text}");
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(parsed[0].name, "my.requests");
        assert_eq!(parsed[1].samples[0].labels, [("pièce".to_owned(), "salle \"1\"".to_owned())]);
        assert_eq!(encode_to_string(&Families(parsed), format), text);
    }
}

#[test]
fn openmetrics_gives_back_the_families_it_was_given() {
    let mut c = CounterFamily::new("hits", "Hits.", &["path"]);
    c.add_metric(&["/"], 7.0, Some(1_600_000_000.0), None);
    let mut h = HistogramFamily::new("rpc_seconds", "RPC latency.", &["service"]);
    h.add_metric(&["auth"], &[(0.1, 3), (1.0, 5), (f64::INFINITY, 6)], Some(2.5), Some(12.0));
    let mut s = SummaryFamily::new("job_seconds", "Jobs.", &[]);
    s.add_metric(&[], 4, 1.5, None);
    let families: Vec<MetricFamily> = vec![c.into(), h.into(), s.into()];
    let text = encode_to_string(&Families(families.clone()), Format::OPENMETRICS);
    assert_eq!(parse_openmetrics(&text).unwrap(), families);
}

#[test]
fn openmetrics_sample_model() {
    let text = "# TYPE a_seconds histogram\n\
                # UNIT a_seconds seconds\n\
                # HELP a_seconds A.\n\
                a_seconds_bucket{le=\"1\",x=\"y\"} 0 # {id=\"7\"} 0.5 123\n\
           a_seconds_bucket{le=\"+Inf\",x=\"y\"} 2.0\n\
           a_seconds_count{x=\"y\"} 2\n\
           a_seconds_sum{x=\"y\"} 3.5\n\
           a_seconds_created{x=\"y\"} 1e9\n\
           # TYPE b info\n\
           b_info{v=\"1\"} 1\n\
           {\"my.metric\",\"label.name\"=\"v\"} 18446744073709551616\n\
           # EOF";
    let families = parse_openmetrics(text).unwrap();
    let a = &families[0];
    assert_eq!((a.name.as_str(), a.unit.as_str(), a.help.as_str()), ("a_seconds", "seconds", "A."));
    let suffixes: Vec<&str> = a.samples.iter().map(|s| s.suffix.as_str()).collect();
    assert_eq!(suffixes, ["_bucket", "_bucket", "_count", "_sum", "_created"]);
    assert_eq!(
        a.samples[0],
        FamilySample {
            suffix: "_bucket".into(),
            labels: vec![("le".into(), "1".into()), ("x".into(), "y".into())],
            value: Number::Int(0),
            timestamp: None,
            exemplar: Some(Exemplar { labels: vec![("id".into(), "7".into())], value: 0.5, timestamp: Some(123.0) }),
        }
    );
    assert_eq!(a.samples[1].value, Number::Float(2.0));
    assert_eq!(a.samples[4].value, Number::Float(1e9));
    assert_eq!((families[1].name.as_str(), families[1].samples[0].suffix.as_str()), ("b", "_info"));
    let utf8 = &families[2];
    assert_eq!((utf8.name.as_str(), utf8.kind), ("my.metric", MetricType::Unknown));
    assert_eq!(utf8.samples[0].labels, [("label.name".to_owned(), "v".to_owned())]);
    assert_eq!(utf8.samples[0].value, Number::Float(18446744073709551616.0));
}

#[test]
fn text_reads_what_go_and_python_clients_write() {
    let text = "# A comment.\n\
                \n\
                # HELP http_requests_total Requests \\\\ \"served\".\n\
                # TYPE http_requests_total counter\n\
                http_requests_total{method=\"post\",code=\"200\",} 1027 1395066363000\r\n\
                \t http_requests_total { method = \"post\" , code = \"400\" }   3 1395066363000\n\
                # TYPE old_style counter\n\
                old_style 5\n\
                # TYPE rpc_duration_seconds summary\n\
                rpc_duration_seconds{quantile=\"0.5\"} 4773\n\
                rpc_duration_seconds_sum 1.7560473e+07\n\
                rpc_duration_seconds_count 2693\n\
                # HELP no_type Has help only.\n\
                no_type 1\n\
                untyped_thing NaN\n\
                # TYPE latency histogram\n\
                latency_bucket{le=\"+Inf\"} 1\n\
                http_requests_total{method=\"get\",code=\"200\"} 9\n\
                latency_count 1\n\
                latency_sum 0.5\n\
                # TYPE mixed GAUGE\n\
                mixed -Inf\n";
    let families = parse_text(text).unwrap();
    use MetricType::*;
    assert_eq!(
        kinds(&families),
        [
            ("http_requests", Counter),
            ("old_style", Counter),
            ("rpc_duration_seconds", Summary),
            ("no_type", Unknown),
            ("untyped_thing", Unknown),
            ("latency", Histogram),
            ("mixed", Gauge)
        ]
    );
    let requests = &families[0];
    assert_eq!(requests.help, "Requests \\ \"served\".");
    // Samples of an interleaved family are gathered into it, as Go does.
    assert_eq!(requests.samples.len(), 3);
    assert_eq!(requests.samples[1].labels, [("method".into(), "post".into()), ("code".into(), "400".into())]);
    assert_eq!(requests.samples[1].timestamp, Some(1395066363.0));
    assert!(requests.samples.iter().all(|s| s.suffix == "_total"));
    assert_eq!(families[1].samples[0].suffix, "_total");
    let suffixes: Vec<&str> = families[2].samples.iter().map(|s| s.suffix.as_str()).collect();
    assert_eq!(suffixes, ["", "_sum", "_count"]);
    assert_eq!(families[3].help, "Has help only.");
    let suffixes: Vec<&str> = families[5].samples.iter().map(|s| s.suffix.as_str()).collect();
    assert_eq!(suffixes, ["_bucket", "_count", "_sum"]);

    // What the text format reads can be written as OpenMetrics.
    let om = encode_to_string(&Families(families), Format::OPENMETRICS);
    assert!(om.contains("# TYPE old_style counter\nold_style_total 5\n"));
    assert!(parse_openmetrics(&om).is_ok(), "{om}");
}

fn at(result: Result<Vec<MetricFamily>, ParseError>) -> (usize, usize, String) {
    let e = result.unwrap_err();
    assert_eq!(e.to_string(), format!("{}:{}: {}", e.line, e.column, e.message));
    (e.line, e.column, e.message)
}

#[test]
fn openmetrics_errors_say_where_and_what() {
    let cases: [(&str, (usize, usize), &str); 10] = [
        ("", (1, 1), "expected `# EOF` as the last line"),
        ("a 1\n", (2, 1), "expected `# EOF` as the last line"),
        ("a 1\n\n# EOF\n", (2, 1), "no blank lines"),
        ("# EOF\nx 1\n", (2, 1), "expected nothing after `# EOF`"),
        ("# TYPE a counter\na_total -1\n# EOF\n", (2, 9), "expected a non-negative value for a_total, found -1"),
        ("a{b=\"日本\"} x\n# EOF\n", (1, 11), "expected a value (such as 1, -2.5e3, +Inf or NaN), found \"x\""),
        ("a{b=\"c\" 1\n# EOF\n", (1, 8), "expected ',' or '}' after the label, found ' '"),
        (
            "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n",
            (5, 1),
            "found a, which belongs to the gauge family a of line 1",
        ),
        (
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\nh_sum 1\n# EOF\n",
            (3, 9),
            "expected h_count to equal the +Inf bucket (2), found 3",
        ),
        ("# TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n", (2, 5), "expected no exemplar on g"),
    ];
    for (input, (line, column), message) in cases {
        let (l, c, m) = at(parse_openmetrics(input));
        assert_eq!((l, c), (line, column), "{input:?}: {m}");
        assert!(m.contains(message), "{input:?}: {m}");
    }
}

#[test]
fn text_errors_say_where_and_what() {
    let cases: [(&str, (usize, usize), &str); 7] = [
        ("up{job=\"a\" 1\n", (1, 12), "expected ',' or '}' after the label, found '1'"),
        ("a 1\n# TYPE a gauge\n", (2, 1), "expected # TYPE for a before its samples"),
        ("# HELP a x\n# HELP a y\n", (2, 1), "expected one # HELP line for a, found a second (the first is on line 1)"),
        ("\n\nmetric abc\n", (3, 8), "expected a value"),
        ("x 1 2 3\n", (1, 7), "expected the end of the line after the timestamp, found '3'"),
        ("# TYPE h histogram\nh 1\n", (2, 1), "expected h_bucket, h_count or h_sum"),
        ("# TYPE h foo\n", (1, 10), "expected a type (counter, gauge, histogram, summary or untyped), found \"foo\""),
    ];
    for (input, (line, column), message) in cases {
        let (l, c, m) = at(parse_text(input));
        assert_eq!((l, c), (line, column), "{input:?}: {m}");
        assert!(m.contains(message), "{input:?}: {m}");
    }
}

/// Feeds both parsers `input`; they may fail but must not panic.
fn both(input: &str) {
    let _ = parse_openmetrics(input);
    let _ = parse_text(input);
}

#[test]
fn no_input_makes_the_parsers_panic() {
    let valid = [
        encode_to_string(&registry(), Format::OPENMETRICS),
        encode_to_string(&registry(), Format::TEXT),
        "# TYPE a stateset\na{a=\"x\"} 1 1.5\n{\"q.q\",\"x y\"=\"\\\\\"} 1 # {e=\"\"} 1 1\n# EOF".to_owned(),
    ];
    // Every prefix, ending anywhere.
    for text in &valid {
        for (i, _) in text.char_indices() {
            both(&text[..i]);
        }
    }
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    // Single-character edits of valid input.
    let alphabet: Vec<char> = "#{}\",= \t\n\\_aeE0159.+-InfNa日".chars().collect();
    for text in &valid {
        let chars: Vec<char> = text.chars().collect();
        for _ in 0..1500 {
            let mut edited = chars.clone();
            let i = rng.usize(..edited.len());
            match rng.u8(..3) {
                0 => {
                    edited.remove(i);
                }
                1 => edited.insert(i, alphabet[rng.usize(..alphabet.len())]),
                _ => edited[i] = alphabet[rng.usize(..alphabet.len())],
            }
            both(&edited.into_iter().collect::<String>());
        }
    }
    // Random lines of exposition syntax, and random bytes.
    for _ in 0..3000 {
        let len = rng.usize(..80);
        let s: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
        both(&s);
        both(&format!("{s}\n# EOF\n"));
        let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        both(&String::from_utf8_lossy(&bytes));
    }
}
