use promdecl::prelude::*;

#[derive(Metrics)]
struct AppMetrics {
    /// Latency.
    #[metric(bucket = [0.1, 1.0])]
    latency_seconds: Histogram,
}

fn main() {}
