promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[buckets(0.1, f64::NAN, 1)]
        pub static LATENCY_SECONDS: Histogram;
    }
}

fn main() {}
