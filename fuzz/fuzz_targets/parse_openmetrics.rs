//! Any input: `parse_openmetrics` answers with families or an error, never
//! panics, and what it accepts encodes back to an exposition it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(families) = promdecl::parse_openmetrics(text) {
        promdecl_fuzz::reencode_is_stable(&families);
    }
});
