//! Request metrics for an axum application (feature `axum`), labelled by
//! the route template axum matched ([`MatchedPath`]).
//!
//! Add the layer with [`Router::layer`](axum::Router::layer), after the
//! routes: axum then runs it after routing, for every route and for the
//! fallback, so the route is known and a request no route matched is
//! recorded under [`Route::UNMATCHED`].
//!
//! ```
//! use axum::{routing::get, Router};
//! use promdecl_runtime::http::request_metrics::{axum as request_metrics, RequestMetrics};
//!
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "a user" }))
//!     .layer(request_metrics::layer(RequestMetrics::builder().build().unwrap()));
//! // then axum::serve(listener, app)
//! # let _ = app;
//! ```

use axum::extract::MatchedPath;

use super::labels::{RequestLabelSet, Route};
use super::tower::{ExtractRoute, RequestMetricsLayer};
use super::RequestMetrics;

/// The route of a request is the template axum matched; a request without
/// one (the fallback) is [`Route::UNMATCHED`].
///
/// ```
/// use promdecl_runtime::http::request_metrics::{axum::MatchedPathRoute, ExtractRoute, Route};
/// let unrouted = hyper::Request::get("/nope").body(()).unwrap();
/// assert_eq!(MatchedPathRoute.route(&unrouted), Route::UNMATCHED);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchedPathRoute;

impl ExtractRoute for MatchedPathRoute {
    fn route<B>(&self, request: &hyper::Request<B>) -> Route {
        match request.extensions().get::<MatchedPath>() {
            Some(path) => Route::new(path.as_str()),
            None => Route::UNMATCHED,
        }
    }
}

/// A layer recording request metrics into `metrics`, by matched route; for
/// [`Router::layer`](axum::Router::layer).
///
/// ```
/// use axum::{routing::get, Router};
/// use promdecl_runtime::http::request_metrics::{axum::layer, RequestMetrics};
/// let metrics = RequestMetrics::builder().build().unwrap();
/// let app: Router = Router::new().route("/", get(|| async { "hi" })).layer(layer(metrics));
/// # let _ = app;
/// ```
pub fn layer<L: RequestLabelSet>(metrics: RequestMetrics<L>) -> RequestMetricsLayer<MatchedPathRoute, L> {
    RequestMetricsLayer::new(metrics).route_with(MatchedPathRoute)
}
