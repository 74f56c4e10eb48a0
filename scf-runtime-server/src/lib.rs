//! The scf runtime server.

pub mod durable;
pub mod kafka;
pub mod tools;
pub mod triggers;
