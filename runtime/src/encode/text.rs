//! The Prometheus text format, versions 0.0.4 and 1.0.0.

use super::escape::{write_f64, write_help, Refused, SeriesLine};
use super::{Buckets, CollectError, Descriptor, EncodeLabels, EscapingScheme, Extra, MetricEncoder, Sample};
use crate::MetricType;

/// Writes the Prometheus text format into a byte buffer.
///
/// Families are renamed the way the text format wants them: a counter's
/// family is `name_total`, an info's `name_info` (a gauge), a stateset is a
/// gauge. `_created` samples and exemplars are OpenMetrics-only and are left
/// out.
///
/// ```
/// use promdecl_runtime::{encode::{TextEncoder, EscapingScheme}, Collector, Counter};
/// let c = Counter::builder("hits", "Hits.").build().unwrap();
/// c.inc_by(2.5).unwrap();
/// let mut buf = Vec::new();
/// c.collect(&mut TextEncoder::new(&mut buf, EscapingScheme::Underscores));
/// assert_eq!(buf, b"# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 2.5\n");
/// ```
pub struct TextEncoder<'b> {
    buf: &'b mut Vec<u8>,
    line: SeriesLine,
    kind: MetricType,
    pub(super) failure: Option<CollectError>,
}

impl<'b> TextEncoder<'b> {
    /// An encoder appending to `buf`.
    ///
    /// ```
    /// use promdecl_runtime::encode::{TextEncoder, EscapingScheme};
    /// let mut buf = Vec::new();
    /// let _enc = TextEncoder::new(&mut buf, EscapingScheme::Underscores);
    /// ```
    pub fn new(buf: &'b mut Vec<u8>, escaping: EscapingScheme) -> Self {
        TextEncoder { buf, line: SeriesLine::new(escaping), kind: MetricType::Unknown, failure: None }
    }

    /// The first failure a collector reported, if any; see
    /// [`MetricEncoder::fail`].
    ///
    /// ```
    /// use promdecl_runtime::encode::{CollectError, EscapingScheme, MetricEncoder, TextEncoder};
    /// let mut buf = Vec::new();
    /// let mut enc = TextEncoder::new(&mut buf, EscapingScheme::Underscores);
    /// enc.fail(CollectError::new("down"));
    /// assert_eq!(enc.failure().map(|e| e.message()), Some("down"));
    /// ```
    pub fn failure(&self) -> Option<&CollectError> {
        self.failure.as_ref()
    }
}

impl MetricEncoder for TextEncoder<'_> {
    fn fail(&mut self, error: CollectError) {
        super::keep_first(&mut self.failure, error);
    }

    fn family(&mut self, desc: &Descriptor<'_>) {
        self.kind = desc.kind;
        self.line.set_family(desc.name);
        let (suffix, type_name) = match desc.kind {
            MetricType::Counter => ("_total", "counter"),
            MetricType::Gauge => ("", "gauge"),
            MetricType::Histogram | MetricType::GaugeHistogram => ("", "histogram"),
            MetricType::Summary => ("", "summary"),
            MetricType::Info => ("_info", "gauge"),
            MetricType::StateSet => ("", "gauge"),
            MetricType::Unknown => ("", "untyped"),
        };
        if !desc.help.is_empty() {
            self.buf.extend_from_slice(b"# HELP ");
            self.line.write_meta_name(self.buf, suffix);
            self.buf.push(b' ');
            write_help(self.buf, desc.help, false);
            self.buf.push(b'\n');
        }
        self.buf.extend_from_slice(b"# TYPE ");
        self.line.write_meta_name(self.buf, suffix);
        self.buf.push(b' ');
        self.buf.extend_from_slice(type_name.as_bytes());
        self.buf.push(b'\n');
    }

    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.line.set_series(labels);
    }

    fn accepts(&self, suffix: &str) -> bool {
        suffix != "_created"
    }

    fn buckets(&mut self, buckets: Buckets<'_>) {
        if let Err(le) = self.line.write_buckets(self.buf, buckets) {
            let extra = Some(Extra::Le(le));
            let message = Refused::Le.message(self.line.name(), "_bucket", extra);
            self.fail(CollectError::new(message));
        }
    }

    fn sample(&mut self, s: &Sample<'_>) {
        // Every counter and histogram series sends one: returned from
        // before `write_sample_line` sets up its frame.
        if s.suffix != "_created" {
            self.write_sample_line(s);
        }
    }
}

impl TextEncoder<'_> {
    #[inline(never)]
    fn write_sample_line(&mut self, s: &Sample<'_>) {
        let suffix = match (self.kind, s.suffix) {
            (MetricType::GaugeHistogram, "_gcount") => "_count",
            (MetricType::GaugeHistogram, "_gsum") => "_sum",
            (_, suffix) => suffix,
        };
        if let Err(refused) = self.line.write_sample(self.buf, suffix, s.extra, s.value, s.timestamp.is_none()) {
            let message = refused.message(self.line.name(), suffix, s.extra);
            return self.fail(CollectError::new(message));
        }
        if let Some(ts) = s.timestamp {
            self.buf.push(b' ');
            let ms = (ts * 1000.0).round();
            if ms.is_finite() && ms.abs() < 9.0e18 {
                self.buf.extend_from_slice(itoa::Buffer::new().format(ms as i64).as_bytes());
            } else {
                write_f64(self.buf, ms);
            }
            self.buf.push(b'\n');
        }
    }
}
