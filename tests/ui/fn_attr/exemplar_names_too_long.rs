use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram;
    }
}

// 70 + 69 characters of names alone: over the OpenMetrics limit of 128.
#[timed(m::LATENCY_SECONDS, exemplar(trace_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx = "a", span_yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy = "b"))]
fn handle() {}

fn main() {
    handle();
}
