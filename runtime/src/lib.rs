//! The runtime of [promdecl](https://docs.rs/promdecl): metric cells, label
//! families, the registry, custom collectors and the Prometheus text and
//! OpenMetrics encoders.
//!
//! Most users depend on `promdecl`, whose macros generate code that calls this
//! crate; everything here is also usable directly, for metrics whose names or
//! labels are only known at run time.
//!
//! ```
//! use promdecl_runtime::{encode::{encode_to_string, Format}, Counter, DynLabels, Histogram, Registry};
//!
//! let registry = Registry::new();
//! let requests: Counter<DynLabels> = Counter::builder("requests", "Requests served.")
//!     .labels(["method"])
//!     .register(&registry)
//!     .unwrap();
//! let latency = Histogram::builder("latency_seconds", "Request latency.")
//!     .buckets([0.1, 0.5, 1.0])
//!     .register(&registry)
//!     .unwrap();
//!
//! requests.with_label_values(&["GET"]).unwrap().inc();
//! latency.observe(0.3);
//!
//! let text = encode_to_string(&registry, Format::TEXT);
//! assert!(text.contains("requests_total{method=\"GET\"} 1\n"));
//! assert!(text.contains("latency_seconds_bucket{le=\"0.5\"} 1\n"));
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bytes;
pub mod clock;
mod collect;
pub mod collector;
pub mod encode;
mod error;
pub mod family;
#[cfg(feature = "graphite")]
#[cfg_attr(docsrs, doc(cfg(feature = "graphite")))]
pub mod graphite;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod label;
pub mod metric;
#[cfg(feature = "metrics-facade")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics-facade")))]
pub mod metrics_facade;
pub mod model;
#[cfg(all(feature = "multiprocess", unix))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "multiprocess", unix))))]
pub mod multiprocess;
pub mod name;
pub mod parse;
#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
pub mod push;
pub mod registry;
#[cfg(feature = "remote-write")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote-write")))]
pub mod remote_write;
mod sync;
#[cfg(feature = "textfile")]
#[cfg_attr(docsrs, doc(cfg(feature = "textfile")))]
pub mod textfile;
#[cfg(any(feature = "push", feature = "tls"))]
mod tls;
#[cfg(feature = "opentelemetry")]
#[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
pub mod trace;

pub use collect::{Collector, MetricCell, MetricType};
pub use collector::{PlatformCollector, ProcessCollector};
pub use encode::{created_series, set_created_series};
pub use error::Error;
pub use family::{Family, Handle, Labeled, OVERFLOW_LABEL_VALUE};
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub use http::{serve, serve_registry, ServeError, Server, ServerBuilder};
pub use label::{DynLabels, LabelSet, LabelValue};
pub use metric::QuantileError;
pub use metric::{
    exponential_buckets, linear_buckets, Builder, Counter, CounterCell, Enum, EnumCell, ExceptionGuard, ExemplarLabels,
    ExemplarTimer, FromOpts, Gauge, GaugeCell, Histogram, HistogramCell, InProgressGuard, Increment, Info, InfoCell,
    Observe, ObserveWithExemplar, Opts, ShardedCounter, ShardedCounterCell, Summary, SummaryCell, Timer, Track,
    DEFAULT_BUCKETS,
};
#[cfg(not(promdecl_loom))]
pub use metric::{Declared, HasStaticCell};
pub use model::{
    CounterFamily, FamilySample, GaugeFamily, GaugeHistogramFamily, HistogramFamily, InfoFamily, MetricFamily,
    StateSetFamily, SummaryFamily, UnknownFamily,
};
pub use parse::{parse_openmetrics, parse_text, ParseError};
pub use registry::{default_registry, registration_errors, CollectorId, Registry};
#[cfg(feature = "textfile")]
#[cfg_attr(docsrs, doc(cfg(feature = "textfile")))]
pub use textfile::write_to_textfile;
#[cfg(any(feature = "push", feature = "tls"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "push", feature = "tls"))))]
pub use tls::TlsError;
#[cfg(feature = "opentelemetry")]
#[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
pub use trace::{TraceIds, TraceTimer};

#[doc(hidden)]
pub mod __private;
