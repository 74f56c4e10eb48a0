//! The function-side runtime for the SCF Custom Runtime API.

#[doc(hidden)]
pub mod macro_support;
