//! The Prometheus protobuf exposition format: length-delimited
//! `io.prometheus.client.MetricFamily` messages, the only format that carries
//! native histograms.

use super::escape::escape_name;
use super::proto::{self, Message};
use super::{
    Descriptor, EncodeLabels, EscapingScheme, Exemplar, Extra, LabelSink, MetricEncoder, NativeHistogram, Sample,
};
use crate::MetricType;

/// Writes the Prometheus protobuf format (`application/vnd.google.protobuf;
/// proto=io.prometheus.client.MetricFamily; encoding=delimited`) into a byte
/// buffer: one length-delimited `MetricFamily` per family, written when the
/// next family starts or at [`ProtobufEncoder::finish`].
///
/// Families are named as in the text format (a counter's `name_total`, an
/// info's `name_info`, a gauge); a stateset is a gauge with one series per
/// state. `_created` samples become `created_timestamp` fields; exemplars
/// go with counters and histogram buckets; native buckets with histograms.
///
/// ```
/// use promdecl_runtime::encode::{proto::{Message, MetricFamily}, EscapingScheme, ProtobufEncoder};
/// use promdecl_runtime::{Collector, Counter};
/// let c = Counter::builder("hits", "Hits.").build().unwrap();
/// c.inc();
/// let mut buf = Vec::new();
/// let mut enc = ProtobufEncoder::new(&mut buf, EscapingScheme::Underscores);
/// c.collect(&mut enc);
/// enc.finish();
/// let family = MetricFamily::decode_length_delimited(buf.as_slice()).unwrap();
/// assert_eq!(family.name(), "hits_total");
/// assert_eq!(family.metric[0].counter.as_ref().unwrap().value(), 1.0);
/// ```
pub struct ProtobufEncoder<'b> {
    buf: &'b mut Vec<u8>,
    escaping: EscapingScheme,
    kind: MetricType,
    family: Option<proto::MetricFamily>,
    /// The labels of the current series.
    series: Vec<(String, String)>,
    /// The metric samples go into, and its labels, until one with other
    /// labels starts.
    current: Option<proto::Metric>,
    pub(super) failure: Option<super::CollectError>,
}

impl<'b> ProtobufEncoder<'b> {
    /// An encoder appending to `buf`.
    pub fn new(buf: &'b mut Vec<u8>, escaping: EscapingScheme) -> Self {
        ProtobufEncoder {
            buf,
            escaping,
            kind: MetricType::Unknown,
            family: None,
            series: Vec::new(),
            current: None,
            failure: None,
        }
    }

    /// The first failure a collector reported, if any; see
    /// [`MetricEncoder::fail`].
    pub fn failure(&self) -> Option<&super::CollectError> {
        self.failure.as_ref()
    }

    /// Writes the last family.
    pub fn finish(mut self) {
        self.flush_family();
    }

    fn flush_metric(&mut self) {
        if let (Some(metric), Some(family)) = (self.current.take(), self.family.as_mut()) {
            family.metric.push(metric);
        }
    }

    fn flush_family(&mut self) {
        self.flush_metric();
        if let Some(family) = self.family.take() {
            // A family without series says nothing, and some parsers choke on it.
            if !family.metric.is_empty() {
                family.encode_length_delimited(self.buf).expect("a Vec<u8> grows as needed");
            }
        }
    }

    /// The metric with exactly `labels`: the open one, or a new one.
    fn metric(&mut self, labels: Vec<(String, String)>) -> &mut proto::Metric {
        let same = self.current.as_ref().is_some_and(|m| {
            m.label.len() == labels.len()
                && m.label.iter().zip(&labels).all(|(p, (n, v))| p.name() == n && p.value() == v)
        });
        if !same {
            self.flush_metric();
            let label = labels.into_iter().map(|(n, v)| proto::LabelPair { name: Some(n), value: Some(v) }).collect();
            self.current = Some(proto::Metric { label, ..Default::default() });
        }
        self.current.as_mut().expect("just opened")
    }
}

struct Collect<'a> {
    out: &'a mut Vec<(String, String)>,
    escaping: EscapingScheme,
}

impl LabelSink for Collect<'_> {
    fn label(&mut self, name: &str, value: &str) {
        self.out.push((escape_name(name, false, self.escaping), value.to_owned()));
    }
}

fn timestamp(seconds: f64) -> prost_types::Timestamp {
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9).round().min(999_999_999.0);
    prost_types::Timestamp { seconds: whole as i64, nanos: nanos as i32 }
}

fn exemplar(e: &Exemplar, escaping: EscapingScheme) -> proto::Exemplar {
    let pair = |(n, v): &(String, String)| proto::LabelPair {
        name: Some(escape_name(n, false, escaping)),
        value: Some(v.clone()),
    };
    proto::Exemplar {
        label: e.labels.iter().map(pair).collect(),
        value: Some(e.value),
        timestamp: e.timestamp.map(timestamp),
    }
}

fn spans(spans: &[super::BucketSpan]) -> Vec<proto::BucketSpan> {
    spans.iter().map(|s| proto::BucketSpan { offset: Some(s.offset), length: Some(s.length) }).collect()
}

impl MetricEncoder for ProtobufEncoder<'_> {
    fn fail(&mut self, error: super::CollectError) {
        super::keep_first(&mut self.failure, error);
    }

    fn family(&mut self, desc: &Descriptor<'_>) {
        self.flush_family();
        self.kind = desc.kind;
        let (suffix, kind) = match desc.kind {
            MetricType::Counter => ("_total", proto::MetricType::Counter),
            MetricType::Gauge | MetricType::StateSet => ("", proto::MetricType::Gauge),
            MetricType::Info => ("_info", proto::MetricType::Gauge),
            MetricType::Histogram => ("", proto::MetricType::Histogram),
            MetricType::GaugeHistogram => ("", proto::MetricType::GaugeHistogram),
            MetricType::Summary => ("", proto::MetricType::Summary),
            MetricType::Unknown => ("", proto::MetricType::Untyped),
        };
        self.family = Some(proto::MetricFamily {
            name: Some(escape_name(&format!("{}{suffix}", desc.name), true, self.escaping)),
            help: (!desc.help.is_empty()).then(|| desc.help.to_owned()),
            r#type: Some(kind as i32),
            metric: Vec::new(),
            unit: (!desc.unit.is_empty()).then(|| desc.unit.to_owned()),
        });
    }

    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.series.clear();
        let escaping = self.escaping;
        labels.encode(&mut Collect { out: &mut self.series, escaping });
    }

    fn sample(&mut self, s: &Sample<'_>) {
        let kind = self.kind;
        // The bucket bound or quantile: from the sample, or (for families
        // built by hand or parsed) from the series' labels.
        let reserved = match kind {
            MetricType::Histogram | MetricType::GaugeHistogram => Some("le"),
            MetricType::Summary => Some("quantile"),
            _ => None,
        };
        let mut labels = self.series.clone();
        let mut bound: Option<String> = None;
        match s.extra {
            Some(Extra::Le(v)) | Some(Extra::Quantile(v)) => bound = Some(v.to_owned()),
            Some(Extra::Label(n, v)) => labels.push((escape_name(n, false, self.escaping), v.to_owned())),
            None => {
                if let Some(pos) = reserved.and_then(|r| labels.iter().position(|(n, _)| n == r)) {
                    bound = Some(labels.remove(pos).1);
                }
            }
        }
        let value = s.value.as_f64();
        let escaping = self.escaping;
        let exemplar = |e| exemplar(e, escaping);
        let metric = self.metric(labels);
        if s.suffix != "_created" {
            if let Some(ts) = s.timestamp {
                metric.timestamp_ms = Some((ts * 1000.0).round() as i64);
            }
        }
        match (kind, s.suffix) {
            (MetricType::Counter, "_total") => {
                let counter = metric.counter.get_or_insert_with(Default::default);
                counter.value = Some(value);
                counter.exemplar = s.exemplar.map(exemplar);
            }
            (MetricType::Counter, "_created") => {
                metric.counter.get_or_insert_with(Default::default).created_timestamp = Some(timestamp(value));
            }
            (MetricType::Gauge | MetricType::StateSet | MetricType::Info, _) => {
                metric.gauge = Some(proto::Gauge { value: Some(value) });
            }
            (MetricType::Unknown, _) => metric.untyped = Some(proto::Untyped { value: Some(value) }),
            (MetricType::Histogram | MetricType::GaugeHistogram, suffix) => {
                let h = metric.histogram.get_or_insert_with(Default::default);
                match suffix {
                    "_bucket" => {
                        let upper: f64 = bound.as_deref().and_then(|b| b.parse().ok()).unwrap_or(f64::INFINITY);
                        let count = s.value.as_f64() as u64;
                        // The +Inf bucket is implicit (the count), unless it
                        // carries an exemplar.
                        if upper < f64::INFINITY || s.exemplar.is_some() {
                            h.bucket.push(proto::Bucket {
                                cumulative_count: Some(count),
                                upper_bound: Some(upper),
                                exemplar: s.exemplar.map(exemplar),
                                ..Default::default()
                            });
                        }
                    }
                    "_count" | "_gcount" => h.sample_count = Some(value as u64),
                    "_sum" | "_gsum" => h.sample_sum = Some(value),
                    "_created" => h.created_timestamp = Some(timestamp(value)),
                    _ => {}
                }
            }
            (MetricType::Summary, suffix) => {
                let summary = metric.summary.get_or_insert_with(Default::default);
                match suffix {
                    "" => {
                        let quantile = bound.as_deref().and_then(|q| q.parse().ok()).unwrap_or(f64::NAN);
                        summary.quantile.push(proto::Quantile { quantile: Some(quantile), value: Some(value) });
                    }
                    "_count" => summary.sample_count = Some(value as u64),
                    "_sum" => summary.sample_sum = Some(value),
                    "_created" => summary.created_timestamp = Some(timestamp(value)),
                    _ => {}
                }
            }
            (MetricType::Counter, _) => {}
        }
    }

    fn native_histogram(&mut self, n: &NativeHistogram) {
        // Usually the series' classic samples opened its metric already.
        let labels = self.series.clone();
        let h = self.metric(labels).histogram.get_or_insert_with(Default::default);
        h.sample_count = Some(n.count);
        h.sample_sum = Some(n.sum);
        h.schema = Some(n.schema);
        h.zero_threshold = Some(n.zero_threshold);
        h.zero_count = Some(n.zero_count);
        h.negative_span = spans(&n.negative_spans);
        h.negative_delta = n.negative_deltas.clone();
        h.positive_span = spans(&n.positive_spans);
        h.positive_delta = n.positive_deltas.clone();
        if n.zero_threshold == 0.0 && n.zero_count == 0 && h.positive_span.is_empty() && h.negative_span.is_empty() {
            // Without this no-op span, an empty native histogram would look
            // like a classic one.
            h.positive_span.push(proto::BucketSpan { offset: Some(0), length: Some(0) });
        }
        // Native histograms take exemplars with timestamps only.
        h.exemplars = h.bucket.iter().filter_map(|b| b.exemplar.clone()).filter(|e| e.timestamp.is_some()).collect();
    }
}
