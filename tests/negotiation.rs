//! Content negotiation: `Accept` header -> format, escaping scheme and exact
//! `Content-Type`, row by row against the Python client's `choose_encoder`
//! (captured in research/python_ref.md, section 1).
//!
//! One deliberate difference: a version that is not a number (`version=abc`,
//! `version="1.0.0"`) skips the entry instead of raising `TypeError`.

use promdecl::encode::{negotiate, EscapingScheme, Format, FormatKind};

use EscapingScheme::{AllowUtf8, Dots, Underscores, Values};
use FormatKind::{OpenMetrics100, Text004, Text100};

const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";
const OM_PLAIN: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const PROM_2_42: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,\
                         text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROTOBUF_FIRST: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                              encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
const PROM_3: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,\
                      application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                      text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,*/*;q=0.1";

/// (Accept, format, escaping, Content-Type)
const ROWS: &[(&str, FormatKind, EscapingScheme, &str)] = &[
    ("", Text004, Underscores, TEXT_004),
    ("*/*", Text004, Underscores, TEXT_004),
    ("text/plain", Text004, Underscores, TEXT_004),
    ("text/plain;version=0.0.4", Text004, Underscores, TEXT_004),
    (
        "text/plain; version=1.0.0",
        Text100,
        Underscores,
        "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    (
        "text/plain;version=1.0.0;escaping=allow-utf-8",
        Text100,
        AllowUtf8,
        "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
    ),
    (
        "text/plain; version=1.0.0; escaping=dots",
        Text100,
        Dots,
        "text/plain; version=1.0.0; charset=utf-8; escaping=dots",
    ),
    (
        "text/plain; version=1.0.0; escaping=values",
        Text100,
        Values,
        "text/plain; version=1.0.0; charset=utf-8; escaping=values",
    ),
    (
        "text/plain;version=1.0.0;escaping=bogus",
        Text100,
        Underscores,
        "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    ("text/plain;version=2", Text100, Underscores, "text/plain; version=1.0.0; charset=utf-8; escaping=underscores"),
    ("text/plain;escaping=allow-utf-8", Text004, Underscores, TEXT_004),
    ("text/plain;version=", Text004, Underscores, TEXT_004),
    ("application/openmetrics-text", OpenMetrics100, Underscores, OM_PLAIN),
    ("application/openmetrics-text; escaping=allow-utf-8", OpenMetrics100, Underscores, OM_PLAIN),
    // Spaces around '=' make the parameter unknown, so there is no version.
    ("application/openmetrics-text; version = 1.0.0", OpenMetrics100, Underscores, OM_PLAIN),
    (
        "application/openmetrics-text; version=1.0.0",
        OpenMetrics100,
        Underscores,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    ("application/openmetrics-text;version=0.0.1", Text004, Underscores, TEXT_004),
    ("application/openmetrics-text; version=1.0", Text004, Underscores, TEXT_004),
    (
        "application/openmetrics-text; version=1.0.0; escaping=underscores",
        OpenMetrics100,
        Underscores,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    (
        "application/openmetrics-text; version=1.0.0; escaping=dots",
        OpenMetrics100,
        Dots,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots",
    ),
    (
        "application/openmetrics-text; version=1.0.0; escaping=values",
        OpenMetrics100,
        Values,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=values",
    ),
    (
        "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
        OpenMetrics100,
        AllowUtf8,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
    ),
    (
        "application/openmetrics-text;escaping=dots;version=1.0.0",
        OpenMetrics100,
        Dots,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots",
    ),
    // The first `version=` and the first `escaping=` count.
    (
        "application/openmetrics-text;version=1.0.0;version=0.0.1",
        OpenMetrics100,
        Underscores,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    (
        "application/openmetrics-text;version=1.0.0;escaping=dots;escaping=values",
        OpenMetrics100,
        Dots,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots",
    ),
    (
        "  application/openmetrics-text  ; version=1.0.0",
        OpenMetrics100,
        Underscores,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    (
        PROM_2_42,
        OpenMetrics100,
        Underscores,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    // q-values are ignored: header order decides.
    (
        "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.1",
        OpenMetrics100,
        Underscores,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    (
        "application/openmetrics-text;version=0.0.1,text/plain;version=1.0.0",
        Text100,
        Underscores,
        "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    (
        "text/plain;version=1.0.0,application/openmetrics-text",
        Text100,
        Underscores,
        "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    // Media types match exactly and case-sensitively.
    ("APPLICATION/OPENMETRICS-TEXT", Text004, Underscores, TEXT_004),
    ("Text/Plain;version=1.0.0", Text004, Underscores, TEXT_004),
    ("application/openmetrics-text+x", Text004, Underscores, TEXT_004),
    // Our deliberate difference: non-numeric versions skip the entry.
    ("application/openmetrics-text; version=\"1.0.0\"", Text004, Underscores, TEXT_004),
    ("application/openmetrics-text; version=abc", Text004, Underscores, TEXT_004),
    ("text/plain; version=abc", Text004, Underscores, TEXT_004),
    (
        "application/openmetrics-text;version=abc,text/plain;version=1.0.0",
        Text100,
        Underscores,
        "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    // Garbage never fails the scrape.
    (",,,;;;===", Text004, Underscores, TEXT_004),
    ("application/openmetrics-text;version=1..0", Text004, Underscores, TEXT_004),
];

#[test]
fn accept_header_table() {
    let mut failures = Vec::new();
    for &(accept, kind, escaping, content_type) in ROWS {
        let f = negotiate(accept);
        if (f.kind, f.escaping, f.content_type()) != (kind, escaping, content_type) {
            failures.push(format!(
                "  {accept:?}\n    want {kind:?} {escaping:?} {content_type:?}\n    got  {:?} {:?} {:?}",
                f.kind,
                f.escaping,
                f.content_type()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows differ:\n{}", failures.len(), ROWS.len(), failures.join("\n"));
}

#[test]
fn constants_match_their_negotiated_forms() {
    assert_eq!(negotiate(""), Format::TEXT);
    assert_eq!(Format::TEXT.content_type(), TEXT_004);
    assert_eq!(negotiate("application/openmetrics-text;version=1.0.0"), Format::OPENMETRICS);
    assert_eq!(
        Format::OPENMETRICS.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    );
}

/// Python echoes any requested OpenMetrics version >= 1.0.0 in the
/// Content-Type; we answer with the version we write, 1.0.0.
#[test]
fn openmetrics_content_type_names_the_version_written() {
    for accept in ["application/openmetrics-text; version=2.0.0", "application/openmetrics-text; version=3"] {
        let f = negotiate(accept);
        assert_eq!(f.kind, OpenMetrics100, "{accept}");
        assert_eq!(
            f.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
            "{accept}"
        );
    }
}

/// Python treats an empty `version=` like a missing one (`if not version`),
/// so OpenMetrics 1.0.0 without an `escaping=` parameter.
#[test]
fn empty_openmetrics_version_is_like_none() {
    let f = negotiate("application/openmetrics-text;version=");
    assert_eq!((f.kind, f.escaping, f.content_type()), (OpenMetrics100, Underscores, OM_PLAIN));
}

/// Headers that ask for protobuf first: with the `protobuf` feature that is
/// what they get; without it, what the Python client answers (the first
/// text format it knows).
#[test]
fn protobuf_first_headers() {
    #[cfg(feature = "protobuf")]
    {
        const PROTOBUF: &str =
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
        for accept in [PROTOBUF_FIRST, PROM_3] {
            let f = negotiate(accept);
            assert_eq!(
                (f.kind, f.escaping, f.content_type()),
                (FormatKind::Protobuf, Underscores, PROTOBUF),
                "{accept}"
            );
        }
        let f = negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8");
        assert_eq!(f.escaping, AllowUtf8);
        assert_eq!(f.content_type(), format!("{PROTOBUF}; escaping=allow-utf-8"));
        // Other protobuf messages or encodings are not ours.
        for accept in [
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
            "application/vnd.google.protobuf;proto=other.Message;encoding=delimited",
            "application/vnd.google.protobuf",
        ] {
            assert_eq!(negotiate(accept), Format::TEXT, "{accept}");
        }
    }
    #[cfg(not(feature = "protobuf"))]
    {
        assert_eq!(negotiate(PROTOBUF_FIRST), Format::TEXT);
        let f = negotiate(PROM_3);
        assert_eq!(
            (f.kind, f.escaping, f.content_type()),
            (
                OpenMetrics100,
                AllowUtf8,
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
            )
        );
    }
}
