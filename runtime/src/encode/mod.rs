//! Exposition: the streaming sample model and the text encoders.
//!
//! Collectors describe what they hold by calling a [`MetricEncoder`]: one
//! [`MetricEncoder::family`] per metric family, then for each series one
//! [`MetricEncoder::series`] followed by its [`MetricEncoder::sample`]s. The
//! text encoders write straight into one reusable byte buffer; other sinks
//! (sample lookup, filters, descriptors) implement the same trait.
//!
//! ```
//! use promdecl_runtime::{encode::{encode, Format}, Counter, Registry};
//!
//! let registry = Registry::new();
//! let c = Counter::builder("jobs", "Jobs run.").register(&registry).unwrap();
//! c.inc();
//! let mut buf = Vec::new();
//! encode(&registry, Format::TEXT, &mut buf);
//! assert_eq!(
//!     String::from_utf8(buf).unwrap(),
//!     "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 1\n"
//! );
//! ```

mod escape;
mod negotiate;
mod openmetrics;
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
pub mod proto;
#[cfg(feature = "protobuf")]
mod protobuf;
mod text;

pub use crate::collect::{
    BucketSpan, Buckets, CollectError, Descriptor, EncodeLabels, Exemplar, Extra, LabelSink, MetricEncoder,
    NativeHistogram, Number, Sample,
};
pub use negotiate::{negotiate, EscapingScheme, Format, FormatKind};
pub use openmetrics::OpenMetricsEncoder;
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
pub use protobuf::ProtobufEncoder;
pub use text::TextEncoder;

pub(crate) use escape::{
    append_line, is_number_text, is_real_text, put, write_f64 as write_float, write_label_value, LabelWriter,
};

use std::sync::atomic::{AtomicBool, Ordering};

use crate::collect::Collector;

/// Keeps the first of the failures reported to an encoder.
pub(crate) fn keep_first(slot: &mut Option<CollectError>, error: CollectError) {
    if slot.is_none() {
        *slot = Some(error);
    }
}

/// Encodes everything `collector` holds in `format`, appending to `buf`.
///
/// A failure a collector reports through [`MetricEncoder::fail`] is
/// ignored here: what could be collected is written. Use [`try_encode`]
/// where a partial answer must not pass for a whole one.
///
/// ```
/// use promdecl_runtime::{encode::{encode, Format}, Gauge, Registry};
/// let registry = Registry::new();
/// Gauge::builder("temp", "T.").register(&registry).unwrap().set(1.5);
/// let mut buf = Vec::new();
/// encode(&registry, Format::OPENMETRICS, &mut buf);
/// assert!(String::from_utf8(buf).unwrap().ends_with("temp 1.5\n# EOF\n"));
/// ```
pub fn encode(collector: &dyn Collector, format: Format, buf: &mut Vec<u8>) {
    let _ = try_encode(collector, format, buf);
}

/// Encodes everything `collector` holds in `format`, appending to `buf`,
/// and returns the first failure a collector reported through
/// [`MetricEncoder::fail`]. On failure `buf` holds what was written before
/// and after it; do not serve it as the answer.
///
/// ```
/// use promdecl_runtime::{encode::{try_encode, Format}, Gauge, Registry};
/// let registry = Registry::new();
/// Gauge::builder("temp", "T.").register(&registry).unwrap().set(1.5);
/// let mut buf = Vec::new();
/// try_encode(&registry, Format::TEXT, &mut buf).unwrap();
/// assert!(String::from_utf8(buf).unwrap().ends_with("temp 1.5\n"));
/// ```
pub fn try_encode(collector: &dyn Collector, format: Format, buf: &mut Vec<u8>) -> Result<(), CollectError> {
    let failure = match format.kind {
        FormatKind::Text004 | FormatKind::Text100 => {
            let mut enc = TextEncoder::new(buf, format.escaping);
            collector.collect(&mut enc);
            enc.failure
        }
        FormatKind::OpenMetrics100 => {
            let mut enc = OpenMetricsEncoder::new(buf, format.escaping);
            collector.collect(&mut enc);
            let failure = enc.failure.take();
            enc.finish();
            failure
        }
        #[cfg(feature = "protobuf")]
        FormatKind::Protobuf => {
            let mut enc = ProtobufEncoder::new(buf, format.escaping);
            collector.collect(&mut enc);
            let failure = enc.failure.take();
            enc.finish();
            failure
        }
    };
    failure.map_or(Ok(()), Err)
}

/// Encodes into a new `String`; see [`encode`]. The protobuf format is
/// binary: encode it with [`encode`] instead (here its bytes that are not
/// UTF-8 would be replaced).
///
/// ```
/// use promdecl_runtime::{encode::{encode_to_string, Format}, Registry};
/// assert_eq!(encode_to_string(&Registry::new(), Format::OPENMETRICS), "# EOF\n");
/// ```
pub fn encode_to_string(collector: &dyn Collector, format: Format) -> String {
    let mut buf = Vec::new();
    encode(collector, format, &mut buf);
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

static CREATED_SERIES: AtomicBool = AtomicBool::new(true);
static CREATED_FROM_ENV: std::sync::Once = std::sync::Once::new();

/// Turns the OpenMetrics `_created` samples on or off for every encoder.
/// They are on unless the environment variable
/// `PROMETHEUS_DISABLE_CREATED_SERIES` is `true`, `1` or `t`.
///
/// ```
/// promdecl_runtime::set_created_series(true);
/// assert!(promdecl_runtime::created_series());
/// ```
pub fn set_created_series(enabled: bool) {
    CREATED_FROM_ENV.call_once(|| {});
    CREATED_SERIES.store(enabled, Ordering::Relaxed);
}

/// Whether `_created` samples are written; see [`set_created_series`].
///
/// ```
/// let _on: bool = promdecl_runtime::created_series();
/// ```
pub fn created_series() -> bool {
    CREATED_FROM_ENV.call_once(|| {
        let off = std::env::var("PROMETHEUS_DISABLE_CREATED_SERIES")
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "t"));
        CREATED_SERIES.store(!off, Ordering::Relaxed);
    });
    CREATED_SERIES.load(Ordering::Relaxed)
}
