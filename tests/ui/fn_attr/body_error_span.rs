use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram;
        /// Errors.
        pub static ERRORS_TOTAL: Counter;
    }
}

#[timed(m::LATENCY_SECONDS)]
#[count_exceptions(m::ERRORS_TOTAL)]
fn handle() -> Result<u32, String> {
    let n: u32 = "not a number";
    Ok(n)
}

fn main() {
    let _ = handle();
}
