//! Exemplar label names under UTF-8 name validation: refused by default,
//! accepted once enabled, then escaped or quoted like series label names.
//! (Its own test binary: the validation scheme is global.)

use promdecl::encode::{encode_to_string, negotiate, Format};
use promdecl::name::{set_name_validation, NameValidation};
use promdecl::{Counter, Error, ExemplarLabels, Registry};

#[test]
fn exemplar_label_names_follow_the_escaping_scheme() {
    set_name_validation(NameValidation::Legacy);
    let registry = Registry::new();
    let c = Counter::builder("jobs", "J.").register(&registry).unwrap();
    let labels = ExemplarLabels::new(&[("trace.id", "abc")]).at(Some(1.0));
    assert!(matches!(c.inc_with_exemplar(labels), Err(Error::InvalidLabelName { .. })));

    set_name_validation(NameValidation::Utf8);
    c.reset();
    c.inc_with_exemplar(labels).unwrap();
    let om = encode_to_string(&registry, Format::OPENMETRICS);
    assert!(om.contains("jobs_total 1 # {trace_id=\"abc\"} 1.0 1.0\n"), "{om}");
    let utf8 = negotiate("application/openmetrics-text; version=1.0.0; escaping=allow-utf-8");
    let om = encode_to_string(&registry, utf8);
    assert!(om.contains("jobs_total 1 # {\"trace.id\"=\"abc\"} 1.0 1.0\n"), "{om}");
    let parsed = promdecl::parse_openmetrics(&om).unwrap();
    let exemplar = parsed[0].samples[0].exemplar.as_ref().unwrap();
    assert_eq!(exemplar.labels, [("trace.id".to_owned(), "abc".to_owned())]);
    set_name_validation(NameValidation::Legacy);
}
