//! Models of the summary's quantile window, run by loom over every
//! interleaving within the preemption bound (`scripts/loom.sh`). The hot
//! buffer holds two observations here, so a model fills and flushes it.
//!
//! # Rotation vs observe
//!
//! An observer reads the clock, then pushes under the hot lock, moving the
//! buffer to a new age bucket first if the clock says so; whoever fills the
//! buffer (or moves it on) takes it, sorts it with no lock held and merges
//! it into the streams under the cold lock, rotating them to its bucket
//! first. A scrape does the same with whatever the buffer holds, then
//! rotates the streams to the current bucket and reads the head.
//!
//! Invariant: **every observation is in the head stream exactly once from
//! the first scrape after its `observe` returned until its age bucket leaves
//! the window, and in no stream after that**; a flush that races a rotation
//! puts its observations only into streams reset no later than the bucket
//! they were made in.

use std::sync::Arc;
use std::time::Duration;

use loom::thread;

use super::QuantileWindow;
use crate::clock::ManualClock;
use crate::metric::quantiles::{QuantileConfig, QuantileOpts};
use crate::sync::models::check;

/// A window of two age buckets of one second each.
fn window(clock: &ManualClock) -> Arc<QuantileWindow> {
    let opts = QuantileOpts {
        objectives: vec![(0.5, 0.05)],
        max_age: Some(Duration::from_secs(2)),
        age_buckets: Some(2),
        clock: Some(clock.clone()),
    };
    let config = QuantileConfig::new(&opts).unwrap().unwrap();
    Arc::new(QuantileWindow::new(config))
}

/// How many observations a scrape finds in the window now.
fn in_window(w: &QuantileWindow) -> u64 {
    w.quantiles();
    w.head_count()
}

/// Observe (filling and flushing the buffer) vs a scrape taking it, within
/// one age bucket: neither loses nor doubles an observation.
#[test]
fn observe_and_flush_vs_scrape() {
    check(|| {
        let clock = ManualClock::new();
        let w = window(&clock);
        let t = {
            let w = Arc::clone(&w);
            thread::spawn(move || {
                w.observe(1.0);
                w.observe(2.0);
            })
        };
        let q = w.quantiles()[0];
        assert!(q.is_nan() || (1.0..=2.0).contains(&q), "median of nothing, 1 or 1 and 2: {q}");
        t.join().unwrap();
        assert_eq!(in_window(&w), 2);
    });
}

/// Observe vs a rotation to the next age bucket, and then out of the
/// window.
#[test]
fn observe_vs_rotation() {
    check(|| {
        let clock = ManualClock::new();
        let w = window(&clock);
        let t = {
            let w = Arc::clone(&w);
            thread::spawn(move || w.observe(1.0))
        };
        clock.advance(Duration::from_secs(1));
        w.quantiles();
        t.join().unwrap();
        // Made in the first or the second age bucket: in the window still.
        assert_eq!(in_window(&w), 1);
        // Two buckets later, out of it.
        clock.advance(Duration::from_secs(2));
        assert_eq!(in_window(&w), 0);
    });
}

/// A flush in flight while the window rotates past the bucket it was
/// made in.
#[test]
fn flush_vs_rotation_out_of_the_window() {
    check(|| {
        let clock = ManualClock::new();
        let w = window(&clock);
        let t = {
            let w = Arc::clone(&w);
            thread::spawn(move || {
                w.observe(1.0);
                w.observe(2.0);
            })
        };
        clock.advance(Duration::from_secs(3));
        let during = in_window(&w);
        t.join().unwrap();
        let after = in_window(&w);
        // Observations made before the advance are out of the window, those
        // made after are in: never more than were made, and none that a
        // scrape already found in the window is dropped while still in it.
        assert!(during <= after && after <= 2, "in the window: {during}, then {after}");
        clock.advance(Duration::from_secs(2));
        assert_eq!(in_window(&w), 0);
    });
}
