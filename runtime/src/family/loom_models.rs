//! Models of a family's lock-free protocols, run by loom over every
//! interleaving within the preemption bound (`scripts/loom.sh`).
//!
//! # Lookup cache and epochs
//!
//! A lookup reads the family's epoch, finds the child (in the per-thread
//! cache or the map), marks it touched and reads the epoch again; only if
//! both reads agree does it use (and cache) the child. Every removal (by
//! `remove`, `clear`, `remove_by_labels` or expiry at scrape) takes a new
//! epoch before it takes children out of the map and another one after.
//!
//! Invariant: **an increment through a lookup that starts after a removal
//! has returned is exposed** by every later scrape, whatever lookups raced
//! the removal and whatever they cached. The second new epoch is what makes
//! this hold: a lookup that read the first one and found the child just
//! before it left the map has cached it under an epoch that is over by the
//! time the removal returns.
//!
//! An increment through a lookup that races the removal may land in the
//! removed child: it is ordered before the removal, and goes with the child
//! (as the child's whole count does). That holds for expiry too, even with
//! sequentially consistent accesses: a lookup touches the child after it
//! leaves the map's lock, so the sweep may check the mark just before.
//!
//! loom treats `SeqCst` accesses as `AcqRel`, and the invariant needs no
//! more: the removal's last epoch store happens before the later lookup (a
//! release/acquire chain through the model's own flag), so that lookup
//! reads it or a newer epoch and misses every entry cached before. The
//! `SeqCst` pairing of `Child::touch` with the sweep's first epoch store only
//! makes it likelier that a child in use as a scrape expires it is kept; no
//! invariant rests on it, so no fence is added for loom's sake.
//!
//! # Kept children
//!
//! A `Labeled` child is looked up once and may be kept in a variable; each
//! operation on it marks the child touched, then compares the family's
//! epoch with the one it was looked up under, and looks its labels up again
//! when they differ. Invariant: **an operation on a kept child that starts
//! after a removal (or an expiry) has returned is exposed**.
//!
//! # Handles and pins
//!
//! A handle pins its child, then checks under the map's lock that the child
//! is still there; expiry removes a child under the same lock only if it is
//! neither touched nor pinned. Invariant: **the child a handle holds is the
//! one the family shows, for as long as the handle lives**, so nothing
//! recorded through it is lost to expiry.
//!
//! # Dense `present` flags
//!
//! A lookup of a closed label set sets its slot's `present` flag (a load,
//! and a store only if it was clear); `clear_slot` clears it and resets the
//! cell. Invariant: **an increment through a lookup that starts after the
//! removal has returned is exposed**; the only child of a label-free family
//! is reset by a removal but stays shown, since it is used through `Deref`,
//! which never sets the flag again.
//!
//! # Child references
//!
//! A map child is one allocation with a reference count (`Child`): clones
//! add with `Relaxed`, releases subtract with `Release`, and the release
//! that reaches zero takes an `Acquire` fence before it drops the cell and
//! frees the child. The model runs the child with loom's atomic as its
//! count; the other models keep the standard one (their children are
//! cloned at every step, and a modelled count would multiply the
//! interleavings past what loom can search). Invariant: **the last release sees every access made
//! through the other references, and drops the cell once**.
//!
//! # Resets racing increments
//!
//! A removal of a dense child resets its cell with a plain store, which
//! races increments (read-modify-writes) of the same word. loom can order
//! such a store against a concurrent read-modify-write in a way no real
//! execution can (tokio-rs/loom#282, #389: a later load reads a value that
//! the store overwrote), so the dense models check that the increment made
//! after the removal is shown, and not an upper bound on the count.

use std::sync::Arc;
use std::time::Duration;

use loom::thread;

use super::collect::with_expiry_clock;
use crate::clock::ManualClock;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::models::{check, wait_for, Scrape};
use crate::{Counter, DynLabels, LabelSet};

const EXPIRY: Duration = Duration::from_secs(60);

fn counter() -> Counter<DynLabels> {
    Counter::builder("x", "X.").labels(["k"]).build().unwrap()
}

/// What the family shows for child `a`, 0 if it shows none.
fn exposed<L: LabelSet>(c: &Counter<L>, labels: &str) -> f64 {
    Scrape::of(c).value(labels, "_total").unwrap_or(0.0)
}

/// The family `make` builds, with child `a` incremented once and, if the
/// family expires children, idle for longer than its expiry.
fn with_a_ready_to_go(make: fn() -> (Counter<DynLabels>, Option<ManualClock>)) -> Counter<DynLabels> {
    let (c, clock) = make();
    c.with_label_values(&["a"]).unwrap().inc();
    if let Some(clock) = &clock {
        // A scrape finds `a` untouched since the last one; the next finds
        // it idle for longer than its expiry.
        Scrape::of(&c);
        clock.advance(EXPIRY + Duration::from_secs(1));
    }
    c
}

/// A thread increments child `a` twice while the main thread runs `remove`,
/// then, once `remove` has returned, once more: that increment must be
/// exposed. Before the race, `a` exists (and, with a clock, has been idle
/// for longer than its expiry).
fn increments_after_a_racing_removal_are_exposed(
    make: fn() -> (Counter<DynLabels>, Option<ManualClock>),
    remove: fn(&Counter<DynLabels>),
) {
    check(move || {
        let c = with_a_ready_to_go(make);
        let removed = Arc::new(AtomicBool::new(false));
        let t = {
            let (c, removed) = (c.clone(), Arc::clone(&removed));
            thread::spawn(move || {
                // The second lookup may hit this thread's cache, or miss
                // it once the removal has taken a new epoch.
                c.with_label_values(&["a"]).unwrap().inc();
                c.with_label_values(&["a"]).unwrap().inc();
                wait_for(&removed);
                c.with_label_values(&["a"]).unwrap().inc();
            })
        };
        remove(&c);
        removed.store(true, Ordering::Release);
        t.join().unwrap();
        let shown = exposed(&c, "a");
        // At least the increment made after the removal; at most all four.
        assert!((1.0..=4.0).contains(&shown), "the increment after the removal is lost: {shown}");
    });
}

fn plain() -> (Counter<DynLabels>, Option<ManualClock>) {
    (counter(), None)
}

fn expiring() -> (Counter<DynLabels>, Option<ManualClock>) {
    let clock = ManualClock::new();
    let c =
        with_expiry_clock(&clock, || Counter::builder("x", "X.").labels(["k"]).expire_after(EXPIRY).build().unwrap());
    (c, Some(clock))
}

/// Removes child `a`, which must be there.
fn remove_a(c: &Counter<DynLabels>) {
    assert!(c.remove(&DynLabels::new(["a"])));
}

/// Lookup vs `remove`.
///
/// Guards: `remove` takes a new epoch after the removal too (`Inner::removing`).
/// Watched failing with only the epoch before the removal: the racing lookup
/// caches the removed child under the first new epoch and the increment made
/// after the removal goes to it (shown: 0).
#[test]
fn lookup_vs_remove() {
    increments_after_a_racing_removal_are_exposed(plain, remove_a);
}

/// Lookup vs `clear`.
///
/// Guards: `clear` takes a new epoch after the removal too (`Inner::removing`).
#[test]
fn lookup_vs_clear() {
    increments_after_a_racing_removal_are_exposed(plain, |c| c.clear());
}

/// Lookup vs `remove_by_labels`.
///
/// Guards: `remove_by_labels` takes a new epoch after the removal too
/// (`Inner::removing`).
#[test]
fn lookup_vs_remove_by_labels() {
    increments_after_a_racing_removal_are_exposed(plain, |c| {
        assert_eq!(c.remove_by_labels(&[("k", "a")]).unwrap(), 1);
    });
}

/// Lookup vs expiry during a scrape: the scrape finds `a` idle and removes it
/// unless the racing lookup touched it first.
///
/// Guards: the expiry sweep of `collect` takes a new epoch after its
/// removals too, as `remove` does. Watched failing with only the epoch
/// before them: the racing lookup caches the expired child and the increment
/// made after the scrape goes to it (shown: 0).
#[test]
fn lookup_vs_expiry() {
    increments_after_a_racing_removal_are_exposed(expiring, |c| {
        Scrape::of(c);
    });
}

/// A thread looks child `a` up once and keeps the `Labeled` it got; it
/// increments through it while the main thread runs `remove`, and once more
/// after `remove` has returned: that increment must be exposed, since the
/// kept child is no longer the family's.
fn kept_children_follow_a_racing_removal(
    make: fn() -> (Counter<DynLabels>, Option<ManualClock>),
    remove: fn(&Counter<DynLabels>),
) {
    check(move || {
        let c = with_a_ready_to_go(make);
        let removed = Arc::new(AtomicBool::new(false));
        let t = {
            let (c, removed) = (c.clone(), Arc::clone(&removed));
            thread::spawn(move || {
                // Kept past the life of its label values.
                let value = String::from("a");
                let kept = c.with_label_values(&[value.as_str()]).unwrap();
                drop(value);
                kept.inc();
                wait_for(&removed);
                kept.inc();
            })
        };
        remove(&c);
        removed.store(true, Ordering::Release);
        t.join().unwrap();
        let shown = exposed(&c, "a");
        // At least the increment made after the removal; at most all three.
        assert!((1.0..=3.0).contains(&shown), "the increment through the kept child is lost: {shown}");
    });
}

/// A kept child vs `remove`.
///
/// Guards: an operation on a kept `Labeled` compares the family's epoch
/// with the one it was looked up under, after marking the child touched,
/// and looks its labels up again when they differ (`Labeled::with`).
/// Watched failing without the comparison: the increment after the removal
/// goes to the removed child (shown: 0).
#[test]
fn kept_child_vs_remove() {
    kept_children_follow_a_racing_removal(plain, remove_a);
}

/// A kept child vs expiry during a scrape.
///
/// Guards: as [`kept_child_vs_remove`], with the sweep's two epochs.
/// Watched failing the same way without the comparison (shown: 0).
#[test]
fn kept_child_vs_expiry() {
    kept_children_follow_a_racing_removal(expiring, |c| {
        Scrape::of(c);
    });
}

/// Taking a handle vs expiry during a scrape.
///
/// Guards: a handle re-checks, once pinned, that its child is still in the
/// map (`Inner::pinned`). Watched failing without the re-check: the scrape
/// removes the child between the handle's lookup and its pin, and the
/// handle then records into a child nobody sees.
#[test]
fn handle_vs_expiry() {
    check(|| {
        let (c, clock) = expiring();
        let clock = clock.unwrap();
        c.with_label_values(&["a"]).unwrap().inc();
        Scrape::of(&c);
        clock.advance(EXPIRY + Duration::from_secs(1));
        let t = {
            let c = c.clone();
            thread::spawn(move || {
                let h = c.with_label_values(&["a"]).unwrap().handle();
                h.inc();
                h
            })
        };
        Scrape::of(&c);
        let h = t.join().unwrap();
        assert_eq!(exposed(&c, "a"), h.get(), "the handle's child is not the one shown");
        // A held child never expires.
        clock.advance(EXPIRY * 3);
        Scrape::of(&c);
        clock.advance(EXPIRY * 3);
        h.inc();
        assert_eq!(exposed(&c, "a"), h.get(), "the handle's child expired");
    });
}

/// Dropping and cloning handles vs expiry: a clone made while another handle
/// pins the child keeps it, and once every handle is gone the child may
/// expire again.
#[test]
fn handle_clone_and_drop_vs_expiry() {
    check(|| {
        let (c, clock) = expiring();
        let clock = clock.unwrap();
        let h = c.with_label_values(&["a"]).unwrap().handle();
        Scrape::of(&c);
        clock.advance(EXPIRY + Duration::from_secs(1));
        let t = thread::spawn(move || {
            let kept = h.clone();
            drop(h);
            kept.inc();
            kept
        });
        Scrape::of(&c);
        let kept = t.join().unwrap();
        assert_eq!(exposed(&c, "a"), kept.get(), "a cloned handle's child expired");
        drop(kept);
        // Untouched and unpinned now: the next scrape but one drops it.
        Scrape::of(&c);
        clock.advance(EXPIRY + Duration::from_secs(1));
        Scrape::of(&c);
        assert_eq!(c.len(), 0);
    });
}

/// A closed label set of two values, stored densely.
#[derive(Clone, PartialEq, Eq, Hash)]
struct On(bool);

impl LabelSet for On {
    const NAMES: &'static [&'static str] = &["on"];
    const CARDINALITY: Option<usize> = Some(2);
    fn dense_index(&self) -> usize {
        usize::from(self.0)
    }
    fn visit_dense(index: usize, f: &mut dyn FnMut(&str)) {
        f(["false", "true"][index])
    }
    fn visit(&self, f: &mut dyn FnMut(&str)) {
        Self::visit_dense(self.dense_index(), f)
    }
}

/// The dense `present` flag vs `clear_slot` and lookups: an increment
/// through a lookup made after `remove` returned is shown.
#[test]
fn dense_lookup_vs_remove() {
    check(|| {
        let c: Counter<On> = Counter::builder("x", "X.").label_set::<On>().build().unwrap();
        c.labels(&On(true)).inc();
        let removed = Arc::new(AtomicBool::new(false));
        let t = {
            let (c, removed) = (c.clone(), Arc::clone(&removed));
            thread::spawn(move || {
                c.labels(&On(true)).inc();
                wait_for(&removed);
                c.labels(&On(true)).inc();
            })
        };
        c.remove(&On(true));
        removed.store(true, Ordering::Release);
        t.join().unwrap();
        // No upper bound: see "Resets racing increments" above.
        let shown = exposed(&c, "true");
        assert!(shown >= 1.0, "the increment after the removal is not shown: {shown}");
        assert!(Scrape::of(&c).value("false", "_total").is_none(), "a label set never used is shown");
    });
}

/// The only child of a label-free family vs its removal.
///
/// Guards: `clear_slot` keeps the child of a label-free family shown.
/// Watched failing when it clears the flag: the counter is never shown
/// again, since `Deref` never sets it.
#[test]
fn label_free_increment_vs_remove() {
    check(|| {
        let c: Counter = Counter::builder("x", "X.").build().unwrap();
        let t = {
            let c = c.clone();
            thread::spawn(move || c.inc())
        };
        assert!(c.remove(&()));
        t.join().unwrap();
        c.inc();
        let shown = Scrape::of(&c).value("", "_total");
        assert!(matches!(shown, Some(v) if v >= 1.0), "the counter is hidden: {shown:?}");
    });
}

/// A cell that checks, as it is dropped, that it sees the write made
/// through the other reference.
struct Witness {
    written: loom::cell::UnsafeCell<u64>,
    drops: Arc<crate::sync::atomic::AtomicU64>,
}

// SAFETY: the model writes `written` from one thread while it holds a
// reference, and reads it only in `drop`, after every reference is gone;
// the model is there to check that those accesses are ordered.
unsafe impl Sync for Witness {}

impl Drop for Witness {
    fn drop(&mut self) {
        // SAFETY: every other reference is gone (see `Sync`); loom reports
        // the read if the write is not ordered before it.
        self.written.with(|v| assert_eq!(unsafe { *v }, 1));
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// A child released on two threads, one of which wrote through it.
///
/// Guards: the count's `Release` decrement and the last release's
/// `Acquire` fence. Watched failing with the decrement `Relaxed` (loom
/// reports the read in `Witness::drop` as racing the write).
#[test]
fn child_released_on_two_threads() {
    use super::child::Child;
    type LoomCount = loom::sync::atomic::AtomicU32;
    check(|| {
        let drops = Arc::new(crate::sync::atomic::AtomicU64::new(0));
        let witness = Witness { written: loom::cell::UnsafeCell::new(0), drops: drops.clone() };
        let child: Child<Witness, LoomCount> = Child::new(witness, &["a"][..], false);
        let other = child.clone();
        let t = thread::spawn(move || {
            // SAFETY: only this thread writes, and `main` reads after both
            // references are released (see `Witness`).
            other.cell().written.with_mut(|v| unsafe { *v = 1 });
            drop(other);
        });
        drop(child);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}
