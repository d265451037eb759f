//! Serving scrapes over HTTP: a server of its own on a background thread,
//! or a handler to mount in the web framework a program already runs.
//!
//! Everything answers alike, through [`MetricsHandler`]: the format the
//! `Accept` header negotiates (Prometheus text, OpenMetrics, protobuf), the
//! `name[]` filter, gzip when the client accepts it, `HEAD`, and 405 for
//! other methods.
//!
//! | way | feature | what |
//! |---|---|---|
#![cfg_attr(
    feature = "server",
    doc = "| [`serve`], [`Server::builder`] | `server` | own server on a thread: TLS and client certificates (`tls`), basic auth, limits |"
)]
#![cfg_attr(
    not(feature = "server"),
    doc = "| `serve`, `Server::builder` | `server` | own server on a thread: TLS and client certificates (`tls`), basic auth, limits |"
)]
//! | [`MetricsService`] | `hyper` | a hyper and tower `Service` |
#![cfg_attr(feature = "axum", doc = "| [`axum`] | `axum` | a handler and a `Router` to merge |")]
#![cfg_attr(not(feature = "axum"), doc = "| `axum` | `axum` | a handler and a `Router` to merge |")]
#![cfg_attr(feature = "actix-web", doc = "| [`actix`] | `actix-web` | a resource to add to an `App` |")]
#![cfg_attr(not(feature = "actix-web"), doc = "| `actix` | `actix-web` | a resource to add to an `App` |")]
//! | [`MetricsHandler`] | any of them | the answer itself, for any other stack |
//!
//! ```
//! use promdecl_runtime::http::{MetricsHandler, ScrapeRequest};
//! let handler = MetricsHandler::default(); // the default registry
//! let resp = handler.respond(&ScrapeRequest { accept_encoding: "gzip", ..ScrapeRequest::get() });
//! assert_eq!(resp.content_encoding, Some("gzip"));
//! ```

#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub mod actix;
#[cfg(feature = "server")]
mod auth;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(feature = "server")]
mod deadline;
mod gzip;
mod handler;
mod hyper;
pub mod request_metrics;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "tls")]
mod tls;

pub use handler::{MetricsHandler, MetricsResponse, ScrapeRequest};
pub use hyper::MetricsService;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub use server::{serve, serve_registry, ServeError, Server, ServerBuilder};
