//! A hyper and tower `Service` answering scrapes (feature `http`), to mount
//! in a server of one's own, or in any tower stack.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, ACCEPT, ACCEPT_ENCODING};
use hyper::{Request, Response, StatusCode};

use super::{MetricsHandler, MetricsResponse, ScrapeRequest};

/// A [`hyper::service::Service`] and [`tower_service::Service`] that answers
/// every request with a scrape of its [`MetricsHandler`]; routing is the
/// caller's. It never reads the request body. Scrapes are computed through
/// [`MetricsHandler::respond_async`]: on a thread of their own, within the
/// scrape timeout, with `500` for a collector's panic or failure and `503`
/// for a timeout.
///
/// ```
/// use promdecl_runtime::http::{MetricsHandler, MetricsService};
/// use hyper::service::Service as _;
///
/// let service = MetricsService::new(MetricsHandler::new(promdecl_runtime::Registry::new()));
/// let req = hyper::Request::get("/metrics").body(()).unwrap();
/// let resp = block_on(service.call(req)).unwrap();
/// assert_eq!(resp.status(), 200);
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
///
/// In a hyper server:
///
/// ```no_run
/// # async fn run(stream: tokio::net::TcpStream) {
/// use promdecl_runtime::http::MetricsService;
/// let service = MetricsService::default(); // the default registry
/// hyper::server::conn::http1::Builder::new()
///     .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
///     .await
///     .unwrap();
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetricsService {
    handler: MetricsHandler,
}

impl MetricsService {
    /// A service answering with `handler`.
    ///
    /// ```
    /// use promdecl_runtime::http::{MetricsHandler, MetricsService};
    /// let service = MetricsService::new(MetricsHandler::default().disable_compression());
    /// # let _ = service;
    /// ```
    pub fn new(handler: MetricsHandler) -> Self {
        MetricsService { handler }
    }

    /// The answer to `req`, whatever its body, computed on the calling
    /// thread ([`MetricsHandler::respond`]); calling the service computes it
    /// on a thread of its own instead, within the scrape timeout.
    ///
    /// ```
    /// let service = promdecl_runtime::http::MetricsService::default();
    /// let resp = service.respond(&hyper::Request::head("/").body(()).unwrap());
    /// assert_eq!(resp.status(), 200);
    /// ```
    pub fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        into_hyper(self.handler.respond(&scrape_request(req)))
    }
}

/// The parts of a request a scrape depends on.
pub(crate) fn scrape_request<B>(req: &Request<B>) -> ScrapeRequest<'_> {
    let header = |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).unwrap_or("");
    ScrapeRequest {
        method: req.method().as_str(),
        query: req.uri().query().unwrap_or(""),
        accept: header(ACCEPT),
        accept_encoding: header(ACCEPT_ENCODING),
        scrape_timeout: header(SCRAPE_TIMEOUT),
    }
}

/// The header Prometheus sends with its scrape timeout, in seconds.
const SCRAPE_TIMEOUT: HeaderName = HeaderName::from_static("x-prometheus-scrape-timeout-seconds");

/// A handler's answer as a hyper response.
pub(crate) fn into_hyper(resp: MetricsResponse) -> Response<Full<Bytes>> {
    into_hyper_with(resp, Bytes::from)
}

/// A handler's answer as a hyper response, its body made into `Bytes` by
/// `body`.
pub(crate) fn into_hyper_with(resp: MetricsResponse, body: impl FnOnce(Vec<u8>) -> Bytes) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(Bytes::new()));
    *out.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in resp.headers() {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    *out.body_mut() = Full::new(body(resp.body));
    out
}

/// The future of a scrape through [`MetricsService`].
type ScrapeFuture = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>>;

impl MetricsService {
    fn scrape<B>(&self, req: &Request<B>) -> ScrapeFuture {
        let answer = self.handler.respond_async(&scrape_request(req));
        Box::pin(async move { Ok(into_hyper(answer.await)) })
    }
}

impl<B> hyper::service::Service<Request<B>> for MetricsService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ScrapeFuture;

    fn call(&self, req: Request<B>) -> Self::Future {
        self.scrape(&req)
    }
}

impl<B> tower_service::Service<Request<B>> for MetricsService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ScrapeFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.scrape(&req)
    }
}
