promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[buckets(0.1, 0.5, 0.5, 1)]
        pub static LATENCY_SECONDS: Histogram;
    }
}

fn main() {}
