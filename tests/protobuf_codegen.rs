//! The committed protobuf types (`runtime/src/encode/proto/`) are what
//! prost-build generates from `runtime/proto/io/prometheus/client/metrics.proto`,
//! parsed by protox (pure Rust: no `protoc` needed anywhere).
//!
//! After changing the `.proto` or updating prost, regenerate with
//! `PROMDECL_REGENERATE_PROTO=1 cargo test --test protobuf_codegen`.

use std::path::Path;

#[test]
fn generated_code_matches_the_proto() {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime");
    let committed_path = runtime.join("src/encode/proto/io.prometheus.client.rs");
    let out = std::env::temp_dir().join(format!("promdecl-protogen-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();

    let files =
        protox::compile(["io/prometheus/client/metrics.proto"], [runtime.join("proto")]).expect("metrics.proto parses");
    prost_build::Config::new().out_dir(&out).compile_fds(files).expect("prost-build generates the types");
    let generated = std::fs::read_to_string(out.join("io.prometheus.client.rs")).unwrap();
    let _ = std::fs::remove_dir_all(&out);

    if std::env::var_os("PROMDECL_REGENERATE_PROTO").is_some() {
        std::fs::write(&committed_path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap();
    assert!(
        committed == generated,
        "{} is out of date with metrics.proto; regenerate it with \
         PROMDECL_REGENERATE_PROTO=1 cargo test --test protobuf_codegen",
        committed_path.display()
    );
}
