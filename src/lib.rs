//! scf: write, test, build and host Tencent Cloud SCF functions in Rust.
pub use scf_events as events;
