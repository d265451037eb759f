//! The Prometheus text format 0.0.4, read as leniently as Go's `expfmt`.

use std::borrow::Cow;
use std::collections::HashMap;

use memchr::memchr;

use super::cursor::{unescape_help, Cursor};
use super::error::{line_of, Fail, ParseError};
use super::labels::{parse_labels, Dialect, ParsedLabels};
use super::number::{expected_number, parse_number, parse_real};
use crate::model::FamilySample;
use crate::{MetricFamily, MetricType};

/// Parses the Prometheus text format (version 0.0.4, and the quoted UTF-8
/// names of 1.0.0), as leniently as Go's `expfmt`: blank lines, comments,
/// blanks between tokens and a trailing comma in label sets are fine;
/// `# HELP` and `# TYPE` are optional, and samples without a `# TYPE` form
/// `untyped` ([`MetricType::Unknown`]) families. Timestamps are in
/// milliseconds and come back in seconds.
///
/// Families come back in the order they first appear, named the way
/// OpenMetrics names them so that the OpenMetrics encoder can write them
/// too: a counter `x_total` becomes the family `x` whose samples have the
/// suffix `_total` (a counter exposed without `_total` gets the suffix too,
/// as in the Python client); a histogram's and a summary's samples have
/// `_bucket`, `_count` and `_sum` suffixes. What this format cannot carry is
/// not there: no units, no `_created`, no exemplars.
///
/// ```
/// use promdecl_runtime::{encode::Number, parse_text, MetricType};
///
/// let text = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
///     http_requests_total{method=\"GET\"} 1027 1395066363000\n\nprocess_open_fds 12\n";
/// let families = parse_text(text).unwrap();
/// assert_eq!(families[0].name, "http_requests");
/// assert_eq!(families[0].kind, MetricType::Counter);
/// assert_eq!(families[0].samples[0].suffix, "_total");
/// assert_eq!(families[0].samples[0].value, Number::Int(1027));
/// assert_eq!(families[0].samples[0].timestamp, Some(1395066363.0));
/// assert_eq!((families[1].name.as_str(), families[1].kind), ("process_open_fds", MetricType::Unknown));
///
/// let err = parse_text("up{job=\"a\" 1\n").unwrap_err();
/// assert_eq!(err.to_string(), "1:12: expected ',' or '}' after the label, found '1'");
/// ```
pub fn parse_text(text: &str) -> Result<Vec<MetricFamily>, ParseError> {
    let mut parser = Parser { text, families: Vec::new(), index: HashMap::new() };
    parser.run().map_err(|f| f.into_error(text))?;
    Ok(parser.finish())
}

/// A family and what has been seen of it.
struct Entry {
    /// The name its lines use (a counter's with `_total`).
    key: String,
    family: MetricFamily,
    help_at: Option<usize>,
    type_at: Option<usize>,
}

struct Parser<'t> {
    text: &'t str,
    families: Vec<Entry>,
    /// Family index by key.
    index: HashMap<String, usize>,
}

impl Parser<'_> {
    fn run(&mut self) -> Result<(), Fail> {
        let bytes = self.text.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let newline = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let end = if newline > start && bytes[newline - 1] == b'\r' { newline - 1 } else { newline };
            let mut cur = Cursor::new(self.text, start, end);
            cur.skip_blanks();
            match cur.peek() {
                None => {}
                Some(b'#') => self.comment(cur)?,
                Some(_) => self.sample(cur)?,
            }
            start = newline + 1;
        }
        Ok(())
    }

    fn entry(&mut self, key: &str) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        self.families.push(Entry {
            key: key.to_owned(),
            family: MetricFamily::new(key, "", MetricType::Unknown),
            help_at: None,
            type_at: None,
        });
        self.index.insert(key.to_owned(), self.families.len() - 1);
        self.families.len() - 1
    }

    /// A `#` line: `# HELP` and `# TYPE` count, anything else is a comment.
    fn comment(&mut self, mut cur: Cursor<'_>) -> Result<(), Fail> {
        let start = cur.pos;
        cur.eat(b'#');
        cur.skip_blanks();
        let keyword = cur.take_while(|b| b != b' ' && b != b'\t');
        if !matches!(keyword, "HELP" | "TYPE") {
            return Ok(());
        }
        cur.skip_blanks();
        if cur.at_end() {
            return Ok(());
        }
        let name = cur.metric_name()?;
        let i = self.entry(&name);
        let text = self.text;
        let entry = &mut self.families[i];
        let seen = if keyword == "HELP" { &mut entry.help_at } else { &mut entry.type_at };
        if let Some(first) = seen.replace(start) {
            return Err(Fail::new(
                start,
                format_args!(
                    "expected one # {keyword} line for {name}, found a second (the first is on line {})",
                    line_of(text, first)
                ),
            ));
        }
        if !cur.at_end() && !cur.skip_blanks() {
            return Err(cur.expected("a blank after the metric name"));
        }
        if keyword == "HELP" {
            entry.family.help = unescape_help(cur.rest(), false).into_owned();
            return Ok(());
        }
        if !entry.family.samples.is_empty() {
            return Err(Fail::new(start, format_args!("expected # TYPE for {name} before its samples")));
        }
        let at = cur.pos;
        let word = cur.take_while(|b| b != b' ' && b != b'\t');
        cur.skip_blanks();
        let kind = match word.to_ascii_lowercase().as_str() {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "untyped" => MetricType::Unknown,
            _ => {
                return Err(Fail::new(
                    at,
                    format_args!("expected a type (counter, gauge, histogram, summary or untyped), found {word:?}"),
                ))
            }
        };
        if !cur.at_end() {
            return Err(cur.expected("the end of the line after the type"));
        }
        entry.family.kind = kind;
        Ok(())
    }

    /// Which family a sample of this name belongs to, and its suffix.
    fn resolve(&mut self, name: &str) -> Result<(usize, &'static str), Fail> {
        let suffix_of = |kind| match kind {
            MetricType::Counter => "_total",
            _ => "",
        };
        if let Some(&i) = self.index.get(name) {
            return Ok((i, suffix_of(self.families[i].family.kind)));
        }
        for (suffix, kinds) in [
            ("_bucket", &[MetricType::Histogram][..]),
            ("_count", &[MetricType::Histogram, MetricType::Summary]),
            ("_sum", &[MetricType::Histogram, MetricType::Summary]),
            ("_total", &[MetricType::Counter]),
        ] {
            let Some(base) = name.strip_suffix(suffix) else { continue };
            if let Some(&i) = self.index.get(base) {
                if kinds.contains(&self.families[i].family.kind) {
                    return Ok((i, suffix));
                }
            }
        }
        Ok((self.entry(name), ""))
    }

    fn sample(&mut self, mut cur: Cursor<'_>) -> Result<(), Fail> {
        let start = cur.pos;
        let (name, set, name_at) = if cur.peek() == Some(b'{') {
            let mut set = parse_labels(&mut cur, Dialect::Lenient, true)?;
            let Some((at, name)) = set.name.take() else {
                return Err(Fail::new(start, "expected a metric name before '{' or quoted inside it"));
            };
            (Cow::Owned(name), set, at)
        } else {
            let name = cur.sample_name()?;
            let blank = cur.skip_blanks();
            let set = if cur.peek() == Some(b'{') {
                parse_labels(&mut cur, Dialect::Lenient, false)?
            } else if !blank {
                return Err(cur.expected("'{' or a blank after the metric name"));
            } else {
                ParsedLabels::default()
            };
            (Cow::Borrowed(name), set, start)
        };
        cur.skip_blanks();
        let value_at = cur.pos;
        let token = cur.take_while(|b| b != b' ' && b != b'\t');
        let value = parse_number(token).ok_or_else(|| Fail::new(value_at, expected_number("a value", token)))?;
        cur.skip_blanks();
        let mut timestamp = None;
        if !cur.at_end() {
            let at = cur.pos;
            let token = cur.take_while(|b| b != b' ' && b != b'\t');
            let ms = parse_real(token).filter(|t| t.is_finite()).ok_or_else(|| {
                Fail::new(
                    at,
                    format_args!("expected a timestamp in milliseconds (such as 1700000000000), found {token:?}"),
                )
            })?;
            timestamp = Some(ms / 1000.0);
            cur.skip_blanks();
            if !cur.at_end() {
                return Err(cur.expected("the end of the line after the timestamp"));
            }
        }
        let (i, suffix) = self.resolve(&name)?;
        let family = &mut self.families[i].family;
        if family.kind == MetricType::Histogram && suffix.is_empty() {
            return Err(Fail::new(
                name_at,
                format_args!("expected {name}_bucket, {name}_count or {name}_sum: {name} is a histogram"),
            ));
        }
        let bound = match (family.kind, suffix) {
            (MetricType::Histogram, "_bucket") => Some("le"),
            (MetricType::Summary, "") => Some("quantile"),
            _ => None,
        };
        if let Some(label) = set.labels.iter().find(|l| Some(l.name.as_str()) == bound) {
            if parse_number(&label.value).is_none() {
                return Err(Fail::new(
                    label.value_at,
                    format_args!("expected a number as the {} label, found {:?}", label.name, label.value),
                ));
            }
        }
        family.samples.push(FamilySample {
            suffix: suffix.to_owned(),
            labels: set.labels.into_iter().map(|l| (l.name, l.value)).collect(),
            value,
            timestamp,
            exemplar: None,
        });
        Ok(())
    }

    /// The families, counters renamed the OpenMetrics way.
    fn finish(self) -> Vec<MetricFamily> {
        self.families
            .into_iter()
            .map(|mut e| {
                if e.family.kind == MetricType::Counter {
                    if let Some(base) = e.key.strip_suffix("_total") {
                        e.family.name = base.to_owned();
                    }
                }
                e.family
            })
            .collect()
    }
}
