//! The `clb` trigger.
