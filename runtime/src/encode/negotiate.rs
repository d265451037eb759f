//! Content negotiation: from an `Accept` header to a format and its exact
//! `Content-Type`, following the Python client's `choose_encoder`.

/// How names that are not legacy-valid are written (the Prometheus
/// escaping-schemes specification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscapingScheme {
    /// Invalid characters become `_`.
    Underscores,
    /// `.` becomes `_dot_`, `_` becomes `__`, others `__`.
    Dots,
    /// `U__` prefix, `_` doubled, others as `_<hex code point>_`.
    Values,
    /// Names are kept and quoted where needed.
    AllowUtf8,
}

impl EscapingScheme {
    /// The scheme's name in the `escaping=` parameter.
    ///
    /// ```
    /// use promdecl_runtime::encode::EscapingScheme;
    /// assert_eq!(EscapingScheme::AllowUtf8.as_str(), "allow-utf-8");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            EscapingScheme::Underscores => "underscores",
            EscapingScheme::Dots => "dots",
            EscapingScheme::Values => "values",
            EscapingScheme::AllowUtf8 => "allow-utf-8",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "allow-utf-8" => EscapingScheme::AllowUtf8,
            "dots" => EscapingScheme::Dots,
            "values" => EscapingScheme::Values,
            _ => EscapingScheme::Underscores,
        }
    }
}

/// The exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatKind {
    /// Prometheus text format 0.0.4.
    Text004,
    /// Prometheus text format 1.0.0 (0.0.4 plus quoted UTF-8 names).
    Text100,
    /// OpenMetrics 1.0 text.
    OpenMetrics100,
    /// Prometheus protobuf, length-delimited `io.prometheus.client.MetricFamily`
    /// messages (feature `protobuf`): the format of native histograms.
    #[cfg(feature = "protobuf")]
    Protobuf,
}

/// A negotiated exposition format.
///
/// ```
/// use promdecl_runtime::encode::{negotiate, Format};
/// let f = negotiate("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
/// assert_eq!(f, Format::OPENMETRICS);
/// assert_eq!(
///     f.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Which format.
    pub kind: FormatKind,
    /// How non-legacy names are written.
    pub escaping: EscapingScheme,
    /// Whether the negotiated `Content-Type` names the escaping scheme.
    pub announce_escaping: bool,
}

impl Format {
    /// Prometheus text 0.0.4, the default when nothing better is offered.
    pub const TEXT: Format =
        Format { kind: FormatKind::Text004, escaping: EscapingScheme::Underscores, announce_escaping: false };
    /// OpenMetrics 1.0.0 with underscore escaping.
    pub const OPENMETRICS: Format =
        Format { kind: FormatKind::OpenMetrics100, escaping: EscapingScheme::Underscores, announce_escaping: true };
    /// Prometheus protobuf (delimited `MetricFamily` messages) with
    /// underscore escaping (feature `protobuf`).
    ///
    /// ```
    /// use promdecl_runtime::encode::{negotiate, Format};
    /// let prometheus = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,\
    ///                   application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5";
    /// assert_eq!(negotiate(prometheus), Format::PROTOBUF);
    /// assert_eq!(
    ///     Format::PROTOBUF.content_type(),
    ///     "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    /// );
    /// ```
    #[cfg(feature = "protobuf")]
    pub const PROTOBUF: Format =
        Format { kind: FormatKind::Protobuf, escaping: EscapingScheme::Underscores, announce_escaping: false };

    /// The exact `Content-Type` to answer with.
    ///
    /// ```
    /// use promdecl_runtime::encode::Format;
    /// assert_eq!(Format::TEXT.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    /// ```
    pub fn content_type(&self) -> &'static str {
        use EscapingScheme::*;
        use FormatKind::*;
        match (self.kind, self.announce_escaping, self.escaping) {
            (Text004, ..) => "text/plain; version=0.0.4; charset=utf-8",
            (Text100, _, Underscores) => "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
            (Text100, _, Dots) => "text/plain; version=1.0.0; charset=utf-8; escaping=dots",
            (Text100, _, Values) => "text/plain; version=1.0.0; charset=utf-8; escaping=values",
            (Text100, _, AllowUtf8) => "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
            (OpenMetrics100, false, _) => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            (OpenMetrics100, true, Underscores) => {
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
            }
            (OpenMetrics100, true, Dots) => "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots",
            (OpenMetrics100, true, Values) => {
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values"
            }
            (OpenMetrics100, true, AllowUtf8) => {
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
            }
            #[cfg(feature = "protobuf")]
            (Protobuf, false, _) => PROTOBUF,
            #[cfg(feature = "protobuf")]
            (Protobuf, true, Underscores) => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores"
            }
            #[cfg(feature = "protobuf")]
            (Protobuf, true, Dots) => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=dots"
            }
            #[cfg(feature = "protobuf")]
            (Protobuf, true, Values) => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=values"
            }
            #[cfg(feature = "protobuf")]
            (Protobuf, true, AllowUtf8) => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8"
            }
        }
    }
}

/// The `Content-Type` of the protobuf format.
#[cfg(feature = "protobuf")]
const PROTOBUF: &str = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Parses a dotted version into numbers; `None` if any part is not a number.
fn parse_version(v: &str) -> Option<Vec<u64>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

/// Lexicographic, as the reference compares version tuples: "1.0" is below
/// "1.0.0", "2" above it.
fn at_least_1_0_0(v: &str) -> bool {
    parse_version(v).is_some_and(|p| p.as_slice() >= [1, 0, 0].as_slice())
}

/// Chooses the format for an `Accept` header, as the Python client's
/// `choose_encoder` does: the first entry, in header order, that names
/// OpenMetrics (any version, or >= 1.0.0) or `text/plain` with version >= 1.0.0
/// wins; otherwise Prometheus text 0.0.4. A version that is not a number skips
/// the entry instead of failing the scrape.
///
/// ```
/// use promdecl_runtime::encode::{negotiate, Format, FormatKind, EscapingScheme};
/// assert_eq!(negotiate(""), Format::TEXT);
/// let f = negotiate("text/plain;version=1.0.0;escaping=allow-utf-8");
/// assert_eq!((f.kind, f.escaping), (FormatKind::Text100, EscapingScheme::AllowUtf8));
/// ```
pub fn negotiate(accept: &str) -> Format {
    for entry in accept.split(',') {
        let mut params = entry.split(';');
        let media = params.next().unwrap_or("").trim();
        let mut version = None;
        let mut escaping = EscapingScheme::Underscores;
        let mut escaping_seen = false;
        let (mut proto, mut delimited) = (false, false);
        for p in params {
            let Some((k, v)) = p.trim().split_once('=') else {
                continue;
            };
            match k {
                "proto" => proto = v == "io.prometheus.client.MetricFamily",
                "encoding" => delimited = v == "delimited",
                "version" if version.is_none() => version = Some(v).filter(|v| !v.is_empty()),
                "escaping" if !escaping_seen => {
                    escaping = EscapingScheme::parse(v);
                    escaping_seen = true;
                }
                _ => {}
            }
        }
        // Without the feature, protobuf is never offered.
        #[cfg(not(feature = "protobuf"))]
        let _ = (proto, delimited);
        match media {
            "application/openmetrics-text" => match version {
                None => return Format::OPENMETRICS.without_announcement(),
                Some(v) if at_least_1_0_0(v) => {
                    return Format { kind: FormatKind::OpenMetrics100, escaping, announce_escaping: true }
                }
                Some(_) => {}
            },
            "text/plain" if version.is_some_and(at_least_1_0_0) => {
                return Format { kind: FormatKind::Text100, escaping, announce_escaping: true };
            }
            #[cfg(feature = "protobuf")]
            "application/vnd.google.protobuf" if proto && delimited => {
                return Format { kind: FormatKind::Protobuf, escaping, announce_escaping: escaping_seen };
            }
            _ => {}
        }
    }
    Format::TEXT
}

impl Format {
    fn without_announcement(self) -> Self {
        Format { announce_escaping: false, ..self }
    }
}
