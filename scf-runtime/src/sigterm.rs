//! SIGTERM as something the invocation loop can await.
//!
//! Not `tokio::signal`: with tokio's `signal` feature every runtime, when it is built, sets up
//! a table with a channel for each of the 65 signals (about 24 KiB of heap, written at start
//! in every instance) whether or not a signal is ever awaited. Here one handler writes a
//! byte to a socket pair and the loop waits for the other end to become readable.

use std::io::{self, Write as _};
use std::os::unix::net::UnixStream as StdUnixStream;

use signal_hook_registry::SigId;
use tokio::net::UnixStream;

/// SIGTERM, or nothing when signal handling is off or could not be set up.
pub(crate) struct Sigterm(Option<Installed>);

struct Installed {
    id: SigId,
    /// The read end; the handler owns the write end.
    received: UnixStream,
}

impl Sigterm {
    /// Handles SIGTERM from now on. Without a tokio runtime with I/O enabled, or when the
    /// handler cannot be installed, the result never fires (as when disabled).
    pub(crate) fn new() -> Self {
        match install() {
            Ok(installed) => Self(Some(installed)),
            Err(err) => {
                ::tracing::debug!(error = %err, "SIGTERM handling is unavailable");
                Self(None)
            }
        }
    }

    /// Never fires.
    pub(crate) fn disabled() -> Self {
        Self(None)
    }

    /// Resolves once a SIGTERM has arrived since [`Sigterm::new`] (or since the last time
    /// this resolved); pending forever when disabled.
    pub(crate) async fn recv(&mut self) {
        let Some(installed) = &self.0 else {
            return std::future::pending().await;
        };
        let mut bytes = [0u8; 16];
        loop {
            if installed.received.readable().await.is_err() {
                return std::future::pending().await;
            }
            match installed.received.try_read(&mut bytes) {
                Ok(n) if n > 0 => return,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                // End of file or a socket error: the write end is gone, nothing can come.
                _ => return std::future::pending().await,
            }
        }
    }
}

impl Drop for Sigterm {
    fn drop(&mut self) {
        if let Some(installed) = self.0.take() {
            // Drops the handler and with it the write end.
            signal_hook_registry::unregister(installed.id);
        }
    }
}

fn install() -> io::Result<Installed> {
    let (read, write) = StdUnixStream::pair()?;
    read.set_nonblocking(true)?;
    // Non-blocking: a handler must never wait, even when many signals fill the buffer
    // (one byte there is enough to wake the loop).
    write.set_nonblocking(true)?;
    let received = UnixStream::from_std(read)?;
    let action = move || {
        let _ = (&write).write(&[1]);
    };
    // SAFETY: `register` requires the action to be async-signal-safe. It makes one
    // `write(2)` system call on a non-blocking socket: no allocation, no lock, no panic
    // (the result is ignored).
    #[allow(unsafe_code)]
    let id = unsafe { signal_hook_registry::register(libc::SIGTERM, action)? };
    Ok(Installed { id, received })
}
