promdecl::metrics! {
    /// Metrics.
    #[metrics(crate = "not a path")]
    pub mod m {
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
    }
}

fn main() {
    m::REQUESTS_TOTAL.inc();
}
