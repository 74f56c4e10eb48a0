//! The `cmq` trigger.
