promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[buckets()]
        pub static LATENCY_SECONDS: Histogram;
    }
}

fn main() {}
