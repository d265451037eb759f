//! Heap bytes retained per dynamic-label counter series (labels method and
//! path), measured with a counting global allocator. Prints tables; not a
//! criterion benchmark.
//!
//! The neutral case: 100,000 series of (route `String`, code `String`), each
//! incremented once, in promdecl, `prometheus`, `prometheus-client`,
//! `measured` and `metrics` (with `metrics-exporter-prometheus` as its
//! recorder); and what promdecl's per-thread histogram shards cost.
//!
//! `requested` counts the sizes asked of the allocator; `usable` counts what
//! malloc actually reserved for them (`malloc_usable_size`), still without
//! malloc's per-chunk header. Label strings are made before the baseline, so
//! only each crate's own copies count.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use common::*;

extern "C" {
    fn malloc_usable_size(ptr: *mut c_void) -> usize;
}

static REQUESTED: AtomicIsize = AtomicIsize::new(0);
static USABLE: AtomicIsize = AtomicIsize::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            REQUESTED.fetch_add(l.size() as isize, Relaxed);
            USABLE.fetch_add(malloc_usable_size(p.cast()) as isize, Relaxed);
            LIVE.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            REQUESTED.fetch_add(l.size() as isize, Relaxed);
            USABLE.fetch_add(malloc_usable_size(p.cast()) as isize, Relaxed);
            LIVE.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        REQUESTED.fetch_sub(l.size() as isize, Relaxed);
        USABLE.fetch_sub(malloc_usable_size(p.cast()) as isize, Relaxed);
        LIVE.fetch_sub(1, Relaxed);
        System.dealloc(p, l)
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let old_usable = malloc_usable_size(p.cast()) as isize;
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            REQUESTED.fetch_add(new as isize - l.size() as isize, Relaxed);
            USABLE.fetch_add(malloc_usable_size(q.cast()) as isize - old_usable, Relaxed);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy)]
struct Usage {
    requested: isize,
    usable: isize,
    live: isize,
}

fn usage() -> Usage {
    Usage { requested: REQUESTED.load(Relaxed), usable: USABLE.load(Relaxed), live: LIVE.load(Relaxed) }
}

impl std::ops::Sub for Usage {
    type Output = Usage;
    fn sub(self, b: Usage) -> Usage {
        Usage { requested: self.requested - b.requested, usable: self.usable - b.usable, live: self.live - b.live }
    }
}

type Labels = [(String, String)];
type Measure = fn(usize, &Labels) -> Usage;

/// Builds an empty family with `make`, then inserts the first `n` series
/// with `insert`; returns what the inserts left allocated.
fn measure<F>(n: usize, labels: &Labels, make: impl Fn() -> F, insert: impl Fn(&F, &str, &str)) -> Usage {
    let family = make();
    let before = usage();
    for (m, p) in &labels[..n] {
        insert(&family, m, p);
    }
    let after = usage();
    drop(family);
    after - before
}

fn ours_dyn(n: usize, labels: &Labels) -> Usage {
    measure(
        n,
        labels,
        || promdecl::Counter::builder("requests", "help").labels(["method", "path"]).build().unwrap(),
        |c, m, p| c.with_label_values(&[m, p]).unwrap().inc(),
    )
}

fn ours_struct(n: usize, labels: &Labels) -> Usage {
    measure(
        n,
        labels,
        || promdecl::Counter::builder("requests", "help").label_set::<ours::MethodPathOwned>().build().unwrap(),
        |c, m, p| c.labels(&ours::MethodPathOwned { method: m.to_owned(), path: p.to_owned() }).inc(),
    )
}

fn prom(n: usize, labels: &Labels) -> Usage {
    measure(
        n,
        labels,
        || {
            prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "help"), &["method", "path"])
                .unwrap()
        },
        |c, m, p| c.with_label_values(&[m, p]).inc(),
    )
}

fn pc(n: usize, labels: &Labels) -> Usage {
    measure(
        n,
        labels,
        prometheus_client::metrics::family::Family::<
            pc::MethodPath,
            prometheus_client::metrics::counter::Counter,
        >::default,
        |c, m, p| {
            c.get_or_create(&pc::MethodPath {
                method: m.to_owned(),
                path: p.to_owned(),
            })
            .inc();
        },
    )
}

fn meas(n: usize, labels: &Labels) -> Usage {
    measure(
        n,
        labels,
        || measured::CounterVec::with_label_set(meas::dyn_set()),
        |c, m, p| c.inc(meas::MethodPath { method: m, path: p }),
    )
}

mod neutral {
    use super::*;
    use measured::LabelGroup;
    use prometheus_client::encoding::EncodeLabelSet;

    pub const SERIES: usize = 100_000;
    type Series = fn(&Labels) -> Usage;
    const CODES: [&str; 5] = ["200", "201", "404", "500", "503"];

    /// 20,000 routes x 5 codes: every pair distinct.
    pub fn labels() -> Vec<(String, String)> {
        (0..SERIES).map(|i| (format!("/api/v1/route/{}", i / 5), CODES[i % 5].to_owned())).collect()
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct PcRouteCode {
        route: String,
        code: String,
    }

    #[derive(Clone, Copy, Debug, PartialEq, LabelGroup)]
    #[label(set = MeasRouteCodeSet)]
    struct MeasRouteCode<'a> {
        #[label(dynamic_with = meas::DynStr)]
        route: &'a str,
        #[label(dynamic_with = meas::DynStr)]
        code: &'a str,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct OursRouteCode {
        route: String,
        code: String,
    }

    impl promdecl::LabelSet for OursRouteCode {
        const NAMES: &'static [&'static str] = &["route", "code"];
        fn visit(&self, f: &mut dyn FnMut(&str)) {
            f(&self.route);
            f(&self.code);
        }
    }

    fn ours_dyn(labels: &Labels) -> Usage {
        measure(
            labels.len(),
            labels,
            || promdecl::Counter::builder("requests", "help").labels(["route", "code"]).build().unwrap(),
            |c, r, k| c.with_label_values(&[r, k]).unwrap().inc(),
        )
    }

    /// The same, in a family that expires idle series: each carries its
    /// expiry word.
    fn ours_expiring(labels: &Labels) -> Usage {
        measure(
            labels.len(),
            labels,
            || {
                promdecl::Counter::builder("requests", "help")
                    .labels(["route", "code"])
                    .expire_after(std::time::Duration::from_secs(600))
                    .build()
                    .unwrap()
            },
            |c, r, k| c.with_label_values(&[r, k]).unwrap().inc(),
        )
    }

    fn ours_struct(labels: &Labels) -> Usage {
        measure(
            labels.len(),
            labels,
            || promdecl::Counter::builder("requests", "help").label_set::<OursRouteCode>().build().unwrap(),
            |c, r, k| c.labels(&OursRouteCode { route: r.to_owned(), code: k.to_owned() }).inc(),
        )
    }

    fn prom(labels: &Labels) -> Usage {
        measure(
            labels.len(),
            labels,
            || {
                prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "help"), &["route", "code"])
                    .unwrap()
            },
            |c, r, k| c.with_label_values(&[r, k]).inc(),
        )
    }

    fn pc(labels: &Labels) -> Usage {
        measure(
            labels.len(),
            labels,
            prometheus_client::metrics::family::Family::<PcRouteCode, prometheus_client::metrics::counter::Counter>::default,
            |c, r, k| {
                c.get_or_create(&PcRouteCode { route: r.to_owned(), code: k.to_owned() }).inc();
            },
        )
    }

    fn meas(labels: &Labels) -> Usage {
        measure(
            labels.len(),
            labels,
            || {
                measured::CounterVec::with_label_set(MeasRouteCodeSet {
                    route: meas::DynStr::with_hasher(meas::Hasher::new()),
                    code: meas::DynStr::with_hasher(meas::Hasher::new()),
                })
            },
            |c, r, k| c.inc(MeasRouteCode { route: r, code: k }),
        )
    }

    fn metrics(labels: &Labels) -> Usage {
        measure(
            labels.len(),
            labels,
            || metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder(),
            |recorder, r, k| {
                metrics::with_local_recorder(recorder, || {
                    metrics::counter!("requests_total", "route" => r.to_owned(), "code" => k.to_owned()).increment(1)
                })
            },
        )
    }

    pub fn series() {
        let labels = labels();
        let crates: [(&str, Series); 7] = [
            ("promdecl (with_label_values)", ours_dyn),
            ("promdecl (struct of String)", ours_struct),
            ("promdecl (with_label_values, expire_after)", ours_expiring),
            ("prometheus", prom),
            ("prometheus-client", pc),
            ("measured", meas),
            ("metrics", metrics),
        ];
        println!("Live heap per string-labelled counter series: {SERIES} series of (route String, code String), each incremented once");
        println!();
        println!("| crate | requested B/series | usable B/series | live allocations/series |");
        println!("|---|---:|---:|---:|");
        for (name, f) in crates {
            let u = f(&labels);
            let per = |v: isize| v as f64 / SERIES as f64;
            println!("| {name} | {:.1} | {:.1} | {:.2} |", per(u.requested), per(u.usable), per(u.live));
        }
        println!();
    }

    /// What a histogram (the 11 Go buckets) holds on the heap as threads
    /// record into it: each recording thread gets a shard of its own (kept
    /// by the histogram after the thread ends, for the next thread), and a
    /// thread's first shard also brings its table of shards.
    pub fn histogram_shards() {
        println!("promdecl histogram (11 buckets): heap as threads record into it");
        println!();
        println!("| threads that observed | requested B, histogram alone | requested B while they run | requested B after they ended | per thread after they ended |");
        println!("|---:|---:|---:|---:|---:|");
        for threads in [1usize, 2, 4, 8] {
            let before = usage();
            let h = promdecl::Histogram::builder("latency_seconds", "help").buckets(GO_BUCKETS).build().unwrap();
            let built = usage() - before;
            let observed = std::sync::Barrier::new(threads + 1);
            let done = std::sync::Barrier::new(threads + 1);
            let running = std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        h.observe(0.3);
                        observed.wait();
                        done.wait();
                    });
                }
                observed.wait();
                let running = usage() - before;
                done.wait();
                running
            });
            let after = usage() - before;
            println!(
                "| {threads} | {} | {} | {} | {:.0} |",
                built.requested,
                running.requested,
                after.requested,
                (after.requested - built.requested) as f64 / threads as f64
            );
            drop(h);
        }
        println!();
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    neutral::series();
    neutral::histogram_shards();
    let crates: [(&str, Measure); 5] = [
        ("promdecl (with_label_values)", ours_dyn),
        ("promdecl (struct of String)", ours_struct),
        ("prometheus", prom),
        ("prometheus-client", pc),
        ("measured", meas),
    ];
    println!("Heap retained per dynamic-label counter series (labels method, path)");
    println!();
    println!("| series | label values | crate | requested B/series | usable B/series | marginal requested B/series | live allocations/series |");
    println!("|---:|---|---|---:|---:|---:|---:|");
    for n in [10_000usize, 100_000] {
        for (dist, unique) in [("4 methods x n/4 paths", false), ("unique path each", true)] {
            let labels: Vec<(String, String)> = (0..n)
                .map(|i| {
                    let path = if unique { i } else { i / 4 };
                    (METHODS[i % 4].to_owned(), format!("/api/v1/item/{path}"))
                })
                .collect();
            for (name, f) in crates {
                let full = f(n, &labels);
                let half = f(n / 2, &labels);
                let per = |v: isize| v as f64 / n as f64;
                println!(
                    "| {n} | {dist} | {name} | {:.1} | {:.1} | {:.1} | {:.2} |",
                    per(full.requested),
                    per(full.usable),
                    (full.requested - half.requested) as f64 / (n - n / 2) as f64,
                    per(full.live),
                );
            }
        }
    }
}
