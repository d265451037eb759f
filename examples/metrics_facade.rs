//! Metrics a library records through the `metrics` facade, served by
//! promdecl: the program installs the bridge in one line, and everything the
//! library records lands in the default registry beside promdecl's own
//! metrics.
//!
//! ```text
//! cargo run --example metrics_facade --features metrics-facade -- --addr 127.0.0.1:8000
//! curl -s http://127.0.0.1:8000/metrics | grep facade
//! ```
//!
//! Port 0 picks a free port; the URL printed on start names the real one.

use std::process::ExitCode;

const USAGE: &str = "\
usage: metrics_facade --addr HOST:PORT

Records demo metrics through the metrics facade (metrics::counter!, gauge!,
histogram!) and serves the default registry at http://HOST:PORT/metrics
until killed.";

/// Stands in for a third-party library: it knows nothing of promdecl and
/// records through the `metrics` macros only.
mod third_party {
    use metrics::{counter, describe_counter, describe_histogram, gauge, histogram, Unit};

    /// Does the library's work once.
    pub fn run() {
        describe_counter!("promdecl_example_facade_events_total", "Events the library handled.");
        describe_histogram!(
            "promdecl_example_facade_latency",
            Unit::Seconds,
            "How long the library took to handle an event."
        );
        for _ in 0..3 {
            counter!("promdecl_example_facade_events_total", "kind" => "demo").increment(1);
        }
        gauge!("promdecl_example_facade_queue_depth").set(7.0);
        histogram!("promdecl_example_facade_latency").record(0.25);
        histogram!("promdecl_example_facade_latency").record(0.75);
    }
}

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
    if let Err(e) = promdecl::metrics_facade::install() {
        eprintln!("metrics_facade: {e}");
        return ExitCode::from(1);
    }
    third_party::run();
    let server = match promdecl::serve(addr.as_str()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("metrics_facade: {e}");
            return ExitCode::from(1);
        }
    };
    println!("serving metrics on http://{}/metrics", server.local_addr());
    loop {
        std::thread::park();
    }
}
