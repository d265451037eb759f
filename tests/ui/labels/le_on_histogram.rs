use promdecl::prelude::*;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Bad {
    le: &'static str,
}

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram<Bad>;
    }
}

fn main() {}
