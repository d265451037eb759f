//! promdecl: declare Prometheus metrics once, in Rust syntax, with label sets
//! the compiler checks.
//!
//! ```
//! use promdecl::prelude::*;
//!
//! #[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
//! #[label(rename_all = "UPPERCASE")]
//! enum Method { Get, Post }
//!
//! #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
//! struct Route { method: Method, endpoint: &'static str }
//!
//! promdecl::metrics! {
//!     /// HTTP front end.
//!     #[metrics(namespace = "myapp", subsystem = "http")]
//!     pub mod http {
//!         /// Total HTTP requests received.
//!         pub static REQUESTS_TOTAL: Counter<Route>;
//!         /// HTTP request latency.
//!         #[buckets(0.01, 0.1, 1)]
//!         pub static REQUEST_DURATION_SECONDS: Histogram<Route>;
//!     }
//! }
//!
//! #[timed(http::REQUEST_DURATION_SECONDS, labels = Route { method: Method::Get, endpoint: path })]
//! fn handle(path: &'static str) -> String {
//!     format!("hello from {path}")
//! }
//!
//! fn main() {
//!     http::REQUESTS_TOTAL.labels(&Route { method: Method::Post, endpoint: "/submit" }).inc();
//!     handle("/");
//!     let registry = default_registry();
//!     assert_eq!(
//!         registry.get_sample_value("myapp_http_requests_total", &[("method", "POST"), ("endpoint", "/submit")]),
//!         Some(1.0)
//!     );
//!     let labels = [("method", "GET"), ("endpoint", "/")];
//!     assert_eq!(registry.get_sample_value("myapp_http_request_duration_seconds_count", &labels), Some(1.0));
//! }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub use promdecl_macros::{count_exceptions, metrics, timed, track_inprogress, LabelSet, LabelValue, Metrics};
pub use promdecl_runtime::*;

/// The names most programs need: the metric types, the label traits and
/// their derives, the function attributes and the registry.
pub mod prelude {
    pub use promdecl_macros::{count_exceptions, timed, track_inprogress, LabelSet, LabelValue, Metrics};
    pub use promdecl_runtime::{
        default_registry, Collector, Counter, DynLabels, Enum, Gauge, Histogram, Info, LabelSet, LabelValue, Registry,
        ShardedCounter, Summary,
    };
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
