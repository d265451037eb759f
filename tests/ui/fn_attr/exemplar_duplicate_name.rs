use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram;
    }
}

#[timed(m::LATENCY_SECONDS, exemplar(trace_id = "a", trace_id = "b"))]
fn handle() {}

fn main() {
    handle();
}
