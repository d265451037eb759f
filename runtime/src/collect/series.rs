//! Series names: how a family's name is joined from its parts, which
//! suffixes its samples add, and when two families clash.
//!
//! Written once for both crates: the runtime builds every name with it, and
//! the macros crate compiles this very file (`macros/src/metrics/series.rs`
//! is a symbolic link to it, which `cargo package` packs as a file) to find
//! the clashes within one `metrics!` block at expansion time, where the
//! error can point at the user's token. So it names nothing but `std`.

// Each crate uses a part of it.
#![allow(dead_code)]

/// Suffixes a counter's samples add to the family name.
pub const COUNTER_SUFFIXES: &[&str] = &["_total", "_created"];
/// Suffixes a histogram's samples add.
pub const HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count", "_created"];
/// Suffixes a gauge histogram's samples add.
pub const GAUGE_HISTOGRAM_SUFFIXES: &[&str] = &["_bucket", "_gsum", "_gcount"];
/// Suffixes a summary's samples add.
pub const SUMMARY_SUFFIXES: &[&str] = &["_sum", "_count", "_created"];
/// The suffix an info's sample adds.
pub const INFO_SUFFIXES: &[&str] = &["_info"];
/// Gauges, state sets and untyped metrics add none.
pub const NO_SUFFIXES: &[&str] = &[];

/// Joins a family name as the Python client does: `namespace_`,
/// `subsystem_`, `name`, then `_unit` unless the name already ends with it.
/// A counter's (`counter`) trailing `_total` is dropped: its samples add it
/// back.
pub fn join(namespace: &str, subsystem: &str, name: &str, unit: &str, counter: bool) -> String {
    let mut full = String::with_capacity(namespace.len() + subsystem.len() + name.len() + unit.len() + 3);
    for part in [namespace, subsystem] {
        if !part.is_empty() {
            full.push_str(part);
            full.push('_');
        }
    }
    full.push_str(name);
    if counter {
        if let Some(stripped) = full.strip_suffix("_total") {
            full.truncate(stripped.len());
        }
    }
    let has_unit = full.ends_with(unit) && full[..full.len() - unit.len()].ends_with('_');
    if !unit.is_empty() && !has_unit {
        full.push('_');
        full.push_str(unit);
    }
    full
}

/// Every series name a family may expose: its own name, then each of its
/// `suffixes` appended to it.
pub fn series_names(family: &str, suffixes: &[&str]) -> Vec<String> {
    std::iter::once(family.to_owned()).chain(suffixes.iter().map(|s| format!("{family}{s}"))).collect()
}

/// The first of `series` that is already exposed, with what `exposed_by`
/// says exposes it: two families clash when they share any series name.
pub fn first_clash<O>(series: &[String], mut exposed_by: impl FnMut(&str) -> Option<O>) -> Option<(&str, O)> {
    series.iter().find_map(|s| exposed_by(s).map(|owner| (s.as_str(), owner)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_as_the_python_client_joins_them() {
        assert_eq!(join("app", "http", "requests_total", "", true), "app_http_requests");
        assert_eq!(join("", "", "requests_total", "", false), "requests_total");
        assert_eq!(join("", "", "latency", "seconds", false), "latency_seconds");
        assert_eq!(join("", "", "latency_seconds", "seconds", false), "latency_seconds");
        assert_eq!(join("", "", "bytes", "bytes", false), "bytes_bytes");
        assert_eq!(join("", "", "sizebytes", "bytes", false), "sizebytes_bytes");
    }

    #[test]
    fn families_clash_on_any_shared_series_name() {
        let counter = series_names("jobs", COUNTER_SUFFIXES);
        assert_eq!(counter, ["jobs", "jobs_total", "jobs_created"]);
        let gauge = series_names("jobs_total", NO_SUFFIXES);
        assert_eq!(
            first_clash(&gauge, |s| counter.iter().any(|c| c == s).then_some("jobs")),
            Some(("jobs_total", "jobs"))
        );
        assert_eq!(first_clash(&series_names("other", NO_SUFFIXES), |_| None::<()>), None);
    }
}
