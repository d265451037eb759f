//! What every layer of the runtime shares: the metric types, the
//! [`Collector`] and [`MetricEncoder`] traits that a scrape runs on, the
//! sample model collectors hand to encoders, and [`MetricCell`], the storage
//! of one child of a metric.
//!
//! This module names nothing else in the crate. The items are public at
//! their usual paths: the crate root, [`encode`](crate::encode),
//! [`registry`](crate::registry) and [`metric`](crate::metric).

mod native;
pub(crate) mod series;

use std::sync::Arc;

pub use native::{BucketSpan, NativeHistogram};

/// The metric types of OpenMetrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A monotonically increasing total.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted in buckets.
    Histogram,
    /// A histogram of current values rather than events.
    GaugeHistogram,
    /// Observation count and sum (and optional quantiles).
    Summary,
    /// Constant key/value information.
    Info,
    /// A set of states, one of which is on.
    StateSet,
    /// A value of unknown type.
    Unknown,
}

impl MetricType {
    /// The type's name in OpenMetrics `# TYPE` lines.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::MetricType::StateSet.as_str(), "stateset");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// The suffixes this type's samples add to the family name; the
    /// registry reserves all of them.
    ///
    /// ```
    /// use promdecl_runtime::MetricType;
    /// assert_eq!(MetricType::Counter.suffixes(), &["_total", "_created"]);
    /// ```
    pub const fn suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => series::COUNTER_SUFFIXES,
            MetricType::Histogram => series::HISTOGRAM_SUFFIXES,
            MetricType::GaugeHistogram => series::GAUGE_HISTOGRAM_SUFFIXES,
            MetricType::Summary => series::SUMMARY_SUFFIXES,
            MetricType::Info => series::INFO_SUFFIXES,
            MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => series::NO_SUFFIXES,
        }
    }
}

/// Calls its argument with each label value of a new child, in label-name
/// order; see [`MetricCell::new_child`].
pub type ChildValues<'a> = dyn Fn(&mut dyn FnMut(&str)) + 'a;

/// The storage of one child of a metric: its atomics and how it encodes.
///
/// Implemented by the cell of every metric type, and sealed: only this crate
/// implements it, so a family can rely on what its cells do.
pub trait MetricCell: sealed::Sealed + Send + Sync + 'static {
    /// Per-family configuration shared by all children (buckets, states).
    type Config: Send + Sync + 'static;
    /// The metric type of families of this cell.
    const TYPE: MetricType;
    /// Whether encoding may call user code (callback gauges): then the family
    /// copies its children out of the map before encoding them.
    const RUNS_USER_CODE: bool = false;
    /// A fresh child.
    fn new(config: &Self::Config) -> Self;
    /// A fresh child for the label values `values` calls its argument with
    /// (in label-name order). Cells that key their storage by the labels
    /// (multiprocess mode's cells, which find their records in a shared
    /// file by them) take them here; the others are [`MetricCell::new`].
    #[inline]
    fn new_child(config: &Self::Config, values: &ChildValues<'_>) -> Self
    where
        Self: Sized,
    {
        let _ = values;
        Self::new(config)
    }
    /// Back to the state of a fresh child.
    fn reset(&self, config: &Self::Config);
    /// Writes this child's series and samples.
    fn collect(&self, config: &Self::Config, labels: &dyn EncodeLabels, enc: &mut dyn MetricEncoder);
}

/// Something that can be scraped: a metric, a group of metrics, a registry,
/// or a custom collector producing [`MetricFamily`](crate::MetricFamily)s.
///
/// ```
/// use promdecl_runtime::{encode::MetricEncoder, Collector, GaugeFamily, Registry};
///
/// struct Temperature;
/// impl Collector for Temperature {
///     fn collect(&self, enc: &mut dyn MetricEncoder) {
///         let mut f = GaugeFamily::new("room_celsius", "Room temperature.", &["room"]);
///         f.add_metric(&["kitchen"], 21.5, None);
///         f.encode(enc);
///     }
/// }
/// let registry = Registry::new();
/// registry.register(Temperature).unwrap();
/// assert_eq!(registry.get_sample_value("room_celsius", &[("room", "kitchen")]), Some(21.5));
/// ```
pub trait Collector: Send + Sync {
    /// Writes every family this collector holds.
    fn collect(&self, enc: &mut dyn MetricEncoder);

    /// The families this collector will produce, for collision checks at
    /// registration. By default it collects once and records what it saw.
    fn describe(&self) -> Vec<FamilyDesc> {
        let mut d = Describer(Vec::new());
        self.collect(&mut d);
        d.0
    }
}

impl<T: Collector + ?Sized> Collector for Arc<T> {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        (**self).collect(enc)
    }
    fn describe(&self) -> Vec<FamilyDesc> {
        (**self).describe()
    }
}

impl<T: Collector + ?Sized> Collector for &T {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        (**self).collect(enc)
    }
    fn describe(&self) -> Vec<FamilyDesc> {
        (**self).describe()
    }
}

/// The name and type of a family a collector produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyDesc {
    /// The family name.
    pub name: String,
    /// The type.
    pub kind: MetricType,
}

impl FamilyDesc {
    /// A descriptor.
    ///
    /// ```
    /// use promdecl_runtime::{registry::FamilyDesc, MetricType};
    /// let d = FamilyDesc::new("requests", MetricType::Counter);
    /// assert_eq!(d.series_names(), ["requests", "requests_total", "requests_created"]);
    /// ```
    pub fn new(name: &str, kind: MetricType) -> Self {
        FamilyDesc { name: name.to_owned(), kind }
    }

    /// Every series name the family may expose, including the family name
    /// itself: a registry refuses two collectors sharing any of them.
    pub fn series_names(&self) -> Vec<String> {
        series::series_names(&self.name, self.kind.suffixes())
    }
}

struct Describer(Vec<FamilyDesc>);

impl MetricEncoder for Describer {
    /// Describing only records names: a failure says nothing about them.
    fn fail(&mut self, _: CollectError) {}

    fn family(&mut self, desc: &Descriptor<'_>) {
        self.0.push(FamilyDesc::new(desc.name, desc.kind));
    }
    fn series(&mut self, _: &dyn EncodeLabels) {}
    fn sample(&mut self, _: &Sample<'_>) {}
}

impl LabelSink for Vec<(String, String)> {
    fn label(&mut self, name: &str, value: &str) {
        self.push((name.to_owned(), value.to_owned()));
    }
}

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

/// The `_bucket` samples of one classic histogram series, passed to
/// [`MetricEncoder::buckets`] in one call instead of one
/// [`sample`](MetricEncoder::sample) each.
///
/// ```
/// use promdecl_runtime::encode::Buckets;
/// let le: Vec<Box<str>> = vec!["0.5".into(), "+Inf".into()];
/// let buckets = Buckets { le: &le, cumulative: &[3, 5] };
/// assert_eq!(buckets.le.len(), buckets.cumulative.len());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Buckets<'a> {
    /// Each bucket's upper bound as its `le` label shows it, already
    /// formatted (`"0.5"`, `"+Inf"`).
    pub le: &'a [Box<str>],
    /// Each bucket's count, cumulative: the observations at or below its
    /// bound. Buckets past the shorter of the two slices are left out.
    pub cumulative: &'a [u64],
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

    /// The `_bucket` samples of the current series, none with an exemplar:
    /// the same lines as one [`sample`](Self::sample) per bucket, which is
    /// what this does unless an encoder writes them faster itself.
    ///
    /// ```
    /// use promdecl_runtime::encode::{Buckets, Descriptor, EscapingScheme, MetricEncoder, TextEncoder};
    /// use promdecl_runtime::MetricType;
    /// let mut buf = Vec::new();
    /// let mut enc = TextEncoder::new(&mut buf, EscapingScheme::Underscores);
    /// enc.family(&Descriptor { name: "latency", help: "", unit: "", kind: MetricType::Histogram });
    /// enc.series(&&[("path", "/")][..]);
    /// let le: Vec<Box<str>> = vec!["0.5".into(), "+Inf".into()];
    /// enc.buckets(Buckets { le: &le, cumulative: &[3, 5] });
    /// assert!(String::from_utf8(buf).unwrap().ends_with(
    ///     "latency_bucket{path=\"/\",le=\"0.5\"} 3\nlatency_bucket{path=\"/\",le=\"+Inf\"} 5\n"
    /// ));
    /// ```
    fn buckets(&mut self, buckets: Buckets<'_>) {
        for (le, &count) in buckets.le.iter().zip(buckets.cumulative) {
            self.sample(&Sample { extra: Some(Extra::Le(le)), ..Sample::new("_bucket", Number::Int(count)) });
        }
    }

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
    /// to be trusted as the whole: [`try_encode`](crate::encode::try_encode) returns the first failure
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

pub(crate) mod sealed {
    /// Only the crate's cells are [`MetricCell`](super::MetricCell)s.
    pub trait Sealed {}
}
