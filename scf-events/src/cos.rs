//! The `cos` trigger.
