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
