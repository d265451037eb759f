use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram;
    }
}

#[timed(m::LATENCY_SECONDS, exemplar(__trace_id = "abc"))]
fn handle() {}

fn main() {
    handle();
}
