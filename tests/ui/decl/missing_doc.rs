promdecl::metrics! {
    /// Metrics.
    pub mod m {
        pub static REQUESTS: Counter;
    }
}

fn main() {
    m::REQUESTS.inc();
}
