//! The hot-path cases of `hot_path.rs` as plain loops, one case and crate per
//! run, for counting instructions and mispredicted branches under
//! cachegrind (`scripts/instructions.sh` runs them and prints the table).
//!
//! Instruction counts do not move with where the linker places a loop, which
//! shifts criterion's times by up to a third between builds of the same
//! source; they show where a difference in time comes from.
//!
//! ```text
//! cargo bench --bench instructions -- <case> <crate> <iterations>
//! cargo bench --bench instructions              # lists the cases
//! ```

mod common;

use std::hint::black_box;

use common::*;

/// Every case and the crates it runs for.
const CASES: &[(&str, &[&str])] = &[
    ("counter_inc", &["promdecl", "prometheus", "prometheus-client", "measured"]),
    ("counter_fixed_labels", &["promdecl", "promdecl/unlabelled", "prometheus", "prometheus-client", "measured"]),
    ("counter_string_labels", &["promdecl", "prometheus", "prometheus-client", "measured"]),
    ("histogram_observe", &["promdecl", "prometheus", "prometheus-client", "measured"]),
    // One iteration is a whole scrape: run with small counts, such as
    // `N1=10 N2=60 scripts/instructions.sh scrape`.
    ("scrape", &["promdecl", "promdecl/openmetrics", "measured"]),
];

/// Runs `op` once per iteration with the iteration's index.
fn run(n: usize, mut op: impl FnMut(usize)) {
    for i in 0..n {
        op(black_box(i));
    }
}

fn counter_inc(krate: &str, n: usize) {
    match krate {
        "promdecl" => {
            let c = promdecl::Counter::builder("requests", "help").build().unwrap();
            run(n, |_| c.inc());
        }
        "prometheus" => {
            let c = prometheus::IntCounter::new("requests_total", "help").unwrap();
            run(n, |_| c.inc());
        }
        "prometheus-client" => {
            let c: prometheus_client::metrics::counter::Counter = Default::default();
            run(n, |_| {
                c.inc();
            });
        }
        "measured" => {
            let c = measured::Counter::new();
            run(n, |_| c.inc());
        }
        _ => unknown(krate),
    }
}

fn counter_fixed_labels(krate: &str, n: usize) {
    let seq = seq_method_status();
    match krate {
        "promdecl" => {
            let c = promdecl::Counter::builder("requests", "help").label_set::<ours::MethodStatus>().build().unwrap();
            run(n, |i| {
                let (m, s) = seq[i & MASK];
                c.labels(&ours::MethodStatus { method: ours::M[m as usize], status: ours::S[s as usize] }).inc();
            });
        }
        "promdecl/unlabelled" => {
            let c = promdecl::Counter::builder("requests", "help").build().unwrap();
            run(n, |i| {
                black_box(seq[i & MASK]);
                c.inc();
            });
        }
        "prometheus" => {
            let c =
                prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "help"), &["method", "status"])
                    .unwrap();
            run(n, |i| {
                let (m, s) = seq[i & MASK];
                c.with_label_values(&[METHODS[m as usize], STATUSES[s as usize]]).inc();
            });
        }
        "prometheus-client" => {
            let c = prometheus_client::metrics::family::Family::<
                pc::MethodStatus,
                prometheus_client::metrics::counter::Counter,
            >::default();
            run(n, |i| {
                let (m, s) = seq[i & MASK];
                c.get_or_create(&pc::MethodStatus { method: pc::M[m as usize], status: pc::S[s as usize] }).inc();
            });
        }
        "measured" => {
            let c = measured::CounterVec::with_label_set(meas::MethodStatusSet::new());
            run(n, |i| {
                let (m, s) = seq[i & MASK];
                c.inc(meas::MethodStatus { method: meas::M[m as usize], status: meas::S[s as usize] });
            });
        }
        _ => unknown(krate),
    }
}

fn counter_string_labels(krate: &str, n: usize) {
    let (seq, paths) = (seq_method_path(), paths());
    match krate {
        "promdecl" => {
            let c = promdecl::Counter::builder("requests", "help").labels(["method", "path"]).build().unwrap();
            run(n, |i| {
                let (m, p) = seq[i & MASK];
                c.with_label_values(&[METHODS[m as usize], paths[p as usize].as_str()]).unwrap().inc();
            });
        }
        "prometheus" => {
            let c =
                prometheus::IntCounterVec::new(prometheus::Opts::new("requests_total", "help"), &["method", "path"])
                    .unwrap();
            run(n, |i| {
                let (m, p) = seq[i & MASK];
                c.with_label_values(&[METHODS[m as usize], paths[p as usize].as_str()]).inc();
            });
        }
        "prometheus-client" => {
            let c = prometheus_client::metrics::family::Family::<
                pc::MethodPath,
                prometheus_client::metrics::counter::Counter,
            >::default();
            run(n, |i| {
                let (m, p) = seq[i & MASK];
                c.get_or_create(&pc::MethodPath {
                    method: METHODS[m as usize].to_owned(),
                    path: paths[p as usize].clone(),
                })
                .inc();
            });
        }
        "measured" => {
            let c = measured::CounterVec::with_label_set(meas::dyn_set());
            run(n, |i| {
                let (m, p) = seq[i & MASK];
                c.inc(meas::MethodPath { method: METHODS[m as usize], path: paths[p as usize].as_str() });
            });
        }
        _ => unknown(krate),
    }
}

/// The scrape case of `scrape.rs` and `neutral.rs`: 10,000 counter series
/// and 1,000 histogram series, encoded into a reused buffer.
fn scrape(krate: &str, n: usize) {
    use common::scrape::*;
    match krate {
        "promdecl" | "promdecl/openmetrics" => {
            let format = match krate {
                "promdecl" => promdecl::encode::Format::TEXT,
                _ => promdecl::encode::Format::OPENMETRICS,
            };
            let registry = ours_registry();
            let mut buf = Vec::new();
            run(n, |_| {
                buf.clear();
                promdecl::encode::encode(black_box(&registry), format, &mut buf);
                black_box(buf.len());
            });
        }
        "measured" => {
            use measured::MetricGroup as _;
            let group = meas_group();
            let mut enc = measured::text::BufferedTextEncoder::new();
            run(n, |_| {
                black_box(&group).collect_group_into(&mut enc).unwrap();
                black_box(enc.finish().len());
            });
        }
        _ => unknown(krate),
    }
}

fn histogram_observe(krate: &str, n: usize) {
    let vals = seq_values();
    match krate {
        "promdecl" => {
            let h = promdecl::Histogram::builder("latency_seconds", "help").buckets(GO_BUCKETS).build().unwrap();
            run(n, |i| h.observe(vals[i & MASK]));
        }
        "prometheus" => {
            let h =
                prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("latency_seconds", "help")).unwrap();
            run(n, |i| h.observe(vals[i & MASK]));
        }
        "prometheus-client" => {
            let h = pc::go_histogram();
            run(n, |i| h.observe(vals[i & MASK]));
        }
        "measured" => {
            let h = measured::Histogram::with_metadata(meas::go_thresholds());
            run(n, |i| h.observe(vals[i & MASK]));
        }
        _ => unknown(krate),
    }
}

fn unknown(krate: &str) -> ! {
    eprintln!("unknown crate {krate:?}");
    std::process::exit(2)
}

fn main() {
    // `cargo bench` adds `--bench`; the rest is <case> <crate> <iterations>.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let [case, krate, n] = &args[..] else {
        for (case, crates) in CASES {
            println!("{case}: {}", crates.join(" "));
        }
        return;
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("iterations must be a whole number, not {n:?}");
        std::process::exit(2)
    };
    match case.as_str() {
        "counter_inc" => counter_inc(krate, n),
        "counter_fixed_labels" => counter_fixed_labels(krate, n),
        "counter_string_labels" => counter_string_labels(krate, n),
        "histogram_observe" => histogram_observe(krate, n),
        "scrape" => scrape(krate, n),
        _ => {
            eprintln!("unknown case {case:?}; run without arguments for the list");
            std::process::exit(2)
        }
    }
}
