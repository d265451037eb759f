//! Request metrics for an actix-web application (feature `actix-web`),
//! labelled by the resource pattern that matched the path
//! ([`match_pattern`](actix_web::HttpRequest::match_pattern)).
//!
//! Wrap the whole `App`, so every resource and the default service (the 404
//! of a path no resource matched, recorded under [`Route::UNMATCHED`]) are
//! recorded.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use promdecl_runtime::http::request_metrics::{actix, RequestMetrics};
//!
//! # async fn run() -> std::io::Result<()> {
//! let metrics = RequestMetrics::new().unwrap();
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(actix::middleware(metrics.clone()))
//!         .route("/users/{id}", web::get().to(|| async { "a user" }))
//! })
//! .bind("127.0.0.1:8080")?
//! .run()
//! .await
//! # }
//! ```

use std::future::{ready, Ready};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};

use super::labels::{Method, RequestLabelSet, RequestLabels, Route};
use super::record::{Outcome, Recording, ResponseFuture};
use super::RequestMetrics;

/// The middleware recording request metrics; for
/// [`App::wrap`](actix_web::App::wrap).
///
/// ```
/// use promdecl_runtime::http::request_metrics::{actix::middleware, RequestMetrics};
/// let metrics = RequestMetrics::builder().build().unwrap();
/// let app = actix_web::App::new().wrap(middleware(metrics));
/// # let _ = app;
/// ```
pub fn middleware<L: RequestLabelSet>(metrics: RequestMetrics<L>) -> RequestMetricsMiddleware<L> {
    RequestMetricsMiddleware { metrics }
}

/// The middleware [`middleware`] makes: a [`Transform`] wrapping each
/// worker's service in a [`RequestMetricsActixService`].
#[derive(Debug, Clone)]
pub struct RequestMetricsMiddleware<L: RequestLabelSet = RequestLabels> {
    metrics: RequestMetrics<L>,
}

impl<S, B, L> Transform<S, ServiceRequest> for RequestMetricsMiddleware<L>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
    L: RequestLabelSet,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequestMetricsActixService<S, L>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestMetricsActixService { service, metrics: self.metrics.clone() }))
    }
}

/// The service the middleware wraps around an application's. A request is
/// recorded when its response is ready (with its status, or the status of
/// the error's response), when the handler panics (500), or when it is
/// dropped unfinished ([`CANCELLED_STATUS`](super::CANCELLED_STATUS)).
#[derive(Debug)]
pub struct RequestMetricsActixService<S, L: RequestLabelSet = RequestLabels> {
    service: S,
    metrics: RequestMetrics<L>,
}

impl<S, B, L> Service<ServiceRequest> for RequestMetricsActixService<S, L>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
    L: RequestLabelSet,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future, L>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        // The pattern is read from the application's resource map, so it is
        // known before routing, and also when the handler panics.
        let route = request.match_pattern().map_or(Route::UNMATCHED, Route::new);
        let size = match self.metrics.request_body_size() {
            Some(_) => content_length(request.headers()),
            None => None,
        };
        let recording = Recording::start(&self.metrics, Method::from_name(request.method().as_str()), route, size);
        ResponseFuture::new(self.service.call(request), recording)
    }
}

/// The `Content-Length` of a request, if it has a valid one.
fn content_length(headers: &actix_web::http::header::HeaderMap) -> Option<u64> {
    headers.get(actix_web::http::header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

impl<B: MessageBody> Outcome for Result<ServiceResponse<B>, actix_web::Error> {
    fn outcome(&self) -> (u16, Option<u64>) {
        match self {
            Ok(response) => {
                let size = match response.response().body().size() {
                    BodySize::Sized(n) => Some(n),
                    BodySize::None | BodySize::Stream => None,
                };
                (response.status().as_u16(), size)
            }
            Err(e) => (e.as_response_error().status_code().as_u16(), None),
        }
    }
}
