promdecl::metrics! {
    /// Worker metrics.
    #[metrics(multiprocess)]
    pub mod m {
        /// Busy workers.
        #[multiprocess(mode = "average")]
        pub static BUSY: Gauge;
        /// Requests.
        #[multiprocess(mode = "livesum")]
        pub static REQUESTS_TOTAL: Counter;
        /// Payload sizes.
        #[quantiles((0.5, 0.05))]
        pub static PAYLOAD_BYTES: Summary;
    }

    /// Metrics of the process that serves the scrape.
    pub mod plain {
        /// Workers alive.
        #[multiprocess(mode = "max")]
        pub static WORKERS: Gauge;
    }
}

fn main() {}
