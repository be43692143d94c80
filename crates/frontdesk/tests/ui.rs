//! Compile-time checks of the endpoint macros, pinned by trybuild: every file in
//! `tests/ui/fail` is one misuse whose compiler message is kept in its `.stderr`
//! snapshot (regenerate with `TRYBUILD=overwrite`, then read each one); every
//! file in `tests/ui/pass` must compile.

#[test]
fn endpoint_macros() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
