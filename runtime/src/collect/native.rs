//! The native (sparse, exponential) part of a histogram series, as encoders
//! receive it.

/// A run of consecutive native buckets: `offset` is the gap to the previous
/// span's end (or, for the first span, the key of its first bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketSpan {
    /// Gap to the previous span, or the first bucket's key.
    pub offset: i32,
    /// Number of consecutive buckets.
    pub length: u32,
}

/// A native histogram: schema, zero bucket and sparse buckets, with count
/// and sum, in the span-and-delta form of the Prometheus protobuf format.
///
/// ```
/// use promdecl_runtime::encode::{BucketSpan, NativeHistogram};
/// let h = NativeHistogram {
///     schema: 0,
///     zero_threshold: 0.0,
///     zero_count: 1,
///     count: 4,
///     sum: 5.0,
///     positive_spans: vec![BucketSpan { offset: 1, length: 2 }],
///     positive_deltas: vec![2, -1],
///     negative_spans: vec![],
///     negative_deltas: vec![],
/// };
/// assert_eq!(h.positive_buckets(), [(1, 2), (2, 1)]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NativeHistogram {
    /// Resolution: bucket boundaries at the powers of `2^(2^-schema)`.
    pub schema: i32,
    /// Observations with an absolute value up to this go to the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// All observations (NaN excluded).
    pub count: u64,
    /// Sum of all observations.
    pub sum: f64,
    /// Spans of the positive buckets.
    pub positive_spans: Vec<BucketSpan>,
    /// Count of each positive bucket minus the previous one's (the first
    /// minus zero).
    pub positive_deltas: Vec<i64>,
    /// Spans of the negative buckets (keys by absolute value).
    pub negative_spans: Vec<BucketSpan>,
    /// Deltas of the negative buckets.
    pub negative_deltas: Vec<i64>,
}

impl NativeHistogram {
    /// The positive buckets as `(key, count)`, empty ones left out.
    pub fn positive_buckets(&self) -> Vec<(i32, u64)> {
        decode(&self.positive_spans, &self.positive_deltas)
    }

    /// The negative buckets as `(key, count)`, keyed by absolute value.
    ///
    /// ```
    /// let h = promdecl_runtime::Histogram::builder("h", "H.").native(2.0).build().unwrap();
    /// h.observe(-3.0);
    /// assert_eq!(h.native_snapshot().unwrap().negative_buckets(), [(2, 1)]);
    /// ```
    pub fn negative_buckets(&self) -> Vec<(i32, u64)> {
        decode(&self.negative_spans, &self.negative_deltas)
    }
}

fn decode(spans: &[BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let (mut key, mut count, mut deltas) = (0i32, 0i64, deltas.iter());
    for span in spans {
        key += span.offset;
        for _ in 0..span.length {
            let Some(d) = deltas.next() else { return out };
            count += d;
            if count > 0 {
                out.push((key, count as u64));
            }
            key += 1;
        }
    }
    out
}
