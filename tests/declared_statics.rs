//! Unlabelled counters and gauges declared in `metrics!` keep their value in
//! the `static` itself (`promdecl::Declared`): what is recorded before the
//! metric is built is kept, and the metric, its handles and the static all
//! show one value.
//!
//! Each test has a module of its own. Only the first test uses the default
//! registry, whose first use builds every declared metric: the others build
//! only their own module's, through `Deref`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use promdecl::encode::{encode_to_string, Format};
use promdecl::prelude::*;
use promdecl::Declared;

promdecl::metrics! {
    #[metrics(namespace = "decl_before")]
    pub mod before {
        /// Jobs.
        pub static JOBS_TOTAL: Counter;
        /// Queue length.
        pub static QUEUE: Gauge;
    }
}

#[test]
fn updates_before_the_metric_is_built_are_kept() {
    before::JOBS_TOTAL.inc_by_u64(3);
    before::QUEUE.set(2.0);
    assert_eq!(before::JOBS_TOTAL.created(), 0.0, "not started before its metric takes the value");

    let registry = default_registry();
    assert_eq!(registry.get_sample_value("decl_before_jobs_total", &[]), Some(3.0));
    assert_eq!(registry.get_sample_value("decl_before_queue", &[]), Some(2.0));

    before::JOBS_TOTAL.inc();
    before::QUEUE.dec();
    assert_eq!(registry.get_sample_value("decl_before_jobs_total", &[]), Some(4.0));
    assert_eq!(registry.get_sample_value("decl_before_queue", &[]), Some(1.0));

    let created = before::JOBS_TOTAL.created();
    assert!(created > 1.6e9, "started when the metric took the value: {created}");
    let om = encode_to_string(registry, Format::OPENMETRICS);
    assert!(om.contains("decl_before_jobs_total 4\n"), "{om}");
    let shown: f64 = om
        .lines()
        .find_map(|l| l.strip_prefix("decl_before_jobs_created "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no _created sample in\n{om}"));
    assert!((shown - created).abs() < 1e-3, "{shown} vs {created}");
}

promdecl::metrics! {
    #[metrics(namespace = "decl_views")]
    pub mod views {
        /// Jobs.
        pub static JOBS_TOTAL: Counter;
        /// Queue length.
        pub static QUEUE: Gauge;
    }
}

#[test]
fn the_static_its_metric_and_handles_share_one_value() {
    views::JOBS_TOTAL.inc();
    let counter: &Counter = &views::JOBS_TOTAL;
    assert_eq!(counter.name(), "decl_views_jobs");
    counter.inc();
    let handle = counter.labels(&()).handle();
    handle.inc_by(2.0).unwrap();
    assert_eq!(views::JOBS_TOTAL.get(), 4.0);
    assert_eq!(counter.get(), 4.0);
    assert_eq!(handle.get(), 4.0);

    let registry = Registry::new();
    registry.register(counter.clone()).unwrap();
    assert_eq!(registry.get_sample_value("decl_views_jobs_total", &[]), Some(4.0));

    views::JOBS_TOTAL.reset();
    assert_eq!(registry.get_sample_value("decl_views_jobs_total", &[]), Some(0.0));
    views::QUEUE.set_function(|| 7.0);
    let gauge: &Gauge = &views::QUEUE;
    assert_eq!(gauge.get(), 7.0, "the metric reads the callback the static was given");
    assert_eq!(views::QUEUE.get(), 7.0);
}

promdecl::metrics! {
    #[metrics(namespace = "decl_race")]
    pub mod race {
        /// Increments from two threads while the metric is built.
        pub static HITS_TOTAL: Counter;
    }
}

#[test]
fn increments_racing_the_build_are_all_counted() {
    const PER_THREAD: u64 = 50_000;
    let go = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let go = Arc::clone(&go);
            std::thread::spawn(move || {
                while !go.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                for _ in 0..PER_THREAD {
                    race::HITS_TOTAL.inc();
                }
            })
        })
        .collect();
    go.store(true, Ordering::Release);
    let counter: &Counter = &race::HITS_TOTAL;
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(counter.get(), (2 * PER_THREAD) as f64);
}

promdecl::metrics! {
    #[metrics(namespace = "decl_attrs")]
    pub mod attrs {
        /// Failures.
        pub static FAILURES_TOTAL: Counter;
        /// Calls in flight.
        pub static IN_FLIGHT: Gauge;
    }
}

#[count_exceptions(attrs::FAILURES_TOTAL)]
#[track_inprogress(attrs::IN_FLIGHT)]
fn fallible(fail: bool) -> Result<(), &'static str> {
    assert_eq!(attrs::IN_FLIGHT.get(), 1.0);
    if fail {
        Err("no")
    } else {
        Ok(())
    }
}

#[test]
fn function_attributes_record_into_the_static() {
    fallible(false).unwrap();
    fallible(true).unwrap_err();
    assert_eq!(attrs::FAILURES_TOTAL.get(), 1.0);
    assert_eq!(attrs::IN_FLIGHT.get(), 0.0);
}

#[test]
fn a_declared_static_is_a_declared_type() {
    fn takes(_: &'static Declared<Counter>) {}
    takes(&attrs::FAILURES_TOTAL);
}
