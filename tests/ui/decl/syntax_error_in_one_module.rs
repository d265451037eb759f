// A syntax error in one module is reported once; the other modules, and the
// declarations of the same module that parse, are still generated, so their
// uses add no errors of their own.
promdecl::metrics! {
    /// Jobs.
    pub mod jobs {
        /// Jobs run.
        pub static RUN_TOTAL: Counter;
        /// Jobs failed.
        pub static FAILED_TOTAL Counter;
        /// Jobs queued.
        pub static QUEUED: Gauge;
    }

    /// HTTP.
    pub mod http {
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
    }
}

fn main() {
    jobs::RUN_TOTAL.inc();
    jobs::QUEUED.set(1.0);
    http::REQUESTS_TOTAL.inc();
}
