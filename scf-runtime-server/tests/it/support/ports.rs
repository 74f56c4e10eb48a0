//! Loopback ports for tests.

/// A free loopback port (bound and released; the server binds it with SO_REUSEADDR).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
