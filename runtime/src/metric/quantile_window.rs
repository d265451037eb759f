//! The sliding window behind a summary's quantiles, as the Go client keeps
//! it: time is cut into age buckets of `max_age / age_buckets`; there is one
//! stream per bucket, every observation goes into every stream, and each
//! stream is reset in turn, so the one reset longest ago (the head) holds the
//! last `max_age` at most and `max_age - max_age / age_buckets` at least.
//!
//! Observations first land in a hot buffer under a lock held for a push;
//! the observer that fills it (or that sees its age bucket end) takes the
//! buffer, sorts it with no lock held, and merges it into the streams under
//! a second lock that observers never wait for. A scrape flushes the buffer
//! and queries the head. No lock is ever held while user code runs.

use std::sync::{Arc, PoisonError};

use crate::sync::{Mutex, MutexGuard};

use super::ckms::{QuantileStream, Scratch};
use super::quantiles::{QuantileConfig, BUFFER_CAPACITY};

/// Observations not yet in the streams.
#[derive(Debug)]
struct Hot {
    values: Vec<f64>,
    /// An empty buffer to swap in when `values` is taken, or one without
    /// capacity while a flush has it.
    spare: Vec<f64>,
    /// The age bucket `values` belong to, and when it ends (nanoseconds
    /// since the window started).
    bucket: u64,
    bucket_end: u64,
}

/// The streams, one per age bucket.
#[derive(Debug)]
struct Cold {
    streams: Box<[QuantileStream]>,
    /// The age bucket each stream was last reset in.
    reset_in: Box<[u64]>,
    /// The latest age bucket the streams were rotated to.
    bucket: u64,
    scratch: Scratch,
}

impl Cold {
    /// Resets each stream whose turn came up to `bucket`: stream `s` is
    /// reset in buckets `s`, `s + len`, `s + 2 * len`, ...
    fn rotate(&mut self, bucket: u64) {
        if bucket <= self.bucket {
            return;
        }
        let len = self.streams.len() as u64;
        for (s, (stream, reset_in)) in self.streams.iter_mut().zip(self.reset_in.iter_mut()).enumerate() {
            let s = s as u64;
            if bucket < s {
                continue;
            }
            let turn = bucket - (bucket - s) % len;
            if turn > *reset_in {
                stream.reset();
                *reset_in = turn;
            }
        }
        self.bucket = bucket;
    }

    /// Adds sorted observations made in `bucket` to every stream that was
    /// reset no later than that (all of them unless a scrape or another
    /// flush rotated past it meanwhile).
    fn insert(&mut self, sorted: &[f64], bucket: u64, config: &QuantileConfig) {
        self.rotate(bucket);
        for (stream, &reset_in) in self.streams.iter_mut().zip(self.reset_in.iter()) {
            if reset_in <= bucket {
                stream.insert_sorted(sorted, &config.targets, &mut self.scratch);
            }
        }
    }

    /// The stream reset longest ago: the one covering the whole window.
    fn head(&self) -> &QuantileStream {
        let oldest = (0..self.streams.len()).min_by_key(|&s| self.reset_in[s]).unwrap_or(0);
        &self.streams[oldest]
    }
}

/// Where the window reads the time.
#[derive(Debug)]
enum Clock {
    Monotonic(crate::clock::Instant),
    Manual(crate::clock::ManualClock),
}

/// A summary child's quantile window.
#[derive(Debug)]
pub(crate) struct QuantileWindow {
    config: Arc<QuantileConfig>,
    clock: Clock,
    hot: Mutex<Hot>,
    cold: Mutex<Cold>,
}

/// A taken buffer and the age bucket its observations were made in.
struct Batch {
    values: Vec<f64>,
    bucket: u64,
}

/// Sorts observations, which are never NaN.
fn sort(values: &mut [f64]) {
    values.sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The critical sections run only this file's code, which leaves the
    // state consistent at every point a panic could unwind from.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl QuantileWindow {
    pub(crate) fn new(config: Arc<QuantileConfig>) -> Self {
        let clock = match &config.clock {
            Some(manual) => Clock::Manual(manual.clone()),
            None => Clock::Monotonic(crate::clock::now()),
        };
        let now = Self::read(&clock);
        let bucket = now / config.period;
        let buckets = config.age_buckets;
        QuantileWindow {
            hot: Mutex::new(Hot {
                values: Vec::new(),
                spare: Vec::new(),
                bucket,
                bucket_end: (bucket + 1).saturating_mul(config.period),
            }),
            cold: Mutex::new(Cold {
                streams: (0..buckets).map(|_| QuantileStream::new()).collect(),
                reset_in: vec![bucket; buckets].into(),
                bucket,
                scratch: Scratch::default(),
            }),
            clock,
            config,
        }
    }

    fn read(clock: &Clock) -> u64 {
        let elapsed = match clock {
            Clock::Monotonic(start) => crate::clock::now().saturating_duration_since(*start),
            Clock::Manual(manual) => manual.elapsed(),
        };
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Nanoseconds since the window started (on a manual clock, since the
    /// clock was created).
    #[inline]
    fn now(&self) -> u64 {
        Self::read(&self.clock)
    }

    /// Records one observation. NaN is not a rank-able value: it counts in
    /// the summary's count and sum only.
    #[inline(never)]
    pub(crate) fn observe(&self, v: f64) {
        if v.is_nan() {
            return;
        }
        let now = self.now();
        let mut hot = lock(&self.hot);
        let mut batch = None;
        if now >= hot.bucket_end {
            batch = self.start_bucket(&mut hot, now);
        }
        if hot.values.capacity() == 0 {
            hot.values.reserve_exact(BUFFER_CAPACITY);
        }
        hot.values.push(v);
        if hot.values.len() >= BUFFER_CAPACITY {
            batch = Some(Self::take(&mut hot));
        }
        drop(hot);
        if let Some(batch) = batch {
            self.flush(batch);
        }
    }

    /// Moves the hot buffer to the age bucket of `now`, handing back what it
    /// held for the previous one.
    fn start_bucket(&self, hot: &mut Hot, now: u64) -> Option<Batch> {
        let batch = (!hot.values.is_empty()).then(|| Self::take(hot));
        hot.bucket = now / self.config.period;
        hot.bucket_end = (hot.bucket + 1).saturating_mul(self.config.period);
        batch
    }

    fn take(hot: &mut Hot) -> Batch {
        let values = std::mem::replace(&mut hot.values, std::mem::take(&mut hot.spare));
        Batch { values, bucket: hot.bucket }
    }

    /// Sorts a taken buffer with no lock held, merges it into the streams
    /// and gives the buffer back as the spare.
    fn flush(&self, mut batch: Batch) {
        sort(&mut batch.values);
        lock(&self.cold).insert(&batch.values, batch.bucket, &self.config);
        self.give_back(batch.values);
    }

    fn give_back(&self, mut values: Vec<f64>) {
        values.clear();
        let mut hot = lock(&self.hot);
        if hot.spare.capacity() == 0 {
            hot.spare = values;
        }
    }

    /// The value of each objective over the window, in ascending quantile
    /// order; NaN for all when the window holds no observation.
    pub(crate) fn quantiles(&self) -> Vec<f64> {
        let now = self.now();
        let mut hot = lock(&self.hot);
        let mut batch = if now >= hot.bucket_end { self.start_bucket(&mut hot, now) } else { None };
        if batch.is_none() && !hot.values.is_empty() {
            batch = Some(Self::take(&mut hot));
        }
        let bucket = hot.bucket;
        drop(hot);
        let taken = batch.map(|mut batch| {
            sort(&mut batch.values);
            batch
        });
        let values = {
            let mut cold = lock(&self.cold);
            if let Some(batch) = &taken {
                cold.insert(&batch.values, batch.bucket, &self.config);
            }
            cold.rotate(bucket);
            let head = cold.head();
            if head.count() == 0 {
                vec![f64::NAN; self.config.quantiles.len()]
            } else {
                self.config.quantiles.iter().map(|&q| head.query(q)).collect()
            }
        };
        if let Some(batch) = taken {
            self.give_back(batch.values);
        }
        values
    }

    /// `(quantile, value)` for each objective.
    pub(crate) fn quantile_values(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.config.quantiles.iter().copied().zip(self.quantiles())
    }

    /// Forgets every observation.
    pub(crate) fn reset(&self) {
        lock(&self.hot).values.clear();
        let mut cold = lock(&self.cold);
        cold.streams.iter_mut().for_each(QuantileStream::reset);
    }

    /// How many observations the stream covering the whole window holds
    /// (not those still in the hot buffer).
    #[cfg(all(test, promdecl_loom))]
    fn head_count(&self) -> u64 {
        lock(&self.cold).head().count()
    }

    /// The number of values each stream keeps, and the bytes the window's
    /// buffers and streams have allocated.
    pub(crate) fn footprint(&self) -> (Vec<usize>, usize) {
        let buffered = {
            let hot = lock(&self.hot);
            hot.values.capacity() + hot.spare.capacity()
        };
        let cold = lock(&self.cold);
        let lens = cold.streams.iter().map(QuantileStream::len).collect();
        let bytes = buffered * std::mem::size_of::<f64>()
            + cold.scratch.bytes()
            + cold.streams.iter().map(QuantileStream::bytes).sum::<usize>();
        (lens, bytes)
    }
}

#[cfg(all(test, promdecl_loom))]
mod loom_models;
