//! What the request metrics add to a request: a tower service that answers
//! at once, bare and behind the layer, and an axum router with and without
//! the axum layer (matched-route lookup included).

mod common;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use promdecl::http::request_metrics::{self, RequestMetrics, RequestMetricsLayer, Route};
use tower_layer::Layer;
use tower_service::Service;

/// Polls a future that is ready at once.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the service did not answer at once"),
    }
}

/// Answers 200 with an empty body at once.
#[derive(Clone)]
struct Ok200;

impl Service<hyper::Request<()>> for Ok200 {
    type Response = hyper::Response<http_body_util::Empty<bytes::Bytes>>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: hyper::Request<()>) -> Self::Future {
        std::future::ready(Ok(hyper::Response::new(http_body_util::Empty::new())))
    }
}

fn tower_layer(c: &mut Criterion) {
    let mut g = c.benchmark_group("request_metrics_tower");
    let request = || hyper::Request::get("/users/7").body(()).unwrap();
    let mut bare = Ok200;
    g.bench_function("bare_service", |b| b.iter(|| now(bare.call(black_box(request())))));
    let metrics = RequestMetrics::builder().build().unwrap();
    let route = |_: &hyper::Uri, _: &hyper::http::Extensions| Route::from_static("/users/{id}");
    let mut layered = RequestMetricsLayer::new(metrics).route_with(route).layer(Ok200);
    g.bench_function("with_layer", |b| b.iter(|| now(layered.call(black_box(request())))));
    g.finish();
}

fn axum_router(c: &mut Criterion) {
    use axum::routing::get;
    let mut g = c.benchmark_group("request_metrics_axum");
    let request = || hyper::Request::get("/users/7").body(axum::body::Body::empty()).unwrap();
    let app = || axum::Router::new().route("/users/{id}", get(|| async { "a user" }));
    let mut bare = app();
    g.bench_function("bare_router", |b| b.iter(|| now(bare.call(black_box(request())))));
    let metrics = RequestMetrics::builder().build().unwrap();
    let mut layered = app().layer(request_metrics::axum::layer(metrics));
    g.bench_function("with_layer", |b| b.iter(|| now(layered.call(black_box(request())))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = tower_layer, axum_router
}
criterion_main!(benches);
