use promdecl::prelude::*;

#[derive(Clone, Metrics)]
struct AppMetrics {
    /// Latency.
    #[metric(buckets = [1.0, 0.1])]
    latency_seconds: Histogram,
    requests_total: Counter,
}

fn main() {
    // Only the two mistakes above are reported: the struct still has its
    // constructor and is still a Collector.
    let metrics = AppMetrics::new();
    metrics.requests_total.inc();
    Registry::new().register(metrics).unwrap();
}
