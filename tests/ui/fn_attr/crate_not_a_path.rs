promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Calls.
        pub static CALLS_SECONDS: Histogram;
    }
}

#[promdecl::timed(m::CALLS_SECONDS, crate = "::promdecl::")]
fn work() {}

fn main() {
    work();
}
