//! Exemplars: a sample's link to one concrete event (a trace id, a request
//! id), recorded with `inc_with_exemplar` / `observe_with_exemplar`.
//!
//! Storage stays off the hot path: a cell holds one pointer that is null
//! until the first exemplar is recorded, so a plain `inc()` or `observe()`
//! never looks at it. Exemplars are exposed only in OpenMetrics (and
//! protobuf); the Prometheus text format 0.0.4 has no place for them.
//!
//! ```
//! use promdecl_runtime::{encode::{encode_to_string, Format}, Counter, Registry};
//! let registry = Registry::new();
//! let c = Counter::builder("requests", "Requests.").register(&registry).unwrap();
//! c.inc_with_exemplar(promdecl_runtime::ExemplarLabels::new(&[("trace_id", "abc123")]).at(Some(1.5))).unwrap();
//! let om = encode_to_string(&registry, Format::OPENMETRICS);
//! assert!(om.contains("requests_total 1 # {trace_id=\"abc123\"} 1.0 1.5\n"));
//! assert!(!encode_to_string(&registry, Format::TEXT).contains("abc123"));
//! ```

use std::sync::{Arc, Mutex};

use once_cell::race::OnceBox;

use super::unix_now;
use crate::encode::Exemplar;
use crate::Error;

/// The OpenMetrics limit on an exemplar's label names and values together,
/// in UTF-8 characters (code points).
pub const MAX_EXEMPLAR_CHARS: usize = 128;

/// When an exemplar was observed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    Now,
    At(Option<f64>),
}

/// The labels of an exemplar to record, and its timestamp: the current time
/// unless [`ExemplarLabels::at`] says otherwise.
///
/// Converts from `&[(&str, &str)]` and `&[(&str, &str); N]`, so the plain
/// form reads `c.inc_with_exemplar(&[("trace_id", id)])`.
///
/// ```
/// use promdecl_runtime::ExemplarLabels;
/// let with_time = ExemplarLabels::new(&[("trace_id", "abc")]).at(Some(1700000000.0));
/// let without = ExemplarLabels::new(&[("trace_id", "abc")]).at(None);
/// assert!(with_time.check().is_ok() && without.check().is_ok());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ExemplarLabels<'a> {
    labels: &'a [(&'a str, &'a str)],
    when: When,
}

impl<'a> ExemplarLabels<'a> {
    /// Labels timestamped with the time they are recorded at.
    ///
    /// ```
    /// let e = promdecl_runtime::ExemplarLabels::new(&[("trace_id", "abc")]);
    /// assert_eq!(e.labels().len(), 1);
    /// ```
    pub fn new(labels: &'a [(&'a str, &'a str)]) -> Self {
        ExemplarLabels { labels, when: When::Now }
    }

    /// Sets the timestamp, in seconds since the Unix epoch; `None` records
    /// the exemplar without one (the scraper then uses its scrape time).
    pub fn at(self, timestamp: Option<f64>) -> Self {
        ExemplarLabels { when: When::At(timestamp), ..self }
    }

    /// The labels.
    pub fn labels(&self) -> &'a [(&'a str, &'a str)] {
        self.labels
    }

    /// Checks the labels: valid, distinct label names, and names and values
    /// together at most [`MAX_EXEMPLAR_CHARS`] UTF-8 characters.
    ///
    /// ```
    /// use promdecl_runtime::{Error, ExemplarLabels};
    /// let long = "x".repeat(130);
    /// let err = ExemplarLabels::new(&[("trace_id", &long)]).check().unwrap_err();
    /// assert!(matches!(err, Error::ExemplarTooLong { chars: 138 }));
    /// assert!(ExemplarLabels::new(&[("1bad", "v")]).check().is_err());
    /// ```
    pub fn check(&self) -> Result<(), Error> {
        let mut chars = 0;
        for (i, (name, value)) in self.labels.iter().enumerate() {
            crate::name::validate_label_name(crate::MetricType::Unknown, name)?;
            if self.labels[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::InvalidLabelName {
                    name: (*name).to_owned(),
                    reason: "exemplar label names must be unique",
                });
            }
            chars += name.chars().count() + value.chars().count();
        }
        if chars > MAX_EXEMPLAR_CHARS {
            return Err(Error::ExemplarTooLong { chars });
        }
        Ok(())
    }

    /// The exemplar for an event of `value`, checked.
    pub(crate) fn to_exemplar(self, value: f64) -> Result<Exemplar, Error> {
        self.check()?;
        let timestamp = match self.when {
            When::Now => Some(unix_now()),
            When::At(t) => t,
        };
        let labels = self.labels.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        Ok(Exemplar { labels, value, timestamp })
    }
}

impl<'a> From<&'a [(&'a str, &'a str)]> for ExemplarLabels<'a> {
    fn from(labels: &'a [(&'a str, &'a str)]) -> Self {
        ExemplarLabels::new(labels)
    }
}

impl<'a, const N: usize> From<&'a [(&'a str, &'a str); N]> for ExemplarLabels<'a> {
    fn from(labels: &'a [(&'a str, &'a str); N]) -> Self {
        ExemplarLabels::new(labels)
    }
}

/// The latest exemplar of one sample.
#[derive(Debug, Default)]
pub(crate) struct ExemplarSlot(Mutex<Option<Arc<Exemplar>>>);

impl ExemplarSlot {
    /// Replaces the exemplar.
    pub(crate) fn store(&self, exemplar: Exemplar) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(exemplar));
    }

    /// The exemplar, if one was recorded. Cloning the `Arc` lets the lock
    /// go before any encoder sees the exemplar.
    pub(crate) fn get(&self) -> Option<Arc<Exemplar>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets the exemplar (on reset).
    pub(crate) fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The latest exemplar of each of `N` samples (one per bucket for a
/// histogram), allocated when the first one is recorded.
#[derive(Debug, Default)]
pub(crate) struct ExemplarSlots {
    slots: OnceBox<Box<[ExemplarSlot]>>,
}

impl ExemplarSlots {
    /// Replaces the exemplar of sample `index` of `len`.
    pub(crate) fn store(&self, len: usize, index: usize, exemplar: Exemplar) {
        let slots = self.slots.get_or_init(|| Box::new((0..len).map(|_| ExemplarSlot::default()).collect()));
        if let Some(slot) = slots.get(index) {
            slot.store(exemplar);
        }
    }

    /// Whether no exemplar was ever recorded (the slots are allocated with
    /// the first).
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.get().is_none()
    }

    /// The exemplar of sample `index`, if one was recorded.
    pub(crate) fn get(&self, index: usize) -> Option<Arc<Exemplar>> {
        self.slots.get()?.get(index)?.get()
    }

    /// Forgets every exemplar (on reset).
    pub(crate) fn clear(&self) {
        if let Some(slots) = self.slots.get() {
            slots.iter().for_each(ExemplarSlot::clear);
        }
    }
}
