//! One scrape of a registry holding a 10,000-series counter family (labels
//! method and path) and a 1,000-series histogram family (label path, the 11
//! Go default buckets), in text format into a reused buffer. Each crate's
//! output size is printed once, so the outputs can be compared.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use common::scrape::*;

fn report(name: &str, text: &[u8]) {
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    eprintln!("{name}: {} bytes, {lines} lines", text.len());
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
