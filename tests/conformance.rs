//! The OpenMetrics parser conformance suite: every case folder under
//! `tests/data/openmetrics-parsers/` (vendored; see `tests/data/README.md`)
//! holds an exposition (`metrics`) and whether a conforming parser accepts it
//! (`test.json`, `"shouldParse"`). `parse_openmetrics` must agree on every
//! case; each disagreement is reported by name.

use std::fs;
use std::path::{Path, PathBuf};

use promdecl::parse_openmetrics;

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openmetrics-parsers")
}

/// The `"shouldParse"` flag of a `test.json`, without a JSON dependency.
fn should_parse(json: &str) -> Option<bool> {
    let rest = &json[json.find("\"shouldParse\"")? + "\"shouldParse\"".len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with("true") {
        Some(true)
    } else if rest.starts_with("false") {
        Some(false)
    } else {
        None
    }
}

#[test]
fn openmetrics_parser_conformance() {
    let dir = suite();
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.join("test.json").is_file())
        .collect();
    cases.sort();

    let (mut valid, mut invalid) = (0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let json = fs::read_to_string(case.join("test.json")).expect("test.json");
        let Some(expected) = should_parse(&json) else {
            failures.push(format!("{name}: test.json has no shouldParse"));
            continue;
        };
        if expected {
            valid += 1;
        } else {
            invalid += 1;
        }
        let bytes = fs::read(case.join("metrics")).expect("metrics");
        // An exposition that is not UTF-8 cannot parse.
        let result = String::from_utf8(bytes)
            .map_err(|e| e.to_string())
            .and_then(|text| parse_openmetrics(&text).map_err(|e| e.to_string()));
        match (expected, result) {
            (true, Err(e)) => failures.push(format!("{name}: should parse, but failed with {e}")),
            (false, Ok(families)) => {
                failures.push(format!("{name}: should fail, but parsed into {} families", families.len()))
            }
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
    assert_eq!((valid, invalid), (44, 167), "the suite should hold 44 valid and 167 invalid cases");
}
