promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Requests.
        pub static REQUESTS: Counter;
        /// Requests again, as a gauge named like the counter's series.
        pub static REQUESTS_TOTAL: Gauge;
    }
}

fn main() {}
