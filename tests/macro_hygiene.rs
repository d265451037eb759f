//! Every macro still compiles in a module that shadows `std`, `core`, the
//! prelude's names and `promdecl` itself: generated code uses absolute paths.

#![allow(dead_code, non_camel_case_types, clippy::disallowed_names)]

mod shadowed {
    mod std {}
    mod core {}
    mod promdecl {}
    struct Result;
    struct Ok;
    struct Err;
    struct Option;
    struct Some;
    struct None;
    struct Box;
    struct Vec;
    struct String;
    trait Clone {}
    trait Default {}

    use ::promdecl::{count_exceptions, metrics, timed, track_inprogress, LabelSet, LabelValue, Metrics};

    #[derive(::core::clone::Clone, ::core::marker::Copy, PartialEq, Eq, Hash, LabelValue)]
    #[label(rename_all = "lowercase")]
    pub enum Kind {
        Alpha,
        Beta,
    }

    #[derive(::core::clone::Clone, PartialEq, Eq, Hash, LabelSet)]
    pub struct Labels {
        kind: Kind,
        name: &'static str,
    }

    impl Labels {
        pub fn new(kind: Kind, name: &'static str) -> Self {
            Labels { kind, name }
        }
    }

    metrics! {
        /// Shadowed.
        #[metrics(namespace = "hygiene")]
        pub mod m {
            /// Calls.
            pub static CALLS_TOTAL: Counter<Labels>;
            /// Latency.
            #[buckets(0.1, 1)]
            pub static LATENCY_SECONDS: Histogram;
            /// In flight.
            pub static IN_FLIGHT: Gauge;
            /// Errors.
            pub static ERRORS_TOTAL: Counter;
            /// State.
            pub static STATE: Enum<Kind>;
            /// Build.
            pub static BUILD: Info;
            /// Sizes.
            pub static SIZES: Summary;
        }
    }

    #[derive(Metrics)]
    pub struct Group {
        /// Jobs.
        jobs_total: ::promdecl::Counter,
    }

    #[derive(::core::clone::Clone, Metrics)]
    #[metrics(namespace = "hygiene", subsystem = "full")]
    pub struct FullGroup {
        /// Latency by label set.
        #[metric(buckets = [0.1, 1.0], unit = "seconds", name = "lat")]
        pub latency: ::promdecl::Histogram<Labels>,
        /// Sizes with quantiles.
        #[metric(quantiles = [(0.5, 0.05), (0.99, 0.001)], max_age_seconds = 60, age_buckets = 3)]
        pub sizes: ::promdecl::Summary,
        /// Calls by label set, bounded.
        #[metric(max_children = 10, expire_after_seconds = 60)]
        pub calls_total: ::promdecl::Counter<Labels>,
        /// Contended.
        pub hot_total: ::promdecl::ShardedCounter,
    }

    metrics! {
        /// Shadowed, with labels.
        #[metrics(namespace = "hygiene", subsystem = "labelled")]
        pub mod l {
            /// Latency by label set.
            #[buckets(0.1, 1)]
            pub static LATENCY_SECONDS: Histogram<Labels>;
            /// Errors by label set.
            pub static ERRORS_TOTAL: Counter<Labels>;
            /// In flight by label set.
            pub static IN_FLIGHT: Gauge<Labels>;
            /// Async latency.
            pub static ASYNC_SECONDS: Summary;
            /// Async errors.
            pub static ASYNC_ERRORS_TOTAL: Counter;
            /// Contended.
            pub static HOT_TOTAL: ShardedCounter;
        }
    }

    #[timed(l::LATENCY_SECONDS, labels = Labels { kind, name: "labelled" }, exemplar(trace_id = "abc"))]
    #[track_inprogress(l::IN_FLIGHT, labels = Labels { kind, name: "labelled" })]
    #[count_exceptions(l::ERRORS_TOTAL, labels = Labels { kind, name: "labelled" }, filter = |e: &&str| e.starts_with('f'))]
    pub fn labelled(kind: Kind, fail: bool) -> ::core::result::Result<u32, &'static str> {
        l::HOT_TOTAL.inc();
        if fail {
            return ::core::result::Result::Err("failed");
        }
        ::core::result::Result::Ok(2)
    }

    #[timed(l::ASYNC_SECONDS)]
    #[count_exceptions(l::ASYNC_ERRORS_TOTAL)]
    pub async fn asynchronous(text: &str) -> ::core::result::Result<u32, ::core::num::ParseIntError> {
        let n: u32 = text.parse()?;
        ::core::result::Result::Ok(n)
    }

    pub fn full_group() -> FullGroup {
        FullGroup::new()
    }

    #[timed(m::LATENCY_SECONDS)]
    #[track_inprogress(m::IN_FLIGHT)]
    #[count_exceptions(m::ERRORS_TOTAL)]
    pub fn work(fail: bool) -> ::core::result::Result<u32, &'static str> {
        m::CALLS_TOTAL.labels(&Labels { kind: Kind::Beta, name: "x" }).inc();
        if fail {
            return ::core::result::Result::Err("failed");
        }
        ::core::result::Result::Ok(1)
    }

    pub fn group() -> Group {
        Group::new()
    }
}

#[test]
fn macros_work_with_shadowed_names() {
    assert_eq!(shadowed::work(false), Ok(1));
    assert_eq!(shadowed::work(true), Err("failed"));
    assert_eq!(shadowed::m::ERRORS_TOTAL.get(), 1.0);
    assert_eq!(shadowed::m::LATENCY_SECONDS.count(), 2);
    let labels = [("kind", "beta"), ("name", "x")];
    assert_eq!(promdecl::default_registry().get_sample_value("hygiene_calls_total", &labels), Some(2.0));
    let registry = promdecl::Registry::new();
    registry.register(shadowed::group()).unwrap();
    assert_eq!(registry.get_sample_value("jobs_total", &[]), Some(0.0));
}

#[test]
fn labels_filters_async_and_every_declaration_option_with_shadowed_names() {
    use shadowed::{Kind, Labels};
    assert_eq!(shadowed::labelled(Kind::Alpha, false), Ok(2));
    assert_eq!(shadowed::labelled(Kind::Alpha, true), Err("failed"));
    let labels = [("kind", "alpha"), ("name", "labelled")];
    let registry = promdecl::default_registry();
    assert_eq!(registry.get_sample_value("hygiene_labelled_latency_seconds_count", &labels), Some(2.0));
    assert_eq!(registry.get_sample_value("hygiene_labelled_errors_total", &labels), Some(1.0));
    assert_eq!(registry.get_sample_value("hygiene_labelled_in_flight", &labels), Some(0.0));
    assert_eq!(registry.get_sample_value("hygiene_labelled_hot_total", &[]), Some(2.0));

    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    for text in ["1", "x"] {
        let mut future = std::pin::pin!(shadowed::asynchronous(text));
        assert!(std::future::Future::poll(future.as_mut(), &mut cx).is_ready());
    }
    assert_eq!(shadowed::l::ASYNC_SECONDS.count(), 2);
    assert_eq!(shadowed::l::ASYNC_ERRORS_TOTAL.get(), 1.0);

    let group = shadowed::full_group();
    let own = promdecl::Registry::new();
    own.register(group.clone()).unwrap();
    group.latency.labels(&Labels::new(Kind::Beta, "g")).observe(0.5);
    group.sizes.observe(3.0);
    group.calls_total.labels(&Labels::new(Kind::Beta, "g")).inc();
    group.hot_total.inc();
    let labels = [("kind", "beta"), ("name", "g")];
    assert_eq!(
        own.get_sample_value("hygiene_full_lat_seconds_bucket", &[("kind", "beta"), ("name", "g"), ("le", "1.0")]),
        Some(1.0)
    );
    assert_eq!(own.get_sample_value("hygiene_full_sizes", &[("quantile", "0.5")]), Some(3.0));
    assert_eq!(own.get_sample_value("hygiene_full_calls_total", &labels), Some(1.0));
    assert_eq!(own.get_sample_value("hygiene_full_hot_total", &[]), Some(1.0));
}
