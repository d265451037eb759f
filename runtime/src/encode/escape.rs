//! Escaping and number formatting shared by the text encoders.

use std::mem::MaybeUninit;

use memchr::{memchr2, memchr3};

use super::{Buckets, EncodeLabels, EscapingScheme, Extra, LabelSink, Number};
use crate::bytes::same_bytes;
use crate::name::{is_legacy_label_name, is_legacy_metric_name};

/// Appends `bytes` (see [`copy_short`] for how).
#[inline(always)]
pub(crate) fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.reserve(bytes.len());
    copy_short(buf.spare_capacity_mut(), bytes);
    let len = buf.len() + bytes.len();
    // SAFETY: `copy_short` returned, so it initialized the first
    // `bytes.len()` bytes of the spare capacity (it panics if they do not
    // fit): every byte below `len` is initialized, and `len` is within the
    // capacity.
    unsafe { buf.set_len(len) };
}

/// Copies `src` to the start of `dst`. Most of what a scrape writes is short
/// (names, label values, digits, a series' labels): up to 64 bytes are
/// copied inline, in words of which the last may overlap the one before,
/// instead of through a call to `memcpy`. Every word stays within the first
/// `src.len()` bytes of `dst`.
///
/// Panics if `dst` is shorter than `src`.
#[inline(always)]
fn copy_short(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    let n = src.len();
    let dst = &mut dst[..n];
    let d = dst.as_mut_ptr().cast::<u8>();
    let s = src.as_ptr();
    // SAFETY: `dst` and `src` are both `n` bytes long, and `dst` is a unique
    // borrow, so they do not overlap. Each branch reads and writes only at
    // offsets below `n`: the words written last start at `n - 16`, `n - 8`
    // or `n - 4`, in branches where `n` is at least that word's size.
    unsafe {
        if n > 64 {
            std::ptr::copy_nonoverlapping(s, d, n);
        } else if n > 16 {
            let mut i = 0;
            while i + 16 < n {
                d.add(i).cast::<u128>().write_unaligned(s.add(i).cast::<u128>().read_unaligned());
                i += 16;
            }
            d.add(n - 16).cast::<u128>().write_unaligned(s.add(n - 16).cast::<u128>().read_unaligned());
        } else if n >= 8 {
            d.cast::<u64>().write_unaligned(s.cast::<u64>().read_unaligned());
            d.add(n - 8).cast::<u64>().write_unaligned(s.add(n - 8).cast::<u64>().read_unaligned());
        } else if n >= 4 {
            d.cast::<u32>().write_unaligned(s.cast::<u32>().read_unaligned());
            d.add(n - 4).cast::<u32>().write_unaligned(s.add(n - 4).cast::<u32>().read_unaligned());
        } else if n > 0 {
            *d = *s;
            *d.add(n / 2) = *s.add(n / 2);
            *d.add(n - 1) = *s.add(n - 1);
        }
    }
}

/// Appends what `f` writes through a [`Line`], in room for `max` bytes
/// reserved beforehand: one capacity check for the whole line instead of
/// one per piece. The room is a slice held in registers, so writing a
/// byte does not reload the vector's length and capacity.
///
/// Each piece is still checked against the room left (in release builds
/// too): a line longer than its reservation panics, and then nothing of it
/// is appended.
#[inline(always)]
pub(crate) fn append_line<R>(buf: &mut Vec<u8>, max: usize, f: impl FnOnce(&mut Line<'_>) -> R) -> R {
    buf.reserve(max);
    let len = buf.len();
    let room = buf.spare_capacity_mut();
    let (start, size) = (room.as_ptr(), room.len());
    let mut line = Line { room, written: 0 };
    let result = f(&mut line);
    // `f` could have swapped in the `Line` of an `append_line` on another
    // buffer, whose count is of that buffer's bytes.
    assert!(std::ptr::eq(line.room.as_ptr(), start) && line.room.len() == size, "a line of another buffer");
    let written = line.written;
    // SAFETY: the assertion above makes `line` the one made here, over this
    // buffer's spare capacity (no `Line` is made elsewhere: its fields are
    // private to this module). A `Line` counts in `written` only bytes it
    // has initialized, each right after those already counted, from the
    // start of its room and through bounds-checked slices of it: every
    // byte below `len + written` is initialized and `len + written` is
    // within the capacity.
    unsafe { buf.set_len(len + written) };
    result
}

/// The room [`append_line`] reserved, and how much of it is written.
pub(crate) struct Line<'a> {
    room: &'a mut [MaybeUninit<u8>],
    written: usize,
}

impl Line<'_> {
    #[inline(always)]
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        copy_short(&mut self.room[self.written..], bytes);
        self.written += bytes.len();
    }

    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        self.room[self.written].write(b);
        self.written += 1;
    }

    /// A number as [`write_number`] writes it: at most [`NUMBER_MAX`]
    /// bytes.
    #[inline(always)]
    fn number(&mut self, n: Number) {
        match n {
            Number::Int(v) => self.put(itoa::Buffer::new().format(v).as_bytes()),
            Number::Float(v) if v.is_finite() => self.put(ryu::Buffer::new().format_finite(v).as_bytes()),
            Number::Float(v) => self.put(non_finite_text(v)),
        }
    }
}

/// The longest text [`write_number`] writes: a `u64` takes 20 digits, a
/// float as `ryu` writes it 24 bytes.
const NUMBER_MAX: usize = 24;

/// Appends `value` with `\`, `"` and newline escaped, as label values need.
pub(crate) fn write_label_value(buf: &mut Vec<u8>, value: &str) {
    let mut rest = value.as_bytes();
    while let Some(i) = memchr3(b'\\', b'"', b'\n', rest) {
        put(buf, &rest[..i]);
        put(
            buf,
            match rest[i] {
                b'\\' => b"\\\\",
                b'"' => b"\\\"",
                _ => b"\\n",
            },
        );
        rest = &rest[i + 1..];
    }
    put(buf, rest);
}

/// Appends help text: `\` and newline escaped (Prometheus text), or also `"`
/// (OpenMetrics, which shares the label-value escaping).
pub(crate) fn write_help(buf: &mut Vec<u8>, help: &str, escape_quotes: bool) {
    if escape_quotes {
        return write_label_value(buf, help);
    }
    let mut rest = help.as_bytes();
    while let Some(i) = memchr2(b'\\', b'\n', rest) {
        buf.extend_from_slice(&rest[..i]);
        buf.extend_from_slice(if rest[i] == b'\\' { b"\\\\" } else { b"\\n" });
        rest = &rest[i + 1..];
    }
    buf.extend_from_slice(rest);
}

fn is_legacy_char(c: char, first: bool, metric: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (metric && c == ':') || (!first && c.is_ascii_digit())
}

/// Escapes a metric (`metric = true`) or label name that is not legacy-valid
/// with `scheme`, as the Prometheus escaping-schemes specification defines.
/// Legacy-valid names are returned unchanged by every scheme but `Dots`.
///
/// ```ignore
/// assert_eq!(escape_name("my.metric", true, EscapingScheme::Underscores), "my_metric");
/// ```
pub(crate) fn escape_name(name: &str, metric: bool, scheme: EscapingScheme) -> String {
    let legacy = if metric { is_legacy_metric_name(name) } else { is_legacy_label_name(name) };
    let mut out = String::with_capacity(name.len() + 8);
    match scheme {
        EscapingScheme::AllowUtf8 => out.push_str(name),
        _ if legacy && scheme != EscapingScheme::Dots => out.push_str(name),
        EscapingScheme::Underscores => {
            for (i, c) in name.chars().enumerate() {
                out.push(if is_legacy_char(c, i == 0, metric) { c } else { '_' });
            }
        }
        EscapingScheme::Dots => {
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if is_legacy_char(c, i == 0, metric) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
        }
        EscapingScheme::Values => {
            out.push_str("U__");
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    c if is_legacy_char(c, i == 0, metric) => out.push(c),
                    c => {
                        use std::fmt::Write;
                        let _ = write!(out, "_{:x}_", c as u32);
                    }
                }
            }
        }
    }
    out
}

/// Appends a float the way Prometheus and OpenMetrics parsers read it.
pub(crate) fn write_f64(buf: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        put(buf, ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        buf.extend_from_slice(non_finite_text(v));
    }
}

/// `NaN`, `+Inf` or `-Inf`.
fn non_finite_text(v: f64) -> &'static [u8] {
    if v.is_nan() {
        b"NaN"
    } else if v > 0.0 {
        b"+Inf"
    } else {
        b"-Inf"
    }
}

pub(crate) fn write_number(buf: &mut Vec<u8>, n: Number) {
    match n {
        Number::Int(v) => put(buf, itoa::Buffer::new().format(v).as_bytes()),
        Number::Float(v) => write_f64(buf, v),
    }
}

/// The name and label part of the sample lines of one family, kept between
/// calls so each series renders its labels once for all its samples.
pub(crate) struct SeriesLine {
    scheme: EscapingScheme,
    /// The family name, escaped for `scheme` (unquoted).
    name: Vec<u8>,
    /// Whether names must be written in the quoted `{"name",...}` form.
    quoted: bool,
    /// The current series' labels, rendered as `a="x",b="y"`.
    labels: Vec<u8>,
    /// `name` joined with each of the last suffixes written (unquoted
    /// names): a histogram's lines take turns with three.
    heads: Vec<Vec<u8>>,
    /// Which of `heads` the line being written starts with.
    current: usize,
    /// Room to build a line's start in, kept between calls.
    scratch: Vec<u8>,
}

/// What a text encoder refuses to write, because it would come out raw and
/// break the line (or make another one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A sample suffix with a byte that is not part of a metric name.
    Suffix,
    /// An `le` value that is not a number.
    Le,
    /// A `quantile` value that is not a number.
    Quantile,
}

impl Refused {
    /// The message for a sample of family `name`.
    pub(crate) fn message(self, name: &str, suffix: &str, extra: Option<Extra<'_>>) -> String {
        match (self, extra) {
            (Refused::Le, Some(Extra::Le(v))) | (Refused::Quantile, Some(Extra::Quantile(v))) => {
                let label = if self == Refused::Le { "le" } else { "quantile" };
                format!("{name}{suffix}: the {label} value {v:?} is not a number; the sample is left out")
            }
            _ => format!(
                "{name}: the sample suffix {suffix:?} has bytes a metric name cannot have (only [a-zA-Z0-9_:]); \
                 the sample is left out"
            ),
        }
    }
}

/// Whether `s` can follow a metric name as it is: only `[a-zA-Z0-9_:]`.
#[inline]
pub(crate) fn is_name_tail(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Whether `s` is a number as both text formats read one: a real number
/// (see [`is_real_text`]), an infinity (`[+-]Inf`, `[+-]Infinity`) or
/// `NaN`, in any case. A scan, no parse: bucket bounds are checked on every
/// scrape.
#[inline]
pub(crate) fn is_number_text(s: &str) -> bool {
    is_decimal_text(s.as_bytes()) || is_other_number_text(s)
}

/// Whether `b` is digits with at most one `.` among them, and at least one
/// digit: how bucket bounds and quantiles are written, checked in one pass.
#[inline(always)]
fn is_decimal_text(b: &[u8]) -> bool {
    let mut dots = 0;
    for &c in b {
        if c == b'.' {
            dots += 1;
        } else if !c.is_ascii_digit() {
            return false;
        }
    }
    dots <= 1 && b.len() > dots
}

/// [`is_number_text`] past its fast path: signs, exponents, infinities.
#[inline(never)]
fn is_other_number_text(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    is_real_text(s)
        || unsigned.eq_ignore_ascii_case("inf")
        || unsigned.eq_ignore_ascii_case("infinity")
        || s.eq_ignore_ascii_case("nan")
}

/// Whether `s` is a real number in the grammar both text formats share:
/// `[+-]? (digits [. digits*] | . digits) [e [+-]? digits]`, no
/// hexadecimal, no `_` separators, no infinities. The parser reads values
/// through it too, so what the encoders accept and what the parser reads
/// back cannot drift apart.
pub(crate) fn is_real_text(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let signed = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_end = digits(signed);
    let mut mantissa = int_end - signed;
    let mut i = int_end;
    if b.get(i) == Some(&b'.') {
        let frac_end = digits(i + 1);
        mantissa += frac_end - (i + 1);
        i = frac_end;
    }
    if mantissa == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits(i);
        if exp_end == i {
            return false;
        }
        i = exp_end;
    }
    i == b.len()
}

impl SeriesLine {
    pub(crate) fn new(scheme: EscapingScheme) -> Self {
        SeriesLine {
            scheme,
            name: Vec::new(),
            quoted: false,
            labels: Vec::new(),
            heads: Vec::new(),
            current: 0,
            scratch: Vec::new(),
        }
    }

    /// Writes an exemplar's labels, `a="x",b="y"`, names escaped as the
    /// series' are.
    pub(crate) fn write_exemplar_labels(&self, buf: &mut Vec<u8>, labels: &[(String, String)]) {
        for (i, (name, value)) in labels.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            write_label_name(buf, name, self.scheme);
            buf.extend_from_slice(b"=\"");
            write_label_value(buf, value);
            buf.push(b'"');
        }
    }

    /// The family name as written (escaped for the scheme), for messages.
    pub(crate) fn name(&self) -> &str {
        std::str::from_utf8(&self.name).unwrap_or_default()
    }

    /// Writes a metric name as metadata lines show it (`# TYPE <name>`).
    pub(crate) fn write_meta_name(&self, buf: &mut Vec<u8>, suffix: &str) {
        if self.quoted {
            buf.push(b'"');
            write_label_value(buf, std::str::from_utf8(&self.name).unwrap_or_default());
            buf.extend_from_slice(suffix.as_bytes());
            buf.push(b'"');
        } else {
            buf.extend_from_slice(&self.name);
            buf.extend_from_slice(suffix.as_bytes());
        }
    }

    pub(crate) fn set_family(&mut self, name: &str) {
        self.name.clear();
        self.heads.clear();
        self.quoted = self.scheme == EscapingScheme::AllowUtf8 && !is_legacy_metric_name(name);
        if self.quoted || is_legacy_metric_name(name) && self.scheme != EscapingScheme::Dots {
            self.name.extend_from_slice(name.as_bytes());
        } else {
            self.name.extend_from_slice(escape_name(name, true, self.scheme).as_bytes());
        }
    }

    pub(crate) fn set_series(&mut self, labels: &dyn EncodeLabels) {
        self.labels.clear();
        if self.scheme != EscapingScheme::Dots {
            if let Some(r) = labels.prerendered() {
                return self.labels.extend_from_slice(r.as_bytes());
            }
            if labels.render(&mut self.labels) {
                return;
            }
        }
        labels.encode(&mut LabelWriter { buf: &mut self.labels, scheme: self.scheme });
    }

    /// Writes `name_suffix{labels,extra} value` (or the quoted form) into
    /// `buf`, and the newline when `end` is set (a caller that adds a
    /// timestamp or an exemplar leaves it out); writes nothing and refuses
    /// a suffix or an `le` or `quantile` value that would come out raw and
    /// break the line.
    pub(crate) fn write_sample(
        &mut self,
        buf: &mut Vec<u8>,
        suffix: &str,
        extra: Option<Extra<'_>>,
        value: Number,
        end: bool,
    ) -> Result<(), Refused> {
        if !self.set_head(suffix) {
            return Err(Refused::Suffix);
        }
        let extra_pair: Option<(&[u8], &str)> = match extra {
            None => None,
            Some(Extra::Le(v)) if is_number_text(v) => Some((b"le=\"", v)),
            Some(Extra::Quantile(v)) if is_number_text(v) => Some((b"quantile=\"", v)),
            Some(Extra::Le(_)) => return Err(Refused::Le),
            Some(Extra::Quantile(_)) => return Err(Refused::Quantile),
            Some(Extra::Label(..)) => {
                self.write_sample_general(buf, suffix, extra, value, end);
                return Ok(());
            }
        };
        if self.quoted {
            self.write_sample_general(buf, suffix, extra, value, end);
            return Ok(());
        }
        let (head, labels) = (&self.heads[self.current][..], &self.labels[..]);
        let extra_len = extra_pair.map_or(0, |(n, v)| n.len() + v.len());
        // `{`, `,`, `"`, `}`, the space, the number and the newline.
        let max = head.len() + labels.len() + extra_len + 6 + NUMBER_MAX;
        append_line(buf, max, |line| {
            line.put(head);
            if !labels.is_empty() || extra_pair.is_some() {
                line.byte(b'{');
                line.put(labels);
                if let Some((name, value)) = extra_pair {
                    if !labels.is_empty() {
                        line.byte(b',');
                    }
                    line.put(name);
                    line.put(value.as_bytes());
                    line.byte(b'"');
                }
                line.byte(b'}');
            }
            line.byte(b' ');
            line.number(value);
            if end {
                line.byte(b'\n');
            }
        });
        Ok(())
    }

    /// Writes the `_bucket` lines of the current series, the line up to the
    /// `le` value built once for all of them. Leaves out a bucket whose `le`
    /// value is not a number, as [`write_sample`](Self::write_sample)
    /// refuses it, and returns the first such value.
    pub(crate) fn write_buckets<'a>(&mut self, buf: &mut Vec<u8>, buckets: Buckets<'a>) -> Result<(), &'a str> {
        let bounds = buckets.le.iter().zip(buckets.cumulative);
        let mut result = Ok(());
        if self.quoted {
            for (le, &count) in bounds {
                if self.write_sample(buf, "_bucket", Some(Extra::Le(le)), Number::Int(count), true).is_err() {
                    result = result.and(Err(&**le));
                }
            }
            return result;
        }
        let named = self.set_head("_bucket");
        debug_assert!(named, "`_bucket` can follow a name");
        let mut prefix = std::mem::take(&mut self.scratch);
        prefix.clear();
        prefix.extend_from_slice(&self.heads[self.current]);
        prefix.push(b'{');
        if !self.labels.is_empty() {
            prefix.extend_from_slice(&self.labels);
            prefix.push(b',');
        }
        prefix.extend_from_slice(b"le=\"");
        for (le, &count) in bounds {
            if !is_number_text(le) {
                result = result.and(Err(&**le));
                continue;
            }
            // The prefix, the bound, `"} `, the count and the newline.
            append_line(buf, prefix.len() + le.len() + 4 + NUMBER_MAX, |line| {
                line.put(&prefix);
                line.put(le.as_bytes());
                line.put(b"\"} ");
                line.number(Number::Int(count));
                line.byte(b'\n');
            });
        }
        self.scratch = prefix;
        result
    }

    /// Makes the current head the family name joined with `suffix`;
    /// returns false, changing nothing, if `suffix` cannot follow a metric
    /// name. A suffix is checked only the first time it comes in a family:
    /// its head is kept, with those of the last few others. Suffixes are
    /// compared by content, never by address: a collector may reuse one
    /// buffer for several.
    #[inline]
    fn set_head(&mut self, suffix: &str) -> bool {
        let (name, tail) = (self.name.len(), suffix.as_bytes());
        let is = |head: &Vec<u8>| head.len() == name + tail.len() && same_bytes(&head[name..], tail);
        if self.heads.get(self.current).is_some_and(is) {
            return true;
        }
        if let Some(i) = self.heads.iter().position(is) {
            self.current = i;
            return true;
        }
        self.add_head(suffix)
    }

    /// [`set_head`](Self::set_head) for a suffix not among the heads kept.
    #[inline(never)]
    fn add_head(&mut self, suffix: &str) -> bool {
        /// More than a histogram's or a summary's suffixes.
        const KEPT: usize = 4;
        if !is_name_tail(suffix) {
            return false;
        }
        let head = [&self.name[..], suffix.as_bytes()].concat();
        if self.heads.len() < KEPT {
            self.current = self.heads.len();
            self.heads.push(head);
        } else {
            self.current = (self.current + 1) % KEPT;
            self.heads[self.current] = head;
        }
        true
    }

    /// [`SeriesLine::write_sample`] for quoted names and labels that need
    /// escaping.
    fn write_sample_general(
        &mut self,
        buf: &mut Vec<u8>,
        suffix: &str,
        extra: Option<Extra<'_>>,
        value: Number,
        end: bool,
    ) {
        self.write_head_general(buf, suffix, extra);
        buf.push(b' ');
        write_number(buf, value);
        if end {
            buf.push(b'\n');
        }
    }

    fn write_head_general(&mut self, buf: &mut Vec<u8>, suffix: &str, extra: Option<Extra<'_>>) {
        let mut has_label = !self.labels.is_empty();
        if self.quoted {
            buf.extend_from_slice(b"{\"");
            write_label_value(buf, std::str::from_utf8(&self.name).unwrap_or_default());
            buf.extend_from_slice(suffix.as_bytes());
            buf.push(b'"');
            if has_label {
                buf.push(b',');
            }
            has_label = true;
        } else {
            // `write_sample` has set (and checked) the head for this suffix.
            put(buf, &self.heads[self.current]);
            if has_label || extra.is_some() {
                buf.push(b'{');
            }
        }
        put(buf, &self.labels);
        if let Some(extra) = extra {
            if !self.labels.is_empty() {
                buf.push(b',');
            }
            match extra {
                Extra::Le(v) => {
                    put(buf, b"le=\"");
                    put(buf, v.as_bytes());
                }
                Extra::Quantile(v) => {
                    put(buf, b"quantile=\"");
                    put(buf, v.as_bytes());
                }
                Extra::Label(n, v) => {
                    write_label_name(buf, n, self.scheme);
                    put(buf, b"=\"");
                    write_label_value(buf, v);
                }
            }
            buf.push(b'"');
            has_label = true;
        }
        if has_label {
            buf.push(b'}');
        }
    }
}

fn write_label_name(buf: &mut Vec<u8>, name: &str, scheme: EscapingScheme) {
    if is_legacy_label_name(name) && scheme != EscapingScheme::Dots {
        buf.extend_from_slice(name.as_bytes());
    } else if scheme == EscapingScheme::AllowUtf8 {
        buf.push(b'"');
        write_label_value(buf, name);
        buf.push(b'"');
    } else {
        buf.extend_from_slice(escape_name(name, false, scheme).as_bytes());
    }
}

/// Renders labels as `a="x",b="y"`.
pub(crate) struct LabelWriter<'b> {
    pub(crate) buf: &'b mut Vec<u8>,
    pub(crate) scheme: EscapingScheme,
}

impl LabelSink for LabelWriter<'_> {
    fn label(&mut self, name: &str, value: &str) {
        if !self.buf.is_empty() {
            self.buf.push(b',');
        }
        write_label_name(self.buf, name, self.scheme);
        self.buf.extend_from_slice(b"=\"");
        write_label_value(self.buf, value);
        self.buf.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{CollectError, Descriptor, MetricEncoder, OpenMetricsEncoder, Sample, TextEncoder};
    use crate::MetricType;

    #[test]
    fn short_copies_append_exactly_the_bytes() {
        let src: Vec<u8> = (0..=200u8).collect();
        for n in 0..=130 {
            let mut buf = b"head".to_vec();
            put(&mut buf, &src[..n]);
            assert_eq!(&buf[..4], b"head");
            assert_eq!(&buf[4..], &src[..n], "length {n}");
            let mut line = b"x".to_vec();
            append_line(&mut line, n + 2, |w| {
                w.byte(b'<');
                w.put(&src[..n]);
                w.byte(b'>');
            });
            assert_eq!(line.remove(0), b'x');
            assert_eq!(line.len(), n + 2);
            assert_eq!(&line[1..=n], &src[..n], "length {n}");
            assert_eq!((line[0], line[n + 1]), (b'<', b'>'));
        }
    }

    /// A line that outgrows its reservation stops at the check, in every
    /// build: nothing past the capacity is written, and nothing of the
    /// line is appended.
    #[test]
    fn a_line_longer_than_its_reservation_panics_and_appends_nothing() {
        let mut line = b"kept".to_vec();
        let room = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            append_line(&mut line, 8, |w| {
                let room = w.room.len();
                w.put(&vec![b'x'; room - 1]);
                w.byte(b'!');
                w.byte(b'?');
            })
        }));
        assert!(room.is_err(), "the byte past the reservation must be refused");
        assert_eq!(line, b"kept", "a line that did not fit leaves the buffer as it was");
        let mut short = Vec::new();
        let copied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            copy_short(&mut short.spare_capacity_mut()[..0], b"abc");
        }));
        assert!(copied.is_err(), "a copy into less room than it needs must be refused");
    }

    /// Passes everything on but `buckets`, so the lines come from the
    /// trait's default: one `sample` per bucket.
    struct PerSample<'a>(&'a mut dyn MetricEncoder);

    impl MetricEncoder for PerSample<'_> {
        fn family(&mut self, desc: &Descriptor<'_>) {
            self.0.family(desc)
        }
        fn series(&mut self, labels: &dyn EncodeLabels) {
            self.0.series(labels)
        }
        fn sample(&mut self, sample: &Sample<'_>) {
            self.0.sample(sample)
        }
        fn fail(&mut self, error: CollectError) {
            self.0.fail(error)
        }
    }

    fn write_histogram(enc: &mut dyn MetricEncoder, name: &str, labels: &[(&str, &str)], le: &[Box<str>]) {
        enc.family(&Descriptor { name, help: "h", unit: "", kind: MetricType::Histogram });
        for series in [labels, &[]] {
            enc.series(&series);
            enc.buckets(Buckets { le, cumulative: &[0, 7, 7, u64::MAX] });
            enc.sample(&Sample::new("_count", Number::Int(7)));
        }
    }

    /// The text `write` leaves in a new buffer, and the message of the
    /// first failure it returns.
    fn written(write: impl FnOnce(&mut Vec<u8>) -> Option<String>) -> (String, Option<String>) {
        let mut buf = Vec::new();
        let failure = write(&mut buf);
        (String::from_utf8_lossy(&buf).into_owned(), failure)
    }

    /// The encoders' own `buckets` write the same bytes, and refuse the
    /// same bounds with the same message, as a `sample` per bucket: with
    /// and without labels, with values that need escaping, with names
    /// each scheme escapes or quotes, and with more counts than bounds.
    #[test]
    fn buckets_write_what_a_sample_per_bucket_writes() {
        let le = |v: &[&str]| v.iter().map(|&s| Box::<str>::from(s)).collect::<Vec<_>>();
        let bounds = [le(&["0.005", "1e-05", "+Inf"]), le(&["0.5", "not a number", "+Inf"]), le(&["1"])];
        let label_sets: [&[(&str, &str)]; 3] =
            [&[("path", "/a")], &[("path", "a\"b\\c\nd"), ("code", "200")], &[("dotted.name", "x")]];
        let message = |e: Option<&CollectError>| e.map(|e| e.message().to_owned());
        for scheme in
            [EscapingScheme::Underscores, EscapingScheme::Dots, EscapingScheme::Values, EscapingScheme::AllowUtf8]
        {
            let bounds = &bounds;
            let cases = ["latency_seconds", "latency.seconds"]
                .into_iter()
                .flat_map(|n| label_sets.iter().flat_map(move |&l| bounds.iter().map(move |b| (n, l, b))));
            for (name, labels, le) in cases {
                let write = |enc: &mut dyn MetricEncoder, per_sample: bool| match per_sample {
                    true => write_histogram(&mut PerSample(enc), name, labels, le),
                    false => write_histogram(enc, name, labels, le),
                };
                type Encode<'a> = &'a dyn Fn(&mut Vec<u8>, bool) -> Option<String>;
                let text: Encode = &|buf, per_sample| {
                    let mut enc = TextEncoder::new(buf, scheme);
                    write(&mut enc, per_sample);
                    message(enc.failure())
                };
                let open_metrics: Encode = &|buf, per_sample| {
                    let mut enc = OpenMetricsEncoder::new(buf, scheme);
                    write(&mut enc, per_sample);
                    message(enc.failure())
                };
                for (format, encode) in [("text", text), ("OpenMetrics", open_metrics)] {
                    let [fast, per_sample] = [false, true].map(|per_sample| written(|buf| encode(buf, per_sample)));
                    assert_eq!(fast, per_sample, "{format} {scheme:?} {name} {labels:?} {le:?}");
                }
            }
        }
        let mut out = Vec::new();
        write_histogram(&mut TextEncoder::new(&mut out, EscapingScheme::Underscores), "l", &[("p", "/")], &bounds[0]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("l_bucket{p=\"/\",le=\"0.005\"} 0\nl_bucket{p=\"/\",le=\"1e-05\"} 7\n"), "{text}");
        assert!(text.contains("l_bucket{le=\"+Inf\"} 7\nl_count 7\n"), "{text}");
        assert!(!text.contains(&u64::MAX.to_string()), "a count past the last bound is left out: {text}");
    }

    #[test]
    fn label_values_escape_backslash_quote_newline() {
        let mut b = Vec::new();
        write_label_value(&mut b, "a\\b\"c\nd€");
        assert_eq!(b, "a\\\\b\\\"c\\nd€".as_bytes());
    }

    #[test]
    fn names_escape_per_scheme() {
        use EscapingScheme::*;
        assert_eq!(escape_name("my.metric", true, Underscores), "my_metric");
        assert_eq!(escape_name("my_metric", true, Dots), "my__metric");
        assert_eq!(escape_name("my.metric", true, Dots), "my_dot_metric");
        assert_eq!(escape_name("my.metric", true, Values), "U__my_2e_metric");
        assert_eq!(escape_name("über", true, Values), "U___fc_ber");
        assert_eq!(escape_name("ok_name", true, Values), "ok_name");
        assert_eq!(escape_name("a:b", false, Underscores), "a_b");
    }

    #[test]
    fn floats_parse_back() {
        for (v, s) in
            [(1.0, "1.0"), (0.25, "0.25"), (f64::INFINITY, "+Inf"), (f64::NEG_INFINITY, "-Inf"), (1e-7, "1e-7")]
        {
            let mut b = Vec::new();
            write_f64(&mut b, v);
            assert_eq!(b, s.as_bytes());
        }
        let mut b = Vec::new();
        write_f64(&mut b, f64::NAN);
        assert_eq!(b, b"NaN");
    }
}
