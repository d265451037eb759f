//! What OpenMetrics requires of each metric type: which samples a family
//! has, what their labels and values may be, and what makes a complete
//! MetricPoint (a histogram's buckets, count and sum; a counter's total).

use crate::encode::Number;
use crate::MetricType;

use super::error::Fail;
use super::labels::Label;
use super::number::{is_whole, parse_number};

/// The suffixes the samples of a family of type `kind` may have.
pub(super) fn sample_suffixes(kind: MetricType) -> &'static [&'static str] {
    match kind {
        MetricType::Counter => &["_total", "_created"],
        MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
        MetricType::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
        MetricType::Summary => &["", "_count", "_sum", "_created"],
        MetricType::Info => &["_info"],
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[""],
    }
}

/// The suffixes of every name a family of type `kind` takes for itself: no
/// other family may expose a series of that name.
pub(super) fn reserved_suffixes(kind: MetricType) -> &'static [&'static str] {
    match kind {
        MetricType::Counter => &["", "_total", "_created"],
        MetricType::Histogram => &["", "_bucket", "_count", "_sum", "_created"],
        MetricType::GaugeHistogram => &["", "_bucket", "_gcount", "_gsum"],
        MetricType::Info => &["", "_info"],
        kind => sample_suffixes(kind),
    }
}

/// The label that a sample of this kind and suffix carries beyond its
/// series' labels (`le`, `quantile`, the state), which is left out when
/// telling series apart.
pub(super) fn point_label<'n>(kind: MetricType, family: &'n str, suffix: &str) -> Option<&'n str> {
    match (kind, suffix) {
        (MetricType::Histogram | MetricType::GaugeHistogram, "_bucket") => Some("le"),
        (MetricType::Summary, "") => Some("quantile"),
        (MetricType::StateSet, _) => Some(family),
        _ => None,
    }
}

/// One sample as the rules see it.
pub(super) struct Checked<'s> {
    /// The series name (family name and suffix).
    pub(super) series: &'s str,
    pub(super) labels: &'s [Label],
    /// Where the labels are or would be.
    pub(super) labels_at: usize,
    pub(super) value: Number,
    pub(super) value_text: &'s str,
    pub(super) value_at: usize,
    pub(super) exemplar_at: Option<usize>,
}

fn label<'s>(labels: &'s [Label], name: &str) -> Option<&'s Label> {
    labels.iter().find(|l| l.name == name)
}

/// Checks one sample's labels and value against its family's type; returns
/// a bucket's bound.
pub(super) fn check_sample(kind: MetricType, family: &str, suffix: &str, s: &Checked<'_>) -> Result<Option<f64>, Fail> {
    let v = s.value.as_f64();
    let series = s.series;
    let found = s.value_text;
    let non_negative = || {
        if v.is_nan() || v < 0.0 {
            return Err(Fail::new(
                s.value_at,
                format_args!("expected a non-negative value for {series}, found {found}"),
            ));
        }
        Ok(())
    };
    let count = || {
        if !is_whole(s.value) || v < 0.0 {
            return Err(Fail::new(
                s.value_at,
                format_args!("expected a non-negative whole number for {series}, found {found}"),
            ));
        }
        Ok(())
    };
    let exemplar_ok = matches!(
        (kind, suffix),
        (MetricType::Counter, "_total") | (MetricType::Histogram | MetricType::GaugeHistogram, "_bucket")
    );
    if let (Some(at), false) = (s.exemplar_at, exemplar_ok) {
        return Err(Fail::new(
            at,
            format_args!(
                "expected no exemplar on {series}: only counter _total and histogram _bucket samples may have one"
            ),
        ));
    }
    let mut bound = None;
    match (kind, suffix) {
        (MetricType::Counter, "_total") | (MetricType::Histogram | MetricType::Summary, "_sum") => non_negative()?,
        (MetricType::Histogram | MetricType::Summary, "_count") | (MetricType::GaugeHistogram, "_gcount") => count()?,
        (MetricType::GaugeHistogram, "_gsum") if v.is_nan() => {
            return Err(Fail::new(s.value_at, format_args!("expected a number other than NaN for {series}")));
        }
        (MetricType::Histogram | MetricType::GaugeHistogram, "_bucket") => {
            let Some(le) = label(s.labels, "le") else {
                return Err(Fail::new(s.labels_at, format_args!("expected an le label on histogram bucket {series}")));
            };
            let b = parse_number(&le.value).map(Number::as_f64);
            match b {
                Some(b) if b.is_nan() => {
                    return Err(Fail::new(le.value_at, "expected a number other than NaN as the le bound"));
                }
                Some(b) if b == f64::INFINITY && le.value != "+Inf" => {
                    return Err(Fail::new(
                        le.value_at,
                        format_args!("expected the +Inf bound written \"+Inf\", found {:?}", le.value),
                    ));
                }
                Some(b) => bound = Some(b),
                None => {
                    return Err(Fail::new(
                        le.value_at,
                        format_args!("expected a number as the le bound, found {:?}", le.value),
                    ));
                }
            }
            count()?;
        }
        (MetricType::Summary, "") => {
            let Some(q) = label(s.labels, "quantile") else {
                return Err(Fail::new(
                    s.labels_at,
                    format_args!("expected a quantile label on summary sample {series}"),
                ));
            };
            let in_range = parse_number(&q.value).map(Number::as_f64).is_some_and(|q| (0.0..=1.0).contains(&q));
            if !in_range {
                return Err(Fail::new(
                    q.value_at,
                    format_args!("expected a quantile between 0 and 1, found {:?}", q.value),
                ));
            }
            if v < 0.0 {
                return Err(Fail::new(
                    s.value_at,
                    format_args!("expected a non-negative quantile value (or NaN) for {series}, found {found}"),
                ));
            }
        }
        (MetricType::Info, _) if v != 1.0 => {
            return Err(Fail::new(s.value_at, format_args!("expected 1 as the value of info {series}, found {found}")));
        }
        (MetricType::StateSet, _) => {
            if label(s.labels, family).is_none() {
                return Err(Fail::new(
                    s.labels_at,
                    format_args!("expected a label named {family:?} (the state) on stateset sample {series}"),
                ));
            }
            if v != 0.0 && v != 1.0 {
                return Err(Fail::new(
                    s.value_at,
                    format_args!("expected 0 or 1 as the value of stateset {series}, found {found}"),
                ));
            }
        }
        _ => {}
    }
    Ok(bound)
}

/// The samples of one MetricPoint seen so far: those of one series with one
/// timestamp. Checked as they come, and as a whole by [`Point::finish`].
#[derive(Debug)]
pub(super) struct Point {
    /// Where the point's first sample starts.
    start: usize,
    has_total: bool,
    /// The last bucket: its bound and count.
    bucket: Option<(f64, f64)>,
    negative_bucket: bool,
    /// The `_count`/`_gcount`: value and where it is.
    count: Option<(f64, usize)>,
    sum_at: Option<usize>,
    gsum_at: Option<usize>,
    negative_gsum: bool,
}

impl Point {
    pub(super) fn new(start: usize) -> Self {
        Point {
            start,
            has_total: false,
            bucket: None,
            negative_bucket: false,
            count: None,
            sum_at: None,
            gsum_at: None,
            negative_gsum: false,
        }
    }

    /// Adds a sample that [`check_sample`] accepted; `bound` is what it
    /// returned.
    pub(super) fn add(&mut self, suffix: &str, bound: Option<f64>, s: &Checked<'_>) -> Result<(), Fail> {
        let v = s.value.as_f64();
        match suffix {
            "_total" => self.has_total = true,
            "_bucket" => {
                let b = bound.unwrap_or(f64::NAN);
                if let Some((prev, prev_count)) = self.bucket {
                    if b <= prev {
                        let (at, le) = label(s.labels, "le").map_or((s.labels_at, ""), |l| (l.value_at, &*l.value));
                        return Err(Fail::new(
                            at,
                            format_args!(
                                "expected bucket bounds in increasing order, found le=\"{le}\" after a bucket with le {prev:?}"
                            ),
                        ));
                    }
                    if v < prev_count {
                        return Err(Fail::new(
                            s.value_at,
                            format_args!(
                                "expected cumulative bucket counts (each at least the one before), found {} after {prev_count}",
                                s.value_text
                            ),
                        ));
                    }
                }
                self.negative_bucket |= b < 0.0;
                self.bucket = Some((b, v));
            }
            "_count" | "_gcount" => self.count = Some((v, s.value_at)),
            "_sum" => self.sum_at = Some(s.value_at),
            "_gsum" => {
                self.gsum_at = Some(s.value_at);
                self.negative_gsum = v < 0.0;
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks that the point is complete.
    pub(super) fn finish(self, kind: MetricType, family: &str) -> Result<(), Fail> {
        match kind {
            MetricType::Counter if !self.has_total => {
                Err(Fail::new(self.start, format_args!("expected {family}_total in each series of counter {family}")))
            }
            MetricType::Histogram | MetricType::GaugeHistogram => self.finish_histogram(kind, family),
            _ => Ok(()),
        }
    }

    fn finish_histogram(self, kind: MetricType, family: &str) -> Result<(), Fail> {
        let (count, sum) = if kind == MetricType::Histogram { ("_count", "_sum") } else { ("_gcount", "_gsum") };
        let inf = match self.bucket {
            Some((b, v)) if b == f64::INFINITY => v,
            _ => {
                return Err(Fail::new(
                    self.start,
                    format_args!("expected a bucket {family}_bucket{{le=\"+Inf\"}} in each series of {family}"),
                ))
            }
        };
        let sum_at = if kind == MetricType::Histogram { self.sum_at } else { self.gsum_at };
        match (self.count, sum_at) {
            (Some((c, at)), _) if c != inf => {
                Err(Fail::new(at, format_args!("expected {family}{count} to equal the +Inf bucket ({inf}), found {c}")))
            }
            (None, Some(at)) => Err(Fail::new(at, format_args!("expected {family}{count} along with {family}{sum}"))),
            (Some((_, at)), None) => {
                Err(Fail::new(at, format_args!("expected {family}{sum} along with {family}{count}")))
            }
            (_, Some(at)) if kind == MetricType::Histogram && self.negative_bucket => Err(Fail::new(
                at,
                format_args!("expected no {family}_sum: a histogram with negative bucket bounds has no sum"),
            )),
            (_, Some(at)) if self.negative_gsum && !self.negative_bucket => Err(Fail::new(
                at,
                format_args!("expected a non-negative {family}_gsum, as no bucket bound is negative"),
            )),
            _ => Ok(()),
        }
    }
}
