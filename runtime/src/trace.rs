//! Exemplars from the current OpenTelemetry trace (feature `opentelemetry`).
//!
//! [`TraceIds::current`] reads the span context that is current where it is
//! called: the one a tracer's `in_span` makes current, or, with
//! `tracing-opentelemetry` installed as a layer, the context of the entered
//! `tracing` span. When that context is valid and sampled, its ids become an
//! exemplar `{trace_id="…",span_id="…"}` (63 of the 128 characters
//! OpenMetrics allows), so a latency bucket in Prometheus links to the trace
//! that landed in it.
//!
//! ```
//! use promdecl_runtime::{Histogram, TraceIds};
//!
//! let latency = Histogram::builder("request_seconds", "Latency.").buckets([0.1, 1.0]).build().unwrap();
//! // Outside any span there is no trace: the observation counts, no exemplar.
//! assert!(TraceIds::current().is_none());
//! latency.observe_with_trace(0.05);
//! assert_eq!(latency.count(), 1);
//! assert!(latency.bucket_exemplar(0).is_none());
//! ```
//!
//! `#[timed(METRIC, trace_exemplar)]` does the same for a function: the
//! trace current when the function is entered is the exemplar of its
//! duration.

use opentelemetry::trace::TraceContextExt;

use crate::clock::Instant;
use crate::family::{Handle, Labeled};
use crate::metric::{CounterCell, HistogramCell, Observe, ObserveWithExemplar};
use crate::LabelSet;

/// The ids of a sampled trace and span, in the lowercase hex of the W3C
/// Trace Context: 32 digits for the trace, 16 for the span.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TraceIds {
    trace_id: [u8; 32],
    span_id: [u8; 16],
}

impl TraceIds {
    /// The ids of the span context current on this thread, if it is valid
    /// and sampled (an exemplar pointing at a trace that was not kept would
    /// lead nowhere).
    ///
    /// ```
    /// assert!(promdecl_runtime::TraceIds::current().is_none());
    /// ```
    pub fn current() -> Option<TraceIds> {
        let cx = opentelemetry::Context::current();
        let span = cx.span();
        let sc = span.span_context();
        (sc.is_valid() && sc.is_sampled())
            .then(|| TraceIds { trace_id: hex(sc.trace_id().to_bytes()), span_id: hex(sc.span_id().to_bytes()) })
    }

    /// The trace id, 32 hex digits.
    pub fn trace_id(&self) -> &str {
        std::str::from_utf8(&self.trace_id).expect("hex digits")
    }

    /// The span id, 16 hex digits.
    pub fn span_id(&self) -> &str {
        std::str::from_utf8(&self.span_id).expect("hex digits")
    }

    /// The exemplar labels: `trace_id` and `span_id`.
    pub fn labels(&self) -> [(&'static str, &str); 2] {
        [("trace_id", self.trace_id()), ("span_id", self.span_id())]
    }
}

impl std::fmt::Debug for TraceIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceIds").field("trace_id", &self.trace_id()).field("span_id", &self.span_id()).finish()
    }
}

fn hex<const N: usize, const H: usize>(bytes: [u8; N]) -> [u8; H] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; H];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    out
}

/// A timer that, when dropped, observes the elapsed seconds with the trace
/// that was current when it started as the exemplar; without one, it
/// observes plainly. Made by `#[timed(METRIC, trace_exemplar)]` and
/// [`HistogramCell::time_with_trace`](crate::HistogramCell::time_with_trace).
///
/// ```
/// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
/// drop(h.time_with_trace());
/// assert_eq!(h.count(), 1);
/// ```
#[must_use = "a timer records when dropped; binding it to `_` drops it at once"]
pub struct TraceTimer<O: Observe + ObserveWithExemplar> {
    target: Option<O>,
    start: Instant,
    ids: Option<TraceIds>,
}

impl<O: Observe + ObserveWithExemplar> TraceTimer<O> {
    /// A timer started at `start` that records `ids` (if any) as the
    /// exemplar.
    pub fn new(target: O, start: Instant, ids: Option<TraceIds>) -> Self {
        TraceTimer { target: Some(target), start, ids }
    }

    /// Drops the timer without recording.
    pub fn discard(mut self) {
        self.target = None;
    }
}

impl<O: Observe + ObserveWithExemplar> Drop for TraceTimer<O> {
    fn drop(&mut self) {
        let seconds = crate::clock::seconds_since(self.start);
        match (self.target.take(), &self.ids) {
            (Some(target), Some(ids)) => target.observe_duration_with_exemplar(seconds, &ids.labels()),
            (Some(target), None) => target.observe_duration(seconds),
            (None, _) => {}
        }
    }
}

impl HistogramCell {
    /// Records `v`, with the current trace (see [`TraceIds::current`]) as
    /// the exemplar of its bucket when there is one.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").build().unwrap();
    /// h.observe_with_trace(0.2);
    /// assert_eq!(h.count(), 1);
    /// ```
    pub fn observe_with_trace(&self, v: f64) {
        match TraceIds::current() {
            // Trace ids always fit the exemplar rules.
            Some(ids) => drop(self.observe_with_exemplar(v, &ids.labels())),
            None => self.observe(v),
        }
    }

    /// A timer that observes the elapsed seconds when dropped, with the
    /// trace current now as the exemplar.
    pub fn time_with_trace(&self) -> TraceTimer<&Self> {
        TraceTimer::new(self, crate::clock::now(), TraceIds::current())
    }
}

impl<L: LabelSet> Labeled<'_, L, HistogramCell> {
    /// See [`HistogramCell::observe_with_trace`].
    pub fn observe_with_trace(&self, v: f64) {
        let ids = TraceIds::current();
        self.with(|c| match ids {
            Some(ids) => drop(c.observe_with_exemplar(v, &ids.labels())),
            None => c.observe(v),
        })
    }

    /// See [`HistogramCell::time_with_trace`].
    pub fn time_with_trace(&self) -> TraceTimer<Handle<HistogramCell>> {
        TraceTimer::new(self.handle(), crate::clock::now(), TraceIds::current())
    }
}

impl CounterCell {
    /// Adds one, with the current trace (see [`TraceIds::current`]) as the
    /// exemplar when there is one.
    ///
    /// ```
    /// let c = promdecl_runtime::Counter::builder("c", "C.").build().unwrap();
    /// c.inc_with_trace();
    /// assert_eq!(c.get(), 1.0);
    /// ```
    pub fn inc_with_trace(&self) {
        match TraceIds::current() {
            Some(ids) => drop(self.inc_with_exemplar(&ids.labels())),
            None => self.inc(),
        }
    }
}

impl<L: LabelSet> Labeled<'_, L, CounterCell> {
    /// See [`CounterCell::inc_with_trace`].
    pub fn inc_with_trace(&self) {
        let ids = TraceIds::current();
        self.with(|c| match ids {
            Some(ids) => drop(c.inc_with_exemplar(&ids.labels())),
            None => c.inc(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_lowercase_hex() {
        assert_eq!(super::hex::<2, 4>([0xab, 0x09]), *b"ab09");
    }
}
