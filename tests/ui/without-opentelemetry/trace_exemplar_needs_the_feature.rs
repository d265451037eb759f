use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram;
    }
}

// A Histogram qualifies, but only with the `opentelemetry` feature on: the
// error must say which feature to enable.
#[timed(m::LATENCY_SECONDS, trace_exemplar)]
fn handle() {}

fn main() {
    handle();
}
