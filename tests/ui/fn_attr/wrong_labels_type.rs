use promdecl::prelude::*;

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    endpoint: &'static str,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Handler {
    handler: &'static str,
}

promdecl::metrics! {
    /// Metrics.
    pub mod m {
        /// Latency.
        pub static LATENCY_SECONDS: Histogram<Route>;
    }
}

#[timed(m::LATENCY_SECONDS, labels = Handler { handler: "index" })]
fn handle() {}

fn main() {
    handle();
}
