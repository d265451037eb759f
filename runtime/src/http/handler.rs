//! The scrape itself, free of any HTTP stack: from a request's method,
//! query, `Accept` and `Accept-Encoding` to the status, headers and body of
//! the answer. The server and every framework adapter call this, so they all
//! answer alike.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::encode::{encode, negotiate};
use crate::registry::Restricted;
use crate::Collector;

/// Answers scrapes of a collector (a [`Registry`](crate::Registry), usually):
/// the Rust counterpart of the Python client's `MetricsHandler` and
/// `make_wsgi_app`.
///
/// It negotiates the format from the `Accept` header, restricts the output to
/// the `name[]` query parameters when there are any, and compresses with gzip
/// when the client accepts it (unless compression is disabled). Cloning is
/// cheap: clones share the collector.
///
/// ```
/// use promdecl_runtime::http::{MetricsHandler, ScrapeRequest};
/// use promdecl_runtime::{Counter, Registry};
/// use std::sync::Arc;
///
/// let registry = Arc::new(Registry::new());
/// Counter::builder("jobs", "Jobs run.").register(&registry).unwrap().inc();
/// let handler = MetricsHandler::new(Arc::clone(&registry));
///
/// let resp = handler.respond(&ScrapeRequest::get());
/// assert_eq!(resp.status, 200);
/// assert_eq!(resp.content_type, "text/plain; version=0.0.4; charset=utf-8");
/// assert_eq!(resp.body, b"# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 1\n");
/// ```
#[derive(Clone)]
pub struct MetricsHandler {
    collector: Arc<dyn Collector>,
    compression: bool,
    /// The size of the last exposition: the next one starts with a buffer
    /// that size, so it is not grown (and copied) step by step.
    size_hint: Arc<AtomicUsize>,
}

impl std::fmt::Debug for MetricsHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHandler").field("compression", &self.compression).finish_non_exhaustive()
    }
}

impl Default for MetricsHandler {
    /// A handler of the [default registry](crate::default_registry).
    fn default() -> Self {
        MetricsHandler::new(crate::default_registry())
    }
}

/// What a scrape request says that matters to the answer. Headers that are
/// absent are empty strings.
///
/// ```
/// use promdecl_runtime::http::ScrapeRequest;
/// let req = ScrapeRequest { accept: "application/openmetrics-text", ..ScrapeRequest::get() };
/// assert_eq!(req.method, "GET");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeRequest<'a> {
    /// The method: `GET` and `HEAD` are answered, anything else gets 405.
    pub method: &'a str,
    /// The query string without the `?`, such as `name[]=up`.
    pub query: &'a str,
    /// The `Accept` header.
    pub accept: &'a str,
    /// The `Accept-Encoding` header.
    pub accept_encoding: &'a str,
}

impl ScrapeRequest<'static> {
    /// A plain `GET`: no query, no `Accept`, no compression.
    ///
    /// ```
    /// let req = promdecl_runtime::http::ScrapeRequest::get();
    /// assert_eq!((req.query, req.accept), ("", ""));
    /// ```
    pub fn get() -> Self {
        ScrapeRequest { method: "GET", query: "", accept: "", accept_encoding: "" }
    }
}

/// The answer to a scrape, for an HTTP stack to send.
///
/// `body` is empty for `HEAD`; `content_length` is the length of the body a
/// `GET` would have had.
///
/// ```
/// use promdecl_runtime::http::{MetricsHandler, ScrapeRequest};
/// use promdecl_runtime::Registry;
/// let handler = MetricsHandler::new(Registry::new());
/// let resp = handler.respond(&ScrapeRequest { method: "POST", ..ScrapeRequest::get() });
/// assert_eq!(resp.status, 405);
/// assert!(resp.headers().any(|(name, value)| name == "allow" && value == "GET, HEAD"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The `Content-Encoding`, when the body is compressed.
    pub content_encoding: Option<&'static str>,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
    /// The `Content-Length`.
    pub content_length: usize,
    /// The body.
    pub body: Vec<u8>,
}

impl MetricsResponse {
    /// Every header to send, `Content-Length` included, with lowercase
    /// names (as HTTP/2 requires and HTTP/1.1 allows).
    ///
    /// ```
    /// use promdecl_runtime::http::{MetricsHandler, ScrapeRequest};
    /// let resp = MetricsHandler::new(promdecl_runtime::Registry::new()).respond(&ScrapeRequest::get());
    /// let names: Vec<&str> = resp.headers().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["content-type", "content-length", "vary"]);
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let ok = self.status == 200;
        [
            Some(("content-type", self.content_type.to_owned())),
            self.content_encoding.map(|e| ("content-encoding", e.to_owned())),
            Some(("content-length", self.content_length.to_string())),
            // What the body depends on, for caches between us and the scraper.
            ok.then(|| ("vary", "Accept, Accept-Encoding".to_owned())),
            self.allow.map(|a| ("allow", a.to_owned())),
        ]
        .into_iter()
        .flatten()
    }

    /// A plain-text answer with `status`.
    pub(crate) fn plain(status: u16, text: &'static str) -> MetricsResponse {
        MetricsResponse {
            status,
            content_type: "text/plain; charset=utf-8",
            content_encoding: None,
            allow: None,
            content_length: text.len(),
            body: text.as_bytes().to_vec(),
        }
    }
}

impl MetricsHandler {
    /// A handler of `collector`: a [`Registry`](crate::Registry), an
    /// `Arc<Registry>`, a `&'static Registry` or any other [`Collector`].
    ///
    /// ```
    /// use promdecl_runtime::{http::MetricsHandler, default_registry};
    /// let handler = MetricsHandler::new(default_registry());
    /// # let _ = handler;
    /// ```
    pub fn new(collector: impl Collector + 'static) -> Self {
        MetricsHandler { collector: Arc::new(collector), compression: true, size_hint: Arc::new(AtomicUsize::new(0)) }
    }

    /// Never compresses, whatever the client accepts (the Python client's
    /// `disable_compression`): for scrapers on the same host, where gzip
    /// costs more CPU than it saves in bytes.
    ///
    /// ```
    /// use promdecl_runtime::http::{MetricsHandler, ScrapeRequest};
    /// let handler = MetricsHandler::new(promdecl_runtime::Registry::new()).disable_compression();
    /// let resp = handler.respond(&ScrapeRequest { accept_encoding: "gzip", ..ScrapeRequest::get() });
    /// assert_eq!(resp.content_encoding, None);
    /// ```
    pub fn disable_compression(mut self) -> Self {
        self.compression = false;
        self
    }

    /// Answers one scrape, encoding on the calling thread: about a
    /// millisecond per 10,000 series, which an async server's worker spends
    /// here rather than on other requests.
    ///
    /// ```
    /// use promdecl_runtime::http::{MetricsHandler, ScrapeRequest};
    /// use promdecl_runtime::{Counter, Gauge, Registry};
    /// use std::sync::Arc;
    ///
    /// let registry = Arc::new(Registry::new());
    /// Counter::builder("a", "A.").register(&registry).unwrap();
    /// Gauge::builder("b", "B.").register(&registry).unwrap();
    /// let handler = MetricsHandler::new(registry);
    /// let resp = handler.respond(&ScrapeRequest {
    ///     query: "name[]=b",
    ///     accept: "application/openmetrics-text; version=1.0.0",
    ///     ..ScrapeRequest::get()
    /// });
    /// assert_eq!(String::from_utf8(resp.body).unwrap(), "# HELP b B.\n# TYPE b gauge\nb 0.0\n# EOF\n");
    /// ```
    pub fn respond(&self, req: &ScrapeRequest<'_>) -> MetricsResponse {
        let head = req.method.eq_ignore_ascii_case("HEAD");
        if !head && !req.method.eq_ignore_ascii_case("GET") {
            let mut resp = MetricsResponse::plain(405, "only GET and HEAD are allowed\n");
            resp.allow = Some("GET, HEAD");
            return resp;
        }
        let format = negotiate(req.accept);
        let names = requested_names(req.query);
        let mut body = Vec::with_capacity(self.size_hint.load(Ordering::Relaxed).max(4096));
        if names.is_empty() {
            encode(&*self.collector, format, &mut body);
        } else {
            encode(&Restricted::new(&*self.collector, names), format, &mut body);
        }
        self.size_hint.store(body.len(), Ordering::Relaxed);
        let mut content_encoding = None;
        if self.compression && accepts_gzip(req.accept_encoding) {
            body = super::gzip::compress(&body);
            content_encoding = Some("gzip");
        }
        let content_length = body.len();
        if head {
            body = Vec::new();
        }
        MetricsResponse {
            status: 200,
            content_type: format.content_type(),
            content_encoding,
            allow: None,
            content_length,
            body,
        }
    }
}

/// The values of `name[]` parameters, percent-decoded.
fn requested_names(query: &str) -> std::collections::HashSet<String> {
    form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "name[]").map(|(_, v)| v.into_owned()).collect()
}

/// Whether an `Accept-Encoding` header accepts gzip: `gzip`, `x-gzip` or `*`
/// with a quality above zero (RFC 9110, section 12.5.3).
fn accepts_gzip(header: &str) -> bool {
    header.split(',').any(|entry| {
        let mut parts = entry.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let wanted = ["gzip", "x-gzip", "*"].iter().any(|c| coding.eq_ignore_ascii_case(c));
        let quality = parts
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f64>().ok());
        wanted && quality.is_some_and(|q| q > 0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_are_decoded() {
        let names = requested_names("name[]=a_total&x=1&name%5B%5D=b%3Ac&name[]=%zz");
        let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["%zz", "a_total", "b:c"]);
    }

    #[test]
    fn gzip_acceptance() {
        for yes in ["gzip", "GZIP", "deflate, gzip", "gzip;q=0.5", "x-gzip", "*", "br;q=1.0, gzip; q=0.001"] {
            assert!(accepts_gzip(yes), "{yes}");
        }
        for no in ["", "identity", "deflate, br", "gzip;q=0", "gzip; q=0.0", "gzipx", "gzip;q=abc", "*;q=0"] {
            assert!(!accepts_gzip(no), "{no}");
        }
    }
}
