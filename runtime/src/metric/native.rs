//! Native (sparse, exponential) histogram buckets, as client_golang keeps
//! them beside or instead of the classic ones.
//!
//! The schema `s` (-4..=8) puts bucket boundaries at the powers of
//! `2^(2^-s)`: bucket `k` holds the observations `v` with
//! `base^(k-1) < |v| <= base^k`, positive and negative ones apart, and those
//! with `|v| <=` the zero threshold in the zero bucket. Buckets come into
//! being when first hit. A maximum bucket count is kept by, in this order,
//! resetting the histogram if the last reset is at least the minimum reset
//! interval ago, widening the zero bucket up to its maximum threshold, and
//! halving the resolution (schema - 1); a reduced resolution goes back to the
//! configured one at the first scrape or overflow after that interval.
//!
//! ```
//! use promdecl_runtime::Histogram;
//! let h = Histogram::builder("latency_seconds", "Latency.").native(1.1).build().unwrap();
//! for v in [0.1, 0.2, 0.4, 0.8, 1.6] {
//!     h.observe(v);
//! }
//! let native = h.native_snapshot().unwrap();
//! assert_eq!(native.schema, 3);
//! assert_eq!(native.positive_buckets().len(), 5);
//! ```

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::encode::BucketSpan;

/// The highest resolution Prometheus accepts.
pub const NATIVE_SCHEMA_MAX: i32 = 8;
/// The lowest resolution Prometheus accepts.
pub const NATIVE_SCHEMA_MIN: i32 = -4;
/// The default zero threshold, 2^-128: a bucket boundary at every schema.
pub const DEFAULT_NATIVE_ZERO_THRESHOLD: f64 = 2.938735877055719e-39;

/// The largest schema `s` in -4..=8 whose growth factor `2^(2^-s)` is at most
/// `factor` (8 for any factor below `2^(2^-8)`); `factor` must be above 1.
///
/// ```
/// use promdecl_runtime::metric::native_schema;
/// assert_eq!(native_schema(1.1), 3);
/// assert_eq!(native_schema(2.0), 0);
/// assert_eq!(native_schema(1.0001), 8);
/// assert_eq!(native_schema(1e9), -4);
/// ```
pub fn native_schema(factor: f64) -> i32 {
    let floor = factor.log2().log2().floor();
    if floor <= -8.0 {
        NATIVE_SCHEMA_MAX
    } else if floor >= 4.0 {
        NATIVE_SCHEMA_MIN
    } else {
        -(floor as i32)
    }
}

/// The native options of a histogram family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NativeConfig {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    /// 0: no limit.
    pub(crate) max_buckets: u32,
    pub(crate) min_reset_interval: Duration,
    pub(crate) max_zero_threshold: f64,
}

/// `m` and `e` with `v = m * 2^e` and `0.5 <= |m| < 1` (Go's `math.Frexp`),
/// for finite non-zero `v`; `(v, 0)` otherwise.
fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 || !v.is_finite() {
        return (v, 0);
    }
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(v * f64::from_bits(0x43f0_0000_0000_0000)); // 2^64
        return (m, e - 64);
    }
    let mantissa = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (mantissa, biased - 1022)
}

/// For schema `s >= 0`, the `2^s` fractions in [0.5, 1) where buckets
/// start: `2^(j/2^s - 1)`, correctly rounded (Rust's `exp2` is, for these
/// arguments; a test checks it). client_golang's table differs from these by
/// up to two units in the last place in some entries, which matters only for
/// an observation within that distance of a boundary.
fn fraction_bounds(schema: i32) -> &'static [f64] {
    static BOUNDS: OnceLock<Vec<Vec<f64>>> = OnceLock::new();
    let all = BOUNDS.get_or_init(|| {
        (0..=NATIVE_SCHEMA_MAX)
            .map(|s| {
                let n = 1usize << s;
                (0..n).map(|j| (j as f64 / n as f64 - 1.0).exp2()).collect()
            })
            .collect()
    });
    &all[schema as usize]
}

/// The bucket key of `|v|` (not NaN) at `schema`.
pub(crate) fn bucket_key(v: f64, schema: i32) -> i32 {
    let mut v = v.abs();
    let inf = v.is_infinite();
    if inf {
        // Observations of ±Inf get the bucket after the one of f64::MAX.
        v = f64::MAX;
    }
    let (frac, exp) = frexp(v);
    let mut key = if schema > 0 {
        let bounds = fraction_bounds(schema);
        bounds.partition_point(|&b| b < frac) as i32 + (exp - 1) * bounds.len() as i32
    } else {
        let key = if frac == 0.5 { exp - 1 } else { exp };
        let offset = (1 << -schema) - 1;
        (key + offset) >> -schema
    };
    if inf {
        key += 1;
    }
    key
}

/// The upper bound of bucket `key` at `schema`.
///
/// ```
/// use promdecl_runtime::metric::native_bucket_upper_bound;
/// assert_eq!(native_bucket_upper_bound(0, 3), 1.0);
/// assert_eq!(native_bucket_upper_bound(8, 3), 2.0);
/// assert_eq!(native_bucket_upper_bound(1, 0), 2.0);
/// ```
pub fn native_bucket_upper_bound(key: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exp = key << -schema;
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let bounds = fraction_bounds(schema.max(0));
    let frac = bounds[(key & ((1 << schema) - 1)) as usize];
    let exp = (key >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

fn ldexp(m: f64, e: i32) -> f64 {
    // Two steps keep intermediate powers in range for |e| up to ~2000.
    let half = e / 2;
    m * (half as f64).exp2() * ((e - half) as f64).exp2()
}

/// The native buckets of one histogram child. Every change happens under
/// the child's lock.
#[derive(Debug, Clone)]
pub(crate) struct NativeState {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) zero_count: u64,
    pub(crate) positive: BTreeMap<i32, u64>,
    pub(crate) negative: BTreeMap<i32, u64>,
    pub(crate) last_reset: Instant,
}

impl NativeState {
    pub(crate) fn new(config: &NativeConfig) -> Self {
        NativeState {
            schema: config.schema,
            zero_threshold: config.zero_threshold,
            zero_count: 0,
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
            last_reset: Instant::now(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.positive.len() + self.negative.len()
    }

    /// Counts `v` (not NaN).
    pub(crate) fn add(&mut self, v: f64) {
        if v > self.zero_threshold {
            *self.positive.entry(bucket_key(v, self.schema)).or_insert(0) += 1;
        } else if v < -self.zero_threshold {
            *self.negative.entry(bucket_key(v, self.schema)).or_insert(0) += 1;
        } else {
            self.zero_count += 1;
        }
    }

    /// Whether the resolution or zero threshold differs from the configured.
    pub(crate) fn reduced(&self, config: &NativeConfig) -> bool {
        self.schema != config.schema || self.zero_threshold != config.zero_threshold
    }

    /// Merges the buckets closest to zero into the zero bucket, if its new
    /// threshold stays within `max`. Returns whether it did.
    pub(crate) fn widen_zero_bucket(&mut self, max: f64) -> bool {
        if self.zero_threshold >= max {
            return false;
        }
        let smallest = match (self.positive.keys().next(), self.negative.keys().next()) {
            (Some(&p), Some(&n)) => p.min(n),
            (Some(&k), None) | (None, Some(&k)) => k,
            (None, None) => return false,
        };
        let threshold = native_bucket_upper_bound(smallest, self.schema);
        if threshold > max {
            return false;
        }
        self.zero_threshold = threshold;
        self.zero_count += self.positive.remove(&smallest).unwrap_or(0);
        self.zero_count += self.negative.remove(&smallest).unwrap_or(0);
        true
    }

    /// Halves the resolution: each pair of buckets becomes one.
    pub(crate) fn double_bucket_width(&mut self) {
        if self.schema == NATIVE_SCHEMA_MIN {
            return;
        }
        self.schema -= 1;
        let merge = |buckets: &BTreeMap<i32, u64>| {
            let mut merged = BTreeMap::new();
            for (&key, &count) in buckets {
                // Bucket k of the finer schema lies in bucket ceil(k/2).
                let key = if key > 0 { key + 1 } else { key } / 2;
                *merged.entry(key).or_insert(0) += count;
            }
            merged
        };
        self.positive = merge(&self.positive);
        self.negative = merge(&self.negative);
    }

    /// The buckets as spans and deltas, the way the protobuf format wants
    /// them: gaps of one or two empty buckets stay inside a span.
    pub(crate) fn spans(buckets: &BTreeMap<i32, u64>) -> (Vec<BucketSpan>, Vec<i64>) {
        let mut spans: Vec<BucketSpan> = Vec::new();
        let mut deltas = Vec::with_capacity(buckets.len());
        let (mut previous, mut next_key) = (0i64, 0i32);
        for (n, (&key, &count)) in buckets.iter().enumerate() {
            let gap = key - next_key;
            if n == 0 || gap > 2 {
                spans.push(BucketSpan { offset: gap, length: 0 });
            } else {
                for _ in 0..gap {
                    deltas.push(-previous);
                    previous = 0;
                    spans.last_mut().expect("a span is open").length += 1;
                }
            }
            let count = count as i64;
            deltas.push(count - previous);
            previous = count;
            spans.last_mut().expect("a span is open").length += 1;
            next_key = key + 1;
        }
        (spans, deltas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_go() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.1), (0.8, -3));
        assert_eq!(frexp(-3.0), (-0.75, 2));
        assert_eq!(frexp(f64::MAX), (1.0 - f64::EPSILON / 2.0, 1024));
        let tiny = f64::from_bits(1); // smallest subnormal, 2^-1074
        assert_eq!(frexp(tiny), (0.5, -1073));
    }

    /// Correctly rounded values of 2^(j/2^s - 1), computed with 50 decimal
    /// digits; shared boundaries are the same float in every schema.
    #[test]
    fn fraction_bounds_are_correctly_rounded() {
        let schema8 = fraction_bounds(8);
        assert_eq!(schema8.len(), 256);
        assert_eq!(schema8[0], 0.5);
        assert_eq!(schema8[1], 0.5013556375251013);
        assert_eq!(schema8[37], 0.5526857228508706);
        assert_eq!(schema8[128], std::f64::consts::FRAC_1_SQRT_2);
        assert_eq!(schema8[224], 0.9170040432046712);
        assert_eq!(schema8[255], 0.9972960560854701);
        for s in 0..8 {
            let step = 1 << (8 - s);
            for (j, &b) in fraction_bounds(s).iter().enumerate() {
                assert_eq!(b, schema8[j * step], "schema {s}, bound {j}");
            }
        }
    }

    #[test]
    fn keys_at_boundaries() {
        // Bucket k holds (base^(k-1), base^k]: 1 is the top of bucket 0.
        for schema in NATIVE_SCHEMA_MIN..=NATIVE_SCHEMA_MAX {
            assert_eq!(bucket_key(1.0, schema), 0, "schema {schema}");
            assert_eq!(bucket_key(1.0000001, schema), 1, "schema {schema}");
            assert_eq!(bucket_key(-1.0, schema), 0, "schema {schema}");
        }
        assert_eq!(bucket_key(2.0, 0), 1);
        assert_eq!(bucket_key(3.0, 0), 2);
        assert_eq!(bucket_key(4.0, -1), 1);
        assert_eq!(bucket_key(5.0, -1), 2);
        assert_eq!(bucket_key(0.1, 3), -26);
        assert_eq!(bucket_key(f64::INFINITY, 0), bucket_key(f64::MAX, 0) + 1);
    }

    #[test]
    fn upper_bounds_contain_their_keys() {
        for schema in NATIVE_SCHEMA_MIN..=NATIVE_SCHEMA_MAX {
            for v in [1e-30, 0.001, 0.1, 0.3, 0.7, 1.5, 2.0, 17.0, 1e5, 1e200] {
                let key = bucket_key(v, schema);
                let upper = native_bucket_upper_bound(key, schema);
                let lower = native_bucket_upper_bound(key - 1, schema);
                assert!(lower < v && v <= upper, "schema {schema}: {v} not in ({lower}, {upper}] of key {key}");
            }
        }
    }

    #[test]
    fn spans_fill_small_gaps_and_split_large_ones() {
        let buckets: BTreeMap<i32, u64> = [(-3, 2), (-2, 1), (0, 4), (5, 1)].into_iter().collect();
        let (spans, deltas) = NativeState::spans(&buckets);
        assert_eq!(spans, [BucketSpan { offset: -3, length: 4 }, BucketSpan { offset: 4, length: 1 }]);
        // 2, 1, 0 (gap), 4, then 1 in the second span.
        assert_eq!(deltas, [2, -1, -1, 4, -3]);
    }

    #[test]
    fn halving_resolution_merges_pairs() {
        let config = NativeConfig {
            schema: 1,
            zero_threshold: 0.0,
            max_buckets: 0,
            min_reset_interval: Duration::ZERO,
            max_zero_threshold: 0.0,
        };
        let mut state = NativeState::new(&config);
        for v in [1.2, 1.9, 2.5, 3.9, 0.6] {
            state.add(v);
        }
        let before: u64 = state.positive.values().sum();
        state.double_bucket_width();
        assert_eq!(state.schema, 0);
        let after: Vec<(i32, u64)> = state.positive.iter().map(|(&k, &c)| (k, c)).collect();
        // Schema 0: (0.5,1] (1,2] (2,4].
        assert_eq!(after, [(0, 1), (1, 2), (2, 2)]);
        assert_eq!(before, 5);
    }

    #[test]
    fn zero_bucket_widens_to_the_smallest_bucket() {
        let config = NativeConfig {
            schema: 0,
            zero_threshold: 0.0,
            max_buckets: 0,
            min_reset_interval: Duration::ZERO,
            max_zero_threshold: 1.0,
        };
        let mut state = NativeState::new(&config);
        for v in [0.3, -0.7, 3.0] {
            state.add(v);
        }
        assert!(state.widen_zero_bucket(1.0));
        // Key -1 ((0.25, 0.5]) goes first, with threshold 0.5.
        assert_eq!(state.zero_threshold, 0.5);
        assert_eq!(state.zero_count, 1);
        assert!(state.widen_zero_bucket(1.0));
        assert_eq!((state.zero_threshold, state.zero_count), (1.0, 2));
        assert!(!state.widen_zero_bucket(1.0));
    }
}
