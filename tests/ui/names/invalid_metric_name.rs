promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Requests.
        #[name = "requests-total"]
        pub static REQUESTS: Counter;
    }
}

fn main() {}
