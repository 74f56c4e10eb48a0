//! A sync `fn(E) -> R`.

#[scf::function(main = false)]
fn double(n: u64) -> u64 {
    n * 2
}

fn main() {
    assert_eq!(double(21), 42);
}
