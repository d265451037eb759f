//! A `DynLabels` with the wrong number of values is refused by the
//! fallible lookup and never exposed with labels missing.

use promdecl::encode::{encode_to_string, Format};
use promdecl::{parse_text, Counter, DynLabels, Error, Registry, OVERFLOW_LABEL_VALUE};

#[test]
fn wrong_counts_are_refused_and_never_exposed_short() {
    let registry = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("reqs", "R.").labels(["method", "path"]).register(&registry).unwrap();
    let short = DynLabels::new(["GET"]);
    let long = DynLabels::new(["GET", "/", "extra"]);
    for wrong in [&short, &long] {
        let err = c.try_labels(wrong).map(|_| ()).unwrap_err();
        assert!(matches!(err, Error::LabelCount { expected: 2, .. }), "{err:?}");
        c.labels(wrong).inc();
        c.labels(wrong).handle().inc();
    }
    c.labels(&DynLabels::new(["GET", "/"])).inc();
    assert!(!c.remove(&short));

    let text = encode_to_string(&registry, Format::TEXT);
    let family = &parse_text(&text).unwrap()[0];
    for s in &family.samples {
        let names: Vec<&str> = s.labels.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["method", "path"], "{text}");
    }
    let value = |want: &str| family.samples.iter().find(|s| s.labels[0].1 == want).map(|s| s.value.as_f64());
    assert_eq!(value("GET"), Some(1.0), "{text}");
    assert_eq!(value(OVERFLOW_LABEL_VALUE), Some(4.0), "{text}");
    assert_eq!(family.samples.len(), 2, "{text}");
}
