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
    c.with_label_values(&["old"]).unwrap().inc_by_u64(5);
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

#[test]
fn a_label_value_spelled_like_the_overflow_series_joins_it() {
    let registry = Registry::new();
    let c = Counter::builder("requests", "R.").labels(["user_agent"]).max_children(2).register(&registry).unwrap();
    // Sent before the family is full: it must not become a second series
    // with the overflow series' labels.
    c.with_label_values(&["__overflow__"]).unwrap().inc();
    c.try_with_label_values(&["__overflow__"]).unwrap().inc();
    c.with_label_values(&["a"]).unwrap().inc();
    c.with_label_values(&["b"]).unwrap().inc();
    c.with_label_values(&["c"]).unwrap().inc(); // past the limit
    c.with_label_values(&["__overflow__"]).unwrap().handle().inc();
    let text = encode_to_string(&registry, Format::TEXT);
    let overflow: Vec<&str> =
        text.lines().filter(|l| l.starts_with("requests_total{user_agent=\"__overflow__\"}")).collect();
    assert_eq!(overflow, ["requests_total{user_agent=\"__overflow__\"} 4"], "{text}");
    assert_eq!(c.len(), 2, "only a and b are children of their own");

    // With several labels, the overflow series has every value spelled so;
    // a set with only some of them is an ordinary child.
    let g = Counter::builder("pairs", "P.").labels(["a", "b"]).max_children(5).build().unwrap();
    g.with_label_values(&["__overflow__", "x"]).unwrap().inc();
    g.with_label_values(&["__overflow__", "__overflow__"]).unwrap().inc();
    assert_eq!(g.len(), 1);
}

#[test]
fn a_child_held_by_a_handle_does_not_expire() {
    let registry = Registry::new();
    let c = Counter::builder("sessions", "S.")
        .labels(["session"])
        .expire_after(Duration::from_secs(1))
        .register(&registry)
        .unwrap();
    let held = c.with_label_values(&["held"]).unwrap().handle();
    held.inc();
    let lookup = |s: &str| registry.get_sample_value("sessions_total", &[("session", s)]);
    assert_eq!(lookup("held"), Some(1.0));
    assert_eq!(lookup("held"), Some(1.0));
    std::thread::sleep(Duration::from_millis(2100));
    // Updated only through the handle, never looked up: still exposed, and
    // nothing recorded through the handle is lost.
    held.inc();
    assert_eq!(lookup("held"), Some(2.0));
    let twin = held.clone();
    drop(held);
    twin.inc();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(lookup("held"), Some(3.0), "a clone still holds it");

    // Once every handle is gone, it expires like any idle child.
    drop(twin);
    assert_eq!(lookup("held"), Some(3.0)); // idle from now on
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(lookup("held"), None);
}
