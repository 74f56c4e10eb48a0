//! The `eventbridge` trigger.
