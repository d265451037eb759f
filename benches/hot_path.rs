//! Recording on the hot path, promdecl beside `prometheus` 0.14,
//! `prometheus-client` 0.23 and `measured` 0.0.22, one criterion group per
//! case. Each crate is used in its fastest idiomatic form; variants that are
//! not like-for-like (pre-resolved children, `'static` strings, fixed value
//! sets) carry a suffix after a `/`.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};

use common::*;

fn counter_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_inc");

    let atomic = AtomicU64::new(0);
    g.bench_function("atomic_fetch_add", |b| b.iter(|| atomic.fetch_add(1, Ordering::Relaxed)));

    let ours = promdecl::Counter::builder("requests", "help").build().unwrap();
    g.bench_function("promdecl", |b| b.iter(|| ours.inc()));

    let prom = prometheus::IntCounter::new("requests_total", "help").unwrap();
    g.bench_function("prometheus", |b| b.iter(|| prom.inc()));

    let local = prom.local();
    g.bench_function("prometheus/local", |b| b.iter(|| black_box(&local).inc()));
    local.flush();

    let pc: prometheus_client::metrics::counter::Counter = Default::default();
    g.bench_function("prometheus-client", |b| b.iter(|| pc.inc()));

    let meas = measured::Counter::new();
    g.bench_function("measured", |b| b.iter(|| meas.inc()));

    g.finish();
}

fn counter_fixed_labels(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_fixed_labels");
    let seq = seq_method_status();

    let unlabelled = promdecl::Counter::builder("requests", "help").build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl/unlabelled", |b| {
        b.iter(|| {
            black_box(seq[i & MASK]);
            i = i.wrapping_add(1);
            unlabelled.inc();
        })
    });

    let ours = promdecl::Counter::builder("requests", "help").label_set::<ours::MethodStatus>().build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            let (m, s) = seq[i & MASK];
            i = i.wrapping_add(1);
            ours.labels(&ours::MethodStatus { method: ours::M[m as usize], status: ours::S[s as usize] }).inc();
        })
    });

    let handles: [[_; 3]; 4] = std::array::from_fn(|m| {
        std::array::from_fn(|s| ours.labels(&ours::MethodStatus { method: ours::M[m], status: ours::S[s] }).handle())
    });
    let mut i = 0usize;
    g.bench_function("promdecl/handle", |b| {
        b.iter(|| {
            let (m, s) = seq[i & MASK];
            i = i.wrapping_add(1);
            handles[m as usize][s as usize].inc();
        })
    });

    let prom =
        prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "help"), &["method", "status"]).unwrap();
    let mut i = 0usize;
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            let (m, s) = seq[i & MASK];
            i = i.wrapping_add(1);
            prom.with_label_values(&[METHODS[m as usize], STATUSES[s as usize]]).inc();
        })
    });

    let table: [[prometheus::IntCounter; 3]; 4] =
        std::array::from_fn(|m| std::array::from_fn(|s| prom.with_label_values(&[METHODS[m], STATUSES[s]])));
    let mut i = 0usize;
    g.bench_function("prometheus/preresolved", |b| {
        b.iter(|| {
            let (m, s) = seq[i & MASK];
            i = i.wrapping_add(1);
            table[m as usize][s as usize].inc();
        })
    });

    let pc = prometheus_client::metrics::family::Family::<
        pc::MethodStatus,
        prometheus_client::metrics::counter::Counter,
    >::default();
    let mut i = 0usize;
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            let (m, s) = seq[i & MASK];
            i = i.wrapping_add(1);
            pc.get_or_create(&pc::MethodStatus { method: pc::M[m as usize], status: pc::S[s as usize] }).inc();
        })
    });

    let table: [[prometheus_client::metrics::counter::Counter; 3]; 4] = std::array::from_fn(|m| {
        std::array::from_fn(|s| pc.get_or_create(&pc::MethodStatus { method: pc::M[m], status: pc::S[s] }).clone())
    });
    let mut i = 0usize;
    g.bench_function("prometheus-client/preresolved", |b| {
        b.iter(|| {
            let (m, s) = seq[i & MASK];
            i = i.wrapping_add(1);
            table[m as usize][s as usize].inc();
        })
    });

    let meas = measured::CounterVec::with_label_set(meas::MethodStatusSet::new());
    let mut i = 0usize;
    g.bench_function("measured", |b| {
        b.iter(|| {
            let (m, s) = seq[i & MASK];
            i = i.wrapping_add(1);
            meas.inc(meas::MethodStatus { method: meas::M[m as usize], status: meas::S[s as usize] });
        })
    });

    let ids: [[_; 3]; 4] = std::array::from_fn(|m| {
        std::array::from_fn(|s| meas.with_labels(meas::MethodStatus { method: meas::M[m], status: meas::S[s] }))
    });
    let mut i = 0usize;
    g.bench_function("measured/preresolved", |b| {
        b.iter(|| {
            let (m, s) = seq[i & MASK];
            i = i.wrapping_add(1);
            meas.get_metric(ids[m as usize][s as usize]).inc();
        })
    });

    g.finish();
}

fn counter_string_labels(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_string_labels");
    let (seq, paths, static_paths) = (seq_method_path(), paths(), static_paths());

    let ours = promdecl::Counter::builder("requests", "help").labels(["method", "path"]).build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            i = i.wrapping_add(1);
            ours.with_label_values(&[METHODS[m as usize], paths[p as usize].as_str()]).unwrap().inc();
        })
    });

    let ours_static = promdecl::Counter::builder("requests", "help").label_set::<ours::MethodPath>().build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl/static_str", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            i = i.wrapping_add(1);
            ours_static.labels(&ours::MethodPath { method: METHODS[m as usize], path: static_paths[p as usize] }).inc();
        })
    });

    let prom =
        prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "help"), &["method", "path"]).unwrap();
    let mut i = 0usize;
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            i = i.wrapping_add(1);
            prom.with_label_values(&[METHODS[m as usize], paths[p as usize].as_str()]).inc();
        })
    });

    let pc = prometheus_client::metrics::family::Family::<
        pc::MethodPath,
        prometheus_client::metrics::counter::Counter,
    >::default();
    let mut i = 0usize;
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            i = i.wrapping_add(1);
            pc.get_or_create(&pc::MethodPath {
                method: METHODS[m as usize].to_owned(),
                path: paths[p as usize].clone(),
            })
            .inc();
        })
    });

    let pc_static = prometheus_client::metrics::family::Family::<
        pc::MethodPathStatic,
        prometheus_client::metrics::counter::Counter,
    >::default();
    let mut i = 0usize;
    g.bench_function("prometheus-client/static_str", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            i = i.wrapping_add(1);
            pc_static
                .get_or_create(&pc::MethodPathStatic { method: METHODS[m as usize], path: static_paths[p as usize] })
                .inc();
        })
    });

    let meas = measured::CounterVec::with_label_set(meas::dyn_set());
    let mut i = 0usize;
    g.bench_function("measured", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            i = i.wrapping_add(1);
            meas.inc(meas::MethodPath { method: METHODS[m as usize], path: paths[p as usize].as_str() });
        })
    });

    let meas_fixed = measured::CounterVec::with_label_set(meas::MethodPathFixedSet {
        method: lasso::Rodeo::<lasso::Spur, meas::Hasher>::from_iter(METHODS).into_reader(),
        path: lasso::Rodeo::<lasso::Spur, meas::Hasher>::from_iter(paths).into_reader(),
    });
    let mut i = 0usize;
    g.bench_function("measured/fixed_set", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            i = i.wrapping_add(1);
            meas_fixed.inc(meas::MethodPathFixed { method: METHODS[m as usize], path: paths[p as usize].as_str() });
        })
    });

    g.finish();
}

fn histogram_observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("histogram_observe");
    let vals = seq_values();

    let ours = promdecl::Histogram::builder("latency_seconds", "help").buckets(GO_BUCKETS).build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            ours.observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let ours_default = promdecl::Histogram::builder("latency_seconds", "help").build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl/default_14_buckets", |b| {
        b.iter(|| {
            ours_default.observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    // Not like-for-like: classic and native (factor 1.1) buckets at once,
    // under the child's lock; the others have no native buckets.
    let native =
        promdecl::Histogram::builder("latency_seconds", "help").buckets(GO_BUCKETS).native(1.1).build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl/classic_and_native", |b| {
        b.iter(|| {
            native.observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let prom = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("latency_seconds", "help")).unwrap();
    let mut i = 0usize;
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            prom.observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let pc = pc::go_histogram();
    let mut i = 0usize;
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            pc.observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let meas = measured::Histogram::with_metadata(meas::go_thresholds());
    let mut i = 0usize;
    g.bench_function("measured", |b| {
        b.iter(|| {
            meas.observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    g.finish();
}

/// Summaries: the plain count-and-sum one beside one with the Go client's
/// three quantile objectives (amortised over its buffer flushes). None of
/// `prometheus`, `prometheus-client` and `measured` has a summary, so there
/// is nothing of theirs to put beside these.
fn summary_observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("summary_observe");
    let vals = seq_values();

    let plain = promdecl::Summary::builder("latency_seconds", "help").build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl/plain", |b| {
        b.iter(|| {
            plain.observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let objectives = [(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];
    let quantiles = promdecl::Summary::builder("latency_seconds", "help").quantiles(objectives).build().unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl/3_objectives", |b| {
        b.iter(|| {
            quantiles.observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let plain = promdecl::Summary::builder("latency_seconds", "help").build().unwrap();
    g.bench_function("promdecl/plain/two_threads", |b| {
        b.iter_custom(|iters| two_threads(iters, || plain.observe(0.25)))
    });

    let quantiles = promdecl::Summary::builder("latency_seconds", "help").quantiles(objectives).build().unwrap();
    g.bench_function("promdecl/3_objectives/two_threads", |b| {
        b.iter_custom(|iters| two_threads(iters, || quantiles.observe(0.25)))
    });

    g.finish();
}

fn histogram_string_labels(c: &mut Criterion) {
    let mut g = c.benchmark_group("histogram_string_labels");
    let (seq, paths, static_paths, vals) = (seq_method_path(), paths(), static_paths(), seq_values());

    let ours = promdecl::Histogram::builder("latency_seconds", "help")
        .buckets(GO_BUCKETS)
        .labels(["method", "path"])
        .build()
        .unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            ours.with_label_values(&[METHODS[m as usize], paths[p as usize].as_str()]).unwrap().observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let ours_static = promdecl::Histogram::builder("latency_seconds", "help")
        .buckets(GO_BUCKETS)
        .label_set::<ours::MethodPath>()
        .build()
        .unwrap();
    let mut i = 0usize;
    g.bench_function("promdecl/static_str", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            ours_static
                .labels(&ours::MethodPath { method: METHODS[m as usize], path: static_paths[p as usize] })
                .observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let prom =
        prometheus::HistogramVec::new(prometheus::HistogramOpts::new("latency_seconds", "help"), &["method", "path"])
            .unwrap();
    let mut i = 0usize;
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            prom.with_label_values(&[METHODS[m as usize], paths[p as usize].as_str()]).observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    type PcHistogram = prometheus_client::metrics::histogram::Histogram;
    let pc = prometheus_client::metrics::family::Family::<
        pc::MethodPath,
        PcHistogram,
        fn() -> PcHistogram,
    >::new_with_constructor(pc::go_histogram);
    let mut i = 0usize;
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            pc.get_or_create(&pc::MethodPath {
                method: METHODS[m as usize].to_owned(),
                path: paths[p as usize].clone(),
            })
            .observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let pc_static = prometheus_client::metrics::family::Family::<
        pc::MethodPathStatic,
        PcHistogram,
        fn() -> PcHistogram,
    >::new_with_constructor(pc::go_histogram);
    let mut i = 0usize;
    g.bench_function("prometheus-client/static_str", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            pc_static
                .get_or_create(&pc::MethodPathStatic { method: METHODS[m as usize], path: static_paths[p as usize] })
                .observe(vals[i & MASK]);
            i = i.wrapping_add(1);
        })
    });

    let meas = measured::HistogramVec::with_label_set_and_metadata(meas::dyn_set(), meas::go_thresholds());
    let mut i = 0usize;
    g.bench_function("measured", |b| {
        b.iter(|| {
            let (m, p) = seq[i & MASK];
            meas.observe(
                meas::MethodPath { method: METHODS[m as usize], path: paths[p as usize].as_str() },
                vals[i & MASK],
            );
            i = i.wrapping_add(1);
        })
    });

    g.finish();
}

fn counter_two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("counter_two_threads");

    let atomic = AtomicU64::new(0);
    g.bench_function("atomic_fetch_add", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                atomic.fetch_add(1, Ordering::Relaxed);
            })
        })
    });

    let ours = promdecl::Counter::builder("requests", "help").build().unwrap();
    g.bench_function("promdecl", |b| b.iter_custom(|iters| two_threads(iters, || ours.inc())));

    let sharded = promdecl::ShardedCounter::builder("requests", "help").build().unwrap();
    g.bench_function("promdecl/sharded", |b| b.iter_custom(|iters| two_threads(iters, || sharded.inc())));

    let prom = prometheus::IntCounter::new("requests_total", "help").unwrap();
    g.bench_function("prometheus", |b| b.iter_custom(|iters| two_threads(iters, || prom.inc())));

    let pc: prometheus_client::metrics::counter::Counter = Default::default();
    g.bench_function("prometheus-client", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                pc.inc();
            })
        })
    });

    let meas = measured::Counter::new();
    g.bench_function("measured", |b| b.iter_custom(|iters| two_threads(iters, || meas.inc())));

    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = counter_inc,
        counter_fixed_labels,
        counter_string_labels,
        histogram_observe,
        summary_observe,
        histogram_string_labels,
        counter_two_threads
}
criterion_main!(benches);
