//! Serves the default registry over HTTPS, optionally requiring client
//! certificates (mutual TLS), until killed.
//!
//! ```text
//! cargo run --example tls --features tls -- \
//!     --addr 127.0.0.1:8443 --cert server.crt --key server.key [--client-ca ca.crt]
//! curl --cacert ca.crt [--cert client.crt --key client.key] https://127.0.0.1:8443/metrics
//! ```
//!
//! With `--client-ca`, only clients presenting a certificate issued by that
//! CA are served. Port 0 picks a free port; the URL printed on start names
//! the real one.

use std::process::ExitCode;

use promdecl::{default_registry, Counter, Server};

const USAGE: &str = "usage: tls --addr HOST:PORT --cert FILE --key FILE [--client-ca FILE]";

struct Args {
    addr: String,
    cert: String,
    key: String,
    client_ca: Option<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut addr, mut cert, mut key, mut client_ca) = (None, None, None, None);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--addr" => &mut addr,
            "--cert" => &mut cert,
            "--key" => &mut key,
            "--client-ca" => &mut client_ca,
            other => return Err(format!("unknown argument {other:?}")),
        };
        *slot = Some(args.next().ok_or_else(|| format!("{flag} needs a value"))?);
    }
    let need = |v: Option<String>, flag: &str| v.ok_or_else(|| format!("{flag} is required"));
    Ok(Args { addr: need(addr, "--addr")?, cert: need(cert, "--cert")?, key: need(key, "--key")?, client_ca })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("tls: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    Counter::builder("promdecl_example_tls_starts", "Starts of the TLS example.")
        .register(default_registry())
        .expect("the name is valid and not yet registered")
        .inc();

    let mut builder = Server::builder(args.addr.as_str()).tls(&args.cert, &args.key);
    if let Some(ca) = &args.client_ca {
        builder = builder.client_ca_file(ca).client_auth_required(true);
    }
    let server = match builder.start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("tls: {e}");
            return ExitCode::from(1);
        }
    };
    println!("serving metrics on https://{}/metrics", server.local_addr());
    loop {
        std::thread::park();
    }
}
