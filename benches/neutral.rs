//! The same operations on promdecl, `prometheus` 0.14, `prometheus-client`
//! 0.23, `measured` 0.0.22 and `metrics` 0.24 (with
//! `metrics-exporter-prometheus` as its recorder), under one set of rules
//! that favours no crate:
//!
//! - every crate is in the same criterion group for each operation;
//! - the metric is reached through `black_box(&fixture)` on every call, as in
//!   code that reads it from a static or a struct field, so the optimizer
//!   cannot hoist the lookup out of the loop;
//! - label values rotate over the 12 (method, status) combinations, as
//!   `&'static str` (or the matching enum values);
//! - histogram values cycle through 64 values spread over the 11 default
//!   buckets of the Go client and +Inf;
//! - the bench profile is `lto = "fat"`, `codegen-units = 1`.
//!
//! "Enum labels" is each crate's way of recording with a closed label set:
//! promdecl's dense family, `measured`'s fixed-cardinality vector, and for
//! `prometheus`, `prometheus-client` and `metrics` (which have no dense
//! family) a table of handles resolved once and indexed by the enums, which
//! is what `prometheus-static-metric` generates. Variants after a `/` are not
//! in the summary table.
//!
//! ```text
//! cargo bench --bench neutral
//! ```

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use promdecl::prelude::*;

use common::{two_threads, GO_BUCKETS, METHODS, SCRAPE_COUNTER_PATHS, SCRAPE_HIST_SERIES, STATUSES};

/// Rotates over the 12 (method, status) combinations.
struct Rotation(usize);

impl Rotation {
    #[inline(always)]
    fn next(&mut self) -> (usize, usize) {
        let k = self.0;
        self.0 = if k == 11 { 0 } else { k + 1 };
        (k / 3, k % 3)
    }
}

/// 64 observations, spread over every default bucket and +Inf.
fn values() -> [f64; 64] {
    let mut bounds = vec![0.0];
    bounds.extend(GO_BUCKETS);
    bounds.push(20.0);
    std::array::from_fn(|i| {
        let bucket = i % 12;
        let (lo, hi) = (bounds[bucket], bounds[bucket + 1]);
        lo + (hi - lo) * ((i / 12) as f64 + 0.5) / 6.0
    })
}

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

const M: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];
const S: [Status; 3] = [Status::Ok, Status::NotFound, Status::Error];

/// A closed label set: a dense family.
#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelSet)]
struct Known {
    method: Method,
    status: Status,
}

/// A typed label set of `'static` strings: a map family.
#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelSet)]
struct StaticStr {
    method: &'static str,
    status: &'static str,
}

promdecl::metrics! {
    /// Declared statics, measured beside the built metrics.
    pub mod declared {
        /// Requests.
        pub static REQUESTS_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_0_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_1_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_2_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_3_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_4_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_5_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_6_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_7_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_8_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_9_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_10_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_11_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_12_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_13_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_14_TOTAL: Counter;
        /// Requests, one of sixteen.
        pub static REQUESTS_15_TOTAL: Counter;
        /// Requests by method and status.
        pub static KNOWN_TOTAL: Counter<Known>;
        /// Requests by method and status, as strings.
        pub static STATIC_STR_TOTAL: Counter<StaticStr>;
        /// Latency.
        #[buckets(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)]
        pub static LATENCY_SECONDS: Histogram;
        /// Latency by method and status.
        #[buckets(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)]
        pub static KNOWN_LATENCY_SECONDS: Histogram<Known>;
    }
}

mod pc {
    use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
    use std::fmt::Write as _;

    #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
    pub struct Method(pub usize);

    impl EncodeLabelValue for Method {
        fn encode(&self, w: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
            w.write_str(super::METHODS[self.0])
        }
    }

    #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
    pub struct Status(pub usize);

    impl EncodeLabelValue for Status {
        fn encode(&self, w: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
            w.write_str(super::STATUSES[self.0])
        }
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Known {
        pub method: Method,
        pub status: Status,
    }

    /// Owned strings: `get_or_create(&S)` needs an owned key.
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct Strings {
        pub method: String,
        pub status: String,
    }
}

mod meas {
    use measured::{FixedCardinalityLabel, LabelGroup};

    pub use super::common::meas::DynStr;
    use super::common::meas::Hasher;

    #[derive(Clone, Copy, Debug, PartialEq, FixedCardinalityLabel)]
    #[label(rename_all = "SHOUTY_SNAKE_CASE")]
    pub enum Method {
        Get,
        Post,
        Put,
        Delete,
    }

    #[derive(Clone, Copy, Debug, PartialEq, FixedCardinalityLabel)]
    pub enum Status {
        Ok = 200,
        NotFound = 404,
        Error = 500,
    }

    pub const M: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];
    pub const S: [Status; 3] = [Status::Ok, Status::NotFound, Status::Error];

    #[derive(Clone, Copy, Debug, PartialEq, LabelGroup)]
    #[label(set = KnownSet)]
    pub struct Known {
        pub method: Method,
        pub status: Status,
    }

    /// Any string at run time: each value interned, then a sparse map.
    #[derive(Clone, Copy, Debug, PartialEq, LabelGroup)]
    #[label(set = StringsSet)]
    pub struct Strings<'a> {
        #[label(dynamic_with = DynStr)]
        pub method: &'a str,
        #[label(dynamic_with = DynStr)]
        pub status: &'a str,
    }

    pub fn strings_set() -> StringsSet {
        StringsSet { method: DynStr::with_hasher(Hasher::new()), status: DynStr::with_hasher(Hasher::new()) }
    }
}

/// A `metrics` recorder of its own, with the Go default buckets, and the
/// handle that renders it.
fn metrics_recorder() -> (PrometheusRecorder, PrometheusHandle) {
    let recorder = PrometheusBuilder::new().set_buckets(&GO_BUCKETS).unwrap().build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

/// Times `iters` calls of `op`, then drains what `metrics`' histograms
/// buffered (it keeps raw observations until a render), outside the clock.
fn timed_then_drain(iters: u64, handle: &PrometheusHandle, mut op: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        op();
    }
    let elapsed = start.elapsed();
    handle.run_upkeep();
    elapsed
}

/// How many instances of an unlabelled metric its case rotates over, a new
/// one for each sample (four samples each) or round (two threads). The time
/// of one locked add reached through `black_box` moves by a tenth or more
/// with where the fixture and the loop land (the same instructions took
/// 1.87 ns in one build and 2.12 ns in the next, with nothing changed on
/// their path), and a contended one by more (a bare `fetch_add` takes 10 to
/// 25 ns at different heap addresses).
const FIXTURES: usize = 16;

/// Benchmarks `op` on the next of `fixtures` each sample, reached through
/// `black_box` on every call. A declared metric is its one `static`, in the
/// same loop (`&[&STATIC]`).
fn rotating_fixtures<T: ?Sized, F: std::ops::Deref<Target = T>>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    fixtures: &[F],
    mut op: impl FnMut(&T),
) {
    let mut next = 0;
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let fixture: &T = &fixtures[next % fixtures.len()];
            next += 1;
            let start = Instant::now();
            for _ in 0..iters {
                op(black_box(fixture));
            }
            start.elapsed()
        })
    });
}

/// `FIXTURES` metrics from `make`, each boxed on its own, so they land in
/// as many places.
fn boxed<T>(mut make: impl FnMut(usize) -> T) -> Vec<Box<T>> {
    (0..FIXTURES).map(|i| Box::new(make(i))).collect()
}

fn counter_inc(c: &mut Criterion) {
    let mut g = c.benchmark_group("neutral/counter_inc");
    g.sample_size(4 * FIXTURES);

    let ours = boxed(|_| Counter::builder("requests", "help").build().unwrap());
    rotating_fixtures(&mut g, "promdecl", &ours, |c| c.inc());
    // Sixteen statics, in as many places as the built counters; and one.
    let statics = [
        &declared::REQUESTS_0_TOTAL,
        &declared::REQUESTS_1_TOTAL,
        &declared::REQUESTS_2_TOTAL,
        &declared::REQUESTS_3_TOTAL,
        &declared::REQUESTS_4_TOTAL,
        &declared::REQUESTS_5_TOTAL,
        &declared::REQUESTS_6_TOTAL,
        &declared::REQUESTS_7_TOTAL,
        &declared::REQUESTS_8_TOTAL,
        &declared::REQUESTS_9_TOTAL,
        &declared::REQUESTS_10_TOTAL,
        &declared::REQUESTS_11_TOTAL,
        &declared::REQUESTS_12_TOTAL,
        &declared::REQUESTS_13_TOTAL,
        &declared::REQUESTS_14_TOTAL,
        &declared::REQUESTS_15_TOTAL,
    ];
    rotating_fixtures(&mut g, "promdecl/declared", &statics, |c| c.inc());
    rotating_fixtures(&mut g, "promdecl/declared_one_static", &[&declared::REQUESTS_TOTAL], |c| c.inc());

    let prom = boxed(|_| prometheus::IntCounter::new("requests_total", "help").unwrap());
    rotating_fixtures(&mut g, "prometheus", &prom, |c| c.inc());

    let pc = boxed(|_| prometheus_client::metrics::counter::Counter::<u64>::default());
    rotating_fixtures(&mut g, "prometheus-client", &pc, |c| {
        c.inc();
    });

    let meas = boxed(|_| measured::Counter::new());
    rotating_fixtures(&mut g, "measured", &meas, |c| c.inc());

    let (recorder, _handle) = metrics_recorder();
    let met = boxed(|i| metrics::with_local_recorder(&recorder, || metrics::counter!(format!("requests_{i}_total"))));
    rotating_fixtures(&mut g, "metrics", &met, |c| c.increment(1));

    // The floor: a bare `fetch_add` at the fixture's address, and one
    // load further (a pointer to it in the fixture).
    let bare = boxed(|_| Padded(AtomicU64::new(0)));
    rotating_fixtures(&mut g, "control/atomic", &bare, |a| {
        a.0.fetch_add(1, Relaxed);
    });
    let behind = boxed(|_| Box::new(Padded(AtomicU64::new(0))));
    rotating_fixtures(&mut g, "control/atomic_behind_pointer", &behind, |a| {
        a.0.fetch_add(1, Relaxed);
    });

    g.finish();
}

fn counter_enum_labels(c: &mut Criterion) {
    let mut g = c.benchmark_group("neutral/counter_enum_labels");

    let ours = Counter::builder("requests", "help").label_set::<Known>().build().unwrap();
    let mut r = Rotation(0);
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&ours).labels(&Known { method: M[m], status: S[s] }).inc();
        })
    });
    let mut r = Rotation(0);
    g.bench_function("promdecl/declared", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&declared::KNOWN_TOTAL).labels(&Known { method: M[m], status: S[s] }).inc();
        })
    });

    let prom =
        prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "help"), &["method", "status"]).unwrap();
    let table: [[prometheus::IntCounter; 3]; 4] =
        std::array::from_fn(|m| std::array::from_fn(|s| prom.with_label_values(&[METHODS[m], STATUSES[s]])));
    let mut r = Rotation(0);
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&table)[m][s].inc();
        })
    });

    let pc =
        prometheus_client::metrics::family::Family::<pc::Known, prometheus_client::metrics::counter::Counter>::default(
        );
    let table: [[prometheus_client::metrics::counter::Counter; 3]; 4] = std::array::from_fn(|m| {
        std::array::from_fn(|s| pc.get_or_create(&pc::Known { method: pc::Method(m), status: pc::Status(s) }).clone())
    });
    let mut r = Rotation(0);
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&table)[m][s].inc();
        })
    });
    let mut r = Rotation(0);
    g.bench_function("prometheus-client/get_or_create", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&pc).get_or_create(&pc::Known { method: pc::Method(m), status: pc::Status(s) }).inc();
        })
    });

    let meas = measured::CounterVec::with_label_set(meas::KnownSet::new());
    let mut r = Rotation(0);
    g.bench_function("measured", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&meas).inc(meas::Known { method: meas::M[m], status: meas::S[s] });
        })
    });

    let (recorder, _handle) = metrics_recorder();
    let table: [[metrics::Counter; 3]; 4] = metrics::with_local_recorder(&recorder, || {
        std::array::from_fn(|m| {
            std::array::from_fn(
                |s| metrics::counter!("requests_total", "method" => METHODS[m], "status" => STATUSES[s]),
            )
        })
    });
    let mut r = Rotation(0);
    g.bench_function("metrics", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&table)[m][s].increment(1);
        })
    });

    g.finish();
}

fn counter_string_labels(c: &mut Criterion) {
    let mut g = c.benchmark_group("neutral/counter_string_labels");

    let ours = Counter::builder("requests", "help").labels(["method", "status"]).build().unwrap();
    let mut r = Rotation(0);
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&ours).with_label_values(&[METHODS[m], STATUSES[s]]).unwrap().inc();
        })
    });

    let typed = Counter::builder("requests", "help").label_set::<StaticStr>().build().unwrap();
    let mut r = Rotation(0);
    g.bench_function("promdecl/typed_static_str", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&typed).labels(&StaticStr { method: METHODS[m], status: STATUSES[s] }).inc();
        })
    });
    let mut r = Rotation(0);
    g.bench_function("promdecl/typed_static_str/declared", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&declared::STATIC_STR_TOTAL).labels(&StaticStr { method: METHODS[m], status: STATUSES[s] }).inc();
        })
    });

    let prom =
        prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "help"), &["method", "status"]).unwrap();
    let mut r = Rotation(0);
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&prom).with_label_values(&[METHODS[m], STATUSES[s]]).inc();
        })
    });

    let pc =
        prometheus_client::metrics::family::Family::<pc::Strings, prometheus_client::metrics::counter::Counter>::default();
    let mut r = Rotation(0);
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&pc)
                .get_or_create(&pc::Strings { method: METHODS[m].to_owned(), status: STATUSES[s].to_owned() })
                .inc();
        })
    });

    let meas = measured::CounterVec::with_label_set(meas::strings_set());
    let mut r = Rotation(0);
    g.bench_function("measured", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&meas).inc(meas::Strings { method: METHODS[m], status: STATUSES[s] });
        })
    });

    let (recorder, _handle) = metrics_recorder();
    let mut r = Rotation(0);
    g.bench_function("metrics", |b| {
        metrics::with_local_recorder(&recorder, || {
            b.iter(|| {
                let (m, s) = r.next();
                metrics::counter!("requests_total", "method" => METHODS[m], "status" => STATUSES[s]).increment(1);
            })
        })
    });

    g.finish();
}

fn histogram_observe(c: &mut Criterion) {
    let mut g = c.benchmark_group("neutral/histogram_observe");
    g.sample_size(4 * FIXTURES);
    let vals = values();

    let ours = boxed(|_| Histogram::builder("latency_seconds", "help").buckets(GO_BUCKETS).build().unwrap());
    let mut i = 0usize;
    rotating_fixtures(&mut g, "promdecl", &ours, |h| {
        h.observe(vals[i & 63]);
        i = i.wrapping_add(1);
    });
    let mut i = 0usize;
    rotating_fixtures(&mut g, "promdecl/declared", &[&declared::LATENCY_SECONDS], |h| {
        h.observe(vals[i & 63]);
        i = i.wrapping_add(1);
    });

    let prom =
        boxed(|_| prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("latency_seconds", "help")).unwrap());
    let mut i = 0usize;
    rotating_fixtures(&mut g, "prometheus", &prom, |h| {
        h.observe(vals[i & 63]);
        i = i.wrapping_add(1);
    });

    let pc = boxed(|_| common::pc::go_histogram());
    let mut i = 0usize;
    rotating_fixtures(&mut g, "prometheus-client", &pc, |h| {
        h.observe(vals[i & 63]);
        i = i.wrapping_add(1);
    });

    let meas = boxed(|_| measured::Histogram::with_metadata(common::meas::go_thresholds()));
    let mut i = 0usize;
    rotating_fixtures(&mut g, "measured", &meas, |h| {
        h.observe(vals[i & 63]);
        i = i.wrapping_add(1);
    });

    let (recorder, handle) = metrics_recorder();
    let met = metrics::with_local_recorder(&recorder, || metrics::histogram!("latency_seconds"));
    let mut i = 0usize;
    g.bench_function("metrics", |b| {
        b.iter_custom(|iters| {
            timed_then_drain(iters, &handle, || {
                black_box(&met).record(vals[i & 63]);
                i = i.wrapping_add(1);
            })
        })
    });

    g.finish();
}

fn histogram_enum_labels(c: &mut Criterion) {
    let mut g = c.benchmark_group("neutral/histogram_enum_labels");
    let vals = values();

    let ours = Histogram::builder("latency_seconds", "help").buckets(GO_BUCKETS).label_set::<Known>().build().unwrap();
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&ours).labels(&Known { method: M[m], status: S[s] }).observe(vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("promdecl/declared", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&declared::KNOWN_LATENCY_SECONDS)
                .labels(&Known { method: M[m], status: S[s] })
                .observe(vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    let prom =
        prometheus::HistogramVec::new(prometheus::HistogramOpts::new("latency_seconds", "help"), &["method", "status"])
            .unwrap();
    let table: [[prometheus::Histogram; 3]; 4] =
        std::array::from_fn(|m| std::array::from_fn(|s| prom.with_label_values(&[METHODS[m], STATUSES[s]])));
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&table)[m][s].observe(vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    type PcHistogram = prometheus_client::metrics::histogram::Histogram;
    let pc =
        prometheus_client::metrics::family::Family::<pc::Known, PcHistogram, fn() -> PcHistogram>::new_with_constructor(
            common::pc::go_histogram,
        );
    let table: [[PcHistogram; 3]; 4] = std::array::from_fn(|m| {
        std::array::from_fn(|s| pc.get_or_create(&pc::Known { method: pc::Method(m), status: pc::Status(s) }).clone())
    });
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&table)[m][s].observe(vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    let meas =
        measured::HistogramVec::with_label_set_and_metadata(meas::KnownSet::new(), common::meas::go_thresholds());
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("measured", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&meas).observe(meas::Known { method: meas::M[m], status: meas::S[s] }, vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    let (recorder, handle) = metrics_recorder();
    let table: [[metrics::Histogram; 3]; 4] = metrics::with_local_recorder(&recorder, || {
        std::array::from_fn(|m| {
            std::array::from_fn(
                |s| metrics::histogram!("latency_seconds", "method" => METHODS[m], "status" => STATUSES[s]),
            )
        })
    });
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("metrics", |b| {
        b.iter_custom(|iters| {
            timed_then_drain(iters, &handle, || {
                let (m, s) = r.next();
                black_box(&table)[m][s].record(vals[i & 63]);
                i = i.wrapping_add(1);
            })
        })
    });

    g.finish();
}

fn histogram_string_labels(c: &mut Criterion) {
    let mut g = c.benchmark_group("neutral/histogram_string_labels");
    let vals = values();

    let ours =
        Histogram::builder("latency_seconds", "help").buckets(GO_BUCKETS).labels(["method", "status"]).build().unwrap();
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&ours).with_label_values(&[METHODS[m], STATUSES[s]]).unwrap().observe(vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    let typed =
        Histogram::builder("latency_seconds", "help").buckets(GO_BUCKETS).label_set::<StaticStr>().build().unwrap();
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("promdecl/typed_static_str", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&typed).labels(&StaticStr { method: METHODS[m], status: STATUSES[s] }).observe(vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    let prom =
        prometheus::HistogramVec::new(prometheus::HistogramOpts::new("latency_seconds", "help"), &["method", "status"])
            .unwrap();
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&prom).with_label_values(&[METHODS[m], STATUSES[s]]).observe(vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    type PcHistogram = prometheus_client::metrics::histogram::Histogram;
    let pc =
        prometheus_client::metrics::family::Family::<pc::Strings, PcHistogram, fn() -> PcHistogram>::new_with_constructor(
            common::pc::go_histogram,
        );
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&pc)
                .get_or_create(&pc::Strings { method: METHODS[m].to_owned(), status: STATUSES[s].to_owned() })
                .observe(vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    let meas = measured::HistogramVec::with_label_set_and_metadata(meas::strings_set(), common::meas::go_thresholds());
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("measured", |b| {
        b.iter(|| {
            let (m, s) = r.next();
            black_box(&meas).observe(meas::Strings { method: METHODS[m], status: STATUSES[s] }, vals[i & 63]);
            i = i.wrapping_add(1);
        })
    });

    let (recorder, handle) = metrics_recorder();
    let (mut r, mut i) = (Rotation(0), 0usize);
    g.bench_function("metrics", |b| {
        metrics::with_local_recorder(&recorder, || {
            b.iter_custom(|iters| {
                timed_then_drain(iters, &handle, || {
                    let (m, s) = r.next();
                    metrics::histogram!("latency_seconds", "method" => METHODS[m], "status" => STATUSES[s])
                        .record(vals[i & 63]);
                    i = i.wrapping_add(1);
                })
            })
        })
    });

    g.finish();
}

/// Rounds of the two-thread case; each measures every crate once.
const ROUNDS: usize = 400;

/// Increments per thread in one measurement of the two-thread case.
const OPS_PER_ROUND: u64 = 20_000;

/// A value alone on its cache lines (two, as the adjacent-line prefetcher
/// pairs them).
#[repr(align(128))]
struct Padded<T>(T);

/// One crate's side of the two-thread case: measures `OPS_PER_ROUND`
/// increments on each of two threads, on instance `round % FIXTURES`.
type TwoThreadCase<'a> = Box<dyn Fn(usize) -> Duration + 'a>;

fn rotating<'a, T: Sync>(instances: &'a [T], op: impl Fn(&T) + Sync + 'a) -> TwoThreadCase<'a> {
    Box::new(move |round| {
        let instance = &instances[round % instances.len()];
        two_threads(OPS_PER_ROUND, || op(black_box(instance)))
    })
}

/// Whether the command line's filter (if any) selects `id`.
fn selected(id: &str) -> bool {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    filters.is_empty() || filters.iter().any(|f| id.contains(f.as_str()) || f.contains("two_threads"))
}

/// Two threads, pinned to CPUs 0 and 1, each increment one counter. Not a
/// criterion group: the contended case depends on what the machine does
/// (where the two virtual CPUs run) more than the others, and that changes
/// from one second to the next. So the rounds are interleaved, as in the
/// outside comparison this harness follows: each round measures every crate
/// once, starting with a different one each round, and each crate's time is
/// the median of its rounds. Prints a table (ns per increment per thread,
/// and the ratio to the best other crate) and writes it to
/// `target/criterion/neutral_counter_two_threads.txt`.
fn counter_two_threads(_: &mut Criterion) {
    if !selected("neutral/counter_two_threads") {
        return;
    }
    let ours: Vec<Counter> = (0..FIXTURES).map(|_| Counter::builder("requests", "help").build().unwrap()).collect();
    let sharded: Vec<ShardedCounter> =
        (0..FIXTURES).map(|_| ShardedCounter::builder("requests", "help").build().unwrap()).collect();
    let prom: Vec<_> = (0..FIXTURES).map(|_| prometheus::IntCounter::new("requests_total", "help").unwrap()).collect();
    let pc: Vec<prometheus_client::metrics::counter::Counter> = (0..FIXTURES).map(|_| Default::default()).collect();
    // measured's counter is its atomic, held inline: each in a box of its
    // own cache lines, so that no two share one.
    let meas: Vec<_> = (0..FIXTURES).map(|_| Box::new(Padded(measured::Counter::new()))).collect();
    let (recorder, _handle) = metrics_recorder();
    let met: Vec<_> = (0..FIXTURES)
        .map(|i| metrics::with_local_recorder(&recorder, || metrics::counter!(format!("requests_{i}_total"))))
        .collect();
    // A bare `fetch_add`, in the same places as measured's.
    let bare: Vec<_> = (0..FIXTURES).map(|_| Box::new(Padded(AtomicU64::new(0)))).collect();

    let cases: Vec<(&str, TwoThreadCase<'_>)> = vec![
        ("promdecl", rotating(&ours, |c| c.inc())),
        // One static: one place.
        ("promdecl/declared", Box::new(|_| two_threads(OPS_PER_ROUND, || black_box(&declared::REQUESTS_TOTAL).inc()))),
        ("promdecl/sharded", rotating(&sharded, |c| c.inc())),
        ("prometheus", rotating(&prom, |c| c.inc())),
        (
            "prometheus-client",
            rotating(&pc, |c| {
                c.inc();
            }),
        ),
        ("measured", rotating(&meas, |c| c.0.inc())),
        ("metrics", rotating(&met, |c| c.increment(1))),
        (
            "control/atomic",
            rotating(&bare, |a| {
                a.0.fetch_add(1, Relaxed);
            }),
        ),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for round in 0..ROUNDS {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let elapsed = (cases[i].1)(round);
            times[i].push(elapsed.as_secs_f64() * 1e9 / OPS_PER_ROUND as f64);
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    let others = ["prometheus", "prometheus-client", "measured", "metrics"];
    let best =
        cases.iter().zip(&medians).filter(|((n, _), _)| others.contains(n)).map(|(_, m)| *m).fold(f64::MAX, f64::min);
    let mut table =
        format!("neutral/counter_two_threads: median of {ROUNDS} interleaved rounds, ns per increment per thread\n");
    for ((name, _), median) in cases.iter().zip(&medians) {
        table.push_str(&format!("{name:<20} {median:>8.2} ns  {:>5.2}x\n", median / best));
    }
    print!("{table}");
    let _ = std::fs::create_dir_all("target/criterion");
    let _ = std::fs::write("target/criterion/neutral_counter_two_threads.txt", table);
}

/// The `metrics` side of the scrape case: the same series, in a recorder of
/// its own.
fn metrics_scrape_fixture() -> PrometheusHandle {
    let (recorder, handle) = metrics_recorder();
    metrics::with_local_recorder(&recorder, || {
        for p in 0..SCRAPE_COUNTER_PATHS {
            let path = common::scrape_path(p);
            for m in METHODS {
                metrics::counter!("http_requests_total", "method" => m, "path" => path.clone()).increment(1);
            }
        }
        for p in 0..SCRAPE_HIST_SERIES {
            metrics::histogram!("http_latency_seconds", "path" => common::scrape_path(p)).record(0.3);
        }
    });
    // The recorder stays alive as long as the handle: the handle shares its state.
    drop(recorder);
    handle
}

fn scrape(c: &mut Criterion) {
    use common::scrape::*;

    let mut g = c.benchmark_group("neutral/scrape_10k_counters_1k_histograms");
    g.sample_size(20);

    let ours = ours_registry();
    let mut buf = Vec::new();
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            buf.clear();
            promdecl::encode::encode(black_box(&ours), promdecl::encode::Format::TEXT, &mut buf);
            black_box(buf.len());
        })
    });
    drop(ours);

    let prom = prom_registry();
    let enc = prometheus::TextEncoder::new();
    let mut text = String::new();
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            text.clear();
            let families = black_box(&prom).gather();
            enc.encode_utf8(&families, &mut text).unwrap();
            black_box(text.len());
        })
    });
    drop(prom);

    let pc = pc_registry();
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            text.clear();
            prometheus_client::encoding::text::encode(&mut text, black_box(&pc)).unwrap();
            black_box(text.len());
        })
    });
    drop(pc);

    use measured::MetricGroup as _;
    let meas = meas_group();
    let mut enc = measured::text::BufferedTextEncoder::new();
    g.bench_function("measured", |b| {
        b.iter(|| {
            black_box(&meas).collect_group_into(&mut enc).unwrap();
            let bytes = enc.finish();
            black_box(bytes.len());
        })
    });
    drop(meas);

    let handle = metrics_scrape_fixture();
    g.bench_function("metrics", |b| b.iter(|| black_box(black_box(&handle).render().len())));

    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = counter_inc,
        counter_enum_labels,
        counter_string_labels,
        histogram_observe,
        histogram_enum_labels,
        histogram_string_labels,
        counter_two_threads,
        scrape
}
criterion_main!(benches);
