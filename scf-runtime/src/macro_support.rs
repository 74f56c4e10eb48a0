//! Hooks used by code that `#[scf::function]` generates. Not a public API.
