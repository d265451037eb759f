//! Golden expositions: every metric type and custom-collector family, in the
//! Prometheus text format 0.0.4 and in OpenMetrics 1.0, written out in full.
//!
//! `_created` values are wall-clock times: the OpenMetrics texts spell them
//! `<T>`, and each test checks the real values are close to now.

mod common;

use promdecl::encode::{encode_to_string, Format};
use promdecl::{
    Collector, Counter, CounterFamily, DynLabels, Enum, Error, Gauge, GaugeFamily, GaugeHistogramFamily, Histogram,
    HistogramFamily, Info, InfoFamily, LabelSet, LabelValue, Registry, StateSetFamily, Summary, SummaryFamily,
    UnknownFamily,
};

/// Encodes `collector` in both formats and compares with the golden texts,
/// `_created` values replaced by `<T>` (and checked to be recent).
#[track_caller]
fn check(collector: &dyn Collector, text: &str, openmetrics: &str) {
    let got_text = encode_to_string(collector, Format::TEXT);
    assert_eq!(got_text, text, "text format 0.0.4");
    let (got_om, created) = common::normalize_created(&encode_to_string(collector, Format::OPENMETRICS));
    assert_eq!(got_om, openmetrics, "OpenMetrics 1.0");
    common::assert_recent(&created);
}

/// Like [`check`], for outputs whose `_created` values are fixed.
#[track_caller]
fn check_exact(collector: &dyn Collector, text: &str, openmetrics: &str) {
    assert_eq!(encode_to_string(collector, Format::TEXT), text, "text format 0.0.4");
    assert_eq!(encode_to_string(collector, Format::OPENMETRICS), openmetrics, "OpenMetrics 1.0");
}

/// A hand-written closed label value, so the labelled goldens below have
/// dense storage and a deterministic child order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Method {
    Get,
    Post,
}

impl LabelValue for Method {
    const VALUES: Option<&'static [&'static str]> = Some(&["GET", "POST"]);
    fn dense_index(&self) -> usize {
        *self as usize
    }
    fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(Self::VALUES.unwrap()[self.dense_index()])
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct ByMethod {
    method: Method,
}

impl LabelSet for ByMethod {
    const NAMES: &'static [&'static str] = &["method"];
    const CARDINALITY: Option<usize> = Some(2);
    fn dense_index(&self) -> usize {
        self.method.dense_index()
    }
    fn visit_dense(index: usize, f: &mut dyn FnMut(&str)) {
        f(Method::VALUES.unwrap()[index])
    }
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        self.method.with_str(|s| f(s))
    }
}

#[test]
fn counter_unlabelled() {
    let r = Registry::new();
    let c = Counter::builder("requests", "Total requests.").register(&r).unwrap();
    c.inc();
    c.inc_by_u64(2);
    check(
        &r,
        "# HELP requests_total Total requests.\n\
         # TYPE requests_total counter\n\
         requests_total 3\n",
        "# HELP requests Total requests.\n\
         # TYPE requests counter\n\
         requests_total 3\n\
         requests_created <T>\n\
         # EOF\n",
    );
}

#[test]
fn counter_fractional_value() {
    let r = Registry::new();
    let c = Counter::builder("bytes", "Bytes.").register(&r).unwrap();
    c.inc_by(1.5).unwrap();
    c.inc();
    check(
        &r,
        "# HELP bytes_total Bytes.\n# TYPE bytes_total counter\nbytes_total 2.5\n",
        "# HELP bytes Bytes.\n# TYPE bytes counter\nbytes_total 2.5\nbytes_created <T>\n# EOF\n",
    );
}

#[test]
fn counter_name_with_total_suffix() {
    let r = Registry::new();
    let c = Counter::builder("jobs_total", "Jobs.").register(&r).unwrap();
    assert_eq!(c.name(), "jobs");
    c.inc();
    check(
        &r,
        "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 1\n",
        "# HELP jobs Jobs.\n# TYPE jobs counter\njobs_total 1\njobs_created <T>\n# EOF\n",
    );
}

#[test]
fn counter_labelled_dyn() {
    let r = Registry::new();
    let c: Counter<DynLabels> =
        Counter::builder("requests", "Total requests.").labels(["method", "code"]).register(&r).unwrap();
    c.with_label_values(&["get", "200"]).unwrap().inc_by_u64(3);
    check(
        &r,
        "# HELP requests_total Total requests.\n\
         # TYPE requests_total counter\n\
         requests_total{method=\"get\",code=\"200\"} 3\n",
        "# HELP requests Total requests.\n\
         # TYPE requests counter\n\
         requests_total{method=\"get\",code=\"200\"} 3\n\
         requests_created{method=\"get\",code=\"200\"} <T>\n\
         # EOF\n",
    );
}

#[test]
fn counter_labelled_dense_in_value_order() {
    let r = Registry::new();
    let c = Counter::builder("calls", "Calls.").label_set::<ByMethod>().register(&r).unwrap();
    c.labels(&ByMethod { method: Method::Post }).inc();
    c.labels(&ByMethod { method: Method::Get }).inc_by_u64(4);
    check(
        &r,
        "# HELP calls_total Calls.\n\
         # TYPE calls_total counter\n\
         calls_total{method=\"GET\"} 4\n\
         calls_total{method=\"POST\"} 1\n",
        "# HELP calls Calls.\n\
         # TYPE calls counter\n\
         calls_total{method=\"GET\"} 4\n\
         calls_created{method=\"GET\"} <T>\n\
         calls_total{method=\"POST\"} 1\n\
         calls_created{method=\"POST\"} <T>\n\
         # EOF\n",
    );
}

#[test]
fn labelled_metric_without_children_has_only_metadata() {
    let r = Registry::new();
    let _c: Counter<DynLabels> = Counter::builder("idle", "Idle.").labels(["a"]).register(&r).unwrap();
    let _d = Counter::builder("idle_dense", "Idle dense.").label_set::<ByMethod>().register(&r).unwrap();
    check(
        &r,
        "# HELP idle_total Idle.\n# TYPE idle_total counter\n\
         # HELP idle_dense_total Idle dense.\n# TYPE idle_dense_total counter\n",
        "# HELP idle Idle.\n# TYPE idle counter\n\
         # HELP idle_dense Idle dense.\n# TYPE idle_dense counter\n# EOF\n",
    );
}

#[test]
fn help_escaping_differs_between_formats() {
    let r = Registry::new();
    let c: Counter<DynLabels> = Counter::builder("weird", "Help with \\ backslash and\nnewline and \"quotes\".")
        .labels(["v"])
        .register(&r)
        .unwrap();
    c.with_label_values(&["a\"b\\c\nd"]).unwrap().inc();
    check(
        &r,
        "# HELP weird_total Help with \\\\ backslash and\\nnewline and \"quotes\".\n\
         # TYPE weird_total counter\n\
         weird_total{v=\"a\\\"b\\\\c\\nd\"} 1\n",
        "# HELP weird Help with \\\\ backslash and\\nnewline and \\\"quotes\\\".\n\
         # TYPE weird counter\n\
         weird_total{v=\"a\\\"b\\\\c\\nd\"} 1\n\
         weird_created{v=\"a\\\"b\\\\c\\nd\"} <T>\n\
         # EOF\n",
    );
}

#[test]
fn empty_help_has_no_help_line() {
    let r = Registry::new();
    Gauge::builder("nohelp", "").register(&r).unwrap().set(1.0);
    check(&r, "# TYPE nohelp gauge\nnohelp 1.0\n", "# TYPE nohelp gauge\nnohelp 1.0\n# EOF\n");
}

#[test]
fn gauge_with_unit() {
    let r = Registry::new();
    let g = Gauge::builder("temp", "Temperature.").unit("celsius").register(&r).unwrap();
    assert_eq!(g.name(), "temp_celsius");
    g.set(-3.5);
    check(
        &r,
        "# HELP temp_celsius Temperature.\n# TYPE temp_celsius gauge\ntemp_celsius -3.5\n",
        "# HELP temp_celsius Temperature.\n# TYPE temp_celsius gauge\n# UNIT temp_celsius celsius\n\
         temp_celsius -3.5\n# EOF\n",
    );
}

#[test]
fn gauge_integer_values_are_written_as_floats() {
    let r = Registry::new();
    let g = Gauge::builder("workers", "Workers.").register(&r).unwrap();
    g.inc();
    g.inc_by(2.0);
    check(
        &r,
        "# HELP workers Workers.\n# TYPE workers gauge\nworkers 3.0\n",
        "# HELP workers Workers.\n# TYPE workers gauge\nworkers 3.0\n# EOF\n",
    );
}

#[test]
fn float_formatting() {
    let r = Registry::new();
    let values =
        [0.0, -0.0, 1e-7, 0.0001, 1_234_567.0, 1e16, -1e22, 5e-324, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
    for (i, v) in values.into_iter().enumerate() {
        Gauge::builder(&format!("g{i}"), "").register(&r).unwrap().set(v);
    }
    let want = ["0.0", "-0.0", "1e-7", "0.0001", "1234567.0", "1e16", "-1e22", "5e-324", "+Inf", "-Inf", "NaN"];
    let mut text = String::new();
    for (i, w) in want.iter().enumerate() {
        text.push_str(&format!("# TYPE g{i} gauge\ng{i} {w}\n"));
    }
    check(&r, &text, &format!("{text}# EOF\n"));
    for format in [Format::TEXT, Format::OPENMETRICS] {
        let out = encode_to_string(&r, format);
        let Some(v) = common::validate("golden-floats", &out) else { return };
        assert!(v.ok, "validator refused {format:?}:\n{}\n--- input ---\n{out}", v.output);
    }
}

#[test]
fn gauge_set_function_wins_over_set() {
    let r = Registry::new();
    let g = Gauge::builder("queue_depth", "Jobs waiting.").register(&r).unwrap();
    g.set(1.0);
    g.set_function(|| 42.0);
    g.set(7.0);
    check(
        &r,
        "# HELP queue_depth Jobs waiting.\n# TYPE queue_depth gauge\nqueue_depth 42.0\n",
        "# HELP queue_depth Jobs waiting.\n# TYPE queue_depth gauge\nqueue_depth 42.0\n# EOF\n",
    );
}

#[test]
fn gauge_labelled_set_function() {
    let r = Registry::new();
    let g: Gauge<DynLabels> = Gauge::builder("pool_size", "Pool size.").labels(["pool"]).register(&r).unwrap();
    g.with_label_values(&["db"]).unwrap().set_function(|| 8.0);
    check(
        &r,
        "# HELP pool_size Pool size.\n# TYPE pool_size gauge\npool_size{pool=\"db\"} 8.0\n",
        "# HELP pool_size Pool size.\n# TYPE pool_size gauge\npool_size{pool=\"db\"} 8.0\n# EOF\n",
    );
}

#[test]
fn histogram_custom_buckets() {
    let r = Registry::new();
    let h = Histogram::builder("latency_seconds", "Latency.").buckets([0.1, 0.5, 1.0]).register(&r).unwrap();
    for v in [0.05, 0.3, 2.0] {
        h.observe(v);
    }
    check(
        &r,
        "# HELP latency_seconds Latency.\n\
         # TYPE latency_seconds histogram\n\
         latency_seconds_bucket{le=\"0.1\"} 1\n\
         latency_seconds_bucket{le=\"0.5\"} 2\n\
         latency_seconds_bucket{le=\"1.0\"} 2\n\
         latency_seconds_bucket{le=\"+Inf\"} 3\n\
         latency_seconds_count 3\n\
         latency_seconds_sum 2.35\n",
        "# HELP latency_seconds Latency.\n\
         # TYPE latency_seconds histogram\n\
         latency_seconds_bucket{le=\"0.1\"} 1\n\
         latency_seconds_bucket{le=\"0.5\"} 2\n\
         latency_seconds_bucket{le=\"1.0\"} 2\n\
         latency_seconds_bucket{le=\"+Inf\"} 3\n\
         latency_seconds_count 3\n\
         latency_seconds_sum 2.35\n\
         latency_seconds_created <T>\n\
         # EOF\n",
    );
}

#[test]
fn histogram_observation_on_bound_goes_in_that_bucket() {
    let r = Registry::new();
    let h = Histogram::builder("h", "H.").buckets([1.0, 2.0]).register(&r).unwrap();
    h.observe(1.0);
    h.observe(2.0);
    let text = encode_to_string(&r, Format::TEXT);
    assert!(text.contains("h_bucket{le=\"1.0\"} 1\nh_bucket{le=\"2.0\"} 2\nh_bucket{le=\"+Inf\"} 2\n"), "{text}");
}

#[test]
fn histogram_default_buckets() {
    let r = Registry::new();
    let h = Histogram::builder("d", "D.").register(&r).unwrap();
    h.observe(0.3);
    let mut text = String::from("# HELP d D.\n# TYPE d histogram\n");
    let les = ["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5"];
    for (i, le) in les.iter().chain(&["10.0", "+Inf"]).enumerate() {
        text.push_str(&format!("d_bucket{{le=\"{le}\"}} {}\n", u8::from(i >= 7)));
    }
    text.push_str("d_count 1\nd_sum 0.3\n");
    assert_eq!(encode_to_string(&r, Format::TEXT), text);
}

#[test]
fn histogram_nan_observation_counts_nowhere_but_poisons_the_sum() {
    let r = Registry::new();
    let h = Histogram::builder("h", "H.").buckets([1.0]).register(&r).unwrap();
    h.observe(0.5);
    h.observe(f64::NAN);
    check(
        &r,
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum NaN\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum NaN\n\
         h_created <T>\n# EOF\n",
    );
}

#[test]
fn histogram_labelled() {
    let r = Registry::new();
    let h: Histogram<DynLabels> =
        Histogram::builder("op_seconds", "Op time.").labels(["op"]).buckets([0.5]).register(&r).unwrap();
    h.with_label_values(&["read"]).unwrap().observe(0.25);
    check(
        &r,
        "# HELP op_seconds Op time.\n\
         # TYPE op_seconds histogram\n\
         op_seconds_bucket{op=\"read\",le=\"0.5\"} 1\n\
         op_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n\
         op_seconds_count{op=\"read\"} 1\n\
         op_seconds_sum{op=\"read\"} 0.25\n",
        "# HELP op_seconds Op time.\n\
         # TYPE op_seconds histogram\n\
         op_seconds_bucket{op=\"read\",le=\"0.5\"} 1\n\
         op_seconds_bucket{op=\"read\",le=\"+Inf\"} 1\n\
         op_seconds_count{op=\"read\"} 1\n\
         op_seconds_sum{op=\"read\"} 0.25\n\
         op_seconds_created{op=\"read\"} <T>\n\
         # EOF\n",
    );
}

#[test]
fn histogram_with_negative_bucket_has_no_sum() {
    let r = Registry::new();
    let h = Histogram::builder("delta", "Delta.").buckets([-1.0, 0.0, 1.0]).register(&r).unwrap();
    h.observe(-0.5);
    check(
        &r,
        "# HELP delta Delta.\n\
         # TYPE delta histogram\n\
         delta_bucket{le=\"-1.0\"} 0\n\
         delta_bucket{le=\"0.0\"} 1\n\
         delta_bucket{le=\"1.0\"} 1\n\
         delta_bucket{le=\"+Inf\"} 1\n\
         delta_count 1\n",
        "# HELP delta Delta.\n\
         # TYPE delta histogram\n\
         delta_bucket{le=\"-1.0\"} 0\n\
         delta_bucket{le=\"0.0\"} 1\n\
         delta_bucket{le=\"1.0\"} 1\n\
         delta_bucket{le=\"+Inf\"} 1\n\
         delta_count 1\n\
         delta_created <T>\n\
         # EOF\n",
    );
}

#[test]
fn summary() {
    let r = Registry::new();
    let s = Summary::builder("task_seconds", "Task time.").register(&r).unwrap();
    s.observe(0.2);
    s.observe(0.4);
    check(
        &r,
        "# HELP task_seconds Task time.\n\
         # TYPE task_seconds summary\n\
         task_seconds_count 2\n\
         task_seconds_sum 0.6000000000000001\n",
        "# HELP task_seconds Task time.\n\
         # TYPE task_seconds summary\n\
         task_seconds_count 2\n\
         task_seconds_sum 0.6000000000000001\n\
         task_seconds_created <T>\n\
         # EOF\n",
    );
}

#[test]
fn info_unlabelled_and_labelled() {
    let r = Registry::new();
    let build = Info::builder("build", "Build info.").register(&r).unwrap();
    build.info(&[("version", "1.2.3"), ("commit", "abc")]).unwrap();
    let svc: Info<DynLabels> = Info::builder("service", "Service info.").labels(["name"]).register(&r).unwrap();
    svc.with_label_values(&["api"]).unwrap().info(&[("owner", "team-a")]).unwrap();
    check(
        &r,
        "# HELP build_info Build info.\n\
         # TYPE build_info gauge\n\
         build_info{version=\"1.2.3\",commit=\"abc\"} 1\n\
         # HELP service_info Service info.\n\
         # TYPE service_info gauge\n\
         service_info{name=\"api\",owner=\"team-a\"} 1\n",
        "# HELP build Build info.\n\
         # TYPE build info\n\
         build_info{version=\"1.2.3\",commit=\"abc\"} 1\n\
         # HELP service Service info.\n\
         # TYPE service info\n\
         service_info{name=\"api\",owner=\"team-a\"} 1\n\
         # EOF\n",
    );
}

#[test]
fn info_is_replaced_as_a_whole() {
    let r = Registry::new();
    let build = Info::builder("build", "B.").register(&r).unwrap();
    build.info(&[("version", "1"), ("commit", "abc")]).unwrap();
    build.info(&[("version", "2")]).unwrap();
    assert_eq!(
        encode_to_string(&r, Format::TEXT),
        "# HELP build_info B.\n# TYPE build_info gauge\nbuild_info{version=\"2\"} 1\n"
    );
}

#[test]
fn enum_is_a_stateset() {
    let r = Registry::new();
    let e: Enum<&'static str> =
        Enum::builder("state", "State.").states(["starting", "running", "stopped"]).register(&r).unwrap();
    e.state("running");
    check(
        &r,
        "# HELP state State.\n\
         # TYPE state gauge\n\
         state{state=\"starting\"} 0\n\
         state{state=\"running\"} 1\n\
         state{state=\"stopped\"} 0\n",
        "# HELP state State.\n\
         # TYPE state stateset\n\
         state{state=\"starting\"} 0\n\
         state{state=\"running\"} 1\n\
         state{state=\"stopped\"} 0\n\
         # EOF\n",
    );
}

#[test]
fn enum_unknown_state_is_an_error_naming_the_metric() {
    let e: Enum<&'static str> = Enum::builder("state", "State.").states(["on", "off"]).build().unwrap();
    e.state("exploded"); // ignored
    assert_eq!(e.current(), "on");
    let err = e.set_state("exploded").unwrap_err();
    assert_eq!(
        err,
        Error::UnknownState { metric: "state".into(), state: "exploded".into(), states: "on, off".into() },
        "{err}"
    );
}

#[test]
fn enum_labelled() {
    let r = Registry::new();
    let e: Enum<&'static str, DynLabels> =
        Enum::builder("worker", "Worker.").states(["idle", "busy"]).labels(["id"]).register(&r).unwrap();
    e.with_label_values(&["7"]).unwrap().set_state("busy").unwrap();
    check(
        &r,
        "# HELP worker Worker.\n# TYPE worker gauge\n\
         worker{id=\"7\",worker=\"idle\"} 0\nworker{id=\"7\",worker=\"busy\"} 1\n",
        "# HELP worker Worker.\n# TYPE worker stateset\n\
         worker{id=\"7\",worker=\"idle\"} 0\nworker{id=\"7\",worker=\"busy\"} 1\n# EOF\n",
    );
}

#[test]
fn enum_of_a_closed_label_value() {
    let r = Registry::new();
    let e: Enum<Method> = Enum::builder("last_method", "Last method.").register(&r).unwrap();
    assert_eq!(e.current(), "GET");
    e.state(Method::Post);
    check(
        &r,
        "# HELP last_method Last method.\n# TYPE last_method gauge\n\
         last_method{last_method=\"GET\"} 0\nlast_method{last_method=\"POST\"} 1\n",
        "# HELP last_method Last method.\n# TYPE last_method stateset\n\
         last_method{last_method=\"GET\"} 0\nlast_method{last_method=\"POST\"} 1\n# EOF\n",
    );
    // States come from the type; listing them again is an error.
    assert!(matches!(
        Enum::<Method>::builder("m", "M.").states(["GET", "POST"]).build(),
        Err(Error::InvalidOption { .. })
    ));
    let no_states = Enum::<&'static str>::builder("m", "M.").build();
    assert!(matches!(no_states, Err(Error::InvalidOption { .. })));
}

#[test]
fn namespace_subsystem_unit_and_total_compose_like_python() {
    let r = Registry::new();
    let c = Counter::builder("req_total", "R.").namespace("ns").subsystem("sub").unit("bytes").register(&r).unwrap();
    assert_eq!(c.name(), "ns_sub_req_bytes");
    check(
        &r,
        "# HELP ns_sub_req_bytes_total R.\n# TYPE ns_sub_req_bytes_total counter\nns_sub_req_bytes_total 0\n",
        "# HELP ns_sub_req_bytes R.\n# TYPE ns_sub_req_bytes counter\n# UNIT ns_sub_req_bytes bytes\n\
         ns_sub_req_bytes_total 0\nns_sub_req_bytes_created <T>\n# EOF\n",
    );

    // The unit is appended after `_total` is stripped, and only when it is
    // not already a `_unit` suffix.
    assert_eq!(Counter::builder("x", "X.").unit("total").build().unwrap().name(), "x_total");
    assert_eq!(Gauge::builder("x_bytes", "X.").unit("bytes").build().unwrap().name(), "x_bytes");
    assert_eq!(Gauge::builder("xbytes", "X.").unit("bytes").build().unwrap().name(), "xbytes_bytes");
    assert_eq!(
        Histogram::builder("latency", "L.").namespace("app").unit("seconds").build().unwrap().name(),
        "app_latency_seconds"
    );
    assert!(matches!(Info::builder("i", "I.").unit("bytes").build(), Err(Error::InvalidOption { .. })));
    let e = Enum::<&'static str>::builder("e", "E.").states(["a"]).unit("bytes").build();
    assert!(matches!(e, Err(Error::InvalidOption { .. })));
}

#[test]
fn counter_family() {
    let mut c = CounterFamily::new("jobs_total", "Jobs.", &["queue"]);
    c.add_metric(&["a"], 7.0, Some(1_700_000_000.0), None);
    c.add_metric(&["b"], 2.5, None, None);
    check_exact(
        &c,
        "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{queue=\"a\"} 7.0\njobs_total{queue=\"b\"} 2.5\n",
        "# HELP jobs Jobs.\n# TYPE jobs counter\n\
         jobs_total{queue=\"a\"} 7.0\njobs_created{queue=\"a\"} 1700000000.0\n\
         jobs_total{queue=\"b\"} 2.5\n# EOF\n",
    );
}

#[test]
fn counter_family_total_suffix_is_dropped_even_without_samples() {
    // Python's CounterMetricFamily strips `_total` in its constructor.
    let c = CounterFamily::new("x_total", "X.", &[]);
    check_exact(&c, "# HELP x_total X.\n# TYPE x_total counter\n", "# HELP x X.\n# TYPE x counter\n# EOF\n");
}

#[test]
fn gauge_family_with_timestamps() {
    let mut g = GaugeFamily::new("temp", "T.", &["room"]);
    g.add_metric(&["hall"], 19.5, Some(1_700_000_000.123));
    g.add_metric(&["kitchen"], 21.0, None);
    check_exact(
        &g,
        "# HELP temp T.\n# TYPE temp gauge\ntemp{room=\"hall\"} 19.5 1700000000123\ntemp{room=\"kitchen\"} 21.0\n",
        "# HELP temp T.\n# TYPE temp gauge\ntemp{room=\"hall\"} 19.5 1700000000.123\ntemp{room=\"kitchen\"} 21.0\n\
         # EOF\n",
    );
}

#[test]
fn custom_family_unit_is_appended_like_python() {
    // Python's Metric appends `_unit` to the family name when missing; an
    // OpenMetrics `# UNIT` line whose family name lacks the unit suffix is
    // refused by the OpenMetrics parsers.
    let mut g = GaugeFamily::new("size", "S.", &[]).unit("bytes");
    g.add_metric(&[], 3.0, None);
    check_exact(
        &g,
        "# HELP size_bytes S.\n# TYPE size_bytes gauge\nsize_bytes 3.0\n",
        "# HELP size_bytes S.\n# TYPE size_bytes gauge\n# UNIT size_bytes bytes\nsize_bytes 3.0\n# EOF\n",
    );
    let mut ok = GaugeFamily::new("len_bytes", "L.", &[]).unit("bytes");
    ok.add_metric(&[], 1.0, None);
    check_exact(
        &ok,
        "# HELP len_bytes L.\n# TYPE len_bytes gauge\nlen_bytes 1.0\n",
        "# HELP len_bytes L.\n# TYPE len_bytes gauge\n# UNIT len_bytes bytes\nlen_bytes 1.0\n# EOF\n",
    );
}

#[test]
fn histogram_family() {
    let mut h = HistogramFamily::new("rpc_seconds", "RPC latency.", &["service"]);
    h.add_metric(&["auth"], &[(0.1, 3), (1.0, 5), (f64::INFINITY, 6)], Some(2.5), None);
    let body = "rpc_seconds_bucket{service=\"auth\",le=\"0.1\"} 3\n\
                rpc_seconds_bucket{service=\"auth\",le=\"1.0\"} 5\n\
                rpc_seconds_bucket{service=\"auth\",le=\"+Inf\"} 6\n\
                rpc_seconds_count{service=\"auth\"} 6\n\
                rpc_seconds_sum{service=\"auth\"} 2.5\n";
    check_exact(
        &h,
        &format!("# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n{body}"),
        &format!("# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n{body}# EOF\n"),
    );
}

#[test]
fn summary_family() {
    let mut s = SummaryFamily::new("rpc_seconds", "R.", &["op"]);
    s.add_metric(&["get"], 4, 1.5, None);
    check_exact(
        &s,
        "# HELP rpc_seconds R.\n# TYPE rpc_seconds summary\nrpc_seconds_count{op=\"get\"} 4\nrpc_seconds_sum{op=\"get\"} 1.5\n",
        "# HELP rpc_seconds R.\n# TYPE rpc_seconds summary\nrpc_seconds_count{op=\"get\"} 4\nrpc_seconds_sum{op=\"get\"} 1.5\n\
         # EOF\n",
    );
}

#[test]
fn info_family() {
    let mut i = InfoFamily::new("build", "B.", &["service"]);
    i.add_metric(&["api"], &[("version", "1.0")], None);
    check_exact(
        &i,
        "# HELP build_info B.\n# TYPE build_info gauge\nbuild_info{service=\"api\",version=\"1.0\"} 1\n",
        "# HELP build B.\n# TYPE build info\nbuild_info{service=\"api\",version=\"1.0\"} 1\n# EOF\n",
    );
}

#[test]
fn stateset_family() {
    let mut s = StateSetFamily::new("mode", "M.", &[]);
    s.add_metric(&[], &[("on", true), ("off", false)], None);
    check_exact(
        &s,
        "# HELP mode M.\n# TYPE mode gauge\nmode{mode=\"on\"} 1\nmode{mode=\"off\"} 0\n",
        "# HELP mode M.\n# TYPE mode stateset\nmode{mode=\"on\"} 1\nmode{mode=\"off\"} 0\n# EOF\n",
    );
}

#[test]
fn gauge_histogram_family() {
    let mut g = GaugeHistogramFamily::new("queue_items", "Q.", &[]);
    g.add_metric(&[], &[(1.0, 2), (f64::INFINITY, 3)], 4.0, None);
    check_exact(
        &g,
        "# HELP queue_items Q.\n# TYPE queue_items histogram\n\
         queue_items_bucket{le=\"1.0\"} 2\nqueue_items_bucket{le=\"+Inf\"} 3\n\
         queue_items_count 3\nqueue_items_sum 4.0\n",
        "# HELP queue_items Q.\n# TYPE queue_items gaugehistogram\n\
         queue_items_bucket{le=\"1.0\"} 2\nqueue_items_bucket{le=\"+Inf\"} 3\n\
         queue_items_gcount 3\nqueue_items_gsum 4.0\n# EOF\n",
    );
}

#[test]
fn unknown_family() {
    let mut u = UnknownFamily::new("x", "X.", &[]);
    u.add_metric(&[], 1.0, None);
    check_exact(&u, "# HELP x X.\n# TYPE x untyped\nx 1.0\n", "# HELP x X.\n# TYPE x unknown\nx 1.0\n# EOF\n");
}

#[test]
fn target_info_comes_first() {
    let r = Registry::new();
    Gauge::builder("up", "Up.").register(&r).unwrap().set(1.0);
    r.set_target_info(Some(&[("env", "prod"), ("region", "eu")])).unwrap();
    check(
        &r,
        "# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{env=\"prod\",region=\"eu\"} 1\n\
         # HELP up Up.\n# TYPE up gauge\nup 1.0\n",
        "# HELP target Target metadata\n# TYPE target info\ntarget_info{env=\"prod\",region=\"eu\"} 1\n\
         # HELP up Up.\n# TYPE up gauge\nup 1.0\n# EOF\n",
    );
}

#[test]
fn empty_registry() {
    check(&Registry::new(), "", "# EOF\n");
}

/// One registry with a bit of everything, in registration order, like the
/// Python client's full capture.
fn full_registry() -> Registry {
    let r = Registry::new();
    r.set_target_info(Some(&[("env", "prod")])).unwrap();
    let c: Counter<DynLabels> =
        Counter::builder("requests", "Total requests.").labels(["method", "code"]).register(&r).unwrap();
    c.with_label_values(&["get", "200"]).unwrap().inc_by_u64(3);
    Gauge::builder("temp", "Temperature.").unit("celsius").register(&r).unwrap().set(-3.5);
    let h = Histogram::builder("latency_seconds", "Latency.").buckets([0.1, 0.5, 1.0]).register(&r).unwrap();
    for v in [0.05, 0.3, 2.0] {
        h.observe(v);
    }
    let s = Summary::builder("task_seconds", "Task time.").register(&r).unwrap();
    s.observe(0.2);
    s.observe(0.4);
    Info::builder("build", "Build info.").register(&r).unwrap().info(&[("version", "1.2.3")]).unwrap();
    let e: Enum<&'static str> = Enum::builder("state", "State.").states(["starting", "running"]).register(&r).unwrap();
    e.state("running");
    r
}

const FULL_TEXT: &str = "\
# HELP target_info Target metadata
# TYPE target_info gauge
target_info{env=\"prod\"} 1
# HELP requests_total Total requests.
# TYPE requests_total counter
requests_total{method=\"get\",code=\"200\"} 3
# HELP temp_celsius Temperature.
# TYPE temp_celsius gauge
temp_celsius -3.5
# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{le=\"0.1\"} 1
latency_seconds_bucket{le=\"0.5\"} 2
latency_seconds_bucket{le=\"1.0\"} 2
latency_seconds_bucket{le=\"+Inf\"} 3
latency_seconds_count 3
latency_seconds_sum 2.35
# HELP task_seconds Task time.
# TYPE task_seconds summary
task_seconds_count 2
task_seconds_sum 0.6000000000000001
# HELP build_info Build info.
# TYPE build_info gauge
build_info{version=\"1.2.3\"} 1
# HELP state State.
# TYPE state gauge
state{state=\"starting\"} 0
state{state=\"running\"} 1
";

const FULL_OPENMETRICS: &str = "\
# HELP target Target metadata
# TYPE target info
target_info{env=\"prod\"} 1
# HELP requests Total requests.
# TYPE requests counter
requests_total{method=\"get\",code=\"200\"} 3
requests_created{method=\"get\",code=\"200\"} <T>
# HELP temp_celsius Temperature.
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
temp_celsius -3.5
# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{le=\"0.1\"} 1
latency_seconds_bucket{le=\"0.5\"} 2
latency_seconds_bucket{le=\"1.0\"} 2
latency_seconds_bucket{le=\"+Inf\"} 3
latency_seconds_count 3
latency_seconds_sum 2.35
latency_seconds_created <T>
# HELP task_seconds Task time.
# TYPE task_seconds summary
task_seconds_count 2
task_seconds_sum 0.6000000000000001
task_seconds_created <T>
# HELP build Build info.
# TYPE build info
build_info{version=\"1.2.3\"} 1
# HELP state State.
# TYPE state stateset
state{state=\"starting\"} 0
state{state=\"running\"} 1
# EOF
";

#[test]
fn full_registry_golden() {
    check(&full_registry(), FULL_TEXT, FULL_OPENMETRICS);
}

#[test]
fn full_registry_passes_external_validators() {
    let r = full_registry();
    for format in [Format::TEXT, Format::OPENMETRICS] {
        let text = encode_to_string(&r, format);
        let Some(v) = common::validate("golden-full", &text) else { return };
        assert!(v.ok, "validator refused {format:?}:\n{}\n--- input ---\n{text}", v.output);
    }
}

#[test]
fn custom_families_pass_external_validators() {
    let r = Registry::new();
    let mut c = CounterFamily::new("jobs_total", "Jobs.", &["queue"]);
    c.add_metric(&["a"], 7.0, Some(1_700_000_000.0), None);
    r.register(c).unwrap();
    let mut g = GaugeHistogramFamily::new("queue_items", "Q.", &[]);
    g.add_metric(&[], &[(1.0, 2), (f64::INFINITY, 3)], 4.0, None);
    r.register(g).unwrap();
    let mut s = StateSetFamily::new("mode", "M.", &[]);
    s.add_metric(&[], &[("on", true), ("off", false)], None);
    r.register(s).unwrap();
    let mut i = InfoFamily::new("build", "B.", &[]);
    i.add_metric(&[], &[("version", "1.0")], None);
    r.register(i).unwrap();
    let mut u = UnknownFamily::new("x", "X.", &[]);
    u.add_metric(&[], 1.0, None);
    r.register(u).unwrap();
    let mut len = GaugeFamily::new("len_bytes", "L.", &["k"]).unit("bytes");
    len.add_metric(&["v"], 3.0, Some(1_700_000_000.5));
    r.register(len).unwrap();
    for format in [Format::TEXT, Format::OPENMETRICS] {
        let text = encode_to_string(&r, format);
        let Some(v) = common::validate("golden-custom", &text) else { return };
        assert!(v.ok, "validator refused {format:?}:\n{}\n--- input ---\n{text}", v.output);
    }
}

#[test]
fn custom_family_with_unit_not_in_name_is_valid_openmetrics() {
    let mut size = GaugeFamily::new("size", "S.", &[]).unit("bytes");
    size.add_metric(&[], 3.0, None);
    let text = encode_to_string(&size, Format::OPENMETRICS);
    let Some(v) = common::validate("golden-unit", &text) else { return };
    assert!(v.ok, "validator refused:\n{}\n--- input ---\n{text}", v.output);
}
