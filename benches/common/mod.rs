//! Inputs and label types shared by the bench binaries: every crate gets the
//! same label values, access sequences and observations.

#![allow(dead_code)]

use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use criterion::Criterion;

pub mod scrape;

/// The Go client's default buckets: the default of `prometheus`, and what the
/// docs of `prometheus-client` and `measured` (which have no default) show.
pub const GO_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
pub const STATUSES: [&str; 3] = ["200", "404", "500"];
pub const N_PATHS: usize = 100;

/// Length of the precomputed access sequences (a power of two).
pub const SEQ: usize = 4096;
pub const MASK: usize = SEQ - 1;

/// Scrape case: 4 methods x 2,500 paths = 10,000 counter series, and 1,000
/// histogram series.
pub const SCRAPE_COUNTER_PATHS: usize = 2_500;
pub const SCRAPE_HIST_SERIES: usize = 1_000;

pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

/// "/api/v1/item/0" .. "/api/v1/item/99", heap strings.
pub fn paths() -> &'static [String] {
    static P: OnceLock<Vec<String>> = OnceLock::new();
    P.get_or_init(|| (0..N_PATHS).map(|i| format!("/api/v1/item/{i}")).collect())
}

/// The same strings leaked to `&'static str`.
pub fn static_paths() -> &'static [&'static str] {
    static P: OnceLock<Vec<&'static str>> = OnceLock::new();
    P.get_or_init(|| paths().iter().map(|s| &*Box::leak(s.clone().into_boxed_str())).collect())
}

pub fn scrape_path(i: usize) -> String {
    format!("/api/v1/item/{i}")
}

fn lcg(state: &mut u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *state >> 33
}

/// Pseudo-random (method, status) index pairs.
pub fn seq_method_status() -> &'static [(u8, u8)] {
    static S: OnceLock<Vec<(u8, u8)>> = OnceLock::new();
    S.get_or_init(|| {
        let mut st = 1;
        (0..SEQ).map(|_| ((lcg(&mut st) % 4) as u8, (lcg(&mut st) % 3) as u8)).collect()
    })
}

/// Pseudo-random (method, path) index pairs.
pub fn seq_method_path() -> &'static [(u8, u8)] {
    static S: OnceLock<Vec<(u8, u8)>> = OnceLock::new();
    S.get_or_init(|| {
        let mut st = 2;
        (0..SEQ).map(|_| ((lcg(&mut st) % 4) as u8, (lcg(&mut st) % N_PATHS as u64) as u8)).collect()
    })
}

/// Pseudo-random observations in [0, 12): every default bucket and +Inf.
pub fn seq_values() -> &'static [f64] {
    static S: OnceLock<Vec<f64>> = OnceLock::new();
    S.get_or_init(|| {
        let mut st = 3;
        (0..SEQ).map(|_| (lcg(&mut st) % 12_000) as f64 / 1000.0).collect()
    })
}

/// Runs the calling thread on `cpu` only, if the machine has it.
#[cfg(target_os = "linux")]
fn pin_to_cpu(cpu: usize) {
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpu >= available {
        return;
    }
    // SAFETY: `set` is a zeroed `cpu_set_t` owned by this frame, which
    // `CPU_SET` and `sched_setaffinity` only read and write within its size;
    // pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to_cpu(_: usize) {}

/// Two threads each run `op` `iters` times, concurrently: the time is from
/// the first thread's start to the last one's end, both read by the workers
/// themselves (the spawning thread may not run again until they are done).
///
/// Each thread is pinned to a CPU of its own (CPUs 0 and 1, on Linux), so
/// the two always contend from two cores: left to the scheduler, the pair
/// sometimes shared one core and ran in turn, without contention.
pub fn two_threads<F: Fn() + Sync>(iters: u64, op: F) -> Duration {
    let barrier = Barrier::new(2);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|cpu| {
                let (barrier, op) = (&barrier, &op);
                s.spawn(move || {
                    pin_to_cpu(cpu);
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        op();
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a benchmark thread panicked")).collect()
    });
    let start = spans.iter().map(|s| s.0).min().expect("two spans");
    let end = spans.iter().map(|s| s.1).max().expect("two spans");
    end - start
}

pub mod ours {
    use promdecl::label::product_cardinality;
    use promdecl::{LabelSet, LabelValue};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Method {
        Get,
        Post,
        Put,
        Delete,
    }

    impl LabelValue for Method {
        const VALUES: Option<&'static [&'static str]> = Some(&super::METHODS);
        #[inline]
        fn dense_index(&self) -> usize {
            *self as usize
        }
        #[inline]
        fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
            f(super::METHODS[*self as usize])
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Status {
        Ok,
        NotFound,
        Internal,
    }

    impl LabelValue for Status {
        const VALUES: Option<&'static [&'static str]> = Some(&super::STATUSES);
        #[inline]
        fn dense_index(&self) -> usize {
            *self as usize
        }
        #[inline]
        fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
            f(super::STATUSES[*self as usize])
        }
    }

    pub const M: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];
    pub const S: [Status; 3] = [Status::Ok, Status::NotFound, Status::Internal];

    /// 4 x 3 = 12 combinations: dense storage.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MethodStatus {
        pub method: Method,
        pub status: Status,
    }

    impl LabelSet for MethodStatus {
        const NAMES: &'static [&'static str] = &["method", "status"];
        const CARDINALITY: Option<usize> = product_cardinality(&[Method::VALUES, Status::VALUES]);
        #[inline]
        fn dense_index(&self) -> usize {
            self.method.dense_index() * super::STATUSES.len() + self.status.dense_index()
        }
        fn visit_dense(index: usize, f: &mut dyn FnMut(&str)) {
            f(super::METHODS[index / super::STATUSES.len()]);
            f(super::STATUSES[index % super::STATUSES.len()]);
        }
        fn visit(&self, f: &mut dyn FnMut(&str)) {
            self.method.with_str(|s| f(s));
            self.status.with_str(|s| f(s));
        }
    }

    /// Open value sets of `'static` strings: map storage, no allocation on a hit.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MethodPath {
        pub method: &'static str,
        pub path: &'static str,
    }

    impl LabelSet for MethodPath {
        const NAMES: &'static [&'static str] = &["method", "path"];
        fn visit(&self, f: &mut dyn FnMut(&str)) {
            f(self.method);
            f(self.path);
        }
    }

    /// Owned label values: what a typed label set with run-time strings stores.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct MethodPathOwned {
        pub method: String,
        pub path: String,
    }

    impl LabelSet for MethodPathOwned {
        const NAMES: &'static [&'static str] = &["method", "path"];
        fn visit(&self, f: &mut dyn FnMut(&str)) {
            f(&self.method);
            f(&self.path);
        }
    }
}

pub mod pc {
    use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
    use prometheus_client::metrics::histogram::Histogram;
    use std::fmt::Write as _;

    #[allow(clippy::upper_case_acronyms)]
    #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
    pub enum Method {
        GET,
        POST,
        PUT,
        DELETE,
    }

    #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
    pub enum Status {
        Ok,
        NotFound,
        Internal,
    }

    impl EncodeLabelValue for Status {
        fn encode(&self, w: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
            w.write_str(super::STATUSES[*self as usize])
        }
    }

    pub const M: [Method; 4] = [Method::GET, Method::POST, Method::PUT, Method::DELETE];
    pub const S: [Status; 3] = [Status::Ok, Status::NotFound, Status::Internal];

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct MethodStatus {
        pub method: Method,
        pub status: Status,
    }

    /// Owned strings: a lookup must build an owned key (`get_or_create(&S)`).
    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct MethodPath {
        pub method: String,
        pub path: String,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct MethodPathStatic {
        pub method: &'static str,
        pub path: &'static str,
    }

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    pub struct PathLabel {
        pub path: String,
    }

    pub fn go_histogram() -> Histogram {
        Histogram::new(super::GO_BUCKETS)
    }
}

pub mod meas {
    use lasso::{RodeoReader, Spur, ThreadedRodeo};
    use measured::metric::histogram::Thresholds;
    use measured::{FixedCardinalityLabel, LabelGroup};

    pub type Hasher = ahash::RandomState;
    pub type DynStr = ThreadedRodeo<Spur, Hasher>;
    pub type FixedStr = RodeoReader<Spur, Hasher>;

    #[derive(Clone, Copy, Debug, PartialEq, FixedCardinalityLabel)]
    #[label(rename_all = "SHOUTY_SNAKE_CASE")]
    pub enum Method {
        Get,
        Post,
        Put,
        Delete,
    }

    #[derive(Clone, Copy, Debug, PartialEq, FixedCardinalityLabel)]
    pub enum Status {
        Ok = 200,
        NotFound = 404,
        Internal = 500,
    }

    pub const M: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];
    pub const S: [Status; 3] = [Status::Ok, Status::NotFound, Status::Internal];

    #[derive(Clone, Copy, Debug, PartialEq, LabelGroup)]
    #[label(set = MethodStatusSet)]
    pub struct MethodStatus {
        pub method: Method,
        pub status: Status,
    }

    /// Any string at run time: each label interned, then a sparse sharded map.
    #[derive(Clone, Copy, Debug, PartialEq, LabelGroup)]
    #[label(set = MethodPathSet)]
    pub struct MethodPath<'a> {
        #[label(dynamic_with = DynStr)]
        pub method: &'a str,
        #[label(dynamic_with = DynStr)]
        pub path: &'a str,
    }

    /// Value sets fixed at startup (unknown values panic): dense storage.
    #[derive(Clone, Copy, Debug, PartialEq, LabelGroup)]
    #[label(set = MethodPathFixedSet)]
    pub struct MethodPathFixed<'a> {
        #[label(fixed_with = FixedStr)]
        pub method: &'a str,
        #[label(fixed_with = FixedStr)]
        pub path: &'a str,
    }

    #[derive(Clone, Copy, Debug, PartialEq, LabelGroup)]
    #[label(set = PathSet)]
    pub struct PathLabel<'a> {
        #[label(dynamic_with = DynStr)]
        pub path: &'a str,
    }

    pub fn dyn_set() -> MethodPathSet {
        MethodPathSet { method: DynStr::with_hasher(Hasher::new()), path: DynStr::with_hasher(Hasher::new()) }
    }

    pub fn path_set() -> PathSet {
        PathSet { path: DynStr::with_hasher(Hasher::new()) }
    }

    pub fn go_thresholds() -> Thresholds<11> {
        Thresholds::with_buckets(super::GO_BUCKETS)
    }
}
