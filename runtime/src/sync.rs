//! The atomics, locks and thread-locals of the lock-free protocols, from one
//! place: the standard library's normally, [loom](https://docs.rs/loom)'s
//! when the crate is built with `--cfg promdecl_loom` (as
//! `scripts/loom.sh` does), so that the model tests run the production code
//! under a model checker that tries every interleaving.
//!
//! A crate-specific cfg keeps dependencies that react to `--cfg loom` (tokio,
//! crossbeam) out of it.
//!
//! Process-wide counters that only hand out unique ids (family ids, epochs,
//! shard ids) stay `std` atomics in `static`s: loom's cannot be `static`, and
//! a unique number is all the protocols ask of them.
//!
//! The models, and the invariant each checks, sit next to the code they
//! model:
//!
//! - `family::loom_models`: the lookup cache and its epochs against
//!   `remove`, `clear`, `remove_by_labels` and expiry; handles against
//!   expiry; the dense `present` flags against `clear_slot`; a child's
//!   reference count, released on two threads.
//! - `metric::counter::loom_models`: a counter cell's second word (start
//!   time, or the allocation of its fraction and exemplar) against racing
//!   first fractional increments, a new start time and reads.
//! - `metric::thread_shards::loom_models`: shard enter against reset and
//!   claim; `ShardedCounter` inc against scrape and reset; histogram observe
//!   against scrape.
//! - `metric::quantile_window::loom_models`: the summary window's rotation
//!   against observe.

#[cfg(all(test, promdecl_loom))]
pub(crate) mod models;

#[cfg(not(promdecl_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(promdecl_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

/// Atomic types and fences.
pub(crate) mod atomic {
    #[cfg(not(promdecl_loom))]
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    #[cfg(promdecl_loom)]
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
}

/// `std::thread_local!` normally, `loom::thread_local!` under the model
/// checker (whose threads share one OS thread). A `const { .. }`
/// initializer is kept for `std` and evaluated lazily under loom.
macro_rules! thread_locals {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr };) => {
        #[cfg(not(promdecl_loom))]
        std::thread_local! { $(#[$attr])* $vis static $name: $t = const { $init }; }
        #[cfg(promdecl_loom)]
        loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(promdecl_loom))]
        std::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
        #[cfg(promdecl_loom)]
        loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
    };
}
pub(crate) use thread_locals;
