//! Compile-time behaviour of `#[scf::function]`: every accepted shape compiles (and its
//! handler runs), and every misuse fails with an error on the user's token. Regenerate
//! the expected `.stderr` files with `TRYBUILD=overwrite cargo test -p scf --test it ui::`.
//! `flavor = "multi_thread"` is checked both ways: run the test again with
//! `--features multi-thread` for the case that compiles.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
    // trybuild builds the cases with the features this test was built with (including any
    // that feature unification turned on), so the case follows the same switch.
    if cfg!(feature = "multi-thread") {
        t.pass("tests/ui/multi_thread/with_feature.rs");
    } else {
        t.compile_fail("tests/ui/multi_thread/without_feature.rs");
    }
}
