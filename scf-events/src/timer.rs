//! The `timer` trigger.
