//! A cursor over one line of input: the tokens both formats share (metric
//! and label names, quoted strings, blank-separated tokens) and the escapes
//! of quoted strings and help text.

use std::borrow::Cow;

use memchr::memchr2;

use super::error::Fail;

/// A position in one line of the input. Offsets are bytes of the whole
/// input, so failures can say where they are; the cursor only ever stops on
/// ASCII bytes or the line end, which are always character boundaries.
pub(super) struct Cursor<'a> {
    text: &'a str,
    pub(super) pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor over `text[start..end]`, one line without its newline.
    pub(super) fn new(text: &'a str, start: usize, end: usize) -> Self {
        Cursor { text, pos: start, end }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        if self.pos < self.end {
            self.text.as_bytes().get(self.pos).copied()
        } else {
            None
        }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    /// Consumes `b` if it is next.
    pub(super) fn eat(&mut self, b: u8) -> bool {
        let next = self.peek() == Some(b);
        if next {
            self.pos += 1;
        }
        next
    }

    /// The rest of the line.
    pub(super) fn rest(&self) -> &'a str {
        self.text.get(self.pos..self.end).unwrap_or("")
    }

    /// What is at the cursor, for messages: `'x'` or `the end of the line`.
    pub(super) fn found(&self) -> String {
        match self.rest().chars().next() {
            Some(c) => format!("{c:?}"),
            None => "the end of the line".to_owned(),
        }
    }

    /// A failure at the cursor: `expected <what>, found <what is there>`.
    pub(super) fn expected(&self, what: &str) -> Fail {
        Fail::new(self.pos, format_args!("expected {what}, found {}", self.found()))
    }

    /// Consumes `b` or fails with `expected <what>`.
    pub(super) fn expect(&mut self, b: u8, what: &str) -> Result<(), Fail> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// Consumes bytes while `keep` holds (`keep` must reject every non-ASCII
    /// byte or none) and returns them.
    pub(super) fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while self.pos < self.end && keep(bytes[self.pos]) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// Skips spaces and tabs; returns whether there were any.
    pub(super) fn skip_blanks(&mut self) -> bool {
        !self.take_while(|b| b == b' ' || b == b'\t').is_empty()
    }

    /// A metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, or any string in double
    /// quotes (UTF-8 names).
    pub(super) fn metric_name(&mut self) -> Result<Cow<'a, str>, Fail> {
        self.name(true)
    }

    /// A metric name before a sample's labels: unquoted only, as quoted
    /// names go inside the braces.
    pub(super) fn sample_name(&mut self) -> Result<&'a str, Fail> {
        if self.peek() == Some(b'"') {
            return Err(self.expected("a metric name (a quoted name goes inside the braces: {\"name\"})"));
        }
        match self.name(true)? {
            Cow::Borrowed(name) => Ok(name),
            Cow::Owned(_) => Err(self.expected("a metric name")),
        }
    }

    /// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`, or any string in double quotes.
    pub(super) fn label_name(&mut self) -> Result<Cow<'a, str>, Fail> {
        self.name(false)
    }

    fn name(&mut self, metric: bool) -> Result<Cow<'a, str>, Fail> {
        let what = if metric { "a metric name" } else { "a label name" };
        if self.peek() == Some(b'"') {
            let at = self.pos;
            let name = self.quoted()?;
            if name.is_empty() {
                return Err(Fail::new(at, format_args!("expected {what}, found an empty string")));
            }
            return Ok(Cow::Owned(name));
        }
        if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.expected(what));
        }
        let name = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_' || (metric && b == b':'));
        if name.is_empty() {
            return Err(self.expected(what));
        }
        Ok(Cow::Borrowed(name))
    }

    /// A double-quoted string with `\\`, `\"` and `\n` escapes; any other
    /// backslash is kept as it is. The cursor must be on the opening quote.
    pub(super) fn quoted(&mut self) -> Result<String, Fail> {
        self.expect(b'"', "'\"'")?;
        let bytes = self.text.as_bytes();
        let mut out = String::new();
        loop {
            let window = bytes.get(self.pos..self.end).unwrap_or_default();
            let Some(i) = memchr2(b'"', b'\\', window) else {
                self.pos = self.end;
                return Err(Fail::new(self.end, "expected '\"' to close the quoted string, found the end of the line"));
            };
            out.push_str(self.text.get(self.pos..self.pos + i).unwrap_or(""));
            self.pos += i;
            if bytes[self.pos] == b'"' {
                self.pos += 1;
                return Ok(out);
            }
            match self.text.as_bytes().get(self.pos + 1).filter(|_| self.pos + 1 < self.end) {
                Some(b'\\') => out.push('\\'),
                Some(b'"') => out.push('"'),
                Some(b'n') => out.push('\n'),
                Some(_) => {
                    // Not an escape: keep the backslash, read what follows as text.
                    out.push('\\');
                    self.pos += 1;
                    continue;
                }
                None => {
                    self.pos = self.end;
                    return Err(Fail::new(
                        self.end,
                        "expected '\"' to close the quoted string, found the end of the line",
                    ));
                }
            }
            self.pos += 2;
        }
    }
}

/// Undoes the escapes of help text: `\\` and `\n`, and `\"` when `quotes`
/// (OpenMetrics). Other backslashes, and a trailing one, are kept.
pub(super) fn unescape_help(s: &str, quotes: bool) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars.next();
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(s: &str) -> Result<String, usize> {
        Cursor::new(s, 0, s.len()).quoted().map_err(|f| f.at)
    }

    #[test]
    fn quoted_strings_unescape() {
        assert_eq!(quoted(r#""a\\b\"c\nd""#).unwrap(), "a\\b\"c\nd");
        assert_eq!(quoted(r#""b\\a\z""#).unwrap(), "b\\a\\z");
        assert_eq!(quoted(r#""日本""#).unwrap(), "日本");
        assert_eq!(quoted(r#""open"#), Err(5));
        assert_eq!(quoted(r#""open\"#), Err(6));
    }

    #[test]
    fn help_unescapes() {
        assert_eq!(unescape_help(r#"he\n\\l\tp\"x\"#, true), "he\n\\l\\tp\"x\\");
        assert_eq!(unescape_help(r#"a\"b"#, false), "a\\\"b");
    }
}
