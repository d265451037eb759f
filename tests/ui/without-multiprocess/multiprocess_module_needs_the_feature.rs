promdecl::metrics! {
    /// Worker metrics.
    #[metrics(multiprocess)]
    pub mod m {
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
    }
}

fn main() {}
