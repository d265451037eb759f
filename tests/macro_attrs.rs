//! Behaviour of #[timed], #[count_exceptions] and #[track_inprogress]: sync,
//! async, methods, generics, panics, cancellation, errors and filters.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use promdecl::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, LabelValue)]
#[label(rename_all = "snake_case")]
enum Op {
    Read,
    WriteAll,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct OpLabels {
    op: Op,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Handler {
    handler: &'static str,
}

promdecl::metrics! {
    /// Metrics of the attribute tests.
    #[metrics(namespace = "attr_test")]
    pub mod m {
        /// Call latency.
        #[buckets(0.001, 0.01, 0.1, 1)]
        pub static LATENCY_SECONDS: Histogram;
        /// Call latency by operation.
        pub static OP_SECONDS: Summary<OpLabels>;
        /// Failed calls.
        pub static ERRORS_TOTAL: Counter;
        /// Failed calls by handler.
        pub static HANDLER_ERRORS_TOTAL: Counter<Handler>;
        /// Calls in progress.
        pub static IN_FLIGHT: Gauge;
        /// Calls in progress by operation.
        pub static OP_IN_FLIGHT: Gauge<OpLabels>;
        /// Timeouts only.
        pub static TIMEOUTS_TOTAL: Counter;
        /// Method calls.
        pub static METHOD_SECONDS: Histogram;
        /// Generic calls.
        pub static GENERIC_SECONDS: Summary;
        /// Async calls.
        pub static ASYNC_SECONDS: Summary;
        /// Async in progress.
        pub static ASYNC_IN_FLIGHT: Gauge;
        /// Async errors.
        pub static ASYNC_ERRORS_TOTAL: Counter;
        /// Panicking calls.
        pub static PANIC_SECONDS: Histogram;
        /// Panics.
        pub static PANICS_TOTAL: Counter;
        /// Panicking calls in progress.
        pub static PANIC_IN_FLIGHT: Gauge;
        /// Async panics.
        pub static ASYNC_PANICS_TOTAL: Counter;
        /// Cancellable calls in progress.
        pub static CANCEL_IN_FLIGHT: Gauge;
        /// Boxed-future calls.
        pub static BOXED_SECONDS: Summary;
        /// Async parse calls by operation.
        pub static PARSE_SECONDS: Histogram<OpLabels>;
        /// Async parse failures by handler.
        pub static PARSE_ERRORS_TOTAL: Counter<Handler>;
        /// Async parse calls in progress by operation.
        pub static PARSE_IN_FLIGHT: Gauge<OpLabels>;
        /// Async panics, timed.
        pub static ASYNC_PANIC_SECONDS: Histogram;
        /// Async panics in progress.
        pub static ASYNC_PANIC_IN_FLIGHT: Gauge;
        /// Boxed-future failures.
        pub static BOXED_ERRORS_TOTAL: Counter;
        /// Boxed-future calls in progress.
        pub static BOXED_IN_FLIGHT: Gauge;
    }
}

fn count(h: &Histogram) -> u64 {
    h.count()
}

#[timed(m::LATENCY_SECONDS)]
fn plain(x: u32) -> u32 {
    if x == 0 {
        return 0; // early return still observed
    }
    x * 2
}

#[test]
fn timed_observes_every_call_including_early_returns() {
    let before = count(&m::LATENCY_SECONDS);
    assert_eq!(plain(0), 0);
    assert_eq!(plain(3), 6);
    assert_eq!(count(&m::LATENCY_SECONDS), before + 2);
}

#[timed(m::OP_SECONDS, labels = OpLabels { op })]
#[track_inprogress(m::OP_IN_FLIGHT, labels = OpLabels { op })]
fn labelled(op: Op) -> f64 {
    m::OP_IN_FLIGHT.labels(&OpLabels { op }).get()
}

#[test]
fn labels_are_evaluated_from_arguments() {
    assert_eq!(labelled(Op::WriteAll), 1.0, "in progress while running");
    assert_eq!(m::OP_IN_FLIGHT.labels(&OpLabels { op: Op::WriteAll }).get(), 0.0);
    assert_eq!(m::OP_SECONDS.labels(&OpLabels { op: Op::WriteAll }).count(), 1);
    assert_eq!(m::OP_SECONDS.labels(&OpLabels { op: Op::Read }).count(), 0);
    let text = promdecl::encode::encode_to_string(default_registry(), promdecl::encode::Format::TEXT);
    assert!(text.contains("attr_test_op_seconds_count{op=\"write_all\"} 1\n"), "{text}");
}

#[derive(Debug, PartialEq)]
enum AppError {
    Timeout,
    Other,
}

#[count_exceptions(m::ERRORS_TOTAL)]
fn fallible(fail: bool) -> Result<u32, AppError> {
    let v: Result<u32, AppError> = if fail { Err(AppError::Other) } else { Ok(1) };
    let got = v?; // `?` goes through the count
    Ok(got + 1)
}

#[test]
fn count_exceptions_counts_err_returns() {
    let before = m::ERRORS_TOTAL.get();
    assert_eq!(fallible(false), Ok(2));
    assert_eq!(fallible(true), Err(AppError::Other));
    assert_eq!(fallible(true), Err(AppError::Other));
    assert_eq!(m::ERRORS_TOTAL.get(), before + 2.0);
}

fn is_timeout(e: &AppError) -> bool {
    *e == AppError::Timeout
}

#[count_exceptions(m::TIMEOUTS_TOTAL, filter = is_timeout)]
fn filtered(e: AppError) -> Result<(), AppError> {
    Err(e)
}

#[test]
fn count_exceptions_filter_selects_errors() {
    let before = m::TIMEOUTS_TOTAL.get();
    let _ = filtered(AppError::Other);
    let _ = filtered(AppError::Timeout);
    let _ = filtered(AppError::Timeout);
    assert_eq!(m::TIMEOUTS_TOTAL.get(), before + 2.0);
}

#[count_exceptions(m::HANDLER_ERRORS_TOTAL, labels = Handler { handler: "index" }, filter = |e: &AppError| *e != AppError::Timeout)]
fn closure_filter(e: AppError) -> Result<(), AppError> {
    Err(e)
}

#[test]
fn count_exceptions_with_labels_and_closure_filter() {
    let _ = closure_filter(AppError::Timeout);
    let _ = closure_filter(AppError::Other);
    assert_eq!(m::HANDLER_ERRORS_TOTAL.labels(&Handler { handler: "index" }).get(), 1.0);
}

#[timed(m::PANIC_SECONDS)]
#[count_exceptions(m::PANICS_TOTAL)]
#[track_inprogress(m::PANIC_IN_FLIGHT)]
fn panics() -> u32 {
    assert_eq!(m::PANIC_IN_FLIGHT.get(), 1.0);
    panic!("boom")
}

#[test]
fn panics_are_timed_counted_and_untracked() {
    let result = std::panic::catch_unwind(panics);
    assert!(result.is_err());
    assert_eq!(count(&m::PANIC_SECONDS), 1);
    assert_eq!(m::PANICS_TOTAL.get(), 1.0);
    assert_eq!(m::PANIC_IN_FLIGHT.get(), 0.0);
}

#[count_exceptions(m::ERRORS_TOTAL)]
fn not_a_result() -> impl Iterator<Item = u32> {
    [1, 2].into_iter()
}

#[test]
fn non_result_returns_and_impl_trait_work() {
    assert_eq!(not_a_result().sum::<u32>(), 3);
}

struct Service {
    name: String,
}

impl Service {
    #[timed(m::METHOD_SECONDS)]
    fn call(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.name)
    }

    #[count_exceptions(m::ERRORS_TOTAL)]
    fn consume(self) -> Result<String, AppError> {
        Ok(self.name)
    }
}

trait Greeter {
    fn greet(&self) -> String;

    #[timed(m::METHOD_SECONDS)]
    fn greet_twice(&self) -> String {
        self.greet().repeat(2)
    }
}

impl Greeter for Service {
    #[timed(m::METHOD_SECONDS)]
    fn greet(&self) -> String {
        self.name.clone()
    }
}

#[test]
fn methods_and_trait_impls() {
    let before = m::METHOD_SECONDS.count();
    let s = Service { name: "svc".into() };
    assert_eq!(s.call("!"), "svc!");
    assert_eq!(s.greet(), "svc");
    assert_eq!(s.greet_twice(), "svcsvc"); // a trait's default method
    assert_eq!(s.consume(), Ok("svc".to_owned()));
    assert_eq!(m::METHOD_SECONDS.count(), before + 4);
}

#[timed(m::GENERIC_SECONDS)]
fn generic<T>(value: &T) -> String
where
    T: std::fmt::Display + Clone + Send,
{
    value.to_string()
}

#[test]
fn generic_functions() {
    let before = m::GENERIC_SECONDS.count();
    assert_eq!(generic(&5), "5");
    assert_eq!(generic(&"x"), "x");
    assert_eq!(m::GENERIC_SECONDS.count(), before + 2);
}

/// A future that is pending once.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[timed(m::ASYNC_SECONDS)]
#[track_inprogress(m::ASYNC_IN_FLIGHT)]
#[count_exceptions(m::ASYNC_ERRORS_TOTAL)]
async fn async_call(fail: bool) -> Result<u32, AppError> {
    YieldOnce(false).await;
    if fail {
        return Err(AppError::Other);
    }
    Ok(7)
}

#[test]
fn async_fns_record_on_completion() {
    let (calls, errors) = (m::ASYNC_SECONDS.count(), m::ASYNC_ERRORS_TOTAL.get());
    assert_eq!(block_on(async_call(false)), Ok(7));
    assert_eq!(block_on(async_call(true)), Err(AppError::Other));
    assert_eq!(m::ASYNC_SECONDS.count(), calls + 2);
    assert_eq!(m::ASYNC_ERRORS_TOTAL.get(), errors + 1.0);
    assert_eq!(m::ASYNC_IN_FLIGHT.get(), 0.0);
}

#[track_inprogress(m::CANCEL_IN_FLIGHT)]
async fn cancellable() {
    YieldOnce(false).await;
}

#[test]
fn dropped_async_future_leaves_no_call_in_progress() {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut future = Box::pin(cancellable());
    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert_eq!(m::CANCEL_IN_FLIGHT.get(), 1.0);
    drop(future);
    assert_eq!(m::CANCEL_IN_FLIGHT.get(), 0.0);
}

#[count_exceptions(m::ASYNC_PANICS_TOTAL)]
async fn async_panics() -> u32 {
    YieldOnce(false).await;
    panic!("async boom")
}

#[test]
fn panics_in_async_fns_are_counted() {
    let result = std::panic::catch_unwind(|| block_on(async_panics()));
    assert!(result.is_err());
    assert_eq!(m::ASYNC_PANICS_TOTAL.get(), 1.0);
}

/// The shape `async_trait` expands to.
#[timed(m::BOXED_SECONDS)]
fn boxed(x: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        YieldOnce(false).await;
        x + 1
    })
}

#[test]
fn boxed_async_blocks_are_timed_inside_the_future() {
    let before = m::BOXED_SECONDS.count();
    let future = boxed(1);
    assert_eq!(m::BOXED_SECONDS.count(), before, "nothing recorded before the future runs");
    assert_eq!(block_on(future), 2);
    assert_eq!(m::BOXED_SECONDS.count(), before + 1);
}

/// `?` and `labels =` (from the arguments) in an async fn.
#[timed(m::PARSE_SECONDS, labels = OpLabels { op })]
#[count_exceptions(m::PARSE_ERRORS_TOTAL, labels = Handler { handler: "parse" })]
#[track_inprogress(m::PARSE_IN_FLIGHT, labels = OpLabels { op })]
async fn parse(op: Op, text: &str) -> Result<u32, std::num::ParseIntError> {
    YieldOnce(false).await;
    assert_eq!(m::PARSE_IN_FLIGHT.labels(&OpLabels { op }).get(), 1.0);
    let n: u32 = text.parse()?;
    Ok(n * 2)
}

#[test]
fn async_fns_with_question_mark_and_labels_from_arguments() {
    assert_eq!(block_on(parse(Op::Read, "21")), Ok(42));
    assert!(block_on(parse(Op::WriteAll, "x")).is_err());
    assert!(block_on(parse(Op::WriteAll, "y")).is_err());
    assert_eq!(m::PARSE_SECONDS.labels(&OpLabels { op: Op::Read }).count(), 1);
    assert_eq!(m::PARSE_SECONDS.labels(&OpLabels { op: Op::WriteAll }).count(), 2);
    assert_eq!(m::PARSE_ERRORS_TOTAL.labels(&Handler { handler: "parse" }).get(), 2.0);
    assert_eq!(m::PARSE_IN_FLIGHT.labels(&OpLabels { op: Op::Read }).get(), 0.0);
    assert_eq!(m::PARSE_IN_FLIGHT.labels(&OpLabels { op: Op::WriteAll }).get(), 0.0);
}

#[timed(m::ASYNC_PANIC_SECONDS)]
#[track_inprogress(m::ASYNC_PANIC_IN_FLIGHT)]
async fn async_panics_timed() -> u32 {
    YieldOnce(false).await;
    panic!("async boom, timed")
}

#[test]
fn panics_in_async_fns_are_timed_and_leave_nothing_in_progress() {
    let result = std::panic::catch_unwind(|| block_on(async_panics_timed()));
    assert!(result.is_err());
    assert_eq!(m::ASYNC_PANIC_SECONDS.count(), 1);
    assert_eq!(m::ASYNC_PANIC_IN_FLIGHT.get(), 0.0);
}

/// The `async_trait` shape with `?`, counting errors and calls in progress.
#[count_exceptions(m::BOXED_ERRORS_TOTAL)]
#[track_inprogress(m::BOXED_IN_FLIGHT)]
fn boxed_parse(text: String) -> Pin<Box<dyn Future<Output = Result<u32, std::num::ParseIntError>> + Send>> {
    Box::pin(async move {
        YieldOnce(false).await;
        let n: u32 = text.parse()?;
        Ok(n)
    })
}

#[test]
fn boxed_async_blocks_count_errors_and_track_progress_inside_the_future() {
    let future = boxed_parse("x".into());
    assert_eq!(m::BOXED_IN_FLIGHT.get(), 0.0, "not in progress before it runs");
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert_eq!(m::BOXED_IN_FLIGHT.get(), 1.0);
    assert!(matches!(future.as_mut().poll(&mut cx), Poll::Ready(Err(_))));
    assert_eq!(m::BOXED_IN_FLIGHT.get(), 0.0);
    assert_eq!(m::BOXED_ERRORS_TOTAL.get(), 1.0);
    assert_eq!(block_on(boxed_parse("5".into())), Ok(5));
    assert_eq!(m::BOXED_ERRORS_TOTAL.get(), 1.0);
}
