promdecl::metrics! {
    /// Metrics.
    #[metrics(namespace = "app", subsystem = "2xx")]
    pub mod m {
        /// Requests.
        pub static REQUESTS: Counter;
    }
}

fn main() {}
