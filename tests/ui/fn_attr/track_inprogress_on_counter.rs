use promdecl::prelude::*;

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Requests.
        pub static REQUESTS: Counter;
    }
}

#[track_inprogress(m::REQUESTS)]
fn handle() {}

fn main() {
    handle();
}
