//! An axum application whose requests are measured: duration by method,
//! status and route template, and requests in flight, served at its own
//! `/metrics`.
//!
//! ```text
//! cargo run --example axum_instrumented --features axum -- --addr 127.0.0.1:3000
//! curl http://127.0.0.1:3000/users/1
//! curl http://127.0.0.1:3000/metrics
//! ```

use std::process::ExitCode;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use promdecl::http::request_metrics::{self, RequestMetrics};
use promdecl::http::{axum as metrics, MetricsHandler};

async fn home() -> &'static str {
    "hello\n"
}

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}\n")
}

fn main() -> ExitCode {
    let addr = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => "127.0.0.1:3000".to_owned(),
        [flag, addr] if flag == "--addr" => addr.clone(),
        _ => {
            eprintln!("usage: axum_instrumented [--addr HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let requests = match RequestMetrics::new() {
        Ok(requests) => requests,
        Err(e) => {
            eprintln!("axum_instrumented: {e}");
            return ExitCode::from(1);
        }
    };
    let app = Router::new()
        .route("/", get(home))
        .route("/users/{id}", get(user))
        .merge(metrics::router(MetricsHandler::default()))
        // After the routes, so it sees which one matched.
        .layer(request_metrics::axum::layer(requests));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("axum_instrumented: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        println!("serving on http://{}/ (metrics at /metrics)", listener.local_addr().expect("bound"));
        match axum::serve(listener, app).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("axum_instrumented: {e}");
                ExitCode::from(1)
            }
        }
    })
}
