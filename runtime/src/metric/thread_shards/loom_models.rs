//! Models of the per-thread shards, the `ShardedCounter` and the
//! histogram's classic buckets, run by loom over every interleaving within
//! the preemption bound (`scripts/loom.sh`).
//!
//! # Shard enter vs reset vs claim
//!
//! A reset bumps the cell's epoch; a scrape sums only the shards whose
//! epoch is the cell's; the owner of a shard of an older epoch zeroes it and
//! moves it to the epoch it read (`Shard::enter`) before writing. A shard
//! given up by a thread (its table slot is taken, or it exits) is claimed by
//! the next thread that needs one, possibly a thread that read the epoch
//! before the last reset.
//!
//! Invariant: **an increment that starts after a reset has returned is
//! counted by every scrape until the next reset**, and no scrape counts more
//! than was recorded. Entering never moves a shard to an older epoch, so a
//! late claimer cannot wipe what the previous owner recorded for the newer
//! one.
//!
//! # `ShardedCounter` inc vs scrape
//!
//! Each owner writes its words with plain stores; a scrape reads them.
//! Invariant: **successive scrapes never go down between resets, never
//! count more than was recorded, and count everything once the recording
//! threads are done.**
//!
//! # Histogram observe vs scrape
//!
//! An observation adds to one bucket word and the sum word of its thread's
//! shard; a scrape adds the shards up and emits cumulative counts.
//! Invariant: **in every scrape the buckets are cumulative and monotone, and
//! `_count` equals the `+Inf` bucket; successive scrapes never go down.**

use std::sync::Arc;

use loom::thread;

use crate::metric::{MetricCell, ShardedCounterCell};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::models::{check, wait_for, Scrape};
use crate::Histogram;

fn sharded() -> Arc<ShardedCounterCell> {
    Arc::new(ShardedCounterCell::new(&2))
}

/// Shard enter vs reset vs claim: a thread that read the epoch before a
/// reset claims the shard that a thread started after the reset recorded
/// into and gave up.
///
/// Guards: `Shard::enter` zeroes only words of an older epoch. Watched
/// failing when it zeroes words of any other epoch: the late claimer wipes
/// the newer increment and moves the shard back to the old epoch (count: 0).
#[test]
fn shard_enter_vs_reset_vs_claim() {
    check(|| {
        let c = sharded();
        let early = {
            let c = Arc::clone(&c);
            thread::spawn(move || c.inc_by_u64(1))
        };
        c.reset();
        let late = {
            let c = Arc::clone(&c);
            thread::spawn(move || c.inc_by_u64(1))
        };
        late.join().unwrap();
        early.join().unwrap();
        let got = c.get();
        assert!((1.0..=2.0).contains(&got), "the increment after the reset is lost: {got}");
    });
}

/// `ShardedCounter` inc vs scrape.
#[test]
fn sharded_inc_vs_scrape() {
    check(|| {
        let c = sharded();
        let t = {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                c.inc_by_u64(1);
                c.inc_by_u64(1);
            })
        };
        let first = c.get();
        let second = c.get();
        assert!(first <= second && second <= 2.0, "scrapes went {first} then {second} of 2");
        t.join().unwrap();
        assert_eq!(c.get(), 2.0);
    });
}

/// `ShardedCounter` inc vs reset: what a thread records after the reset has
/// returned is counted, with the thread's shard entering the new epoch.
#[test]
fn sharded_inc_vs_reset() {
    check(|| {
        let c = sharded();
        let reset = Arc::new(AtomicBool::new(false));
        let t = {
            let (c, reset) = (Arc::clone(&c), Arc::clone(&reset));
            thread::spawn(move || {
                c.inc_by_u64(1);
                wait_for(&reset);
                c.inc_by_u64(1);
            })
        };
        c.reset();
        reset.store(true, Ordering::Release);
        t.join().unwrap();
        let got = c.get();
        assert!((1.0..=2.0).contains(&got), "the increment after the reset is lost: {got}");
    });
}

/// Histogram observe vs scrape.
#[test]
fn histogram_observe_vs_scrape() {
    check(|| {
        let h: Histogram = Histogram::builder("h", "H.").buckets([1.0]).build().unwrap();
        let t = {
            let h = h.clone();
            thread::spawn(move || {
                h.observe(0.5);
                h.observe(2.0);
            })
        };
        let mut last = vec![0.0, 0.0];
        for _ in 0..2 {
            let scrape = Scrape::of(&h);
            let buckets = scrape.buckets("");
            assert_eq!(buckets.len(), 2);
            assert!(buckets[0] <= buckets[1], "buckets not cumulative: {buckets:?}");
            assert_eq!(scrape.value("", "_count"), Some(buckets[1]), "_count is not the +Inf bucket");
            assert!(buckets.iter().zip(&last).all(|(b, l)| b >= l), "buckets went down: {last:?} -> {buckets:?}");
            assert!(buckets[1] <= 2.0);
            last = buckets;
        }
        t.join().unwrap();
        let scrape = Scrape::of(&h);
        assert_eq!(scrape.buckets(""), [1.0, 2.0]);
        assert_eq!(scrape.value("", "_sum"), Some(2.5));
    });
}
