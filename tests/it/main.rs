//! The integration tests of the `scf` facade: `#[scf::function]` handlers called directly, a
//! generated bootstrap run as a process, and the macro's compile-time behaviour (trybuild cases
//! under `tests/ui/`).

mod macro_bootstrap;
mod macro_direct;
mod ui;
