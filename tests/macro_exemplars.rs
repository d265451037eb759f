//! `#[timed(M, exemplar(name = expr, ...))]`: the duration is observed with
//! an exemplar whose values are taken when the call starts.

use promdecl::encode::{encode_to_string, Format};
use promdecl::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, LabelValue)]
enum Route {
    Home,
    Search,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct RouteLabels {
    route: Route,
}

promdecl::metrics! {
    /// Metrics of the exemplar attribute tests.
    #[metrics(namespace = "exemplar_attr")]
    pub mod m {
        /// Request latency.
        #[buckets(0.5, 10)]
        pub static REQUEST_SECONDS: Histogram;
        /// Request latency by route.
        #[buckets(0.5, 10)]
        pub static ROUTE_SECONDS: Histogram<RouteLabels>;
        /// Async request latency.
        #[buckets(0.5, 10)]
        pub static ASYNC_SECONDS: Histogram;
    }
}

struct Request {
    trace_id: String,
}

#[timed(m::REQUEST_SECONDS, exemplar(trace_id = req.trace_id, r#type = "sync"))]
fn handle(req: &mut Request) -> usize {
    // The exemplar was taken at entry: this change does not reach it.
    req.trace_id.push_str("-changed");
    req.trace_id.len()
}

#[timed(m::ROUTE_SECONDS, labels = RouteLabels { route }, exemplar(trace_id = trace))]
fn routed(route: Route, trace: u64) -> Route {
    route
}

#[timed(m::ASYNC_SECONDS, exemplar(trace_id = trace))]
async fn handle_async(trace: &str) -> usize {
    trace.len()
}

fn exemplar_of(h: &promdecl::HistogramCell) -> Option<promdecl::encode::Exemplar> {
    (0..=h.bounds().len()).find_map(|i| h.bucket_exemplar(i))
}

#[test]
fn exemplar_is_recorded_with_the_duration() {
    let mut req = Request { trace_id: "abc123".to_owned() };
    assert_eq!(handle(&mut req), "abc123-changed".len());
    assert_eq!(m::REQUEST_SECONDS.count(), 1);
    let e = exemplar_of(&m::REQUEST_SECONDS).expect("an exemplar");
    assert_eq!(e.labels, [("trace_id".to_owned(), "abc123".to_owned()), ("type".to_owned(), "sync".to_owned())]);
    // The exemplar's value is the duration observed, in the bucket it fell in.
    assert_eq!(m::REQUEST_SECONDS.sum(), e.value);
    assert_eq!(m::REQUEST_SECONDS.bucket_exemplar(0).map(|b| b.value), Some(e.value));
    assert!(e.timestamp.is_some());

    let om = encode_to_string(default_registry(), Format::OPENMETRICS);
    assert!(
        om.contains("exemplar_attr_request_seconds_bucket{le=\"0.5\"} 1 # {trace_id=\"abc123\",type=\"sync\"} "),
        "{om}"
    );
    let text = encode_to_string(default_registry(), Format::TEXT);
    assert!(!text.contains("abc123"), "{text}");
}

#[test]
fn labelled_metrics_and_any_display_value() {
    assert_eq!(routed(Route::Search, 42), Route::Search);
    let child = m::ROUTE_SECONDS.labels(&RouteLabels { route: Route::Search }).handle();
    assert_eq!(child.count(), 1);
    assert_eq!(exemplar_of(&child).unwrap().labels, [("trace_id".to_owned(), "42".to_owned())]);
    assert_eq!(m::ROUTE_SECONDS.labels(&RouteLabels { route: Route::Home }).count(), 0);
}

#[test]
fn async_functions_record_when_the_future_completes() {
    let fut = handle_async("t-1");
    assert_eq!(m::ASYNC_SECONDS.count(), 0, "nothing is recorded before the future runs");
    assert_eq!(block_on(fut), 3);
    assert_eq!(m::ASYNC_SECONDS.count(), 1);
    assert_eq!(exemplar_of(&m::ASYNC_SECONDS).unwrap().labels[0].1, "t-1");
}

/// An over-long exemplar is dropped; the duration still counts.
#[test]
fn over_long_exemplar_values_drop_the_exemplar_only() {
    promdecl::metrics! {
        /// Local.
        pub mod local {
            /// Latency.
            pub static LONG_SECONDS: Histogram;
        }
    }
    #[timed(local::LONG_SECONDS, exemplar(trace_id = id))]
    fn call(id: &str) {}
    call(&"x".repeat(200));
    assert_eq!(local::LONG_SECONDS.count(), 1);
    assert!(exemplar_of(&local::LONG_SECONDS).is_none());
    call("short");
    assert_eq!(exemplar_of(&local::LONG_SECONDS).unwrap().labels[0].1, "short");
}

fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
