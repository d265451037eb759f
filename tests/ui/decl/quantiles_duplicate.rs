promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[quantiles((0.9, 0.01), (0.5, 0.05), (0.9, 0.001))]
        pub static LATENCY_SECONDS: Summary;
    }
}

fn main() {}
