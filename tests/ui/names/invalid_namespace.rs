promdecl::metrics! {
    /// Metrics.
    #[metrics(namespace = "my.app")]
    pub mod m {
        /// Requests.
        pub static REQUESTS: Counter;
    }
}

fn main() {}
