promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[metric(quantiles = [(0.5, 0.05)], age_buckets = 0)]
        pub static LATENCY_SECONDS: Summary;
    }
}

fn main() {}
