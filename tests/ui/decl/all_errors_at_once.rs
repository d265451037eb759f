promdecl::metrics! {
    /// Metrics.
    #[metrics(namespace = "app", flavour = "x")]
    pub mod m {
        pub static UNDOCUMENTED: Counter;
        /// Latency.
        #[buckets(0.1, 1)]
        pub static GAUGE_WITH_BUCKETS: Gauge;
    }
}

fn main() {
    // The statics still exist, so this line adds no error of its own.
    m::UNDOCUMENTED.inc();
}
