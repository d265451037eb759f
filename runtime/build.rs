//! Records the compiler version, target triple and profile for the
//! `rust_info` metric (see `src/collector/platform.rs`).
//!
//! Never fails the build: whatever cannot be found is reported as "unknown".

use std::env;
use std::process::Command;

fn main() {
    // Cargo hands build scripts the compiler it builds with as RUSTC.
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        // "rustc 1.85.0 (4d91de4e4 2025-02-17)" -> "1.85.0"
        .and_then(|line| line.split_whitespace().nth(1).map(str::to_owned));
    let var = |name: &str| env::var(name).ok().filter(|v| !v.is_empty());
    println!("cargo:rustc-env=PROMDECL_RUSTC_VERSION={}", version.as_deref().unwrap_or("unknown"));
    println!("cargo:rustc-env=PROMDECL_TARGET={}", var("TARGET").as_deref().unwrap_or("unknown"));
    println!("cargo:rustc-env=PROMDECL_PROFILE={}", var("PROFILE").as_deref().unwrap_or("unknown"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
