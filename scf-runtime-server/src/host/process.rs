//! Starting child processes so they never outlive the server.
//!
//! Every instance (and the server `scf dev` runs) is its own process group, so a timeout or a
//! reclaim kills everything it started, and gets a parent-death signal (SIGKILL), so it dies with
//! the server even when the server itself is SIGKILLed. The signal is set in the child between
//! `fork` and `exec`; the kernel ties it to the thread that started the child, and children are
//! started from the main thread or the runtime's worker threads, which live as long as the server.

use std::os::unix::process::CommandExt as _;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::signal::Signal;

/// A command starting `program` in its own process group with a parent-death signal, with an
/// empty environment.
pub(crate) fn command(program: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.env_clear();
    die_with_us(cmd.as_std_mut());
    cmd
}

/// Makes `cmd` start its program in its own process group, killed (SIGKILL) when the thread that
/// starts it ends; the start fails when this process is already gone by then.
pub(crate) fn die_with_us(cmd: &mut std::process::Command) {
    let parent = nix::unistd::getpid();
    cmd.process_group(0);
    // SAFETY: the closure runs in the child between `fork` and `exec`, where only
    // async-signal-safe work is allowed: it makes two system calls (`prctl`, `getppid`) and
    // allocates nothing (its errors are raw OS errors).
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
                .map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
            // The parent may have died before the signal was set: then nobody would kill us.
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(Errno::ESRCH as i32));
            }
            Ok(())
        });
    }
}
