//! Durable async event queue.
