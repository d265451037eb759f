//! The lookup of a family's map children: through the per-thread cache
//! first, then the map, under the family's epoch (see [`super::cache`]).

use super::cache;
use super::child::Child;
use super::key::{Hashes, Values};
use super::map::ChildMap;
use super::{Inner, OVERFLOW_LABEL_VALUE};
use crate::collect::MetricCell;
use crate::sync::atomic::Ordering;
use crate::{Error, LabelSet};

impl<L: LabelSet, C: MetricCell> Inner<L, C> {
    pub(super) fn map(&self) -> &ChildMap<C> {
        self.map.as_ref().expect("open label sets use the map")
    }

    /// Resets a dense child and hides it until its labels are used again;
    /// whether it was shown. The only child of a family without labels is
    /// reset but stays shown: it is used through `Deref`, which never marks
    /// it present again.
    pub(super) fn clear_slot(&self, index: usize) -> bool {
        let slot = &self.dense[index];
        let was = if self.meta.labels.is_empty() {
            slot.present.load(Ordering::Relaxed)
        } else {
            slot.present.swap(false, Ordering::Relaxed)
        };
        slot.cell.reset(&self.config);
        was
    }

    /// Takes a new epoch, so no thread uses a cached child any more: done
    /// before every removal (and after those of [`Inner::removing`]).
    pub(super) fn invalidate(&self) {
        self.epoch.store(cache::new_epoch(), Ordering::SeqCst);
    }

    /// Runs `f` on the map child holding `values`, created if needed (or the
    /// overflow child if the family is full).
    ///
    /// The per-thread cache answers first. On a miss, the child is looked up
    /// under its shard's read lock and, unless this thread's working set is
    /// too large for its cache, remembered there. The epoch is read before
    /// the lookup, so a child removed meanwhile is remembered under an epoch
    /// that is already over.
    #[inline(always)]
    pub(super) fn with_values<V: Values + ?Sized, R>(&self, values: &V, f: impl FnOnce(&C) -> R) -> R {
        let hashes = values.hashes(self.seed);
        let on_child = move |child: &Child<C>, _: u64| f(child.cell());
        let on_child = match cache::with_cached(self.id, &self.epoch, hashes, values, on_child) {
            Ok(r) => return r,
            Err(on_child) => on_child,
        };
        self.with_values_slow(hashes, values, on_child)
    }

    /// The child holding `values` (created if needed, or the overflow
    /// child if the family is full), touched, and the epoch it was found
    /// under: while that epoch lasts, the child is still the family's, and
    /// an operation may use it without a lookup (after [`Child::touch`],
    /// as a cache hit does).
    #[inline]
    pub(super) fn resolve<V: Values + ?Sized>(&self, values: &V) -> (Child<C>, u64) {
        let hashes = values.hashes(self.seed);
        let get = |child: &Child<C>, epoch| (child.clone(), epoch);
        match cache::with_cached(self.id, &self.epoch, hashes, values, get) {
            Ok(found) => found,
            Err(get) => self.with_values_slow(hashes, values, get),
        }
    }

    /// Like [`Inner::resolve`], but fails instead of using the overflow
    /// child when the family is full.
    pub(super) fn try_resolve<V: Values + ?Sized>(&self, values: &V) -> Result<(Child<C>, u64), Error> {
        loop {
            let epoch = self.epoch.load(Ordering::SeqCst);
            let child = self.try_insert(values)?;
            child.touch();
            // As in `with_values_slow`.
            if self.epoch.load(Ordering::SeqCst) == epoch {
                return Ok((child, epoch));
            }
        }
    }

    /// Runs `f` on the map child holding `values` (or the overflow child)
    /// and the epoch it was found under, once touched; remembers it in the
    /// cache.
    #[inline(never)]
    fn with_values_slow<V: Values + ?Sized, R>(
        &self,
        hashes: Hashes,
        values: &V,
        f: impl FnOnce(&Child<C>, u64) -> R,
    ) -> R {
        let map = self.map();
        loop {
            let epoch = self.epoch.load(Ordering::SeqCst);
            let child = if values.is_overflow() {
                None
            } else {
                map.get_or_insert(hashes.full(), values, |len| self.has_room(len), || self.new_child(values))
            };
            let Some(child) = child else {
                // The overflow child is never removed: any epoch will do.
                let overflow = self.overflow();
                overflow.touch();
                return f(overflow, epoch);
            };
            child.touch();
            // As in the cache: an expiry check that started meanwhile may
            // have missed the mark; look again (the child may be gone).
            if self.epoch.load(Ordering::SeqCst) == epoch {
                cache::insert(self.id, epoch, hashes, &child);
                return f(&child, epoch);
            }
        }
    }

    /// A new child holding `values`, with an expiry word if the family
    /// expires children.
    fn new_child<V: Values + ?Sized>(&self, values: &V) -> Child<C> {
        let cell = C::new_child(&self.config, &|f| values.each(f));
        Child::new(cell, values, self.expire_after.is_some())
    }

    fn has_room(&self, len: usize) -> bool {
        self.max_children.is_none_or(|max| len < max)
    }

    /// The child holding `values`, created if the family has room, else the
    /// overflow child.
    fn get_or_insert<V: Values + ?Sized>(&self, values: &V) -> Child<C> {
        self.try_insert(values).unwrap_or_else(|_| self.overflow().clone())
    }

    /// The child holding `values`, created if the family has room. The bound
    /// is checked against the current size, so threads inserting at the same
    /// moment may pass it by one each.
    pub(super) fn try_insert<V: Values + ?Sized>(&self, values: &V) -> Result<Child<C>, Error> {
        if values.is_overflow() {
            // One series with these labels, whoever sent them first.
            return Ok(self.overflow().clone());
        }
        let hash = values.hash(self.seed);
        self.map().get_or_insert(hash, values, |len| self.has_room(len), || self.new_child(values)).ok_or_else(|| {
            Error::CardinalityLimit { metric: self.meta.name.to_string(), limit: self.max_children.unwrap_or_default() }
        })
    }

    /// The child holding `values` (or the overflow child), pinned for a
    /// handle. An expiry check may remove the child between the lookup and
    /// the pin; the child is then looked up again, so that a handle never
    /// holds a child the family no longer shows.
    pub(super) fn pinned<V: Values + ?Sized>(&self, values: &V) -> Child<C> {
        loop {
            let child = self.get_or_insert(values);
            child.pin();
            child.touch();
            // Expiry removes a child only under its shard's write lock, and
            // only if it is not pinned: once the pin is in, a child still in
            // the map stays there.
            let overflow = self.overflow.get().is_some_and(|o| o.same(&child));
            if overflow || self.map().holds(values.hash(self.seed), values, &child) {
                return child;
            }
            child.unpin();
        }
    }

    pub(super) fn remove_values<V: Values + ?Sized>(&self, values: &V) -> bool {
        self.removing(|| self.map().remove(values.hash(self.seed), values))
    }

    /// Runs `remove`, which takes children out of the map, between two new
    /// epochs: the first stops cached children from being used while it
    /// runs, the second forgets a child that a lookup found in the map and
    /// cached under the first, just before `remove` took it out.
    pub(super) fn removing<R>(&self, remove: impl FnOnce() -> R) -> R {
        self.invalidate();
        let r = remove();
        self.invalidate();
        r
    }

    fn overflow(&self) -> &Child<C> {
        self.overflow.get_or_init(|| {
            let names: Vec<&str> = vec![OVERFLOW_LABEL_VALUE; self.meta.labels.len()];
            self.new_child(&names[..])
        })
    }
}
