//! One collection round turned into a remote-write request.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::proto::{self, Message};
use super::RemoteWriteError;
use crate::encode::{CollectError, Descriptor, EncodeLabels, Extra, LabelSink, MetricEncoder, Sample};
use crate::{Collector, MetricType};

/// A compressed request, ready to send, and how many samples it holds.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub(crate) body: Vec<u8>,
    pub(crate) samples: usize,
}

/// Collects `collector` once, stamping samples without a timestamp of
/// their own with `now_ms`, and compresses the request. A reported
/// failure or a panic gives nothing to send: a partial batch would read
/// as series that stopped.
pub(crate) fn collect(
    collector: &dyn Collector,
    external: &[(String, String)],
    now_ms: i64,
) -> Result<Batch, RemoteWriteError> {
    let mut series = Series {
        external,
        now_ms,
        family: String::new(),
        labels: Vec::new(),
        request: proto::WriteRequest::default(),
        failure: None,
    };
    let collected = catch_unwind(AssertUnwindSafe(|| collector.collect(&mut series)));
    if let Err(panic) = collected {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic payload".to_owned());
        return Err(RemoteWriteError::CollectorPanicked(message));
    }
    if let Some(failure) = series.failure {
        return Err(RemoteWriteError::Collect(failure));
    }
    let samples = series.request.timeseries.len();
    let encoded = series.request.encode_to_vec();
    let body = snap::raw::Encoder::new().compress_vec(&encoded).map_err(|e| RemoteWriteError::Encode(e.to_string()))?;
    Ok(Batch { body, samples })
}

/// The encoder that turns samples into series.
struct Series<'a> {
    external: &'a [(String, String)],
    now_ms: i64,
    family: String,
    /// The current series' labels (empty values left out).
    labels: Vec<(String, String)>,
    request: proto::WriteRequest,
    failure: Option<CollectError>,
}

struct NonEmpty<'a>(&'a mut Vec<(String, String)>);

impl LabelSink for NonEmpty<'_> {
    fn label(&mut self, name: &str, value: &str) {
        // Prometheus treats an empty label as an absent one.
        if !value.is_empty() {
            self.0.push((name.to_owned(), value.to_owned()));
        }
    }
}

impl MetricEncoder for Series<'_> {
    fn fail(&mut self, error: CollectError) {
        crate::encode::keep_first(&mut self.failure, error);
    }

    fn family(&mut self, desc: &Descriptor<'_>) {
        self.family.clear();
        self.family.push_str(desc.name);
        let exposed = match desc.kind {
            MetricType::Counter => format!("{}_total", desc.name),
            MetricType::Info => format!("{}_info", desc.name),
            _ => desc.name.to_owned(),
        };
        self.request.metadata.push(proto::MetricMetadata {
            r#type: proto::MetricType::from(desc.kind) as i32,
            metric_family_name: exposed,
            help: desc.help.to_owned(),
            unit: desc.unit.to_owned(),
        });
    }

    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.labels.clear();
        labels.encode(&mut NonEmpty(&mut self.labels));
    }

    /// Remote write carries a counter's start as no series of its own.
    fn accepts(&self, suffix: &str) -> bool {
        suffix != "_created"
    }

    fn sample(&mut self, sample: &Sample<'_>) {
        if !self.accepts(sample.suffix) {
            return;
        }
        let label = |name: &str, value: &str| proto::Label { name: name.to_owned(), value: value.to_owned() };
        let mut labels: Vec<proto::Label> = Vec::with_capacity(self.labels.len() + self.external.len() + 2);
        labels.push(label("__name__", &format!("{}{}", self.family, sample.suffix)));
        labels.extend(self.labels.iter().map(|(n, v)| label(n, v)));
        match sample.extra {
            Some(Extra::Le(v)) => labels.push(label("le", v)),
            Some(Extra::Quantile(v)) => labels.push(label("quantile", v)),
            Some(Extra::Label(n, v)) if !v.is_empty() => labels.push(label(n, v)),
            _ => {}
        }
        // A series' own label wins over an external one of the same name.
        for (name, value) in self.external {
            if !labels.iter().any(|l| l.name == *name) {
                labels.push(label(name, value));
            }
        }
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        let timestamp = sample.timestamp.filter(|t| t.is_finite()).map_or(self.now_ms, |t| (t * 1000.0).round() as i64);
        self.request.timeseries.push(proto::TimeSeries {
            labels,
            samples: vec![proto::Sample { value: sample.value.as_f64(), timestamp }],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counter, Registry};

    fn decode(batch: &Batch) -> proto::WriteRequest {
        let raw = snap::raw::Decoder::new().decompress_vec(&batch.body).unwrap();
        proto::WriteRequest::decode(raw.as_slice()).unwrap()
    }

    #[test]
    fn samples_become_sorted_series_with_external_labels() {
        let registry = Registry::new();
        let c = Counter::builder("jobs", "Jobs.").labels(["queue", "zone"]).register(&registry).unwrap();
        c.with_label_values(&["mail", ""]).unwrap().inc();
        let external = [("job".to_owned(), "batch".to_owned()), ("queue".to_owned(), "ignored".to_owned())];
        let batch = collect(&registry, &external, 1234).unwrap();
        let request = decode(&batch);
        assert_eq!(batch.samples, 1, "{request:?}");
        let names: Vec<(&str, &str)> =
            request.timeseries[0].labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
        assert_eq!(names, [("__name__", "jobs_total"), ("job", "batch"), ("queue", "mail")]);
        assert_eq!(request.timeseries[0].samples, [proto::Sample { value: 1.0, timestamp: 1234 }]);
        assert_eq!(request.metadata[0].metric_family_name, "jobs_total");
        assert_eq!(request.metadata[0].r#type, proto::MetricType::Counter as i32);
    }
}
