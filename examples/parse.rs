//! Parses an exposition from standard input and prints its families.
//!
//! ```text
//! cargo run --example parse -- [--format openmetrics|text] < metrics.txt
//! ```
//!
//! Without `--format`, input whose last line is `# EOF` is read as
//! OpenMetrics, anything else as the Prometheus text format. Exits 0 and
//! prints each family (name, type, number of samples) if the input parses;
//! exits 1 and prints `line:column: message` if it does not (2 on bad
//! arguments).

use std::io::Read;
use std::process::ExitCode;

use promdecl::{parse_openmetrics, parse_text, MetricFamily, ParseError};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Syntax {
    OpenMetrics,
    Text,
}

/// OpenMetrics if the last line is `# EOF`.
fn guess(input: &str) -> Syntax {
    let body = input.strip_suffix('\n').unwrap_or(input);
    if body == "# EOF" || body.ends_with("\n# EOF") {
        Syntax::OpenMetrics
    } else {
        Syntax::Text
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("{problem}\nusage: parse [--format openmetrics|text] < FILE");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut syntax = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--format=") {
            Some(v) => Some(v.to_owned()),
            None if arg == "--format" => args.next(),
            None => return usage(&format!("unknown argument {arg:?}")),
        };
        syntax = match value.as_deref() {
            Some("openmetrics") => Some(Syntax::OpenMetrics),
            Some("text") => Some(Syntax::Text),
            other => return usage(&format!("unknown format {:?}", other.unwrap_or(""))),
        };
    }

    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("cannot read standard input: {e}");
        return ExitCode::FAILURE;
    }
    let syntax = syntax.unwrap_or_else(|| guess(&input));
    let parsed: Result<Vec<MetricFamily>, ParseError> = match syntax {
        Syntax::OpenMetrics => parse_openmetrics(&input),
        Syntax::Text => parse_text(&input),
    };
    match parsed {
        Ok(families) => {
            for family in &families {
                println!("{} {} {}", family.name, family.kind.as_str(), family.samples.len());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
