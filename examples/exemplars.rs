//! Serves a histogram whose bucket carries an exemplar, for Prometheus with
//! exemplar storage to pick up (through OpenMetrics or protobuf; the text
//! format 0.0.4 has no exemplars).
//!
//! ```text
//! cargo run --example exemplars -- --addr 127.0.0.1:8000
//! curl -H 'Accept: application/openmetrics-text; version=1.0.0' http://127.0.0.1:8000/metrics
//! ```
//!
//! It observes 0.05 seconds with the exemplar `{trace_id="abc123"}` in
//! `promdecl_example_request_seconds`, then serves until killed. Port 0
//! picks a free port; the URL printed on start names the real one.

use std::process::ExitCode;

use promdecl::{default_registry, Histogram};

const USAGE: &str = "usage: exemplars --addr HOST:PORT";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let addr = match (args.next().as_deref(), args.next(), args.next()) {
        (Some("--addr"), Some(addr), None) => addr,
        (Some("-h" | "--help"), None, None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let latency = Histogram::builder("promdecl_example_request_seconds", "Request latency.")
        .buckets([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0])
        .register(default_registry())
        .expect("the name is valid and not yet registered");
    // The exemplar links the bucket le="0.05" to one request's trace.
    if let Err(e) = latency.observe_with_exemplar(0.05, &[("trace_id", "abc123")]) {
        eprintln!("exemplars: {e}");
        return ExitCode::from(1);
    }
    let server = match promdecl::serve(addr.as_str()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("exemplars: {e}");
            return ExitCode::from(1);
        }
    };
    println!("serving metrics on http://{}/metrics", server.local_addr());
    loop {
        std::thread::park();
    }
}
