//! The integration tests of scf-runtime: the invocation loop and the log line formats, each
//! against the mock runtime API over real HTTP on loopback.

mod invocation_loop;
mod logging;
