//! The `ckafka` trigger.
