//! Where an exposition went wrong and what was expected there.

use std::fmt;

/// Why an exposition could not be parsed: the 1-based line and column
/// (counted in characters) where the parser stopped, and what it expected
/// there. Its `Display` is `line:column: message`, the form editors and
/// compilers use.
///
/// ```
/// use promdecl_runtime::{parse_openmetrics, ParseError};
///
/// let err: ParseError = parse_openmetrics("# TYPE a counter\na_total -1\n# EOF\n").unwrap_err();
/// assert_eq!((err.line, err.column), (2, 9));
/// assert_eq!(err.to_string(), "2:9: expected a non-negative value for a_total, found -1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseError {
    /// The line, starting at 1.
    pub line: usize,
    /// The column, starting at 1, in characters (not bytes).
    pub column: usize,
    /// What was wrong, saying what was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The error at byte `offset` of `text`.
    pub(crate) fn at(text: &str, offset: usize, message: String) -> Self {
        let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        // Count characters, not bytes: skip UTF-8 continuation bytes.
        let column = before[line_start..].iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
        ParseError { line, column, message }
    }
}

/// A failure inside a parser, at a byte offset of the whole input. Parsers
/// pass offsets around, which is cheap; the line and column are worked out
/// once, when the failure leaves through the public API.
#[derive(Debug)]
pub(super) struct Fail {
    pub(super) at: usize,
    pub(super) msg: String,
}

impl Fail {
    pub(super) fn new(at: usize, msg: impl fmt::Display) -> Self {
        Fail { at, msg: msg.to_string() }
    }

    pub(super) fn into_error(self, text: &str) -> ParseError {
        ParseError::at(text, self.at, self.msg)
    }
}

/// The 1-based line number of byte `offset` of `text`, for messages that
/// refer to an earlier line.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    memchr::memchr_iter(b'\n', before).count() + 1
}
