//! What the fuzz targets share: the family generator of the round-trip
//! test, and the check that parsed families encode to text that parses to
//! the same families again.

#[path = "../../tests/roundtrip/families.rs"]
pub mod families;

use promdecl::encode::{encode_to_string, EscapingScheme, Format};
use promdecl::MetricFamily;

/// Parsed families, encoded again in OpenMetrics and parsed again, give
/// the same text once more: what the parser accepts, the encoder writes
/// in a form the parser reads the same way. Names are written as they are
/// (quoted where needed): the underscore escaping is lossy by design
/// (`my.metric` and `my_metric` become one name).
pub fn reencode_is_stable(families: &[MetricFamily]) {
    let once = openmetrics(families);
    let again = promdecl::parse_openmetrics(&once)
        .unwrap_or_else(|e| panic!("re-encoded exposition does not parse: {e}\n{once}"));
    let twice = openmetrics(&again);
    assert_eq!(once, twice, "re-encoding changed the exposition");
}

fn openmetrics(families: &[MetricFamily]) -> String {
    let format = Format { escaping: EscapingScheme::AllowUtf8, ..Format::OPENMETRICS };
    encode_to_string(&families::All(families), format)
}
