//! One scrape of a registry holding a 10,000-series counter family (labels
//! method and path) and a 1,000-series histogram family (label path, the 11
//! Go default buckets), in text format into a reused buffer. Each crate's
//! output size is printed once, so the outputs can be compared.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use common::*;

fn report(name: &str, text: &[u8]) {
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    eprintln!("{name}: {} bytes, {lines} lines", text.len());
}

fn ours_registry() -> promdecl::Registry {
    let registry = promdecl::Registry::new();
    let counters =
        promdecl::Counter::builder("http_requests", "help").labels(["method", "path"]).register(&registry).unwrap();
    let hist = promdecl::Histogram::builder("http_latency_seconds", "help")
        .buckets(GO_BUCKETS)
        .labels(["path"])
        .register(&registry)
        .unwrap();
    for p in 0..SCRAPE_COUNTER_PATHS {
        let path = scrape_path(p);
        for m in METHODS {
            counters.with_label_values(&[m, &path]).unwrap().inc();
        }
    }
    for p in 0..SCRAPE_HIST_SERIES {
        hist.with_label_values(&[&scrape_path(p)]).unwrap().observe(0.3);
    }
    registry
}

fn prom_registry() -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let counters =
        prometheus::IntCounterVec::new(prometheus::Opts::new("http_requests_total", "help"), &["method", "path"])
            .unwrap();
    let hist = prometheus::HistogramVec::new(prometheus::HistogramOpts::new("http_latency_seconds", "help"), &["path"])
        .unwrap();
    registry.register(Box::new(counters.clone())).unwrap();
    registry.register(Box::new(hist.clone())).unwrap();
    for p in 0..SCRAPE_COUNTER_PATHS {
        let path = scrape_path(p);
        for m in METHODS {
            counters.with_label_values(&[m, path.as_str()]).inc();
        }
    }
    for p in 0..SCRAPE_HIST_SERIES {
        hist.with_label_values(&[scrape_path(p)]).observe(0.3);
    }
    registry
}

fn pc_registry() -> prometheus_client::registry::Registry {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;

    let mut registry = prometheus_client::registry::Registry::default();
    let counters = Family::<pc::MethodPath, Counter>::default();
    let hist = Family::<pc::PathLabel, Histogram, fn() -> Histogram>::new_with_constructor(pc::go_histogram);
    registry.register("http_requests", "help", counters.clone());
    registry.register("http_latency_seconds", "help", hist.clone());
    for p in 0..SCRAPE_COUNTER_PATHS {
        let path = scrape_path(p);
        for m in METHODS {
            counters.get_or_create(&pc::MethodPath { method: m.to_owned(), path: path.clone() }).inc();
        }
    }
    for p in 0..SCRAPE_HIST_SERIES {
        hist.get_or_create(&pc::PathLabel { path: scrape_path(p) }).observe(0.3);
    }
    registry
}

#[derive(measured::MetricGroup)]
struct MeasuredScrape {
    /// help
    http_requests_total: measured::CounterVec<meas::MethodPathSet>,
    /// help
    http_latency_seconds: measured::HistogramVec<meas::PathSet, 11>,
}

fn meas_group() -> MeasuredScrape {
    let s = MeasuredScrape {
        http_requests_total: measured::CounterVec::with_label_set(meas::dyn_set()),
        http_latency_seconds: measured::HistogramVec::with_label_set_and_metadata(
            meas::path_set(),
            meas::go_thresholds(),
        ),
    };
    for p in 0..SCRAPE_COUNTER_PATHS {
        let path = scrape_path(p);
        for m in METHODS {
            s.http_requests_total.inc(meas::MethodPath { method: m, path: &path });
        }
    }
    for p in 0..SCRAPE_HIST_SERIES {
        s.http_latency_seconds.observe(meas::PathLabel { path: &scrape_path(p) }, 0.3);
    }
    s
}

fn scrape(c: &mut Criterion) {
    let mut g = c.benchmark_group("scrape_10k_counters_1k_histograms");
    g.sample_size(20);

    let ours = ours_registry();
    let mut buf = Vec::new();
    promdecl::encode::encode(&ours, promdecl::encode::Format::TEXT, &mut buf);
    report("promdecl", &buf);
    g.bench_function("promdecl", |b| {
        b.iter(|| {
            buf.clear();
            promdecl::encode::encode(&ours, promdecl::encode::Format::TEXT, &mut buf);
            black_box(buf.len());
        })
    });

    buf.clear();
    promdecl::encode::encode(&ours, promdecl::encode::Format::OPENMETRICS, &mut buf);
    report("promdecl/openmetrics", &buf);
    g.bench_function("promdecl/openmetrics", |b| {
        b.iter(|| {
            buf.clear();
            promdecl::encode::encode(&ours, promdecl::encode::Format::OPENMETRICS, &mut buf);
            black_box(buf.len());
        })
    });
    drop(ours);

    let prom = prom_registry();
    let enc = prometheus::TextEncoder::new();
    let mut text = String::new();
    enc.encode_utf8(&prom.gather(), &mut text).unwrap();
    report("prometheus", text.as_bytes());
    g.bench_function("prometheus", |b| {
        b.iter(|| {
            text.clear();
            let families = prom.gather();
            enc.encode_utf8(&families, &mut text).unwrap();
            black_box(text.len());
        })
    });
    drop(prom);

    let pc = pc_registry();
    text.clear();
    prometheus_client::encoding::text::encode(&mut text, &pc).unwrap();
    report("prometheus-client", text.as_bytes());
    g.bench_function("prometheus-client", |b| {
        b.iter(|| {
            text.clear();
            prometheus_client::encoding::text::encode(&mut text, &pc).unwrap();
            black_box(text.len());
        })
    });
    drop(pc);

    use measured::MetricGroup as _;
    let meas = meas_group();
    let mut enc = measured::text::BufferedTextEncoder::new();
    meas.collect_group_into(&mut enc).unwrap();
    report("measured", &enc.finish());
    g.bench_function("measured", |b| {
        b.iter(|| {
            meas.collect_group_into(&mut enc).unwrap();
            let bytes = enc.finish();
            black_box(bytes.len());
        })
    });

    g.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = scrape
}
criterion_main!(benches);
