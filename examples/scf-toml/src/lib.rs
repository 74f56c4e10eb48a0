//! Not an example: the home of one test, `tests/scf_toml.rs`, which checks the workspace's
//! `scf.toml` the way `cargo scf serve` reads it (every key, every trigger) and that it hosts every
//! example under `examples/`, each as a function named after its folder.
//!
//! `cargo test -p examples-scf-toml` runs it; nothing is built or started.
