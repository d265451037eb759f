promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[quantiles((0.5, 0))]
        pub static LATENCY_SECONDS: Summary;
    }
}

fn main() {}
