//! The OpenMetrics 1.0 text format, validated strictly.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use memchr::memchr;

use super::cursor::{unescape_help, Cursor};
use super::error::{line_of, Fail, ParseError};
use super::labels::{parse_labels, Dialect, Label, ParsedLabels};
use super::number::{expected_number, parse_number, parse_real};
use super::rules::{check_sample, point_label, reserved_suffixes, sample_suffixes, Checked, Point};
use crate::encode::{Exemplar, Number};
use crate::model::FamilySample;
use crate::{MetricFamily, MetricType};

/// The longest an exemplar's label set may be, in characters of its names
/// and values together.
const EXEMPLAR_LABELS_MAX: usize = 128;

const TYPES: [MetricType; 8] = [
    MetricType::Counter,
    MetricType::Gauge,
    MetricType::Histogram,
    MetricType::GaugeHistogram,
    MetricType::Summary,
    MetricType::Info,
    MetricType::StateSet,
    MetricType::Unknown,
];

/// Parses an OpenMetrics 1.0 text exposition, checking everything the
/// specification requires: the syntax of every line; metadata before
/// samples and at most once; families and the series within them kept
/// together; the suffixes, labels and values each type allows (bucket
/// bounds sorted with a `+Inf` bucket, cumulative counts matching `_count`,
/// non-negative counters, info values of 1, stateset values of 0 or 1, ...);
/// exemplars only on counter totals and histogram buckets; `# UNIT`
/// matching the name; and `# EOF` as the last line.
///
/// Families come back in exposition order, named as OpenMetrics names them
/// (a counter without `_total`), their samples in order with the rest of
/// each name as [`FamilySample::suffix`](crate::model::FamilySample). Whole
/// non-negative numbers stay [`Number::Int`](crate::encode::Number), so
/// that encoding the families again writes the same text.
///
/// ```
/// use promdecl_runtime::{encode::Number, parse_openmetrics, MetricType};
///
/// let families = parse_openmetrics(
///     "# TYPE jobs counter\n# HELP jobs Jobs run.\njobs_total{queue=\"a\"} 3 # {trace_id=\"x1\"} 1.0\n# EOF\n",
/// )
/// .unwrap();
/// let jobs = &families[0];
/// assert_eq!((jobs.name.as_str(), jobs.kind, jobs.help.as_str()), ("jobs", MetricType::Counter, "Jobs run."));
/// assert_eq!(jobs.samples[0].suffix, "_total");
/// assert_eq!(jobs.samples[0].labels, [("queue".to_owned(), "a".to_owned())]);
/// assert_eq!(jobs.samples[0].value, Number::Int(3));
/// assert_eq!(jobs.samples[0].exemplar.as_ref().unwrap().value, 1.0);
///
/// let err = parse_openmetrics("# TYPE jobs counter\njobs_total 3\n").unwrap_err();
/// assert_eq!(err.to_string(), "3:1: expected `# EOF` as the last line");
/// ```
pub fn parse_openmetrics(text: &str) -> Result<Vec<MetricFamily>, ParseError> {
    Parser::new(text).run().map_err(|f| f.into_error(text))
}

/// One parsed sample line.
struct SampleLine<'a> {
    name: Cow<'a, str>,
    labels: Vec<Label>,
    labels_at: usize,
    value: Number,
    value_text: &'a str,
    value_at: usize,
    timestamp: Option<f64>,
    /// Where the timestamp is, or would be.
    timestamp_at: usize,
    exemplar: Option<Exemplar>,
    exemplar_at: usize,
}

/// A timestamp: a real number of seconds, finite.
fn timestamp(cur: &mut Cursor<'_>, what: &str) -> Result<f64, Fail> {
    let at = cur.pos;
    let token = cur.take_while(|b| b != b' ');
    parse_real(token).filter(|t| t.is_finite()).ok_or_else(|| {
        Fail::new(at, format_args!("expected {what} in seconds (such as 1700000000.5), found {token:?}"))
    })
}

fn parse_sample_line(text: &str, start: usize, end: usize) -> Result<SampleLine<'_>, Fail> {
    let mut cur = Cursor::new(text, start, end);
    let (name, set, labels_at) = if cur.peek() == Some(b'{') {
        let mut set = parse_labels(&mut cur, Dialect::Strict, true)?;
        let Some((_, name)) = set.name.take() else {
            return Err(Fail::new(start, "expected a metric name before '{' or quoted inside it"));
        };
        (Cow::Owned(name), set, start)
    } else {
        let name = cur.sample_name()?;
        let labels_at = cur.pos;
        let set = if cur.peek() == Some(b'{') {
            parse_labels(&mut cur, Dialect::Strict, false)?
        } else {
            ParsedLabels::default()
        };
        (Cow::Borrowed(name), set, labels_at)
    };
    if !cur.eat(b' ') {
        let what = if cur.pos == labels_at { "'{' or ' ' after the metric name" } else { "' ' after the labels" };
        return Err(cur.expected(what));
    }
    let value_at = cur.pos;
    let value_text = cur.take_while(|b| b != b' ');
    let value = parse_number(value_text).ok_or_else(|| Fail::new(value_at, expected_number("a value", value_text)))?;
    let mut line = SampleLine {
        name,
        labels: set.labels,
        labels_at,
        value,
        value_text,
        value_at,
        timestamp: None,
        timestamp_at: cur.pos,
        exemplar: None,
        exemplar_at: 0,
    };
    if !cur.eat(b' ') {
        return Ok(line);
    }
    if cur.peek() != Some(b'#') {
        line.timestamp_at = cur.pos;
        line.timestamp = Some(timestamp(&mut cur, "a timestamp")?);
        if !cur.eat(b' ') {
            return Ok(line);
        }
        if cur.peek() != Some(b'#') {
            return Err(cur.expected("'#' to start an exemplar"));
        }
    }
    line.exemplar_at = cur.pos;
    cur.eat(b'#');
    cur.expect(b' ', "' ' after the '#' of an exemplar")?;
    if cur.peek() != Some(b'{') {
        return Err(cur.expected("'{' to open the exemplar's labels"));
    }
    let labels_at = cur.pos;
    let labels = parse_labels(&mut cur, Dialect::Strict, false)?.labels;
    let length: usize = labels.iter().map(|l| l.name.chars().count() + l.value.chars().count()).sum();
    if length > EXEMPLAR_LABELS_MAX {
        return Err(Fail::new(
            labels_at,
            format_args!("expected exemplar labels of at most {EXEMPLAR_LABELS_MAX} characters, found {length}"),
        ));
    }
    cur.expect(b' ', "' ' and the exemplar value after its labels")?;
    let at = cur.pos;
    let token = cur.take_while(|b| b != b' ');
    let value = parse_number(token).ok_or_else(|| Fail::new(at, expected_number("an exemplar value", token)))?.as_f64();
    let timestamp = if cur.eat(b' ') { Some(timestamp(&mut cur, "an exemplar timestamp")?) } else { None };
    if !cur.at_end() {
        return Err(cur.expected("the end of the line after the exemplar"));
    }
    line.exemplar =
        Some(Exemplar { labels: labels.into_iter().map(|l| (l.name, l.value)).collect(), value, timestamp });
    Ok(line)
}

/// The family being read.
struct Open {
    family: MetricFamily,
    /// Where its first line starts.
    start: usize,
    help_at: Option<usize>,
    type_at: Option<usize>,
    unit_at: Option<usize>,
    /// The series of the last sample (labels sorted, without `le`,
    /// `quantile` or the state).
    series: Option<Vec<(String, String)>>,
    /// The last sample's timestamp.
    timestamp: Option<f64>,
    seen: HashSet<Vec<(String, String)>>,
    point: Option<Point>,
}

impl Open {
    fn new(name: String, start: usize) -> Self {
        Open {
            family: MetricFamily::new(&name, "", MetricType::Unknown),
            start,
            help_at: None,
            type_at: None,
            unit_at: None,
            series: None,
            timestamp: None,
            seen: HashSet::new(),
            point: None,
        }
    }

    /// The suffix of `name` if it is a sample name of this family.
    fn suffix_of(&self, name: &str) -> Option<&'static str> {
        let rest = name.strip_prefix(self.family.name.as_str())?;
        sample_suffixes(self.family.kind).iter().copied().find(|&s| s == rest)
    }

    /// Info and stateset families have no unit.
    fn check_unit(&self, at: usize) -> Result<(), Fail> {
        let f = &self.family;
        if !f.unit.is_empty() && matches!(f.kind, MetricType::Info | MetricType::StateSet) {
            return Err(Fail::new(at, format_args!("expected no unit on {} {}", f.kind.as_str(), f.name)));
        }
        Ok(())
    }
}

/// The families read so far, and the series names they took.
#[derive(Default)]
struct Finished {
    families: Vec<MetricFamily>,
    /// Where each family started.
    starts: Vec<usize>,
    /// Every series name a family took, with that family's index.
    reserved: HashMap<String, usize>,
}

impl Finished {
    /// Fails if a finished family took `series`.
    fn check_free(&self, text: &str, series: &str, at: usize) -> Result<(), Fail> {
        let Some(&i) = self.reserved.get(series) else { return Ok(()) };
        let (family, line) = (&self.families[i], line_of(text, self.starts[i]));
        Err(Fail::new(
            at,
            format_args!(
                "expected a new metric family, found {series}, which belongs to the {} family {} of line {line} \
                 (a family's lines must be together, and no two families may share a name)",
                family.kind.as_str(),
                family.name
            ),
        ))
    }

    /// Checks the family's last MetricPoint and adds it.
    fn push(&mut self, open: Open) -> Result<(), Fail> {
        if let Some(point) = open.point {
            point.finish(open.family.kind, &open.family.name)?;
        }
        let index = self.families.len();
        for suffix in reserved_suffixes(open.family.kind) {
            self.reserved.insert(format!("{}{suffix}", open.family.name), index);
        }
        self.families.push(open.family);
        self.starts.push(open.start);
        Ok(())
    }
}

struct Parser<'t> {
    text: &'t str,
    done: Finished,
    open: Option<Open>,
    eof: bool,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Self {
        Parser { text, done: Finished::default(), open: None, eof: false }
    }

    fn run(mut self) -> Result<Vec<MetricFamily>, Fail> {
        let bytes = self.text.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let end = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            if self.eof {
                return Err(Fail::new(start, "expected nothing after `# EOF`"));
            }
            if start == end {
                return Err(Fail::new(start, "expected a sample or a `#` line: OpenMetrics has no blank lines"));
            }
            if bytes[start] == b'#' {
                self.descriptor(start, end)?;
            } else {
                self.sample(start, end)?;
            }
            start = end + 1;
        }
        if !self.eof {
            return Err(Fail::new(bytes.len(), "expected `# EOF` as the last line"));
        }
        if let Some(open) = self.open.take() {
            self.done.push(open)?;
        }
        Ok(self.done.families)
    }

    /// Starts the family `name` (an unknown one until a `# TYPE` says
    /// otherwise), finishing the open one.
    fn begin(&mut self, previous: Option<Open>, name: &str, name_at: usize, start: usize) -> Result<Open, Fail> {
        if let Some(open) = previous {
            self.done.push(open)?;
        }
        self.done.check_free(self.text, name, name_at)?;
        Ok(Open::new(name.to_owned(), start))
    }

    /// A `# HELP`, `# TYPE`, `# UNIT` or `# EOF` line.
    fn descriptor(&mut self, start: usize, end: usize) -> Result<(), Fail> {
        let text = self.text;
        let mut cur = Cursor::new(text, start, end);
        if cur.rest() == "# EOF" {
            self.eof = true;
            return Ok(());
        }
        cur.eat(b'#');
        cur.expect(b' ', "' ' after '#' (then HELP, TYPE, UNIT or EOF)")?;
        let keyword_at = cur.pos;
        let keyword = cur.take_while(|b| b != b' ');
        if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
            return Err(Fail::new(
                keyword_at,
                format_args!("expected HELP, TYPE, UNIT or EOF after '# ', found {keyword:?}"),
            ));
        }
        cur.expect(b' ', &format!("' ' and a metric name after # {keyword}"))?;
        let name_at = cur.pos;
        let name = cur.metric_name()?;
        let what = match keyword {
            "HELP" => "the help text",
            "TYPE" => "the type",
            _ => "the unit",
        };
        cur.expect(b' ', &format!("' ' and {what} after the metric name"))?;
        let value_at = cur.pos;
        let value = cur.rest();

        let open = match self.open.take() {
            Some(open) if open.family.name == name => open,
            other => self.begin(other, &name, name_at, start)?,
        };
        let open = self.open.insert(open);
        let name = open.family.name.as_str();
        if !open.family.samples.is_empty() {
            return Err(Fail::new(start, format_args!("expected # {keyword} for {name} before its samples")));
        }
        let seen = match keyword {
            "HELP" => &mut open.help_at,
            "TYPE" => &mut open.type_at,
            _ => &mut open.unit_at,
        };
        if let Some(first) = seen.replace(start) {
            return Err(Fail::new(
                start,
                format_args!(
                    "expected one # {keyword} line for {name}, found a second (the first is on line {})",
                    line_of(text, first)
                ),
            ));
        }
        match keyword {
            "HELP" => open.family.help = unescape_help(value, true).into_owned(),
            "TYPE" => {
                let Some(kind) = TYPES.into_iter().find(|t| t.as_str() == value) else {
                    let hint = if value == "untyped" { " (OpenMetrics calls untyped metrics unknown)" } else { "" };
                    return Err(Fail::new(
                        value_at,
                        format_args!(
                            "expected a type (counter, gauge, histogram, gaugehistogram, summary, info, stateset or \
                             unknown), found {value:?}{hint}"
                        ),
                    ));
                };
                open.family.kind = kind;
                open.check_unit(value_at)?;
                for suffix in reserved_suffixes(kind) {
                    self.done.check_free(text, &format!("{}{suffix}", open.family.name), name_at)?;
                }
            }
            _ => {
                if let Some(i) = value.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
                    cur.pos = value_at + i;
                    return Err(cur.expected("only letters, digits, '_' and ':' in the unit"));
                }
                if !value.is_empty() && !name.strip_suffix(value).is_some_and(|n| n.ends_with('_')) {
                    return Err(Fail::new(
                        value_at,
                        format_args!("expected a metric name ending in _{value} for the unit {value}, found {name}"),
                    ));
                }
                open.family.unit = value.to_owned();
                open.check_unit(value_at)?;
            }
        }
        Ok(())
    }

    /// A sample line.
    fn sample(&mut self, start: usize, end: usize) -> Result<(), Fail> {
        let s = parse_sample_line(self.text, start, end)?;
        let (open, suffix) = match self.open.take() {
            Some(open) => match open.suffix_of(&s.name) {
                Some(suffix) => (open, suffix),
                // Not a sample of the open family: it starts an unknown one.
                None => (self.begin(Some(open), &s.name, start, start)?, ""),
            },
            None => (self.begin(None, &s.name, start, start)?, ""),
        };
        let open = self.open.insert(open);
        let kind = open.family.kind;
        let checked = Checked {
            series: &s.name,
            labels: &s.labels,
            labels_at: s.labels_at,
            value: s.value,
            value_text: s.value_text,
            value_at: s.value_at,
            exemplar_at: s.exemplar.as_ref().map(|_| s.exemplar_at),
        };
        let bound = check_sample(kind, &open.family.name, suffix, &checked)?;

        // Series and MetricPoints: a series' samples are together, with
        // timestamps on all or none, not going back.
        let skip = point_label(kind, &open.family.name, suffix);
        let mut series: Vec<(&str, &str)> =
            s.labels.iter().filter(|l| Some(l.name.as_str()) != skip).map(|l| (&*l.name, &*l.value)).collect();
        series.sort_unstable();
        let same = open
            .series
            .as_ref()
            .is_some_and(|g| g.len() == series.len() && g.iter().zip(&series).all(|(a, b)| a.0 == b.0 && a.1 == b.1));
        if same {
            match (open.timestamp, s.timestamp) {
                (Some(_), None) | (None, Some(_)) => {
                    return Err(Fail::new(
                        s.timestamp_at,
                        "expected a timestamp on every sample of the series or on none",
                    ));
                }
                (Some(prev), Some(t)) if t < prev => {
                    return Err(Fail::new(
                        s.timestamp_at,
                        format_args!("expected timestamps in increasing order within a series, found {t} after {prev}"),
                    ));
                }
                _ => {}
            }
        } else {
            let owned: Vec<(String, String)> = series.iter().map(|&(n, v)| (n.to_owned(), v.to_owned())).collect();
            if open.seen.contains(&owned) {
                return Err(Fail::new(
                    start,
                    format_args!(
                        "expected the samples of each series of {} together, found {} again after other series",
                        open.family.name,
                        describe(&owned)
                    ),
                ));
            }
            open.seen.insert(owned.clone());
            open.series = Some(owned);
        }
        if !same || open.timestamp != s.timestamp {
            if let Some(point) = open.point.take() {
                point.finish(kind, &open.family.name)?;
            }
            open.point = Some(Point::new(start));
        }
        if let Some(point) = open.point.as_mut() {
            point.add(suffix, bound, &checked)?;
        }
        open.timestamp = s.timestamp;
        open.family.samples.push(FamilySample {
            suffix: suffix.to_owned(),
            labels: s.labels.into_iter().map(|l| (l.name, l.value)).collect(),
            value: s.value,
            timestamp: s.timestamp,
            exemplar: s.exemplar,
        });
        Ok(())
    }
}

/// `{a="1",b="2"}`, for messages.
fn describe(labels: &[(String, String)]) -> String {
    let inner: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}
