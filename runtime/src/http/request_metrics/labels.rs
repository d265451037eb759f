//! The label values and label sets of the request metrics.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::{LabelSet, LabelValue};

/// The `http_request_method` label: the methods of RFC 9110 and RFC 5789,
/// and `_OTHER` for any other, so a client inventing methods cannot add
/// series.
///
/// Methods are case-sensitive: `get` is `_OTHER`, as the OpenTelemetry
/// semantic conventions say.
///
/// ```
/// use promdecl_runtime::http::request_metrics::Method;
/// assert_eq!(Method::from_name("PATCH"), Method::Patch);
/// assert_eq!(Method::from_name("BREW").as_str(), "_OTHER");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `CONNECT`
    Connect,
    /// `DELETE`
    Delete,
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// `PATCH`
    Patch,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `TRACE`
    Trace,
    /// Any other method: `_OTHER`.
    Other,
}

const METHOD_NAMES: [&str; 10] =
    ["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "_OTHER"];

impl Method {
    /// The method named `name` (case-sensitive), or [`Method::Other`].
    ///
    /// ```
    /// use promdecl_runtime::http::request_metrics::Method;
    /// assert_eq!(Method::from_name("GET"), Method::Get);
    /// assert_eq!(Method::from_name("get"), Method::Other);
    /// ```
    pub fn from_name(name: &str) -> Method {
        match name {
            "CONNECT" => Method::Connect,
            "DELETE" => Method::Delete,
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "TRACE" => Method::Trace,
            _ => Method::Other,
        }
    }

    /// The label value.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::http::request_metrics::Method::Get.as_str(), "GET");
    /// ```
    pub const fn as_str(self) -> &'static str {
        METHOD_NAMES[self as usize]
    }
}

impl From<&hyper::Method> for Method {
    fn from(method: &hyper::Method) -> Method {
        Method::from_name(method.as_str())
    }
}

impl LabelValue for Method {
    const VALUES: Option<&'static [&'static str]> = Some(&METHOD_NAMES);
    fn dense_index(&self) -> usize {
        *self as usize
    }
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self.as_str())
    }
}

/// The `http_response_status_code` label: the status code (`404`), or only
/// its class (`4xx`) when the metrics are built with
/// [`status_class`](super::RequestMetricsBuilder::status_class).
///
/// ```
/// use promdecl_runtime::http::request_metrics::Status;
/// use promdecl_runtime::LabelValue;
/// assert_eq!(Status::code(404).with_str(str::to_owned), "404");
/// assert_eq!(Status::class_of(404).with_str(str::to_owned), "4xx");
/// assert_eq!(Status::class_of(404), Status::class_of(418));
/// assert_eq!(Status::class_of(1234).with_str(str::to_owned), "12xx");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(StatusRepr);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum StatusRepr {
    Code(u16),
    Class(u16),
}

impl Status {
    /// The code itself.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::http::request_metrics::Status::code(200).as_u16(), 200);
    /// ```
    pub const fn code(code: u16) -> Status {
        Status(StatusRepr::Code(code))
    }

    /// The class of `code`: `2xx` for 200 to 299.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::http::request_metrics::Status::class_of(503).as_u16(), 500);
    /// ```
    pub const fn class_of(code: u16) -> Status {
        Status(StatusRepr::Class(code / 100))
    }

    /// The code, or the first code of the class (`500` for `5xx`).
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::http::request_metrics::Status::code(204).as_u16(), 204);
    /// ```
    pub const fn as_u16(self) -> u16 {
        match self.0 {
            StatusRepr::Code(code) => code,
            StatusRepr::Class(class) => class * 100,
        }
    }
}

/// The classes of the codes `http` allows (100 to 999), without an
/// allocation per request.
const CLASSES: [&str; 10] = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "7xx", "8xx", "9xx"];

impl LabelValue for Status {
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self.0 {
            StatusRepr::Code(code) => f(itoa::Buffer::new().format(code)),
            StatusRepr::Class(class) if usize::from(class) < CLASSES.len() => f(CLASSES[usize::from(class)]),
            StatusRepr::Class(class) => {
                let mut text = String::with_capacity(5);
                text.push_str(itoa::Buffer::new().format(class));
                text.push_str("xx");
                f(&text)
            }
        }
    }
}

/// The `http_route` label: the route template that matched (`/users/{id}`),
/// never the raw path, or one of two fixed values.
///
/// ```
/// use promdecl_runtime::http::request_metrics::Route;
/// assert_eq!(Route::new("/users/{id}").as_str(), "/users/{id}");
/// assert_eq!(Route::UNMATCHED.as_str(), "_UNMATCHED");
/// assert_eq!(Route::new(String::from("/a")), Route::new("/a"));
/// ```
#[derive(Debug, Clone)]
pub struct Route(RouteRepr);

#[derive(Debug, Clone)]
enum RouteRepr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Route {
    /// What a request no route matched is recorded under (a 404 of the
    /// router's fallback): `_UNMATCHED`, one series however many distinct
    /// paths clients ask for.
    pub const UNMATCHED: Route = Route(RouteRepr::Static("_UNMATCHED"));

    /// What requests are recorded under when nothing tells the route: the
    /// plain tower layer without a route extractor records `_UNKNOWN`.
    pub const UNKNOWN: Route = Route(RouteRepr::Static("_UNKNOWN"));

    /// A route template. Give it templates (`/users/{id}`), not paths: each
    /// distinct value is a series.
    ///
    /// ```
    /// let r = promdecl_runtime::http::request_metrics::Route::new("/");
    /// assert_eq!(r.as_str(), "/");
    /// ```
    pub fn new(template: impl Into<Arc<str>>) -> Route {
        Route(RouteRepr::Shared(template.into()))
    }

    /// A route template known at compile time; no allocation.
    ///
    /// ```
    /// const HOME: promdecl_runtime::http::request_metrics::Route =
    ///     promdecl_runtime::http::request_metrics::Route::from_static("/");
    /// assert_eq!(HOME.as_str(), "/");
    /// ```
    pub const fn from_static(template: &'static str) -> Route {
        Route(RouteRepr::Static(template))
    }

    /// The label value.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::http::request_metrics::Route::UNKNOWN.as_str(), "_UNKNOWN");
    /// ```
    pub fn as_str(&self) -> &str {
        match &self.0 {
            RouteRepr::Static(s) => s,
            RouteRepr::Shared(s) => s,
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Route) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl LabelValue for Route {
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(self.as_str())
    }
}

/// A label set the request histograms can use: made from what one request
/// tells. [`RequestLabels`] keeps all three labels; a label set of one's
/// own keeps fewer.
///
/// ```
/// use promdecl_runtime::http::request_metrics::{Method, RequestLabelSet, RequestMetrics, Route, Status};
/// use promdecl_runtime::LabelSet;
///
/// /// Requests by route only.
/// #[derive(Clone, PartialEq, Eq, Hash)]
/// struct ByRoute { http_route: Route }
///
/// impl LabelSet for ByRoute {
///     const NAMES: &'static [&'static str] = &["http_route"];
///     fn visit(&self, f: &mut dyn FnMut(&str)) { f(self.http_route.as_str()) }
/// }
///
/// impl RequestLabelSet for ByRoute {
///     fn from_request(_: Method, _: Status, route: &Route) -> Self {
///         ByRoute { http_route: route.clone() }
///     }
/// }
///
/// let metrics = RequestMetrics::builder().label_set::<ByRoute>().build().unwrap();
/// assert_eq!(metrics.duration().label_names().len(), 1);
/// ```
///
/// With `promdecl`, `#[derive(LabelSet)]` writes the `LabelSet` part.
pub trait RequestLabelSet: LabelSet {
    /// The labels of one finished request.
    fn from_request(method: Method, status: Status, route: &Route) -> Self;
}

/// The labels of the request histograms: method, status and route, under
/// their OpenTelemetry names.
///
/// ```
/// use promdecl_runtime::http::request_metrics::{Method, RequestLabels, Route, Status};
/// use promdecl_runtime::LabelSet;
/// assert_eq!(RequestLabels::NAMES, ["http_request_method", "http_response_status_code", "http_route"]);
/// let labels = RequestLabels {
///     http_request_method: Method::Get,
///     http_response_status_code: Status::code(200),
///     http_route: Route::new("/"),
/// };
/// let mut values = Vec::new();
/// labels.visit(&mut |v| values.push(v.to_owned()));
/// assert_eq!(values, ["GET", "200", "/"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestLabels {
    /// `http_request_method`
    pub http_request_method: Method,
    /// `http_response_status_code`
    pub http_response_status_code: Status,
    /// `http_route`
    pub http_route: Route,
}

impl LabelSet for RequestLabels {
    const NAMES: &'static [&'static str] = &["http_request_method", "http_response_status_code", "http_route"];
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        f(self.http_request_method.as_str());
        self.http_response_status_code.with_str(|s| f(s));
        f(self.http_route.as_str());
    }
}

impl RequestLabelSet for RequestLabels {
    fn from_request(method: Method, status: Status, route: &Route) -> Self {
        RequestLabels { http_request_method: method, http_response_status_code: status, http_route: route.clone() }
    }
}

/// The label of the in-flight gauge: the method only, a closed set (ten
/// series at most, stored densely).
///
/// ```
/// use promdecl_runtime::http::request_metrics::{ActiveLabels, Method};
/// use promdecl_runtime::LabelSet;
/// assert_eq!(ActiveLabels::CARDINALITY, Some(10));
/// assert_eq!(ActiveLabels { http_request_method: Method::Put }.dense_index(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActiveLabels {
    /// `http_request_method`
    pub http_request_method: Method,
}

impl LabelSet for ActiveLabels {
    const NAMES: &'static [&'static str] = &["http_request_method"];
    const CARDINALITY: Option<usize> = Some(METHOD_NAMES.len());
    fn dense_index(&self) -> usize {
        self.http_request_method as usize
    }
    fn visit_dense(index: usize, f: &mut dyn FnMut(&str)) {
        f(METHOD_NAMES[index])
    }
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        f(self.http_request_method.as_str())
    }
}
