promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        #[metric(max_age_seconds = 60)]
        pub static LATENCY_SECONDS: Summary;
    }
}

fn main() {}
