//! A child of a family with open label values: its reference count, its
//! cell, its expiry word (only in a family that expires children) and its
//! label values, in one allocation.
//!
//! ```text
//! [key length: usize, if long][idle: u64, if expiring][count: u32][meta: u32][cell: C][key bytes]
//!                                                     ^ the child points here
//! ```
//!
//! `meta` holds the key's length, whether any value needs escaping and
//! whether the expiry word is there, so a series of a family without expiry
//! costs its cell, its key and eight bytes. A key of 1 GiB or more keeps
//! its length in a word of its own. The optional words come before the
//! count (the allocation then starts that many alignment units earlier), so
//! the key is always at the same place after the head: a lookup reads its
//! bytes without waiting for `meta`.
//!
//! The count follows `Arc`'s protocol: clones add with `Relaxed` (a clone
//! is made from a live reference), and the last release, decremented with
//! `Release` and followed by an `Acquire` fence, sees every access made
//! through the other references before it frees the child (loom model
//! `child_released_on_two_threads`). The count is a type parameter so that
//! the model runs this code with loom's atomic while the family's models,
//! which clone children at every step, keep the standard one and a state
//! space loom can search.

use crate::sync::atomic::{AtomicU64, Ordering};
use std::alloc::{self, Layout};
use std::ffi::c_void;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use super::key::{self, KeyRef, Values};

/// A child's reference count: the standard `AtomicU32`, or loom's in the
/// model of the count itself.
pub(crate) trait Count {
    /// A count of one.
    fn one() -> Self;
    /// Adds one; returns the count before.
    fn increment(&self) -> u32;
    /// Takes one away; returns the count before.
    fn decrement(&self) -> u32;
    /// The fence the last release takes before it frees the child.
    fn acquire_fence();
}

/// Implements [`Count`] with the same orderings for either atomic type.
macro_rules! count {
    ($atomic:ty, $fence:path) => {
        impl Count for $atomic {
            fn one() -> Self {
                <$atomic>::new(1)
            }
            #[inline]
            fn increment(&self) -> u32 {
                // Relaxed: a new reference is made from a live one, which
                // keeps the child alive meanwhile; it publishes nothing.
                self.fetch_add(1, Ordering::Relaxed)
            }
            #[inline]
            fn decrement(&self) -> u32 {
                // Release: this reference's accesses happen before the last
                // release's fence, so before the child is dropped.
                self.fetch_sub(1, Ordering::Release)
            }
            #[inline]
            fn acquire_fence() {
                $fence(Ordering::Acquire)
            }
        }
    };
}

count!(AtomicU32, std::sync::atomic::fence);
#[cfg(promdecl_loom)]
count!(loom::sync::atomic::AtomicU32, loom::sync::atomic::fence);

/// The start of every child.
#[repr(C)]
struct Head<K> {
    count: K,
    /// [`EXPIRING`], [`PLAIN`] and the key's length (or [`LONG`]); never
    /// written after the child is made.
    meta: u32,
}

/// The child has an expiry word.
const EXPIRING: u32 = 1 << 31;
/// No label value needs escaping.
const PLAIN: u32 = 1 << 30;
/// The bits of `meta` that hold the key's length; all of them set: the
/// length is in a word before the key.
const LONG: u32 = PLAIN - 1;
/// Keys this long keep their length in a word of their own: 1 GiB, or (so
/// that the unit tests take that path too) 64 bytes in them.
const LONG_AT: usize = if cfg!(test) { 64 } else { LONG as usize };
/// Past this many references the process aborts, as `Arc` does, rather than
/// let the count wrap and free a child in use.
const MAX_REFS: u32 = i32::MAX as u32;

/// The expiry word: [`TOUCHED`], set by every lookup and cleared by every
/// scrape; in [`HANDLES`], how many handles hold the child; in [`SECONDS`],
/// when a scrape first found the child untouched (seconds on the family's
/// monotonic expiry clock, which starts at 1), or 0.
const TOUCHED: u64 = 1 << 63;
const HANDLE_ONE: u64 = 1 << 40;
/// 23 bits of handle count; a count that reaches the top stays there (the
/// child is then pinned for good), rather than wrapping into `TOUCHED`.
const HANDLES: u64 = TOUCHED - HANDLE_ONE;
/// 40 bits of seconds: 34,800 years of a family's life.
const SECONDS: u64 = HANDLE_ONE - 1;

/// A shared reference to a map child. Equal children have equal label
/// values; the hash is that of the values (see [`key`]).
pub(crate) struct Child<C, K: Count = AtomicU32> {
    head: NonNull<Head<K>>,
    _cell: PhantomData<C>,
}

// SAFETY: a `Child` gives shared access to its `C` (and to atomics and bytes
// that are never written after it is made) from any thread that holds one,
// and the last one to go drops the `C`: as for `Arc<C>`, that is sound to
// send or share between threads when `C` is `Send + Sync`.
unsafe impl<C: Send + Sync, K: Count + Send + Sync> Send for Child<C, K> {}
// SAFETY: as for `Send`.
unsafe impl<C: Send + Sync, K: Count + Send + Sync> Sync for Child<C, K> {}

const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

impl<C, K: Count> Child<C, K> {
    /// Where the cell starts.
    const CELL: usize = round_up(mem::size_of::<Head<K>>(), mem::align_of::<C>());
    /// Where the key's bytes start.
    const KEY: usize = Self::CELL + mem::size_of::<C>();
    /// The size of each word before the head: the expiry word, and the
    /// long key's length (a `usize` kept in a word of this size).
    const WORD: usize = mem::size_of::<AtomicU64>();
    /// The allocation's alignment: the head's, the cell's and the words'
    /// before the head.
    const ALIGN: usize = {
        let align = max(max(mem::align_of::<Head<K>>(), mem::align_of::<C>()), mem::align_of::<AtomicU64>());
        assert!(Self::WORD % mem::align_of::<usize>() == 0 && mem::size_of::<usize>() <= Self::WORD);
        align
    };

    pub(crate) fn new(cell: C, values: &(impl Values + ?Sized), expiring: bool) -> Self {
        let (key, plain) = key::encode(values);
        let long = key.len() >= LONG_AT;
        let meta = if expiring { EXPIRING } else { 0 }
            | if plain { PLAIN } else { 0 }
            | if long { LONG } else { key.len() as u32 };
        let (layout, prefix) = Self::layout(meta, key.len());
        // SAFETY: the layout is never zero-sized (it holds a `Head`).
        let start = unsafe { alloc::alloc(layout) };
        if start.is_null() {
            alloc::handle_alloc_error(layout);
        }
        // SAFETY: `Self::layout` sized the allocation for a prefix of
        // `prefix` bytes, which holds the words `idle_at` and `long_len_at`
        // place before the head, then the head, the cell and the key at
        // their offsets from it. `prefix` is a multiple of `ALIGN`, which
        // covers the head's, the cell's and the words' alignments, and
        // `WORD` is a multiple of the words' alignments.
        unsafe {
            let base = start.add(prefix);
            base.cast::<Head<K>>().write(Head { count: K::one(), meta });
            base.add(Self::CELL).cast::<C>().write(cell);
            if expiring {
                base.sub(Self::idle_at()).cast::<AtomicU64>().write(AtomicU64::new(TOUCHED));
            }
            if long {
                base.sub(Self::long_len_at(meta)).cast::<usize>().write(key.len());
            }
            ptr::copy_nonoverlapping(key.as_ptr(), base.add(Self::KEY), key.len());
            Child { head: NonNull::new_unchecked(base.cast::<Head<K>>()), _cell: PhantomData }
        }
    }

    /// How far before the head the expiry word starts.
    #[inline]
    const fn idle_at() -> usize {
        Self::WORD
    }

    /// How far before the head a long key's length starts in a child with
    /// this `meta`: before the expiry word, if there is one.
    #[inline]
    fn long_len_at(meta: u32) -> usize {
        Self::WORD + (meta >> 31) as usize * Self::WORD
    }

    /// The layout of a child with this `meta` and a key of `len` bytes, and
    /// how far before the head it starts (the expiry word and the long
    /// key's length, rounded up to the alignment).
    fn layout(meta: u32, len: usize) -> (Layout, usize) {
        let words = (meta >> 31) as usize + usize::from(meta & LONG == LONG);
        let prefix = round_up(words * Self::WORD, Self::ALIGN);
        // The key is in memory already, so `len` is at most `isize::MAX`,
        // and the prefix, the head and the cell add a few words more: only
        // a key within that much of the limit fails here.
        let size = prefix.checked_add(Self::KEY).and_then(|at| at.checked_add(len));
        let layout = size
            .and_then(|size| Layout::from_size_align(size, Self::ALIGN).ok())
            .expect("a child's size fits in isize");
        (layout, prefix)
    }

    #[inline]
    fn head(&self) -> &Head<K> {
        // SAFETY: `head` points to the `Head` written by `new`, which lives
        // until the last reference (this one among them) is released.
        unsafe { self.head.as_ref() }
    }

    #[inline]
    fn base(&self) -> *const u8 {
        self.head.as_ptr().cast_const().cast()
    }

    #[inline]
    pub(crate) fn cell(&self) -> &C {
        // SAFETY: `new` wrote a `C` at `CELL`, aligned, and it is only
        // dropped with the last reference.
        unsafe { &*self.base().add(Self::CELL).cast::<C>() }
    }

    /// The expiry word, in a family that expires children.
    #[inline]
    fn idle(&self) -> Option<&AtomicU64> {
        // SAFETY: with `EXPIRING` set, `new` wrote the word `idle_at`
        // bytes before the head, aligned, and it lives as long as the child.
        (self.head().meta & EXPIRING != 0).then(|| unsafe { &*self.base().sub(Self::idle_at()).cast::<AtomicU64>() })
    }

    /// The key's length.
    #[inline]
    fn key_len(&self) -> usize {
        let len = self.head().meta & LONG;
        if len == LONG {
            self.long_key_len()
        } else {
            len as usize
        }
    }

    #[cold]
    fn long_key_len(&self) -> usize {
        // SAFETY: for a long key `new` wrote its length `long_len_at`
        // bytes before the head, aligned, and never writes it again.
        unsafe { self.base().sub(Self::long_len_at(self.head().meta)).cast::<usize>().read() }
    }

    #[inline]
    pub(crate) fn key(&self) -> KeyRef<'_> {
        let len = self.key_len();
        // SAFETY: `new` copied `len` bytes of `key::encode`'s key to
        // `KEY`, with its flag in `meta`; neither is written after.
        unsafe {
            KeyRef::new(std::slice::from_raw_parts(self.base().add(Self::KEY), len), self.head().meta & PLAIN != 0)
        }
    }

    /// Whether both are the same child (not merely equal label values).
    pub(crate) fn same(&self, other: &Self) -> bool {
        self.head == other.head
    }

    /// Marks the child used, in a family that expires children. Costs a
    /// load unless a scrape cleared the mark.
    ///
    /// The store is sequentially consistent so that it pairs with the
    /// family's epoch bump before an expiry check: either that check sees
    /// the mark, or this lookup sees the new epoch (and looks again). That
    /// only makes it likelier that a child in use as a scrape expires it is
    /// kept; no increment made after the scrape depends on it, since every
    /// removal also takes a new epoch after it (see the loom models).
    #[inline]
    pub(crate) fn touch(&self) -> &C {
        if let Some(idle) = self.idle() {
            if idle.load(Ordering::Relaxed) & TOUCHED == 0 {
                idle.fetch_or(TOUCHED, Ordering::SeqCst);
            }
        }
        self.cell()
    }

    /// Whether the child was used since the last scrape; always, for a
    /// child that does not expire.
    pub(crate) fn touched(&self) -> bool {
        self.idle().is_none_or(|idle| idle.load(Ordering::SeqCst) & TOUCHED != 0)
    }

    /// Counts one more handle holding the child: updates through a handle
    /// are not lookups, so a held child must not expire.
    pub(crate) fn pin(&self) {
        if let Some(idle) = self.idle() {
            let _ = idle.fetch_update(Ordering::SeqCst, Ordering::Relaxed, |w| {
                (w & HANDLES != HANDLES).then_some(w + HANDLE_ONE)
            });
        }
    }

    /// Counts one handle fewer.
    pub(crate) fn unpin(&self) {
        if let Some(idle) = self.idle() {
            let _ = idle.fetch_update(Ordering::SeqCst, Ordering::Relaxed, |w| {
                (w & HANDLES != HANDLES && w & HANDLES != 0).then(|| w - HANDLE_ONE)
            });
        }
    }

    /// Whether a handle holds the child (counted only where children
    /// expire).
    pub(crate) fn pinned(&self) -> bool {
        self.idle().is_some_and(|idle| idle.load(Ordering::SeqCst) & HANDLES != 0)
    }

    /// Whether the child has been idle for `expire` as of `now`; records
    /// the start of its idleness. A child a handle holds is never idle, nor
    /// is one made without an expiry word.
    pub(crate) fn expired(&self, now: u64, expire: Duration) -> bool {
        let Some(idle_word) = self.idle() else { return false };
        let word = idle_word.load(Ordering::Relaxed);
        if word & HANDLES != 0 {
            return false;
        }
        if word & TOUCHED != 0 || word & SECONDS == 0 {
            // Used since the last scrape (or never checked): idle from now.
            // Keeps the handle count, which may have changed meanwhile.
            let since = now.clamp(1, SECONDS);
            let _ = idle_word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| Some((w & HANDLES) | since));
            return false;
        }
        now.saturating_sub(word & SECONDS) >= expire.as_secs().max(1)
    }

    /// Asks the CPU to fetch the child (the first two cache lines: its
    /// cell and, after it, its label values) ahead of use.
    #[inline]
    #[cfg_attr(promdecl_loom, allow(dead_code))]
    pub(crate) fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            let p = self.base().cast::<i8>();
            // SAFETY: prefetching has no effect on memory, and reads none;
            // the addresses are within (or just past) a live allocation.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(p);
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
            }
        }
    }

    /// Gives up this reference as a pointer, for the lookup cache.
    pub(crate) fn into_raw(self) -> *const c_void {
        let ptr = self.head.as_ptr().cast_const().cast();
        mem::forget(self);
        ptr
    }

    /// Borrows the child whose reference [`Child::into_raw`] gave up as
    /// `ptr`, for as long as the returned guard lives.
    ///
    /// # Safety
    ///
    /// `ptr` came from `Child::<C, K>::into_raw` (same `C` and `K`), and that reference
    /// is not released while the guard lives.
    #[inline]
    pub(crate) unsafe fn borrow_raw<'a>(ptr: *const c_void) -> BorrowedChild<'a, C, K> {
        // SAFETY: `into_raw` gave up a non-null pointer to a live child, as
        // the caller promises this one is; the `Child` made here is never
        // dropped (`ManuallyDrop`), so the reference it stands for stays
        // with the one the caller keeps alive for `'a`.
        let head = unsafe { NonNull::new_unchecked(ptr.cast_mut().cast::<Head<K>>()) };
        BorrowedChild { child: ManuallyDrop::new(Child { head, _cell: PhantomData }), _borrow: PhantomData }
    }

    /// Releases a reference given up by [`Child::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` came from `Child::<C, K>::into_raw` (same `C` and `K`) and is
    /// released only once.
    pub(crate) unsafe fn release_raw(ptr: *const c_void) {
        // SAFETY: `into_raw` gave up a non-null pointer and its reference,
        // which the caller hands back here once.
        let head = unsafe { NonNull::new_unchecked(ptr.cast_mut().cast::<Head<K>>()) };
        drop(Child::<C, K> { head, _cell: PhantomData });
    }
}

/// A child borrowed from a reference given up by [`Child::into_raw`]; see
/// [`Child::borrow_raw`].
pub(crate) struct BorrowedChild<'a, C, K: Count = AtomicU32> {
    child: ManuallyDrop<Child<C, K>>,
    _borrow: PhantomData<&'a Child<C, K>>,
}

impl<C, K: Count> Deref for BorrowedChild<'_, C, K> {
    type Target = Child<C, K>;
    #[inline]
    fn deref(&self) -> &Child<C, K> {
        &self.child
    }
}

impl<C, K: Count> Clone for Child<C, K> {
    #[inline]
    fn clone(&self) -> Self {
        if self.head().count.increment() >= MAX_REFS {
            std::process::abort();
        }
        Child { head: self.head, _cell: PhantomData }
    }
}

impl<C, K: Count> Drop for Child<C, K> {
    #[inline]
    fn drop(&mut self) {
        if self.head().count.decrement() != 1 {
            return;
        }
        K::acquire_fence();
        let meta = self.head().meta;
        let (layout, prefix) = Self::layout(meta, self.key_len());
        let base = self.head.as_ptr().cast::<u8>();
        // SAFETY: the count reached zero, so this was the last reference
        // and nothing reads the child again; `new` wrote each part dropped
        // here (the expiry word only with `EXPIRING`) and allocated
        // `prefix` bytes before the head with the layout that `meta` and the
        // key's length give back.
        unsafe {
            ptr::drop_in_place(base.add(Self::CELL).cast::<C>());
            if meta & EXPIRING != 0 {
                ptr::drop_in_place(base.sub(Self::idle_at()).cast::<AtomicU64>());
            }
            ptr::drop_in_place(self.head.as_ptr());
            alloc::dealloc(base.sub(prefix), layout);
        }
    }
}

impl<C, K: Count> PartialEq for Child<C, K> {
    fn eq(&self, other: &Self) -> bool {
        self.key().bytes() == other.key().bytes()
    }
}

impl<C, K: Count> Eq for Child<C, K> {}

impl<C, K: Count> Hash for Child<C, K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.key().hash(key::seed()));
    }
}

#[cfg(all(test, not(promdecl_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// Counts its drops.
    struct Cell(Arc<AtomicUsize>, u64);

    impl Drop for Cell {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[repr(align(64))]
    struct Wide(u8);

    #[test]
    fn keys_cells_and_flags_round_trip_in_every_layout() {
        let long = "v".repeat(100);
        for expiring in [false, true] {
            for values in [&["GET", "/a"][..], &["a\"b", ""][..], &[long.as_str(), "x"][..], &[][..]] {
                let child: Child<u64> = Child::new(7u64, values, expiring);
                assert_eq!(*child.cell(), 7);
                assert_eq!(child.key().values().collect::<Vec<_>>(), values, "expiring {expiring}");
                assert_eq!(child.key().plain(), !values.concat().contains('"'));
                assert!(values.equals(child.key()));
                assert_eq!(child.key().hash(3), Values::hash(values, 3));
            }
        }
        for values in [&["a"][..], &[long.as_str()][..]] {
            for expiring in [false, true] {
                let wide: Child<Wide> = Child::new(Wide(9), values, expiring);
                assert_eq!(wide.cell() as *const Wide as usize % 64, 0);
                assert_eq!(wide.cell().0, 9);
                assert!(values.equals(wide.key()));
                let nothing: Child<()> = Child::new((), values, expiring);
                assert!(values.equals(nothing.key()) && nothing.clone().same(&nothing));
            }
        }
    }

    #[test]
    fn the_last_reference_drops_the_cell_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let long = "k".repeat(80);
        for expiring in [false, true] {
            let child: Child<Cell> = Child::new(Cell(drops.clone(), 1), &[long.as_str()][..], expiring);
            let clones: Vec<_> = (0..3).map(|_| child.clone()).collect();
            let raw = child.clone().into_raw();
            {
                // SAFETY: `raw` came from `into_raw` and is released below,
                // after the borrow ends.
                let borrowed = unsafe { Child::<Cell>::borrow_raw(raw) };
                assert!(borrowed.same(&child) && borrowed.cell().1 == 1);
            }
            drop(child);
            drop(clones);
            assert_eq!(drops.load(Ordering::SeqCst), if expiring { 1 } else { 0 });
            // SAFETY: the reference `into_raw` gave up, released once.
            unsafe { Child::<Cell>::release_raw(raw) };
            assert_eq!(drops.load(Ordering::SeqCst), if expiring { 2 } else { 1 });
        }
    }

    #[test]
    fn only_expiring_children_keep_expiry_state() {
        let plain: Child<u64> = Child::new(0u64, &["a"][..], false);
        plain.pin();
        assert!(plain.touched() && !plain.pinned());
        assert!(!plain.expired(100, Duration::from_secs(1)));
        let expiring: Child<u64> = Child::new(0u64, &["a"][..], true);
        assert!(expiring.touched());
        assert!(!expiring.expired(5, Duration::from_secs(1)), "touched: idle from now");
        assert!(!expiring.touched(), "a scrape clears the mark");
        assert!(expiring.expired(10, Duration::from_secs(1)));
        expiring.pin();
        assert!(expiring.pinned() && !expiring.expired(20, Duration::from_secs(1)));
        expiring.unpin();
        assert!(!expiring.pinned());
        expiring.touch();
        assert!(expiring.touched());
    }
}
