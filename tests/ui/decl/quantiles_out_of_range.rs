promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[quantiles((0.5, 0.05), (1.5, 0.01))]
        pub static LATENCY_SECONDS: Summary;
    }
}

fn main() {}
