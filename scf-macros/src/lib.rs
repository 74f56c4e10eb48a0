//! The `#[scf::function]` attribute macro.
