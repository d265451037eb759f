//! Compile-time checks of the macros: every rule has a case under tests/ui/
//! with the error it must produce. Regenerate with `TRYBUILD=overwrite` and
//! read the diff.
//!
//! The cases compile against the facade with the features of this test
//! build, so a case whose error depends on a cargo feature lives apart:
//!
//! * `tests/ui/<topic>/`: holds with any set of features;
//! * `tests/ui/with-<feature>/`: checked only when `<feature>` is on;
//! * `tests/ui/without-<feature>/`: checked only when `<feature>` is off.
//!
//! `cargo test --workspace` and `cargo test --workspace --all-features`
//! between them check every case.

use std::path::Path;

#[test]
fn ui() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut dirs: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .map(|entry| entry.expect("directory entry"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().into_string().expect("a UTF-8 folder name"))
        .collect();
    dirs.sort();
    let cases = trybuild::TestCases::new();
    for dir in &dirs {
        let wanted = if let Some(feature) = dir.strip_prefix("with-") {
            feature_on(dir, feature)
        } else if let Some(feature) = dir.strip_prefix("without-") {
            !feature_on(dir, feature)
        } else {
            true
        };
        if wanted {
            cases.compile_fail(format!("tests/ui/{dir}/*.rs"));
        } else {
            eprintln!("tests/ui/{dir}/: not checked in this build (its cases need the feature set the name says)");
        }
    }
}

/// Whether the facade feature `feature` is on in this build. A folder that
/// names a feature missing here would never be checked, so it panics: add
/// the feature to the list.
fn feature_on(dir: &str, feature: &str) -> bool {
    match feature {
        "server" => cfg!(feature = "server"),
        "tls" => cfg!(feature = "tls"),
        "http" => cfg!(feature = "http"),
        "axum" => cfg!(feature = "axum"),
        "actix-web" => cfg!(feature = "actix-web"),
        "fast-clock" => cfg!(feature = "fast-clock"),
        "multiprocess" => cfg!(feature = "multiprocess"),
        "textfile" => cfg!(feature = "textfile"),
        "push" => cfg!(feature = "push"),
        "graphite" => cfg!(feature = "graphite"),
        "protobuf" => cfg!(feature = "protobuf"),
        "opentelemetry" => cfg!(feature = "opentelemetry"),
        _ => panic!("tests/ui/{dir}/: `{feature}` is not a feature tests/ui.rs knows; add it to `feature_on`"),
    }
}
