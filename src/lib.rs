//! promdecl: declare Prometheus metrics once, in Rust syntax.
//!
//! ```
//! use promdecl::prelude::*;
//!
//! let registry = Registry::new();
//! let jobs = Counter::builder("jobs", "Jobs run.").register(&registry).unwrap();
//! jobs.inc();
//! assert_eq!(registry.get_sample_value("jobs_total", &[]), Some(1.0));
//! ```

pub use promdecl_runtime::*;

/// The names most programs need.
pub mod prelude {
    pub use promdecl_runtime::{
        default_registry, Collector, Counter, DynLabels, Enum, Gauge, Histogram, Info, LabelSet,
        LabelValue, Registry, Summary,
    };
}
