use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram;
    }
}

#[timed(m::LATENCY_SECONDS, exemplar(trace_id = "abc"), trace_exemplar)]
fn handle() {}

fn main() {
    handle();
}
