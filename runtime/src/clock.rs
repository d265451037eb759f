//! The clock timers read.
//!
//! With the `fast-clock` feature (on by default in `promdecl`) this is
//! [quanta](https://docs.rs/quanta)'s `Instant`, which reads the CPU's
//! time-stamp counter where it is invariant and the OS clock elsewhere;
//! without it, `std::time::Instant`. Both are monotonic, and subtracting two
//! gives a `Duration`.
//!
//! ```
//! let start = promdecl_runtime::clock::now();
//! let elapsed = promdecl_runtime::clock::now() - start;
//! assert!(elapsed.as_secs_f64() >= 0.0);
//! ```

#[cfg(feature = "fast-clock")]
pub use quanta::Instant;
#[cfg(not(feature = "fast-clock"))]
pub use std::time::Instant;

/// The current instant.
#[inline]
pub fn now() -> Instant {
    Instant::now()
}
