//! Per-thread shards of a metric cell: each thread that records into a cell
//! gets words of its own, which only it writes, with a plain load and store
//! instead of a locked read-modify-write. A scrape adds the shards up.
//!
//! A thread finds its shard of a cell in a small per-thread table indexed by
//! the cell's unique id, after a check of a smaller per-thread cache of the
//! shards it used last, [`WAYS`] of them (a hot loop recording into a few
//! histograms, or the children of one closed label set, never reaches the
//! table). A thread owns at most [`SLOTS`] shards at a time;
//! a shard it lets go of (when its table slot is taken by another cell, or
//! when the thread exits) keeps its values and is taken over by the next
//! thread that needs one for that cell, so a cell has at most as many shards
//! as threads have ever recorded into it at the same time. A thread whose
//! cells do not fit in its table (it keeps missing) records into the cell's
//! shared atomics instead.
//!
//! Resetting a cell starts a new *epoch*: shards of an older epoch are left
//! out of every sum, and their owner zeroes them before it writes again.

use std::cell::{Cell, RefCell};
use std::sync::atomic::AtomicU64 as IdCounter;
use std::sync::Arc;

use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::sync::Mutex;

/// Cells a thread can hold a shard of at once.
const SLOTS: usize = 256;

/// Shards a thread finds without its table: the cell with id `i` is
/// remembered in way `i % WAYS`. A divisor of [`SLOTS`], so the cells of
/// one way share their table slots with no other way.
const WAYS: usize = 16;
const _: () = assert!(SLOTS % WAYS == 0);

/// How many lookups a thread makes between checks of its miss rate.
const WINDOW: u32 = 4096;

static NEXT_ID: IdCounter = IdCounter::new(1);

/// One thread's words of one cell.
struct Shard {
    /// Whether a thread holds this shard in its table: then only that
    /// thread writes its words.
    owned: AtomicBool,
    /// The cell epoch the words belong to.
    epoch: AtomicU64,
    /// The words, in lines of their own: two threads' shards never share a
    /// cache line.
    lines: Box<[Line]>,
    len: usize,
}

/// Words of a shard, aligned and padded to the 128 bytes that adjacent-line
/// prefetching makes the unit of sharing on x86-64 (as `CachePadded` does).
#[repr(C, align(128))]
struct Line([AtomicU64; 16]);

impl Shard {
    fn new(epoch: u64, len: usize, owned: bool) -> Self {
        let lines = (0..len.div_ceil(16)).map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0)))).collect();
        Shard { owned: AtomicBool::new(owned), epoch: AtomicU64::new(epoch), lines, len }
    }

    #[inline]
    fn words(&self) -> &[AtomicU64] {
        // SAFETY: `Line` is `repr(C)` around an array of 16 `AtomicU64` and
        // exactly 128 bytes (16 x 8, already a multiple of its alignment), so
        // a slice of lines is a contiguous run of `16 * lines.len()` atomics.
        // `new` makes `len.div_ceil(16)` lines for `len` words and neither
        // field is written after, so the first `len` are within the run.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<AtomicU64>(), self.len) }
    }

    /// Makes the words count for `epoch`, zeroing them if they counted for
    /// an older one. Only the owner calls this. A caller that read `epoch`
    /// before a reset may find words that already count for a newer epoch
    /// (written by the shard's previous owner since): those stay as they are.
    #[inline]
    fn enter(&self, epoch: u64) {
        if self.epoch.load(Ordering::Relaxed) < epoch {
            self.words().iter().for_each(|w| w.store(0, Ordering::Relaxed));
            self.epoch.store(epoch, Ordering::Release);
        }
    }
}

/// The shards of one cell.
pub(crate) struct ThreadShards {
    id: u64,
    epoch: AtomicU64,
    words: usize,
    shards: Mutex<Vec<Arc<Shard>>>,
}

impl std::fmt::Debug for ThreadShards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadShards").field("id", &self.id).field("words", &self.words).finish_non_exhaustive()
    }
}

struct Entry {
    id: u64,
    shard: Option<Arc<Shard>>,
}

struct Table {
    entries: Box<[Entry]>,
    lookups: u32,
    misses: u32,
    /// Set while the last window missed more often than one lookup in
    /// sixteen: then misses go to the shared atomics.
    thrashing: bool,
}

impl Drop for Table {
    fn drop(&mut self) {
        // The last-used shard is one of ours: forget it before letting go.
        let _ = LAST.try_with(|last| last.iter().for_each(|way| way.set(Last::NONE)));
        for e in self.entries.iter() {
            if let Some(shard) = &e.shard {
                shard.owned.store(false, Ordering::Release);
            }
        }
    }
}

impl Table {
    fn new() -> Self {
        Table {
            entries: (0..SLOTS).map(|_| Entry { id: 0, shard: None }).collect(),
            lookups: 0,
            misses: 0,
            thrashing: false,
        }
    }
}

/// A shard this thread recorded into lately (one per way): its cell's id,
/// the epoch its words count for, and the words.
///
/// Invariant: `id` is 0 (no cell has it) or the id of an entry of this
/// thread's table, whose `Arc<Shard>` keeps `words` alive and owned by this
/// thread. Whatever replaces or drops that entry updates this first.
#[derive(Clone, Copy)]
struct Last {
    id: u64,
    epoch: u64,
    words: *const AtomicU64,
}

impl Last {
    const NONE: Last = Last { id: 0, epoch: 0, words: std::ptr::null() };
}

crate::sync::thread_locals! {
    static TABLE: RefCell<Option<Table>> = const { RefCell::new(None) };
}
crate::sync::thread_locals! {
    // No destructor: readable even while the thread's other locals are torn down.
    static LAST: [Cell<Last>; WAYS] = const { [const { Cell::new(Last::NONE) }; WAYS] };
}

impl ThreadShards {
    /// Shards of `words` words each.
    pub(crate) fn new(words: usize) -> Self {
        ThreadShards {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            epoch: AtomicU64::new(0),
            words,
            shards: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on this thread's words, which no other thread writes: `f`
    /// may update them with plain loads and stores. `None` if this thread
    /// cannot have a shard now (its table is busy, gone, or thrashing);
    /// then the caller records into shared atomics.
    #[inline]
    pub(crate) fn with_local<R>(&self, f: impl FnOnce(&[AtomicU64]) -> R) -> Option<R> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let way = self.id as usize % WAYS;
        if let Ok(last) = LAST.try_with(|last| last[way].get()) {
            if last.id == self.id && last.epoch == epoch {
                // SAFETY: by `Last`'s invariant the words are those of this
                // cell's shard in this thread's table, alive and written by
                // this thread only; they count for the current epoch, and a
                // shard has `self.words` words.
                let words = unsafe { std::slice::from_raw_parts(last.words, self.words) };
                return Some(f(words));
            }
        }
        self.with_local_slow(epoch, f)
    }

    /// [`ThreadShards::with_local`] through the table, when the shard used
    /// last is another cell's (or of an older epoch).
    #[inline(never)]
    fn with_local_slow<R>(&self, epoch: u64, f: impl FnOnce(&[AtomicU64]) -> R) -> Option<R> {
        TABLE
            .try_with(|table| {
                let mut table = table.try_borrow_mut().ok()?;
                let table = match table.as_mut() {
                    Some(table) => table,
                    None => table.insert(Table::new()),
                };
                table.lookups = table.lookups.wrapping_add(1);
                let slot = self.id as usize % SLOTS;
                let shard = match &table.entries[slot] {
                    Entry { id, shard: Some(shard) } if *id == self.id => shard,
                    _ => self.claim_into(table, slot)?,
                };
                shard.enter(epoch);
                let words = shard.words();
                // The table entry for `self.id` now holds this shard.
                let way = self.id as usize % WAYS;
                let _ = LAST.try_with(|last| last[way].set(Last { id: self.id, epoch, words: words.as_ptr() }));
                Some(f(words))
            })
            .ok()
            .flatten()
    }

    /// The miss path of [`ThreadShards::with_local`]: takes a free shard of
    /// this cell (or a new one) into `slot` of this thread's table, unless
    /// the thread keeps missing.
    #[inline(never)]
    fn claim_into<'t>(&self, table: &'t mut Table, slot: usize) -> Option<&'t Arc<Shard>> {
        table.misses = table.misses.wrapping_add(1);
        if table.lookups >= WINDOW {
            table.thrashing = table.misses.saturating_mul(16) > table.lookups;
            (table.lookups, table.misses) = (0, 0);
        }
        if table.thrashing {
            return None;
        }
        let entry = &mut table.entries[slot];
        // The entry's cell may be remembered in its way: it is about to lose
        // its shard, so forget it (the caller records the new one).
        let way = entry.id as usize % WAYS;
        let _ = LAST.try_with(|last| {
            if last[way].get().id == entry.id {
                last[way].set(Last::NONE);
            }
        });
        if let Some(old) = entry.shard.replace(self.claim()) {
            old.owned.store(false, Ordering::Release);
        }
        entry.id = self.id;
        entry.shard.as_ref()
    }

    /// A shard of this cell no thread owns, now owned by the caller.
    fn claim(&self) -> Arc<Shard> {
        let mut shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        for shard in shards.iter() {
            // Acquire: the previous owner's last writes come before ours.
            if shard.owned.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return Arc::clone(shard);
            }
        }
        let shard = Arc::new(Shard::new(self.epoch.load(Ordering::Acquire), self.words, true));
        shards.push(Arc::clone(&shard));
        shard
    }

    /// Calls `f` with the words of every shard of the current epoch.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[AtomicU64])) {
        let epoch = self.epoch.load(Ordering::Acquire);
        let shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        for shard in shards.iter() {
            if shard.epoch.load(Ordering::Acquire) == epoch {
                f(shard.words());
            }
        }
    }

    /// Leaves every shard's words out of the sums from now on.
    pub(crate) fn reset(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

/// Adds `v` to the `f64` whose bits are in `word`, which only this thread
/// writes.
#[inline]
pub(crate) fn add_f64_owned(word: &AtomicU64, v: f64) {
    word.store((f64::from_bits(word.load(Ordering::Relaxed)) + v).to_bits(), Ordering::Relaxed);
}

/// Adds `n` to `word`, which only this thread writes.
#[inline]
pub(crate) fn add_u64_owned(word: &AtomicU64, n: u64) {
    word.store(word.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

#[cfg(all(test, promdecl_loom))]
mod loom_models;

#[cfg(all(test, not(promdecl_loom)))]
mod tests {
    use super::*;

    fn total(s: &ThreadShards) -> u64 {
        let mut t = 0;
        s.for_each(|w| t += w[0].load(Ordering::Relaxed));
        t
    }

    #[test]
    fn threads_write_their_own_shards_and_the_sum_is_exact() {
        let s = ThreadShards::new(1);
        let all_recording = std::sync::Barrier::new(4);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        s.with_local(|w| add_u64_owned(&w[0], 1)).expect("a shard");
                    }
                    all_recording.wait();
                });
            }
        });
        assert_eq!(total(&s), 40_000);
        // The four threads are gone: their shards are free for the next.
        assert_eq!(s.shards.lock().unwrap().len(), 4);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| s.with_local(|w| add_u64_owned(&w[0], 1)).expect("a shard"));
            }
        });
        assert_eq!(s.shards.lock().unwrap().len(), 4, "shards of exited threads are reused");
        assert_eq!(total(&s), 40_004);
    }

    #[test]
    fn reset_leaves_old_words_out_and_owners_start_again_from_zero() {
        let s = ThreadShards::new(2);
        s.with_local(|w| add_u64_owned(&w[1], 5)).unwrap();
        s.reset();
        let mut seen = 0;
        s.for_each(|_| seen += 1);
        assert_eq!(seen, 0);
        s.with_local(|w| add_u64_owned(&w[1], 1)).unwrap();
        let mut words = Vec::new();
        s.for_each(|w| words.extend(w.iter().map(|x| x.load(Ordering::Relaxed))));
        assert_eq!(words, [0, 1]);
    }

    #[test]
    fn entering_with_an_epoch_read_before_a_reset_keeps_newer_words() {
        // The shard's last owner recorded 7 after a reset (epoch 1); a thread
        // that read the epoch before that reset (0) then takes the shard.
        let shard = Shard::new(1, 2, true);
        add_u64_owned(&shard.words()[0], 7);
        shard.enter(0);
        assert_eq!(shard.epoch.load(Ordering::Relaxed), 1);
        assert_eq!(shard.words()[0].load(Ordering::Relaxed), 7);
        shard.enter(2);
        assert_eq!(shard.words()[0].load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_thread_with_more_cells_than_slots_falls_back_to_shared_atomics() {
        let cells: Vec<ThreadShards> = (0..4 * SLOTS).map(|_| ThreadShards::new(1)).collect();
        std::thread::spawn(move || {
            let mut local = 0;
            for _ in 0..8 {
                for c in &cells {
                    local += usize::from(c.with_local(|w| add_u64_owned(&w[0], 1)).is_some());
                }
            }
            // Every recorded value is in some shard; the rest was refused
            // (the caller then uses its shared atomics).
            let in_shards: u64 = cells.iter().map(total).sum();
            assert_eq!(in_shards, local as u64);
            // After a window of misses, only the cells still in the table are
            // recorded locally: a quarter of the lookups.
            assert!(local < 8 * cells.len() * 3 / 4, "thrashing threads stop taking shards ({local})");
            // Never more shards than one per cell for a single thread.
            assert!(cells.iter().all(|c| c.shards.lock().unwrap().len() <= 1));
        })
        .join()
        .unwrap();
    }

    /// Two cells whose ids share a table slot.
    fn colliding_pair() -> (ThreadShards, ThreadShards) {
        let first = ThreadShards::new(1);
        loop {
            let other = ThreadShards::new(1);
            if other.id as usize % SLOTS == first.id as usize % SLOTS {
                return (first, other);
            }
        }
    }

    #[test]
    fn a_shard_given_up_is_never_written_through_the_last_used_entry() {
        let (x, y) = colliding_pair();
        // What a cell records when the thread has no shard for it.
        let (x_shared, y_shared) = (AtomicU64::new(0), AtomicU64::new(0));
        let record = |cell: &ThreadShards, shared: &AtomicU64| {
            if cell.with_local(|w| add_u64_owned(&w[0], 1)).is_none() {
                shared.fetch_add(1, Ordering::Relaxed);
            }
        };
        std::thread::scope(|scope| {
            scope.spawn(|| {
                // x is used last, then y takes x's slot: x's shard is free.
                record(&x, &x_shared);
                record(&y, &y_shared);
                // Another thread takes x's free shard and records into it
                // while this one keeps recording into x and y.
                let started = std::sync::Barrier::new(2);
                std::thread::scope(|inner| {
                    inner.spawn(|| {
                        record(&x, &x_shared);
                        started.wait();
                        for _ in 0..100_000 {
                            record(&x, &x_shared);
                        }
                    });
                    started.wait();
                    for _ in 0..100_000 {
                        // Alternating keeps the slot changing hands.
                        record(&x, &x_shared);
                        record(&y, &y_shared);
                    }
                });
            });
        });
        let x_total = total(&x) + x_shared.load(Ordering::Relaxed);
        assert_eq!(x_total, 1 + 1 + 200_000, "no increment of x lost to a shard written by two threads");
        assert_eq!(total(&y) + y_shared.load(Ordering::Relaxed), 1 + 100_000);
    }

    #[test]
    fn the_last_used_shard_follows_resets() {
        let s = ThreadShards::new(1);
        s.with_local(|w| add_u64_owned(&w[0], 3)).unwrap();
        s.with_local(|w| add_u64_owned(&w[0], 3)).unwrap();
        s.reset();
        s.with_local(|w| add_u64_owned(&w[0], 1)).unwrap();
        assert_eq!(total(&s), 1);
    }
}
