//! A batch job that writes its result to a Prometheus-compatible store with
//! remote write, once, before it exits.
//!
//! ```text
//! prometheus --web.enable-remote-write-receiver &
//! cargo run --example remote_write --features remote-write -- \
//!     --url http://127.0.0.1:9090/api/v1/write --job nightly
//! ```
//!
//! Exits 0 when the receiver accepted the write; otherwise prints why and
//! exits 1 (2 for a wrong command line).

use std::process::ExitCode;
use std::time::Duration;

use promdecl::remote_write::RemoteWrite;
use promdecl::{Counter, Registry};

const USAGE: &str = "\
usage: remote_write --url URL --job NAME [--user USER --password PASSWORD]

Writes promdecl_example_remote_writes_total = 1, labelled job=NAME, to the
remote-write receiver at URL (such as http://127.0.0.1:9090/api/v1/write)
once, then exits: 0 when the receiver accepted it.";

struct Args {
    url: String,
    job: String,
    auth: Option<(String, String)>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let (mut url, mut job, mut user, mut password) = (None, None, None, None);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--url" => &mut url,
            "--job" => &mut job,
            "--user" => &mut user,
            "--password" => &mut password,
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        *slot = Some(args.next().ok_or_else(|| format!("{arg} needs a value"))?);
    }
    let url = url.ok_or("--url is required")?;
    let job = job.ok_or("--job is required")?;
    let auth = match (user, password) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        _ => return Err("--user and --password go together".to_owned()),
    };
    Ok(Some(Args { url, job, auth }))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("remote_write: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let writes = Counter::builder("promdecl_example_remote_writes", "Remote writes this job made.")
        .register(registry)
        .expect("a valid name, registered once");
    writes.inc();

    let mut builder = RemoteWrite::builder(args.url)
        .registry(registry)
        .job(args.job)
        .timeout(Duration::from_secs(5))
        .retry_for(Duration::from_secs(10));
    if let Some((user, password)) = args.auth {
        builder = builder.basic_auth(user, password);
    }
    match builder.build().and_then(|writer| writer.send()) {
        Ok(()) => {
            println!("remote_write: the receiver accepted the write");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("remote_write: {e}");
            ExitCode::from(1)
        }
    }
}
