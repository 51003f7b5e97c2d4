//! Every error `#[kfunc]` and `kfunc_set!` can give, one case at least each, with its
//! exact message (`tests/ui/*.stderr`, reviewed). `several_errors_at_once` shows that all
//! errors of one attribute are reported together.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
