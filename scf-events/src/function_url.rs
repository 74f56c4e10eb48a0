//! The `function_url` trigger.
