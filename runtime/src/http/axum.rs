//! Scrapes in an axum application (feature `axum`). Every route here
//! computes scrapes through [`MetricsHandler::respond_async`]: on a thread
//! of their own, within the scrape timeout, with `500` for a collector's
//! panic or failure and `503` for a timeout.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use promdecl_runtime::http::{axum as metrics, MetricsHandler};
//!
//! # async fn run() {
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     // GET /metrics answers with the default registry:
//!     .merge(metrics::router(MetricsHandler::default()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::hyper::{into_hyper, scrape_request};
use super::{MetricsHandler, MetricsService};

/// A router answering scrapes of `handler` at `/metrics`, to
/// [`merge`](Router::merge) into an application's router (or
/// [`nest`](Router::nest) under a prefix).
///
/// ```
/// use promdecl_runtime::http::{axum::router, MetricsHandler};
/// let app: axum::Router = axum::Router::new().merge(router(MetricsHandler::default()));
/// # let _ = app;
/// ```
pub fn router<S: Clone + Send + Sync + 'static>(handler: MetricsHandler) -> Router<S> {
    Router::new().route_service("/metrics", MetricsService::new(handler))
}

/// A handler answering scrapes of the [default registry](crate::default_registry),
/// for a route of one's own.
///
/// ```
/// use axum::routing::get;
/// let app: axum::Router = axum::Router::new().route("/internal/metrics", get(promdecl_runtime::http::axum::metrics));
/// # let _ = app;
/// ```
pub async fn metrics(request: Request) -> Response {
    static DEFAULT: once_cell::sync::Lazy<MetricsHandler> = once_cell::sync::Lazy::new(MetricsHandler::default);
    into_hyper(DEFAULT.respond_async(&scrape_request(&request)).await).into_response()
}

/// A handler answering scrapes of the [`MetricsHandler`] in the router's
/// state.
///
/// ```
/// use axum::routing::get;
/// use promdecl_runtime::http::{axum::metrics_with_state, MetricsHandler};
/// let app: axum::Router = axum::Router::new()
///     .route("/metrics", get(metrics_with_state))
///     .with_state(MetricsHandler::new(promdecl_runtime::Registry::new()));
/// # let _ = app;
/// ```
pub async fn metrics_with_state(State(handler): State<MetricsHandler>, request: Request) -> Response {
    into_hyper(handler.respond_async(&scrape_request(&request)).await).into_response()
}
