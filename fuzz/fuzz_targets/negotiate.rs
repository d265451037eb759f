//! Content negotiation and `name[]` query parsing: any `Accept`,
//! `Accept-Encoding` and query get an answer in the negotiated format that
//! parses, and without a `name[]` the whole registry.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use promdecl::encode::{negotiate, FormatKind};
use promdecl::http::{MetricsHandler, ScrapeRequest};
use promdecl::{Counter, Gauge, Histogram, Registry};

fn handler() -> &'static MetricsHandler {
    static HANDLER: OnceLock<MetricsHandler> = OnceLock::new();
    HANDLER.get_or_init(|| {
        let registry = Registry::new();
        Counter::builder("requests", "Requests.").register(&registry).unwrap().inc();
        Gauge::builder("temp", "T.").unit("celsius").register(&registry).unwrap().set(-1.5);
        let h = Histogram::builder("latency", "L.").labels(["op"]).register(&registry).unwrap();
        h.with_label_values(&["read"]).unwrap().observe(0.2);
        let q = Gauge::builder("queue", "Q \\ \"q\"\n.").labels(["name"]).register(&registry).unwrap();
        q.with_label_values(&["a\"b\nc\\"]).unwrap().set(f64::NAN);
        MetricsHandler::new(registry).disable_compression()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Four fields split by NUL: query, Accept, Accept-Encoding and
    // X-Prometheus-Scrape-Timeout-Seconds.
    let mut parts = text.splitn(4, '\0');
    let mut next = || parts.next().unwrap_or("");
    let (query, accept, accept_encoding, scrape_timeout) = (next(), next(), next(), next());
    let format = negotiate(accept);
    let resp = handler().respond(&ScrapeRequest { method: "GET", query, accept, accept_encoding, scrape_timeout });
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type, format.content_type());
    let body = String::from_utf8(resp.body).expect("text formats are UTF-8");
    let families = match format.kind {
        FormatKind::OpenMetrics100 => promdecl::parse_openmetrics(&body),
        _ => promdecl::parse_text(&body),
    }
    .unwrap_or_else(|e| panic!("{format:?} answer does not parse: {e}\n{body}"));
    // A query that cannot name a family restricts nothing.
    if !query.contains("name") && !query.contains('%') {
        assert_eq!(families.len(), 4, "{query:?}\n{body}");
    }
});
