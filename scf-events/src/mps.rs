//! The `mps` trigger.
