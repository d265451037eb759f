promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Requests.
        pub static REQUESTS: u64;
    }
}

fn main() {}
