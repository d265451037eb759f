//! The macros against the same code written by hand: `#[timed]` against a
//! hand-held timer guard and against the bare clock reads, and counters
//! declared in `metrics!` against the runtime builder.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use promdecl::prelude::*;

mod common;

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
#[label(rename_all = "UPPERCASE")]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
enum Status {
    #[label(rename = "200")]
    Ok,
    #[label(rename = "404")]
    NotFound,
    #[label(rename = "500")]
    Error,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    method: Method,
    status: Status,
}

promdecl::metrics! {
    /// Benchmark metrics.
    pub mod m {
        /// Work latency.
        pub static WORK_SECONDS: Histogram;
        /// Work latency, summary.
        pub static WORK_SUMMARY_SECONDS: Summary;
        /// Requests.
        pub static REQUESTS_TOTAL: Counter<Route>;
        /// Jobs.
        pub static JOBS_TOTAL: Counter;
    }
}

#[inline(never)]
#[timed(m::WORK_SECONDS)]
fn timed_work(x: u64) -> u64 {
    black_box(x)
}

#[inline(never)]
fn hand_timed_work(h: &Histogram, x: u64) -> u64 {
    let _timer = h.time();
    black_box(x)
}

#[inline(never)]
#[timed(m::WORK_SUMMARY_SECONDS)]
fn timed_summary_work(x: u64) -> u64 {
    black_box(x)
}

#[inline(never)]
fn bare_work(x: u64) -> u64 {
    black_box(x)
}

fn timed(c: &mut Criterion) {
    let mut g = c.benchmark_group("timed");
    g.bench_function("bare_fn", |b| b.iter(|| bare_work(black_box(1))));
    g.bench_function("two_clock_reads/promdecl_clock", |b| {
        b.iter(|| {
            let start = promdecl::clock::now();
            black_box(bare_work(1));
            black_box(promdecl::clock::now() - start)
        })
    });
    g.bench_function("two_clock_reads/std_instant", |b| {
        b.iter(|| {
            let start = std::time::Instant::now();
            black_box(bare_work(1));
            black_box(start.elapsed())
        })
    });
    g.bench_function("macro/histogram", |b| b.iter(|| timed_work(black_box(1))));
    let hand = Histogram::builder("hand_seconds", "Hand.").build().unwrap();
    g.bench_function("hand_guard/histogram", |b| b.iter(|| hand_timed_work(&hand, black_box(1))));
    g.bench_function("macro/summary", |b| b.iter(|| timed_summary_work(black_box(1))));
    // The observation alone, with a value that does not wait on the clock.
    g.bench_function("observe_only/histogram", |b| b.iter(|| hand.observe(black_box(2e-8))));
    g.finish();
}

fn declared_counters(c: &mut Criterion) {
    let mut g = c.benchmark_group("declared_counter");
    let routes: Vec<Route> = [Method::Get, Method::Post, Method::Put, Method::Delete]
        .into_iter()
        .flat_map(|method| [Status::Ok, Status::NotFound, Status::Error].map(|status| Route { method, status }))
        .collect();
    let mut i = 0usize;
    g.bench_function("macro/typed_labels", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            m::REQUESTS_TOTAL.labels(&routes[i % routes.len()]).inc();
        })
    });
    let hand = Counter::builder("requests", "R.").label_set::<Route>().build().unwrap();
    let mut i = 0usize;
    g.bench_function("hand/typed_labels", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            hand.labels(&routes[i % routes.len()]).inc();
        })
    });
    g.bench_function("macro/unlabelled", |b| b.iter(|| m::JOBS_TOTAL.inc()));
    let hand = Counter::builder("jobs", "J.").build().unwrap();
    g.bench_function("hand/unlabelled", |b| b.iter(|| hand.inc()));
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = timed, declared_counters
}
criterion_main!(benches);
