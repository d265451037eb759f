//! A child of a family with open label values: its cell, its expiry state
//! and its label values, in one reference-counted allocation.

use crate::sync::atomic::{AtomicU64, Ordering};
use std::ffi::c_void;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::time::Duration;

use triomphe::ThinArc;

use super::key::{self, KeyRef, Values};

pub(crate) struct Header<C> {
    /// [`TOUCHED`], set by every lookup and cleared by every scrape; in
    /// [`HANDLES`], how many handles hold the child; in [`SECONDS`], when a
    /// scrape first found the child untouched (seconds on the family's
    /// monotonic expiry clock, which starts at 1), or 0.
    idle: AtomicU64,
    cell: C,
}

const TOUCHED: u64 = 1 << 63;
const HANDLE_ONE: u64 = 1 << 40;
/// 23 bits of handle count; a count that reaches the top stays there (the
/// child is then pinned for good), rather than wrapping into `TOUCHED`.
const HANDLES: u64 = TOUCHED - HANDLE_ONE;
/// 40 bits of seconds: 34,800 years of a family's life.
const SECONDS: u64 = HANDLE_ONE - 1;

/// A shared reference to a map child. Equal children have equal label
/// values; the hash is that of the values (see [`key`]).
pub(crate) struct Child<C>(ThinArc<Header<C>, u8>);

impl<C> Child<C> {
    pub(crate) fn new(cell: C, values: &(impl Values + ?Sized)) -> Self {
        let header = Header { idle: AtomicU64::new(TOUCHED), cell };
        Child(ThinArc::from_header_and_slice(header, &key::encode(values)))
    }

    #[inline]
    pub(crate) fn cell(&self) -> &C {
        &self.0.header.header.cell
    }

    #[inline]
    pub(crate) fn key(&self) -> KeyRef<'_> {
        // SAFETY: `Child::new` is the only constructor, and it fills the
        // slice from `key::encode`; a `ThinArc` never hands out its slice
        // mutably while shared, and this one is never written after.
        unsafe { KeyRef::new(&self.0.slice) }
    }

    /// Whether both are the same child (not merely equal label values).
    pub(crate) fn same(&self, other: &Child<C>) -> bool {
        std::ptr::eq(self.0.ptr(), other.0.ptr())
    }

    /// Marks the child used. Costs a load unless a scrape cleared the mark.
    ///
    /// The store is sequentially consistent so that it pairs with the
    /// family's epoch bump before an expiry check: either that check sees
    /// the mark, or this lookup sees the new epoch (and looks again). That
    /// only makes it likelier that a child in use as a scrape expires it is
    /// kept; no increment made after the scrape depends on it, since every
    /// removal also takes a new epoch after it (see the loom models).
    #[inline]
    pub(crate) fn touch(&self) -> &C {
        let header = &self.0.header.header;
        if header.idle.load(Ordering::Relaxed) & TOUCHED == 0 {
            header.idle.fetch_or(TOUCHED, Ordering::SeqCst);
        }
        &header.cell
    }

    pub(crate) fn touched(&self) -> bool {
        self.0.header.header.idle.load(Ordering::SeqCst) & TOUCHED != 0
    }

    /// Counts one more handle holding the child: updates through a handle
    /// are not lookups, so a held child must not expire.
    pub(crate) fn pin(&self) {
        let _ =
            self.0.header.header.idle.fetch_update(Ordering::SeqCst, Ordering::Relaxed, |w| {
                (w & HANDLES != HANDLES).then_some(w + HANDLE_ONE)
            });
    }

    /// Counts one handle fewer.
    pub(crate) fn unpin(&self) {
        let _ = self.0.header.header.idle.fetch_update(Ordering::SeqCst, Ordering::Relaxed, |w| {
            (w & HANDLES != HANDLES && w & HANDLES != 0).then(|| w - HANDLE_ONE)
        });
    }

    pub(crate) fn pinned(&self) -> bool {
        self.0.header.header.idle.load(Ordering::SeqCst) & HANDLES != 0
    }

    /// Whether the child has been idle for `expire` as of `now`; records
    /// the start of its idleness. A child a handle holds is never idle.
    pub(crate) fn expired(&self, now: u64, expire: Duration) -> bool {
        let idle_word = &self.0.header.header.idle;
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
            let p = self.0.ptr().cast::<i8>();
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
        ThinArc::into_raw(self.0)
    }

    /// Borrows the child whose reference [`Child::into_raw`] gave up as
    /// `ptr`, for as long as the returned guard lives.
    ///
    /// # Safety
    ///
    /// `ptr` came from `Child::<C>::into_raw` (same `C`), and that reference
    /// is not released while the guard lives.
    #[inline]
    pub(crate) unsafe fn borrow_raw<'a>(ptr: *const c_void) -> BorrowedChild<'a, C> {
        // SAFETY: `ThinArc::from_raw` takes a pointer from `ThinArc::into_raw`,
        // as the caller promises this one is; the result is never dropped
        // (`ManuallyDrop`), so the reference count it stands for stays with
        // the reference the caller keeps alive for `'a`.
        let child = unsafe { ThinArc::<Header<C>, u8>::from_raw(ptr) };
        BorrowedChild { child: ManuallyDrop::new(Child(child)), _borrow: PhantomData }
    }

    /// Releases a reference given up by [`Child::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` came from `Child::<C>::into_raw` and is released only once.
    pub(crate) unsafe fn release_raw(ptr: *const c_void) {
        // SAFETY: as the caller promises.
        drop(Child(unsafe { ThinArc::<Header<C>, u8>::from_raw(ptr) }));
    }
}

/// A child borrowed from a reference given up by [`Child::into_raw`]; see
/// [`Child::borrow_raw`].
pub(crate) struct BorrowedChild<'a, C> {
    child: ManuallyDrop<Child<C>>,
    _borrow: PhantomData<&'a Child<C>>,
}

impl<C> Deref for BorrowedChild<'_, C> {
    type Target = Child<C>;
    #[inline]
    fn deref(&self) -> &Child<C> {
        &self.child
    }
}

impl<C> Clone for Child<C> {
    fn clone(&self) -> Self {
        Child(self.0.clone())
    }
}

impl<C> PartialEq for Child<C> {
    fn eq(&self, other: &Self) -> bool {
        self.0.slice == other.0.slice
    }
}

impl<C> Eq for Child<C> {}

impl<C> Hash for Child<C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.key().hash(key::seed()));
    }
}
