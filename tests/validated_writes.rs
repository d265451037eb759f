//! What a custom collector hands the text encoders is checked, never
//! written raw: a sample suffix, an `le` or `quantile` value, a `# UNIT`
//! that would break the line (or forge another) is refused with a
//! `CollectError`, the rest of the exposition still parses, and the sample
//! line is decided by the suffix's content, not by where it is in memory.

use promdecl::encode::{try_encode, CollectError, Descriptor, Extra, Format, MetricEncoder, Number, Sample};
use promdecl::model::FamilySample;
use promdecl::{parse_openmetrics, parse_text, Collector, MetricFamily, MetricType};

const FORMATS: [Format; 2] = [Format::TEXT, Format::OPENMETRICS];

/// Encodes `c`; the text and the failure, if any.
fn encode(c: &dyn Collector, format: Format) -> (String, Option<CollectError>) {
    let mut buf = Vec::new();
    let err = try_encode(c, format, &mut buf).err();
    (String::from_utf8(buf).unwrap(), err)
}

fn parses(text: &str, format: Format) {
    if format == Format::OPENMETRICS {
        parse_openmetrics(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    } else {
        parse_text(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    }
}

/// A gauge-like family `g` whose one sample has this suffix and extra label.
struct OneSample {
    kind: MetricType,
    unit: &'static str,
    suffix: &'static str,
    extra: Option<Extra<'static>>,
}

impl Collector for OneSample {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        let name = if self.unit.is_empty() { "g".to_owned() } else { format!("g_{}", self.unit) };
        enc.family(&Descriptor { name: &name, help: "G.", unit: self.unit, kind: self.kind });
        enc.series(&[("a", "1")].as_slice());
        enc.sample(&Sample { extra: self.extra, ..Sample::new(self.suffix, Number::Int(7)) });
        enc.sample(&Sample::new("", Number::Int(8)));
    }
}

#[test]
fn suffixes_that_break_the_line_are_refused() {
    for format in FORMATS {
        for suffix in ["_x\nforged 1", "_x{b=\"2\"}", "_x 9", "\"", "_é"] {
            let c = OneSample { kind: MetricType::Gauge, unit: "", suffix, extra: None };
            let (text, err) = encode(&c, format);
            let err = err.unwrap_or_else(|| panic!("{suffix:?} accepted:\n{text}"));
            assert!(err.to_string().contains("suffix"), "{err}");
            assert!(!text.contains("forged") && !text.contains(" 7"), "{text}");
            assert!(text.contains("g{a=\"1\"} 8\n"), "{text}");
            parses(&text, format);
        }
    }
}

#[test]
fn le_and_quantile_values_must_be_numbers() {
    for format in FORMATS {
        for (kind, suffix, extra) in [
            (MetricType::Histogram, "_bucket", Extra::Le("1\"} 9\nforged_bucket{le=\"+Inf")),
            (MetricType::Histogram, "_bucket", Extra::Le("")),
            (MetricType::Summary, "", Extra::Quantile("0.5\",b=\"x")),
            (MetricType::Summary, "", Extra::Quantile("half")),
        ] {
            let c = OneSample { kind, unit: "", suffix, extra: Some(extra) };
            let (text, err) = encode(&c, format);
            let err = err.unwrap_or_else(|| panic!("{extra:?} accepted:\n{text}"));
            assert!(err.to_string().contains("not a number"), "{err}");
            assert!(!text.contains("forged") && !text.contains(" 7\n"), "{text}");
        }
        for (kind, suffix, extra) in [
            (MetricType::Histogram, "_bucket", Extra::Le("+Inf")),
            (MetricType::Histogram, "_bucket", Extra::Le("0.25")),
            (MetricType::Summary, "", Extra::Quantile("1e-3")),
        ] {
            let c = OneSample { kind, unit: "", suffix, extra: Some(extra) };
            assert_eq!(encode(&c, format).1, None, "{extra:?}");
        }
    }
}

#[test]
fn a_unit_that_breaks_the_line_or_is_not_the_name_suffix_is_refused() {
    for unit in ["sec\nforged 1", "s e", "seconds"] {
        let c = OneSample { kind: MetricType::Gauge, unit, suffix: "", extra: None };
        // The family name ends with the unit; make one that does not.
        let c = Renamed(c, if unit == "seconds" { "g_bytes" } else { "" });
        let (text, err) = encode(&c, Format::OPENMETRICS);
        let err = err.unwrap_or_else(|| panic!("{unit:?} accepted:\n{text}"));
        assert!(err.to_string().contains("unit"), "{err}");
        assert!(!text.contains("# UNIT") && !text.contains("\nforged"), "{text}");
        parses(&text, Format::OPENMETRICS);
    }
    let c = OneSample { kind: MetricType::Gauge, unit: "seconds", suffix: "", extra: None };
    let (text, err) = encode(&c, Format::OPENMETRICS);
    assert_eq!(err, None);
    assert!(text.contains("# UNIT g_seconds seconds\n"), "{text}");
}

/// `OneSample` under another family name (when the name is not empty).
struct Renamed(OneSample, &'static str);

impl Collector for Renamed {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        if self.1.is_empty() {
            return self.0.collect(enc);
        }
        enc.family(&Descriptor { name: self.1, help: "G.", unit: self.0.unit, kind: self.0.kind });
        enc.series(&[("a", "1")].as_slice());
        enc.sample(&Sample::new("", Number::Int(8)));
    }
}

fn sample(suffix: &str, labels: &[(&str, &str)], value: u64) -> FamilySample {
    FamilySample {
        suffix: suffix.to_owned(),
        labels: labels.iter().map(|&(n, v)| (n.to_owned(), v.to_owned())).collect(),
        value: Number::Int(value),
        timestamp: None,
        exemplar: None,
    }
}

#[test]
fn family_le_and_quantile_labels_must_be_numbers() {
    for format in FORMATS {
        let mut h = MetricFamily::new("h", "H.", MetricType::Histogram);
        h.samples.push(sample("_bucket", &[("le", "0.5")], 1));
        h.samples.push(sample("_bucket", &[("le", "lots")], 2));
        h.samples.push(sample("_bucket", &[], 2));
        h.samples.push(sample("_bucket", &[("le", "+Inf")], 3));
        h.samples.push(sample("_count", &[], 3));
        h.samples.push(sample("_sum", &[], 3));
        let (text, err) = encode(&h, format);
        assert!(err.unwrap().to_string().contains("h_bucket: the le value \"lots\" is not a number"));
        assert!(!text.contains("lots") && !text.contains(" 2\n"), "{text}");
        parses(&text, format);

        let mut s = MetricFamily::new("s", "S.", MetricType::Summary);
        s.samples.push(sample("", &[("quantile", "p99")], 1));
        s.samples.push(sample("_count", &[], 3));
        s.samples.push(sample("_sum", &[], 3));
        let (text, err) = encode(&s, format);
        assert!(err.unwrap().to_string().contains("the quantile value \"p99\""));
        assert!(!text.contains("p99"), "{text}");
    }
}

/// Writes each suffix from one reused buffer: same address, same length,
/// other content.
struct ReusedSuffix;

impl Collector for ReusedSuffix {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        enc.family(&Descriptor { name: "r", help: "", unit: "", kind: MetricType::Unknown });
        enc.series(&[("a", "1")].as_slice());
        let mut suffix = String::with_capacity(16);
        for (i, s) in ["_one", "_two", "_six"].into_iter().enumerate() {
            suffix.clear();
            suffix.push_str(s);
            enc.sample(&Sample::new(&suffix, Number::Int(i as u64)));
        }
    }
}

#[test]
fn a_suffix_is_compared_by_content_not_address() {
    for format in FORMATS {
        let (text, err) = encode(&ReusedSuffix, format);
        assert_eq!(err, None);
        assert!(text.contains("r_one{a=\"1\"} 0\nr_two{a=\"1\"} 1\nr_six{a=\"1\"} 2\n"), "{text}");
    }
}
