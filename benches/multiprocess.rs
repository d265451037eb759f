//! The write-through hot path of multiprocess mode beside in-memory atomics:
//! an increment is one compare-and-swap on a cell in a shared file mapping.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use promdecl::multiprocess::{GaugeMode, MultiProcessWriter};
use promdecl::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    method: Method,
}

promdecl::metrics! {
    /// In memory.
    #[metrics(namespace = "bench_memory")]
    pub mod in_memory {
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
        /// Requests by method.
        pub static BY_METHOD_TOTAL: Counter<Route>;
    }

    /// Written through to the multiprocess files.
    #[metrics(namespace = "bench_mp", multiprocess)]
    pub mod written_through {
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
        /// Requests by method.
        pub static BY_METHOD_TOTAL: Counter<Route>;
    }
}

/// A writer in a fresh directory, removed when the bench ends.
fn writer(name: &str) -> (MultiProcessWriter, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("promdecl-bench-mp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    (MultiProcessWriter::builder().dir(&dir).build().unwrap(), dir)
}

fn counter_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("multiprocess_counter_inc");

    let atomic = AtomicU64::new(0);
    g.bench_function("atomic_fetch_add", |b| b.iter(|| atomic.fetch_add(1, Ordering::Relaxed)));

    // The in-memory twin of a file cell: an f64 added by compare-and-swap.
    let float = AtomicU64::new(0);
    g.bench_function("atomic_f64_cas", |b| {
        b.iter(|| {
            let mut old = float.load(Ordering::Relaxed);
            loop {
                let new = (f64::from_bits(old) + 1.0).to_bits();
                match float.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => break,
                    Err(current) => old = current,
                }
            }
        })
    });

    let in_memory = promdecl::Counter::builder("requests", "help").build().unwrap();
    g.bench_function("promdecl_in_memory", |b| b.iter(|| in_memory.inc()));

    let (w, dir) = writer("counter");
    let handle = w.counter("requests", "help", &[]).unwrap().labels(&[]).unwrap();
    g.bench_function("multiprocess_handle", |b| b.iter(|| black_box(&handle).inc()));
    let family = w.counter("requests_by_route", "help", &["route"]).unwrap();
    family.labels(&["/api"]).unwrap();
    g.bench_function("multiprocess/labels_each_time", |b| {
        b.iter(|| family.labels(black_box(&["/api"])).unwrap().inc())
    });
    g.finish();
    drop(w);
    let _ = std::fs::remove_dir_all(dir);
}

fn gauge_and_histogram(c: &mut Criterion) {
    let mut g = c.benchmark_group("multiprocess_gauge_histogram");
    let (w, dir) = writer("hist");

    let in_memory_gauge = promdecl::Gauge::builder("g", "help").build().unwrap();
    g.bench_function("gauge_set/promdecl_in_memory", |b| b.iter(|| in_memory_gauge.set(black_box(3.0))));
    let gauge = w.gauge("g", "help", &[], GaugeMode::LiveSum).unwrap().labels(&[]).unwrap();
    g.bench_function("gauge_set/multiprocess_handle", |b| b.iter(|| gauge.set(black_box(3.0))));

    let buckets = common::GO_BUCKETS;
    let vals = common::seq_values();
    let in_memory = promdecl::Histogram::builder("h", "help").buckets(buckets).build().unwrap();
    let mut i = 0usize;
    g.bench_function("histogram_observe/promdecl_in_memory", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            in_memory.observe(vals[i & common::MASK])
        })
    });
    let histogram = w.histogram("h", "help", &[], &buckets).unwrap().labels(&[]).unwrap();
    let mut i = 0usize;
    g.bench_function("histogram_observe/multiprocess_handle", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            histogram.observe(vals[i & common::MASK])
        })
    });
    g.finish();
    drop(w);
    let _ = std::fs::remove_dir_all(dir);
}

/// A counter declared in a `#[metrics(multiprocess)]` module against the
/// same declaration in memory: the static's accessor, the family lookup
/// (dense for a closed label set), then the cell.
fn declared_counter(c: &mut Criterion) {
    let mut g = c.benchmark_group("multiprocess_declared_counter");
    let dir = std::env::temp_dir().join(format!("promdecl-bench-mp-declared-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    MultiProcessWriter::builder().dir(&dir).manual_flush().install().unwrap();

    g.bench_function("inc/in_memory", |b| b.iter(|| in_memory::REQUESTS_TOTAL.inc()));
    g.bench_function("inc/multiprocess", |b| b.iter(|| written_through::REQUESTS_TOTAL.inc()));
    let routes = [Route { method: Method::Get }, Route { method: Method::Post }];
    let mut i = 0usize;
    g.bench_function("labels_inc/in_memory", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            in_memory::BY_METHOD_TOTAL.labels(black_box(&routes[i & 1])).inc()
        })
    });
    let mut i = 0usize;
    g.bench_function("labels_inc/multiprocess", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            written_through::BY_METHOD_TOTAL.labels(black_box(&routes[i & 1])).inc()
        })
    });
    g.finish();
    // The installed writer lives as long as the process; its files go now.
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = counter_inc, gauge_and_histogram, declared_counter
}
criterion_main!(benches);
