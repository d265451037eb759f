//! The scrape itself, free of any HTTP stack: from a request's method,
//! query, `Accept` and `Accept-Encoding` to the status, headers and body of
//! the answer. The server and every framework adapter call this, so they all
//! answer alike: on a collector's panic, timeout or reported failure too.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, Semaphore};

use crate::encode::{negotiate, try_encode, CollectError};
use crate::registry::Restricted;
use crate::Collector;

/// How long a scrape may take unless told otherwise: Prometheus's default
/// scrape timeout.
pub(crate) const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many scrapes of one collector are computed at once unless told
/// otherwise: a scrape is CPU work, and two Prometheus servers of an HA pair
/// plus a person with curl rarely need more.
const DEFAULT_CONCURRENT_SCRAPES: usize = 4;

/// Answers scrapes of a collector (a [`Registry`](crate::Registry), usually):
/// the Rust counterpart of the Python client's `MetricsHandler` and
/// `make_wsgi_app`.
///
/// It negotiates the format from the `Accept` header, restricts the output to
/// the `name[]` query parameters when there are any, and compresses with gzip
/// when the client accepts it (unless compression is disabled). Cloning is
/// cheap: clones share the collector and the bound on concurrent scrapes.
///
/// A collector that panics gives `500` with the panic message; one that
/// reports a failure through [`MetricEncoder::fail`](crate::encode::MetricEncoder::fail)
/// gives `500` with the failure, never a partial exposition; both are logged
/// through the [`tracing`](https://docs.rs/tracing) facade. With
/// [`respond_async`](Self::respond_async), which the server and every
/// framework adapter use, a scrape runs on a thread of its own and one whose
/// collectors have not finished within the [scrape timeout](Self::scrape_timeout)
/// gives `503`. Every error answer has a one-line plain-text reason.
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
    scrape_timeout: Duration,
    /// One permit per scrape being computed. A collector that blocks keeps
    /// its permit, so blocked collectors cannot pile up threads.
    scrapes: Arc<Semaphore>,
    max_scrapes: usize,
}

impl std::fmt::Debug for MetricsHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHandler")
            .field("compression", &self.compression)
            .field("scrape_timeout", &self.scrape_timeout)
            .field("max_concurrent_scrapes", &self.max_scrapes)
            .finish_non_exhaustive()
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
    /// The `X-Prometheus-Scrape-Timeout-Seconds` header: a timeout shorter
    /// than the handler's own shortens this scrape's.
    pub scrape_timeout: &'a str,
}

impl ScrapeRequest<'static> {
    /// A plain `GET`: no query, no `Accept`, no compression.
    ///
    /// ```
    /// let req = promdecl_runtime::http::ScrapeRequest::get();
    /// assert_eq!((req.query, req.accept), ("", ""));
    /// ```
    pub fn get() -> Self {
        ScrapeRequest { method: "GET", query: "", accept: "", accept_encoding: "", scrape_timeout: "" }
    }
}

/// A [`ScrapeRequest`] that a scrape thread can own.
struct OwnedRequest {
    method: String,
    query: String,
    accept: String,
    accept_encoding: String,
}

impl OwnedRequest {
    fn new(req: &ScrapeRequest<'_>) -> Self {
        OwnedRequest {
            method: req.method.to_owned(),
            query: req.query.to_owned(),
            accept: req.accept.to_owned(),
            accept_encoding: req.accept_encoding.to_owned(),
        }
    }

    fn as_request(&self) -> ScrapeRequest<'_> {
        ScrapeRequest {
            method: &self.method,
            query: &self.query,
            accept: &self.accept,
            accept_encoding: &self.accept_encoding,
            scrape_timeout: "",
        }
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

    /// An error answer with `status` and a one-line `reason`; for `HEAD`
    /// without the body.
    pub(crate) fn error(status: u16, reason: &str, head: bool) -> MetricsResponse {
        let mut body: String = reason.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        body.push('\n');
        MetricsResponse {
            status,
            content_type: "text/plain; charset=utf-8",
            content_encoding: None,
            allow: None,
            content_length: body.len(),
            body: if head { Vec::new() } else { body.into_bytes() },
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
        MetricsHandler {
            collector: Arc::new(collector),
            compression: true,
            size_hint: Arc::new(AtomicUsize::new(0)),
            scrape_timeout: DEFAULT_SCRAPE_TIMEOUT,
            scrapes: Arc::new(Semaphore::new(DEFAULT_CONCURRENT_SCRAPES)),
            max_scrapes: DEFAULT_CONCURRENT_SCRAPES,
        }
    }

    /// How long [`respond_async`](Self::respond_async) waits for the
    /// collectors before it answers `503` (default 10 s, Prometheus's
    /// default scrape timeout). A scraper's shorter
    /// `X-Prometheus-Scrape-Timeout-Seconds` wins, less a tenth (at most
    /// half a second) so that the `503` reaches it before it gives up.
    ///
    /// ```
    /// use std::time::Duration;
    /// let handler = promdecl_runtime::http::MetricsHandler::default().scrape_timeout(Duration::from_secs(5));
    /// # let _ = handler;
    /// ```
    pub fn scrape_timeout(mut self, timeout: Duration) -> Self {
        self.scrape_timeout = timeout;
        self
    }

    /// At most `n` scrapes computed at once by this handler and the clones
    /// made from it after this call (default 4); more wait, within their
    /// timeout, for one to finish. A collector that blocks holds its place
    /// until it returns, so blocked collectors cannot pile up threads.
    /// `n` is at least 1.
    ///
    /// ```
    /// let handler = promdecl_runtime::http::MetricsHandler::default().max_concurrent_scrapes(2);
    /// # let _ = handler;
    /// ```
    pub fn max_concurrent_scrapes(mut self, n: usize) -> Self {
        let n = n.clamp(1, Semaphore::MAX_PERMITS);
        self.scrapes = Arc::new(Semaphore::new(n));
        self.max_scrapes = n;
        self
    }

    /// The timeout of one scrape: the handler's, or the scraper's if shorter.
    fn timeout_for(&self, header: &str) -> Duration {
        let asked = header.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0);
        match asked {
            Some(secs) => {
                let millis = (secs - (secs / 10.0).min(0.5)) * 1000.0;
                // Whole milliseconds: the 503's reason reads "1.35s", not "1.349999999s".
                let asked = Duration::try_from_secs_f64(millis.round() / 1000.0).unwrap_or(self.scrape_timeout);
                self.scrape_timeout.min(asked)
            }
            None => self.scrape_timeout,
        }
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
    /// here rather than on other requests (see [`respond_async`](Self::respond_async)).
    /// A collector's panic or reported failure gives `500`; a collector that
    /// blocks blocks the caller, as nothing can stop it here.
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
        if let Some(refused) = refuse_method(req) {
            return refused;
        }
        let head = is_head(req);
        match catch_unwind(AssertUnwindSafe(|| self.encode_answer(req))) {
            Ok(Ok(resp)) => resp,
            Ok(Err(failure)) => {
                tracing::error!(target: "promdecl::http", error = %failure, "scrape failed: a collector reported a failure");
                MetricsResponse::error(500, &format!("scrape failed: {failure}"), head)
            }
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                tracing::error!(target: "promdecl::http", panic = %message, "scrape failed: a collector panicked");
                MetricsResponse::error(500, &format!("scrape failed: a collector panicked: {message}"), head)
            }
        }
    }

    /// Answers one scrape like [`respond`](Self::respond), computed on a
    /// thread of its own so that the caller's async worker stays free, and
    /// within the [scrape timeout](Self::scrape_timeout): a scrape whose
    /// collectors have not finished by then gives `503` (the collector keeps
    /// its thread until it returns; nothing can stop it). At most
    /// [`max_concurrent_scrapes`](Self::max_concurrent_scrapes) are computed
    /// at once. The server and the axum, hyper and actix-web adapters answer
    /// through this.
    ///
    /// The timeout runs on Tokio's timer, which `#[tokio::main]`, axum's and
    /// actix-web's runtimes have; outside a Tokio runtime the scrape is
    /// answered on the calling thread, without a timeout.
    ///
    /// ```
    /// use promdecl_runtime::http::{MetricsHandler, ScrapeRequest};
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let handler = MetricsHandler::new(promdecl_runtime::Registry::new());
    /// let resp = handler.respond_async(&ScrapeRequest::get()).await;
    /// assert_eq!(resp.status, 200);
    /// # });
    /// ```
    pub fn respond_async(&self, req: &ScrapeRequest<'_>) -> impl Future<Output = MetricsResponse> + Send + 'static {
        let handler = self.clone();
        let refused = refuse_method(req);
        let head = is_head(req);
        let timeout = self.timeout_for(req.scrape_timeout);
        let owned = OwnedRequest::new(req);
        async move {
            if let Some(refused) = refused {
                return refused;
            }
            if tokio::runtime::Handle::try_current().is_err() {
                return handler.respond(&owned.as_request());
            }
            let deadline = tokio::time::Instant::now() + timeout;
            let scrapes = Arc::clone(&handler.scrapes);
            let Ok(Ok(permit)) = tokio::time::timeout_at(deadline, scrapes.acquire_owned()).await else {
                tracing::warn!(target: "promdecl::http", ?timeout, "scrape timed out waiting for earlier scrapes to finish");
                let reason = format!(
                    "scrape timed out after {timeout:?}: all {} scrape threads are taken by scrapes that have not \
                     finished (a collector may be blocked)",
                    handler.max_scrapes
                );
                return MetricsResponse::error(503, &reason, head);
            };
            let (tx, rx) = oneshot::channel();
            let worker = handler.clone();
            let spawned = std::thread::Builder::new().name("promdecl-scrape".into()).spawn(move || {
                let resp = worker.respond(&owned.as_request());
                drop(permit);
                let _ = tx.send(resp);
            });
            if let Err(e) = spawned {
                tracing::error!(target: "promdecl::http", error = %e, "cannot start a scrape thread");
                return MetricsResponse::error(503, &format!("cannot start a scrape thread: {e}"), head);
            }
            match tokio::time::timeout_at(deadline, rx).await {
                Ok(Ok(resp)) => resp,
                // `respond` catches panics, so the thread always sends.
                Ok(Err(_)) => {
                    MetricsResponse::error(500, "scrape failed: the scrape thread ended without an answer", head)
                }
                Err(_) => {
                    tracing::warn!(target: "promdecl::http", ?timeout, "scrape timed out: a collector has not finished");
                    MetricsResponse::error(
                        503,
                        &format!("scrape timed out after {timeout:?}: a collector has not finished"),
                        head,
                    )
                }
            }
        }
    }

    /// The exposition, or the first failure a collector reported.
    fn encode_answer(&self, req: &ScrapeRequest<'_>) -> Result<MetricsResponse, CollectError> {
        let head = is_head(req);
        let format = negotiate(req.accept);
        let names = requested_names(req.query);
        let mut body = Vec::with_capacity(self.size_hint.load(Ordering::Relaxed).max(4096));
        if names.is_empty() {
            try_encode(&*self.collector, format, &mut body)?;
        } else {
            try_encode(&Restricted::new(&*self.collector, names), format, &mut body)?;
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
        Ok(MetricsResponse {
            status: 200,
            content_type: format.content_type(),
            content_encoding,
            allow: None,
            content_length,
            body,
        })
    }
}

fn is_head(req: &ScrapeRequest<'_>) -> bool {
    req.method.eq_ignore_ascii_case("HEAD")
}

/// The 405 for a method other than `GET` and `HEAD`.
fn refuse_method(req: &ScrapeRequest<'_>) -> Option<MetricsResponse> {
    if is_head(req) || req.method.eq_ignore_ascii_case("GET") {
        return None;
    }
    let mut resp = MetricsResponse::plain(405, "only GET and HEAD are allowed\n");
    resp.allow = Some("GET, HEAD");
    Some(resp)
}

/// What a panic said, when it said it with a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
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
    fn a_shorter_scrape_timeout_header_wins_less_a_margin() {
        let handler = MetricsHandler::new(crate::Registry::new());
        let ms = |header| handler.timeout_for(header).as_millis();
        assert_eq!(ms(""), 10_000);
        assert_eq!(ms("1.5"), 1350);
        assert_eq!(ms(" 0.2 "), 180);
        assert_eq!(ms("9"), 8500);
        assert_eq!(ms("30"), 10_000);
        for ignored in ["0", "-1", "abc", "NaN", "inf", "1e400"] {
            assert_eq!(ms(ignored), 10_000, "{ignored}");
        }
        let short = handler.scrape_timeout(Duration::from_millis(300));
        assert_eq!(short.timeout_for("5").as_millis(), 300);
    }

    #[test]
    fn error_answers_are_one_line() {
        let resp = MetricsResponse::error(500, "a\nb\r\nc", false);
        assert_eq!(resp.body, b"a b  c\n");
        assert_eq!(resp.content_length, 7);
        let head = MetricsResponse::error(503, "x", true);
        assert_eq!((head.body.len(), head.content_length), (0, 2));
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
