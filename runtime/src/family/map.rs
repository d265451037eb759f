//! The children of a family with open label values: a sharded concurrent
//! map (dashmap) of [`Child`]ren, found by the values they hold.
//!
//! Under the model checker (`--cfg promdecl_loom`) the map is a list behind
//! one loom `Mutex` with the same interface: dashmap's locks park real
//! threads, which loom cannot schedule. The protocols around the map
//! (epochs, touch, remove-then-renew, pins) only rely on each operation
//! being atomic with respect to the others on the same child, which both
//! give.

#[cfg(not(promdecl_loom))]
use std::borrow::Borrow;
#[cfg(not(promdecl_loom))]
use std::hash::Hash;
use std::hash::{BuildHasher, Hasher};

#[cfg(not(promdecl_loom))]
use dashmap::{mapref::entry::Entry, DashMap};

use super::child::Child;
#[cfg(not(promdecl_loom))]
use super::key::{KeyRef, Values};

/// Hashes a [`Child`] as it hashes itself: the child writes the hash of its
/// values, and this hasher passes it through, so a lookup that hashed the
/// values itself finds the same shard and bucket.
#[derive(Clone, Copy, Default)]
#[cfg_attr(promdecl_loom, allow(dead_code))]
pub(crate) struct PassThrough;

#[cfg_attr(promdecl_loom, allow(dead_code))]
pub(crate) struct PassThroughHasher(u64);

impl BuildHasher for PassThrough {
    type Hasher = PassThroughHasher;
    fn build_hasher(&self) -> PassThroughHasher {
        PassThroughHasher(0)
    }
}

impl Hasher for PassThroughHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is ever called; fold anything else in anyway.
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(promdecl_loom)]
pub(crate) use self::model::ChildMap;

/// What the map is searched by: a stored child, or label values a lookup
/// hashed itself. Children are the map's keys and borrow as this, so that
/// dashmap's own `get`, `entry` and `remove` find a child by the values it
/// holds without building its key.
#[cfg(not(promdecl_loom))]
pub(crate) trait Query {
    /// The hash of the label values (what [`Child`]'s `Hash` writes).
    fn query_hash(&self) -> u64;
    /// The key of a stored child; `None` for the values of a lookup.
    fn stored(&self) -> Option<KeyRef<'_>>;
    /// Whether these are the values `key` holds.
    fn matches(&self, key: KeyRef<'_>) -> bool;
}

#[cfg(not(promdecl_loom))]
impl Hash for dyn Query + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.query_hash());
    }
}

#[cfg(not(promdecl_loom))]
impl PartialEq for dyn Query + '_ {
    fn eq(&self, other: &Self) -> bool {
        match (self.stored(), other.stored()) {
            (_, Some(key)) => self.matches(key),
            (Some(key), None) => other.matches(key),
            (None, None) => false,
        }
    }
}

#[cfg(not(promdecl_loom))]
impl Eq for dyn Query + '_ {}

#[cfg(not(promdecl_loom))]
impl<C> Query for Child<C> {
    fn query_hash(&self) -> u64 {
        self.key().hash(super::key::seed())
    }
    fn stored(&self) -> Option<KeyRef<'_>> {
        Some(self.key())
    }
    fn matches(&self, key: KeyRef<'_>) -> bool {
        self.key().bytes() == key.bytes()
    }
}

#[cfg(not(promdecl_loom))]
impl<'a, C: 'a> Borrow<dyn Query + 'a> for Child<C> {
    fn borrow(&self) -> &(dyn Query + 'a) {
        self
    }
}

/// The label values of a lookup, with their hash.
#[cfg(not(promdecl_loom))]
struct Lookup<'v, V: ?Sized> {
    hash: u64,
    values: &'v V,
}

#[cfg(not(promdecl_loom))]
impl<V: Values + ?Sized> Query for Lookup<'_, V> {
    fn query_hash(&self) -> u64 {
        self.hash
    }
    fn stored(&self) -> Option<KeyRef<'_>> {
        None
    }
    fn matches(&self, key: KeyRef<'_>) -> bool {
        self.values.equals(key)
    }
}

#[cfg(not(promdecl_loom))]
pub(crate) struct ChildMap<C> {
    map: DashMap<Child<C>, (), PassThrough>,
}

#[cfg(not(promdecl_loom))]
impl<C> Default for ChildMap<C> {
    fn default() -> Self {
        ChildMap { map: DashMap::with_hasher(PassThrough) }
    }
}

// Children leave the map only through `remove`, `remove_if`, `retain` and
// `clear`, and each drops them once their shard is unlocked: the drop of a
// child can run user code (a gauge's callback) that uses the family again.
#[cfg(not(promdecl_loom))]
impl<C> ChildMap<C> {
    /// Runs `f` on the child holding `values` (hashing to `hash`), with its
    /// shard read-locked; `None` if there is none. `f` is crate code only.
    #[inline]
    pub(crate) fn with_found<V: Values + ?Sized, R>(
        &self,
        hash: u64,
        values: &V,
        f: impl FnOnce(&Child<C>) -> R,
    ) -> Option<R> {
        let query = Lookup { hash, values };
        self.map.get(&query as &dyn Query).map(|found| f(found.key()))
    }

    /// Whether `child`, which holds `values`, is (still) in the map.
    pub(crate) fn holds<V: Values + ?Sized>(&self, hash: u64, values: &V, child: &Child<C>) -> bool {
        self.with_found(hash, values, |found| found.same(child)).unwrap_or(false)
    }

    /// The child holding `values`, created with `make` if there is none and
    /// `room` allows one more child.
    pub(crate) fn get_or_insert<V: Values + ?Sized>(
        &self,
        hash: u64,
        values: &V,
        room: impl FnOnce(usize) -> bool,
        make: impl FnOnce() -> Child<C>,
    ) -> Option<Child<C>> {
        if let Some(child) = self.with_found(hash, values, Child::clone) {
            return Some(child);
        }
        if !room(self.map.len()) {
            return None;
        }
        // Made before the shard is locked; if another thread inserted the
        // same values meanwhile, its child wins and this one is dropped
        // after the lock is let go (the entry holds a second reference).
        let fresh = make();
        let child = match self.map.entry(fresh.clone()) {
            Entry::Occupied(found) => found.key().clone(),
            Entry::Vacant(vacant) => {
                vacant.insert(());
                fresh.clone()
            }
        };
        drop(fresh);
        Some(child)
    }

    /// Removes the child holding `values`; whether there was one.
    pub(crate) fn remove<V: Values + ?Sized>(&self, hash: u64, values: &V) -> bool {
        let query = Lookup { hash, values };
        // dashmap hands the removed entry back after unlocking the shard.
        let removed = self.map.remove(&query as &dyn Query);
        removed.is_some()
    }

    /// Removes `child` if `pred` still holds for it under the shard's lock.
    pub(crate) fn remove_if(&self, child: &Child<C>, pred: impl FnOnce(&Child<C>) -> bool) {
        let removed = self.map.remove_if(child, |c, _| pred(c));
        drop(removed);
    }

    /// Keeps only the children for which `keep` holds.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&Child<C>) -> bool) {
        let mut removed = Vec::new();
        self.map.retain(|c, _| {
            let kept = keep(c);
            if !kept {
                removed.push(c.clone());
            }
            kept
        });
        drop(removed);
    }

    pub(crate) fn clear(&self) {
        self.retain(|_| false);
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Calls `f` with every child, each shard read-locked while its
    /// children are visited (and while the few fetched ahead are).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Child<C>)) {
        /// How many children ahead of the one being encoded are fetched
        /// into the cache: children are scattered over the heap, and a
        /// scrape of many would otherwise wait on memory for each.
        const AHEAD: usize = 4;
        // A ring: the slot a child goes into held the child fetched
        // `AHEAD` steps before, which is visited then.
        let mut ahead: [Option<_>; AHEAD] = Default::default();
        let mut next = 0;
        for entry in self.map.iter() {
            entry.key().prefetch();
            if let Some(current) = ahead[next].replace(entry) {
                f(current.key());
            }
            next = (next + 1) % AHEAD;
        }
        for i in 0..AHEAD {
            if let Some(current) = &ahead[(next + i) % AHEAD] {
                f(current.key());
            }
        }
    }
}

/// The map under the model checker: children in a list behind one loom
/// mutex, with the interface of the dashmap-based one.
#[cfg(promdecl_loom)]
mod model {
    use super::super::key::Values;
    use super::Child;
    use crate::sync::{Mutex, MutexGuard};

    pub(crate) struct ChildMap<C> {
        children: Mutex<Vec<Child<C>>>,
    }

    impl<C> Default for ChildMap<C> {
        fn default() -> Self {
            ChildMap { children: Mutex::new(Vec::new()) }
        }
    }

    impl<C> ChildMap<C> {
        fn lock(&self) -> MutexGuard<'_, Vec<Child<C>>> {
            self.children.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        pub(crate) fn with_found<V: Values + ?Sized, R>(
            &self,
            _hash: u64,
            values: &V,
            f: impl FnOnce(&Child<C>) -> R,
        ) -> Option<R> {
            self.lock().iter().find(|c| values.equals(c.key())).map(f)
        }

        pub(crate) fn holds<V: Values + ?Sized>(&self, hash: u64, values: &V, child: &Child<C>) -> bool {
            self.with_found(hash, values, |found| found.same(child)).unwrap_or(false)
        }

        pub(crate) fn get_or_insert<V: Values + ?Sized>(
            &self,
            hash: u64,
            values: &V,
            room: impl FnOnce(usize) -> bool,
            make: impl FnOnce() -> Child<C>,
        ) -> Option<Child<C>> {
            // Two critical sections, as the dashmap version has (a read
            // lock, then a write lock only to insert).
            if let Some(child) = self.with_found(hash, values, Child::clone) {
                return Some(child);
            }
            if !room(self.len()) {
                return None;
            }
            let mut children = self.lock();
            if let Some(child) = children.iter().find(|c| values.equals(c.key())) {
                return Some(child.clone());
            }
            let child = make();
            children.push(child.clone());
            Some(child)
        }

        pub(crate) fn remove<V: Values + ?Sized>(&self, _hash: u64, values: &V) -> bool {
            let mut children = self.lock();
            let removed = children.iter().position(|c| values.equals(c.key())).map(|i| children.swap_remove(i));
            drop(children);
            removed.is_some()
        }

        pub(crate) fn remove_if(&self, child: &Child<C>, pred: impl FnOnce(&Child<C>) -> bool) {
            let mut children = self.lock();
            let removed = match children.iter().position(|c| c == child) {
                Some(i) if pred(&children[i]) => Some(children.swap_remove(i)),
                _ => None,
            };
            drop(children);
            drop(removed);
        }

        pub(crate) fn retain(&self, mut keep: impl FnMut(&Child<C>) -> bool) {
            let mut removed = Vec::new();
            let mut children = self.lock();
            children.retain(|c| {
                let kept = keep(c);
                if !kept {
                    removed.push(c.clone());
                }
                kept
            });
            drop(children);
            drop(removed);
        }

        pub(crate) fn clear(&self) {
            let taken = std::mem::take(&mut *self.lock());
            drop(taken);
        }

        pub(crate) fn len(&self) -> usize {
            self.lock().len()
        }

        pub(crate) fn for_each(&self, f: impl FnMut(&Child<C>)) {
            self.lock().iter().for_each(f);
        }
    }
}
