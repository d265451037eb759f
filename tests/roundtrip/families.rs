//! Metric families drawn from a byte string, and the round trip they must
//! survive: encoded in the Prometheus text format or OpenMetrics, then
//! parsed, they come back as the same families. Shared by the `proptest`
//! round trip (`tests/roundtrip.rs`) and the `roundtrip` fuzz target
//! (`fuzz/`), so a case either one finds replays in the other.
#![allow(dead_code)]

use promdecl::encode::{try_encode, EscapingScheme, Format, MetricEncoder, Number};
use promdecl::model::FamilySample;
use promdecl::{
    parse_openmetrics, parse_text, Collector, CounterFamily, GaugeFamily, GaugeHistogramFamily, HistogramFamily,
    InfoFamily, MetricFamily, MetricType, StateSetFamily, SummaryFamily, UnknownFamily,
};

/// Reads choices from bytes; once they run out, every choice is the first.
pub struct Source<'a> {
    data: &'a [u8],
}

impl<'a> Source<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Source { data }
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        let v = u16::from_le_bytes([self.byte(), self.byte()]) as usize;
        v % n.max(1)
    }

    fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }

    /// Any float, special ones often.
    fn float(&mut self) -> f64 {
        match self.below(8) {
            0 => self.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, f64::MIN_POSITIVE, f64::MAX]),
            1 => self.below(1000) as f64,
            2 => self.below(1000) as f64 / 8.0,
            _ => f64::from_bits(self.u64()),
        }
    }

    /// A float that is not NaN and not negative.
    fn non_negative(&mut self) -> f64 {
        let v = self.float().abs();
        if v.is_nan() {
            0.5
        } else {
            v
        }
    }

    /// A string of up to `max` characters from `alphabet`, or of any
    /// characters when `alphabet` is empty.
    fn string(&mut self, max: usize, alphabet: &[char]) -> String {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| {
                if alphabet.is_empty() {
                    match self.below(4) {
                        0 => self.pick(&['\\', '"', '\n', '\r', '\t', ' ', '#', '{', '}', '=', ',', '\u{0}']),
                        1 => char::from_u32(u32::from(self.byte()) | (u32::from(self.byte()) << 8)).unwrap_or('é'),
                        _ => char::from(self.byte() % 95 + 32),
                    }
                } else {
                    self.pick(alphabet)
                }
            })
            .collect()
    }
}

const FIRST: &[char] = &['a', 'b', 'z', 'A', 'Q', '_'];
const REST: &[char] = &['a', 'b', 'z', 'A', 'Q', '_', '0', '7', '9'];
const UTF8: &[char] = &['a', '.', '-', ' ', 'é', '"', '\\', '\n', '{', '}', '😀', '_', '0'];

/// Which of a family's traits one format keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Text,
    OpenMetrics,
}

/// A round-trip case: the families, and the format to send them through.
#[derive(Debug)]
pub struct Case {
    pub families: Vec<MetricFamily>,
    pub format: Format,
    pub wire: Wire,
}

/// Draws a case from `data`.
pub fn case(data: &[u8]) -> Case {
    let mut src = Source::new(data);
    let wire = if src.bool() { Wire::OpenMetrics } else { Wire::Text };
    let utf8 = src.below(4) == 0;
    let base = if wire == Wire::OpenMetrics { Format::OPENMETRICS } else { Format::TEXT };
    let format = Format { escaping: if utf8 { EscapingScheme::AllowUtf8 } else { base.escaping }, ..base };
    let count = 1 + src.below(4);
    let families = (0..count).map(|i| family(&mut src, i, wire, utf8)).collect();
    Case { families, format, wire }
}

fn family(src: &mut Source<'_>, index: usize, wire: Wire, utf8: bool) -> MetricFamily {
    // Every name ends with `_f<index>`: no family takes another's sample
    // names (`x_bucket` of histogram `x`).
    let stem =
        if utf8 && src.bool() { src.string(8, UTF8) } else { format!("{}{}", src.pick(FIRST), src.string(8, REST)) };
    let name = format!("{stem}_f{index}");
    let help = src.string(24, &[]);
    let help = match wire {
        // The text format has no escape for a leading blank or a last
        // carriage return: its readers drop both.
        Wire::Text => help.trim_start_matches([' ', '\t']).trim_end_matches('\r').to_owned(),
        Wire::OpenMetrics => help,
    };
    let label_count = src.below(4);
    let mut label_names: Vec<String> = Vec::new();
    while label_names.len() < label_count {
        let n = if utf8 && src.bool() {
            src.string(6, UTF8)
        } else {
            format!("{}{}", src.pick(&['a', 'b', 'Z', '_']), src.string(4, REST))
        };
        let reserved = n.is_empty() || n.starts_with("__") || n == "le" || n == "quantile";
        if reserved || label_names.contains(&n) {
            label_names.push(format!("l{}", label_names.len()));
        } else {
            label_names.push(n);
        }
    }
    let names: Vec<&str> = label_names.iter().map(String::as_str).collect();
    let kinds: &[MetricType] = match wire {
        Wire::Text => {
            &[MetricType::Gauge, MetricType::Counter, MetricType::Unknown, MetricType::Histogram, MetricType::Summary]
        }
        Wire::OpenMetrics => &[
            MetricType::Gauge,
            MetricType::Counter,
            MetricType::Unknown,
            MetricType::Histogram,
            MetricType::Summary,
            MetricType::GaugeHistogram,
            MetricType::Info,
            MetricType::StateSet,
        ],
    };
    let kind = src.pick(kinds);
    let unit =
        if wire == Wire::OpenMetrics && !matches!(kind, MetricType::Info | MetricType::StateSet) && src.below(4) == 0 {
            src.pick(&["seconds", "bytes", "ratio"])
        } else {
            ""
        };
    // Series: distinct label values.
    let mut series: Vec<Vec<String>> = Vec::new();
    for _ in 0..src.below(4) {
        let values: Vec<String> = names.iter().map(|_| src.string(12, &[])).collect();
        if !series.contains(&values) {
            series.push(values);
        }
    }
    let mut out: MetricFamily = match kind {
        MetricType::Counter => {
            let mut f = CounterFamily::new(&name, &help, &names);
            for values in &series {
                let ts = timestamp(src);
                f.add_metric(&refs(values), src.non_negative(), None, ts);
            }
            f.unit(unit).into()
        }
        MetricType::Gauge => {
            let mut f = GaugeFamily::new(&name, &help, &names);
            for values in &series {
                let ts = timestamp(src);
                f.add_metric(&refs(values), src.float(), ts);
            }
            f.unit(unit).into()
        }
        MetricType::Unknown => {
            let mut f = UnknownFamily::new(&name, &help, &names);
            for values in &series {
                let ts = timestamp(src);
                f.add_metric(&refs(values), src.float(), ts);
            }
            f.unit(unit).into()
        }
        MetricType::Histogram | MetricType::GaugeHistogram => {
            let mut h = HistogramFamily::new(&name, &help, &names);
            let mut g = GaugeHistogramFamily::new(&name, &help, &names);
            for values in &series {
                let ts = timestamp(src);
                let mut buckets = Vec::new();
                let (mut bound, mut count) = (src.float().abs().min(1e300) * if src.bool() { 1.0 } else { 0.0 }, 0u64);
                if bound.is_nan() {
                    bound = 0.0;
                }
                for _ in 0..src.below(4) {
                    count += src.below(1000) as u64;
                    buckets.push((bound, count));
                    bound = bound * 2.0 + 0.25;
                }
                count += src.below(1000) as u64;
                buckets.push((f64::INFINITY, count));
                let sum = src.non_negative();
                if kind == MetricType::Histogram {
                    h.add_metric(&refs(values), &buckets, Some(sum), ts);
                } else {
                    g.add_metric(&refs(values), &buckets, sum, ts);
                }
            }
            if kind == MetricType::Histogram {
                h.unit(unit).into()
            } else {
                g.unit(unit).into()
            }
        }
        MetricType::Summary => {
            let mut f = SummaryFamily::new(&name, &help, &names);
            for values in &series {
                let ts = timestamp(src);
                f.add_metric(&refs(values), src.below(1 << 15) as u64, src.non_negative(), ts);
            }
            f.unit(unit).into()
        }
        MetricType::Info => {
            let mut f = InfoFamily::new(&name, &help, &names);
            for values in &series {
                let ts = timestamp(src);
                f.add_metric(&refs(values), &[("version", "1.2")], ts);
            }
            f.into()
        }
        MetricType::StateSet => {
            let mut f = StateSetFamily::new(&name, &help, &names);
            for values in &series {
                let ts = timestamp(src);
                let on = src.bool();
                f.add_metric(&refs(values), &[("on", on), ("off", !on)], ts);
            }
            f.into()
        }
    };
    if wire == Wire::Text {
        out.unit.clear();
    }
    out
}

/// No timestamp, or a whole number of milliseconds (what the text format
/// carries), in seconds.
fn timestamp(src: &mut Source<'_>) -> Option<f64> {
    src.bool().then(|| (src.u64() as i64 >> 20) as f64 / 1000.0)
}

fn refs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

/// Encodes the case's families, parses them back and compares; the
/// difference, if any, with the text that was sent.
pub fn round_trip(case: &Case) -> Result<(), String> {
    let mut buf = Vec::new();
    try_encode(&All(&case.families), case.format, &mut buf).map_err(|e| format!("encoding failed: {e}"))?;
    let text = String::from_utf8(buf).map_err(|e| format!("not UTF-8: {e}"))?;
    let parsed = match case.wire {
        Wire::Text => parse_text(&text),
        Wire::OpenMetrics => parse_openmetrics(&text),
    }
    .map_err(|e| format!("{e}\n--- sent:\n{text}"))?;
    if parsed.len() != case.families.len() {
        return Err(format!("{} families came back, {} sent\n--- sent:\n{text}", parsed.len(), case.families.len()));
    }
    for (want, got) in case.families.iter().zip(&parsed) {
        if let Some(diff) = differ(want, got) {
            return Err(format!("{diff}\n--- want:\n{want:#?}\n--- got:\n{got:#?}\n--- sent:\n{text}"));
        }
    }
    Ok(())
}

/// Several families as one collector.
pub struct All<'a>(pub &'a [MetricFamily]);

impl Collector for All<'_> {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        self.0.iter().for_each(|f| f.encode(enc));
    }
}

/// How two families differ (NaN equal to NaN).
fn differ(a: &MetricFamily, b: &MetricFamily) -> Option<String> {
    if (&a.name, &a.help, &a.unit, a.kind) != (&b.name, &b.help, &b.unit, b.kind) {
        return Some(format!(
            "family {:?} {:?} {:?} {:?} came back as {:?} {:?} {:?} {:?}",
            a.name, a.help, a.unit, a.kind, b.name, b.help, b.unit, b.kind
        ));
    }
    if a.samples.len() != b.samples.len() {
        return Some(format!("{} samples came back, {} sent", b.samples.len(), a.samples.len()));
    }
    for (x, y) in a.samples.iter().zip(&b.samples) {
        let same = x.suffix == y.suffix
            && x.labels == y.labels
            && same_number(x.value, y.value)
            && x.timestamp.map(f64::to_bits) == y.timestamp.map(f64::to_bits)
            && x.exemplar == y.exemplar;
        if !same {
            return Some(format!("sample {x:?} came back as {y:?}"));
        }
    }
    None
}

fn same_number(a: Number, b: Number) -> bool {
    match (a, b) {
        (Number::Float(x), Number::Float(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// A sample, for tests that build families by hand.
pub fn sample(suffix: &str, labels: &[(&str, &str)], value: Number) -> FamilySample {
    FamilySample {
        suffix: suffix.to_owned(),
        labels: labels.iter().map(|&(n, v)| (n.to_owned(), v.to_owned())).collect(),
        value,
        timestamp: None,
        exemplar: None,
    }
}
