use promdecl::prelude::*;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Tenant {
    tenant: String,
}

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Jobs by tenant.
        #[metric(max_children = 0, expire_after_seconds = 00)]
        pub static JOBS: Counter<Tenant>;
    }
}

fn main() {}
