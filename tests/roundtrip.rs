//! Families of every kind, with arbitrary names, label values, help text
//! and special floats, encoded in the Prometheus text format and in
//! OpenMetrics and parsed back, come back as the same families. The cases
//! are drawn from random bytes by the generator the `roundtrip` fuzz
//! target shares (`tests/roundtrip/families.rs`).

#[path = "roundtrip/families.rs"]
mod families;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn families_survive_encode_and_parse(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let case = families::case(&data);
        if let Err(diff) = families::round_trip(&case) {
            panic!("{diff}");
        }
    }
}

/// Cases the fuzzer or proptest once failed on, replayed by name.
#[test]
fn known_cases() {
    for (name, data) in KNOWN {
        let case = families::case(data);
        if let Err(diff) = families::round_trip(&case) {
            panic!("{name}: {diff}");
        }
    }
}

const KNOWN: &[(&str, &[u8])] = &[("empty input", b"")];

/// Two info series, one with a timestamp and one without: each info label
/// set is a series of its own (found by the round trip).
#[test]
fn info_series_are_told_apart_by_their_labels() {
    let text = "# TYPE build info\nbuild_info{version=\"1\"} 1 5.0\nbuild_info{version=\"2\"} 1\n# EOF\n";
    let families = promdecl::parse_openmetrics(text).unwrap();
    assert_eq!(families[0].samples.len(), 2);
    let again = "# TYPE build info\nbuild_info{version=\"1\"} 1\nbuild_info{version=\"2\"} 1\nbuild_info{version=\"1\"} 1\n# EOF\n";
    assert!(promdecl::parse_openmetrics(again).unwrap_err().to_string().contains("together"));
}
