//! Built-in collectors: the process's own resources, the Rust platform it was
//! built with, and the program's build information (the Python client's
//! `ProcessCollector`, `PlatformCollector` and the usual `build_info`).
//!
//! The [`default_registry`](crate::default_registry) holds a
//! [`ProcessCollector`] (on Linux, with the `process` feature) and a [`PlatformCollector`] from its first
//! use, as the Python client's `REGISTRY` does; [`build_info!`](crate::build_info)
//! adds `build_info` when a program asks for it.
//!
//! ```
//! use promdecl_runtime::{collector::{PlatformCollector, ProcessCollector}, Registry};
//!
//! let registry = Registry::new();
//! registry.register(ProcessCollector::new().namespace("mydaemon")).unwrap();
//! registry.register(PlatformCollector::new()).unwrap();
//! # #[cfg(all(feature = "process", target_os = "linux"))]
//! assert!(registry.get_sample_value("mydaemon_process_threads", &[]).unwrap() >= 1.0);
//! ```

mod build_info;
pub mod platform;
pub mod process;

pub use build_info::register_build_info;
pub use platform::PlatformCollector;
pub use process::ProcessCollector;

/// Registers the built-in collectors in the default registry; called once,
/// from its first use, after the `metrics!` blocks (so a block that declares
/// a `process_*` name of its own keeps it, and the clash is reported by
/// [`registration_errors`](crate::registration_errors)). The registry finds
/// it in [`BUILTIN_COLLECTORS`](crate::registry::BUILTIN_COLLECTORS) and
/// names no collector itself.
#[linkme::distributed_slice(crate::registry::BUILTIN_COLLECTORS)]
fn register_defaults() {
    #[cfg(all(feature = "process", target_os = "linux"))]
    process::register_default();
    platform::register_default();
}
