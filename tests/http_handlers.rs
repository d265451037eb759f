//! Scrape handlers mounted in other servers: the hyper / tower
//! `MetricsService`, the axum router and handlers, the actix-web resource.
//! Each answers like `serve()` does, and a real Prometheus scrapes all three.
#![cfg(all(feature = "http", feature = "axum", feature = "actix-web"))]

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::prometheus::Prometheus;
use common::trouble::{Mode, Trouble, FAILURE_MESSAGE, PANIC_MESSAGE};
use common::{call, http_agent};
use promdecl::encode::{encode_to_string, Format};
use promdecl::http::{MetricsHandler, MetricsService};
use promdecl::{Counter, Gauge, Registry};

const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";
const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores";

/// A registry with one counter named after the framework, and a gauge.
fn new_registry(framework: &str, value: f64) -> Arc<Registry> {
    let registry = Arc::new(Registry::new());
    Counter::builder(&format!("promdecl_{framework}_scrapes"), "Scrapes served.")
        .register(&registry)
        .unwrap()
        .inc_by(value)
        .unwrap();
    Gauge::builder("g", "G.").register(&registry).unwrap().set(2.0);
    registry
}

/// What every mounted handler must answer at `url`, for `registry`.
fn check_endpoint(name: &str, url: &str, registry: &Registry) {
    let agent = http_agent();
    let text = encode_to_string(registry, Format::TEXT);

    let resp = call(agent.get(url));
    assert_eq!(resp.status(), 200, "{name}");
    assert_eq!(resp.header("Content-Type"), Some(TEXT_004), "{name}");
    assert_eq!(resp.into_string().unwrap(), text, "{name}");

    let resp = call(agent.get(url).set("Accept", "application/openmetrics-text; version=1.0.0"));
    assert_eq!(resp.header("Content-Type"), Some(OM), "{name}");
    assert!(resp.into_string().unwrap().ends_with("g 2.0\n# EOF\n"), "{name}");

    let resp = call(agent.get(url).set("Accept-Encoding", "gzip"));
    assert_eq!(resp.header("Content-Encoding"), Some("gzip"), "{name}");
    let mut packed = Vec::new();
    resp.into_reader().read_to_end(&mut packed).unwrap();
    let mut unpacked = String::new();
    flate2::read::GzDecoder::new(&packed[..]).read_to_string(&mut unpacked).unwrap();
    assert_eq!(unpacked, text, "{name}");

    let resp = call(agent.get(&format!("{url}?name[]=g")));
    assert_eq!(resp.into_string().unwrap(), "# HELP g G.\n# TYPE g gauge\ng 2.0\n", "{name}");

    let resp = call(agent.head(url));
    assert_eq!(resp.status(), 200, "{name}");
    assert_eq!(resp.header("Content-Length"), Some(text.len().to_string().as_str()), "{name}: HEAD");
    assert_eq!(resp.into_string().unwrap(), "", "{name}: HEAD has no body");

    let resp = call(agent.post(url));
    assert_eq!(resp.status(), 405, "{name}");
}

/// Runs `serve` on a multi-threaded tokio runtime of its own thread, with a
/// listener on a free loopback port; returns the port.
fn on_tokio<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            serve(listener).await;
        });
    });
    rx.recv().unwrap()
}

fn start_hyper(handler: MetricsHandler) -> SocketAddr {
    on_tokio(move |listener| async move {
        let service = MetricsService::new(handler);
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service.clone();
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    })
}

fn start_axum(app: axum::Router) -> SocketAddr {
    on_tokio(move |listener| async move {
        axum::serve(listener, app).await.unwrap();
    })
}

fn start_actix(handler: MetricsHandler) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new().service(promdecl::http::actix::resource("/metrics", handler.clone()))
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

#[test]
fn hyper_service() {
    let registry = new_registry("hyper", 1.0);
    let addr = start_hyper(MetricsHandler::new(Arc::clone(&registry)));
    check_endpoint("hyper", &format!("http://{addr}/metrics"), &registry);
}

#[test]
fn axum_router_and_handlers() {
    use axum::routing::get;
    let registry = new_registry("axum", 1.0);
    let stateful = new_registry("axum_state", 1.0);
    let app = axum::Router::new()
        .route("/", get(|| async { "hello" }))
        .merge(promdecl::http::axum::router(MetricsHandler::new(Arc::clone(&registry))))
        .nest(
            "/state",
            axum::Router::new()
                .route(
                    "/metrics",
                    get(promdecl::http::axum::metrics_with_state).head(promdecl::http::axum::metrics_with_state),
                )
                .with_state(MetricsHandler::new(Arc::clone(&stateful))),
        )
        .route("/default/metrics", get(promdecl::http::axum::metrics));
    let addr = start_axum(app);
    check_endpoint("axum router", &format!("http://{addr}/metrics"), &registry);

    let resp = call(http_agent().get(&format!("http://{addr}/state/metrics")));
    assert_eq!(resp.into_string().unwrap(), encode_to_string(&*stateful, Format::TEXT));
    // The plain handler serves the default registry.
    let resp = call(http_agent().get(&format!("http://{addr}/default/metrics")));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Content-Type"), Some(TEXT_004));
    // The application's own routes are untouched.
    assert_eq!(call(http_agent().get(&format!("http://{addr}/"))).into_string().unwrap(), "hello");
}

#[test]
fn actix_resource() {
    let registry = new_registry("actix", 1.0);
    let addr = start_actix(MetricsHandler::new(Arc::clone(&registry)));
    check_endpoint("actix-web", &format!("http://{addr}/metrics"), &registry);
}

/// Every handler answers a collector's panic and reported failure with
/// 500 and the reason, and a collector that blocks with 503 at the scrape
/// timeout, while the framework goes on serving; the next scrape works.
fn check_trouble(name: &str, url: &str, trouble: &Trouble) {
    let agent = http_agent();
    trouble.set(Mode::PanicOnce);
    let resp = call(agent.get(url));
    assert_eq!(resp.status(), 500, "{name}");
    assert_eq!(
        resp.into_string().unwrap(),
        format!("scrape failed: a collector panicked: {PANIC_MESSAGE}\n"),
        "{name}"
    );
    let resp = call(agent.get(url));
    assert_eq!(resp.status(), 200, "{name}: after a panic");
    assert!(resp.into_string().unwrap().contains("trouble_total 7\n"), "{name}");

    trouble.set(Mode::Fail);
    let resp = call(agent.get(url));
    assert_eq!(resp.status(), 500, "{name}");
    assert_eq!(resp.into_string().unwrap(), format!("scrape failed: {FAILURE_MESSAGE}\n"), "{name}");

    trouble.set(Mode::Block);
    // Two at once: the framework's single worker is not held by the first.
    let started = Instant::now();
    let blocked: Vec<_> = (0..2)
        .map(|_| {
            let url = url.to_owned();
            std::thread::spawn(move || call(http_agent().get(&url)))
        })
        .collect();
    for resp in blocked {
        let resp = resp.join().unwrap();
        assert_eq!(resp.status(), 503, "{name}");
        assert_eq!(resp.into_string().unwrap(), "scrape timed out after 1s: a collector has not finished\n", "{name}");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{name}: two blocked scrapes took {:?}", started.elapsed());
    trouble.set(Mode::Fine);
    trouble.release();
    let resp = call(agent.get(url));
    assert_eq!(resp.status(), 200, "{name}: after a timeout");
}

fn trouble_handler() -> (Trouble, MetricsHandler) {
    let trouble = Trouble::default();
    let handler = MetricsHandler::new(trouble.clone()).scrape_timeout(Duration::from_secs(1));
    (trouble, handler)
}

#[test]
fn hyper_service_on_a_panic_a_failure_and_a_timeout() {
    let (trouble, handler) = trouble_handler();
    let addr = start_hyper(handler);
    check_trouble("hyper", &format!("http://{addr}/metrics"), &trouble);
}

#[test]
fn axum_on_a_panic_a_failure_and_a_timeout() {
    use axum::routing::get;
    let (trouble, handler) = trouble_handler();
    let (stateful_trouble, stateful) = trouble_handler();
    let app = axum::Router::new()
        .merge(promdecl::http::axum::router(handler))
        .route("/state/metrics", get(promdecl::http::axum::metrics_with_state).with_state(stateful));
    let addr = start_axum(app);
    check_trouble("axum router", &format!("http://{addr}/metrics"), &trouble);
    check_trouble("axum metrics_with_state", &format!("http://{addr}/state/metrics"), &stateful_trouble);
}

#[test]
fn actix_on_a_panic_a_failure_and_a_timeout() {
    let (trouble, handler) = trouble_handler();
    let addr = start_actix(handler);
    check_trouble("actix-web", &format!("http://{addr}/metrics"), &trouble);
}

/// A real Prometheus scrapes the three servers (with gzip, as it always
/// asks for it) and reads each one's counter.
#[test]
fn prometheus_scrapes_every_framework() {
    let frameworks = [("hyper", 3.0), ("axum", 4.0), ("actix", 5.0)];
    let addrs: Vec<SocketAddr> = frameworks
        .iter()
        .map(|&(name, value)| {
            let handler = MetricsHandler::new(new_registry(name, value));
            match name {
                "hyper" => start_hyper(handler),
                "axum" => start_axum(promdecl::http::axum::router(handler)),
                _ => start_actix(handler),
            }
        })
        .collect();
    let jobs: String = frameworks
        .iter()
        .zip(&addrs)
        .map(|((name, _), addr)| format!("  - job_name: {name}\n    static_configs:\n      - targets: ['{addr}']\n"))
        .collect();
    let config = format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{jobs}");
    let Some(prom) = Prometheus::start_with_config("prometheus_scrapes_every_framework", &config, "exemplar-storage")
    else {
        return;
    };
    for (name, value) in frameworks {
        let got =
            prom.query_value(&format!("promdecl_{name}_scrapes_total{{job=\"{name}\"}}"), Duration::from_secs(30));
        assert_eq!(got, value, "{name}");
        let (health, error) = prom.target_health(name, Duration::from_secs(30));
        assert_eq!(health, "up", "{name}: {error}");
    }
}

/// The framework examples serve their own route and `/metrics`.
#[test]
fn framework_examples_serve_metrics() {
    for name in ["axum", "hyper", "actix"] {
        let Some(example) =
            common::ServingExample::start("framework_examples_serve_metrics", name, &["--addr", "127.0.0.1:0"])
        else {
            return;
        };
        let base = example.base().to_owned();
        let route = if name == "hyper" { "/" } else { "/hello" };
        assert_eq!(call(http_agent().get(&format!("{base}{route}"))).into_string().unwrap(), "hello\n", "{name}");
        let resp = call(http_agent().get(&format!("{base}/metrics")));
        assert_eq!(resp.status(), 200, "{name}");
        let body = resp.into_string().unwrap();
        if name != "hyper" {
            assert!(body.contains("\npromdecl_example_greetings_total 1\n"), "{name}: {body}");
        }
        assert!(body.contains("# TYPE process_cpu_seconds_total counter"), "{name}: {body}");
    }
}
