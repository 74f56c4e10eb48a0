//! The `mqtt` trigger.
