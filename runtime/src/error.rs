//! The error type of the runtime.

/// Everything that can go wrong when declaring, updating, registering or
/// encoding metrics.
///
/// Every variant says what was wrong and, where it helps, how to fix it.
///
/// ```
/// use promdecl_runtime::{Counter, Error};
///
/// let err = Counter::builder("1bad", "help").build().unwrap_err();
/// assert!(matches!(err, Error::InvalidMetricName { .. }));
/// assert!(err.to_string().contains("1bad"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metric name does not match the active validation scheme.
    #[error("invalid metric name {name:?}: {reason}")]
    InvalidMetricName {
        /// The offending name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A label name does not match the active validation scheme, or is reserved.
    #[error("invalid label name {name:?}: {reason}")]
    InvalidLabelName {
        /// The offending name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A counter was asked to go down or to add NaN.
    #[error("counters can only be incremented by non-negative amounts, got {0} (use a Gauge for values that go down)")]
    NegativeIncrement(f64),
    /// Histogram buckets were not usable.
    #[error("invalid buckets: {0}")]
    InvalidBuckets(&'static str),
    /// Summary quantile objectives or their window were not usable.
    #[error("metric {metric:?}: invalid summary quantiles: {reason}")]
    InvalidQuantiles {
        /// The metric's name.
        metric: String,
        /// What was wrong.
        reason: QuantileError,
    },
    /// The number of label values differs from the number of label names.
    #[error("metric {metric:?} expects {expected} label values ({names}), got {got}")]
    LabelCount {
        /// The metric's name.
        metric: String,
        /// How many values it takes.
        expected: usize,
        /// How many were given.
        got: usize,
        /// The label names, comma-separated.
        names: String,
    },
    /// A label name given by name is not one of the metric's labels.
    #[error("metric {metric:?} has no label {label:?} (its labels are: {names})")]
    UnknownLabel {
        /// The metric's name.
        metric: String,
        /// The unknown label.
        label: String,
        /// The label names, comma-separated.
        names: String,
    },
    /// A label given by name was missing.
    #[error("metric {metric:?} needs a value for label {label:?}")]
    MissingLabel {
        /// The metric's name.
        metric: String,
        /// The missing label.
        label: String,
    },
    /// An enum state is not one of the declared states.
    #[error("metric {metric:?} has no state {state:?} (its states are: {states})")]
    UnknownState {
        /// The metric's name.
        metric: String,
        /// The unknown state.
        state: String,
        /// The declared states, comma-separated.
        states: String,
    },
    /// A metric type was given an option it cannot have.
    #[error("metric {metric:?}: {reason}")]
    InvalidOption {
        /// The metric's name.
        metric: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// Registering would expose a time series name that is already exposed.
    #[error("duplicated time series {series:?}: {new:?} collides with already registered {existing:?}")]
    DuplicateSeries {
        /// The series name both would expose.
        series: String,
        /// The family being registered.
        new: String,
        /// The family already registered.
        existing: String,
    },
    /// A family reached its `max_children` and refused a new label set.
    #[error("metric {metric:?} already has its maximum of {limit} label sets; new ones are counted in the series whose labels are all \"__overflow__\" (raise max_children or bound the label values)")]
    CardinalityLimit {
        /// The metric's name.
        metric: String,
        /// The limit.
        limit: usize,
    },
    /// An unregister call named a collector that is not registered.
    #[error("collector is not registered")]
    NotRegistered,
    /// An exemplar's label names and values together are longer than
    /// OpenMetrics allows.
    #[error("exemplar labels total {chars} UTF-8 characters (names and values together); OpenMetrics allows at most 128: shorten them or keep fewer labels")]
    ExemplarTooLong {
        /// How many characters the names and values have together.
        chars: usize,
    },
}

/// Why quantile objectives or their window were refused.
///
/// ```
/// use promdecl_runtime::metric::{check_quantiles, QuantileError};
/// assert_eq!(
///     check_quantiles(&[(1.5, 0.01)], None, None),
///     Err(QuantileError::QuantileOutOfRange { quantile: 1.5 })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QuantileError {
    /// A quantile is not in `[0, 1]` (or is NaN).
    #[error("quantile {quantile} is not between 0 and 1 (the median is 0.5, the 99th percentile 0.99)")]
    QuantileOutOfRange {
        /// The quantile.
        quantile: f64,
    },
    /// An allowed error is not in `(0, 1)` (or is NaN).
    #[error(
        "the allowed error {error} of quantile {quantile} is not strictly between 0 and 1 \
         (0.01 lets the reported value rank 1% of the observations away from the quantile)"
    )]
    ErrorOutOfRange {
        /// The quantile.
        quantile: f64,
        /// Its allowed error.
        error: f64,
    },
    /// A quantile appears twice.
    #[error("quantile {quantile} is declared twice; declare each quantile once, with one allowed error")]
    DuplicateQuantile {
        /// The quantile.
        quantile: f64,
    },
    /// `max_age` is zero.
    #[error("max_age must be longer than zero")]
    ZeroMaxAge,
    /// `age_buckets` is zero.
    #[error("age_buckets must be at least 1")]
    ZeroAgeBuckets,
    /// `max_age` is shorter than one nanosecond per age bucket.
    #[error("max_age must be at least one nanosecond per age bucket")]
    MaxAgeTooShort,
    /// `max_age`, `age_buckets` or a clock was given without objectives.
    #[error("max_age, age_buckets and the quantile clock apply only to a summary with quantiles; add .quantiles([...]) or remove them")]
    WindowWithoutQuantiles,
}

impl QuantileError {
    /// The reason without the numbers, for compile-time errors.
    ///
    /// ```
    /// use promdecl_runtime::metric::QuantileError;
    /// assert_eq!(QuantileError::ZeroAgeBuckets.reason(), "age_buckets must be at least 1");
    /// ```
    pub const fn reason(&self) -> &'static str {
        match self {
            QuantileError::QuantileOutOfRange { .. } => "summary quantiles must be between 0 and 1",
            QuantileError::ErrorOutOfRange { .. } => {
                "the allowed error of a summary quantile must be strictly between 0 and 1"
            }
            QuantileError::DuplicateQuantile { .. } => "a summary quantile is declared twice",
            QuantileError::ZeroMaxAge => "max_age must be longer than zero",
            QuantileError::ZeroAgeBuckets => "age_buckets must be at least 1",
            QuantileError::MaxAgeTooShort => "max_age must be at least one nanosecond per age bucket",
            QuantileError::WindowWithoutQuantiles => {
                "max_age and age_buckets apply only to a summary with quantiles; declare its quantiles"
            }
        }
    }
}
