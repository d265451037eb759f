use promdecl::prelude::*;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Bad {
    quantile: &'static str,
}

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Summary<Bad>;
    }
}

fn main() {}
