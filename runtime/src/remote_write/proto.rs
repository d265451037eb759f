//! The Prometheus remote-write 1.0 messages (`prometheus.WriteRequest` and
//! what it holds, from Prometheus' `prompb/remote.proto` and
//! `prompb/types.proto`), encoded and decoded by prost. Only the fields a
//! 1.0 sender fills are declared; a decoder skips the others.
//!
//! ```
//! use promdecl_runtime::remote_write::proto::{Label, Message, Sample, TimeSeries, WriteRequest};
//! let request = WriteRequest {
//!     timeseries: vec![TimeSeries {
//!         labels: vec![Label { name: "__name__".into(), value: "up".into() }],
//!         samples: vec![Sample { value: 1.0, timestamp: 1_700_000_000_000 }],
//!     }],
//!     metadata: Vec::new(),
//! };
//! let bytes = request.encode_to_vec();
//! assert_eq!(WriteRequest::decode(bytes.as_slice()).unwrap(), request);
//! ```

/// prost's `Message` trait, to encode and decode these types.
pub use prost::Message;

/// One remote-write request: series with their samples, and the metadata
/// of their families.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// HELP, TYPE and UNIT of the families the series belong to.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// One series: its labels (`__name__` included, sorted by name) and its
/// samples, oldest first.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// The labels, sorted by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// The samples, in timestamp order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// A label.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct Label {
    /// The name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// A sample.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// What a family is.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// A [`MetricType`], as its number.
    #[prost(enumeration = "MetricType", tag = "1")]
    pub r#type: i32,
    /// The family name.
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// The help text.
    #[prost(string, tag = "4")]
    pub help: String,
    /// The unit.
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// The metric types of [`MetricMetadata`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// Unknown.
    Unknown = 0,
    /// Counter.
    Counter = 1,
    /// Gauge.
    Gauge = 2,
    /// Histogram.
    Histogram = 3,
    /// Gauge histogram.
    Gaugehistogram = 4,
    /// Summary.
    Summary = 5,
    /// Info.
    Info = 6,
    /// State set.
    Stateset = 7,
}

impl From<crate::MetricType> for MetricType {
    fn from(kind: crate::MetricType) -> Self {
        match kind {
            crate::MetricType::Counter => MetricType::Counter,
            crate::MetricType::Gauge => MetricType::Gauge,
            crate::MetricType::Histogram => MetricType::Histogram,
            crate::MetricType::GaugeHistogram => MetricType::Gaugehistogram,
            crate::MetricType::Summary => MetricType::Summary,
            crate::MetricType::Info => MetricType::Info,
            crate::MetricType::StateSet => MetricType::Stateset,
            crate::MetricType::Unknown => MetricType::Unknown,
        }
    }
}
