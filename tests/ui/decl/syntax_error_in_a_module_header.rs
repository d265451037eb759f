// A module whose header does not parse is reported; the next module is
// still generated.
promdecl::metrics! {
    /// Broken.
    pub mod {
        /// Never generated.
        pub static LOST_TOTAL: Counter;
    }

    /// HTTP.
    pub mod http {
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
    }
}

fn main() {
    http::REQUESTS_TOTAL.inc();
}
