//! The three-step demo of the Python client's README, in Rust:
//!
//! 1. declare a metric in a `metrics!` block (here a summary, plus a counter
//!    with compiler-checked labels, a histogram and a gauge),
//! 2. time a function with `#[timed]`,
//! 3. serve the default registry on `/metrics` and keep working.
//!
//! ```text
//! cargo run --example quickstart                         # http://127.0.0.1:8000/metrics
//! cargo run --example quickstart -- --addr 0.0.0.0:9100  # elsewhere
//! ```
//!
//! Port 0 picks a free port; the URL printed on start names the real one.

use std::process::ExitCode;
use std::time::Duration;

use promdecl::prelude::*;

const DEFAULT_ADDR: &str = "127.0.0.1:8000";

const USAGE: &str = "\
usage: quickstart [--addr HOST:PORT]

Serves demo metrics at http://HOST:PORT/metrics while processing fake
requests forever (stop it with Ctrl-C).

options:
  --addr HOST:PORT   address to listen on (default 127.0.0.1:8000; port 0
                     picks a free port)
  -h, --help         print this help";

/// The paths the demo serves: a closed set, so the compiler checks every
/// label value and the counter stores its children in a dense array.
#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
enum Path {
    #[label(rename = "/")]
    Index,
    #[label(rename = "/users")]
    Users,
    #[label(rename = "/orders")]
    Orders,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Request {
    path: Path,
}

promdecl::metrics! {
    /// The demo's metrics, registered in the default registry.
    pub mod demo {
        /// Time spent processing request
        pub static REQUEST_PROCESSING_SECONDS: Summary;
        /// Requests processed, by path.
        #[name = "promdecl_quickstart_requests_total"]
        pub static REQUESTS: Counter<Request>;
        /// Size of the responses sent.
        #[name = "promdecl_quickstart_response_size_bytes"]
        #[buckets(256, 512, 1024, 2048, 4096, 8192, 16384)]
        pub static RESPONSE_SIZE: Histogram;
        /// Requests being processed right now.
        #[name = "promdecl_quickstart_requests_in_progress"]
        pub static IN_PROGRESS: Gauge;
    }
}

/// A dummy function that takes some time: step 2 of the Python README,
/// `@REQUEST_TIME.time()` becomes `#[timed(...)]`.
#[timed(demo::REQUEST_PROCESSING_SECONDS)]
#[track_inprogress(demo::IN_PROGRESS)]
fn process_request(path: Path, seconds: f64) {
    std::thread::sleep(Duration::from_secs_f64(seconds));
    demo::REQUESTS.labels(&Request { path }).inc();
    // Response sizes spread evenly on a log scale, from 128 bytes to 32 KiB.
    let size = 2f64.powf(7.0 + 8.0 * fastrand::f64()).round();
    demo::RESPONSE_SIZE.observe(size);
}

/// What the command line asked for.
enum Command {
    Serve(String),
    Help,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut addr = DEFAULT_ADDR.to_owned();
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--addr" => args.next().ok_or_else(|| "--addr needs a value, HOST:PORT".to_owned())?,
            _ => match arg.strip_prefix("--addr=") {
                Some(value) => value.to_owned(),
                None => return Err(format!("unexpected argument {arg:?}")),
            },
        };
        check_addr(&value)?;
        addr = value;
    }
    Ok(Command::Serve(addr))
}

/// Accepts `HOST:PORT` (an IPv6 host in brackets) with a numeric port; the
/// host itself is resolved when binding.
fn check_addr(addr: &str) -> Result<(), String> {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("invalid address {addr:?}: expected HOST:PORT, e.g. 127.0.0.1:8000")),
    }
}

fn main() -> ExitCode {
    let addr = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Serve(addr)) => addr,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("quickstart: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    // Serves from a background thread until `server` is dropped.
    let server = match promdecl::serve(addr.as_str()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("quickstart: {e}");
            return ExitCode::from(1);
        }
    };
    println!("serving metrics on http://{}/metrics", server.local_addr());

    const PATHS: [Path; 3] = [Path::Index, Path::Users, Path::Orders];
    loop {
        process_request(PATHS[fastrand::usize(..PATHS.len())], fastrand::f64());
    }
}
