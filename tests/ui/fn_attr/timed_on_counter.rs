use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Requests.
        pub static REQUESTS: Counter;
    }
}

#[timed(m::REQUESTS)]
fn handle() {}

fn main() {
    handle();
}
