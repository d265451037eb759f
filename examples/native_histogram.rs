//! Serves a native histogram, which Prometheus (with
//! `--enable-feature=native-histograms`) scrapes through the protobuf format.
//!
//! ```text
//! cargo run --features protobuf --example native_histogram -- --addr 127.0.0.1:8000
//! ```
//!
//! `promdecl_example_native_seconds` holds the observations 0.1, 0.2, 0.4,
//! 0.8 and 1.6 in native buckets (bucket factor 1.1: schema 3, eight buckets
//! per power of two) beside classic ones, which the text formats show.
//! Serves until killed; port 0 picks a free port and the URL printed on start
//! names the real one.

use std::process::ExitCode;

use promdecl::{default_registry, Histogram};

const USAGE: &str = "usage: native_histogram --addr HOST:PORT";

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
    let latency = Histogram::builder("promdecl_example_native_seconds", "Latency, in native buckets.")
        .buckets([0.25, 0.5, 1.0, 2.5])
        .native(1.1)
        .native_max_buckets(160)
        .register(default_registry())
        .expect("the name is valid and not yet registered");
    for v in [0.1, 0.2, 0.4, 0.8, 1.6] {
        latency.observe(v);
    }
    let server = match promdecl::serve(addr.as_str()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("native_histogram: {e}");
            return ExitCode::from(1);
        }
    };
    println!("serving metrics on http://{}/metrics", server.local_addr());
    loop {
        std::thread::park();
    }
}
