//! Any input: `parse_text` answers with families or an error, never
//! panics, and an error points inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match promdecl::parse_text(text) {
        Ok(families) => {
            // Whatever was read can be written in both formats.
            for f in &families {
                let _ = promdecl::encode::encode_to_string(f, promdecl::encode::Format::TEXT);
                let _ = promdecl::encode::encode_to_string(f, promdecl::encode::Format::OPENMETRICS);
            }
        }
        Err(e) => {
            let lines = text.split('\n').count().max(1);
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}: {e}", e.line);
        }
    }
});
