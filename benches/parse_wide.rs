//! Parsing one sample line with a great many labels (2,000, 20,000 and
//! 200,000; the last is a line of about 2.6 MB), in the Prometheus text
//! format and in OpenMetrics. Each label name is checked against the ones
//! before it: the time per label must stay flat as the line grows (linear
//! time, not quadratic), which the per-element throughput shows.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// `wide{l0="v",l1="v",...} 1` with `labels` labels.
fn wide_line(labels: usize) -> String {
    let mut line = String::with_capacity(labels * 13 + 16);
    line.push_str("wide{");
    for i in 0..labels {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&format!("l{i}=\"v\""));
    }
    line.push_str("} 1\n");
    line
}

fn wide_labels(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_wide_line");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for labels in [2_000, 20_000, 200_000] {
        let text = wide_line(labels);
        let openmetrics = format!("{text}# EOF\n");
        eprintln!("{labels} labels: {} bytes", text.len());
        assert_eq!(promdecl::parse_text(&text).unwrap()[0].samples[0].labels.len(), labels);
        group.throughput(Throughput::Elements(labels as u64));
        group.bench_with_input(BenchmarkId::new("text", labels), &text, |b, text| {
            b.iter(|| promdecl::parse_text(black_box(text)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("openmetrics", labels), &openmetrics, |b, text| {
            b.iter(|| promdecl::parse_openmetrics(black_box(text)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, wide_labels);
criterion_main!(benches);
