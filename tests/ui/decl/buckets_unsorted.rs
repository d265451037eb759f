promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[buckets(0.5, 0.1, 1)]
        pub static LATENCY_SECONDS: Histogram;
    }
}

fn main() {}
