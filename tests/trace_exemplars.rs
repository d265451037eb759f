//! Exemplars taken from the current OpenTelemetry trace (feature
//! `opentelemetry`): through a tracer's spans, through `tracing` spans with
//! the `tracing-opentelemetry` layer, and with `#[timed(M, trace_exemplar)]`.
#![cfg(feature = "opentelemetry")]

use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use promdecl::encode::{encode_to_string, Format};
use promdecl::prelude::*;
use promdecl::{Registry, TraceIds};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

fn provider(sampler: Sampler) -> SdkTracerProvider {
    SdkTracerProvider::builder().with_sampler(sampler).build()
}

/// The ids of the span context current now, as the exemplar should show them.
fn current_ids() -> (String, String) {
    let cx = opentelemetry::Context::current();
    let sc = cx.span().span_context().clone();
    (sc.trace_id().to_string(), sc.span_id().to_string())
}

fn exemplar_labels(h: &Histogram, bucket: usize) -> Vec<(String, String)> {
    h.bucket_exemplar(bucket).expect("an exemplar").labels
}

#[test]
fn observations_in_a_sampled_span_carry_its_ids() {
    let tracer = provider(Sampler::AlwaysOn).tracer("test");
    let h = Histogram::builder("op_seconds", "Op.").buckets([0.1, 1.0]).build().unwrap();
    let c = Counter::builder("ops", "Ops.").build().unwrap();
    let expected = tracer.in_span("op", |_| {
        h.observe_with_trace(0.05);
        c.inc_with_trace();
        current_ids()
    });
    assert_eq!(expected.0.len(), 32);
    assert_eq!(
        exemplar_labels(&h, 0),
        [("trace_id".to_owned(), expected.0.clone()), ("span_id".to_owned(), expected.1.clone())]
    );
    assert_eq!(c.exemplar().unwrap().labels[0], ("trace_id".to_owned(), expected.0));
    // Outside the span: counted, but the exemplar is not replaced.
    h.observe_with_trace(0.06);
    assert_eq!(h.count(), 2);
    assert_eq!(exemplar_labels(&h, 0)[1].1, expected.1);
}

#[test]
fn unsampled_or_missing_traces_give_no_exemplar() {
    let tracer = provider(Sampler::AlwaysOff).tracer("test");
    let h = Histogram::builder("op_seconds", "Op.").buckets([0.1]).build().unwrap();
    tracer.in_span("dropped", |cx| {
        assert!(cx.span().span_context().is_valid());
        assert!(TraceIds::current().is_none(), "an unsampled trace leads nowhere");
        h.observe_with_trace(0.05);
    });
    h.observe_with_trace(0.05);
    assert_eq!(h.count(), 2);
    assert!(h.bucket_exemplar(0).is_none());
}

promdecl::metrics! {
    /// Metrics of the trace exemplar tests.
    #[metrics(namespace = "traced")]
    pub mod m {
        /// Handler latency.
        #[buckets(0.5, 10)]
        pub static HANDLER_SECONDS: Histogram;
    }
}

#[timed(m::HANDLER_SECONDS, trace_exemplar)]
fn handler() -> (String, String) {
    current_ids()
}

#[test]
fn timed_functions_in_tracing_spans_link_their_duration_to_the_trace() {
    let tracer = provider(Sampler::AlwaysOn).tracer("test");
    let subscriber = tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    let (ids, span_ids) = tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request");
        let _entered = span.enter();
        let sc = span.context().span().span_context().clone();
        (handler(), (sc.trace_id().to_string(), sc.span_id().to_string()))
    });
    assert_eq!(ids, span_ids, "the tracing span's context is the current one inside it");
    let e = m::HANDLER_SECONDS.bucket_exemplar(0).expect("the duration's exemplar");
    assert_eq!(e.labels, [("trace_id".to_owned(), ids.0.clone()), ("span_id".to_owned(), ids.1)]);

    let registry = Registry::new();
    registry.register(m::HANDLER_SECONDS.clone()).unwrap();
    let om = encode_to_string(&registry, Format::OPENMETRICS);
    let line = om.lines().find(|l| l.starts_with("traced_handler_seconds_bucket{le=\"0.5\"}")).unwrap();
    assert!(line.contains(&format!("# {{trace_id=\"{}\",span_id=\"", ids.0)), "{line}");
    // Without a span the function is still timed, and keeps the exemplar it had.
    handler();
    assert_eq!(m::HANDLER_SECONDS.count(), 2);
}
