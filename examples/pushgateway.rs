//! Pushes a batch job's metrics to a Pushgateway, the way a job that ends
//! before Prometheus could scrape it reports what it did.
//!
//! ```text
//! cargo run --example pushgateway --features push -- --gateway http://127.0.0.1:9091 --job nightly
//! cargo run --example pushgateway --features push -- --gateway https://gw:9091 --job nightly \
//!     --user job --password s3cret --cacert ca.pem
//! ```
//!
//! Exits 0 once the gateway accepted the push, 1 with the error otherwise
//! (2 for a bad command line).

use std::process::ExitCode;
use std::time::Duration;

use promdecl::push::{GroupingKey, Pushgateway};
use promdecl::{Counter, Gauge, Registry};

const USAGE: &str = "\
usage: pushgateway --gateway URL --job NAME [--user U --password P]
                   [--cacert FILE] [--cert FILE --key FILE] [--timeout SECONDS]

Pushes (PUT) a registry with the counter promdecl_example_pushes_total = 1
and the gauge promdecl_example_last_push_timestamp_seconds (now) into the
group job=NAME of the Pushgateway at URL, and exits.

options:
  --gateway URL       http(s)://host:port, or host:port for plain HTTP
  --job NAME          the job name
  --user U            basic auth user (needs --password)
  --password P        basic auth password (needs --user)
  --cacert FILE       PEM file of the CA(s) to trust for HTTPS
  --cert FILE         PEM client certificate for mutual TLS (needs --key)
  --key FILE          PEM private key of the client certificate
  --timeout SECONDS   timeout of the request (default 30)
  -h, --help          print this help";

#[derive(Default)]
struct Args {
    gateway: Option<String>,
    job: Option<String>,
    user: Option<String>,
    password: Option<String>,
    cacert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    timeout: Option<Duration>,
}

/// `None` for --help.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args::default();
    while let Some(arg) = argv.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if name == "-h" || name == "--help" {
            return Ok(None);
        }
        let slot = match name.as_str() {
            "--gateway" => &mut args.gateway,
            "--job" => &mut args.job,
            "--user" => &mut args.user,
            "--password" => &mut args.password,
            "--cacert" => &mut args.cacert,
            "--cert" => &mut args.cert,
            "--key" => &mut args.key,
            "--timeout" => {
                let v = inline.or_else(|| argv.next()).ok_or("--timeout needs a value")?;
                let secs: f64 = v.parse().map_err(|_| format!("--timeout wants seconds, got {v:?}"))?;
                let timeout = Duration::try_from_secs_f64(secs)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| format!("--timeout must be a positive number of seconds, got {v:?}"))?;
                args.timeout = Some(timeout);
                continue;
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        *slot = Some(inline.or_else(|| argv.next()).ok_or_else(|| format!("{name} needs a value"))?);
    }
    if args.gateway.is_none() || args.job.is_none() {
        return Err("--gateway and --job are required".to_owned());
    }
    if args.user.is_some() != args.password.is_some() {
        return Err("--user and --password go together".to_owned());
    }
    if args.cert.is_some() != args.key.is_some() {
        return Err("--cert and --key go together".to_owned());
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("pushgateway: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    // A registry of its own: the default one also holds the process
    // collector, whose values mean nothing once this program has exited.
    let registry = Registry::new();
    let pushes = Counter::builder("promdecl_example_pushes", "Pushes made by the pushgateway example.")
        .register(&registry)
        .expect("a valid, unique metric name");
    let last_push =
        Gauge::builder("promdecl_example_last_push_timestamp_seconds", "When the pushgateway example last pushed.")
            .register(&registry)
            .expect("a valid, unique metric name");
    pushes.inc();
    last_push.set_to_current_time();

    let mut builder = Pushgateway::builder(args.gateway.unwrap());
    if let Some(timeout) = args.timeout {
        builder = builder.timeout(timeout);
    }
    if let (Some(user), Some(password)) = (args.user, args.password) {
        builder = builder.basic_auth(user, password);
    }
    if let Some(cacert) = args.cacert {
        builder = builder.ca_file(cacert);
    }
    if let (Some(cert), Some(key)) = (args.cert, args.key) {
        builder = builder.client_cert(cert, key);
    }
    let job = args.job.unwrap();
    let result = builder.build().and_then(|gateway| gateway.push(&job, GroupingKey::new(), &registry));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pushgateway: {e}");
            ExitCode::from(1)
        }
    }
}
