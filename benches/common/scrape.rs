//! The scrape case's fixtures: a 10,000-series counter family (labels method
//! and path) and a 1,000-series histogram family (label path, the 11 Go
//! default buckets), filled the same way in each crate.

use super::*;

pub fn ours_registry() -> promdecl::Registry {
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

pub fn prom_registry() -> prometheus::Registry {
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

pub fn pc_registry() -> prometheus_client::registry::Registry {
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
pub struct MeasuredScrape {
    /// help
    pub http_requests_total: measured::CounterVec<meas::MethodPathSet>,
    /// help
    pub http_latency_seconds: measured::HistogramVec<meas::PathSet, 11>,
}

pub fn meas_group() -> MeasuredScrape {
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
