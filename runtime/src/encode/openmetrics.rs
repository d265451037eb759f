//! The OpenMetrics 1.0 text format.

use super::escape::{is_name_tail, write_f64, write_help, Refused, SeriesLine};
use super::{Buckets, CollectError, Descriptor, EncodeLabels, EscapingScheme, Extra, MetricEncoder, Sample};

/// Writes OpenMetrics 1.0 text into a byte buffer: `# HELP`, `# TYPE`,
/// `# UNIT`, `_created` samples (unless disabled with
/// [`set_created_series`](crate::set_created_series)), exemplars, and the
/// closing `# EOF` written by [`OpenMetricsEncoder::finish`].
///
/// ```
/// use promdecl_runtime::{encode::{OpenMetricsEncoder, EscapingScheme}, Collector, Gauge};
/// let g = Gauge::builder("temp", "Temperature.").unit("celsius").build().unwrap();
/// g.set(-3.5);
/// let mut buf = Vec::new();
/// let mut enc = OpenMetricsEncoder::new(&mut buf, EscapingScheme::Underscores);
/// g.collect(&mut enc);
/// enc.finish();
/// assert_eq!(
///     String::from_utf8(buf).unwrap(),
///     "# HELP temp_celsius Temperature.\n# TYPE temp_celsius gauge\n# UNIT temp_celsius celsius\ntemp_celsius -3.5\n# EOF\n"
/// );
/// ```
pub struct OpenMetricsEncoder<'b> {
    buf: &'b mut Vec<u8>,
    line: SeriesLine,
    created: bool,
    pub(super) failure: Option<CollectError>,
}

impl<'b> OpenMetricsEncoder<'b> {
    /// An encoder appending to `buf`.
    ///
    /// ```
    /// use promdecl_runtime::encode::{OpenMetricsEncoder, EscapingScheme};
    /// let mut buf = Vec::new();
    /// OpenMetricsEncoder::new(&mut buf, EscapingScheme::Underscores).finish();
    /// assert_eq!(buf, b"# EOF\n");
    /// ```
    pub fn new(buf: &'b mut Vec<u8>, escaping: EscapingScheme) -> Self {
        OpenMetricsEncoder { buf, line: SeriesLine::new(escaping), created: super::created_series(), failure: None }
    }

    /// Writes the closing `# EOF` line.
    pub fn finish(self) {
        self.buf.extend_from_slice(b"# EOF\n");
    }

    /// The first failure a collector reported, if any; see
    /// [`MetricEncoder::fail`].
    ///
    /// ```
    /// use promdecl_runtime::encode::{CollectError, EscapingScheme, MetricEncoder, OpenMetricsEncoder};
    /// let mut buf = Vec::new();
    /// let mut enc = OpenMetricsEncoder::new(&mut buf, EscapingScheme::Underscores);
    /// assert!(enc.failure().is_none());
    /// enc.fail(CollectError::new("down"));
    /// assert_eq!(enc.failure().map(|e| e.message()), Some("down"));
    /// ```
    pub fn failure(&self) -> Option<&CollectError> {
        self.failure.as_ref()
    }
}

/// Whether `unit` can be written on a `# UNIT` line of family `name`:
/// made of metric-name characters, and the last part of the name, as
/// OpenMetrics requires (`request_seconds` has the unit `seconds`).
fn check_unit(name: &str, unit: &str) -> Result<(), &'static str> {
    if !is_name_tail(unit) {
        return Err("has bytes a unit cannot have (only [a-zA-Z0-9_:])");
    }
    if !name.strip_suffix(unit).is_some_and(|n| n.ends_with('_')) {
        return Err("is not the end of the metric name (name_<unit>)");
    }
    Ok(())
}

impl MetricEncoder for OpenMetricsEncoder<'_> {
    fn fail(&mut self, error: CollectError) {
        super::keep_first(&mut self.failure, error);
    }

    fn family(&mut self, desc: &Descriptor<'_>) {
        self.line.set_family(desc.name);
        if !desc.help.is_empty() {
            self.buf.extend_from_slice(b"# HELP ");
            self.line.write_meta_name(self.buf, "");
            self.buf.push(b' ');
            write_help(self.buf, desc.help, true);
            self.buf.push(b'\n');
        }
        self.buf.extend_from_slice(b"# TYPE ");
        self.line.write_meta_name(self.buf, "");
        self.buf.push(b' ');
        self.buf.extend_from_slice(desc.kind.as_str().as_bytes());
        self.buf.push(b'\n');
        if !desc.unit.is_empty() {
            if let Err(why) = check_unit(desc.name, desc.unit) {
                return self.fail(CollectError::new(format!(
                    "{}: the unit {:?} {why}; the # UNIT line is left out",
                    desc.name, desc.unit
                )));
            }
            self.buf.extend_from_slice(b"# UNIT ");
            self.line.write_meta_name(self.buf, "");
            self.buf.push(b' ');
            self.buf.extend_from_slice(desc.unit.as_bytes());
            self.buf.push(b'\n');
        }
    }

    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.line.set_series(labels);
    }

    fn accepts(&self, suffix: &str) -> bool {
        self.created || suffix != "_created"
    }

    fn buckets(&mut self, buckets: Buckets<'_>) {
        if let Err(le) = self.line.write_buckets(self.buf, buckets) {
            let extra = Some(Extra::Le(le));
            let message = Refused::Le.message(self.line.name(), "_bucket", extra);
            self.fail(CollectError::new(message));
        }
    }

    fn sample(&mut self, s: &Sample<'_>) {
        if !self.created && s.suffix == "_created" {
            return;
        }
        let end = s.timestamp.is_none() && s.exemplar.is_none();
        if let Err(refused) = self.line.write_sample(self.buf, s.suffix, s.extra, s.value, end) {
            let message = refused.message(self.line.name(), s.suffix, s.extra);
            return self.fail(CollectError::new(message));
        }
        if end {
            return;
        }
        if let Some(ts) = s.timestamp {
            self.buf.push(b' ');
            write_f64(self.buf, ts);
        }
        if let Some(ex) = s.exemplar {
            self.buf.extend_from_slice(b" # {");
            self.line.write_exemplar_labels(self.buf, &ex.labels);
            self.buf.extend_from_slice(b"} ");
            write_f64(self.buf, ex.value);
            if let Some(ts) = ex.timestamp {
                self.buf.push(b' ');
                write_f64(self.buf, ts);
            }
        }
        self.buf.push(b'\n');
    }
}
