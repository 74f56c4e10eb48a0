//! Compile-time behaviour of `#[scf::function]`: every accepted shape compiles (and its
//! handler runs), and every misuse fails with an error on the user's token. Regenerate
//! the expected `.stderr` files with `TRYBUILD=overwrite cargo test -p scf --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
