//! Recording one request: the in-flight gauge goes up when it starts, and a
//! guard brings it down and observes the duration however the request ends:
//! answered, failed, panicked or dropped.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::labels::{ActiveLabels, Method, RequestLabelSet, Route};
use super::{RequestMetrics, CANCELLED_STATUS};
use crate::clock::{self, Instant};

/// What a finished request tells the metrics: its status code and, when
/// known up front, the size of the response body.
///
/// Implemented for the outputs of the services the middleware wraps (tower
/// and axum, actix-web); an error counts as status 500, or for actix-web as
/// the status of the error's response.
pub trait Outcome {
    /// The status code and the size of the response body, if known.
    fn outcome(&self) -> (u16, Option<u64>);
}

impl<B: hyper::body::Body, E> Outcome for Result<hyper::Response<B>, E> {
    fn outcome(&self) -> (u16, Option<u64>) {
        match self {
            Ok(response) => (response.status().as_u16(), response_size(response)),
            Err(_) => (500, None),
        }
    }
}

fn response_size<B: hyper::body::Body>(response: &hyper::Response<B>) -> Option<u64> {
    response.body().size_hint().exact().or_else(|| content_length(response.headers()))
}

/// The `Content-Length` of a message, if it has a valid one.
pub(crate) fn content_length(headers: &hyper::HeaderMap) -> Option<u64> {
    headers.get(hyper::header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// One request being recorded. Dropped without [`Recording::finish`], it
/// records status 500 if the thread is panicking, else
/// [`CANCELLED_STATUS`]: either way the in-flight gauge comes back down.
pub(crate) struct Recording<L: RequestLabelSet> {
    metrics: RequestMetrics<L>,
    method: Method,
    route: Route,
    start: Instant,
    request_size: Option<u64>,
    done: bool,
}

impl<L: RequestLabelSet> Recording<L> {
    pub(crate) fn start(metrics: &RequestMetrics<L>, method: Method, route: Route, request_size: Option<u64>) -> Self {
        metrics.active().labels(&ActiveLabels { http_request_method: method }).inc();
        Recording { metrics: metrics.clone(), method, route, start: clock::now(), request_size, done: false }
    }

    pub(crate) fn finish(mut self, status: u16, response_size: Option<u64>) {
        self.record(status, response_size);
    }

    fn record(&mut self, status: u16, response_size: Option<u64>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let seconds = clock::seconds_since(self.start);
        let metrics = &self.metrics;
        metrics.active().labels(&ActiveLabels { http_request_method: self.method }).dec();
        let labels = L::from_request(self.method, metrics.status(status), &self.route);
        metrics.duration().labels(&labels).observe(seconds);
        if let (Some(histogram), Some(size)) = (metrics.request_body_size(), self.request_size) {
            histogram.labels(&labels).observe(size as f64);
        }
        if let (Some(histogram), Some(size)) = (metrics.response_body_size(), response_size) {
            histogram.labels(&labels).observe(size as f64);
        }
    }
}

impl<L: RequestLabelSet> Drop for Recording<L> {
    fn drop(&mut self) {
        let status = if std::thread::panicking() { 500 } else { CANCELLED_STATUS };
        self.record(status, None);
    }
}

pin_project_lite::pin_project! {
    /// The response future of an instrumented service: the inner service's
    /// future, and the recording of its request, which ends when the future
    /// completes, panics or is dropped.
    pub struct ResponseFuture<F, L: RequestLabelSet> {
        #[pin]
        inner: F,
        recording: Option<Recording<L>>,
    }
}

impl<F, L: RequestLabelSet> ResponseFuture<F, L> {
    pub(crate) fn new(inner: F, recording: Recording<L>) -> Self {
        ResponseFuture { inner, recording: Some(recording) }
    }
}

impl<F, L> Future for ResponseFuture<F, L>
where
    F: Future,
    F::Output: Outcome,
    L: RequestLabelSet,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // The future's owner may catch the panic and drop the future later,
        // when the thread no longer panics: record the 500 while unwinding.
        let unwinding = RecordOnUnwind(this.recording);
        let output = ready!(this.inner.poll(cx));
        if let Some(recording) = unwinding.0.take() {
            let (status, size) = output.outcome();
            recording.finish(status, size);
        }
        Poll::Ready(output)
    }
}

/// Drops (so records, as status 500) the recording when a poll unwinds.
struct RecordOnUnwind<'a, L: RequestLabelSet>(&'a mut Option<Recording<L>>);

impl<L: RequestLabelSet> Drop for RecordOnUnwind<'_, L> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.take();
        }
    }
}
