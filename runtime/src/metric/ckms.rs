//! A targeted-quantile stream (Cormode, Korn, Muthukrishnan and Srivastava,
//! "Effective Computation of Biased Quantiles over Data Streams", 2005): a
//! sorted list of sampled values, each with bounds on its rank, compressed
//! so that it stays small while every declared quantile `q` can still be
//! answered with a value whose rank is within `(q ± error) * n`.
//!
//! Three choices differ from the paper's presentation (and from the Go
//! client's `perks` package) to make that bound hold for every input order,
//! sorted and reverse-sorted included:
//!
//! - A new value's rank uncertainty is derived from its successor's bounds
//!   (`g + delta - 1`), which is exact, instead of from the invariant.
//! - The invariant's lower branch is centred on `q - error` rather than on
//!   `q`, with a flat bottom between: the paper's function lets the rank
//!   error exceed the bound by a factor `1 + 2 * error / (1 - q)`.
//! - The smallest and largest values are always kept, so quantiles 0 and 1
//!   (and any target within its error of them) are exact.

/// One sampled value: `g` is the rank distance to the previous kept value,
/// `delta` how much larger than its smallest possible rank its rank may be.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tuple {
    value: f64,
    g: u64,
    delta: u64,
}

/// The constants of one target's invariant, computed once.
#[derive(Debug, Clone, Copy)]
struct Target {
    /// `2 * error`: the allowed span, as a fraction of `n`, at the target.
    flat: f64,
    /// Slope of the branch below the target, over `n - r`.
    below: f64,
    /// Slope of the branch above the target, over `r`.
    above: f64,
}

/// The targets a stream keeps accurate.
#[derive(Debug, Clone)]
pub(crate) struct Targets {
    targets: Box<[Target]>,
}

impl Targets {
    /// Targets from `(quantile, error)` pairs, already validated: quantiles
    /// in `[0, 1]`, errors in `(0, 1)`.
    pub(crate) fn new(objectives: &[(f64, f64)]) -> Self {
        let targets = objectives
            .iter()
            // A target within its error of either end is answered by the
            // exact minimum or maximum, which are always kept: it needs no
            // invariant (and the formulas below would divide by zero).
            .filter(|&&(q, e)| q - e > 0.0 && q + e < 1.0)
            .map(|&(q, e)| Target { flat: 2.0 * e, below: 2.0 * e / (1.0 - q + e), above: 2.0 * e / q })
            .collect();
        Targets { targets }
    }

    /// The largest span (`g + delta`) a tuple whose predecessors hold `r`
    /// ranks may have among `n` values.
    ///
    /// For each target `(q, e)` this is `max(2en, 2e(n-r)/(1-q+e), 2er/q)`:
    /// `2en` between ranks `(q-e)n` and `qn`, growing linearly away from
    /// them. Both branches only grow as values arrive, whether above or
    /// below a tuple, so a tuple that satisfied the invariant keeps
    /// satisfying it. The lower branch guarantees that a tuple starting
    /// below `(q-e)n` ends at or below `(q+e)n`, which is what the query
    /// needs.
    #[inline]
    fn allowed(&self, r: f64, n: f64) -> f64 {
        let mut allowed = f64::INFINITY;
        for t in self.targets.iter() {
            let f = (t.flat * n).max(t.below * (n - r)).max(t.above * r);
            allowed = allowed.min(f);
        }
        allowed
    }
}

/// A targeted-quantile stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct QuantileStream {
    tuples: Vec<Tuple>,
    n: u64,
}

impl QuantileStream {
    pub(crate) fn new() -> Self {
        QuantileStream::default()
    }

    /// How many values were inserted.
    pub(crate) fn count(&self) -> u64 {
        self.n
    }

    /// How many values it keeps.
    pub(crate) fn len(&self) -> usize {
        self.tuples.len()
    }

    /// The bytes its tuples have allocated.
    pub(crate) fn bytes(&self) -> usize {
        self.tuples.capacity() * std::mem::size_of::<Tuple>()
    }

    /// Forgets everything, keeping the allocation.
    pub(crate) fn reset(&mut self) {
        self.tuples.clear();
        self.n = 0;
    }

    /// Inserts `batch`, which must be sorted and free of NaN, then
    /// compresses. The merge happens in `scratch`, shared by the streams of
    /// one window, so each stream only holds what it keeps.
    pub(crate) fn insert_sorted(&mut self, batch: &[f64], targets: &Targets, scratch: &mut Scratch) {
        if batch.is_empty() {
            return;
        }
        self.n += batch.len() as u64;
        let n = self.n as f64;
        let merged = &mut scratch.0;
        merged.clear();
        merged.reserve(self.tuples.len() + batch.len());
        let mut old = self.tuples.iter().peekable();
        // Ranks held by the tuples in `merged`.
        let mut r = 0u64;
        let mut j = 0;
        while j < batch.len() {
            while let Some(t) = old.next_if(|t| t.value <= batch[j]) {
                merged.push(*t);
                r += t.g;
            }
            // The new values before the next old tuple (the successor) rank
            // between their predecessor's smallest rank plus one and the
            // successor's largest rank: a run of them can be one tuple
            // (its last value, g = the run's length) whose delta is the
            // successor's `g + delta - 1`, as long as its span fits the
            // invariant. Values above every old one rank exactly (delta 0).
            let (limit, successor_span) = old.peek().map_or((f64::INFINITY, 1), |s| (s.value, s.g + s.delta));
            let run = if merged.is_empty() {
                // The new minimum stays a tuple of its own.
                1
            } else {
                // `as` truncates (the span is whole) and saturates (no target
                // constrains: infinity).
                let allowed = targets.allowed(r as f64, n) as u64;
                let longest =
                    usize::try_from(allowed.saturating_add(1).saturating_sub(successor_span)).unwrap_or(usize::MAX);
                let rest = &batch[j..];
                let fits = rest.len().min(longest.max(1));
                1 + rest[1..fits].iter().take_while(|&&v| v < limit).count()
            };
            j += run;
            merged.push(Tuple { value: batch[j - 1], g: run as u64, delta: successor_span - 1 });
            r += run as u64;
        }
        merged.extend(old);
        compress(merged, self.n, targets);
        self.tuples.clear();
        self.tuples.extend_from_slice(merged);
    }

    /// The value whose rank is surely closest to `q * n`, or NaN when the
    /// stream is empty.
    pub(crate) fn query(&self, q: f64) -> f64 {
        let Some(first) = self.tuples.first() else { return f64::NAN };
        let n = self.n as f64;
        let target = (q * n).clamp(1.0, n);
        let (mut best, mut best_error) = (first.value, f64::INFINITY);
        let mut rmin = 0u64;
        for t in &self.tuples {
            rmin += t.g;
            let low = rmin as f64;
            if low > target + best_error {
                // Every later tuple starts even further above the target.
                break;
            }
            let high = (rmin + t.delta) as f64;
            let error = (target - low).max(high - target);
            if error < best_error {
                best = t.value;
                best_error = error;
            }
        }
        best
    }
}

/// Merges each tuple into its successor where the merged span stays
/// within the invariant. The first tuple (the minimum) is never merged
/// away; the last (the maximum) only ever absorbs others.
fn compress(tuples: &mut Vec<Tuple>, n: u64, targets: &Targets) {
    let len = tuples.len();
    if len < 3 {
        return;
    }
    // `r`: ranks held by the tuples before the one being looked at.
    let mut r = n - tuples[len - 1].g;
    let mut w = len - 1;
    for i in (1..len - 1).rev() {
        let t = tuples[i];
        r -= t.g;
        let x = &mut tuples[w];
        if (t.g + x.g + x.delta) as f64 <= targets.allowed(r as f64, n as f64) {
            x.g += t.g;
        } else {
            w -= 1;
            tuples[w] = t;
        }
    }
    w -= 1;
    tuples[w] = tuples[0];
    tuples.drain(..w);
}

/// Room to merge a batch into a stream.
#[derive(Debug, Default)]
pub(crate) struct Scratch(Vec<Tuple>);

impl Scratch {
    /// The bytes it has allocated.
    pub(crate) fn bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<Tuple>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranks (1-based, first and last occurrence) of `v` in `sorted`.
    fn ranks(sorted: &[f64], v: f64) -> (usize, usize) {
        let first = sorted.partition_point(|&x| x < v) + 1;
        let last = sorted.partition_point(|&x| x <= v);
        (first, last)
    }

    fn check(values: &[f64], objectives: &[(f64, f64)], batch: usize) -> QuantileStream {
        let targets = Targets::new(objectives);
        let mut s = QuantileStream::new();
        for chunk in values.chunks(batch) {
            let mut chunk = chunk.to_vec();
            chunk.sort_by(f64::total_cmp);
            s.insert_sorted(&chunk, &targets, &mut Scratch::default());
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        for &(q, e) in objectives {
            let got = s.query(q);
            let (first, last) = ranks(&sorted, got);
            let lo = ((q - e) * n).floor().max(1.0) as usize;
            let hi = ((q + e) * n).ceil().min(n) as usize;
            assert!(
                first <= hi && last >= lo,
                "q={q} e={e} n={n} batch={batch}: got {got} at ranks {first}..={last}, want within {lo}..={hi}"
            );
        }
        s
    }

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    const OBJECTIVES: &[(f64, f64)] = &[(0.0, 0.01), (0.5, 0.05), (0.9, 0.01), (0.99, 0.001), (1.0, 0.001)];

    #[test]
    fn within_bounds_for_many_orders_and_sizes() {
        let mut seed = 7;
        for n in [1usize, 2, 3, 10, 99, 500, 1001, 20_000] {
            let random: Vec<f64> = (0..n).map(|_| lcg(&mut seed)).collect();
            let ascending: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let descending: Vec<f64> = (0..n).rev().map(|i| i as f64).collect();
            let few_values: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
            let sawtooth: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
            for values in [&random, &ascending, &descending, &few_values, &sawtooth] {
                for batch in [1, 7, 500] {
                    check(values, OBJECTIVES, batch);
                }
            }
        }
    }

    #[test]
    fn minimum_and_maximum_are_exact() {
        let values: Vec<f64> = (0..10_000).map(|i| ((i * 37) % 10_007) as f64).collect();
        let s = check(&values, OBJECTIVES, 500);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(s.query(0.0), min);
        assert_eq!(s.query(1.0), max);
    }

    #[test]
    fn stays_small() {
        let mut seed = 11;
        let targets = Targets::new(&[(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)]);
        let mut s = QuantileStream::new();
        let mut largest = 0;
        for _ in 0..2_000 {
            let mut batch: Vec<f64> = (0..500).map(|_| lcg(&mut seed)).collect();
            batch.sort_by(f64::total_cmp);
            s.insert_sorted(&batch, &targets, &mut Scratch::default());
            largest = largest.max(s.len());
        }
        assert_eq!(s.count(), 1_000_000);
        // A few dozen in practice: spans may grow linearly with the distance
        // from each target, so the count grows with log(1 / error), not with n.
        assert!(largest < 200, "the stream grew to {largest} tuples");
    }

    #[test]
    fn empty_stream_answers_nan() {
        assert!(QuantileStream::new().query(0.5).is_nan());
    }
}
