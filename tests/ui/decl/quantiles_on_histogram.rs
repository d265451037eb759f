promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[quantiles((0.5, 0.05))]
        pub static LATENCY_SECONDS: Histogram;
    }
}

fn main() {}
