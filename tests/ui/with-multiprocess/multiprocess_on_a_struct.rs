use promdecl::Metrics;

/// Worker metrics, as a value.
#[derive(Metrics)]
#[metrics(multiprocess)]
struct Worker {
    /// Jobs done.
    jobs_total: promdecl::Counter,
}

fn main() {}
