//! Request metrics for a web stack: a tower [`Layer`](tower::RequestMetricsLayer)
//! for any hyper / tower service, an axum layer that labels by the matched
//! route, and an actix-web middleware.
//!
//! They record under the names of the OpenTelemetry HTTP semantic
//! conventions, as Prometheus writes them:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `http_server_request_duration_seconds` | histogram (its `_count` counts requests) | `http_request_method`, `http_response_status_code`, `http_route` |
//! | `http_server_active_requests` | gauge | `http_request_method` |
//! | `http_server_request_body_size_bytes` | histogram, [optional](RequestMetricsBuilder::body_sizes) | as the duration |
//! | `http_server_response_body_size_bytes` | histogram, [optional](RequestMetricsBuilder::body_sizes) | as the duration |
//!
//! Every label has a bounded set of values: the method is a closed enum
//! ([`Method`], with `_OTHER`), the status a code or its class, and the
//! route the matched route *template* (`/users/{id}`), never the raw path. A
//! request no route matched is recorded under [`Route::UNMATCHED`], so a
//! client asking for ten thousand random paths adds one series, not ten
//! thousand.
//!
//! However a request ends, it is recorded and the in-flight gauge comes back
//! down: a handler that panics is recorded as status 500, a request whose
//! future is dropped before it answers (the client went away) as
//! [`CANCELLED_STATUS`] (499), with its duration so far.
//!
//! | stack | one line | feature |
//! |---|---|---|
//! | axum | `router.layer(request_metrics::axum::layer(metrics))` | `axum` |
//! | actix-web | `App::new().wrap(request_metrics::actix::middleware(metrics))` | `actix-web` |
//! | tower / hyper | `RequestMetricsLayer::new(metrics).route_with(extract)` | `http` |
//!
//! ```
//! use std::future::Future;
//! use std::task::{Context, Waker};
//! use promdecl_runtime::http::request_metrics::{RequestMetrics, RequestMetricsLayer, Route};
//! use promdecl_runtime::http::{MetricsHandler, MetricsService};
//! use promdecl_runtime::Registry;
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! let registry = std::sync::Arc::new(Registry::new());
//! let metrics = RequestMetrics::builder()
//!     .namespace("myapp")
//!     .buckets([0.01, 0.1, 1.0])
//!     .register(&registry)
//!     .unwrap();
//! // A scrape endpoint stands in for an application here.
//! let app = MetricsService::new(MetricsHandler::new(registry.clone()));
//! let mut service = RequestMetricsLayer::new(metrics)
//!     .route_with(|_: &hyper::Uri, _: &hyper::http::Extensions| Route::from_static("/metrics"))
//!     .layer(app);
//! let answer = std::pin::pin!(service.call(hyper::Request::get("/metrics").body(()).unwrap()));
//! assert!(answer.poll(&mut Context::from_waker(Waker::noop())).is_ready());
//!
//! let labels = [("http_request_method", "GET"), ("http_response_status_code", "200"), ("http_route", "/metrics")];
//! assert_eq!(registry.get_sample_value("myapp_http_server_request_duration_seconds_count", &labels), Some(1.0));
//! assert_eq!(registry.get_sample_value("myapp_http_server_active_requests", &[("http_request_method", "GET")]), Some(0.0));
//! ```

#[cfg(feature = "actix-web")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
mod labels;
mod record;
pub mod tower;

use std::sync::Arc;

use crate::metric::DEFAULT_BUCKETS;
use crate::{Error, Gauge, Histogram, Registry};

pub use labels::{ActiveLabels, Method, RequestLabelSet, RequestLabels, Route, Status};
pub use record::{Outcome, ResponseFuture};
pub use tower::{ExtractRoute, NoRoute, RequestMetricsLayer, RequestMetricsService};

/// The status a request is recorded with when its future is dropped before
/// it answered, typically because the client closed the connection: 499,
/// nginx's "client closed request". Its duration is the time until the drop.
pub const CANCELLED_STATUS: u16 = 499;

/// Bucket bounds of the body-size histograms unless
/// [`size_buckets`](RequestMetricsBuilder::size_buckets) says otherwise: 64
/// bytes to 16 MiB, by powers of four.
pub const DEFAULT_SIZE_BUCKETS: [f64; 10] =
    [64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0];

/// The metrics the middleware records into. Cheap to clone: clones share
/// the metrics.
///
/// ```
/// use promdecl_runtime::http::request_metrics::RequestMetrics;
/// use promdecl_runtime::Registry;
/// let registry = Registry::new();
/// let metrics = RequestMetrics::builder().register(&registry).unwrap();
/// assert_eq!(metrics.duration().name(), "http_server_request_duration_seconds");
/// assert_eq!(metrics.active().name(), "http_server_active_requests");
/// ```
pub struct RequestMetrics<L: RequestLabelSet = RequestLabels> {
    shared: Arc<Shared<L>>,
}

struct Shared<L: RequestLabelSet> {
    duration: Histogram<L>,
    active: Gauge<ActiveLabels>,
    request_body_size: Option<Histogram<L>>,
    response_body_size: Option<Histogram<L>>,
    status_class: bool,
}

impl<L: RequestLabelSet> Clone for RequestMetrics<L> {
    fn clone(&self) -> Self {
        RequestMetrics { shared: Arc::clone(&self.shared) }
    }
}

impl<L: RequestLabelSet> std::fmt::Debug for RequestMetrics<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetrics")
            .field("duration", &self.shared.duration)
            .field("active", &self.shared.active)
            .field("status_class", &self.shared.status_class)
            .finish_non_exhaustive()
    }
}

impl RequestMetrics {
    /// The metrics with default settings, registered in the
    /// [default registry](crate::default_registry). Fails if metrics of
    /// these names are registered there already (call it once, and clone).
    ///
    /// ```
    /// let metrics = promdecl_runtime::http::request_metrics::RequestMetrics::new().unwrap();
    /// # let _ = metrics;
    /// ```
    pub fn new() -> Result<Self, Error> {
        RequestMetrics::builder().register(crate::default_registry())
    }
}

impl RequestMetrics {
    /// Starts building the metrics, with [`RequestLabels`] (method, status
    /// and route) unless [`label_set`](RequestMetricsBuilder::label_set) or
    /// [`metrics`](RequestMetricsBuilder::metrics) choose other labels.
    ///
    /// ```
    /// let metrics = promdecl_runtime::http::request_metrics::RequestMetrics::builder().build().unwrap();
    /// # let _ = metrics;
    /// ```
    pub fn builder() -> RequestMetricsBuilder {
        RequestMetricsBuilder {
            namespace: String::new(),
            buckets: DEFAULT_BUCKETS.to_vec(),
            size_buckets: DEFAULT_SIZE_BUCKETS.to_vec(),
            body_sizes: false,
            status_class: false,
            max_series: None,
            own: None,
            own_sizes: None,
        }
    }
}

impl<L: RequestLabelSet> RequestMetrics<L> {
    /// The request duration histogram.
    ///
    /// ```
    /// let m = promdecl_runtime::http::request_metrics::RequestMetrics::builder().build().unwrap();
    /// assert_eq!(m.duration().len(), 0);
    /// ```
    pub fn duration(&self) -> &Histogram<L> {
        &self.shared.duration
    }

    /// The in-flight gauge.
    ///
    /// ```
    /// let m = promdecl_runtime::http::request_metrics::RequestMetrics::builder().build().unwrap();
    /// assert_eq!(m.active().label_names().len(), 1);
    /// ```
    pub fn active(&self) -> &Gauge<ActiveLabels> {
        &self.shared.active
    }

    /// The request body size histogram, if recorded.
    ///
    /// ```
    /// let m = promdecl_runtime::http::request_metrics::RequestMetrics::builder().body_sizes(true).build().unwrap();
    /// assert_eq!(m.request_body_size().unwrap().name(), "http_server_request_body_size_bytes");
    /// ```
    pub fn request_body_size(&self) -> Option<&Histogram<L>> {
        self.shared.request_body_size.as_ref()
    }

    /// The response body size histogram, if recorded.
    ///
    /// ```
    /// let m = promdecl_runtime::http::request_metrics::RequestMetrics::builder().build().unwrap();
    /// assert!(m.response_body_size().is_none());
    /// ```
    pub fn response_body_size(&self) -> Option<&Histogram<L>> {
        self.shared.response_body_size.as_ref()
    }

    /// The status label for `code`, by these metrics' settings.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::{RequestMetrics, Status};
    /// let m = RequestMetrics::builder().status_class(true).build().unwrap();
    /// assert_eq!(m.status(404), Status::class_of(404));
    /// ```
    pub fn status(&self, code: u16) -> Status {
        if self.shared.status_class {
            Status::class_of(code)
        } else {
            Status::code(code)
        }
    }
}

/// Builds [`RequestMetrics`]: buckets, a namespace, status classes, body
/// sizes, or metrics declared elsewhere.
///
/// Which labels are kept is the choice of the label set type `L` (see
/// [`RequestLabelSet`]).
#[must_use = "a builder does nothing until build() or register()"]
pub struct RequestMetricsBuilder<L: RequestLabelSet = RequestLabels> {
    namespace: String,
    buckets: Vec<f64>,
    size_buckets: Vec<f64>,
    body_sizes: bool,
    status_class: bool,
    max_series: Option<usize>,
    own: Option<(Histogram<L>, Gauge<ActiveLabels>)>,
    own_sizes: Option<(Histogram<L>, Histogram<L>)>,
}

impl<L: RequestLabelSet> std::fmt::Debug for RequestMetricsBuilder<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetricsBuilder")
            .field("namespace", &self.namespace)
            .field("buckets", &self.buckets)
            .field("body_sizes", &self.body_sizes)
            .field("status_class", &self.status_class)
            .finish_non_exhaustive()
    }
}

impl<L: RequestLabelSet> RequestMetricsBuilder<L> {
    /// Prefixes every name with `namespace_`.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::RequestMetrics;
    /// let m = RequestMetrics::builder().namespace("shop").build().unwrap();
    /// assert_eq!(m.duration().name(), "shop_http_server_request_duration_seconds");
    /// ```
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The duration buckets, in seconds; default
    /// [`DEFAULT_BUCKETS`], which are also OpenTelemetry's.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::RequestMetrics;
    /// let m = RequestMetrics::builder().buckets([0.1, 1.0]).build().unwrap();
    /// # let _ = m;
    /// assert!(RequestMetrics::builder().buckets([1.0, 0.1]).build().is_err());
    /// ```
    pub fn buckets(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.buckets = bounds.into_iter().collect();
        self
    }

    /// Also record the request and response body sizes, when known before
    /// the body is sent: from `Content-Length` or a body of exact size. A
    /// body streamed without a known length is not recorded.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::RequestMetrics;
    /// let m = RequestMetrics::builder().body_sizes(true).build().unwrap();
    /// assert!(m.response_body_size().is_some());
    /// ```
    pub fn body_sizes(mut self, record: bool) -> Self {
        self.body_sizes = record;
        self
    }

    /// The body size buckets, in bytes; default [`DEFAULT_SIZE_BUCKETS`].
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::RequestMetrics;
    /// let m = RequestMetrics::builder().body_sizes(true).size_buckets([100.0, 10000.0]).build().unwrap();
    /// # let _ = m;
    /// ```
    pub fn size_buckets(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.size_buckets = bounds.into_iter().collect();
        self
    }

    /// Label the status by its class (`2xx`, `4xx`) instead of its code.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::RequestMetrics;
    /// let m = RequestMetrics::builder().status_class(true).build().unwrap();
    /// assert_eq!(m.status(201).as_u16(), 200);
    /// ```
    pub fn status_class(mut self, by_class: bool) -> Self {
        self.status_class = by_class;
        self
    }

    /// At most `max` label sets per histogram; past it, new ones are counted
    /// in one `__overflow__` series (see
    /// [`Builder::max_children`](crate::Builder::max_children)). The labels
    /// are bounded already when routes are templates; this bounds them also
    /// when a route extractor returns something else.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::{Method, RequestLabels, RequestMetrics, Route};
    /// let m = RequestMetrics::builder().max_series(2).build().unwrap();
    /// for route in ["/a", "/b", "/c", "/d"] {
    ///     let labels = RequestLabels { http_request_method: Method::Get, http_response_status_code: m.status(200), http_route: Route::from_static(route) };
    ///     m.duration().labels(&labels).observe(0.1);
    /// }
    /// assert_eq!(m.duration().len(), 2);
    /// ```
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = Some(max);
        self
    }

    /// Record into metrics declared elsewhere (with `promdecl::metrics!` or
    /// the builders) instead of building them: their names, help texts and
    /// buckets are the declaration's; [`namespace`](Self::namespace) and
    /// [`buckets`](Self::buckets) are then ignored, and
    /// [`register`](Self::register) leaves them where they are.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::{ActiveLabels, RequestLabels, RequestMetrics};
    /// use promdecl_runtime::{Gauge, Histogram};
    /// let duration = Histogram::builder("api_latency_seconds", "Latency.")
    ///     .label_set::<RequestLabels>()
    ///     .buckets([0.05, 0.5])
    ///     .build()
    ///     .unwrap();
    /// let active = Gauge::builder("api_in_flight", "In flight.").label_set::<ActiveLabels>().build().unwrap();
    /// let m = RequestMetrics::builder().metrics(duration, active).build().unwrap();
    /// assert_eq!(m.duration().name(), "api_latency_seconds");
    /// ```
    pub fn metrics<L2: RequestLabelSet>(
        self,
        duration: Histogram<L2>,
        active: Gauge<ActiveLabels>,
    ) -> RequestMetricsBuilder<L2> {
        let mut builder = self.label_set::<L2>();
        builder.own = Some((duration, active));
        builder
    }

    /// Label the histograms with `L2` instead: a label set that keeps fewer
    /// labels (see [`RequestLabelSet`]). Forgets metrics given to
    /// [`metrics`](Self::metrics) or [`body_size_metrics`](Self::body_size_metrics)
    /// before.
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::{Method, RequestLabelSet, RequestMetrics, Route, Status};
    /// #[derive(Clone, PartialEq, Eq, Hash)]
    /// struct ByMethod { method: Method }
    /// impl promdecl_runtime::LabelSet for ByMethod {
    ///     const NAMES: &'static [&'static str] = &["http_request_method"];
    ///     fn visit(&self, f: &mut dyn FnMut(&str)) { f(self.method.as_str()) }
    /// }
    /// impl RequestLabelSet for ByMethod {
    ///     fn from_request(method: Method, _: Status, _: &Route) -> Self { ByMethod { method } }
    /// }
    /// let m = RequestMetrics::builder().label_set::<ByMethod>().build().unwrap();
    /// assert_eq!(&*m.duration().label_names()[0], "http_request_method");
    /// ```
    pub fn label_set<L2: RequestLabelSet>(self) -> RequestMetricsBuilder<L2> {
        RequestMetricsBuilder {
            namespace: self.namespace,
            buckets: self.buckets,
            size_buckets: self.size_buckets,
            body_sizes: self.body_sizes,
            status_class: self.status_class,
            max_series: self.max_series,
            own: None,
            own_sizes: None,
        }
    }

    /// Record body sizes into histograms declared elsewhere (see
    /// [`metrics`](Self::metrics), called first); implies
    /// [`body_sizes`](Self::body_sizes).
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::{RequestLabels, RequestMetrics};
    /// use promdecl_runtime::Histogram;
    /// let size = |name: &str| Histogram::builder(name, "Bytes.").label_set::<RequestLabels>().build().unwrap();
    /// let m = RequestMetrics::builder().body_size_metrics(size("in_bytes"), size("out_bytes")).build().unwrap();
    /// assert_eq!(m.response_body_size().unwrap().name(), "out_bytes");
    /// ```
    pub fn body_size_metrics(mut self, request: Histogram<L>, response: Histogram<L>) -> Self {
        self.own_sizes = Some((request, response));
        self.body_sizes = true;
        self
    }

    /// Builds the metrics without registering them.
    ///
    /// ```
    /// let m = promdecl_runtime::http::request_metrics::RequestMetrics::builder().build();
    /// assert!(m.is_ok());
    /// ```
    pub fn build(self) -> Result<RequestMetrics<L>, Error> {
        Ok(self.build_parts()?.0)
    }

    /// Builds the metrics and registers in `registry` those this builder
    /// made (not those given to [`metrics`](Self::metrics) or
    /// [`body_size_metrics`](Self::body_size_metrics)).
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::RequestMetrics;
    /// let registry = promdecl_runtime::Registry::new();
    /// RequestMetrics::builder().register(&registry).unwrap();
    /// assert!(RequestMetrics::builder().register(&registry).is_err());
    /// ```
    pub fn register(self, registry: &Registry) -> Result<RequestMetrics<L>, Error> {
        let (metrics, made_main, made_sizes) = self.build_parts()?;
        let shared = &metrics.shared;
        let mut ids = Vec::new();
        let mut add = |result: Result<crate::CollectorId, Error>| result.map(|id| ids.push(id));
        let result = (|| {
            if made_main {
                add(registry.register(shared.duration.clone()))?;
                add(registry.register(shared.active.clone()))?;
            }
            if let (true, Some(request), Some(response)) =
                (made_sizes, &shared.request_body_size, &shared.response_body_size)
            {
                add(registry.register(request.clone()))?;
                add(registry.register(response.clone()))?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            // All or nothing: take back what was registered before the failure.
            for id in ids {
                let _ = registry.unregister(id);
            }
            return Err(e);
        }
        Ok(metrics)
    }

    /// The metrics, whether this builder made the main ones, and the sizes.
    fn build_parts(self) -> Result<(RequestMetrics<L>, bool, bool), Error> {
        let ns = self.namespace.as_str();
        let made_main = self.own.is_none();
        let (duration, active) = match self.own {
            Some(own) => own,
            None => (
                limit(
                    Histogram::builder("http_server_request_duration_seconds", "Duration of HTTP server requests.")
                        .namespace(ns)
                        .label_set::<L>()
                        .buckets(self.buckets),
                    self.max_series,
                )
                .build()?,
                Gauge::builder("http_server_active_requests", "Number of active HTTP server requests.")
                    .namespace(ns)
                    .label_set::<ActiveLabels>()
                    .build()?,
            ),
        };
        let made_sizes = self.body_sizes && self.own_sizes.is_none();
        let (request_body_size, response_body_size) = match (self.own_sizes, self.body_sizes) {
            (Some((request, response)), _) => (Some(request), Some(response)),
            (None, true) => {
                let size = |name: &str, help: &str| {
                    let builder = Histogram::builder(name, help)
                        .namespace(ns)
                        .label_set::<L>()
                        .buckets(self.size_buckets.iter().copied());
                    limit(builder, self.max_series).build()
                };
                (
                    Some(size("http_server_request_body_size_bytes", "Size of HTTP server request bodies.")?),
                    Some(size("http_server_response_body_size_bytes", "Size of HTTP server response bodies.")?),
                )
            }
            (None, false) => (None, None),
        };
        let shared =
            Shared { duration, active, request_body_size, response_body_size, status_class: self.status_class };
        Ok((RequestMetrics { shared: Arc::new(shared) }, made_main, made_sizes))
    }
}

fn limit<L: RequestLabelSet>(
    builder: crate::Builder<Histogram<L>>,
    max_series: Option<usize>,
) -> crate::Builder<Histogram<L>> {
    match max_series {
        Some(max) => builder.max_children(max),
        None => builder,
    }
}
