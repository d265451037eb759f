//! Every promdecl macro in one program: derived label types, a `metrics!`
//! block, a `#[derive(Metrics)]` group, and the function attributes on sync,
//! async and method code. Prints the resulting exposition.
//!
//! `cargo run --example macros_tour`

use std::time::Duration;

use promdecl::encode::{encode_to_string, Format};
use promdecl::prelude::*;

/// A closed set of label values: the compiler knows every method.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, LabelValue)]
#[label(rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
    #[label(rename = "DELETE")]
    Remove,
}

/// The states of a worker, exposed as an OpenMetrics stateset.
#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
#[label(rename_all = "snake_case")]
enum WorkerState {
    Idle,
    Busy,
    ShuttingDown,
}

/// A label set checked by the compiler: field names are label names.
#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    method: Method,
    endpoint: &'static str,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Handler {
    handler: &'static str,
}

promdecl::metrics! {
    /// HTTP front end.
    #[metrics(namespace = "tour", subsystem = "http")]
    pub mod http {
        /// Total HTTP requests received.
        pub static REQUESTS_TOTAL: Counter<Route>;
        /// HTTP request latency.
        #[buckets(0.001, 0.005, 0.01, 0.05, 0.1, 0.5)]
        pub static REQUEST_DURATION_SECONDS: Histogram<Route>;
        /// Requests being served right now.
        pub static IN_FLIGHT: Gauge;
        /// Failed requests by handler.
        pub static ERRORS_TOTAL: Counter<Handler>;
        /// Time spent in background tasks.
        pub static TASK_SECONDS: Summary;
        /// Build information.
        pub static BUILD: Info;
        /// Worker state.
        pub static STATE: Enum<WorkerState>;
        /// Jobs waiting, read at scrape.
        #[name = "queue_depth"]
        #[unit = "items"]
        pub static QUEUE: Gauge;
    }
}

#[derive(Debug)]
struct AppError(&'static str);

#[timed(http::REQUEST_DURATION_SECONDS, labels = Route { method: Method::Get, endpoint: path })]
#[count_exceptions(http::ERRORS_TOTAL, labels = Handler { handler: "index" })]
#[track_inprogress(http::IN_FLIGHT)]
fn handle(path: &'static str) -> Result<String, AppError> {
    http::REQUESTS_TOTAL.labels(&Route { method: Method::Get, endpoint: path }).inc();
    if path == "/missing" {
        return Err(AppError("not found"));
    }
    std::thread::sleep(Duration::from_millis(2));
    Ok(format!("page {path}"))
}

#[timed(http::TASK_SECONDS)]
async fn background_task() -> u32 {
    7
}

/// Metrics as a value: one instance per tenant, each in its own registry.
#[derive(Clone, Metrics)]
#[metrics(namespace = "tour", subsystem = "tenant")]
struct TenantMetrics {
    /// Jobs run for this tenant.
    jobs_total: Counter,
    /// Job latency for this tenant.
    #[metric(buckets = [0.1, 1.0, 10.0], unit = "seconds")]
    job_latency: Histogram,
}

struct Tenant {
    metrics: TenantMetrics,
}

impl Tenant {
    fn run_job(&self) {
        let _timer = self.metrics.job_latency.time();
        self.metrics.jobs_total.inc();
    }
}

/// Drives a future that never waits, so the example needs no runtime.
fn run_now<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("background_task never waits"),
    }
}

fn main() {
    http::BUILD.info(&[("version", env!("CARGO_PKG_VERSION"))]).expect("valid info keys");
    http::STATE.state(WorkerState::Busy);
    http::QUEUE.set_function(|| 3.0);
    http::REQUESTS_TOTAL.labels(&Route { method: Method::Post, endpoint: "/submit" }).inc();
    let _ = handle("/");
    if let Err(AppError(reason)) = handle("/missing") {
        eprintln!("/missing failed: {reason}");
    }
    let _ = run_now(background_task());
    let _ = (Method::Remove, WorkerState::Idle, WorkerState::ShuttingDown);

    let tenant_registry = Registry::new();
    let tenant = Tenant { metrics: TenantMetrics::new() };
    // Clones share their cells: the registry sees what the tenant records.
    tenant_registry.register(tenant.metrics.clone()).expect("a fresh registry has no clashes");
    tenant.run_job();

    println!("# The default registry, Prometheus text format:\n");
    print!("{}", encode_to_string(default_registry(), Format::TEXT));
    println!("\n# A tenant's registry, OpenMetrics:\n");
    print!("{}", encode_to_string(&tenant_registry, Format::OPENMETRICS));
}
