use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram;
    }
}

#[timed(m::LATENCY_SECONDS, label = ())]
fn handle() {}

fn main() {
    handle();
}
