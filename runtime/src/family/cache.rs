//! A per-thread cache of recently used map children, so a lookup by label
//! values that hits costs a hash, a compare and no lock.
//!
//! Each entry is tagged with the *epoch* of the family it came from. Epochs
//! are unique in the process, and a family takes a new one before it removes
//! any child, so an entry is valid exactly while its epoch is the family's
//! current one: a removed child is never found here again, and an entry can
//! never be mistaken for another family's (or another cell type's) child.
//! The label values are always compared in full: a hash only picks the place.
//!
//! An entry holds a reference to its child, released when the entry is
//! replaced or the thread exits: at most `SLOTS` (1,024) children per thread.

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::AtomicU64 as IdCounter;

use crate::sync::atomic::{AtomicU64, Ordering};

use super::child::Child;
use super::key::{Hashes, ShortKey, Values};

/// Entries per thread, in sets of [`WAYS`]: 32 KiB of entries (of which a
/// lookup reads one set, 128 bytes), and 8 KiB of release functions, read
/// only to replace an entry.
const SLOTS: usize = 1024;
const WAYS: usize = 4;
const SET_BITS: u32 = SLOTS.ilog2() - WAYS.ilog2();

/// How many lookups a thread makes between checks of its hit rate.
const WINDOW: u32 = 4096;

/// Bits of an entry's tag that hold the epoch; the others hold bits of the
/// hash, so that the way of a set is picked without reading the child.
const EPOCH_BITS: u32 = 48;
const LAST_EPOCH: u64 = (1 << EPOCH_BITS) - 1;

/// Where the next epoch comes from. 0 is no epoch: the tag of an empty
/// entry, and what a family gets once the 2^48 epochs are used up (after
/// which its lookups skip the cache).
static NEXT_EPOCH: IdCounter = IdCounter::new(1);

/// A process-unique epoch, or 0 once they are used up.
pub(crate) fn new_epoch() -> u64 {
    use std::sync::atomic::Ordering::Relaxed;
    let epoch = NEXT_EPOCH.fetch_add(1, Relaxed);
    if epoch > LAST_EPOCH {
        NEXT_EPOCH.store(LAST_EPOCH + 1, Relaxed);
        return 0;
    }
    epoch
}

/// An entry's tag: the family's epoch, and the high bits of the folded
/// values ([`Hashes::early`]).
#[inline]
fn tag(epoch: u64, hash: u64) -> u64 {
    (epoch << (64 - EPOCH_BITS)) | (hash >> EPOCH_BITS)
}

#[derive(Clone, Copy)]
struct Entry {
    /// [`tag`] of the epoch and the folded values; 0 when empty.
    tag: u64,
    child: *const c_void,
    /// The child's key, if it is short: a lookup by values whose key is
    /// short compares it here, without waiting to load the child's.
    key: ShortKey,
}

const EMPTY: Entry = Entry { tag: 0, child: std::ptr::null(), key: ShortKey::NONE };

/// Releases the reference of an entry (typed by the family that made it).
type Release = unsafe fn(*const c_void);

/// Does nothing: the release of an empty entry.
unsafe fn release_nothing(_: *const c_void) {}

struct Cache {
    entries: Box<[Entry; SLOTS]>,
    releases: Box<[Release; SLOTS]>,
    lookups: u32,
    misses: u32,
    /// Set while the last window missed more often than it hit: then only
    /// one miss in eight is admitted, so a working set larger than the cache
    /// does not pay for an insertion and a release on every lookup.
    thrashing: bool,
}

impl Cache {
    /// Made on the heap directly: `Box::new([EMPTY; SLOTS])` would build
    /// the 40 KiB on the stack of the thread's first lookup first.
    fn new() -> Self {
        Cache {
            entries: on_heap(EMPTY),
            releases: on_heap(release_nothing as Release),
            lookups: 0,
            misses: 0,
            thrashing: false,
        }
    }
}

/// `SLOTS` copies of `value`, written straight into their allocation.
fn on_heap<T: Copy>(value: T) -> Box<[T; SLOTS]> {
    vec![value; SLOTS].into_boxed_slice().try_into().unwrap_or_else(|_| unreachable!("the vector has SLOTS items"))
}

impl Drop for Cache {
    fn drop(&mut self) {
        for (e, release) in self.entries.iter().zip(self.releases.iter()) {
            // SAFETY: every non-empty entry holds one reference, released
            // with the function stored beside it, once.
            unsafe { release(e.child) };
        }
    }
}

crate::sync::thread_locals! {
    static CACHE: RefCell<Option<Cache>> = const { RefCell::new(None) };
}

/// The index of the first entry of the set for a lookup in family `id`:
/// low bits of the folded values with their high half folded in (the low
/// bits of one multiplication alone follow values that count up, such as
/// status codes, too closely), moved by a multiple of the family's id,
/// which does not wait for the values.
#[inline]
fn set_of(id: u64, hashes: Hashes) -> usize {
    let folded = hashes.early ^ (hashes.early >> 32);
    let mixed = folded ^ (id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32);
    ((mixed as usize) & ((1 << SET_BITS) - 1)) * WAYS
}

/// Runs `f` on the cached child of family `id` for `values` (whose
/// [`Hashes`] are `hashes`), touched, and the epoch it is valid under, if
/// the cache holds it under the family's current `epoch`; gives `f` back
/// otherwise.
///
/// `f` runs with the cache borrowed, so that nothing `f` sets off (such as
/// the drop of a gauge's old callback, which is user code) can displace the
/// entry and free the child under it: a lookup made meanwhile on this thread
/// finds the cache busy and takes the map.
#[inline]
pub(crate) fn with_cached<C, V, F, R>(id: u64, epoch: &AtomicU64, hashes: Hashes, values: &V, f: F) -> Result<R, F>
where
    V: Values + ?Sized,
    F: FnOnce(&Child<C>, u64) -> R,
{
    let mut f = Some(f);
    let hit = CACHE.try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else { return None };
        let cache = cache.as_mut()?;
        cache.lookups = cache.lookups.wrapping_add(1);
        let current = epoch.load(Ordering::SeqCst);
        let want = tag(current, hashes.early);
        let set = set_of(id, hashes);
        let ways = &cache.entries[set..set + WAYS];
        if current == 0 {
            return None;
        }
        // Newest first: a child used again and again stays at the front of
        // its set unless another one for the same set came after it.
        for entry in ways.iter().filter(|e| e.tag == want) {
            // SAFETY: epochs are unique in the process and `current` is not
            // 0 (the tag of an empty entry), so an entry tagged with this
            // family's current epoch was made by `insert` for this family,
            // from a `Child<C>::into_raw`; the entry keeps that reference
            // until it is replaced or the cache dropped, neither of which
            // can happen while this borrow of the cache lives.
            let child = unsafe { Child::<C>::borrow_raw(entry.child) };
            let same = match hashes.short {
                Some(short) => entry.key == short,
                None => values.equals(child.key()),
            };
            if !same {
                // Another child whose hash shares the tag's bits: rare.
                continue;
            }
            child.touch();
            // An expiry check may have started since the first load: it
            // bumps the epoch before it looks at the mark `touch` set.
            if epoch.load(Ordering::SeqCst) != current {
                return None;
            }
            return f.take().map(|f| f(&child, current));
        }
        None
    });
    match (hit, f) {
        (Ok(Some(r)), _) => Ok(r),
        (_, Some(f)) => Err(f),
        (_, None) => unreachable!("`f` is taken only on a hit"),
    }
}

/// Remembers `child` of family `id` for values with these `hashes`, as found
/// under `epoch`. Whatever it displaces is released after the cache is let
/// go, since releasing a child can run user code (a gauge's callback being
/// dropped) that looks up metrics itself.
pub(crate) fn insert<C>(id: u64, epoch: u64, hashes: Hashes, child: &Child<C>) {
    if epoch == 0 {
        return;
    }
    let evicted = CACHE.try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else { return None };
        let cache = cache.get_or_insert_with(Cache::new);
        cache.misses = cache.misses.wrapping_add(1);
        if cache.lookups >= WINDOW {
            cache.thrashing = cache.misses * 2 > cache.lookups;
            (cache.lookups, cache.misses) = (0, 0);
        }
        if cache.thrashing && cache.misses % 8 != 0 {
            return None;
        }
        let set = set_of(id, hashes);
        // The newest entry goes first, the others move down one place, and
        // the oldest leaves.
        let last = set + WAYS - 1;
        let evicted = (cache.entries[last], cache.releases[last]);
        cache.entries.copy_within(set..last, set + 1);
        cache.releases.copy_within(set..last, set + 1);
        cache.entries[set] =
            Entry { tag: tag(epoch, hashes.early), child: child.clone().into_raw(), key: child.key().short() };
        cache.releases[set] = Child::<C>::release_raw;
        Some(evicted)
    });
    if let Ok(Some((entry, release))) = evicted {
        // SAFETY: the entry was taken out of the cache, so its reference is
        // released once, here.
        unsafe { release(entry.child) };
    }
}

#[cfg(test)]
mod tests {
    use super::super::key::Values;
    use super::*;

    /// A thread's cache is made on the heap: the first lookup of a thread
    /// with a small stack does not build its 40 KiB there.
    #[test]
    fn the_first_lookup_fits_a_small_stack() {
        let c = crate::Counter::builder("c", "C.").labels(["method", "code"]).build().unwrap();
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(48 * 1024)
                .spawn_scoped(s, || c.with_label_values(&["GET", "200"]).unwrap().inc())
                .unwrap()
                .join()
                .unwrap();
        });
        assert_eq!(c.with_label_values(&["GET", "200"]).unwrap().get(), 1.0);
    }

    /// The sets of 1,024 label sets, in each of three families and under
    /// twenty seeds, spread over the 256 sets about as evenly as random
    /// places would (the fullest then holds about 11, against a mean of
    /// 4), with keys hashed whole (a method and a code) and value by
    /// value (a method and a path); the same labels in two families mostly
    /// land in different sets.
    #[test]
    fn label_sets_spread_over_the_sets() {
        let sets = SLOTS / WAYS;
        for second in [|i: usize| format!("{}", 100 + i), |i: usize| format!("/api/v1/item/{i}")] {
            let values: Vec<String> = (0..256).map(second).collect();
            let (mut worst, mut fullest, mut same_set) = (0, 0, 0);
            for seed in 0..20u64 {
                let seed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                for id in [1, 2, 77] {
                    let mut load = vec![0usize; sets];
                    for m in ["GET", "POST", "PUT", "DELETE"] {
                        for v in &values {
                            let hashes = [m, v.as_str()][..].hashes(seed);
                            load[set_of(id, hashes) / WAYS] += 1;
                            same_set += usize::from(set_of(id, hashes) == set_of(id + 3, hashes));
                        }
                    }
                    let max = *load.iter().max().unwrap();
                    (worst, fullest) = (worst.max(max), fullest + max);
                }
            }
            let mean = 1024 / sets;
            assert!(
                fullest <= 60 * (2 * mean + 4),
                "{:?}: the fullest set held {} on average",
                values[1],
                fullest / 60
            );
            assert!(worst <= 4 * mean + 4, "{:?}: {worst} label sets in one set, {mean} on average", values[1]);
            assert!(
                same_set < 60 * 1024 / 16,
                "{:?}: {same_set} of 61,440 in the same set in another family",
                values[1]
            );
        }
    }
}
