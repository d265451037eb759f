//! Request metrics middleware: the tower layer, the axum layer and the
//! actix-web middleware record duration by method, status and route, and
//! requests in flight, however a request ends; unmatched paths share one
//! series.
#![cfg(all(feature = "http", feature = "axum", feature = "actix-web"))]

mod common;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::http::{Extensions, Uri};
use promdecl::encode::{encode_to_string, Format};
use promdecl::http::request_metrics::{
    self as request_metrics, ActiveLabels, Method, RequestLabelSet, RequestMetrics, RequestMetricsLayer, Route, Status,
    CANCELLED_STATUS,
};
use promdecl::prelude::*;
use promdecl::Registry;
use tower_layer::Layer;
use tower_service::Service;

type Body = Full<Bytes>;

/// An application behind the layer: answers by path, and can wait
/// forever, panic or fail.
#[derive(Clone)]
struct App;

impl Service<hyper::Request<Body>> for App {
    type Response = hyper::Response<Body>;
    type Error = &'static str;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: hyper::Request<Body>) -> Self::Future {
        let path = request.uri().path().to_owned();
        Box::pin(async move {
            let answer = |status: u16, body: &'static str| {
                Ok(hyper::Response::builder().status(status).body(Full::from(body)).unwrap())
            };
            match path.as_str() {
                "/wait" => std::future::pending().await,
                "/panic" => panic!("the handler failed"),
                "/fail" => Err("no answer"),
                "/created" => answer(201, "made"),
                _ => answer(200, "hello"),
            }
        })
    }
}

/// Routes of [`App`]: templates, and [`Route::UNMATCHED`] for the rest.
fn app_route(uri: &Uri, _: &Extensions) -> Route {
    match uri.path() {
        "/" => Route::from_static("/"),
        p if p.starts_with("/users/") => Route::from_static("/users/{id}"),
        "/wait" | "/panic" | "/fail" | "/created" => Route::new(uri.path()),
        _ => Route::UNMATCHED,
    }
}

fn request(method: &str, path: &str) -> hyper::Request<Body> {
    hyper::Request::builder().method(method).uri(path).body(Full::from("")).unwrap()
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// `http_server_request_duration_seconds_{suffix}` for one label set.
fn duration(registry: &Registry, suffix: &str, method: &str, status: &str, route: &str) -> Option<f64> {
    registry.get_sample_value(
        &format!("http_server_request_duration_seconds_{suffix}"),
        &[("http_request_method", method), ("http_response_status_code", status), ("http_route", route)],
    )
}

fn count(registry: &Registry, method: &str, status: &str, route: &str) -> Option<f64> {
    duration(registry, "count", method, status, route)
}

fn active(registry: &Registry, method: &str) -> Option<f64> {
    registry.get_sample_value("http_server_active_requests", &[("http_request_method", method)])
}

#[test]
fn tower_layer_records_each_request_by_method_status_and_route() {
    let registry = Registry::new();
    let metrics = RequestMetrics::builder().register(&registry).unwrap();
    let mut service = RequestMetricsLayer::new(metrics.clone()).route_with(app_route).layer(App);
    block_on(async {
        for (method, path) in
            [("GET", "/users/1"), ("GET", "/users/2"), ("POST", "/created"), ("BREW", "/"), ("GET", "/nope")]
        {
            service.call(request(method, path)).await.unwrap();
        }
        assert_eq!(service.call(request("DELETE", "/fail")).await.unwrap_err(), "no answer");
    });

    assert_eq!(count(&registry, "GET", "200", "/users/{id}"), Some(2.0));
    assert_eq!(count(&registry, "POST", "201", "/created"), Some(1.0));
    assert_eq!(count(&registry, "_OTHER", "200", "/"), Some(1.0), "an unknown method is _OTHER");
    assert_eq!(count(&registry, "GET", "200", "_UNMATCHED"), Some(1.0));
    assert_eq!(count(&registry, "DELETE", "500", "/fail"), Some(1.0), "an error is a 500");
    assert_eq!(metrics.duration().len(), 5);
    assert!(duration(&registry, "sum", "GET", "200", "/users/{id}").is_some_and(|s| s >= 0.0));
    for method in ["GET", "POST", "DELETE", "_OTHER"] {
        assert_eq!(active(&registry, method), Some(0.0), "{method}");
    }

    let text = encode_to_string(&registry, Format::TEXT);
    assert!(text.contains("# TYPE http_server_request_duration_seconds histogram\n"), "{text}");
    assert!(text.contains("# TYPE http_server_active_requests gauge\n"), "{text}");
    assert!(!text.contains("_total"), "the histogram's _count is the request count: {text}");
}

#[test]
fn without_a_route_extractor_every_request_has_one_route() {
    let registry = Registry::new();
    let metrics = RequestMetrics::builder().register(&registry).unwrap();
    let mut service = RequestMetricsLayer::new(metrics.clone()).layer(App);
    block_on(async {
        for path in ["/", "/users/1", "/anything"] {
            service.call(request("GET", path)).await.unwrap();
        }
    });
    assert_eq!(count(&registry, "GET", "200", "_UNKNOWN"), Some(3.0));
    assert_eq!(metrics.duration().len(), 1);
}

#[test]
fn a_panicking_handler_is_recorded_as_500_while_unwinding() {
    let registry = Registry::new();
    let metrics = RequestMetrics::builder().register(&registry).unwrap();
    let mut service = RequestMetricsLayer::new(metrics).route_with(app_route).layer(App);
    let mut future = Box::pin(service.call(request("PUT", "/panic")));
    let polled = std::panic::catch_unwind(AssertUnwindSafe(|| poll_once(future.as_mut())));
    assert!(polled.is_err(), "the handler panics");
    // Recorded during the unwinding, before the owner of the future (here
    // the test, in a server the runtime's task) drops it.
    assert_eq!(count(&registry, "PUT", "500", "/panic"), Some(1.0));
    assert_eq!(active(&registry, "PUT"), Some(0.0));
    drop(future);
    assert_eq!(count(&registry, "PUT", "500", "/panic"), Some(1.0), "recorded once");
    assert_eq!(count(&registry, "PUT", "499", "/panic"), None);
}

#[test]
fn a_dropped_request_is_recorded_as_cancelled_with_its_duration_so_far() {
    let registry = Registry::new();
    let metrics = RequestMetrics::builder().buckets([0.01, 10.0]).register(&registry).unwrap();
    let mut service = RequestMetricsLayer::new(metrics).route_with(app_route).layer(App);
    let mut future = Box::pin(service.call(request("GET", "/wait")));
    assert!(poll_once(future.as_mut()).is_pending());
    assert_eq!(active(&registry, "GET"), Some(1.0), "in flight");
    std::thread::sleep(Duration::from_millis(50));
    drop(future); // the client went away
    assert_eq!(active(&registry, "GET"), Some(0.0), "the in-flight gauge comes back down");
    assert_eq!(CANCELLED_STATUS, 499);
    assert_eq!(count(&registry, "GET", "499", "/wait"), Some(1.0));
    let sum = duration(&registry, "sum", "GET", "499", "/wait").unwrap();
    assert!((0.05..10.0).contains(&sum), "duration until the drop: {sum}");
    let over_10ms = registry.get_sample_value(
        "http_server_request_duration_seconds_bucket",
        &[
            ("http_request_method", "GET"),
            ("http_response_status_code", "499"),
            ("http_route", "/wait"),
            ("le", "0.01"),
        ],
    );
    assert_eq!(over_10ms, Some(0.0));
}

#[test]
fn status_classes_namespace_and_body_sizes() {
    let registry = Registry::new();
    let metrics = RequestMetrics::builder()
        .namespace("shop")
        .status_class(true)
        .body_sizes(true)
        .size_buckets([2.0, 8.0])
        .register(&registry)
        .unwrap();
    let mut service = RequestMetricsLayer::new(metrics).route_with(app_route).layer(App);
    block_on(async {
        let mut post = request("POST", "/created");
        post.headers_mut().insert(hyper::header::CONTENT_LENGTH, "5".parse().unwrap());
        service.call(post).await.unwrap();
        service.call(request("GET", "/")).await.unwrap();
    });
    let labels = [("http_request_method", "POST"), ("http_response_status_code", "2xx"), ("http_route", "/created")];
    let get = |name: &str| registry.get_sample_value(name, &labels);
    assert_eq!(get("shop_http_server_request_duration_seconds_count"), Some(1.0));
    assert_eq!(get("shop_http_server_request_body_size_bytes_sum"), Some(5.0));
    assert_eq!(get("shop_http_server_response_body_size_bytes_sum"), Some(4.0), "\"made\"");
    let home = [("http_request_method", "GET"), ("http_response_status_code", "2xx"), ("http_route", "/")];
    assert_eq!(registry.get_sample_value("shop_http_server_response_body_size_bytes_sum", &home), Some(5.0));
    assert_eq!(
        registry.get_sample_value("shop_http_server_request_body_size_bytes_count", &home),
        None,
        "no Content-Length, no request size"
    );
    assert_eq!(
        registry.get_sample_value("shop_http_server_active_requests", &[("http_request_method", "POST")]),
        Some(0.0)
    );
}

/// Requests by route only.
#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct ByRoute {
    http_route: Route,
}

impl RequestLabelSet for ByRoute {
    fn from_request(_: Method, _: Status, route: &Route) -> Self {
        ByRoute { http_route: route.clone() }
    }
}

/// A service's own declaration of its request metrics.
#[derive(Clone, Metrics)]
#[metrics(namespace = "api")]
struct ApiMetrics {
    /// Request latency by route.
    #[metric(buckets = [0.1, 1.0], unit = "seconds")]
    latency: Histogram<ByRoute>,
    /// Requests being served.
    in_flight: Gauge<ActiveLabels>,
}

#[test]
fn declared_metrics_with_fewer_labels_can_be_passed_in() {
    let registry = Registry::new();
    let declared = ApiMetrics::new();
    registry.register(declared.clone()).unwrap();
    let metrics =
        RequestMetrics::builder().metrics(declared.latency.clone(), declared.in_flight.clone()).build().unwrap();
    let mut service = RequestMetricsLayer::new(metrics).route_with(app_route).layer(App);
    block_on(async {
        for path in ["/users/1", "/users/2", "/created"] {
            service.call(request("GET", path)).await.unwrap();
        }
    });
    assert_eq!(registry.get_sample_value("api_latency_seconds_count", &[("http_route", "/users/{id}")]), Some(2.0));
    assert_eq!(registry.get_sample_value("api_latency_seconds_count", &[("http_route", "/created")]), Some(1.0));
    assert_eq!(registry.get_sample_value("api_in_flight", &[("http_request_method", "GET")]), Some(0.0));
    let text = encode_to_string(&registry, Format::TEXT);
    assert!(text.contains("api_latency_seconds_bucket{http_route=\"/users/{id}\",le=\"0.1\"}"), "{text}");
}

fn axum_app(metrics: RequestMetrics) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(|| async { "home" }))
        .route("/users/{id}", get(|| async { "a user" }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("the handler failed");
                }
                "unreachable"
            }),
        )
        .layer(request_metrics::axum::layer(metrics))
}

/// A client asking for 10,000 random paths adds one series, not 10,000.
#[test]
fn axum_unmatched_paths_share_one_series() {
    let registry = Registry::new();
    let metrics = RequestMetrics::builder().register(&registry).unwrap();
    let mut app = axum_app(metrics.clone());
    block_on(async {
        for path in ["/users/1", "/users/2", "/"] {
            assert_eq!(app.call(request("GET", path)).await.unwrap().status(), 200);
        }
        for _ in 0..10_000 {
            let path = format!("/{:x}/{:x}", fastrand::u64(..), fastrand::u32(..));
            assert_eq!(app.call(request("GET", &path)).await.unwrap().status(), 404);
        }
    });
    assert_eq!(count(&registry, "GET", "200", "/users/{id}"), Some(2.0));
    assert_eq!(count(&registry, "GET", "200", "/"), Some(1.0));
    assert_eq!(count(&registry, "GET", "404", "_UNMATCHED"), Some(10_000.0));
    assert_eq!(metrics.duration().len(), 3, "three series, whatever the paths");
}

#[test]
fn axum_panicking_handler_is_recorded_as_500() {
    let registry = Registry::new();
    let metrics = RequestMetrics::builder().register(&registry).unwrap();
    let mut app = axum_app(metrics);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _entered = runtime.enter();
    let mut future = Box::pin(app.call(request("GET", "/panic")));
    let polled = std::panic::catch_unwind(AssertUnwindSafe(|| poll_once(future.as_mut())));
    assert!(polled.is_err(), "the handler panics");
    drop(future);
    assert_eq!(count(&registry, "GET", "500", "/panic"), Some(1.0));
    assert_eq!(active(&registry, "GET"), Some(0.0));
}

/// An actix-web server on a thread of its own, with the middleware around
/// routes `/users/{id}`, `/panic` and `/metrics`; returns its address.
fn start_actix(registry: std::sync::Arc<Registry>) -> std::net::SocketAddr {
    use actix_web::{web, App, HttpServer};
    let metrics = RequestMetrics::builder().register(&registry).unwrap();
    let handler = promdecl::http::MetricsHandler::new(registry);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(request_metrics::actix::middleware(metrics.clone()))
                    .route("/", web::get().to(|| async { "home" }))
                    .route("/users/{id}", web::get().to(|| async { "a user" }))
                    .route(
                        "/panic",
                        web::get().to(|| async {
                            if true {
                                panic!("the handler failed");
                            }
                            "unreachable"
                        }),
                    )
                    .service(promdecl::http::actix::resource("/metrics", handler.clone()))
            })
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// Waits (two seconds at most) until `f` returns true.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn actix_middleware_records_routes_unmatched_paths_and_panics() {
    let registry = std::sync::Arc::new(Registry::new());
    let addr = start_actix(std::sync::Arc::clone(&registry));
    let agent = common::http_agent();
    for path in ["/users/1", "/users/2", "/"] {
        assert_eq!(common::call(agent.get(&format!("http://{addr}{path}"))).status(), 200, "{path}");
    }
    for _ in 0..200 {
        let path = format!("/{:x}/{:x}", fastrand::u64(..), fastrand::u32(..));
        assert_eq!(common::call(agent.get(&format!("http://{addr}{path}"))).status(), 404);
    }
    // Once, on a connection of its own (a pooled one would be retried); it
    // breaks with the panic, so there is no answer to check.
    {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(b"GET /panic HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let _ = stream.read_to_end(&mut Vec::new());
    }
    eventually(&format!("the panic is recorded: {}", encode_to_string(&registry, Format::TEXT)), || {
        count(&registry, "GET", "500", "/panic") == Some(1.0)
    });

    assert_eq!(count(&registry, "GET", "200", "/users/{id}"), Some(2.0));
    assert_eq!(count(&registry, "GET", "200", "/"), Some(1.0));
    assert_eq!(count(&registry, "GET", "404", "_UNMATCHED"), Some(200.0));
    let text = encode_to_string(&registry, Format::TEXT);
    let series = text.lines().filter(|l| l.starts_with("http_server_request_duration_seconds_count")).count();
    assert_eq!(series, 4, "{text}");
    assert_eq!(active(&registry, "GET"), Some(0.0));
}

#[test]
fn actix_dropped_request_is_recorded_as_cancelled() {
    use actix_web::dev::Service as _;
    use actix_web::{test, web, App};
    let registry = Registry::new();
    let metrics = RequestMetrics::builder().register(&registry).unwrap();
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(
            App::new()
                .wrap(request_metrics::actix::middleware(metrics))
                .route("/wait/{n}", web::get().to(std::future::pending::<&'static str>)),
        )
        .await;
        let call = app.call(test::TestRequest::get().uri("/wait/1").to_request());
        let timed_out = actix_web::rt::time::timeout(Duration::from_millis(50), call).await;
        assert!(timed_out.is_err(), "the handler never answers");
    });
    assert_eq!(count(&registry, "GET", "499", "/wait/{n}"), Some(1.0));
    assert!(duration(&registry, "sum", "GET", "499", "/wait/{n}").is_some_and(|s| s >= 0.05));
    assert_eq!(active(&registry, "GET"), Some(0.0));
}
