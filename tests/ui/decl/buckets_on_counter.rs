promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Requests.
        #[buckets(0.1, 1)]
        pub static REQUESTS: Counter;
    }
}

fn main() {}
