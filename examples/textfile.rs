//! Writes metrics to a file for the node exporter's textfile collector, the
//! way a cron job or batch script reports that it ran.
//!
//! ```text
//! cargo run --example textfile --features textfile -- /var/lib/node_exporter/textfile/batch.prom
//! ```
//!
//! The file is replaced atomically: the node exporter, reading `*.prom` on
//! every scrape, sees the old file or the new one, never half of one.

use std::process::ExitCode;

use promdecl::textfile::write_to_textfile;
use promdecl::{Counter, Registry};

const USAGE: &str = "\
usage: textfile PATH

Writes a registry with the counter promdecl_example_textfile_runs_total to
PATH (Prometheus text format), atomically, and exits.";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let path = match (args.next(), args.next()) {
        (Some(a), None) if a == "-h" || a == "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        (Some(path), None) => path,
        _ => {
            eprintln!("textfile: expected exactly one argument, the file to write\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    // A registry of its own: the default one also holds the process
    // collector, whose values mean nothing once this program has exited.
    let registry = Registry::new();
    let runs = Counter::builder("promdecl_example_textfile_runs", "Runs of the textfile example.")
        .register(&registry)
        .expect("a valid, unique metric name");
    runs.inc();

    match write_to_textfile(&path, &registry) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("textfile: {e}");
            ExitCode::from(1)
        }
    }
}
