//! A counter never wraps around to a small value: its integer part stops
//! taking steps long before u64::MAX and the float part takes the rest.

use promdecl::encode::{encode_to_string, Format};
use promdecl::{parse_text, Counter, Registry};

fn exposed(registry: &Registry) -> f64 {
    let text = encode_to_string(registry, Format::TEXT);
    parse_text(&text).unwrap()[0].samples[0].value.as_f64()
}

#[test]
fn a_huge_add_does_not_wrap() {
    let registry = Registry::new();
    let c = Counter::builder("big", "B.").register(&registry).unwrap();
    c.inc();
    c.inc_by_u64(u64::MAX);
    assert!(c.get() >= u64::MAX as f64, "{}", c.get());
    c.inc_by_u64(5);
    c.inc();
    assert!(c.get() >= u64::MAX as f64, "{}", c.get());
    assert!(exposed(&registry) >= u64::MAX as f64);
}

#[test]
fn many_large_whole_increments_do_not_wrap() {
    let registry = Registry::new();
    let c = Counter::builder("steps", "S.").labels(["k"]).register(&registry).unwrap();
    let child = c.with_label_values(&["a"]).unwrap();
    let step = 9_007_199_254_740_992.0; // 2^53, the largest exact whole increment
    let mut last = 0.0;
    for i in 1..=4096u32 {
        child.inc_by(step).unwrap();
        let now = child.get();
        assert!(now >= last, "went down from {last} to {now} at step {i}");
        last = now;
    }
    // 4096 * 2^53 = 2^65, four times u64::MAX.
    assert!(last >= 2f64.powi(65) * 0.999, "{last}");
    assert!(exposed(&registry) >= 2f64.powi(65) * 0.999);
}
