//! The registry: series-name collisions, unregistering, restricted views,
//! `target_info`, sample lookup and custom collectors.

use promdecl::encode::{encode_to_string, Format, MetricEncoder};
use promdecl::registry::FamilyDesc;
use promdecl::{
    Collector, Counter, CounterFamily, DynLabels, Error, Gauge, GaugeFamily, Histogram, Info, MetricType, Registry,
    Summary,
};

/// Asserts `err` is a collision on `series` between `new` and `existing`,
/// and that its message names both families.
#[track_caller]
fn assert_duplicate(err: Error, series: &str, new: &str, existing: &str) {
    let msg = err.to_string();
    match err {
        Error::DuplicateSeries { series: s, new: n, existing: e } => {
            assert_eq!((s.as_str(), n.as_str(), e.as_str()), (series, new, existing), "{msg}");
        }
        other => panic!("expected DuplicateSeries, got {other:?}"),
    }
    assert!(msg.contains(&format!("{new:?}")) && msg.contains(&format!("{existing:?}")), "{msg}");
}

#[test]
fn gauge_named_like_counter_total_collides() {
    let r = Registry::new();
    Counter::builder("requests", "R.").register(&r).unwrap();
    let err = Gauge::builder("requests_total", "G.").register(&r).unwrap_err();
    assert_duplicate(err, "requests_total", "requests_total", "requests");

    let r = Registry::new();
    Gauge::builder("requests_total", "G.").register(&r).unwrap();
    let err = Counter::builder("requests", "R.").register(&r).unwrap_err();
    assert_duplicate(err, "requests_total", "requests", "requests_total");
}

#[test]
fn counter_created_is_reserved() {
    let r = Registry::new();
    Counter::builder("requests", "R.").register(&r).unwrap();
    let err = Gauge::builder("requests_created", "G.").register(&r).unwrap_err();
    assert_duplicate(err, "requests_created", "requests_created", "requests");
}

#[test]
fn gauge_named_like_histogram_bucket_collides() {
    let r = Registry::new();
    Histogram::builder("lat", "L.").register(&r).unwrap();
    for name in ["lat", "lat_bucket", "lat_sum", "lat_count", "lat_created"] {
        let err = Gauge::builder(name, "G.").register(&r).unwrap_err();
        assert_duplicate(err, name, name, "lat");
    }
    // Not reserved by a histogram.
    Gauge::builder("lat_total", "G.").register(&r).unwrap();
}

#[test]
fn summary_and_info_reserve_their_suffixes() {
    let r = Registry::new();
    Summary::builder("s", "S.").register(&r).unwrap();
    Info::builder("i", "I.").register(&r).unwrap();
    for (name, owner) in [("s_sum", "s"), ("s_count", "s"), ("s_created", "s"), ("i", "i"), ("i_info", "i")] {
        let err = Gauge::builder(name, "G.").register(&r).unwrap_err();
        assert_duplicate(err, name, name, owner);
    }
    // A summary has no buckets.
    Gauge::builder("s_bucket", "G.").register(&r).unwrap();
}

#[test]
fn same_family_twice_collides_and_registers_nothing() {
    let r = Registry::new();
    let c = Counter::builder("jobs", "J.").build().unwrap();
    r.register(c.clone()).unwrap();
    assert!(matches!(r.register(c.clone()).unwrap_err(), Error::DuplicateSeries { .. }));
    c.inc();
    // Exposed once, not twice.
    assert_eq!(encode_to_string(&r, Format::TEXT), "# HELP jobs_total J.\n# TYPE jobs_total counter\njobs_total 1\n");
}

#[test]
fn failed_registration_reserves_no_names() {
    // A collector exposing two families, the second of which collides.
    struct Two;
    impl Collector for Two {
        fn collect(&self, enc: &mut dyn MetricEncoder) {
            GaugeFamily::new("fresh", "F.", &[]).encode(enc);
            GaugeFamily::new("taken", "T.", &[]).encode(enc);
        }
    }
    let r = Registry::new();
    Gauge::builder("taken", "T.").register(&r).unwrap();
    assert!(r.register(Two).is_err());
    // `fresh` must still be free.
    Gauge::builder("fresh", "F.").register(&r).unwrap();
}

#[test]
fn unregister_then_register_again() {
    let r = Registry::new();
    let c = Counter::builder("requests", "R.").build().unwrap();
    let id = r.register(c.clone()).unwrap();
    c.inc();
    r.unregister(id).unwrap();
    assert_eq!(encode_to_string(&r, Format::TEXT), "");
    assert_eq!(r.get_sample_value("requests_total", &[]), None);
    assert!(matches!(r.unregister(id), Err(Error::NotRegistered)));

    // All of its names are free again, for anyone.
    let g = Gauge::builder("requests_total", "G.").register(&r).unwrap();
    g.set(5.0);
    assert_eq!(r.get_sample_value("requests_total", &[]), Some(5.0));

    let r2 = Registry::new();
    let id = r2.register(c.clone()).unwrap();
    r2.unregister(id).unwrap();
    r2.register(c).unwrap();
    assert_eq!(r2.get_sample_value("requests_total", &[]), Some(1.0));
}

#[test]
fn a_metric_registered_through_its_builder_can_be_unregistered() {
    let r = Registry::new();
    let (c, id) = Counter::builder("jobs", "J.").labels(["queue"]).register_with_id(&r).unwrap();
    c.with_label_values(&["mail"]).unwrap().inc();
    assert_eq!(r.get_sample_value("jobs_total", &[("queue", "mail")]), Some(1.0));
    r.unregister(id).unwrap();
    assert_eq!(encode_to_string(&r, Format::TEXT), "");
    // The metric still counts; it is only no longer scraped here.
    c.with_label_values(&["mail"]).unwrap().inc();
    r.register(c).unwrap();
    assert_eq!(r.get_sample_value("jobs_total", &[("queue", "mail")]), Some(2.0));
}

#[test]
fn unregister_leaves_other_collectors_names_alone() {
    let r = Registry::new();
    let a = r.register(Counter::builder("a", "A.").build().unwrap()).unwrap();
    r.register(Counter::builder("b", "B.").build().unwrap()).unwrap();
    r.unregister(a).unwrap();
    assert!(Gauge::builder("b_total", "G.").register(&r).is_err());
    Gauge::builder("a_total", "G.").register(&r).unwrap();
}

fn restricted_fixture() -> Registry {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("requests", "R.").labels(["code"]).register(&r).unwrap();
    c.with_label_values(&["200"]).unwrap().inc_by_u64(2);
    let h = Histogram::builder("lat", "L.").buckets([1.0]).register(&r).unwrap();
    h.observe(0.5);
    Gauge::builder("g", "G.").register(&r).unwrap().set(3.0);
    r
}

#[test]
fn restricted_selects_by_sample_name() {
    let r = restricted_fixture();
    let text = |names: &[&str]| encode_to_string(&r.restricted(names.iter().copied()), Format::TEXT);

    assert_eq!(
        text(&["requests_total"]),
        "# HELP requests_total R.\n# TYPE requests_total counter\nrequests_total{code=\"200\"} 2\n"
    );
    assert_eq!(
        text(&["lat_bucket"]),
        "# HELP lat L.\n# TYPE lat histogram\nlat_bucket{le=\"1.0\"} 1\nlat_bucket{le=\"+Inf\"} 1\n"
    );
    assert_eq!(
        text(&["lat_count", "g"]),
        "# HELP lat L.\n# TYPE lat histogram\nlat_count 1\n# HELP g G.\n# TYPE g gauge\ng 3.0\n"
    );
    assert_eq!(text(&["nothing_like_this"]), "");
    assert_eq!(text(&[]), "");
}

#[test]
fn restricted_family_name_alone_selects_no_samples() {
    // As in the Python client: `requests` and `lat` are family names, not
    // sample names, so they select nothing at all, not even a header.
    let r = restricted_fixture();
    for names in [&["requests"][..], &["lat"]] {
        assert_eq!(encode_to_string(&r.restricted(names.iter().copied()), Format::TEXT), "", "{names:?}");
        assert_eq!(encode_to_string(&r.restricted(names.iter().copied()), Format::OPENMETRICS), "# EOF\n", "{names:?}");
    }
    // The text format has no `_created` samples, so selecting them leaves no
    // family behind (OpenMetrics has them: see the next test).
    assert_eq!(encode_to_string(&r.restricted(["requests_created"]), Format::TEXT), "");
}

#[test]
fn restricted_openmetrics_created() {
    let r = restricted_fixture();
    let om = encode_to_string(&r.restricted(["requests_created"]), Format::OPENMETRICS);
    let lines: Vec<&str> = om.lines().collect();
    assert_eq!(lines[..2], ["# HELP requests R.", "# TYPE requests counter"], "{om}");
    assert!(lines[2].starts_with("requests_created{code=\"200\"} "), "{om}");
    assert_eq!(lines[3..], ["# EOF"], "{om}");
}

#[test]
fn restricted_target_info() {
    let r = restricted_fixture();
    r.set_target_info(Some(&[("env", "prod")])).unwrap();
    assert_eq!(
        encode_to_string(&r.restricted(["target_info"]), Format::TEXT),
        "# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{env=\"prod\"} 1\n"
    );
    assert_eq!(encode_to_string(&r.restricted(["g"]), Format::TEXT), "# HELP g G.\n# TYPE g gauge\ng 3.0\n");
}

#[test]
fn target_info_set_replace_unset() {
    let r = Registry::new();
    assert_eq!(r.target_info(), None);
    r.set_target_info(Some(&[("env", "prod"), ("region", "eu")])).unwrap();
    assert_eq!(r.get_sample_value("target_info", &[("region", "eu"), ("env", "prod")]), Some(1.0));
    assert_eq!(
        r.target_info(),
        Some(vec![("env".to_owned(), "prod".to_owned()), ("region".to_owned(), "eu".to_owned())])
    );

    r.set_target_info(Some(&[("env", "dev")])).unwrap();
    assert_eq!(r.get_sample_value("target_info", &[("env", "dev")]), Some(1.0));
    assert_eq!(r.get_sample_value("target_info", &[("env", "prod"), ("region", "eu")]), None);

    r.set_target_info(None).unwrap();
    assert_eq!(r.target_info(), None);
    assert_eq!(encode_to_string(&r, Format::TEXT), "");

    // An empty label set unsets it too, as a falsy dict does in Python.
    r.set_target_info(Some(&[("env", "dev")])).unwrap();
    r.set_target_info(Some(&[])).unwrap();
    assert_eq!(encode_to_string(&r, Format::OPENMETRICS), "# EOF\n");
}

#[test]
fn target_info_refuses_invalid_label_names() {
    let r = Registry::new();
    assert!(matches!(r.set_target_info(Some(&[("bad name", "x")])), Err(Error::InvalidLabelName { .. })));
    assert!(matches!(r.set_target_info(Some(&[("__reserved", "x")])), Err(Error::InvalidLabelName { .. })));
    assert_eq!(r.target_info(), None);
}

#[test]
fn target_info_collides_with_metrics() {
    // target_info first, then a metric exposing the same series.
    let r = Registry::new();
    r.set_target_info(Some(&[("env", "prod")])).unwrap();
    let err = Gauge::builder("target_info", "G.").register(&r).unwrap_err();
    assert_duplicate(err, "target_info", "target_info", "target");
    let err = Info::builder("target", "I.").register(&r).unwrap_err();
    assert_duplicate(err, "target_info", "target", "target");

    // The metric first, then target_info.
    let r = Registry::new();
    let id = r.register(Gauge::builder("target_info", "G.").build().unwrap()).unwrap();
    let err = r.set_target_info(Some(&[("env", "prod")])).unwrap_err();
    assert_duplicate(err, "target_info", "target", "target_info");
    assert_eq!(r.target_info(), None);
    // Unsetting never fails, and after unregistering the gauge it can be set.
    r.set_target_info(None).unwrap();
    r.unregister(id).unwrap();
    r.set_target_info(Some(&[("env", "prod")])).unwrap();

    // Once unset, the name is free for a metric again.
    r.set_target_info(None).unwrap();
    Gauge::builder("target_info", "G.").register(&r).unwrap();
}

#[test]
fn get_sample_value_matches_labels_in_any_order_and_exactly() {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("requests", "R.").labels(["method", "code"]).register(&r).unwrap();
    c.with_label_values(&["get", "200"]).unwrap().inc_by_u64(3);
    c.with_label_values(&["post", "500"]).unwrap().inc_by(1.5).unwrap();
    let h: Histogram<DynLabels> = Histogram::builder("lat", "L.").labels(["op"]).buckets([1.0]).register(&r).unwrap();
    h.with_label_values(&["read"]).unwrap().observe(0.5);

    assert_eq!(r.get_sample_value("requests_total", &[("method", "get"), ("code", "200")]), Some(3.0));
    assert_eq!(r.get_sample_value("requests_total", &[("code", "200"), ("method", "get")]), Some(3.0));
    assert_eq!(r.get_sample_value("requests_total", &[("code", "500"), ("method", "post")]), Some(1.5));
    // The sample name, not the family name; the full label set, nothing more.
    assert_eq!(r.get_sample_value("requests", &[("method", "get"), ("code", "200")]), None);
    assert_eq!(r.get_sample_value("requests_total", &[("method", "get")]), None);
    assert_eq!(r.get_sample_value("requests_total", &[("method", "get"), ("code", "200"), ("x", "y")]), None);
    assert_eq!(r.get_sample_value("requests_total", &[("method", "get"), ("code", "500")]), None);
    assert!(r.get_sample_value("requests_created", &[("method", "get"), ("code", "200")]).unwrap() > 1.0e9);

    assert_eq!(r.get_sample_value("lat_bucket", &[("op", "read"), ("le", "1.0")]), Some(1.0));
    assert_eq!(r.get_sample_value("lat_bucket", &[("le", "+Inf"), ("op", "read")]), Some(1.0));
    assert_eq!(r.get_sample_value("lat_bucket", &[("op", "read"), ("le", "1")]), None);
    assert_eq!(r.get_sample_value("lat_bucket", &[("op", "read")]), None);
    assert_eq!(r.get_sample_value("lat_count", &[("op", "read")]), Some(1.0));
    assert_eq!(r.get_sample_value("lat_sum", &[("op", "read")]), Some(0.5));
}

#[test]
fn get_sample_value_does_not_confuse_prefixed_families() {
    let r = Registry::new();
    Gauge::builder("a", "A.").register(&r).unwrap().set(1.0);
    Gauge::builder("a_b", "AB.").register(&r).unwrap().set(2.0);
    assert_eq!(r.get_sample_value("a_b", &[]), Some(2.0));
    assert_eq!(r.get_sample_value("a", &[]), Some(1.0));
}

/// A collector producing families at scrape time, as the Python client's
/// custom collectors do.
struct Disk {
    used: f64,
}

impl Collector for Disk {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        let mut used = GaugeFamily::new("disk_used_bytes", "Used.", &["mount"]);
        used.add_metric(&["/"], self.used, None);
        used.add_metric(&["/home"], 2.0 * self.used, None);
        used.encode(enc);
        let mut errors = CounterFamily::new("disk_errors_total", "Errors.", &[]);
        errors.add_metric(&[], 3.0, None, None);
        errors.encode(enc);
    }
}

#[test]
fn custom_collector_is_scraped_and_checked_for_collisions() {
    let r = Registry::new();
    let id = r.register(Disk { used: 10.0 }).unwrap();
    assert_eq!(
        encode_to_string(&r, Format::TEXT),
        "# HELP disk_used_bytes Used.\n# TYPE disk_used_bytes gauge\n\
         disk_used_bytes{mount=\"/\"} 10.0\ndisk_used_bytes{mount=\"/home\"} 20.0\n\
         # HELP disk_errors_total Errors.\n# TYPE disk_errors_total counter\ndisk_errors_total 3.0\n"
    );
    assert_eq!(r.get_sample_value("disk_used_bytes", &[("mount", "/home")]), Some(20.0));
    assert_eq!(r.get_sample_value("disk_errors_total", &[]), Some(3.0));

    // Its default describe() collected once, so its names are reserved.
    let err = Counter::builder("disk_errors", "E.").register(&r).unwrap_err();
    assert_duplicate(err, "disk_errors", "disk_errors", "disk_errors");
    let err = Gauge::builder("disk_used_bytes", "G.").register(&r).unwrap_err();
    assert_duplicate(err, "disk_used_bytes", "disk_used_bytes", "disk_used_bytes");
    assert!(r.register(Disk { used: 1.0 }).is_err());

    r.unregister(id).unwrap();
    r.register(Disk { used: 1.0 }).unwrap();
}

#[test]
fn collector_with_empty_describe_is_not_checked() {
    struct Opaque;
    impl Collector for Opaque {
        fn collect(&self, enc: &mut dyn MetricEncoder) {
            let mut g = GaugeFamily::new("opaque", "O.", &[]);
            g.add_metric(&[], 1.0, None);
            g.encode(enc);
        }
        fn describe(&self) -> Vec<FamilyDesc> {
            Vec::new()
        }
    }
    let r = Registry::new();
    r.register(Opaque).unwrap();
    r.register(Opaque).unwrap();
    assert_eq!(r.get_sample_value("opaque", &[]), Some(1.0));
}

#[test]
fn describe_lists_series_names() {
    assert_eq!(
        FamilyDesc::new("lat", MetricType::Histogram).series_names(),
        ["lat", "lat_bucket", "lat_sum", "lat_count", "lat_created"]
    );
    assert_eq!(
        FamilyDesc::new("q", MetricType::GaugeHistogram).series_names(),
        ["q", "q_bucket", "q_gsum", "q_gcount"]
    );
    assert_eq!(FamilyDesc::new("e", MetricType::StateSet).series_names(), ["e"]);
    let c = Counter::builder("jobs_total", "J.").build().unwrap();
    assert_eq!(c.describe(), vec![FamilyDesc::new("jobs", MetricType::Counter)]);
}

#[test]
fn collector_may_scrape_and_register_during_collect() {
    // Collecting works from a snapshot, so a collector can use the registry
    // it is registered in without deadlocking.
    struct Reentrant(&'static Registry);
    thread_local!(static INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    impl Collector for Reentrant {
        fn collect(&self, enc: &mut dyn MetricEncoder) {
            // The inner scrape sees this collector too: stop the recursion there.
            if INSIDE.with(|i| i.replace(true)) {
                return;
            }
            let inner = encode_to_string(self.0, Format::TEXT);
            INSIDE.with(|i| i.set(false));
            let mut g = GaugeFamily::new("inner_len", "L.", &[]);
            g.add_metric(&[], inner.len() as f64, None);
            g.encode(enc);
            let _ = Gauge::builder("late", "L.").register(self.0);
        }
    }
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    r.register(Reentrant(r)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(encode_to_string(r, Format::TEXT)).unwrap());
    let text = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("scrape deadlocked");
    assert!(text.contains("# TYPE inner_len gauge\n"), "{text}");
}
