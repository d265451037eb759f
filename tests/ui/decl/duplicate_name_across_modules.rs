promdecl::metrics! {
    /// Front end.
    #[metrics(namespace = "app")]
    pub mod front {
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
    }
    /// Back end, with the same namespace and metric name.
    #[metrics(namespace = "app")]
    pub mod back {
        /// Requests.
        pub static REQUESTS: Counter;
    }
}

fn main() {}
