//! Metric families built by hand, for custom collectors (the Python
//! `CounterMetricFamily` and friends). The same model is what the parser
//! returns.
//!
//! ```
//! use promdecl_runtime::{encode::{encode_to_string, Format}, HistogramFamily, MetricFamily};
//! let mut h = HistogramFamily::new("rpc_seconds", "RPC latency.", &["service"]);
//! h.add_metric(&["auth"], &[(0.1, 3), (1.0, 5), (f64::INFINITY, 6)], Some(2.5), None);
//! let family: MetricFamily = h.into();
//! assert_eq!(
//!     encode_to_string(&family, Format::TEXT),
//!     "# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n\
//!      rpc_seconds_bucket{service=\"auth\",le=\"0.1\"} 3\n\
//!      rpc_seconds_bucket{service=\"auth\",le=\"1.0\"} 5\n\
//!      rpc_seconds_bucket{service=\"auth\",le=\"+Inf\"} 6\n\
//!      rpc_seconds_count{service=\"auth\"} 6\n\
//!      rpc_seconds_sum{service=\"auth\"} 2.5\n"
//! );
//! ```

use crate::collect::FamilyDesc;
use crate::encode::{is_number_text, CollectError, Descriptor, Exemplar, MetricEncoder, Number, Sample};
use crate::{Collector, MetricType};

/// One sample of a [`MetricFamily`].
#[derive(Debug, Clone, PartialEq)]
pub struct FamilySample {
    /// Appended to the family name: `"_total"`, `"_bucket"`, `""`, ...
    pub suffix: String,
    /// All labels, including `le`, `quantile` or a stateset's state.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: Number,
    /// An explicit timestamp in seconds since the Unix epoch.
    pub timestamp: Option<f64>,
    /// An exemplar (OpenMetrics only).
    pub exemplar: Option<Exemplar>,
}

/// A metric family with its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// The family name (a counter's without `_total`, an info's without `_info`).
    pub name: String,
    /// The help text.
    pub help: String,
    /// The unit, or empty.
    pub unit: String,
    /// The type.
    pub kind: MetricType,
    /// The samples, in exposition order.
    pub samples: Vec<FamilySample>,
}

impl MetricFamily {
    /// An empty family.
    ///
    /// ```
    /// use promdecl_runtime::{MetricFamily, MetricType};
    /// let f = MetricFamily::new("up", "Up.", MetricType::Gauge);
    /// assert!(f.samples.is_empty());
    /// ```
    pub fn new(name: &str, help: &str, kind: MetricType) -> Self {
        MetricFamily { name: name.to_owned(), help: help.to_owned(), unit: String::new(), kind, samples: Vec::new() }
    }

    /// Writes the family to `enc`.
    ///
    /// A histogram bucket needs an `le` label and a summary quantile a
    /// `quantile` label, each a number: a sample without one is left out
    /// and reported to `enc` as a [`CollectError`]
    /// (so [`try_encode`](crate::encode::try_encode) fails). The encoders
    /// check the rest: a suffix or a unit that would break the line is
    /// refused the same way.
    ///
    /// ```
    /// use promdecl_runtime::encode::{try_encode, Format, Number};
    /// use promdecl_runtime::model::FamilySample;
    /// use promdecl_runtime::{MetricFamily, MetricType};
    ///
    /// let mut h = MetricFamily::new("rpc_seconds", "RPC latency.", MetricType::Histogram);
    /// h.samples.push(FamilySample {
    ///     suffix: "_bucket".into(),
    ///     labels: vec![("le".into(), "0.5\"} 1\nfake 2".into())],
    ///     value: Number::Int(1),
    ///     timestamp: None,
    ///     exemplar: None,
    /// });
    /// let err = try_encode(&h, Format::TEXT, &mut Vec::new()).unwrap_err();
    /// assert!(err.to_string().contains("not a number"), "{err}");
    /// ```
    pub fn encode(&self, enc: &mut dyn MetricEncoder) {
        enc.family(&Descriptor { name: &self.name, help: &self.help, unit: &self.unit, kind: self.kind });
        for s in &self.samples {
            if let Some(label) = bound_label(self.kind, &s.suffix) {
                let value = s.labels.iter().rev().find(|(n, _)| n == label).map(|(_, v)| v.as_str());
                if !value.is_some_and(is_number_text) {
                    enc.fail(CollectError::new(match value {
                        Some(v) => format!(
                            "{}{}: the {label} value {v:?} is not a number; the sample is left out",
                            self.name, s.suffix
                        ),
                        None => format!("{}{}: no {label} label; the sample is left out", self.name, s.suffix),
                    }));
                    continue;
                }
            }
            enc.series(&s.labels);
            enc.sample(&Sample {
                suffix: &s.suffix,
                extra: None,
                value: s.value,
                timestamp: s.timestamp,
                exemplar: s.exemplar.as_ref(),
            });
        }
    }
}

/// The label that carries a number on samples of this kind and suffix.
fn bound_label(kind: MetricType, suffix: &str) -> Option<&'static str> {
    match (kind, suffix) {
        (MetricType::Histogram | MetricType::GaugeHistogram, "_bucket") => Some("le"),
        (MetricType::Summary, "") => Some("quantile"),
        _ => None,
    }
}

impl Collector for MetricFamily {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        self.encode(enc)
    }
    fn describe(&self) -> Vec<FamilyDesc> {
        vec![FamilyDesc::new(&self.name, self.kind)]
    }
}

/// What the typed families share: a [`MetricFamily`] and its label names.
#[derive(Debug, Clone)]
struct Base {
    family: MetricFamily,
    label_names: Vec<String>,
}

impl Base {
    fn new(name: &str, help: &str, kind: MetricType, label_names: &[&str]) -> Self {
        // As for Counter: the family name has no `_total`; samples add it.
        let name = crate::collect::series::join("", "", name, "", kind == MetricType::Counter);
        Base {
            family: MetricFamily::new(&name, help, kind),
            label_names: label_names.iter().map(|&n| n.to_owned()).collect(),
        }
    }

    fn push(
        &mut self,
        values: &[&str],
        suffix: &str,
        extra: Option<(&str, String)>,
        value: Number,
        timestamp: Option<f64>,
    ) {
        let mut labels: Vec<(String, String)> =
            self.label_names.iter().zip(values).map(|(n, v)| (n.clone(), (*v).to_owned())).collect();
        if let Some((n, v)) = extra {
            labels.push((n.to_owned(), v));
        }
        self.family.samples.push(FamilySample { suffix: suffix.to_owned(), labels, value, timestamp, exemplar: None });
    }
}

fn float_label(v: f64) -> String {
    let mut buf = Vec::new();
    crate::encode::write_float(&mut buf, v);
    String::from_utf8(buf).unwrap_or_default()
}

macro_rules! typed_family {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(Base);

        impl $name {
            /// An empty family with these label names.
            pub fn new(name: &str, help: &str, label_names: &[&str]) -> Self {
                $name(Base::new(name, help, $kind, label_names))
            }

            /// Sets the unit (OpenMetrics `# UNIT`), appending `_<unit>` to the
            /// name unless it already ends with it, as OpenMetrics requires.
            pub fn unit(mut self, unit: &str) -> Self {
                let family = &mut self.0.family;
                if !unit.is_empty() && !family.name.ends_with(&format!("_{unit}")) {
                    family.name = format!("{}_{unit}", family.name);
                }
                family.unit = unit.to_owned();
                self
            }

            /// Writes the family to `enc`.
            pub fn encode(&self, enc: &mut dyn MetricEncoder) {
                self.0.family.encode(enc)
            }
        }

        impl From<$name> for MetricFamily {
            fn from(f: $name) -> MetricFamily {
                f.0.family
            }
        }

        impl Collector for $name {
            fn collect(&self, enc: &mut dyn MetricEncoder) {
                self.encode(enc)
            }
            fn describe(&self) -> Vec<FamilyDesc> {
                self.0.family.describe()
            }
        }
    };
}

typed_family! {
    /// A counter family for custom collectors. A trailing `_total` on the
    /// name is dropped, as for [`Counter`](crate::Counter).
    ///
    /// ```
    /// use promdecl_runtime::{encode::{encode_to_string, Format}, CounterFamily};
    /// let mut c = CounterFamily::new("jobs_total", "Jobs.", &[]);
    /// c.add_metric(&[], 7.0, None, None);
    /// assert!(encode_to_string(&c, Format::TEXT).ends_with("jobs_total 7.0\n"));
    /// ```
    CounterFamily, MetricType::Counter
}

impl CounterFamily {
    /// Adds a child: its label values, total, creation time and timestamp.
    pub fn add_metric(&mut self, values: &[&str], value: f64, created: Option<f64>, timestamp: Option<f64>) {
        self.0.push(values, "_total", None, Number::Float(value), timestamp);
        if let Some(created) = created {
            self.0.push(values, "_created", None, Number::Float(created), timestamp);
        }
    }
}

typed_family! {
    /// A gauge family for custom collectors.
    ///
    /// ```
    /// use promdecl_runtime::{encode::{encode_to_string, Format}, GaugeFamily};
    /// let mut g = GaugeFamily::new("temp", "T.", &["room"]);
    /// g.add_metric(&["hall"], 19.5, Some(1700000000.0));
    /// assert!(encode_to_string(&g, Format::TEXT).ends_with("temp{room=\"hall\"} 19.5 1700000000000\n"));
    /// ```
    GaugeFamily, MetricType::Gauge
}

impl GaugeFamily {
    /// Adds a child.
    pub fn add_metric(&mut self, values: &[&str], value: f64, timestamp: Option<f64>) {
        self.0.push(values, "", None, Number::Float(value), timestamp);
    }
}

typed_family! {
    /// An untyped family for custom collectors.
    ///
    /// ```
    /// use promdecl_runtime::{encode::{encode_to_string, Format}, UnknownFamily};
    /// let mut u = UnknownFamily::new("x", "X.", &[]);
    /// u.add_metric(&[], 1.0, None);
    /// assert!(encode_to_string(&u, Format::TEXT).contains("# TYPE x untyped\n"));
    /// ```
    UnknownFamily, MetricType::Unknown
}

impl UnknownFamily {
    /// Adds a child.
    pub fn add_metric(&mut self, values: &[&str], value: f64, timestamp: Option<f64>) {
        self.0.push(values, "", None, Number::Float(value), timestamp);
    }
}

typed_family! {
    /// A summary family (count and sum) for custom collectors.
    ///
    /// ```
    /// use promdecl_runtime::{encode::{encode_to_string, Format}, SummaryFamily};
    /// let mut s = SummaryFamily::new("rpc_seconds", "R.", &[]);
    /// s.add_metric(&[], 4, 1.5, None);
    /// assert!(encode_to_string(&s, Format::TEXT).ends_with("rpc_seconds_count 4\nrpc_seconds_sum 1.5\n"));
    /// ```
    SummaryFamily, MetricType::Summary
}

impl SummaryFamily {
    /// Adds a child: its count and sum.
    pub fn add_metric(&mut self, values: &[&str], count: u64, sum: f64, timestamp: Option<f64>) {
        self.0.push(values, "_count", None, Number::Int(count), timestamp);
        self.0.push(values, "_sum", None, Number::Float(sum), timestamp);
    }
}

typed_family! {
    /// A histogram family for custom collectors; see the [module docs](self).
    HistogramFamily, MetricType::Histogram
}

impl HistogramFamily {
    /// Adds a child: `(upper bound, cumulative count)` per bucket, the last
    /// being `+Inf`, and the sum (left out when observations may be negative).
    pub fn add_metric(&mut self, values: &[&str], buckets: &[(f64, u64)], sum: Option<f64>, timestamp: Option<f64>) {
        for &(le, count) in buckets {
            self.0.push(values, "_bucket", Some(("le", float_label(le))), Number::Int(count), timestamp);
        }
        let count = buckets.last().map_or(0, |b| b.1);
        self.0.push(values, "_count", None, Number::Int(count), timestamp);
        if let Some(sum) = sum {
            self.0.push(values, "_sum", None, Number::Float(sum), timestamp);
        }
    }
}

typed_family! {
    /// A gauge histogram family (a distribution of current values).
    ///
    /// ```
    /// use promdecl_runtime::{encode::{encode_to_string, Format}, GaugeHistogramFamily};
    /// let mut g = GaugeHistogramFamily::new("queue_items", "Q.", &[]);
    /// g.add_metric(&[], &[(1.0, 2), (f64::INFINITY, 3)], 4.0, None);
    /// assert!(encode_to_string(&g, Format::OPENMETRICS).contains("queue_items_gcount 3\n"));
    /// ```
    GaugeHistogramFamily, MetricType::GaugeHistogram
}

impl GaugeHistogramFamily {
    /// Adds a child: cumulative buckets (the last `+Inf`) and the sum.
    pub fn add_metric(&mut self, values: &[&str], buckets: &[(f64, u64)], gsum: f64, timestamp: Option<f64>) {
        for &(le, count) in buckets {
            self.0.push(values, "_bucket", Some(("le", float_label(le))), Number::Int(count), timestamp);
        }
        let count = buckets.last().map_or(0, |b| b.1);
        self.0.push(values, "_gcount", None, Number::Int(count), timestamp);
        self.0.push(values, "_gsum", None, Number::Float(gsum), timestamp);
    }
}

typed_family! {
    /// An info family.
    ///
    /// ```
    /// use promdecl_runtime::{encode::{encode_to_string, Format}, InfoFamily};
    /// let mut i = InfoFamily::new("build", "B.", &[]);
    /// i.add_metric(&[], &[("version", "1.0")], None);
    /// assert!(encode_to_string(&i, Format::TEXT).ends_with("build_info{version=\"1.0\"} 1\n"));
    /// ```
    InfoFamily, MetricType::Info
}

impl InfoFamily {
    /// Adds a child with its key/value pairs.
    pub fn add_metric(&mut self, values: &[&str], pairs: &[(&str, &str)], timestamp: Option<f64>) {
        self.0.push(values, "_info", None, Number::Int(1), timestamp);
        let sample = self.0.family.samples.last_mut().expect("just pushed");
        sample.labels.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    }
}

typed_family! {
    /// A stateset family: one sample per state, labelled with the family name.
    ///
    /// ```
    /// use promdecl_runtime::{encode::{encode_to_string, Format}, StateSetFamily};
    /// let mut s = StateSetFamily::new("mode", "M.", &[]);
    /// s.add_metric(&[], &[("on", true), ("off", false)], None);
    /// assert!(encode_to_string(&s, Format::OPENMETRICS).contains("mode{mode=\"on\"} 1\n"));
    /// ```
    StateSetFamily, MetricType::StateSet
}

impl StateSetFamily {
    /// Adds a child: each state and whether it is set.
    pub fn add_metric(&mut self, values: &[&str], states: &[(&str, bool)], timestamp: Option<f64>) {
        let label = self.0.family.name.clone();
        for &(state, on) in states {
            self.0.push(values, "", Some((&label, state.to_owned())), Number::Int(u64::from(on)), timestamp);
        }
    }
}
