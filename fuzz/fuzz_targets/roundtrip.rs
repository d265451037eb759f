//! Families of every kind drawn from the input (names, label values, help,
//! special floats), encoded in the Prometheus text format or OpenMetrics
//! and parsed back, are the same families.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promdecl_fuzz::families;

fuzz_target!(|data: &[u8]| {
    let case = families::case(data);
    if let Err(diff) = families::round_trip(&case) {
        panic!("{diff}");
    }
});
