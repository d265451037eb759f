//! The slots of a family's closed label sets: one per label set, indexed
//! without hashing or locking, in an allocation the family shares, or in a
//! `static` (the only slot of an unlabelled counter or gauge declared in
//! `metrics!`, see [`Declared`](crate::Declared)).

use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use crate::sync::atomic::{AtomicBool, Ordering};

/// One child of a closed label set: its cell, and whether it is shown.
pub(crate) struct Slot<C> {
    pub(crate) cell: C,
    pub(crate) present: AtomicBool,
}

impl<C> Slot<C> {
    /// Shows the slot's child: a load, and a store only if it was hidden.
    #[inline]
    pub(crate) fn mark_present(&self) {
        if !self.present.load(Ordering::Relaxed) {
            self.present.store(true, Ordering::Relaxed);
        }
    }
}

/// A slot of its own cache line, so that neighbouring children updated by
/// different threads do not share one.
pub(crate) type PaddedSlot<C> = CachePadded<Slot<C>>;

/// What keeps the slots alive.
enum Owner<C> {
    Shared(#[allow(dead_code)] Arc<[PaddedSlot<C>]>),
    Static,
}

/// A family's dense slots, as a pointer and a length beside what keeps them
/// alive, so that a slot is one load away whatever holds it.
///
/// Invariant: `first` and `len` describe the slots `owner` keeps alive (an
/// `Arc`'s slice, or one slot in a `static`); `first` is dangling only when
/// `len` is 0. The fields are private and set only by the constructors.
pub(crate) struct DenseSlots<C> {
    first: NonNull<PaddedSlot<C>>,
    len: usize,
    _owner: Owner<C>,
}

// SAFETY: `first` only ever points at slots that `_owner` (an `Arc`) or a
// `&'static` holds (the invariant above), so sending or sharing a
// `DenseSlots` sends or shares what an `Arc<[Slot<C>]>` or a
// `&'static Slot<C>` would: both are `Send` and `Sync` when `Slot<C>` is
// `Send + Sync`, which these bounds ask of `C`.
unsafe impl<C: Send + Sync> Send for DenseSlots<C> {}
// SAFETY: as for `Send` above.
unsafe impl<C: Send + Sync> Sync for DenseSlots<C> {}

impl<C> DenseSlots<C> {
    /// Slots in a new shared allocation.
    pub(crate) fn new(slots: Arc<[PaddedSlot<C>]>) -> Self {
        let first = slots.first().map_or(NonNull::dangling(), NonNull::from);
        DenseSlots { first, len: slots.len(), _owner: Owner::Shared(slots) }
    }

    /// The one slot in a `static`.
    pub(crate) fn from_static(slot: &'static PaddedSlot<C>) -> Self {
        DenseSlots { first: NonNull::from(slot), len: 1, _owner: Owner::Static }
    }

    /// The first slot, without checking that there is one: the only child
    /// of a family without labels, reached with one load.
    ///
    /// # Safety
    ///
    /// There is at least one slot.
    #[inline(always)]
    pub(crate) unsafe fn first_unchecked(&self) -> &PaddedSlot<C> {
        // SAFETY: by the type's invariant `first` points at the first of
        // the slots the owner keeps alive while `self` is; the caller
        // promises there is one, so it is not dangling.
        unsafe { self.first.as_ref() }
    }
}

impl<C> Deref for DenseSlots<C> {
    type Target = [PaddedSlot<C>];
    #[inline]
    fn deref(&self) -> &[PaddedSlot<C>] {
        // SAFETY: by the type's invariant, `len` slots from `first` are
        // alive while `self` is, and never handed out mutably (a dangling
        // `first` comes with `len` 0, which `from_raw_parts` allows).
        unsafe { std::slice::from_raw_parts(self.first.as_ptr(), self.len) }
    }
}

impl<C> Clone for DenseSlots<C> {
    fn clone(&self) -> Self {
        let owner = match &self._owner {
            Owner::Shared(slots) => Owner::Shared(Arc::clone(slots)),
            Owner::Static => Owner::Static,
        };
        DenseSlots { first: self.first, len: self.len, _owner: owner }
    }
}
