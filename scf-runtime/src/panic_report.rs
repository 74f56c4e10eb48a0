//! Reporting a panic when the binary is built with `panic = "abort"`.
//!
//! With `panic = "unwind"` (what `cargo scf build` keeps) the runtime catches panics and posts
//! them like any other error, so these functions do nothing. With `panic = "abort"` the
//! process dies before the loop can post anything, so a panic hook posts the error for
//! the in-flight request synchronously first; the host then sees the error instead of a
//! bare crash.

use std::net::SocketAddr;

#[cfg(panic = "abort")]
mod imp {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::{Mutex, Once, OnceLock};
    use std::time::Duration;

    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    static IN_FLIGHT: Mutex<bool> = Mutex::new(false);
    static HOOK: Once = Once::new();

    pub(super) fn install(addr: SocketAddr) {
        let _ = ADDR.set(addr);
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                previous(info);
                let in_flight = IN_FLIGHT.lock().map(|g| *g).unwrap_or(false);
                if let (true, Some(addr)) = (in_flight, ADDR.get()) {
                    let message = info
                        .payload()
                        .downcast_ref::<&str>()
                        .copied()
                        .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
                        .unwrap_or("a non-string panic payload");
                    let error =
                        crate::Error::new("Panic", format_args!("handler panicked: {message}"));
                    post(*addr, &error.to_diagnostic().to_json());
                }
            }));
        });
    }

    fn post(addr: SocketAddr, body: &[u8]) {
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            crate::client::Endpoint::Error.path(),
            body.len()
        );
        if stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok() {
            let mut answer = [0u8; 256];
            let _ = stream.read(&mut answer);
        }
    }

    pub(super) fn set(in_flight: bool) {
        if let Ok(mut guard) = IN_FLIGHT.lock() {
            *guard = in_flight;
        }
    }
}

#[cfg(not(panic = "abort"))]
mod imp {
    pub(super) fn install(_addr: std::net::SocketAddr) {}
    pub(super) fn set(_in_flight: bool) {}
}

/// Installs the hook (once per process) for the runtime API at `addr`.
pub(crate) fn install(addr: SocketAddr) {
    imp::install(addr);
}

/// An invocation is now in flight.
pub(crate) fn start(_request_id: &str) {
    imp::set(true);
}

/// The invocation in flight has been answered.
pub(crate) fn finish() {
    imp::set(false);
}
