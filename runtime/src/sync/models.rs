//! What the loom models share: how they run, and a scrape that keeps what a
//! collector wrote.

use crate::encode::{CollectError, Descriptor, EncodeLabels, Extra, LabelSink, MetricEncoder, Number, Sample};

/// The preemption bound when `LOOM_MAX_PREEMPTIONS` is unset: every model
/// explores as many interleavings under it as with no bound at all.
const PREEMPTIONS: usize = 12;

/// Checks `f` under every interleaving loom finds within its preemption
/// bound (`LOOM_MAX_PREEMPTIONS`, [`PREEMPTIONS`] when unset), and says how
/// many there were (shown with `--nocapture`).
pub(crate) fn check(f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(PREEMPTIONS);
    }
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&runs);
    builder.check(move || {
        counted.fetch_add(1, Relaxed);
        f()
    });
    let name = std::thread::current().name().unwrap_or("model").to_owned();
    eprintln!("{name}: {} interleavings", runs.load(Relaxed));
}

/// Lets other threads run until `flag` is set.
pub(crate) fn wait_for(flag: &crate::sync::atomic::AtomicBool) {
    while !flag.load(crate::sync::atomic::Ordering::Acquire) {
        loom::thread::yield_now();
    }
}

/// One sample: its series' label values (joined by `,`), suffix, `le` and
/// value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) labels: String,
    pub(crate) suffix: String,
    pub(crate) le: Option<String>,
    pub(crate) value: f64,
}

/// A scrape, as a list of samples.
#[derive(Debug, Default)]
pub(crate) struct Scrape {
    labels: String,
    pub(crate) points: Vec<Point>,
}

impl Scrape {
    /// Scrapes `collector`.
    pub(crate) fn of(collector: &dyn crate::Collector) -> Scrape {
        let mut scrape = Scrape::default();
        collector.collect(&mut scrape);
        scrape
    }

    /// The value of the sample with this suffix in the series with these
    /// label values, if shown.
    pub(crate) fn value(&self, labels: &str, suffix: &str) -> Option<f64> {
        self.points.iter().find(|p| p.labels == labels && p.suffix == suffix).map(|p| p.value)
    }

    /// The `_bucket` values of the series with these label values, in order.
    pub(crate) fn buckets(&self, labels: &str) -> Vec<f64> {
        self.points.iter().filter(|p| p.labels == labels && p.suffix == "_bucket").map(|p| p.value).collect()
    }
}

struct Values<'a>(&'a mut String);

impl LabelSink for Values<'_> {
    fn label(&mut self, _: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push(',');
        }
        self.0.push_str(value);
    }
}

impl MetricEncoder for Scrape {
    fn family(&mut self, _: &Descriptor<'_>) {}

    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.labels.clear();
        labels.encode(&mut Values(&mut self.labels));
    }

    fn sample(&mut self, sample: &Sample<'_>) {
        let value = match sample.value {
            Number::Int(n) => n as f64,
            Number::Float(v) => v,
        };
        let le = match sample.extra {
            Some(Extra::Le(le)) => Some(le.to_owned()),
            _ => None,
        };
        self.points.push(Point { labels: self.labels.clone(), suffix: sample.suffix.to_owned(), le, value });
    }

    fn fail(&mut self, error: CollectError) {
        panic!("the scrape failed: {error}");
    }
}
