//! With `_created` series turned off (a process-wide switch, hence its own
//! test binary), OpenMetrics has no `_created` samples, while the registry
//! still reserves the names, as in the Python client.

use promdecl::encode::{encode_to_string, Format};
use promdecl::{Counter, CounterFamily, Gauge, Histogram, Registry, Summary};

#[test]
fn no_created_samples_but_names_stay_reserved() {
    promdecl::set_created_series(false);
    assert!(!promdecl::created_series());
    let r = Registry::new();
    Counter::builder("c", "C.").register(&r).unwrap().inc();
    Histogram::builder("h", "H.").buckets([1.0]).register(&r).unwrap().observe(0.5);
    Summary::builder("s", "S.").register(&r).unwrap().observe(2.0);
    let mut f = CounterFamily::new("f", "F.", &[]);
    f.add_metric(&[], 1.0, Some(1_700_000_000.0), None);
    r.register(f).unwrap();
    assert_eq!(
        encode_to_string(&r, Format::OPENMETRICS),
        "# HELP c C.\n# TYPE c counter\nc_total 1\n\
         # HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0.5\n\
         # HELP s S.\n# TYPE s summary\ns_count 1\ns_sum 2.0\n\
         # HELP f F.\n# TYPE f counter\nf_total 1.0\n# EOF\n"
    );
    for name in ["c_created", "h_created", "s_created", "f_created"] {
        assert!(Gauge::builder(name, "G.").register(&r).is_err(), "{name} is not reserved");
    }

    promdecl::set_created_series(true);
    assert!(encode_to_string(&r, Format::OPENMETRICS).contains("\nc_created "));
}
