//! Starting child processes so they never outlive the server.
//!
//! Every instance (and the server `cargo scf dev` runs) is its own process group, so a timeout or a
//! reclaim kills everything it started, and gets a parent-death signal (SIGKILL), so it dies with
//! the server even when the server itself is SIGKILLed. The signal is set in the child between
//! `fork` and `exec`; the kernel ties it to the thread that started the child, and children are
//! started from the main thread or the runtime's worker threads, which live as long as the server.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Stdio;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::net::unix::pipe;

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

/// A started instance process with its output pipes.
pub(crate) struct Spawned {
    pub(crate) child: tokio::process::Child,
    pub(crate) pid: u32,
    pub(crate) out: pipe::Receiver,
    pub(crate) err: pipe::Receiver,
}

/// Starts `program` as an instance: its own process group, a parent-death signal, exactly `env`
/// as the environment, `dir` as the working directory, stdin closed, stdout and stderr piped.
pub(crate) fn spawn<'a>(
    program: &Path,
    dir: &Path,
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> std::io::Result<Spawned> {
    let mut cmd = command(program);
    cmd.envs(env)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let out = take_pipe(child.stdout.take().map(|s| s.into_owned_fd()))?;
    let err = take_pipe(child.stderr.take().map(|s| s.into_owned_fd()))?;
    Ok(Spawned {
        child,
        pid,
        out,
        err,
    })
}

fn take_pipe(fd: Option<std::io::Result<std::os::fd::OwnedFd>>) -> std::io::Result<pipe::Receiver> {
    let fd = fd.ok_or_else(|| std::io::Error::other("the child's output pipe is missing"))??;
    pipe::Receiver::from_owned_fd(fd)
}

/// Sends `signal` to the process group `pid` leads; a group already gone is fine.
pub(crate) fn signal_group(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid)
        && pid != 0
    {
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}
