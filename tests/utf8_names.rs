//! UTF-8 metric and label names: refused by default, accepted once enabled,
//! then quoted where the scraper negotiated `escaping=allow-utf-8` and
//! escaped otherwise. (Its own test binary: the validation scheme is global.)

use promdecl::encode::{encode_to_string, negotiate};
use promdecl::name::{set_name_validation, NameValidation};
use promdecl::{Counter, Gauge, Registry};

#[test]
fn utf8_names_are_quoted_or_escaped_per_negotiation() {
    set_name_validation(NameValidation::Legacy);
    let err = Gauge::builder("my.metric", "M.").build().unwrap_err();
    assert!(err.to_string().contains("my.metric"), "{err}");

    set_name_validation(NameValidation::Utf8);
    let registry = Registry::new();
    let g = Gauge::builder("my.metric", "M.").labels(["my.label", "ok"]).register(&registry).unwrap();
    g.with_label_values(&["x", "y"]).unwrap().set(1.0);
    let c = Counter::builder("über_requests", "U.").register(&registry).unwrap();
    c.inc();

    let utf8 = negotiate("text/plain; version=1.0.0; escaping=allow-utf-8");
    assert_eq!(
        encode_to_string(&registry, utf8),
        "# HELP \"my.metric\" M.\n# TYPE \"my.metric\" gauge\n{\"my.metric\",\"my.label\"=\"x\",ok=\"y\"} 1.0\n\
         # HELP \"über_requests_total\" U.\n# TYPE \"über_requests_total\" counter\n{\"über_requests_total\"} 1\n"
    );
    let om = negotiate("application/openmetrics-text; version=1.0.0; escaping=allow-utf-8");
    let text = encode_to_string(&registry, om);
    assert!(text.starts_with("# HELP \"my.metric\" M.\n# TYPE \"my.metric\" gauge\n"), "{text}");
    assert!(text.contains("\n{\"über_requests_total\"} 1\n"), "{text}");

    let underscores = negotiate("text/plain; version=1.0.0; escaping=underscores");
    assert_eq!(
        encode_to_string(&registry, underscores),
        "# HELP my_metric M.\n# TYPE my_metric gauge\nmy_metric{my_label=\"x\",ok=\"y\"} 1.0\n\
         # HELP _ber_requests_total U.\n# TYPE _ber_requests_total counter\n_ber_requests_total 1\n"
    );
    let values = negotiate("text/plain; version=1.0.0; escaping=values");
    let text = encode_to_string(&registry, values);
    assert!(text.contains("U__my_2e_metric{U__my_2e_label=\"x\",ok=\"y\"} 1.0\n"), "{text}");
    let dots = negotiate("text/plain; version=1.0.0; escaping=dots");
    let text = encode_to_string(&registry, dots);
    assert!(text.contains("my_dot_metric{my_dot_label=\"x\",ok=\"y\"} 1.0\n"), "{text}");
    set_name_validation(NameValidation::Legacy);
}
