//! The `cls` trigger.
