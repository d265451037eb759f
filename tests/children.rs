//! Labelled children: the same operations as the unlabelled metric, looked
//! up from values made at run time, shown at zero as soon as they are looked
//! up, and following their labels when removed meanwhile.

use promdecl::encode::{encode_to_string, Format};
use promdecl::{Counter, DynLabels, Error, Gauge, Histogram, Info, LabelSet, Registry, ShardedCounter, Summary};

/// A label set of open (string) values: map storage.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Route {
    method: &'static str,
    path: &'static str,
}

impl LabelSet for Route {
    const NAMES: &'static [&'static str] = &["method", "path"];
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        f(self.method);
        f(self.path);
    }
}

/// Values known only at run time, as a request handler has them.
fn request(i: usize) -> (String, String) {
    (["GET", "POST"][i % 2].to_owned(), format!("/items/{i}"))
}

#[test]
fn a_child_from_run_time_values_can_be_kept_in_a_variable() -> Result<(), Error> {
    let registry = Registry::new();
    let requests = Counter::builder("requests", "Requests.").labels(["method", "path"]).register(&registry)?;
    for i in 0..4 {
        let (method, path) = request(i);
        let child = requests.with_label_values(&[method.as_str(), path.as_str()])?;
        child.inc();
        child.inc_by(0.5)?;
        let by_name = requests.with_labels(&[("path", path.as_str()), ("method", method.as_str())])?;
        by_name.inc();
        let checked = requests.try_with_label_values(&[method.as_str(), path.as_str()])?;
        checked.inc_by_u64(2);
        assert_eq!(child.get(), 4.5);
    }
    assert_eq!(requests.len(), 4);
    assert_eq!(registry.get_sample_value("requests_total", &[("method", "POST"), ("path", "/items/3")]), Some(4.5));

    // A label set made in the same statement, dropped before the child
    // is used.
    let latency = Histogram::builder("latency_seconds", "L.").buckets([0.1, 1.0]).label_set::<OwnedRoute>();
    let latency = latency.register(&registry)?;
    let (method, path) = request(5);
    let child = latency.labels(&OwnedRoute { method, path });
    child.observe(0.5);
    assert_eq!(child.bucket_counts(), vec![0, 1, 1]);
    Ok(())
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct OwnedRoute {
    method: String,
    path: String,
}

impl LabelSet for OwnedRoute {
    const NAMES: &'static [&'static str] = &["method", "path"];
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        f(&self.method);
        f(&self.path);
    }
}

#[test]
fn children_looked_up_by_value_are_exposed_at_zero_at_once() -> Result<(), Error> {
    let registry = Registry::new();
    let requests = Counter::builder("requests", "Requests.").labels(["method"]).register(&registry)?;
    let latency =
        Histogram::builder("latency_seconds", "Latency.").buckets([0.5]).labels(["op"]).register(&registry)?;
    let routes = Gauge::builder("routes", "Routes.").label_set::<Route>().register(&registry)?;
    let by_name = Summary::builder("sizes", "Sizes.").labels(["kind"]).register(&registry)?;
    let bounded = Counter::builder("jobs", "Jobs.").labels(["queue"]).max_children(1).register(&registry)?;

    let _ = requests.with_label_values(&["GET"])?;
    let _ = bounded.try_with_label_values(&["mail"])?;
    let _ = latency.with_label_values(&["read"])?;
    let _ = routes.labels(&Route { method: "GET", path: "/" });
    let _ = by_name.with_labels(&[("kind", "blob")])?;

    assert_eq!(
        encode_to_string(&registry, Format::TEXT),
        "# HELP requests_total Requests.\n\
         # TYPE requests_total counter\n\
         requests_total{method=\"GET\"} 0\n\
         # HELP latency_seconds Latency.\n\
         # TYPE latency_seconds histogram\n\
         latency_seconds_bucket{op=\"read\",le=\"0.5\"} 0\n\
         latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 0\n\
         latency_seconds_count{op=\"read\"} 0\n\
         latency_seconds_sum{op=\"read\"} 0.0\n\
         # HELP routes Routes.\n\
         # TYPE routes gauge\n\
         routes{method=\"GET\",path=\"/\"} 0.0\n\
         # HELP sizes Sizes.\n\
         # TYPE sizes summary\n\
         sizes_count{kind=\"blob\"} 0\n\
         sizes_sum{kind=\"blob\"} 0.0\n\
         # HELP jobs_total Jobs.\n\
         # TYPE jobs_total counter\n\
         jobs_total{queue=\"mail\"} 0\n"
    );
    Ok(())
}

#[test]
fn a_kept_child_follows_its_labels_after_a_removal() -> Result<(), Error> {
    let registry = Registry::new();
    let c = Counter::builder("jobs", "Jobs.").labels(["queue"]).register(&registry)?;
    let queue = String::from("mail");
    let child = c.with_label_values(&[queue.as_str()])?;
    child.inc();
    assert!(c.remove_label_values(&["mail"])?);
    assert_eq!(registry.get_sample_value("jobs_total", &[("queue", "mail")]), None);
    // Recorded into the family's child for these labels, made again: not
    // into the removed one, where it would be lost.
    child.inc();
    assert_eq!(registry.get_sample_value("jobs_total", &[("queue", "mail")]), Some(1.0));
    assert_eq!(child.get(), 1.0);
    c.clear();
    child.inc_by(2.0)?;
    assert_eq!(registry.get_sample_value("jobs_total", &[("queue", "mail")]), Some(2.0));
    Ok(())
}

/// Every operation of a cell type is also an operation of its labelled
/// children: the lists are generated from one.
#[test]
fn labelled_children_have_the_operations_of_the_unlabelled_metric() -> Result<(), Error> {
    let registry = Registry::new();
    let sharded = ShardedCounter::builder("hits", "Hits.").labels(["shard"]).register(&registry)?;
    let child = sharded.with_label_values(&["a"])?;
    child.inc_by(2.5)?;
    assert!(child.inc_by(-1.0).is_err());
    child.inc_by_with_exemplar(1.0, &[("trace_id", "abc")])?;
    assert_eq!(child.exemplar().map(|e| e.value), Some(1.0));
    assert!(child.created() > 1.0e9);
    assert_eq!(registry.get_sample_value("hits_total", &[("shard", "a")]), Some(3.5));
    child.reset();
    assert_eq!(registry.get_sample_value("hits_total", &[("shard", "a")]), Some(0.0));
    assert!(child.exemplar().is_none());
    let r: Result<(), &str> = child.count_exceptions().check(Err("boom"));
    assert!(r.is_err());
    assert_eq!(child.get(), 1.0);

    let counter = Counter::builder("calls", "Calls.").labels(["op"]).register(&registry)?;
    let child = counter.with_label_values(&["read"])?;
    let created = child.created();
    assert!(created > 1.0e9);
    child.inc();
    child.reset();
    assert!(child.created() >= created);
    assert_eq!(child.get(), 0.0);

    let histogram = Histogram::builder("lat", "Lat.").buckets([0.1, 1.0]).labels(["op"]).register(&registry)?;
    let child = histogram.with_label_values(&["read"])?;
    child.observe(0.05);
    child.observe_with_exemplar(0.5, &[("trace_id", "t1")])?;
    assert_eq!(child.bucket_counts(), vec![1, 2, 2]);
    assert_eq!(child.bucket_exemplar(1).map(|e| e.value), Some(0.5));
    assert_eq!((child.count(), child.sum()), (2, 0.55));

    let gauge = Gauge::builder("depth", "Depth.").labels(["queue"]).register(&registry)?;
    let child = gauge.with_label_values(&["mail"])?;
    child.inc_by(3.0);
    child.dec_by(0.5);
    child.dec();
    assert_eq!(child.get(), 1.5);

    let info = Info::builder("build", "Build.").labels(["component"]).register(&registry)?;
    let child = info.with_label_values(&["api"])?;
    child.info(&[("version", "1.2")])?;
    assert_eq!(child.get(), vec![("version".to_owned(), "1.2".to_owned())]);
    Ok(())
}

/// Result exactly where the argument can break the metric's contract: a
/// counter never goes down, a gauge may go anywhere.
#[test]
fn fallible_exactly_where_the_argument_can_break_the_contract() -> Result<(), Error> {
    let counter = Counter::builder("c", "C.").build()?;
    assert!(matches!(counter.inc_by(-1.0), Err(Error::NegativeIncrement(_))));
    assert!(counter.inc_by(f64::NAN).is_err());
    counter.inc_by_u64(2);
    assert_eq!(counter.get(), 2.0);
    let gauge = Gauge::builder("g", "G.").build()?;
    gauge.inc_by(-1.0);
    gauge.dec_by(-3.0);
    assert_eq!(gauge.get(), 2.0);
    Ok(())
}

/// The names before the renaming still work, for one release.
#[test]
#[allow(deprecated)]
fn renamed_operations_keep_their_old_names() -> Result<(), Error> {
    let counter = Counter::builder("c", "C.").labels(["a"]).build()?;
    counter.with_label_values(&["x"])?.add(2);
    assert_eq!(counter.with_label_values(&["x"])?.get(), 2.0);
    let sharded = ShardedCounter::builder("s", "S.").build()?;
    sharded.add(3);
    assert_eq!(sharded.get(), 3.0);
    let gauge = Gauge::builder("g", "G.").build()?;
    gauge.add(5.0);
    gauge.sub(1.0);
    assert_eq!(gauge.get(), 4.0);
    let dyn_gauge: Gauge<DynLabels> = Gauge::builder("d", "D.").labels(["a"]).build()?;
    dyn_gauge.with_label_values(&["x"])?.add(1.0);
    assert_eq!(dyn_gauge.with_label_values(&["x"])?.get(), 1.0);
    Ok(())
}

/// Only what storage needs: a family keeps label values, never the set, so
/// a label set need not be `Clone`, `Eq`, `Hash`, `Send` or `Sync`.
struct Session {
    user: String,
    _not_sync: std::cell::Cell<u8>,
}

impl LabelSet for Session {
    const NAMES: &'static [&'static str] = &["user"];
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        f(&self.user);
    }
}

#[test]
fn a_label_set_needs_no_clone_eq_hash_or_sync() -> Result<(), Error> {
    let registry = Registry::new();
    let logins = Counter::builder("logins", "Logins.").label_set::<Session>().register(&registry)?;
    let session = |user: &str| Session { user: user.to_owned(), _not_sync: std::cell::Cell::new(0) };
    logins.labels(&session("ana")).inc();
    logins.labels(&session("ana")).inc();
    logins.try_labels(&session("bo"))?.inc();
    assert!(logins.remove(&session("bo")));
    assert_eq!(registry.get_sample_value("logins_total", &[("user", "ana")]), Some(2.0));
    assert_eq!(logins.len(), 1);
    Ok(())
}
