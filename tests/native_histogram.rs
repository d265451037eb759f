//! Native histograms: schema from the bucket factor, zero bucket, the
//! bucket limit (zero-bucket widening, halved resolution, reset after the
//! minimum interval), classic and native at once, and a real Prometheus with
//! native histograms scraping them over protobuf and answering PromQL.

mod common;

use std::time::Duration;

use promdecl::encode::{encode_to_string, Format};
use promdecl::metric::{native_bucket_upper_bound, native_schema};
use promdecl::{Error, Histogram, Registry};

#[test]
fn schema_follows_the_bucket_factor() {
    for (factor, schema) in [(65536.0, -4), (256.0, -3), (16.0, -2), (4.0, -1), (2.0, 0), (1.5, 1), (1.2, 2)] {
        assert_eq!(native_schema(factor), schema, "factor {factor}");
    }
    for (factor, schema) in [(1.1, 3), (1.05, 4), (1.03, 5), (1.02, 6), (1.01, 7), (1.005, 8), (1.000001, 8)] {
        assert_eq!(native_schema(factor), schema, "factor {factor}");
    }
    let h = Histogram::builder("h", "H.").native(1.5).build().unwrap();
    assert_eq!(h.native_snapshot().unwrap().schema, 1);
    assert!(Histogram::builder("h", "H.").build().unwrap().native_snapshot().is_none());
}

#[test]
fn bad_native_options_are_refused() {
    for builder in [
        Histogram::builder("h", "H.").native(1.0),
        Histogram::builder("h", "H.").native(f64::NAN),
        Histogram::builder("h", "H.").native(0.5),
        Histogram::builder("h", "H.").native(2.0).native_zero_threshold(-1.0),
        Histogram::builder("h", "H.").native(2.0).native_max_zero_threshold(f64::INFINITY),
        // Native options without native buckets.
        Histogram::builder("h", "H.").native_max_buckets(10),
    ] {
        let err = builder.build().unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }), "{err}");
    }
}

#[test]
fn zero_bucket_and_signs() {
    let h = Histogram::builder("h", "H.").native(2.0).native_zero_threshold(0.01).build().unwrap();
    for v in [0.0, 0.005, -0.01, 0.02, -3.0, -3.5, f64::INFINITY, f64::NAN] {
        h.observe(v);
    }
    let n = h.native_snapshot().unwrap();
    assert_eq!(n.zero_count, 3);
    // 0.02 in (2^-6, 2^-5] (key -5); -3 and -3.5 in (2, 4] (key 2).
    assert_eq!(n.positive_buckets()[0], (-5, 1));
    assert_eq!(n.negative_buckets(), [(2, 2)]);
    // +Inf has the bucket after the one of f64::MAX; NaN no bucket at all.
    assert_eq!(n.positive_buckets()[1].0, 1025);
    assert_eq!(n.count, 7);
    assert_eq!(h.count(), 7);
    assert!(n.sum.is_nan());
}

#[test]
fn limit_widens_the_zero_bucket_first() {
    let h =
        Histogram::builder("h", "H.").native(2.0).native_max_buckets(3).native_max_zero_threshold(0.5).build().unwrap();
    for v in [0.1, 0.3, 1.5, 3.0] {
        h.observe(v);
    }
    let n = h.native_snapshot().unwrap();
    // (0.0625, 0.125] went into the zero bucket, whose threshold is now 0.125.
    assert_eq!((n.schema, n.zero_threshold, n.zero_count), (0, 0.125, 1));
    assert_eq!(n.positive_buckets(), [(-1, 1), (1, 1), (2, 1)]);
}

#[test]
fn limit_halves_the_resolution() {
    let h = Histogram::builder("h", "H.").native(1.1).native_max_buckets(4).build().unwrap();
    let values: Vec<f64> = (0..40).map(|i| 1.0 + i as f64 * 0.37).collect();
    for &v in &values {
        h.observe(v);
    }
    let n = h.native_snapshot().unwrap();
    assert!(n.positive_buckets().len() <= 4, "{:?}", n.positive_buckets());
    assert!(n.schema < 3);
    // Nothing is lost: every observation is still in a bucket that holds it.
    assert_eq!(n.count, 40);
    let mut expected = std::collections::BTreeMap::new();
    for &v in &values {
        let key = (-10_000..10_000).find(|&k| native_bucket_upper_bound(k, n.schema) >= v).unwrap();
        *expected.entry(key).or_insert(0u64) += 1;
    }
    assert_eq!(n.positive_buckets(), expected.into_iter().collect::<Vec<_>>());
}

#[test]
fn limit_resets_after_the_minimum_interval() {
    let r = Registry::new();
    let h = Histogram::builder("h", "H.")
        .buckets([1.0])
        .native(2.0)
        .native_max_buckets(2)
        .native_min_reset_interval(Duration::from_millis(200))
        .register(&r)
        .unwrap();
    for v in [1.0, 2.0, 4.0] {
        h.observe(v);
    }
    // Too soon to reset: the resolution went down instead.
    let n = h.native_snapshot().unwrap();
    assert_eq!((n.schema, n.count), (-1, 3));
    std::thread::sleep(Duration::from_millis(250));
    // The scrape after the interval still shows everything, then the
    // histogram goes back to the configured resolution.
    let text = encode_to_string(&r, Format::TEXT);
    assert!(text.contains("h_count 3\n"), "{text}");
    let n = h.native_snapshot().unwrap();
    assert_eq!((n.schema, n.count), (0, 0));
    assert_eq!(h.count(), 0);
    // Over the limit again after the interval: reset, keeping the newest.
    for v in [1.0, 2.0] {
        h.observe(v);
    }
    std::thread::sleep(Duration::from_millis(250));
    h.observe(8.0);
    let n = h.native_snapshot().unwrap();
    assert_eq!((n.schema, n.count, n.positive_buckets()), (0, 1, vec![(3, 1)]));
    assert_eq!(h.bucket_counts(), vec![0, 1]);
}

#[test]
fn classic_buckets_stay_in_the_text_formats() {
    let r = Registry::new();
    let h = Histogram::builder("both", "Both.").buckets([0.5, 1.0]).native(1.1).register(&r).unwrap();
    h.observe(0.3);
    h.observe(0.7);
    assert_eq!(
        encode_to_string(&r, Format::TEXT),
        "# HELP both Both.\n# TYPE both histogram\nboth_bucket{le=\"0.5\"} 1\nboth_bucket{le=\"1.0\"} 2\n\
         both_bucket{le=\"+Inf\"} 2\nboth_count 2\nboth_sum 1.0\n"
    );
    // Native only: the classic part is the +Inf bucket, count and sum.
    let r = Registry::new();
    Histogram::builder("only", "Only.").native(1.1).register(&r).unwrap().observe(2.0);
    assert_eq!(
        encode_to_string(&r, Format::TEXT),
        "# HELP only Only.\n# TYPE only histogram\nonly_bucket{le=\"+Inf\"} 1\nonly_count 1\nonly_sum 2.0\n"
    );
}

#[test]
fn concurrent_observations_all_count() {
    let h = Histogram::builder("h", "H.").native(1.1).native_max_buckets(20).build().unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let h = &h;
            s.spawn(move || {
                for i in 0..5000 {
                    h.observe((t * 5000 + i) as f64 * 0.001 + 0.001);
                }
            });
        }
    });
    let n = h.native_snapshot().unwrap();
    assert_eq!(n.count, 20_000);
    assert_eq!(h.count(), 20_000);
    assert!(n.positive_buckets().len() <= 20);
    let total: u64 = n.positive_buckets().iter().map(|b| b.1).sum::<u64>() + n.zero_count;
    assert_eq!(total, 20_000);
}

/// Prometheus 2.42 with native histograms asks for protobuf, ingests the
/// native histogram, and its PromQL functions agree with the observations.
#[cfg(feature = "protobuf")]
#[test]
fn prometheus_scrapes_native_histograms_over_protobuf() {
    use common::prometheus::Prometheus;

    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let h = Histogram::builder("promdecl_test_native_seconds", "Native.")
        .buckets([0.25, 1.0])
        .native(1.1)
        .register(registry)
        .unwrap();
    let observations = [0.1, 0.2, 0.4, 0.8, 1.6];
    for v in observations {
        h.observe(v);
    }
    let server = promdecl::serve_registry("127.0.0.1:0", registry).unwrap();
    let Some(prom) = Prometheus::start(
        "prometheus_scrapes_native_histograms_over_protobuf",
        server.local_addr().port(),
        "exemplar-storage,native-histograms",
    ) else {
        return;
    };
    let timeout = Duration::from_secs(40);
    let count = prom.query_value("histogram_count(promdecl_test_native_seconds)", timeout);
    assert_eq!(count, 5.0);
    let sum = prom.query_value("histogram_sum(promdecl_test_native_seconds)", timeout);
    assert!((sum - 3.1).abs() < 1e-9, "sum {sum}");
    // The median (rank 2.5 of 5) lies in the bucket of 0.4: (2^(-10/8), 2^(-9/8)].
    let median = prom.query_value("histogram_quantile(0.5, promdecl_test_native_seconds)", timeout);
    let key = (-100..).find(|&k| native_bucket_upper_bound(k, 3) >= 0.4).unwrap();
    let (lower, upper) = (native_bucket_upper_bound(key - 1, 3), native_bucket_upper_bound(key, 3));
    assert!(lower < median && median <= upper, "median {median} outside ({lower}, {upper}]");
    assert!((median - 0.4).abs() / 0.4 < 0.1, "median {median}");
    // It was a native histogram: the classic series were not ingested.
    assert!(prom.query("promdecl_test_native_seconds_bucket").is_empty());
    // New observations show up in the next scrapes.
    h.observe(3.2);
    let deadline = std::time::Instant::now() + timeout;
    while prom.query_value("histogram_count(promdecl_test_native_seconds)", timeout) != 6.0 {
        assert!(std::time::Instant::now() < deadline, "the sixth observation never arrived");
        std::thread::sleep(Duration::from_millis(250));
    }
    let median = prom.query_value("histogram_quantile(0.5, promdecl_test_native_seconds)", timeout);
    // Rank 3 of 6: the top of 0.4's bucket or the bottom of 0.8's.
    assert!((0.38..=0.85).contains(&median), "median {median}");
    server.shutdown();
}

/// `examples/native_histogram.rs`, scraped by the real Prometheus over
/// protobuf, holds the five observations it promises.
#[cfg(feature = "protobuf")]
#[test]
fn the_native_histogram_example_is_scraped_by_prometheus() {
    let test = "the_native_histogram_example_is_scraped_by_prometheus";
    let Some(example) = common::ServingExample::start(test, "native_histogram", &["--addr", "127.0.0.1:0"]) else {
        return;
    };
    let port: u16 = example.base().rsplit(':').next().unwrap().parse().unwrap();
    let Some(prom) = common::prometheus::Prometheus::start(test, port, "native-histograms") else {
        return;
    };
    let timeout = Duration::from_secs(40);
    assert_eq!(prom.query_value("histogram_count(promdecl_example_native_seconds)", timeout), 5.0);
    let sum = prom.query_value("histogram_sum(promdecl_example_native_seconds)", timeout);
    assert!((sum - 3.1).abs() < 1e-9, "{sum}");
}
