//! Cardinality limits and expiry of label children.

use std::time::Duration;

use promdecl::encode::{encode_to_string, Format};
use promdecl::{Counter, Error, Histogram, Registry};

#[test]
fn an_attacker_controlled_label_stream_cannot_grow_the_family_past_its_limit() {
    let registry = Registry::new();
    let c = Counter::builder("requests", "R.").labels(["user_agent"]).max_children(1000).register(&registry).unwrap();
    for i in 0..50_000 {
        c.with_label_values(&[&format!("agent-{i}")]).unwrap().inc();
    }
    assert_eq!(c.len(), 1000);
    // Nothing is lost: what did not fit is counted in the overflow series.
    assert_eq!(registry.get_sample_value("requests_total", &[("user_agent", "__overflow__")]), Some(49_000.0));
    assert_eq!(registry.get_sample_value("requests_total", &[("user_agent", "agent-7")]), Some(1.0));
    // Known children keep working when the family is full.
    c.with_label_values(&["agent-7"]).unwrap().inc();
    assert_eq!(registry.get_sample_value("requests_total", &[("user_agent", "agent-7")]), Some(2.0));
    let text = encode_to_string(&registry, Format::TEXT);
    assert_eq!(text.lines().filter(|l| l.starts_with("requests_total{")).count(), 1001);
}

#[test]
fn the_fallible_api_refuses_new_label_sets_when_full() {
    let h = Histogram::builder("latency_seconds", "L.").labels(["tenant"]).max_children(2).build().unwrap();
    h.try_with_label_values(&["a"]).unwrap().observe(0.1);
    h.try_with_label_values(&["b"]).unwrap().observe(0.1);
    let err = h.try_with_label_values(&["c"]).err().expect("full");
    assert!(matches!(err, Error::CardinalityLimit { limit: 2, .. }));
    assert!(err.to_string().contains("latency_seconds"), "{err}");
    // Existing children are still available through the fallible API.
    h.try_with_label_values(&["a"]).unwrap().observe(0.2);
    assert_eq!(h.with_label_values(&["a"]).unwrap().count(), 2);
}

#[test]
fn expired_children_leave_the_exposition_and_come_back_at_zero() {
    let registry = Registry::new();
    let c = Counter::builder("sessions", "S.")
        .labels(["session"])
        .expire_after(Duration::from_secs(1))
        .register(&registry)
        .unwrap();
    c.with_label_values(&["old"]).unwrap().add(5);
    c.with_label_values(&["live"]).unwrap().inc();
    let lookup = |s: &str| registry.get_sample_value("sessions_total", &[("session", s)]);
    assert_eq!(lookup("old"), Some(5.0)); // scrape 1: used since the last scrape
    assert_eq!(lookup("old"), Some(5.0)); // scrape 2: idle from now on
    std::thread::sleep(Duration::from_millis(2100));
    c.with_label_values(&["live"]).unwrap().inc();
    assert_eq!(lookup("old"), None, "idle for more than a second: expired");
    assert_eq!(lookup("live"), Some(2.0), "used between scrapes: kept");
    assert_eq!(c.len(), 1);
    c.with_label_values(&["old"]).unwrap().inc();
    assert_eq!(lookup("old"), Some(1.0), "back, from zero");
}
