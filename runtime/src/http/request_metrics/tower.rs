//! The tower [`Layer`](tower_layer::Layer), for any hyper or tower service
//! (feature `http`).
//!
//! The layer cannot know the routes of the service it wraps: give it a
//! route extractor ([`RequestMetricsLayer::route_with`]), or every request
//! is recorded under [`Route::UNKNOWN`]. The axum layer
//! ([`super::axum::layer`]) reads axum's matched route itself.

use std::task::{Context, Poll};

use tower_service::Service;

use super::labels::{Method, RequestLabelSet, RequestLabels, Route};
use super::record::{content_length, Recording, ResponseFuture};
use super::RequestMetrics;

/// Tells the route template of a request, for the `http_route` label.
///
/// Implemented by [`NoRoute`], by axum's matched path
/// ([`MatchedPathRoute`](super::axum::MatchedPathRoute), feature `axum`),
/// and by closures `Fn(&Uri, &Extensions) -> Route`, which should return
/// templates, never raw paths, and [`Route::UNMATCHED`] for the rest:
///
/// ```
/// use promdecl_runtime::http::request_metrics::{ExtractRoute, Route};
/// use hyper::http::{Extensions, Uri};
///
/// let extract = |uri: &Uri, _: &Extensions| match uri.path() {
///     "/" => Route::from_static("/"),
///     p if p.starts_with("/users/") => Route::from_static("/users/{id}"),
///     _ => Route::UNMATCHED,
/// };
/// let req = hyper::Request::get("/users/7").body(()).unwrap();
/// assert_eq!(extract.route(&req), Route::new("/users/{id}"));
/// ```
pub trait ExtractRoute: Clone {
    /// The route of `request`.
    fn route<B>(&self, request: &hyper::Request<B>) -> Route;
}

/// No route extractor: every request is recorded under [`Route::UNKNOWN`].
///
/// ```
/// use promdecl_runtime::http::request_metrics::{ExtractRoute, NoRoute, Route};
/// assert_eq!(NoRoute.route(&hyper::Request::get("/x").body(()).unwrap()), Route::UNKNOWN);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoute;

impl ExtractRoute for NoRoute {
    fn route<B>(&self, _: &hyper::Request<B>) -> Route {
        Route::UNKNOWN
    }
}

impl<F> ExtractRoute for F
where
    F: Fn(&hyper::Uri, &hyper::http::Extensions) -> Route + Clone,
{
    fn route<B>(&self, request: &hyper::Request<B>) -> Route {
        self(request.uri(), request.extensions())
    }
}

/// A tower [`Layer`](tower_layer::Layer) recording the request metrics of
/// the service it wraps.
///
/// ```
/// use promdecl_runtime::http::request_metrics::{RequestMetrics, RequestMetricsLayer, Route};
/// use tower_layer::Layer;
///
/// let metrics = RequestMetrics::builder().build().unwrap();
/// let layer = RequestMetricsLayer::new(metrics.clone())
///     .route_with(|uri: &hyper::Uri, _: &hyper::http::Extensions| Route::from_static("/"));
/// let service = layer.layer(tower_service_fn());
/// # fn tower_service_fn() -> promdecl_runtime::http::MetricsService { Default::default() }
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct RequestMetricsLayer<R = NoRoute, L: RequestLabelSet = RequestLabels> {
    metrics: RequestMetrics<L>,
    route: R,
}

impl<L: RequestLabelSet> RequestMetricsLayer<NoRoute, L> {
    /// A layer recording into `metrics`, every request under
    /// [`Route::UNKNOWN`] until [`route_with`](Self::route_with) says how
    /// to tell routes.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::{RequestMetrics, RequestMetricsLayer};
    /// let layer = RequestMetricsLayer::new(RequestMetrics::builder().build().unwrap());
    /// # let _ = layer;
    /// ```
    pub fn new(metrics: RequestMetrics<L>) -> Self {
        RequestMetricsLayer { metrics, route: NoRoute }
    }
}

impl<R: ExtractRoute, L: RequestLabelSet> RequestMetricsLayer<R, L> {
    /// The same layer, telling routes with `route`.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::{RequestMetrics, RequestMetricsLayer, Route};
    /// let layer = RequestMetricsLayer::new(RequestMetrics::builder().build().unwrap())
    ///     .route_with(|_: &hyper::Uri, _: &hyper::http::Extensions| Route::UNMATCHED);
    /// # let _ = layer;
    /// ```
    pub fn route_with<R2: ExtractRoute>(self, route: R2) -> RequestMetricsLayer<R2, L> {
        RequestMetricsLayer { metrics: self.metrics, route }
    }

    /// The metrics the layer records into.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::{RequestMetrics, RequestMetricsLayer};
    /// let layer = RequestMetricsLayer::new(RequestMetrics::builder().build().unwrap());
    /// assert_eq!(layer.metrics().duration().name(), "http_server_request_duration_seconds");
    /// ```
    pub fn metrics(&self) -> &RequestMetrics<L> {
        &self.metrics
    }
}

impl<S, R: ExtractRoute, L: RequestLabelSet> tower_layer::Layer<S> for RequestMetricsLayer<R, L> {
    type Service = RequestMetricsService<S, R, L>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetricsService { inner, metrics: self.metrics.clone(), route: self.route.clone() }
    }
}

/// The service [`RequestMetricsLayer`] wraps around another.
///
/// A request is recorded when its response future completes (with the
/// response's status, or 500 for an error), panics (500) or is dropped
/// unfinished ([`CANCELLED_STATUS`](super::CANCELLED_STATUS)).
///
/// ```
/// use promdecl_runtime::http::request_metrics::{RequestMetrics, RequestMetricsLayer};
/// use promdecl_runtime::http::MetricsService;
/// use tower_layer::Layer;
/// use tower_service::Service;
/// use std::future::Future;
///
/// let metrics = RequestMetrics::builder().build().unwrap();
/// let mut service = RequestMetricsLayer::new(metrics.clone()).layer(MetricsService::default());
/// let future = std::pin::pin!(service.call(hyper::Request::get("/metrics").body(()).unwrap()));
/// // A scrape answers at once: one poll completes it.
/// let waker = std::task::Waker::noop();
/// assert!(future.poll(&mut std::task::Context::from_waker(waker)).is_ready());
/// assert_eq!(metrics.duration().labels(&labels("GET", 200, "_UNKNOWN")).count(), 1);
/// # fn labels(m: &str, s: u16, r: &'static str) -> promdecl_runtime::http::request_metrics::RequestLabels {
/// #     use promdecl_runtime::http::request_metrics::*;
/// #     RequestLabels { http_request_method: Method::from_name(m), http_response_status_code: Status::code(s), http_route: Route::from_static(r) }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequestMetricsService<S, R = NoRoute, L: RequestLabelSet = RequestLabels> {
    inner: S,
    metrics: RequestMetrics<L>,
    route: R,
}

impl<S, R, L, ReqBody, ResBody> Service<hyper::Request<ReqBody>> for RequestMetricsService<S, R, L>
where
    S: Service<hyper::Request<ReqBody>, Response = hyper::Response<ResBody>>,
    ResBody: hyper::body::Body,
    R: ExtractRoute,
    L: RequestLabelSet,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, L>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: hyper::Request<ReqBody>) -> Self::Future {
        let route = self.route.route(&request);
        let size = if self.metrics.request_body_size().is_some() { content_length(request.headers()) } else { None };
        let recording = Recording::start(&self.metrics, Method::from(request.method()), route, size);
        ResponseFuture::new(self.inner.call(request), recording)
    }
}
