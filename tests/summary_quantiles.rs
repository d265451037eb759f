//! Summary quantiles: the rank error stays within each objective's bound
//! against exact quantiles, observations age out of the sliding window,
//! memory stays bounded, both encoders write `{quantile="..."}` samples the
//! reference validators accept, labelled and declared summaries have them
//! too, and observing while scraping is safe.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use promdecl::clock::ManualClock;
use promdecl::encode::{encode_to_string, Format};
use promdecl::metric::QuantileError;
use promdecl::prelude::*;
use promdecl::Error;

const OBJECTIVES: [(f64, f64); 3] = [(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];
/// Targets at and near both ends, and a tight one in the middle.
const EDGE_OBJECTIVES: [(f64, f64); 5] = [(0.0, 0.01), (0.001, 0.0005), (0.25, 0.001), (0.999, 0.0005), (1.0, 0.01)];

/// Asserts each reported quantile's rank among `observed` (1-based; any
/// rank of a repeated value counts) lies within `(q ± error) * n`, widened
/// to whole ranks.
#[track_caller]
fn assert_within_bounds(what: &str, observed: &[f64], objectives: &[(f64, f64)], reported: &[(f64, f64)]) {
    let mut sorted = observed.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mut wanted: Vec<(f64, f64)> = objectives.to_vec();
    wanted.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(reported.len(), wanted.len(), "{what}: one value per objective");
    for (&(q, error), &(reported_q, value)) in wanted.iter().zip(reported) {
        assert_eq!(q, reported_q, "{what}: objectives in ascending order");
        let first = sorted.partition_point(|&x| x < value) + 1;
        let last = sorted.partition_point(|&x| x <= value);
        assert!(last >= first, "{what}: q={q} reported {value}, which was never observed");
        let lo = ((q - error) * n).floor().max(1.0) as usize;
        let hi = ((q + error) * n).ceil().min(n) as usize;
        assert!(
            first <= hi && last >= lo,
            "{what}: q={q} ±{error}: reported {value} ranks {first}..={last} of {n}, want a rank in {lo}..={hi}"
        );
    }
}

/// Observes `values` into a fresh summary and checks its quantiles.
fn check_data(what: &str, values: &[f64], objectives: &[(f64, f64)]) {
    let s = Summary::builder("data", "Data.").quantiles(objectives.iter().copied()).build().unwrap();
    for &v in values {
        s.observe(v);
    }
    assert_eq!(s.count(), values.len() as u64);
    assert_within_bounds(what, values, objectives, &s.quantiles());
}

fn uniform(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| rng.f64()).collect()
}

fn exponential(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| -(1.0 - rng.f64()).ln()).collect()
}

#[test]
fn rank_error_within_bound_on_uniform_data() {
    for (n, seed) in [(1, 1), (7, 2), (499, 3), (500, 4), (501, 5), (12_345, 6), (200_000, 7)] {
        let data = uniform(n, seed);
        check_data(&format!("uniform n={n}"), &data, &OBJECTIVES);
        check_data(&format!("uniform n={n}, edge objectives"), &data, &EDGE_OBJECTIVES);
    }
}

#[test]
fn rank_error_within_bound_on_exponential_data() {
    for (n, seed) in [(999, 11), (50_000, 12), (200_000, 13)] {
        let data = exponential(n, seed);
        check_data(&format!("exponential n={n}"), &data, &OBJECTIVES);
        check_data(&format!("exponential n={n}, edge objectives"), &data, &EDGE_OBJECTIVES);
    }
}

#[test]
fn rank_error_within_bound_on_sorted_input() {
    for n in [1_000usize, 100_000, 200_001] {
        let ascending: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let descending: Vec<f64> = ascending.iter().rev().copied().collect();
        check_data(&format!("ascending n={n}"), &ascending, &OBJECTIVES);
        check_data(&format!("descending n={n}"), &descending, &OBJECTIVES);
        check_data(&format!("ascending n={n}, edge objectives"), &ascending, &EDGE_OBJECTIVES);
        check_data(&format!("descending n={n}, edge objectives"), &descending, &EDGE_OBJECTIVES);
    }
}

#[test]
fn rank_error_within_bound_on_other_adversarial_orders() {
    let n = 100_000usize;
    // Sorted runs of one buffer each, alternating direction.
    let zigzag: Vec<f64> =
        (0..n).map(|i| if (i / 500) % 2 == 0 { (i % 500) as f64 } else { (499 - i % 500) as f64 }).collect();
    // Few distinct values: every rank is shared by thousands of observations.
    let repeated: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
    // Ascending, then a descending tail far below everything seen.
    let cliff: Vec<f64> = (0..n).map(|i| if i < n / 2 { i as f64 } else { -((i - n / 2) as f64) }).collect();
    for (what, data) in [("zigzag", &zigzag), ("repeated", &repeated), ("cliff", &cliff)] {
        check_data(what, data, &OBJECTIVES);
        check_data(&format!("{what}, edge objectives"), data, &EDGE_OBJECTIVES);
    }
}

#[test]
fn nan_observations_count_but_are_not_ranked() {
    let s = Summary::builder("s", "S.").quantiles(OBJECTIVES).build().unwrap();
    s.observe(f64::NAN);
    assert!(s.quantiles().iter().all(|(_, v)| v.is_nan()), "only NaN observed: no quantile");
    for v in [1.0, 2.0, 3.0, 4.0] {
        s.observe(v);
    }
    assert_eq!(s.count(), 5);
    assert!(s.sum().is_nan());
    assert_eq!(s.quantiles()[0], (0.5, 2.0));
}

#[test]
fn quantiles_are_nan_without_observations_in_the_window() {
    let r = Registry::new();
    Summary::builder("idle_seconds", "Idle.").quantiles(OBJECTIVES).register(&r).unwrap();
    let text = encode_to_string(&r, Format::TEXT);
    assert_eq!(
        text,
        "# HELP idle_seconds Idle.\n\
         # TYPE idle_seconds summary\n\
         idle_seconds{quantile=\"0.5\"} NaN\n\
         idle_seconds{quantile=\"0.9\"} NaN\n\
         idle_seconds{quantile=\"0.99\"} NaN\n\
         idle_seconds_count 0\n\
         idle_seconds_sum 0.0\n"
    );
}

/// A summary whose window is 60 s in three 20 s age buckets, on `clock`.
fn windowed(clock: &ManualClock) -> Summary {
    Summary::builder("windowed_seconds", "Windowed.")
        .quantiles([(0.5, 0.05)])
        .max_age(Duration::from_secs(60))
        .age_buckets(3)
        .quantile_clock(clock.clone())
        .build()
        .unwrap()
}

fn median(s: &Summary) -> f64 {
    s.quantiles()[0].1
}

#[test]
fn observations_age_out_after_max_age() {
    let clock = ManualClock::new();
    let s = windowed(&clock);
    for _ in 0..1_000 {
        s.observe(1.0);
    }
    assert_eq!(median(&s), 1.0);
    clock.advance(Duration::from_secs(30));
    for _ in 0..3_000 {
        s.observe(2.0);
    }
    assert_eq!(median(&s), 2.0, "1000 ones and 3000 twos");
    clock.advance(Duration::from_millis(29_999));
    assert_eq!(median(&s), 2.0, "59.999 s: the ones are still in the window");
    assert_eq!(s.quantiles().len(), 1);
    clock.advance(Duration::from_millis(1));
    // 60 s: the ones are out; the twos (30 s old) are not.
    for _ in 0..1_500 {
        s.observe(3.0);
    }
    assert_eq!(median(&s), 2.0, "3000 twos and 1500 threes");
    clock.advance(Duration::from_secs(40));
    assert_eq!(median(&s), 3.0, "100 s: the twos are out, the threes (40 s old) remain");
    clock.advance(Duration::from_secs(60));
    assert!(median(&s).is_nan(), "160 s: the window is empty");
    assert_eq!(s.count(), 5_500, "count and sum never age out");
    assert_eq!(s.sum(), 1_000.0 + 6_000.0 + 4_500.0);
}

#[test]
fn an_observation_stays_at_least_max_age_minus_one_bucket() {
    let clock = ManualClock::new();
    let s = windowed(&clock);
    clock.advance(Duration::from_millis(19_999));
    s.observe(5.0); // late in the first 20 s bucket
    clock.advance(Duration::from_millis(40_000)); // 59.999 s
    assert_eq!(median(&s), 5.0, "40 s old: still in");
    clock.advance(Duration::from_millis(1)); // 60 s
    assert!(median(&s).is_nan(), "the first bucket left the window at 60 s");
}

#[test]
fn buffered_observations_age_out_too() {
    let clock = ManualClock::new();
    let s = windowed(&clock);
    // Fewer than one buffer's worth: nothing has reached the streams yet.
    for _ in 0..10 {
        s.observe(1.0);
    }
    clock.advance(Duration::from_secs(61));
    s.observe(7.0); // starts a new age bucket, flushing the ten ones first
    assert_eq!(median(&s), 7.0);
    for _ in 0..10 {
        s.observe(8.0);
    }
    clock.advance(Duration::from_secs(61));
    assert!(median(&s).is_nan(), "buffered, then scraped after max_age");
}

#[test]
fn the_window_slides_over_a_long_run() {
    // One observation of value t every second for 20 minutes: after the
    // first minute the median is always within the last 60 s.
    let clock = ManualClock::new();
    let s = windowed(&clock);
    for t in 0..1_200u32 {
        s.observe(f64::from(t));
        clock.advance(Duration::from_secs(1));
        if t >= 60 && t % 7 == 0 {
            let m = median(&s);
            let oldest = f64::from(t) - 60.0;
            assert!(m > oldest && m <= f64::from(t), "t={t}: median {m} is not from the last minute");
        }
    }
}

#[test]
fn memory_stays_bounded() {
    let s = Summary::builder("busy_seconds", "Busy.").quantiles(OBJECTIVES).build().unwrap();
    let mut rng = fastrand::Rng::with_seed(99);
    let mut largest_stream = 0;
    let mut first_round_bytes = None;
    for round in 1..=8 {
        for _ in 0..500_000 {
            s.observe(rng.f64() * 10.0);
        }
        let (lens, bytes) = s.quantile_footprint().expect("a summary with objectives has a window");
        assert_eq!(lens.len(), 5, "one stream per default age bucket");
        largest_stream = largest_stream.max(lens.iter().copied().max().unwrap());
        assert!(largest_stream <= 200, "after {round} x 500000 observations a stream keeps {largest_stream} values");
        // Two 500-value buffers, one merge area and five streams; while n is
        // small a stream keeps most of a batch, so its allocation is about a
        // batch, but it never grows after that.
        assert!(bytes <= 64 * 1024, "after {round} x 500000 observations the window holds {bytes} bytes");
        let first = *first_round_bytes.get_or_insert(bytes);
        assert!(bytes <= first, "the window grew from {first} to {bytes} bytes by round {round}");
    }
    assert_eq!(s.count(), 4_000_000);
    assert!(largest_stream > 3, "the streams do keep values ({largest_stream})");
    assert!(s.quantile_footprint().unwrap().1 >= 2 * 500 * 8, "the buffers are counted");
    assert!(Summary::builder("plain", "P.").build().unwrap().quantile_footprint().is_none());
}

#[test]
fn golden_text_and_openmetrics() {
    let r = Registry::new();
    let s = Summary::builder("rpc_seconds", "RPC latency.").quantiles(OBJECTIVES).register(&r).unwrap();
    for i in 1..=10 {
        s.observe(f64::from(i) / 10.0);
    }
    let labelled: Summary<DynLabels> = Summary::builder("job_seconds", "Job time.")
        .labels(["queue"])
        .quantiles([(0.25, 0.01), (0.75, 0.01)])
        .register(&r)
        .unwrap();
    for i in 1..=4 {
        labelled.with_label_values(&["mail"]).unwrap().observe(f64::from(i));
    }
    let text = encode_to_string(&r, Format::TEXT);
    assert_eq!(
        text,
        "# HELP rpc_seconds RPC latency.\n\
         # TYPE rpc_seconds summary\n\
         rpc_seconds{quantile=\"0.5\"} 0.5\n\
         rpc_seconds{quantile=\"0.9\"} 0.9\n\
         rpc_seconds{quantile=\"0.99\"} 1.0\n\
         rpc_seconds_count 10\n\
         rpc_seconds_sum 5.5\n\
         # HELP job_seconds Job time.\n\
         # TYPE job_seconds summary\n\
         job_seconds{queue=\"mail\",quantile=\"0.25\"} 1.0\n\
         job_seconds{queue=\"mail\",quantile=\"0.75\"} 3.0\n\
         job_seconds_count{queue=\"mail\"} 4\n\
         job_seconds_sum{queue=\"mail\"} 10.0\n"
    );
    let (openmetrics, created) = common::normalize_created(&encode_to_string(&r, Format::OPENMETRICS));
    assert_eq!(
        openmetrics,
        "# HELP rpc_seconds RPC latency.\n\
         # TYPE rpc_seconds summary\n\
         rpc_seconds{quantile=\"0.5\"} 0.5\n\
         rpc_seconds{quantile=\"0.9\"} 0.9\n\
         rpc_seconds{quantile=\"0.99\"} 1.0\n\
         rpc_seconds_count 10\n\
         rpc_seconds_sum 5.5\n\
         rpc_seconds_created <T>\n\
         # HELP job_seconds Job time.\n\
         # TYPE job_seconds summary\n\
         job_seconds{queue=\"mail\",quantile=\"0.25\"} 1.0\n\
         job_seconds{queue=\"mail\",quantile=\"0.75\"} 3.0\n\
         job_seconds_count{queue=\"mail\"} 4\n\
         job_seconds_sum{queue=\"mail\"} 10.0\n\
         job_seconds_created{queue=\"mail\"} <T>\n\
         # EOF\n"
    );
    common::assert_recent(&created);
    assert_eq!(r.get_sample_value("rpc_seconds", &[("quantile", "0.9")]), Some(0.9));
    assert_eq!(r.get_sample_value("job_seconds", &[("queue", "mail"), ("quantile", "0.75")]), Some(3.0));
}

#[test]
fn reference_validators_accept_quantiles() {
    let r = Registry::new();
    let s = Summary::builder("latency_seconds", "Latency.").quantiles(OBJECTIVES).register(&r).unwrap();
    for v in exponential(5_000, 21) {
        s.observe(v);
    }
    Summary::builder("empty_seconds", "Nothing observed.").quantiles(OBJECTIVES).register(&r).unwrap();
    let by_op: Summary<DynLabels> =
        Summary::builder("op_seconds", "By op.").labels(["op"]).quantiles([(0.5, 0.05)]).register(&r).unwrap();
    by_op.with_label_values(&["read"]).unwrap().observe(0.25);
    by_op.with_label_values(&["write"]).unwrap().observe(0.5);
    for format in [Format::TEXT, Format::OPENMETRICS] {
        let out = encode_to_string(&r, format);
        // Our own parsers read the samples back.
        let families = if out.ends_with("# EOF\n") {
            promdecl::parse_openmetrics(&out).unwrap()
        } else {
            promdecl::parse_text(&out).unwrap()
        };
        assert_eq!(families.len(), 3);
        let Some(v) = common::validate("summary-quantiles", &out) else { return };
        assert!(v.ok, "validator refused {format:?}:\n{}\n--- input ---\n{out}", v.output);
        let dump = v.dump.expect("the validator dumps what it parsed");
        let dumped = format!("{dump:?}");
        for q in ["0.5", "0.9", "0.99"] {
            assert!(dumped.contains(q), "the reference parser saw quantile {q}: {dumped}");
        }
    }
}

#[test]
fn prometheus_scrapes_quantiles() {
    let r = Registry::new();
    let s = Summary::builder("scraped_seconds", "Scraped.").quantiles(OBJECTIVES).register(&r).unwrap();
    for v in uniform(2_000, 51) {
        s.observe(v);
    }
    let out = encode_to_string(&r, Format::OPENMETRICS);
    let Some(v) = common::validate_with("summary-quantiles-scrape", &out, &["--scrape"]) else { return };
    assert!(v.ok, "Prometheus refused the scrape:\n{}\n--- input ---\n{out}", v.output);
    assert!(v.output.contains("scrape by Prometheus"), "the scrape ran:\n{}", v.output);
}

#[test]
fn labelled_children_have_their_own_windows() {
    let s: Summary<DynLabels> =
        Summary::builder("by_op_seconds", "By op.").labels(["op"]).quantiles(OBJECTIVES).build().unwrap();
    let read = uniform(20_000, 31);
    let write: Vec<f64> = exponential(30_000, 32).iter().map(|v| v + 100.0).collect();
    let read_child = s.with_label_values(&["read"]).unwrap().handle();
    for &v in &read {
        read_child.observe(v);
    }
    for &v in &write {
        s.with_label_values(&["write"]).unwrap().observe(v);
    }
    assert_within_bounds("read", &read, &OBJECTIVES, &s.with_label_values(&["read"]).unwrap().quantiles());
    assert_within_bounds("write", &write, &OBJECTIVES, &s.with_label_values(&["write"]).unwrap().quantiles());
    // Removing a child drops its window; a new one starts empty.
    assert!(s.remove_label_values(&["read"]).unwrap());
    assert!(s.with_label_values(&["read"]).unwrap().quantiles().iter().all(|(_, v)| v.is_nan()));
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, LabelValue)]
#[label(rename_all = "lowercase")]
enum Queue {
    Mail,
    Sms,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct ByQueue {
    queue: Queue,
}

promdecl::metrics! {
    /// Declared summaries with quantiles.
    #[metrics(namespace = "quantile_test")]
    pub mod declared {
        /// Request latency.
        #[quantiles((0.5, 0.05), (0.9, 0.01), (0.99, 0.001))]
        pub static REQUEST_SECONDS: Summary;
        /// Delivery latency by queue, over a one-minute window.
        #[metric(quantiles = [(0.5, 0.05), (0.95, 0.005)], max_age_seconds = 60, age_buckets = 3)]
        pub static DELIVERY_SECONDS: Summary<ByQueue>;
        /// A summary without quantiles.
        pub static PLAIN_SECONDS: Summary;
    }
}

#[derive(Metrics)]
#[metrics(namespace = "derived")]
struct Worker {
    /// Task latency.
    #[metric(quantiles = [(0.5, 1e-2), (1, 0.001)])]
    task_seconds: Summary,
}

#[test]
fn declared_quantiles() {
    let data = uniform(10_000, 41);
    for &v in &data {
        declared::REQUEST_SECONDS.observe(v);
        declared::DELIVERY_SECONDS.labels(&ByQueue { queue: Queue::Sms }).observe(v * 2.0);
        declared::PLAIN_SECONDS.observe(v);
    }
    assert_within_bounds("metrics!", &data, &OBJECTIVES, &declared::REQUEST_SECONDS.quantiles());
    let doubled: Vec<f64> = data.iter().map(|v| v * 2.0).collect();
    let sms = declared::DELIVERY_SECONDS.labels(&ByQueue { queue: Queue::Sms }).quantiles();
    assert_within_bounds("metrics! labelled", &doubled, &[(0.5, 0.05), (0.95, 0.005)], &sms);
    assert!(declared::PLAIN_SECONDS.quantiles().is_empty());
    let text = encode_to_string(&default_registry(), Format::TEXT);
    assert!(text.contains("quantile_test_request_seconds{quantile=\"0.99\"} "), "{text}");
    assert!(text.contains("quantile_test_delivery_seconds{queue=\"sms\",quantile=\"0.95\"} "), "{text}");
    assert!(!text.contains("quantile_test_plain_seconds{"), "{text}");

    let worker = Worker::new();
    for &v in &data {
        worker.task_seconds.observe(v);
    }
    let max = data.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(worker.task_seconds.quantiles()[1], (1.0, max));
    assert_within_bounds("derive", &data, &[(0.5, 0.01), (1.0, 0.001)], &worker.task_seconds.quantiles());
}

#[test]
fn declared_labelled_child_starts_empty() {
    let mail = declared::DELIVERY_SECONDS.labels(&ByQueue { queue: Queue::Mail });
    assert!(mail.quantiles().iter().all(|(_, v)| v.is_nan()));
    mail.observe(4.0);
    assert_eq!(mail.quantiles(), vec![(0.5, 4.0), (0.95, 4.0)]);
}

#[test]
fn invalid_objectives_are_typed_errors() {
    let build = |objectives: &[(f64, f64)]| {
        Summary::builder("bad_seconds", "Bad.").quantiles(objectives.iter().copied()).build().unwrap_err()
    };
    let reason = |e: Error| match e {
        Error::InvalidQuantiles { metric, reason } => {
            assert_eq!(metric, "bad_seconds");
            reason
        }
        other => panic!("expected InvalidQuantiles, got {other:?}"),
    };
    assert_eq!(reason(build(&[(1.5, 0.01)])), QuantileError::QuantileOutOfRange { quantile: 1.5 });
    assert_eq!(reason(build(&[(-0.1, 0.01)])), QuantileError::QuantileOutOfRange { quantile: -0.1 });
    assert!(matches!(reason(build(&[(f64::NAN, 0.01)])), QuantileError::QuantileOutOfRange { .. }));
    assert_eq!(reason(build(&[(0.5, 0.0)])), QuantileError::ErrorOutOfRange { quantile: 0.5, error: 0.0 });
    assert_eq!(reason(build(&[(0.5, 1.0)])), QuantileError::ErrorOutOfRange { quantile: 0.5, error: 1.0 });
    assert_eq!(reason(build(&[(0.5, -0.01)])), QuantileError::ErrorOutOfRange { quantile: 0.5, error: -0.01 });
    assert_eq!(reason(build(&[(0.9, 0.01), (0.9, 0.001)])), QuantileError::DuplicateQuantile { quantile: 0.9 });

    let with = |b: promdecl::Builder<Summary>| reason(b.build().unwrap_err());
    let base = || Summary::builder("bad_seconds", "Bad.");
    assert_eq!(with(base().quantiles(OBJECTIVES).max_age(Duration::ZERO)), QuantileError::ZeroMaxAge);
    assert_eq!(with(base().quantiles(OBJECTIVES).age_buckets(0)), QuantileError::ZeroAgeBuckets);
    assert_eq!(
        with(base().quantiles(OBJECTIVES).max_age(Duration::from_nanos(4)).age_buckets(5)),
        QuantileError::MaxAgeTooShort
    );
    assert_eq!(with(base().max_age(Duration::from_secs(60))), QuantileError::WindowWithoutQuantiles);
    assert_eq!(with(base().age_buckets(3)), QuantileError::WindowWithoutQuantiles);
    assert_eq!(with(base().quantile_clock(ManualClock::new())), QuantileError::WindowWithoutQuantiles);

    let message = build(&[(0.5, 2.0)]).to_string();
    assert!(message.contains("bad_seconds") && message.contains("allowed error 2"), "{message}");
    // An empty list is a plain summary.
    assert!(Summary::builder("ok", "Ok.").quantiles([]).build().unwrap().quantiles().is_empty());
}

#[test]
fn observing_while_scraping() {
    const THREADS: u64 = 3;
    const PER_THREAD: u64 = 150_000;
    let r = Arc::new(Registry::new());
    let s = Summary::builder("busy_seconds", "Busy.").quantiles(OBJECTIVES).register(&r).unwrap();
    let labelled: Summary<DynLabels> = Summary::builder("busy_by_thread_seconds", "Busy.")
        .labels(["thread"])
        .quantiles(OBJECTIVES)
        .register(&r)
        .unwrap();
    // Thread t observes t, t + THREADS, t + 2 * THREADS, ...: together
    // every integer below THREADS * PER_THREAD once.
    let done = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (r, done) = (Arc::clone(&r), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut scrapes = 0;
            let mut last_count = 0.0;
            while !done.load(Ordering::Relaxed) || scrapes < 3 {
                let text = encode_to_string(&*r, Format::OPENMETRICS);
                let families = promdecl::parse_openmetrics(&text).expect("every scrape parses");
                assert_eq!(families.len(), 2);
                let count = r.get_sample_value("busy_seconds_count", &[]).unwrap();
                assert!(count >= last_count, "count went down: {last_count} -> {count}");
                last_count = count;
                for q in ["0.5", "0.9", "0.99"] {
                    let v = r.get_sample_value("busy_seconds", &[("quantile", q)]).unwrap();
                    assert!(v.is_nan() || (0.0..(THREADS * PER_THREAD) as f64).contains(&v), "q={q}: {v}");
                }
                scrapes += 1;
            }
            scrapes
        })
    };
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (s, labelled) = (s.clone(), labelled.clone());
            std::thread::spawn(move || {
                let name = t.to_string();
                let child = labelled.with_label_values(&[name.as_str()]).unwrap().handle();
                for i in 0..PER_THREAD {
                    let v = (t + i * THREADS) as f64;
                    s.observe(v);
                    child.observe(v);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let scrapes = scraper.join().unwrap();
    assert!(scrapes >= 3);
    let all: Vec<f64> = (0..THREADS * PER_THREAD).map(|v| v as f64).collect();
    assert_eq!(s.count(), THREADS * PER_THREAD);
    assert_within_bounds("all threads", &all, &OBJECTIVES, &s.quantiles());
    for t in 0..THREADS {
        let own: Vec<f64> = (0..PER_THREAD).map(|i| (t + i * THREADS) as f64).collect();
        let name = t.to_string();
        let got = labelled.with_label_values(&[name.as_str()]).unwrap().quantiles();
        assert_within_bounds(&format!("thread {t}"), &own, &OBJECTIVES, &got);
    }
}
