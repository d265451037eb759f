//! Metric and label names: validation rules and composition.
//!
//! The rules are `const fn` so that the macros evaluate the very same code at
//! compile time (`const _: () = ...`) that the runtime evaluates when a name is
//! only known at run time.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::collect::series::join;
use crate::Error;

/// Which names are accepted.
///
/// Legacy validation (the default) accepts `[a-zA-Z_:][a-zA-Z0-9_:]*` for
/// metrics and `[a-zA-Z_][a-zA-Z0-9_]*` for labels. UTF-8 validation accepts any
/// non-empty UTF-8 name; such names are written quoted when the scraper
/// negotiated `escaping=allow-utf-8`, and escaped otherwise.
///
/// ```
/// use promdecl_runtime::name::{name_validation, NameValidation};
/// assert_eq!(name_validation(), NameValidation::Legacy);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameValidation {
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` names only.
    Legacy,
    /// Any non-empty UTF-8 name.
    Utf8,
}

static VALIDATION: AtomicU8 = AtomicU8::new(0);

/// Selects the name validation scheme for metrics created from now on.
///
/// ```
/// use promdecl_runtime::name::{set_name_validation, NameValidation};
/// set_name_validation(NameValidation::Legacy);
/// ```
pub fn set_name_validation(scheme: NameValidation) {
    VALIDATION.store(scheme as u8, Ordering::Relaxed);
}

/// The active name validation scheme.
///
/// ```
/// let _ = promdecl_runtime::name::name_validation();
/// ```
pub fn name_validation() -> NameValidation {
    match VALIDATION.load(Ordering::Relaxed) {
        0 => NameValidation::Legacy,
        _ => NameValidation::Utf8,
    }
}

/// Whether `name` is a valid legacy metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
///
/// ```
/// use promdecl_runtime::name::is_legacy_metric_name;
/// assert!(is_legacy_metric_name("http_requests_total"));
/// assert!(!is_legacy_metric_name("http.requests"));
/// ```
pub const fn is_legacy_metric_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_alphabetic() || c == b'_' || c == b':' || (i > 0 && c.is_ascii_digit());
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `name` is a valid legacy label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
///
/// ```
/// use promdecl_runtime::name::is_legacy_label_name;
/// assert!(is_legacy_label_name("method"));
/// assert!(!is_legacy_label_name("a:b"));
/// ```
pub const fn is_legacy_label_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_alphabetic() || c == b'_' || (i > 0 && c.is_ascii_digit());
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

const fn starts_with(s: &str, prefix: &str) -> bool {
    let (s, p) = (s.as_bytes(), prefix.as_bytes());
    if s.len() < p.len() {
        return false;
    }
    let mut i = 0;
    while i < p.len() {
        if s[i] != p[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The number of UTF-8 characters (code points) of `s`, in a const context.
pub(crate) const fn char_count(s: &str) -> usize {
    let bytes = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < bytes.len() {
        // Continuation bytes are 0b10xx_xxxx.
        if bytes[i] & 0xC0 != 0x80 {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && starts_with(a, b)
}

/// Checks a metric name part (namespace, subsystem, name) under legacy rules.
///
/// Returns the reason it is invalid. The macros call this in a `const` item so
/// an invalid name is a compile error.
///
/// ```
/// use promdecl_runtime::name::check_metric_name;
/// assert!(check_metric_name("requests").is_ok());
/// assert!(check_metric_name("2xx").is_err());
/// ```
pub const fn check_metric_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("metric names must not be empty");
    }
    if !is_legacy_metric_name(name) {
        return Err("metric names may contain only ASCII letters, digits, '_' and ':', and must not start with a digit; replace other characters with '_'");
    }
    Ok(())
}

/// Checks a label name under legacy rules, including the reserved `__` prefix.
///
/// ```
/// use promdecl_runtime::name::check_label_name;
/// assert!(check_label_name("method").is_ok());
/// assert!(check_label_name("__name__").is_err());
/// ```
pub const fn check_label_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("label names must not be empty");
    }
    if starts_with(name, "__") {
        return Err(
            "label names starting with '__' are reserved for Prometheus' internal use; drop the leading underscores",
        );
    }
    if !is_legacy_label_name(name) {
        return Err(
            "label names must match [a-zA-Z_][a-zA-Z0-9_]* (letters, digits and '_', not starting with a digit)",
        );
    }
    Ok(())
}

/// Checks a label name against the names a metric type reserves for itself:
/// `le` on histograms, `quantile` on summaries.
///
/// ```
/// use promdecl_runtime::{name::check_reserved_label, MetricType};
/// assert!(check_reserved_label(MetricType::Histogram, "le").is_err());
/// assert!(check_reserved_label(MetricType::Counter, "le").is_ok());
/// ```
pub const fn check_reserved_label(kind: crate::MetricType, name: &str) -> Result<(), &'static str> {
    match kind {
        crate::MetricType::Histogram | crate::MetricType::GaugeHistogram if eq(name, "le") => {
            Err("the label name 'le' is reserved on histograms for the bucket bound; rename the label")
        }
        crate::MetricType::Summary if eq(name, "quantile") => {
            Err("the label name 'quantile' is reserved on summaries for the quantile; rename the label")
        }
        _ => Ok(()),
    }
}

/// Validates a metric name under the active scheme.
pub(crate) fn validate_metric_name(name: &str) -> Result<(), Error> {
    let reason = match name_validation() {
        NameValidation::Legacy => check_metric_name(name).err(),
        NameValidation::Utf8 if name.is_empty() => Some("metric names must not be empty"),
        NameValidation::Utf8 => None,
    };
    match reason {
        Some(reason) => Err(Error::InvalidMetricName { name: name.to_owned(), reason }),
        None => Ok(()),
    }
}

/// Validates a label name of a metric of type `kind` under the active scheme.
pub(crate) fn validate_label_name(kind: crate::MetricType, name: &str) -> Result<(), Error> {
    let reason = match name_validation() {
        NameValidation::Legacy => check_label_name(name).err(),
        NameValidation::Utf8 if name.is_empty() => Some("label names must not be empty"),
        NameValidation::Utf8 if name.starts_with("__") => Some(
            "label names starting with '__' are reserved for Prometheus' internal use; drop the leading underscores",
        ),
        NameValidation::Utf8 => None,
    };
    let reason = reason.or(check_reserved_label(kind, name).err());
    match reason {
        Some(reason) => Err(Error::InvalidLabelName { name: name.to_owned(), reason }),
        None => Ok(()),
    }
}

/// Composes the family name the way the Python client does: `namespace_`,
/// `subsystem_`, `name`, then `_unit` unless the name already ends with it.
/// A counter's trailing `_total` is dropped here; encoders add it back on the
/// sample.
///
/// ```
/// use promdecl_runtime::{name::full_name, MetricType};
/// let n = full_name(MetricType::Counter, "app", "http", "requests_total", "").unwrap();
/// assert_eq!(n, "app_http_requests");
/// let n = full_name(MetricType::Gauge, "", "", "latency", "seconds").unwrap();
/// assert_eq!(n, "latency_seconds");
/// ```
pub fn full_name(
    kind: crate::MetricType,
    namespace: &str,
    subsystem: &str,
    name: &str,
    unit: &str,
) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::InvalidMetricName { name: String::new(), reason: "metric names must not be empty" });
    }
    if !unit.is_empty() && matches!(kind, crate::MetricType::Info | crate::MetricType::StateSet) {
        let metric = join(namespace, subsystem, name, "", false);
        return Err(Error::InvalidOption { metric, reason: "info and enum metrics cannot have a unit" });
    }
    let full = join(namespace, subsystem, name, unit, kind == crate::MetricType::Counter);
    validate_metric_name(&full)?;
    Ok(full)
}
