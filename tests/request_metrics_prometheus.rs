//! A real Prometheus scrapes request metrics: `examples/axum_instrumented`
//! and an actix-web server with the middleware, after requests to
//! `/users/1`, `/users/2`, `/nope` and 50 random paths; PromQL finds two
//! requests for `/users/{id}` and at most four routes on each.
#![cfg(all(feature = "http", feature = "axum", feature = "actix-web"))]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::prometheus::Prometheus;
use common::{call, http_agent, ServingExample};
use promdecl::http::request_metrics::{actix as request_metrics, RequestMetrics};
use promdecl::http::{actix, MetricsHandler};
use promdecl::Registry;

/// An actix-web application like the axum example: `/`, `/users/{id}` and
/// `/metrics`, wrapped in the middleware.
fn start_actix() -> SocketAddr {
    use actix_web::{web, App, HttpServer};
    let registry = Arc::new(Registry::new());
    let metrics = RequestMetrics::builder().register(&registry).unwrap();
    let handler = MetricsHandler::new(registry);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(request_metrics::middleware(metrics.clone()))
                    .route("/", web::get().to(|| async { "hello\n" }))
                    .route("/users/{id}", web::get().to(|| async { "a user\n" }))
                    .service(actix::resource("/metrics", handler.clone()))
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

/// `/users/1`, `/users/2`, `/nope` and 50 random paths.
fn make_requests(base: &str) {
    let agent = http_agent();
    for path in ["/users/1", "/users/2"] {
        assert_eq!(call(agent.get(&format!("{base}{path}"))).status(), 200, "{base}{path}");
    }
    assert_eq!(call(agent.get(&format!("{base}/nope"))).status(), 404);
    for _ in 0..50 {
        let path = format!("/{:x}/{:x}", fastrand::u64(..), fastrand::u16(..));
        assert_eq!(call(agent.get(&format!("{base}{path}"))).status(), 404, "{path}");
    }
}

#[test]
fn prometheus_counts_requests_by_route_template() {
    let test = "prometheus_counts_requests_by_route_template";
    let Some(example) = ServingExample::start(test, "axum_instrumented", &["--addr", "127.0.0.1:0"]) else {
        return;
    };
    let axum_base = example.base().to_owned();
    let actix_base = format!("http://{}", start_actix());
    make_requests(&axum_base);
    make_requests(&actix_base);

    let jobs: String = [("axum", &axum_base), ("actix", &actix_base)]
        .iter()
        .map(|(job, base)| {
            let target = base.trim_start_matches("http://");
            format!("  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n")
        })
        .collect();
    let config = format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{jobs}");
    let Some(prom) = Prometheus::start_with_config(test, &config, "exemplar-storage") else {
        return;
    };
    let timeout = Duration::from_secs(30);
    for job in ["axum", "actix"] {
        let users =
            format!("sum(http_server_request_duration_seconds_count{{job=\"{job}\",http_route=\"/users/{{id}}\"}})");
        assert_eq!(prom.query_value(&users, timeout), 2.0, "{job}: {users}");
        let unmatched = format!(
            "sum(http_server_request_duration_seconds_count{{job=\"{job}\",http_route=\"_UNMATCHED\",http_response_status_code=\"404\"}})"
        );
        assert_eq!(prom.query_value(&unmatched, timeout), 51.0, "{job}: {unmatched}");
        let routes =
            format!("count(count by (http_route) (http_server_request_duration_seconds_count{{job=\"{job}\"}}))");
        let distinct = prom.query_value(&routes, timeout);
        assert!(
            (2.0..=4.0).contains(&distinct),
            "{job}: {distinct} distinct http_route values: {:?}",
            prom.query(&format!("http_server_request_duration_seconds_count{{job=\"{job}\"}}"))
        );
        let active = format!("http_server_active_requests{{job=\"{job}\",http_request_method=\"GET\"}}");
        // The scrape itself is the request in flight when the gauge is read.
        assert_eq!(prom.query_value(&active, timeout), 1.0, "{job}: {active}");
    }
}
