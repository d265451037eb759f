//! Summary quantile objectives and the window they are computed over: the
//! options, their defaults, and the one validation both the builder and the
//! macros run.

use std::sync::Arc;
use std::time::Duration;

use super::ckms::Targets;
use crate::clock::ManualClock;
pub use crate::error::QuantileError;

/// How long an observation counts towards a summary's quantiles unless
/// [`max_age`](crate::Builder::max_age) says otherwise: ten minutes, as in
/// the Go client.
///
/// ```
/// assert_eq!(promdecl_runtime::metric::DEFAULT_MAX_AGE.as_secs(), 600);
/// ```
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

/// How many age buckets the quantile window is cut into unless
/// [`age_buckets`](crate::Builder::age_buckets) says otherwise: five, as in
/// the Go client.
///
/// ```
/// assert_eq!(promdecl_runtime::metric::DEFAULT_AGE_BUCKETS, 5);
/// ```
pub const DEFAULT_AGE_BUCKETS: u32 = 5;

/// How many observations a summary with quantiles buffers before it sorts
/// them into its streams (the Go client's `DefBufCap`).
#[cfg(not(promdecl_loom))]
pub(crate) const BUFFER_CAPACITY: usize = 500;
/// Two under the model checker, so that a model fills the buffer and
/// flushes it in a few observations.
#[cfg(promdecl_loom)]
pub(crate) const BUFFER_CAPACITY: usize = 2;

/// The quantile options of a summary: objectives and the sliding window.
/// Set through [`Builder::quantiles`](crate::Builder::quantiles) and its
/// siblings; `Default` means a summary without quantiles.
///
/// ```
/// use promdecl_runtime::metric::QuantileOpts;
/// let q = QuantileOpts::default();
/// assert!(q.objectives.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct QuantileOpts {
    /// `(quantile, allowed rank error)` pairs: `(0.99, 0.001)` asks for a
    /// value whose rank is between 98.9% and 99.1% of the observations.
    pub objectives: Vec<(f64, f64)>,
    /// How long an observation counts; [`DEFAULT_MAX_AGE`] when `None`.
    pub max_age: Option<Duration>,
    /// How many buckets the window slides by; [`DEFAULT_AGE_BUCKETS`]
    /// when `None`.
    pub age_buckets: Option<u32>,
    /// The clock the window reads; the monotonic clock when `None`.
    pub clock: Option<ManualClock>,
}

/// Checks summary quantile objectives and their window: each quantile in
/// `[0, 1]`, each allowed error in `(0, 1)`, no quantile twice, a window of
/// at least one nanosecond per age bucket, and no window options without
/// objectives. The builder runs it at build time, the macros at compile
/// time.
///
/// ```
/// use std::time::Duration;
/// use promdecl_runtime::metric::{check_quantiles, QuantileError};
/// assert!(check_quantiles(&[(0.5, 0.05), (0.99, 0.001)], Some(Duration::from_secs(60)), Some(3)).is_ok());
/// assert_eq!(
///     check_quantiles(&[(0.5, 0.0)], None, None),
///     Err(QuantileError::ErrorOutOfRange { quantile: 0.5, error: 0.0 })
/// );
/// assert_eq!(check_quantiles(&[], Some(Duration::from_secs(60)), None), Err(QuantileError::WindowWithoutQuantiles));
/// ```
pub const fn check_quantiles(
    objectives: &[(f64, f64)],
    max_age: Option<Duration>,
    age_buckets: Option<u32>,
) -> Result<(), QuantileError> {
    let mut i = 0;
    while i < objectives.len() {
        let (quantile, error) = objectives[i];
        if !(quantile >= 0.0 && quantile <= 1.0) {
            return Err(QuantileError::QuantileOutOfRange { quantile });
        }
        if !(error > 0.0 && error < 1.0) {
            return Err(QuantileError::ErrorOutOfRange { quantile, error });
        }
        let mut j = 0;
        while j < i {
            if objectives[j].0 == quantile {
                return Err(QuantileError::DuplicateQuantile { quantile });
            }
            j += 1;
        }
        i += 1;
    }
    if objectives.is_empty() && (max_age.is_some() || age_buckets.is_some()) {
        return Err(QuantileError::WindowWithoutQuantiles);
    }
    let max_age = match max_age {
        Some(d) => d,
        None => DEFAULT_MAX_AGE,
    };
    let age_buckets = match age_buckets {
        Some(n) => n,
        None => DEFAULT_AGE_BUCKETS,
    };
    if max_age.is_zero() {
        return Err(QuantileError::ZeroMaxAge);
    }
    if age_buckets == 0 {
        return Err(QuantileError::ZeroAgeBuckets);
    }
    if max_age.as_nanos() < age_buckets as u128 {
        return Err(QuantileError::MaxAgeTooShort);
    }
    Ok(())
}

/// What every child of one summary family shares: its objectives in
/// ascending order, their `quantile` label text, the stream targets and the
/// window's shape.
#[derive(Debug)]
pub(crate) struct QuantileConfig {
    pub(crate) quantiles: Box<[f64]>,
    pub(crate) labels: Box<[Box<str>]>,
    pub(crate) targets: Targets,
    /// Length of one age bucket, in nanoseconds.
    pub(crate) period: u64,
    pub(crate) age_buckets: usize,
    pub(crate) clock: Option<ManualClock>,
}

impl QuantileConfig {
    /// The shared configuration, or `None` for a summary without
    /// objectives.
    pub(crate) fn new(opts: &QuantileOpts) -> Result<Option<Arc<Self>>, QuantileError> {
        check_quantiles(&opts.objectives, opts.max_age, opts.age_buckets)?;
        if opts.clock.is_some() && opts.objectives.is_empty() {
            return Err(QuantileError::WindowWithoutQuantiles);
        }
        if opts.objectives.is_empty() {
            return Ok(None);
        }
        let mut objectives = opts.objectives.clone();
        objectives.sort_by(|a, b| a.0.total_cmp(&b.0));
        let labels = objectives
            .iter()
            .map(|&(q, _)| {
                let mut text = Vec::new();
                crate::encode::write_float(&mut text, q);
                String::from_utf8(text).unwrap_or_default().into_boxed_str()
            })
            .collect();
        let age_buckets = opts.age_buckets.unwrap_or(DEFAULT_AGE_BUCKETS);
        let max_age = opts.max_age.unwrap_or(DEFAULT_MAX_AGE);
        let period = u64::try_from(max_age.as_nanos() / u128::from(age_buckets)).unwrap_or(u64::MAX);
        Ok(Some(Arc::new(QuantileConfig {
            quantiles: objectives.iter().map(|&(q, _)| q).collect(),
            labels,
            targets: Targets::new(&objectives),
            period,
            age_buckets: age_buckets as usize,
            clock: opts.clock.clone(),
        })))
    }
}
