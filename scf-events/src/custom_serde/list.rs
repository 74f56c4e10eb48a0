//! Lenient serde helpers.
