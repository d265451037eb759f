//! Compile-time checks of the macros: every rule has a case under tests/ui/
//! with the error it must produce. Regenerate with `TRYBUILD=overwrite` and
//! read the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
}
