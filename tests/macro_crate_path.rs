//! `crate = "..."` on every macro, and the short attribute forms in
//! `#[derive(Metrics)]`: declarations that reach the runtime through a path
//! other than `::promdecl`, here `::promdecl_runtime` used alone.

use promdecl::{count_exceptions, metrics, timed, track_inprogress, LabelSet, LabelValue, Metrics};
use promdecl_runtime::encode::{encode_to_string, Format};
use promdecl_runtime::{Collector, Gauge, Histogram, Registry, Summary};

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
#[label(rename_all = "UPPERCASE", crate = "::promdecl_runtime")]
enum Method {
    Get,
    Post,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
#[label(crate = "::promdecl_runtime")]
struct Route {
    method: Method,
    path: String,
}

metrics! {
    #[metrics(namespace = "cratepath", crate = "::promdecl_runtime")]
    pub mod app {
        /// Requests served.
        pub static REQUESTS_TOTAL: Counter<Route>;
        /// Request latency.
        #[buckets(0.1, 1.0)]
        pub static LATENCY_SECONDS: Histogram;
        /// Failures.
        pub static FAILURES_TOTAL: Counter;
        /// Calls in progress.
        pub static IN_PROGRESS: Gauge;
    }
}

#[timed(app::LATENCY_SECONDS, crate = "::promdecl_runtime")]
#[count_exceptions(app::FAILURES_TOTAL, crate = "::promdecl_runtime")]
#[track_inprogress(app::IN_PROGRESS, crate = "::promdecl_runtime")]
fn handle(fail: bool) -> Result<(), String> {
    assert_eq!(app::IN_PROGRESS.get(), 1.0);
    if fail {
        Err("failed".to_owned())
    } else {
        Ok(())
    }
}

#[test]
fn declarations_reach_the_runtime_through_the_given_path() {
    app::REQUESTS_TOTAL.labels(&Route { method: Method::Post, path: "/a".to_owned() }).inc();
    app::REQUESTS_TOTAL.labels(&Route { method: Method::Get, path: "/b".to_owned() }).inc_by(2.0).unwrap();
    handle(false).unwrap();
    handle(true).unwrap_err();
    let registry = promdecl_runtime::default_registry();
    let labels = [("method", "POST"), ("path", "/a")];
    assert_eq!(registry.get_sample_value("cratepath_requests_total", &labels), Some(1.0));
    let labels = [("method", "GET"), ("path", "/b")];
    assert_eq!(registry.get_sample_value("cratepath_requests_total", &labels), Some(2.0));
    assert_eq!(registry.get_sample_value("cratepath_latency_seconds_count", &[]), Some(2.0));
    assert_eq!(registry.get_sample_value("cratepath_failures_total", &[]), Some(1.0));
    assert_eq!(registry.get_sample_value("cratepath_in_progress", &[]), Some(0.0));
}

/// The short forms `#[name = ..]`, `#[unit = ..]`, `#[buckets(..)]` and
/// `#[quantiles(..)]` work on fields as they do in `metrics!`.
#[derive(Clone, Metrics)]
#[metrics(namespace = "short", crate = "::promdecl_runtime")]
struct ShortForms {
    /// Latency.
    #[buckets(0.5, 2.0)]
    #[unit = "seconds"]
    latency: Histogram,
    /// Queue depth.
    #[name = "queue_depth"]
    queue: Gauge,
    /// Sizes.
    #[quantiles((0.5, 0.05))]
    sizes: Summary,
}

#[test]
fn short_attribute_forms_work_in_derive() {
    let registry = Registry::new();
    let m = ShortForms::new();
    registry.register(m.clone()).unwrap();
    m.latency.observe(1.0);
    m.queue.set(4.0);
    m.sizes.observe(3.0);
    let text = encode_to_string(&registry, Format::TEXT);
    assert!(text.contains("short_latency_seconds_bucket{le=\"0.5\"} 0\n"), "{text}");
    assert!(text.contains("short_latency_seconds_bucket{le=\"2.0\"} 1\n"), "{text}");
    assert!(text.contains("short_queue_depth 4.0\n"), "{text}");
    assert!(text.contains("short_sizes{quantile=\"0.5\"} 3.0\n"), "{text}");
    let _: &dyn Collector = &m;
}
