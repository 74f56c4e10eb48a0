//! Support for the code `#[scf::function]` generates. Not a public API: names here may
//! change in any release.

pub use scf_runtime::macro_support::*;
