//! Sends metrics to Graphite once, over carbon's plaintext protocol.
//!
//! ```text
//! cargo run --example graphite --features graphite -- --addr 127.0.0.1:2003
//! cargo run --example graphite --features graphite -- --addr 127.0.0.1:2003 --tags
//! ```
//!
//! Plain mode folds the label into the path
//! (`promdecl_example_graphite_pushes_total.kind.example`); `--tags` sends
//! it as a Graphite tag (`promdecl_example_graphite_pushes_total;kind=example`).

use std::process::ExitCode;
use std::sync::Arc;

use promdecl::graphite::GraphiteBridge;
use promdecl::{Counter, Registry};

const USAGE: &str = "\
usage: graphite --addr HOST:PORT [--tags] [--prefix PREFIX]

Pushes once the counter promdecl_example_graphite_pushes_total{kind=\"example\"} = 1
to carbon's line receiver at HOST:PORT, and exits.

options:
  --addr HOST:PORT   carbon's plaintext (line) receiver
  --tags             labels as Graphite tags instead of path levels
  --prefix PREFIX    put PREFIX. before every path
  -h, --help         print this help";

struct Args {
    addr: String,
    tags: bool,
    prefix: Option<String>,
}

/// `None` for --help.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let (mut addr, mut tags, mut prefix) = (None, false, None);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--tags" => tags = true,
            "--addr" => addr = Some(argv.next().ok_or("--addr needs a value, HOST:PORT")?),
            "--prefix" => prefix = Some(argv.next().ok_or("--prefix needs a value")?),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let addr = addr.ok_or("--addr is required")?;
    Ok(Some(Args { addr, tags, prefix }))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("graphite: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let registry = Arc::new(Registry::new());
    let pushes = Counter::builder("promdecl_example_graphite_pushes", "Pushes made by the graphite example.")
        .labels(["kind"])
        .register(&registry)
        .expect("a valid, unique metric name");
    pushes.with_label_values(&["example"]).expect("one label value").inc();

    let mut bridge = GraphiteBridge::new(args.addr).registry(registry).tags(args.tags);
    if let Some(prefix) = args.prefix {
        bridge = bridge.prefix(prefix);
    }
    match bridge.push() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("graphite: {e}");
            ExitCode::from(1)
        }
    }
}
