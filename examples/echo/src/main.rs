//! Run with `cargo run -p example-echo` under a runtime API host (`scf serve`).
fn main() {}
