//! Label sets: `{name="value",...}`, with the optional quoted metric name
//! of UTF-8 expositions (`{"my.metric",a="b"}`).

use std::borrow::Cow;
use std::collections::HashSet;

use super::cursor::Cursor;
use super::error::Fail;

/// One parsed label and where it was.
#[derive(Debug)]
pub(super) struct Label {
    pub(super) name: String,
    pub(super) value: String,
    /// Offset of the value's opening quote.
    pub(super) value_at: usize,
}

/// What a `{...}` held.
#[derive(Debug, Default)]
pub(super) struct ParsedLabels {
    /// The metric name given inside the braces, with its offset.
    pub(super) name: Option<(usize, String)>,
    pub(super) labels: Vec<Label>,
}

/// Up to this many labels, a new name is checked against the earlier ones
/// one by one; past it, through a set of the names, so a line with a
/// great many labels still parses in linear time.
const SCAN_LIMIT: usize = 16;

/// The two dialects of label sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// OpenMetrics: no blanks, no trailing comma.
    Strict,
    /// Prometheus text (like Go's parser): blanks around tokens and a
    /// trailing comma are fine.
    Lenient,
}

/// Parses a label set; the cursor must be on `{`. With `allow_name`, a
/// quoted string without `=` (or a `__name__` label) gives the metric name.
pub(super) fn parse_labels(cur: &mut Cursor<'_>, dialect: Dialect, allow_name: bool) -> Result<ParsedLabels, Fail> {
    let lenient = dialect == Dialect::Lenient;
    let blanks = |cur: &mut Cursor<'_>| {
        if lenient {
            cur.skip_blanks();
        }
    };
    let mut set = ParsedLabels::default();
    let mut names: Option<HashSet<String>> = None;
    cur.expect(b'{', "'{'")?;
    blanks(cur);
    if cur.eat(b'}') {
        return Ok(set);
    }
    loop {
        blanks(cur);
        let at = cur.pos;
        let quoted_name = cur.peek() == Some(b'"');
        let name = if quoted_name { Cow::Owned(cur.quoted()?) } else { cur.label_name()? };
        if name.is_empty() {
            return Err(Fail::new(at, "expected a name, found an empty string"));
        }
        blanks(cur);
        if quoted_name && allow_name && matches!(cur.peek(), Some(b',' | b'}')) {
            // `{"metric.name", ...}`: the metric name, not a label.
            if set.name.is_some() {
                return Err(Fail::new(at, "expected the metric name only once"));
            }
            set.name = Some((at, name.into_owned()));
        } else {
            cur.expect(b'=', "'=' after the label name")?;
            blanks(cur);
            let value_at = cur.pos;
            if cur.peek() != Some(b'"') {
                return Err(cur.expected("'\"' to open the label value"));
            }
            let value = cur.quoted()?;
            if allow_name && name == "__name__" {
                if set.name.is_some() {
                    return Err(Fail::new(at, "expected the metric name only once"));
                }
                set.name = Some((value_at, value));
            } else {
                let seen = match &mut names {
                    Some(names) => !names.insert(name.clone().into_owned()),
                    None => set.labels.iter().any(|l| l.name == name),
                };
                if seen {
                    return Err(Fail::new(at, format_args!("expected each label name once, found {name:?} twice")));
                }
                if names.is_none() && set.labels.len() == SCAN_LIMIT {
                    let mut all: HashSet<String> = set.labels.iter().map(|l| l.name.clone()).collect();
                    all.insert(name.clone().into_owned());
                    names = Some(all);
                }
                set.labels.push(Label { name: name.into_owned(), value, value_at });
            }
        }
        blanks(cur);
        if cur.eat(b'}') {
            return Ok(set);
        }
        if !cur.eat(b',') {
            return Err(cur.expected("',' or '}' after the label"));
        }
        blanks(cur);
        if lenient && cur.eat(b'}') {
            return Ok(set);
        }
    }
}
