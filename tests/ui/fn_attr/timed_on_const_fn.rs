use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram;
    }
}

#[timed(m::LATENCY_SECONDS)]
const fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
