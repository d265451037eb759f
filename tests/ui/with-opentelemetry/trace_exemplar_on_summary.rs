use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Summary;
    }
}

#[timed(m::LATENCY_SECONDS, trace_exemplar)]
fn handle() {}

fn main() {
    handle();
}
