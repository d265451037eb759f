//! `rust_info` against `rustc -V`, and `build_info!` in this (the user's)
//! crate, both in the default registry and checked by the exposition
//! validator.

mod common;

use std::process::Command;

use promdecl::collector::{platform, PlatformCollector};
use promdecl::encode::{encode_to_string, Format};
use promdecl::registry::FamilyDesc;
use promdecl::{default_registry, Collector, MetricType, Registry};

/// `rustc -V` and `rustc -vV`'s host line, from the toolchain cargo built
/// this test with.
fn rustc() -> (String, String) {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let run = |arg: &str| {
        let out = Command::new(&rustc).arg(arg).current_dir(env!("CARGO_MANIFEST_DIR")).output().expect("run rustc");
        assert!(out.status.success(), "rustc {arg} failed");
        String::from_utf8(out.stdout).unwrap()
    };
    // "rustc 1.85.0 (4d91de4e4 2025-02-17)"
    let version = run("-V").split_whitespace().nth(1).expect("a version after \"rustc\"").to_owned();
    let host = run("-vV").lines().find_map(|l| l.strip_prefix("host: ")).expect("a host line").to_owned();
    (version, host)
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

#[test]
fn rust_info_labels_match_rustc() {
    let (version, host) = rustc();
    let expected = [
        ("version", version.as_str()),
        ("target", host.as_str()),
        ("profile", profile()),
        ("crate_version", env!("CARGO_PKG_VERSION")),
    ];
    assert_eq!(PlatformCollector::new().labels(), expected);
    assert_eq!((platform::RUSTC_VERSION, platform::TARGET, platform::PROFILE), (&*version, &*host, profile()));

    let registry = Registry::new();
    registry.register(PlatformCollector::new()).unwrap();
    assert_eq!(registry.get_sample_value("rust_info", &expected), Some(1.0));
    let om = encode_to_string(&registry, Format::OPENMETRICS);
    assert_eq!(
        om,
        format!(
            "# HELP rust Rust platform information\n# TYPE rust info\n\
             rust_info{{version=\"{version}\",target=\"{host}\",profile=\"{}\",crate_version=\"{}\"}} 1\n# EOF\n",
            profile(),
            env!("CARGO_PKG_VERSION"),
        )
    );
    let text = encode_to_string(&registry, Format::TEXT);
    assert!(text.starts_with("# HELP rust_info Rust platform information\n# TYPE rust_info gauge\n"), "{text}");
    assert_eq!(PlatformCollector::new().describe(), [FamilyDesc::new("rust", MetricType::Info)]);
    assert!(registry.register(PlatformCollector::new()).is_err(), "two rust_info collide");
}

#[test]
fn build_info_describes_the_calling_crate() {
    let registry = Registry::new();
    let info = promdecl::build_info!(&registry).unwrap();
    let mut expected = vec![("name", "promdecl"), ("version", env!("CARGO_PKG_VERSION"))];
    if let Some(revision) = option_env!("GIT_REVISION") {
        expected.push(("git_revision", revision));
    }
    assert_eq!(registry.get_sample_value("build_info", &expected), Some(1.0));
    let pairs: Vec<(String, String)> = expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    assert_eq!(info.get(), pairs);
    assert!(promdecl::build_info!(&registry).is_err(), "a second build_info collides");
    assert!(promdecl::collector::register_build_info(&Registry::new(), "app", "1.0", Some("abc123")).is_ok());
}

#[test]
fn default_registry_exposes_rust_info_and_build_info() {
    let registry = default_registry();
    let (version, host) = rustc();
    let labels = [
        ("version", version.as_str()),
        ("target", host.as_str()),
        ("profile", profile()),
        ("crate_version", env!("CARGO_PKG_VERSION")),
    ];
    assert_eq!(registry.get_sample_value("rust_info", &labels), Some(1.0));
    assert!(PlatformCollector::default_id().is_some());
    assert_eq!(registry.get_sample_value("build_info", &[("name", "promdecl")]), None, "only when asked for");
    promdecl::build_info!().unwrap();
    assert!(promdecl::registration_errors().is_empty(), "{:?}", promdecl::registration_errors());

    for format in [Format::TEXT, Format::OPENMETRICS] {
        let text = encode_to_string(registry, format);
        assert!(text.contains("build_info{name=\"promdecl\",version=\""), "{text}");
        if cfg!(all(feature = "process", target_os = "linux")) {
            assert!(text.contains("process_threads "), "{text}");
        }
        let Some(v) = common::validate("default_registry_platform", &text) else { continue };
        assert!(v.ok, "validator rejected the default registry ({format:?}):\n{}\n{text}", v.output);
        let dump = v.dump.expect("the validator's dump");
        let rust = dump
            .items()
            .iter()
            // An info family in OpenMetrics; a gauge named rust_info in text.
            .find(|f| matches!(f.get("name").and_then(|n| n.as_str()), Some("rust" | "rust_info")))
            .expect("rust_info parsed");
        let sample = &rust.get("samples").unwrap().items()[0];
        let parsed = sample.get("labels").and_then(|l| l.get("version")).and_then(|v| v.as_str());
        assert_eq!(parsed, Some(version.as_str()));
    }
}
