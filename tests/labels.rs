//! Label sets: hand-written `LabelValue`/`LabelSet` impls with dense and map
//! storage, `DynLabels` by position and by name, removal, and the lookups
//! that must neither deadlock nor merge distinct series.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use promdecl::encode::{encode_to_string, Format};
use promdecl::{Counter, DynLabels, Error, Gauge, Histogram, LabelSet, LabelValue, Registry};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Method {
    Get,
    Post,
    Delete,
}

impl LabelValue for Method {
    const VALUES: Option<&'static [&'static str]> = Some(&["GET", "POST", "DELETE"]);
    fn dense_index(&self) -> usize {
        *self as usize
    }
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(Self::VALUES.unwrap()[self.dense_index()])
    }
}

/// A fixed-cardinality set (3 methods x 2 outcomes): dense storage.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Call {
    method: Method,
    ok: bool,
}

impl LabelSet for Call {
    const NAMES: &'static [&'static str] = &["method", "ok"];
    const CARDINALITY: Option<usize> = Some(6);
    fn dense_index(&self) -> usize {
        self.method.dense_index() * 2 + self.ok.dense_index()
    }
    fn visit_dense(index: usize, f: &mut dyn FnMut(&str)) {
        f(Method::VALUES.unwrap()[index / 2]);
        f(bool::VALUES.unwrap()[index % 2]);
    }
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        self.method.with_str(|s| f(s));
        self.ok.with_str(|s| f(s));
    }
}

/// An open set (any path): map storage.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Route {
    method: Method,
    path: String,
}

impl LabelSet for Route {
    const NAMES: &'static [&'static str] = &["method", "path"];
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        self.method.with_str(|s| f(s));
        self.path.with_str(|s| f(s));
    }
}

fn route(method: Method, path: &str) -> Route {
    Route { method, path: path.to_owned() }
}

/// Runs `f` on another thread and fails, instead of hanging, if it does not
/// finish in time (a deadlock).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("{what}: did not complete (deadlock?)"))
}

#[test]
fn dense_label_set_exposes_touched_children_in_index_order() {
    let r = Registry::new();
    let c = Counter::builder("calls", "Calls.").label_set::<Call>().register(&r).unwrap();
    assert_eq!(c.len(), 0);
    c.labels(&Call { method: Method::Delete, ok: true }).inc();
    c.labels(&Call { method: Method::Get, ok: false }).inc_by_u64(2);
    c.labels(&Call { method: Method::Get, ok: false }).inc();
    assert_eq!(c.len(), 2);
    assert_eq!(c.labels(&Call { method: Method::Get, ok: false }).get(), 3.0);
    assert_eq!(
        encode_to_string(&r, Format::TEXT),
        "# HELP calls_total Calls.\n# TYPE calls_total counter\n\
         calls_total{method=\"GET\",ok=\"false\"} 3\n\
         calls_total{method=\"DELETE\",ok=\"true\"} 1\n"
    );
    assert_eq!(r.get_sample_value("calls_total", &[("ok", "true"), ("method", "DELETE")]), Some(1.0));
}

#[test]
fn map_label_set() {
    let r = Registry::new();
    let h = Histogram::builder("req_seconds", "R.").label_set::<Route>().buckets([1.0]).register(&r).unwrap();
    h.labels(&route(Method::Get, "/a")).observe(0.5);
    h.labels(&route(Method::Get, "/a")).observe(2.0);
    h.labels(&route(Method::Post, "/a")).observe(0.1);
    assert_eq!(h.len(), 2);
    assert_eq!(h.labels(&route(Method::Get, "/a")).count(), 2);
    assert_eq!(
        r.get_sample_value("req_seconds_bucket", &[("method", "GET"), ("path", "/a"), ("le", "1.0")]),
        Some(1.0)
    );
    assert_eq!(r.get_sample_value("req_seconds_count", &[("method", "POST"), ("path", "/a")]), Some(1.0));
}

#[test]
fn dyn_labels_by_position_and_by_name() {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("requests", "R.").labels(["method", "code"]).register(&r).unwrap();
    c.with_label_values(&["GET", "200"]).unwrap().inc();
    c.with_labels(&[("code", "200"), ("method", "GET")]).unwrap().inc();
    c.with_labels(&[("method", "GET"), ("code", "200")]).unwrap().inc();
    c.labels(&DynLabels::new(["GET", "200"])).inc();
    assert_eq!(c.len(), 1);
    assert_eq!(c.with_label_values(&["GET", "200"]).unwrap().get(), 4.0);
    assert_eq!(r.get_sample_value("requests_total", &[("method", "GET"), ("code", "200")]), Some(4.0));
}

#[test]
fn dyn_labels_errors() {
    let c: Counter<DynLabels> = Counter::builder("requests", "R.").labels(["method", "code"]).build().unwrap();

    for values in [&[][..], &["GET"], &["GET", "200", "extra"]] {
        match c.with_label_values(values) {
            Err(Error::LabelCount { metric, expected, got, names }) => {
                assert_eq!(
                    (metric.as_str(), expected, got, names.as_str()),
                    ("requests", 2, values.len(), "method, code")
                );
            }
            Err(e) => panic!("{values:?}: expected LabelCount, got {e:?}"),
            Ok(_) => panic!("{values:?}: expected LabelCount, got a child"),
        }
        assert!(matches!(c.remove_label_values(values), Err(Error::LabelCount { .. })));
    }

    let err = c.with_labels(&[("method", "GET"), ("status", "200")]).err().expect("unknown label accepted");
    assert_eq!(
        err,
        Error::UnknownLabel { metric: "requests".into(), label: "status".into(), names: "method, code".into() }
    );
    assert!(err.to_string().contains("status") && err.to_string().contains("method, code"), "{err}");

    let err = c.with_labels(&[("method", "GET")]).err().expect("missing label accepted");
    assert_eq!(err, Error::MissingLabel { metric: "requests".into(), label: "code".into() });

    assert!(matches!(c.remove_by_labels(&[("nope", "x")]), Err(Error::UnknownLabel { .. })));
    // Nothing was created by the failed lookups.
    assert_eq!(c.len(), 0);
}

#[test]
fn invalid_label_names_are_refused() {
    for names in [&["__reserved"][..], &["1abc"], &["a b"], &[""], &["a", "a"]] {
        let r: Result<Counter<DynLabels>, _> = Counter::builder("x", "X.").labels(names.iter().copied()).build();
        assert!(matches!(r, Err(Error::InvalidLabelName { .. })), "{names:?}");
    }
    let h: Result<Histogram<DynLabels>, _> = Histogram::builder("h", "H.").labels(["le"]).build();
    assert!(matches!(h, Err(Error::InvalidLabelName { .. })));
    let s: Result<promdecl::Summary<DynLabels>, _> = promdecl::Summary::builder("s", "S.").labels(["quantile"]).build();
    assert!(matches!(s, Err(Error::InvalidLabelName { .. })));
    // Only histograms and summaries reserve them.
    let g: Result<Gauge<DynLabels>, _> = Gauge::builder("g", "G.").labels(["le", "quantile"]).build();
    assert!(g.is_ok());
}

#[test]
fn remove_and_clear_dyn() {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a", "b"]).register(&r).unwrap();
    for (a, b) in [("1", "x"), ("1", "y"), ("2", "x"), ("2", "y")] {
        c.with_label_values(&[a, b]).unwrap().inc();
    }
    assert_eq!(c.len(), 4);

    assert!(c.remove(&DynLabels::new(["2", "y"])));
    assert!(!c.remove(&DynLabels::new(["2", "y"])));
    assert!(!c.remove_label_values(&["9", "9"]).unwrap());
    assert_eq!(c.len(), 3);

    assert_eq!(c.remove_by_labels(&[]).unwrap(), 0);
    assert_eq!(c.remove_by_labels(&[("a", "1")]).unwrap(), 2);
    assert_eq!(c.len(), 1);
    assert_eq!(common::sample_lines(&encode_to_string(&r, Format::TEXT)), ["x_total{a=\"2\",b=\"x\"} 1"]);

    assert!(c.remove_label_values(&["2", "x"]).unwrap());
    assert!(c.is_empty());

    c.with_label_values(&["3", "z"]).unwrap().inc();
    c.with_label_values(&["4", "z"]).unwrap().inc();
    c.clear();
    assert!(c.is_empty());
    assert_eq!(encode_to_string(&r, Format::TEXT), "# HELP x_total X.\n# TYPE x_total counter\n");

    // A removed child comes back fresh.
    c.with_label_values(&["3", "z"]).unwrap().inc();
    assert_eq!(c.with_label_values(&["3", "z"]).unwrap().get(), 1.0);
}

#[test]
fn remove_by_labels_matches_all_given_pairs() {
    let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a", "b", "c"]).build().unwrap();
    for v in [["1", "x", "p"], ["1", "y", "p"], ["1", "x", "q"], ["2", "x", "p"]] {
        c.with_label_values(&v).unwrap().inc();
    }
    assert_eq!(c.remove_by_labels(&[("b", "x"), ("a", "1")]).unwrap(), 2);
    assert_eq!(c.len(), 2);
    assert_eq!(c.with_label_values(&["1", "y", "p"]).unwrap().get(), 1.0);
    assert_eq!(c.with_label_values(&["2", "x", "p"]).unwrap().get(), 1.0);
    assert_eq!(c.remove_by_labels(&[("c", "zzz")]).unwrap(), 0);
}

#[test]
fn remove_and_clear_dense() {
    let r = Registry::new();
    let c = Counter::builder("calls", "C.").label_set::<Call>().register(&r).unwrap();
    for method in [Method::Get, Method::Post, Method::Delete] {
        for ok in [false, true] {
            c.labels(&Call { method, ok }).inc();
        }
    }
    assert_eq!(c.len(), 6);
    assert!(c.remove(&Call { method: Method::Post, ok: true }));
    assert!(!c.remove(&Call { method: Method::Post, ok: true }));
    assert_eq!(c.len(), 5);
    assert_eq!(c.remove_by_labels(&[("ok", "false")]).unwrap(), 3);
    assert_eq!(c.len(), 2);
    assert_eq!(
        common::sample_lines(&encode_to_string(&r, Format::TEXT)),
        ["calls_total{method=\"GET\",ok=\"true\"} 1", "calls_total{method=\"DELETE\",ok=\"true\"} 1"]
    );
    assert!(matches!(c.remove_by_labels(&[("status", "x")]), Err(Error::UnknownLabel { .. })));
    c.clear();
    assert!(c.is_empty());
    assert_eq!(encode_to_string(&r, Format::TEXT), "# HELP calls_total C.\n# TYPE calls_total counter\n");

    // A removed child comes back fresh.
    c.labels(&Call { method: Method::Get, ok: true }).inc();
    assert_eq!(c.labels(&Call { method: Method::Get, ok: true }).get(), 1.0);
}

#[test]
fn a_removed_dense_histogram_child_comes_back_empty_in_every_thread() {
    let h = Histogram::builder("calls_seconds", "C.").buckets([1.0]).label_set::<Call>().build().unwrap();
    let call = Call { method: Method::Get, ok: true };
    let (recorded, removed) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
    std::thread::scope(|s| {
        s.spawn(|| {
            h.labels(&call).observe(0.5);
            recorded.wait();
            removed.wait();
            // Same thread, same per-thread shard: it starts again from zero.
            h.labels(&call).observe(3.0);
        });
        recorded.wait();
        assert!(h.remove(&call));
        assert_eq!(h.labels(&call).count(), 0);
        removed.wait();
    });
    assert_eq!((h.labels(&call).count(), h.labels(&call).sum()), (1, 3.0));
}

#[test]
fn clear_keeps_the_only_child_of_an_unlabelled_metric() {
    let r = Registry::new();
    let c = Counter::builder("solo", "S.").register(&r).unwrap();
    c.inc();
    c.clear();
    assert_eq!(c.len(), 1);
    assert_eq!(r.get_sample_value("solo_total", &[]), Some(1.0));
}

#[test]
fn labels_twice_in_one_expression() {
    within("labels twice", || {
        let a = DynLabels::new(["a"]);
        let b = DynLabels::new(["b"]);
        let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["k"]).build().unwrap();
        c.labels(&a).inc();
        let x = c.labels(&a).get() + c.labels(&b).get();
        assert_eq!(x, 1.0);
        // Creating a new child while another is being read.
        let y = c.labels(&a).get() + {
            c.labels(&DynLabels::new(["new"])).inc();
            c.labels(&DynLabels::new(["new"])).get()
        };
        assert_eq!(y, 2.0);
        let v = c.with_label_values(&["a"]).unwrap().get() + c.with_label_values(&["zz"]).unwrap().get();
        assert_eq!(v, 1.0);
        assert_eq!(c.len(), 4);

        let routes = Counter::builder("r", "R.").label_set::<Route>().build().unwrap();
        routes.labels(&route(Method::Get, "/")).inc();
        let z = routes.labels(&route(Method::Get, "/")).get() + routes.labels(&route(Method::Delete, "/")).get();
        assert_eq!(z, 1.0);
    });
}

#[test]
fn gauge_callback_may_use_its_own_family_during_scrape() {
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let g: Gauge<DynLabels> = Gauge::builder("g", "G.").labels(["k"]).register(r).unwrap();
    g.with_label_values(&["base"]).unwrap().set(2.0);
    let inner = g.clone();
    g.with_label_values(&["derived"]).unwrap().set_function(move || {
        // Reads a sibling and creates a new child while the family is being
        // collected.
        inner.with_label_values(&["created_in_callback"]).unwrap().set(1.0);
        inner.with_label_values(&["base"]).unwrap().get() * 10.0
    });
    let text = within("scrape with re-entrant callback", move || encode_to_string(r, Format::TEXT));
    assert!(text.contains("g{k=\"derived\"} 20.0\n"), "{text}");
    assert_eq!(r.get_sample_value("g", &[("k", "created_in_callback")]), Some(1.0));
}

#[test]
fn values_that_concatenate_alike_stay_distinct() {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["a", "b"]).register(&r).unwrap();
    c.with_label_values(&["ab", "c"]).unwrap().inc();
    c.with_label_values(&["a", "bc"]).unwrap().inc_by_u64(2);
    c.labels(&DynLabels::new(["", "abc"])).inc_by_u64(3);
    assert_eq!(c.len(), 3);
    assert_eq!(r.get_sample_value("x_total", &[("a", "ab"), ("b", "c")]), Some(1.0));
    assert_eq!(r.get_sample_value("x_total", &[("a", "a"), ("b", "bc")]), Some(2.0));
    assert_eq!(r.get_sample_value("x_total", &[("a", ""), ("b", "abc")]), Some(3.0));

    let routes = Counter::builder("r", "R.").label_set::<Route>().register(&r).unwrap();
    routes.labels(&route(Method::Get, "/ab")).inc();
    routes.labels(&route(Method::Get, "/a")).inc();
    assert_eq!(routes.len(), 2);
}

#[test]
fn handles_work_after_remove_but_are_not_exposed_map() {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["k"]).register(&r).unwrap();
    let handle = c.with_label_values(&["a"]).unwrap().handle();
    handle.inc();
    assert_eq!(r.get_sample_value("x_total", &[("k", "a")]), Some(1.0));

    assert!(c.remove_label_values(&["a"]).unwrap());
    handle.inc();
    assert_eq!(handle.get(), 2.0);
    assert_eq!(r.get_sample_value("x_total", &[("k", "a")]), None);

    // The child made by the next lookup is new; the old handle is detached.
    c.with_label_values(&["a"]).unwrap().inc();
    handle.inc();
    assert_eq!(r.get_sample_value("x_total", &[("k", "a")]), Some(1.0));
    assert_eq!(handle.get(), 3.0);
}

#[test]
fn handles_work_after_remove_but_are_not_exposed_dense() {
    let r = Registry::new();
    let c = Counter::builder("calls", "C.").label_set::<Call>().register(&r).unwrap();
    let key = Call { method: Method::Get, ok: true };
    let handle = c.labels(&key).handle();
    handle.inc();
    assert!(c.remove(&key));
    handle.inc();
    let labels = [("method", "GET"), ("ok", "true")];
    assert_eq!(r.get_sample_value("calls_total", &labels), None);

    // With a closed label set the child is its label set: removal zeroes it,
    // the next lookup exposes it again, and the handle still addresses it
    // (what it recorded while the series was hidden is kept).
    c.labels(&key).inc();
    handle.inc();
    assert_eq!(r.get_sample_value("calls_total", &labels), Some(3.0));
}

#[test]
fn thread_cache_sees_removals_from_other_threads() {
    let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["k"]).build().unwrap();
    c.with_label_values(&["a"]).unwrap().inc();
    let other = c.clone();
    std::thread::spawn(move || assert!(other.remove_label_values(&["a"]).unwrap())).join().unwrap();
    // This thread cached the old child; it must notice it was removed.
    c.with_label_values(&["a"]).unwrap().inc();
    assert_eq!(c.with_label_values(&["a"]).unwrap().get(), 1.0);
    assert_eq!(c.len(), 1);
}

#[test]
fn info_keys_must_be_valid_unique_and_not_label_names() {
    let i: promdecl::Info<DynLabels> = promdecl::Info::builder("svc", "S.").labels(["name"]).build().unwrap();
    let child = i.with_label_values(&["api"]).unwrap();
    for pairs in [&[("name", "x")][..], &[("v", "1"), ("v", "2")], &[("bad key", "1")], &[("__x", "1")]] {
        assert!(matches!(child.info(pairs), Err(Error::InvalidLabelName { .. })), "{pairs:?}");
    }
    child.info(&[("version", "1")]).unwrap();
    // A refused update leaves the previous information in place.
    assert!(child.info(&[("name", "x")]).is_err());
    assert_eq!(common::sample_lines(&encode_to_string(&i, Format::TEXT)), ["svc_info{name=\"api\",version=\"1\"} 1"]);
}

#[test]
fn a_thread_using_more_series_than_it_caches_counts_exactly() {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("wide", "W.").labels(["tenant", "op"]).register(&r).unwrap();
    let tenants: Vec<String> = (0..1500).map(|i| format!("tenant-{i}")).collect();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for round in 0..3 {
                    for (i, t) in tenants.iter().enumerate() {
                        let op = if (i + round) % 2 == 0 { "read" } else { "write" };
                        c.with_label_values(&[t, op]).unwrap().inc();
                    }
                }
            });
        }
    });
    assert_eq!(c.len(), 3000);
    let total: f64 = tenants
        .iter()
        .flat_map(|t| ["read", "write"].map(|op| r.get_sample_value("wide_total", &[("tenant", t), ("op", op)])))
        .map(|v| v.expect("every series exists"))
        .sum();
    assert_eq!(total, 2.0 * 3.0 * 1500.0);
    assert_eq!(r.get_sample_value("wide_total", &[("tenant", "tenant-0"), ("op", "read")]), Some(4.0));
}

#[test]
fn clear_and_remove_by_labels_reach_every_thread() {
    let c: Counter<DynLabels> = Counter::builder("x", "X.").labels(["k", "j"]).build().unwrap();
    let (ready, go) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
    std::thread::scope(|s| {
        s.spawn(|| {
            c.with_label_values(&["a", "1"]).unwrap().inc();
            c.with_labels(&[("j", "2"), ("k", "b")]).unwrap().inc();
            ready.wait();
            go.wait();
            // Both children were removed by the other thread: this thread's
            // lookups start new ones from zero.
            c.with_label_values(&["a", "1"]).unwrap().inc();
            c.with_labels(&[("k", "b"), ("j", "2")]).unwrap().inc();
        });
        ready.wait();
        assert_eq!(c.remove_by_labels(&[("k", "a")]).unwrap(), 1);
        c.clear();
        go.wait();
    });
    assert_eq!(c.with_label_values(&["a", "1"]).unwrap().get(), 1.0);
    assert_eq!(c.with_label_values(&["b", "2"]).unwrap().get(), 1.0);
    assert_eq!(c.len(), 2);
}

#[test]
fn a_callback_whose_drop_reads_metrics_does_not_deadlock() {
    struct ReadsOnDrop(Gauge<DynLabels>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            self.0.with_label_values(&["other"]).unwrap().inc();
            let _ = self.0.with_label_values(&["probe"]).unwrap().get();
        }
    }
    let g: Gauge<DynLabels> = Gauge::builder("g", "G.").labels(["k"]).build().unwrap();
    let guard = ReadsOnDrop(g.clone());
    g.with_label_values(&["probe"]).unwrap().set_function(move || {
        let _ = &guard;
        1.0
    });
    within("replacing a callback whose drop reads the gauge", move || {
        g.with_label_values(&["probe"]).unwrap().set_function(|| 2.0);
        assert_eq!(g.with_label_values(&["probe"]).unwrap().get(), 2.0);
        assert_eq!(g.with_label_values(&["other"]).unwrap().get(), 1.0);

        // Removing children drops their callbacks, after the family is
        // unlocked.
        for remove in 0..3 {
            let guard = ReadsOnDrop(g.clone());
            g.with_label_values(&["probe"]).unwrap().set_function(move || {
                let _ = &guard;
                3.0
            });
            match remove {
                0 => assert!(g.remove_label_values(&["probe"]).unwrap()),
                1 => assert_eq!(g.remove_by_labels(&[("k", "probe")]).unwrap(), 1),
                _ => g.clear(),
            }
        }
        assert_eq!(g.with_label_values(&["probe"]).unwrap().get(), 0.0);
    });
}

#[test]
fn removing_the_only_child_of_a_label_free_metric_resets_it_and_keeps_it_shown() {
    let registry = Registry::new();
    let c = Counter::builder("jobs", "Jobs.").register(&registry).unwrap();
    c.inc();
    assert!(c.remove(&()));
    assert_eq!(registry.get_sample_value("jobs_total", &[]), Some(0.0));
    (0..5).for_each(|_| c.inc());
    assert_eq!(registry.get_sample_value("jobs_total", &[]), Some(5.0));
}

/// A derived label set of an open type gives its values as one slice
/// (`visit_slice`), the same values `visit` gives; every way to a child
/// finds the same one.
#[derive(promdecl::LabelSet)]
struct Request {
    method: Method,
    path: String,
    zone: &'static str,
}

#[test]
fn derived_sets_find_the_child_their_values_name() {
    let set = Request { method: Method::Post, path: "/a\"b".to_owned(), zone: "eu" };
    let (mut visited, mut sliced) = (Vec::new(), Vec::new());
    set.visit(&mut |v| visited.push(v.to_owned()));
    assert_eq!(set.visit_slice(|vs| sliced.extend(vs.iter().map(|v| v.to_string()))), Some(()));
    assert_eq!(visited, ["POST", "/a\"b", "eu"]);
    assert_eq!(sliced, visited);

    let c = Counter::builder("requests", "Requests.").label_set::<Request>().build().unwrap();
    c.labels(&set).inc();
    c.try_labels(&set).unwrap().inc();
    assert_eq!(c.labels(&set).get(), 2.0);
    assert_eq!(c.len(), 1);
    assert!(c.remove(&set));
    assert!(!c.remove(&set));
    assert_eq!(c.len(), 0);
    assert_eq!(c.labels(&Request { method: Method::Get, ..set }).get(), 0.0);
}
