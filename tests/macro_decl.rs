//! Behaviour of the declarations: derive(LabelValue), derive(LabelSet),
//! metrics! and derive(Metrics).

use promdecl::encode::{encode_to_string, Format};
use promdecl::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, LabelValue)]
#[label(rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
    #[label(rename = "DELETE")]
    Remove,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
#[label(rename_all = "kebab-case")]
enum WorkerState {
    Starting,
    Running,
    ShuttingDown,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
enum Status {
    Ok,
    Error,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    method: Method,
    endpoint: &'static str,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Outcome {
    method: Method,
    #[label(rename = "status")]
    result: Status,
    cached: bool,
}

promdecl::metrics! {
    /// HTTP front end.
    #[metrics(namespace = "myapp", subsystem = "http")]
    pub mod http {
        /// Total HTTP requests received.
        pub static REQUESTS_TOTAL: Counter<Route>;
        /// HTTP request latency.
        #[buckets(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)]
        pub static REQUEST_DURATION_SECONDS: Histogram<Route>;
        /// Requests being served.
        pub static IN_FLIGHT: Gauge;
        /// Failed requests.
        pub static ERRORS_TOTAL: Counter;
        /// Task durations.
        pub static TASK_SECONDS: Summary;
        /// Build information.
        pub static BUILD: Info;
        /// Worker state.
        pub static STATE: Enum<WorkerState>;
        /// Queue depth, read at scrape.
        #[name = "queue_depth"]
        #[unit = "items"]
        pub static QUEUE: Gauge;
        /// Outcomes by method, status and cache use.
        pub static OUTCOMES_TOTAL: Counter<Outcome>;
        /// Packets, counted per thread and summed at scrape.
        pub static PACKETS_TOTAL: ShardedCounter;
    }

    /// A second module in the same block, without a prefix.
    pub mod plain {
        /// Never touched by any test.
        pub static UNTOUCHED_TOTAL: Counter;
    }
}

#[test]
fn label_value_derive_renames() {
    assert_eq!(Method::VALUES, Some(&["GET", "POST", "DELETE"][..]));
    assert_eq!(WorkerState::VALUES, Some(&["starting", "running", "shutting-down"][..]));
    let indexes: Vec<usize> = [WorkerState::Starting, WorkerState::Running, WorkerState::ShuttingDown]
        .iter()
        .map(|s| s.dense_index())
        .collect();
    assert_eq!(indexes, [0, 1, 2]);
    assert_eq!(Method::Remove.with_str(str::to_owned), "DELETE");
    assert_eq!(Status::Error.dense_index(), 1);
}

#[test]
fn closed_label_sets_have_a_dense_index() {
    assert_eq!(Outcome::CARDINALITY, Some(3 * 2 * 2));
    assert_eq!(Outcome::NAMES, &["method", "status", "cached"]);
    assert_eq!(Route::CARDINALITY, None);
    let mut seen = std::collections::HashSet::new();
    for method in [Method::Get, Method::Post, Method::Remove] {
        for result in [Status::Ok, Status::Error] {
            for cached in [false, true] {
                let set = Outcome { method, result, cached };
                let index = set.dense_index();
                assert!(seen.insert(index), "index {index} used twice");
                let mut values = Vec::new();
                Outcome::visit_dense(index, &mut |v| values.push(v.to_owned()));
                let mut expected = Vec::new();
                set.visit(&mut |v| expected.push(v.to_owned()));
                assert_eq!(values, expected);
            }
        }
    }
    assert_eq!(seen.len(), 12);
}

#[test]
fn declared_metrics_appear_in_the_first_scrape_untouched() {
    let text = encode_to_string(default_registry(), Format::TEXT);
    for line in [
        "# HELP myapp_http_requests_total Total HTTP requests received.\n# TYPE myapp_http_requests_total counter\n",
        "# TYPE myapp_http_in_flight gauge\nmyapp_http_in_flight 0.0\n",
        "# TYPE myapp_http_queue_depth_items gauge\n",
        "# TYPE myapp_http_state gauge\nmyapp_http_state{myapp_http_state=\"starting\"} ",
        "# HELP untouched_total Never touched by any test.\n# TYPE untouched_total counter\nuntouched_total 0\n",
        "myapp_http_task_seconds_count 0\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(promdecl::registration_errors().is_empty());
}

#[test]
fn declared_metrics_record() {
    let route = Route { method: Method::Post, endpoint: "/submit" };
    http::REQUESTS_TOTAL.labels(&route).inc();
    http::REQUEST_DURATION_SECONDS.labels(&route).observe(0.07);
    http::STATE.state(WorkerState::ShuttingDown);
    http::BUILD.info(&[("version", "1.2.3")]).unwrap();
    http::OUTCOMES_TOTAL.labels(&Outcome { method: Method::Get, result: Status::Error, cached: true }).inc_by_u64(2);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| (0..100).for_each(|_| http::PACKETS_TOTAL.inc()));
        }
    });
    let r = default_registry();
    let labels = [("method", "POST"), ("endpoint", "/submit")];
    assert_eq!(r.get_sample_value("myapp_http_requests_total", &labels), Some(1.0));
    let bucket = [("method", "POST"), ("endpoint", "/submit"), ("le", "0.1")];
    assert_eq!(r.get_sample_value("myapp_http_request_duration_seconds_bucket", &bucket), Some(1.0));
    let bucket = [("method", "POST"), ("endpoint", "/submit"), ("le", "0.05")];
    assert_eq!(r.get_sample_value("myapp_http_request_duration_seconds_bucket", &bucket), Some(0.0));
    assert_eq!(r.get_sample_value("myapp_http_state", &[("myapp_http_state", "shutting-down")]), Some(1.0));
    assert_eq!(r.get_sample_value("myapp_http_build_info", &[("version", "1.2.3")]), Some(1.0));
    let outcome = [("method", "GET"), ("status", "Error"), ("cached", "true")];
    assert_eq!(r.get_sample_value("myapp_http_outcomes_total", &outcome), Some(2.0));
    assert_eq!(r.get_sample_value("myapp_http_packets_total", &[]), Some(300.0));
    let om = encode_to_string(r, Format::OPENMETRICS);
    assert!(om.contains("# TYPE myapp_http_state stateset\n"), "{om}");
    assert!(om.contains("# UNIT myapp_http_queue_depth_items items\n"), "{om}");
}

/// Per-tenant metrics as a value.
#[derive(Clone, Metrics)]
#[metrics(namespace = "tenant")]
struct TenantMetrics {
    /// Jobs run.
    jobs_total: Counter,
    /// Job latency.
    #[metric(buckets = [0.5, 1.0], unit = "seconds")]
    job_latency: Histogram<Route>,
    /// Queue length.
    #[metric(name = "queue_length")]
    queue: Gauge,
}

#[test]
fn derived_metrics_register_per_registry() {
    let (a, b) = (Registry::new(), Registry::new());
    let ma = TenantMetrics::new();
    let mb = TenantMetrics::default();
    a.register(TenantMetrics {
        jobs_total: ma.jobs_total.clone(),
        job_latency: ma.job_latency.clone(),
        queue: ma.queue.clone(),
    })
    .unwrap();
    b.register(mb).unwrap();
    ma.jobs_total.inc();
    ma.queue.set(3.0);
    ma.job_latency.labels(&Route { method: Method::Get, endpoint: "/" }).observe(0.7);
    assert_eq!(a.get_sample_value("tenant_jobs_total", &[]), Some(1.0));
    assert_eq!(b.get_sample_value("tenant_jobs_total", &[]), Some(0.0));
    assert_eq!(a.get_sample_value("tenant_queue_length", &[]), Some(3.0));
    let labels = [("method", "GET"), ("endpoint", "/"), ("le", "1.0")];
    assert_eq!(a.get_sample_value("tenant_job_latency_seconds_bucket", &labels), Some(1.0));
    // Registering the same group twice in one registry is refused.
    assert!(a.register(TenantMetrics::new()).is_err());
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Client {
    client: String,
}

#[derive(Clone, Metrics)]
struct Limited {
    /// Requests by client, at most three clients.
    #[metric(max_children = 3)]
    requests_total: Counter<Client>,
    /// Sessions by client, forgotten after a second of idleness.
    #[metric(expire_after_seconds = 1)]
    sessions: Gauge<Client>,
}

#[test]
fn declared_cardinality_limit_and_expiry() {
    let registry = Registry::new();
    let m = Limited::new();
    registry.register(m.clone()).unwrap();
    for i in 0..10 {
        m.requests_total.labels(&Client { client: format!("c{i}") }).inc();
    }
    assert_eq!(m.requests_total.len(), 3);
    assert_eq!(registry.get_sample_value("requests_total", &[("client", "__overflow__")]), Some(7.0));

    m.sessions.labels(&Client { client: "old".into() }).set(1.0);
    let lookup = || registry.get_sample_value("sessions", &[("client", "old")]);
    assert_eq!(lookup(), Some(1.0));
    assert_eq!(lookup(), Some(1.0));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(lookup(), None, "expired after a second without use");
}
