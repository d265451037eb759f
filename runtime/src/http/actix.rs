//! Scrapes in an actix-web application (feature `actix-web`).
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use promdecl_runtime::http::{actix, MetricsHandler};
//!
//! # async fn run() -> std::io::Result<()> {
//! HttpServer::new(|| App::new().service(actix::resource("/metrics", MetricsHandler::default())))
//!     .bind("127.0.0.1:8080")?
//!     .run()
//!     .await
//! # }
//! ```

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, Resource};

use super::{MetricsHandler, ScrapeRequest};

/// A resource at `path` answering scrapes of `handler`: `GET` and `HEAD`,
/// 405 for other methods. Scrapes are computed through
/// [`MetricsHandler::respond_async`]: on a thread of their own, within the
/// scrape timeout, with `500` for a collector's panic or failure and `503`
/// for a timeout.
///
/// ```
/// use promdecl_runtime::http::{actix::resource, MetricsHandler};
/// let app = actix_web::App::new().service(resource("/metrics", MetricsHandler::default()));
/// # let _ = app;
/// ```
pub fn resource(path: &str, handler: MetricsHandler) -> Resource {
    web::resource(path).app_data(web::Data::new(handler)).to(scrape)
}

/// Answers one scrape with the [`MetricsHandler`] of the resource's app
/// data, as [`resource`] sets up.
async fn scrape(req: HttpRequest, handler: web::Data<MetricsHandler>) -> HttpResponse {
    let header = |name| req.headers().get(name).and_then(|v: &actix_web::http::header::HeaderValue| v.to_str().ok());
    // actix sends the headers of a HEAD answer with the length of its body,
    // and drops the body itself: answer HEAD as GET.
    let method = if req.method() == actix_web::http::Method::HEAD { "GET" } else { req.method().as_str() };
    let resp = handler
        .respond_async(&ScrapeRequest {
            method,
            query: req.query_string(),
            accept: header(actix_web::http::header::ACCEPT).unwrap_or(""),
            accept_encoding: header(actix_web::http::header::ACCEPT_ENCODING).unwrap_or(""),
            scrape_timeout: header(actix_web::http::header::HeaderName::from_static(
                "x-prometheus-scrape-timeout-seconds",
            ))
            .unwrap_or(""),
        })
        .await;
    let mut out = HttpResponse::build(StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in resp.headers() {
        // actix writes the length of the body itself.
        if name != "content-length" {
            out.insert_header((name, value));
        }
    }
    out.body(resp.body)
}
