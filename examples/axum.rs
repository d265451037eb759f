//! An axum application with its own routes and `/metrics` beside them.
//!
//! ```text
//! cargo run --example axum --features axum -- --addr 127.0.0.1:3000
//! curl http://127.0.0.1:3000/hello
//! curl http://127.0.0.1:3000/metrics
//! ```

use std::process::ExitCode;

use axum::routing::get;
use axum::Router;
use promdecl::http::{axum as metrics, MetricsHandler};

promdecl::metrics! {
    /// The example's own metrics.
    #[metrics(namespace = "promdecl_example")]
    pub mod app {
        /// Greetings served.
        pub static GREETINGS_TOTAL: Counter;
    }
}

async fn hello() -> &'static str {
    app::GREETINGS_TOTAL.inc();
    "hello\n"
}

fn main() -> ExitCode {
    let addr = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => "127.0.0.1:3000".to_owned(),
        [flag, addr] if flag == "--addr" => addr.clone(),
        _ => {
            eprintln!("usage: axum [--addr HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let app = Router::new().route("/hello", get(hello)).merge(metrics::router(MetricsHandler::default()));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("axum: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        println!("serving on http://{}/ (metrics at /metrics)", listener.local_addr().expect("bound"));
        match axum::serve(listener, app).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("axum: {e}");
                ExitCode::from(1)
            }
        }
    })
}
