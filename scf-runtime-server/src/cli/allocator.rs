//! Giving freed memory back to the kernel when the server goes quiet.
//!
//! `cargo-scf` allocates with mimalloc, which keeps the pages a thread frees for a while (one
//! second, see `main.rs`) so that the next invocations reuse them instead of faulting fresh ones
//! in. mimalloc returns such pages only from the thread that owns them, and only when that thread
//! next calls into the allocator: a runtime worker that goes idle after a burst (instances
//! starting, `/status` answers listing a thousand instances) would keep what it freed for as long
//! as the server stays idle. So a worker that is about to sleep collects its heap first, at most
//! every [`EVERY`], which keeps the cost off a busy worker that parks thousands of times a
//! second.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// The least time between two collections on one worker.
pub(crate) const EVERY: Duration = Duration::from_millis(100);

thread_local! {
    /// When this thread last collected.
    static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The runtime's `on_thread_park` hook: returns the pages this worker's heap holds free to the
/// kernel, unless it did so within [`EVERY`]. Where the global allocator is not mimalloc (the
/// library in someone else's program) mimalloc's heap is empty and this costs next to nothing.
pub(crate) fn on_park() {
    let now = Instant::now();
    let due = LAST
        .get()
        .is_none_or(|last| now.duration_since(last) >= EVERY);
    if due {
        LAST.set(Some(now));
        // SAFETY: `mi_collect` takes no pointers; it only walks the calling thread's heap and
        // the allocator's shared free lists, under mimalloc's own synchronisation.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_collect(true);
        }
    }
}
