//! How names, units and labels recorded through the facade become
//! Prometheus names and labels.

use crate::MetricType;

/// `name` with every character outside `[a-zA-Z0-9_:]` replaced by `_`, and
/// a `_` before a leading digit: `http.server.requests` becomes
/// `http_server_requests`.
pub(crate) fn sanitize_metric_name(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A label name made valid: characters outside `[a-zA-Z0-9_]` become `_`;
/// a name that is then still refused (`le` on a histogram, `__` prefixes,
/// a leading digit) is prefixed with `label_`.
pub(crate) fn sanitize_label_name(kind: MetricType, name: &str) -> String {
    let out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || crate::name::validate_label_name(kind, &out).is_err() {
        return format!("label_{out}");
    }
    out
}

/// The name suffix of a facade unit (`""` for plain counts).
pub(crate) fn unit_suffix(unit: metrics::Unit) -> &'static str {
    use metrics::Unit;
    match unit {
        Unit::Count => "",
        Unit::Percent => "percent",
        Unit::Seconds => "seconds",
        Unit::Milliseconds => "milliseconds",
        Unit::Microseconds => "microseconds",
        Unit::Nanoseconds => "nanoseconds",
        Unit::Tebibytes => "tebibytes",
        Unit::Gibibytes => "gibibytes",
        Unit::Mebibytes => "mebibytes",
        Unit::Kibibytes => "kibibytes",
        Unit::Bytes => "bytes",
        Unit::TerabitsPerSecond => "terabits_per_second",
        Unit::GigabitsPerSecond => "gigabits_per_second",
        Unit::MegabitsPerSecond => "megabits_per_second",
        Unit::KilobitsPerSecond => "kilobits_per_second",
        Unit::BitsPerSecond => "bits_per_second",
        Unit::CountPerSecond => "per_second",
    }
}

/// The family name a facade metric is exposed under: sanitized, without a
/// counter's `_total` (the encoders add it to the sample), and ending with
/// `_unit` when there is a unit.
pub(crate) fn family_name(raw: &str, kind: MetricType, unit: &str) -> String {
    let mut name = sanitize_metric_name(raw);
    if kind == MetricType::Counter {
        if let Some(stripped) = name.strip_suffix("_total").filter(|s| !s.is_empty()) {
            name.truncate(stripped.len());
        }
    }
    if !unit.is_empty() && !name.ends_with(&format!("_{unit}")) {
        name.push('_');
        name.push_str(unit);
    }
    name
}

/// A series' labels as Prometheus sees them: sanitized names, sorted,
/// one value per name (the last one given wins), empty values left out
/// (Prometheus treats an empty label as an absent one).
pub(crate) fn canonical_labels<'a>(
    kind: MetricType,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
) -> (Vec<String>, Vec<String>) {
    let mut pairs: Vec<(String, &str)> = Vec::new();
    for (name, value) in labels {
        let name = sanitize_label_name(kind, name);
        match pairs.iter_mut().find(|(n, _)| *n == name) {
            Some(pair) => pair.1 = value,
            None => pairs.push((name, value)),
        }
    }
    pairs.retain(|(_, v)| !v.is_empty());
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.into_iter().map(|(n, v)| (n, v.to_owned())).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_valid() {
        assert_eq!(sanitize_metric_name("http.server.requests"), "http_server_requests");
        assert_eq!(sanitize_metric_name("9lives"), "_9lives");
        assert_eq!(sanitize_metric_name("a-b/c"), "a_b_c");
        assert_eq!(family_name("jobs.done_total", MetricType::Counter, ""), "jobs_done");
        assert_eq!(family_name("latency", MetricType::Histogram, "seconds"), "latency_seconds");
        assert_eq!(family_name("latency_seconds", MetricType::Histogram, "seconds"), "latency_seconds");
        assert_eq!(family_name("_total", MetricType::Counter, ""), "_total");
    }

    #[test]
    fn labels_are_canonical() {
        let (names, values) = canonical_labels(
            MetricType::Histogram,
            [("z", "1"), ("a.b", "2"), ("le", "3"), ("empty", ""), ("z", "4")].into_iter(),
        );
        assert_eq!(names, ["a_b", "label_le", "z"]);
        assert_eq!(values, ["2", "3", "4"]);
        assert_eq!(sanitize_label_name(MetricType::Gauge, "__meta"), "label___meta");
    }
}
