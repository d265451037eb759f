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
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A metric name does not match the active validation scheme.
    InvalidMetricName {
        /// The offending name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A label name does not match the active validation scheme, or is reserved.
    InvalidLabelName {
        /// The offending name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A counter was asked to go down or to add NaN.
    NegativeIncrement(f64),
    /// Histogram buckets were not usable.
    InvalidBuckets(&'static str),
    /// Summary quantile objectives or their window were not usable.
    InvalidQuantiles {
        /// The metric's name.
        metric: String,
        /// What was wrong.
        reason: QuantileError,
    },
    /// The number of label values differs from the number of label names.
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
    UnknownLabel {
        /// The metric's name.
        metric: String,
        /// The unknown label.
        label: String,
        /// The label names, comma-separated.
        names: String,
    },
    /// A label given by name was missing.
    MissingLabel {
        /// The metric's name.
        metric: String,
        /// The missing label.
        label: String,
    },
    /// An enum state is not one of the declared states.
    UnknownState {
        /// The metric's name.
        metric: String,
        /// The unknown state.
        state: String,
        /// The declared states, comma-separated.
        states: String,
    },
    /// A metric type was given an option it cannot have.
    InvalidOption {
        /// The metric's name.
        metric: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// Registering would expose a time series name that is already exposed.
    DuplicateSeries {
        /// The series name both would expose.
        series: String,
        /// The family being registered.
        new: String,
        /// The family already registered.
        existing: String,
    },
    /// A family reached its `max_children` and refused a new label set.
    CardinalityLimit {
        /// The metric's name.
        metric: String,
        /// The limit.
        limit: usize,
    },
    /// An unregister call named a collector that is not registered.
    NotRegistered,
    /// An exemplar's label names and values together are longer than
    /// OpenMetrics allows.
    ExemplarTooLong {
        /// How many characters the names and values have together.
        chars: usize,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidMetricName { name, reason } => write!(f, "invalid metric name {name:?}: {reason}"),
            Error::InvalidLabelName { name, reason } => write!(f, "invalid label name {name:?}: {reason}"),
            Error::NegativeIncrement(v) => write!(f, "counters can only be incremented by non-negative amounts, got {v} (use a Gauge for values that go down)"),
            Error::InvalidBuckets(v) => write!(f, "invalid buckets: {v}"),
            Error::InvalidQuantiles { metric, reason } => write!(f, "metric {metric:?}: invalid summary quantiles: {reason}"),
            Error::LabelCount { expected, got, metric, names } => write!(f, "metric {metric:?} expects {expected} label values ({names}), got {got}"),
            Error::UnknownLabel { label, metric, names } => write!(f, "metric {metric:?} has no label {label:?} (its labels are: {names})"),
            Error::MissingLabel { label, metric } => write!(f, "metric {metric:?} needs a value for label {label:?}"),
            Error::UnknownState { metric, state, states } => write!(f, "metric {metric:?} has no state {state:?} (its states are: {states})"),
            Error::InvalidOption { metric, reason } => write!(f, "metric {metric:?}: {reason}"),
            Error::DuplicateSeries { existing, new, series } => write!(f, "duplicated time series {series:?}: {new:?} collides with already registered {existing:?}"),
            Error::CardinalityLimit { limit, metric } => write!(f, "metric {metric:?} already has its maximum of {limit} label sets; new ones are counted in the series whose labels are all \"__overflow__\" (raise max_children or bound the label values)"),
            Error::NotRegistered => f.write_str("collector is not registered"),
            Error::ExemplarTooLong { chars } => write!(f, "exemplar labels total {chars} UTF-8 characters (names and values together); OpenMetrics allows at most 128: shorten them or keep fewer labels"),
        }
    }
}

impl std::error::Error for Error {}

/// Why quantile objectives or their window were refused.
///
/// ```
/// use promdecl_runtime::metric::{check_quantiles, QuantileError};
/// assert_eq!(
///     check_quantiles(&[(1.5, 0.01)], None, None),
///     Err(QuantileError::QuantileOutOfRange { quantile: 1.5 })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum QuantileError {
    /// A quantile is not in `[0, 1]` (or is NaN).
    QuantileOutOfRange {
        /// The quantile.
        quantile: f64,
    },
    /// An allowed error is not in `(0, 1)` (or is NaN).
    ErrorOutOfRange {
        /// The quantile.
        quantile: f64,
        /// Its allowed error.
        error: f64,
    },
    /// A quantile appears twice.
    DuplicateQuantile {
        /// The quantile.
        quantile: f64,
    },
    /// `max_age` is zero.
    ZeroMaxAge,
    /// `age_buckets` is zero.
    ZeroAgeBuckets,
    /// `max_age` is shorter than one nanosecond per age bucket.
    MaxAgeTooShort,
    /// `max_age`, `age_buckets` or a clock was given without objectives.
    WindowWithoutQuantiles,
}

impl std::fmt::Display for QuantileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuantileError::QuantileOutOfRange { quantile } => write!(f, "quantile {quantile} is not between 0 and 1 (the median is 0.5, the 99th percentile 0.99)"),
            QuantileError::ErrorOutOfRange { error, quantile } => write!(f, "the allowed error {error} of quantile {quantile} is not strictly between 0 and 1 \
         (0.01 lets the reported value rank 1% of the observations away from the quantile)"),
            QuantileError::DuplicateQuantile { quantile } => write!(f, "quantile {quantile} is declared twice; declare each quantile once, with one allowed error"),
            QuantileError::ZeroMaxAge => f.write_str("max_age must be longer than zero"),
            QuantileError::ZeroAgeBuckets => f.write_str("age_buckets must be at least 1"),
            QuantileError::MaxAgeTooShort => f.write_str("max_age must be at least one nanosecond per age bucket"),
            QuantileError::WindowWithoutQuantiles => f.write_str("max_age, age_buckets and the quantile clock apply only to a summary with quantiles; add .quantiles([...]) or remove them"),
        }
    }
}

impl std::error::Error for QuantileError {}

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
