promdecl::metrics! {
    /// Metrics.
    #[metrics(namespace = "app", prefix = "x")]
    pub mod m {
        /// Requests.
        pub static REQUESTS: Counter;
    }
}

fn main() {}
