//! An actix-web application with its own routes and `/metrics` beside them.
//!
//! ```text
//! cargo run --example actix --features actix-web -- --addr 127.0.0.1:8080
//! curl http://127.0.0.1:8080/metrics
//! ```

use std::process::ExitCode;

use actix_web::{web, App, HttpServer};
use promdecl::http::{actix, MetricsHandler};

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
        [] => "127.0.0.1:8080".to_owned(),
        [flag, addr] if flag == "--addr" => addr.clone(),
        _ => {
            eprintln!("usage: actix [--addr HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let handler = MetricsHandler::default();
    let result = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new().route("/hello", web::get().to(hello)).service(actix::resource("/metrics", handler.clone()))
        })
        .bind(&addr)?;
        for bound in server.addrs() {
            println!("serving on http://{bound}/ (metrics at /metrics)");
        }
        server.run().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actix: {e}");
            ExitCode::from(1)
        }
    }
}
