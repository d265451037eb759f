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
mod native;
mod negotiate;
mod openmetrics;
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
pub mod proto;
#[cfg(feature = "protobuf")]
mod protobuf;
mod text;

pub use native::{BucketSpan, NativeHistogram};
pub use negotiate::{negotiate, EscapingScheme, Format, FormatKind};
pub use openmetrics::OpenMetricsEncoder;
#[cfg(feature = "protobuf")]
#[cfg_attr(docsrs, doc(cfg(feature = "protobuf")))]
pub use protobuf::ProtobufEncoder;
pub use text::TextEncoder;

pub(crate) use escape::{is_number_text, is_real_text, put, write_f64 as write_float, write_label_value, LabelWriter};

use crate::{Collector, MetricType};

/// What a family is: its name, help, unit and type.
///
/// `name` is the family name as OpenMetrics defines it: a counter's without
/// `_total`, an info's without `_info`.
#[derive(Debug, Clone, Copy)]
pub struct Descriptor<'a> {
    /// The family name.
    pub name: &'a str,
    /// The help text (unescaped).
    pub help: &'a str,
    /// The unit, or `""`.
    pub unit: &'a str,
    /// The metric type.
    pub kind: MetricType,
}

/// A sample value: counts stay integers, everything else is a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An exact count.
    Int(u64),
    /// Any other value.
    Float(f64),
}

impl Number {
    /// The value as a float.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::encode::Number::Int(3).as_f64(), 3.0);
    /// ```
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::Float(v) => v,
        }
    }
}

/// The label a sample carries beyond its series' labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extra<'a> {
    /// A histogram bucket's upper bound, `le="..."`, already formatted
    /// (`"0.5"`, `"+Inf"`): bounds are formatted once per family, not per
    /// scrape.
    Le(&'a str),
    /// A summary quantile, `quantile="..."`, already formatted.
    Quantile(&'a str),
    /// Any other label, such as a stateset's state.
    Label(&'a str, &'a str),
}

/// An exemplar attached to a sample (OpenMetrics only).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// The exemplar's labels, such as a trace id.
    pub labels: Vec<(String, String)>,
    /// The observed value.
    pub value: f64,
    /// When it was observed, in seconds since the Unix epoch.
    pub timestamp: Option<f64>,
}

/// One sample of the current series.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Appended to the family name: `"_total"`, `"_bucket"`, `""`, ...
    pub suffix: &'a str,
    /// The sample's own label, if any.
    pub extra: Option<Extra<'a>>,
    /// The value.
    pub value: Number,
    /// An explicit timestamp in seconds since the Unix epoch.
    pub timestamp: Option<f64>,
    /// An exemplar.
    pub exemplar: Option<&'a Exemplar>,
}

impl<'a> Sample<'a> {
    /// A sample with only a suffix and a value.
    ///
    /// ```
    /// use promdecl_runtime::encode::{Number, Sample};
    /// let s = Sample::new("_total", Number::Int(1));
    /// assert_eq!(s.suffix, "_total");
    /// ```
    pub fn new(suffix: &'a str, value: Number) -> Self {
        Sample { suffix, extra: None, value, timestamp: None, exemplar: None }
    }
}

/// Receives the labels of a series, one name/value pair at a time.
pub trait LabelSink {
    /// One label; the value is unescaped.
    fn label(&mut self, name: &str, value: &str);
}

/// The labels of one series.
///
/// ```
/// use promdecl_runtime::encode::{EncodeLabels, LabelSink};
/// struct Collect(Vec<String>);
/// impl LabelSink for Collect {
///     fn label(&mut self, n: &str, v: &str) { self.0.push(format!("{n}={v}")) }
/// }
/// let mut c = Collect(Vec::new());
/// [("a", "1"), ("b", "2")].as_slice().encode(&mut c);
/// assert_eq!(c.0, ["a=1", "b=2"]);
/// ```
pub trait EncodeLabels {
    /// Writes each label to `sink`.
    fn encode(&self, sink: &mut dyn LabelSink);

    /// The labels already rendered as `name="escaped value",...` (legacy
    /// label names only), which text encoders copy as they are.
    fn prerendered(&self) -> Option<&str> {
        None
    }

    /// Renders the labels as `name="escaped value",...` into `out` and
    /// returns true, if this label set can do so faster than through a
    /// [`LabelSink`] (legacy label names only); otherwise returns false and
    /// writes nothing.
    fn render(&self, out: &mut Vec<u8>) -> bool {
        let _ = out;
        false
    }
}

impl<N: AsRef<str>, V: AsRef<str>> EncodeLabels for &[(N, V)] {
    fn encode(&self, sink: &mut dyn LabelSink) {
        for (n, v) in self.iter() {
            sink.label(n.as_ref(), v.as_ref());
        }
    }
}

impl<N: AsRef<str>, V: AsRef<str>> EncodeLabels for Vec<(N, V)> {
    fn encode(&self, sink: &mut dyn LabelSink) {
        self.as_slice().encode(sink)
    }
}

/// Where collectors send what they hold.
pub trait MetricEncoder {
    /// Starts a metric family.
    fn family(&mut self, desc: &Descriptor<'_>);
    /// Starts a series of the current family.
    fn series(&mut self, labels: &dyn EncodeLabels);
    /// One sample of the current series.
    fn sample(&mut self, sample: &Sample<'_>);

    /// The native buckets of the current series, after its classic samples
    /// (histograms with native buckets only). Text formats have no place for
    /// them and ignore them.
    fn native_histogram(&mut self, histogram: &NativeHistogram) {
        let _ = histogram;
    }

    /// Whether samples with this suffix are written at all (the Prometheus
    /// text format has no `_created`), so filters can leave out families
    /// that would show nothing.
    fn accepts(&self, suffix: &str) -> bool {
        let _ = suffix;
        true
    }

    /// Reports that the collector cannot give a complete answer: a file it
    /// reads is gone, a source it asks is down. What it wrote so far is not
    /// to be trusted as the whole: [`try_encode`] returns the first failure
    /// as an error, and the ways out (the server, the handlers, push,
    /// textfile, Graphite) answer with an error instead of a partial
    /// exposition, which Prometheus would read as a counter reset.
    ///
    /// Encoders that wrap another one forward it; encoders record the first
    /// failure and ignore the rest.
    ///
    /// ```
    /// use promdecl_runtime::encode::{try_encode, CollectError, Format, MetricEncoder};
    /// use promdecl_runtime::Collector;
    ///
    /// struct Spool;
    /// impl Collector for Spool {
    ///     fn collect(&self, enc: &mut dyn MetricEncoder) {
    ///         enc.fail(CollectError::new("cannot read /var/spool/jobs: permission denied"));
    ///     }
    /// }
    /// let err = try_encode(&Spool, Format::TEXT, &mut Vec::new()).unwrap_err();
    /// assert_eq!(err.to_string(), "cannot read /var/spool/jobs: permission denied");
    /// ```
    fn fail(&mut self, error: CollectError);
}

/// Why a collector could not give a complete answer; see
/// [`MetricEncoder::fail`].
///
/// ```
/// use promdecl_runtime::encode::CollectError;
/// let e = CollectError::new("cannot list /run/metrics: no such directory");
/// assert_eq!(e.message(), "cannot list /run/metrics: no such directory");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectError {
    message: String,
}

impl CollectError {
    /// A failure described by `message`, one line that names what failed
    /// (the file, the address) and why.
    ///
    /// ```
    /// let e = promdecl_runtime::encode::CollectError::new("upstream down");
    /// assert_eq!(e.to_string(), "upstream down");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        CollectError { message: message.into() }
    }

    /// The message.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::encode::CollectError::new("x").message(), "x");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for CollectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CollectError {}

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
