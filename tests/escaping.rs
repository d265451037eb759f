//! Label values and help texts that need escaping, or that try to inject
//! lines into the exposition: the output keeps exactly one line per series,
//! and independent parsers (promtool, the Python client's text and
//! OpenMetrics parsers, Prometheus' OpenMetrics parser) read back exactly the
//! values that went in.

mod common;

use promdecl::encode::{encode_to_string, Format};
use promdecl::{Counter, DynLabels, Gauge, Registry};

const VALUES: &[&str] = &[
    "a\"b\\c\nd€",
    "x\"} 1\nevil_metric 1\n#",
    "trailing\\",
    "",
    "日本語 😀",
    "# HELP x y",
    "{a=\"b\"}",
    "\n\n",
    "\\n",
    "tab\there",
    "} 2 3",
];

const HELP: &str = "Help \\ with\n# TYPE evil counter\nevil 1 and \"quotes\"";

/// A counter with one child per value, child `i` counting `i + 1`, and a
/// two-label gauge with the injection in both labels.
fn registry() -> Registry {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("esc", HELP).labels(["v"]).register(&r).unwrap();
    for (i, v) in VALUES.iter().enumerate() {
        c.with_label_values(&[v]).unwrap().inc_by_u64(i as u64 + 1);
    }
    let g: Gauge<DynLabels> = Gauge::builder("pair", "P.").labels(["a", "b"]).register(&r).unwrap();
    g.with_label_values(&[VALUES[1], VALUES[0]]).unwrap().set(1.0);
    r
}

#[test]
fn one_line_per_series_text() {
    let text = encode_to_string(&registry(), Format::TEXT);
    let lines = common::sample_lines(&text);
    assert_eq!(lines.len(), VALUES.len() + 1, "{text}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("esc_total{v=\"")).count(), VALUES.len(), "{text}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("pair{a=\"")).count(), 1, "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with('#')).count(), 4, "{text}");
    assert!(!text.lines().any(|l| l.starts_with("evil")), "{text}");
    assert!(text.contains("esc_total{v=\"a\\\"b\\\\c\\nd€\"} 1\n"), "{text}");
    assert!(text.contains("esc_total{v=\"x\\\"} 1\\nevil_metric 1\\n#\"} 2\n"), "{text}");
    assert!(text.contains("esc_total{v=\"trailing\\\\\"} 3\n"), "{text}");
    assert!(text.contains("esc_total{v=\"\"} 4\n"), "{text}");
    assert!(text.contains("esc_total{v=\"\\\\n\"} 9\n"), "{text}");
    assert!(text.contains("esc_total{v=\"tab\there\"} 10\n"), "{text}");
    assert!(
        text.starts_with("# HELP esc_total Help \\\\ with\\n# TYPE evil counter\\nevil 1 and \"quotes\"\n"),
        "{text}"
    );
}

#[test]
fn one_line_per_series_openmetrics() {
    let text = encode_to_string(&registry(), Format::OPENMETRICS);
    let lines = common::sample_lines(&text);
    // `_total` and `_created` per counter child, one gauge line.
    assert_eq!(lines.len(), 2 * VALUES.len() + 1, "{text}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("esc_created{v=\"")).count(), VALUES.len(), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with('#')).count(), 5, "{text}");
    assert!(!text.lines().any(|l| l.starts_with("evil")), "{text}");
    assert!(
        text.starts_with("# HELP esc Help \\\\ with\\n# TYPE evil counter\\nevil 1 and \\\"quotes\\\"\n"),
        "{text}"
    );
    assert!(text.ends_with("\n# EOF\n"));
}

/// A parsed sample: name, labels (sorted by name), value.
type ParsedSample = (String, Vec<(String, String)>, f64);

/// The samples the validator's Python parser saw.
fn parsed_samples(dump: &common::json::Value) -> Vec<ParsedSample> {
    let mut out = Vec::new();
    for family in dump.items() {
        for s in family.get("samples").expect("samples").items() {
            let name = s.get("name").and_then(|n| n.as_str()).expect("name").to_owned();
            let labels = s
                .get("labels")
                .and_then(|l| l.members())
                .expect("labels")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_owned()))
                .collect();
            let value = match s.get("value") {
                Some(common::json::Value::Number(v)) => *v,
                other => panic!("non-numeric value {other:?}"),
            };
            out.push((name, labels, value));
        }
    }
    out
}

#[track_caller]
fn check_round_trip(format: Format, test: &str) {
    let text = encode_to_string(&registry(), format);
    let Some(v) = common::validate(test, &text) else { return };
    assert!(v.ok, "validator refused {format:?}:\n{}\n--- input ---\n{text}", v.output);
    let dump = v.dump.expect("the validator wrote a dump");

    let helps: Vec<&str> = dump.items().iter().filter_map(|f| f.get("help").and_then(|h| h.as_str())).collect();
    assert!(helps.contains(&HELP), "help did not round-trip: {helps:?}");

    let samples = parsed_samples(&dump);
    for (i, value) in VALUES.iter().enumerate() {
        let want = vec![("v".to_owned(), (*value).to_owned())];
        let got: Vec<f64> = samples.iter().filter(|(n, l, _)| n == "esc_total" && *l == want).map(|s| s.2).collect();
        assert_eq!(got, [i as f64 + 1.0], "label value {value:?} did not round-trip ({format:?})");
    }
    let totals = samples.iter().filter(|(n, ..)| n == "esc_total").count();
    assert_eq!(totals, VALUES.len(), "{format:?}: extra or missing esc_total samples");
    let pair = vec![("a".to_owned(), VALUES[1].to_owned()), ("b".to_owned(), VALUES[0].to_owned())];
    assert!(samples.iter().any(|(n, l, v)| n == "pair" && *l == pair && *v == 1.0), "pair did not round-trip");
    assert!(!samples.iter().any(|(n, ..)| n.starts_with("evil")), "an injected sample was parsed");
}

#[test]
fn parsers_read_back_text() {
    check_round_trip(Format::TEXT, "escaping-text");
}

#[test]
fn parsers_read_back_openmetrics() {
    check_round_trip(Format::OPENMETRICS, "escaping-om");
}
