//! `cargo-scf`, run as `cargo scf <command>`: see `cargo scf --help`.

// mimalloc: the host's hot path is small short-lived allocations (HTTP heads, buffers, log
// lines), which glibc's allocator spends about a fifth of the host's instructions on.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its position in mimalloc's `mi_option_t` (the same in 2.1 and 3.x).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    tune_allocator();
    scf_runtime_server::cli::main()
}

/// Keeps freed memory a second before returning it to the kernel, unless `MIMALLOC_PURGE_DELAY`
/// says otherwise. mimalloc's default, 10 ms, returns the pages an invocation frees between two
/// invocations, and faulting them back in cost a third of a warm invocation's latency.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one numeric option of the allocator, before any other thread exists.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000);
        }
    }
}
