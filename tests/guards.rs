//! Guards that record on drop: timers, exception counters and in-progress
//! gauges, on normal exit, on panic and on cancellation, unlabelled and
//! through a labelled child.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use promdecl::{Counter, DynLabels, Gauge, Histogram, Registry, Summary};

const NAP: Duration = Duration::from_millis(20);

/// Runs `f`, which must panic.
fn panics(f: impl FnOnce()) {
    assert!(catch_unwind(AssertUnwindSafe(f)).is_err(), "expected a panic");
}

#[test]
fn timer_observes_on_drop() {
    let h = Histogram::builder("h", "H.").buckets([0.001, 10.0]).build().unwrap();
    {
        let _t = h.time();
        std::thread::sleep(NAP);
    }
    assert_eq!(h.count(), 1);
    assert!(h.sum() >= NAP.as_secs_f64() && h.sum() < 10.0, "sum {}", h.sum());
    assert_eq!(h.bucket_counts(), [0, 1, 1]);

    let s = Summary::builder("s", "S.").build().unwrap();
    drop(s.time());
    assert_eq!(s.count(), 1);

    let g = Gauge::builder("g", "G.").build().unwrap();
    g.set(-1.0);
    {
        let _t = g.time();
        std::thread::sleep(NAP);
    }
    assert!(g.get() >= NAP.as_secs_f64() && g.get() < 10.0, "gauge {}", g.get());
}

#[test]
fn timer_observes_on_panic() {
    let h = Histogram::builder("h", "H.").build().unwrap();
    panics(|| {
        let _t = h.time();
        panic!("boom");
    });
    assert_eq!(h.count(), 1);

    let s = Summary::builder("s", "S.").build().unwrap();
    panics(|| {
        s.time_fn(|| panic!("boom"));
    });
    assert_eq!(s.count(), 1);
}

#[test]
fn timer_records_once() {
    let h = Histogram::builder("h", "H.").build().unwrap();
    let t = h.time();
    std::thread::sleep(NAP);
    let secs = t.observe_duration();
    assert!(secs >= NAP.as_secs_f64());
    assert_eq!(h.count(), 1);
    assert_eq!(h.sum(), secs);

    h.time().discard();
    assert_eq!(h.count(), 1);

    assert_eq!(h.time_fn(|| 7), 7);
    assert_eq!(h.count(), 2);
}

#[test]
fn timer_observes_when_a_future_is_cancelled() {
    let h = Histogram::builder("h", "H.").build().unwrap();
    {
        let mut fut = pin!(async {
            let _t = h.time();
            std::future::pending::<()>().await;
        });
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(h.count(), 0);
    }
    assert_eq!(h.count(), 1);
}

#[test]
fn labelled_timers() {
    let r = Registry::new();
    let h: Histogram<DynLabels> = Histogram::builder("op_seconds", "O.").labels(["op"]).register(&r).unwrap();
    {
        let _t = h.with_label_values(&["read"]).unwrap().time();
    }
    panics(|| {
        let _t = h.with_label_values(&["write"]).unwrap().time();
        panic!("boom");
    });
    h.with_label_values(&["read"]).unwrap().time_fn(|| ());
    assert_eq!(r.get_sample_value("op_seconds_count", &[("op", "read")]), Some(2.0));
    assert_eq!(r.get_sample_value("op_seconds_count", &[("op", "write")]), Some(1.0));

    let s: Summary<DynLabels> = Summary::builder("job_seconds", "J.").labels(["job"]).register(&r).unwrap();
    drop(s.labels(&DynLabels::new(["a"])).time());
    assert_eq!(r.get_sample_value("job_seconds_count", &[("job", "a")]), Some(1.0));

    let g: Gauge<DynLabels> = Gauge::builder("last_seconds", "L.").labels(["job"]).register(&r).unwrap();
    {
        let _t = g.with_label_values(&["a"]).unwrap().time();
        std::thread::sleep(NAP);
    }
    assert!(r.get_sample_value("last_seconds", &[("job", "a")]).unwrap() >= NAP.as_secs_f64());
}

#[test]
fn exception_guard_counts_panics_only() {
    let errors = Counter::builder("errors", "E.").build().unwrap();
    {
        let _g = errors.count_exceptions();
    }
    assert_eq!(errors.get(), 0.0);
    panics(|| {
        let _g = errors.count_exceptions();
        panic!("boom");
    });
    assert_eq!(errors.get(), 1.0);
    // A guard that ended before the panic does not count it.
    panics(|| {
        errors.count_exceptions().disarm();
        panic!("boom");
    });
    assert_eq!(errors.get(), 1.0);
}

#[test]
fn exception_guard_counts_errors_through_check() {
    let errors = Counter::builder("errors", "E.").build().unwrap();
    let ok: Result<u8, String> = errors.count_exceptions().check(Ok(1));
    assert_eq!(ok, Ok(1));
    assert_eq!(errors.get(), 0.0);
    let err: Result<u8, String> = errors.count_exceptions().check(Err("bad".to_owned()));
    assert_eq!(err, Err("bad".to_owned()));
    assert_eq!(errors.get(), 1.0);

    #[derive(Debug, PartialEq)]
    enum E {
        Timeout,
        Refused,
    }
    let only_timeouts = |e: &E| *e == E::Timeout;
    assert_eq!(errors.count_exceptions().check_if(Err::<(), _>(E::Refused), only_timeouts), Err(E::Refused));
    assert_eq!(errors.get(), 1.0);
    assert_eq!(errors.count_exceptions().check_if(Err::<(), _>(E::Timeout), only_timeouts), Err(E::Timeout));
    assert_eq!(errors.get(), 2.0);
    let _ = errors.count_exceptions().check_if(Ok::<(), E>(()), |_| true);
    assert_eq!(errors.get(), 2.0);

    errors.count_exceptions().count();
    assert_eq!(errors.get(), 3.0);
}

#[test]
fn labelled_exception_guards() {
    let r = Registry::new();
    let errors: Counter<DynLabels> = Counter::builder("errors", "E.").labels(["op"]).register(&r).unwrap();
    panics(|| {
        let _g = errors.with_label_values(&["read"]).unwrap().count_exceptions();
        panic!("boom");
    });
    let _ = errors.with_label_values(&["write"]).unwrap().count_exceptions().check(Err::<(), _>("bad"));
    let _ = errors.labels(&DynLabels::new(["write"])).count_exceptions().check(Ok::<(), &str>(()));
    assert_eq!(r.get_sample_value("errors_total", &[("op", "read")]), Some(1.0));
    assert_eq!(r.get_sample_value("errors_total", &[("op", "write")]), Some(1.0));
}

#[test]
fn in_progress_guard_decrements_on_drop_and_panic() {
    let g = Gauge::builder("busy", "B.").build().unwrap();
    {
        let _a = g.track_inprogress();
        let _b = g.track_inprogress();
        assert_eq!(g.get(), 2.0);
    }
    assert_eq!(g.get(), 0.0);
    panics(|| {
        let _a = g.track_inprogress();
        assert_eq!(g.get(), 1.0);
        panic!("boom");
    });
    assert_eq!(g.get(), 0.0);
}

#[test]
fn labelled_in_progress_guards() {
    let r = Registry::new();
    let g: Gauge<DynLabels> = Gauge::builder("in_flight", "I.").labels(["route"]).register(&r).unwrap();
    let a = g.with_label_values(&["/a"]).unwrap().track_inprogress();
    let b = g.labels(&DynLabels::new(["/b"])).track_inprogress();
    assert_eq!(r.get_sample_value("in_flight", &[("route", "/a")]), Some(1.0));
    assert_eq!(r.get_sample_value("in_flight", &[("route", "/b")]), Some(1.0));
    panics(move || {
        let _a = a;
        panic!("boom");
    });
    assert_eq!(r.get_sample_value("in_flight", &[("route", "/a")]), Some(0.0));
    assert_eq!(r.get_sample_value("in_flight", &[("route", "/b")]), Some(1.0));
    drop(b);
    assert_eq!(r.get_sample_value("in_flight", &[("route", "/b")]), Some(0.0));
}

#[test]
fn guards_cross_threads() {
    // Guards on labelled children own a handle, so they can be moved.
    let g: Gauge<DynLabels> = Gauge::builder("in_flight", "I.").labels(["k"]).build().unwrap();
    let guard = g.with_label_values(&["x"]).unwrap().track_inprogress();
    assert_eq!(g.with_label_values(&["x"]).unwrap().get(), 1.0);
    std::thread::spawn(move || drop(guard)).join().unwrap();
    assert_eq!(g.with_label_values(&["x"]).unwrap().get(), 0.0);

    let h: Histogram<DynLabels> = Histogram::builder("h", "H.").labels(["k"]).build().unwrap();
    let t = h.with_label_values(&["x"]).unwrap().time();
    std::thread::spawn(move || drop(t)).join().unwrap();
    assert_eq!(h.with_label_values(&["x"]).unwrap().count(), 1);
}
