//! The platform collector: `rust_info`, the Rust counterpart of the Python
//! client's `python_info`.
//!
//! ```
//! use promdecl_runtime::{collector::PlatformCollector, encode::{encode_to_string, Format}};
//!
//! let text = encode_to_string(&PlatformCollector::new(), Format::OPENMETRICS);
//! assert!(text.starts_with("# HELP rust Rust platform information\n# TYPE rust info\nrust_info{version=\""));
//! ```

use once_cell::sync::OnceCell;

use crate::encode::{Descriptor, MetricEncoder, Number, Sample};
use crate::registry::FamilyDesc;
use crate::{Collector, CollectorId, MetricType};

/// The `rustc` version this crate was compiled with, such as `"1.85.0"`
/// (`"unknown"` if the build script could not run `rustc -V`).
///
/// ```
/// assert!(promdecl_runtime::collector::platform::RUSTC_VERSION.chars().next().unwrap().is_ascii_alphanumeric());
/// ```
pub const RUSTC_VERSION: &str = env!("PROMDECL_RUSTC_VERSION");

/// The target triple this crate was compiled for, such as
/// `"x86_64-unknown-linux-gnu"`.
///
/// ```
/// use promdecl_runtime::collector::platform::TARGET;
/// assert!(TARGET.contains(std::env::consts::ARCH) || TARGET == "unknown");
/// ```
pub const TARGET: &str = env!("PROMDECL_TARGET");

/// The cargo profile this crate was compiled in: `"debug"` or `"release"`.
///
/// ```
/// use promdecl_runtime::collector::platform::PROFILE;
/// assert!(["debug", "release", "unknown"].contains(&PROFILE));
/// ```
pub const PROFILE: &str = env!("PROMDECL_PROFILE");

/// Exposes `rust_info{version, target, profile, crate_version} 1`: the
/// compiler, target triple and cargo profile the program was built with,
/// and the version of promdecl. The [default registry](crate::default_registry)
/// holds one.
///
/// ```
/// use promdecl_runtime::{collector::{platform, PlatformCollector}, Registry};
///
/// let registry = Registry::new();
/// registry.register(PlatformCollector::new()).unwrap();
/// let labels = [
///     ("version", platform::RUSTC_VERSION),
///     ("target", platform::TARGET),
///     ("profile", platform::PROFILE),
///     ("crate_version", env!("CARGO_PKG_VERSION")),
/// ];
/// assert_eq!(registry.get_sample_value("rust_info", &labels), Some(1.0));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PlatformCollector {
    _private: (),
}

impl PlatformCollector {
    /// The collector (it holds only constants).
    ///
    /// ```
    /// let c = promdecl_runtime::collector::PlatformCollector::new();
    /// assert_eq!(c.labels()[0].0, "version");
    /// ```
    pub const fn new() -> Self {
        PlatformCollector { _private: () }
    }

    /// The labels of `rust_info`, in exposition order.
    ///
    /// ```
    /// let c = promdecl_runtime::collector::PlatformCollector::new();
    /// let names: Vec<_> = c.labels().iter().map(|(n, _)| *n).collect();
    /// assert_eq!(names, ["version", "target", "profile", "crate_version"]);
    /// ```
    pub const fn labels(&self) -> [(&'static str, &'static str); 4] {
        [("version", RUSTC_VERSION), ("target", TARGET), ("profile", PROFILE), ("crate_version", CRATE_VERSION)]
    }

    /// The id under which the [default registry](crate::default_registry)
    /// holds its platform collector, to take it out as the Python client's
    /// `REGISTRY.unregister(PLATFORM_COLLECTOR)` does. `None` if a
    /// `metrics!` block declared `rust_info` first.
    ///
    /// ```
    /// use promdecl_runtime::{collector::PlatformCollector, default_registry};
    /// let id = PlatformCollector::default_id().unwrap();
    /// default_registry().unregister(id).unwrap();
    /// ```
    pub fn default_id() -> Option<CollectorId> {
        crate::default_registry();
        DEFAULT_ID.get().copied()
    }
}

const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");
const NAME: &str = "rust";

impl Collector for PlatformCollector {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        enc.family(&Descriptor { name: NAME, help: "Rust platform information", unit: "", kind: MetricType::Info });
        enc.series(&&self.labels()[..]);
        enc.sample(&Sample::new("_info", Number::Int(1)));
    }

    fn describe(&self) -> Vec<FamilyDesc> {
        vec![FamilyDesc::new(NAME, MetricType::Info)]
    }
}

static DEFAULT_ID: OnceCell<CollectorId> = OnceCell::new();

/// Puts a platform collector in the default registry.
pub(crate) fn register_default() {
    if let Some(id) = crate::registry::register_builtin(PlatformCollector::new()) {
        let _ = DEFAULT_ID.set(id);
    }
}
