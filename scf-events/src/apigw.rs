//! The `apigw` trigger.
