//! Starting child processes so they never outlive the server.
//!
//! Every instance (and the server `cargo scf dev` runs) is its own process group, so a timeout or a
//! reclaim kills everything it started, and gets a parent-death signal (SIGKILL), so it dies with
//! the server even when the server itself is SIGKILLed. The signal is set in the child between
//! `fork` and `exec`; the kernel ties it to the thread that started the child, and children are
//! started from the main thread or the runtime's worker threads (or the sandbox thread), which live
//! as long as the server. An instance gets no descriptor of the server's but stdin, stdout and
//! stderr.

use std::os::fd::RawFd;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Stdio;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::net::unix::pipe;

/// Makes `cmd` start its program in its own process group, killed (SIGKILL) when the thread that
/// starts it ends; the start fails when this process is already gone by then.
pub(crate) fn die_with_us(cmd: &mut std::process::Command) {
    prepare(cmd, Parent::Pid(nix::unistd::getpid()), None);
}

/// How a child checks, once its parent-death signal is set, that the server has not died before:
/// after that the signal would never come.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Parent {
    /// The child's parent process is this one (`getppid`).
    Pid(Pid),
    /// The child is in a PID namespace of its own, where its parent is out of sight (`getppid`
    /// is 0): a pidfd of the server, readable once it has exited.
    Pidfd(RawFd),
}

/// Sets up `cmd` between `fork` and `exec`: own process group, parent-death signal, the check
/// that the parent is still there, and (with `fd_limit`) every descriptor above stderr marked
/// close-on-exec, so only stdin, stdout and stderr reach the program (the limit is the highest
/// descriptor to mark where the kernel has no `close_range`).
fn prepare(cmd: &mut std::process::Command, parent: Parent, fd_limit: Option<i32>) {
    cmd.process_group(0);
    let errno = |e: Errno| std::io::Error::from_raw_os_error(e as i32);
    // SAFETY: the closure runs in the child between `fork` and `exec`, where only
    // async-signal-safe work is allowed: it makes system calls only (`prctl`, `getppid`, `poll`,
    // `close_range` or `fcntl`), with every argument prepared before the fork, and allocates
    // nothing (its errors are raw OS errors).
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(errno)?;
            // The parent may have died before the signal was set: then nobody would kill us.
            match parent {
                Parent::Pid(pid) => {
                    if nix::unistd::getppid() != pid {
                        return Err(errno(Errno::ESRCH));
                    }
                }
                Parent::Pidfd(fd) => {
                    let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
                    if nix::poll::poll(&mut fds, PollTimeout::ZERO).map_err(errno)? != 0 {
                        return Err(errno(Errno::ESRCH));
                    }
                }
            }
            if let Some(limit) = fd_limit {
                cloexec_from_3(limit);
            }
            Ok(())
        });
    }
}

/// Marks every descriptor from 3 up close-on-exec: `close_range(CLOSE_RANGE_CLOEXEC)` (Linux
/// 5.11), else one `fcntl` per descriptor up to `limit`. Async-signal-safe.
#[allow(unsafe_code)]
fn cloexec_from_3(limit: i32) {
    use nix::libc;
    // SAFETY: raw system calls on descriptor numbers; marking close-on-exec changes nothing for
    // this process before `exec`, and a number that is not open fails harmlessly with EBADF.
    unsafe {
        let done = libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        ) == 0;
        if !done {
            for fd in 3..limit {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
}

/// The highest descriptor number [`cloexec_from_3`] marks without `close_range`: the soft limit
/// on open files, at most 2^20.
fn fd_limit() -> i32 {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft.min(1 << 20) as i32)
        .unwrap_or(1 << 16)
}

/// A pidfd of process `pid` (Linux 5.3): it becomes readable once the process has exited, and
/// stays valid however long the process is gone.
#[allow(unsafe_code)]
pub(crate) fn pidfd(pid: u32) -> std::io::Result<std::os::fd::OwnedFd> {
    use nix::libc;
    use std::os::fd::FromRawFd as _;
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    // SAFETY: `pidfd_open` takes a pid and flags and returns a new descriptor (close-on-exec),
    // which the `OwnedFd` then owns alone.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::os::fd::OwnedFd::from_raw_fd(fd as i32))
    }
}

/// A pidfd of child `pid` registered with the runtime, for [`exit_status`]; `None` where the
/// kernel has no pidfds.
#[allow(unsafe_code)]
pub(crate) fn exit_watch(pid: u32) -> Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    let fd = pidfd(pid).ok()?;
    // SAFETY: the `OwnedFd` moves into the `AsyncFd`, which alone owns it from then on: the
    // descriptor stays open and the same until the `AsyncFd` is dropped.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .ok()
}

/// The exit status of a child: once its pidfd `watch` is readable (a readiness check per poll,
/// where the child's own `wait` makes a `waitpid` system call each time it is polled), it is
/// reaped with `wait`. Without a pidfd, `wait` alone.
pub(crate) async fn exit_status<F>(
    watch: Option<&tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
    wait: std::pin::Pin<&mut F>,
) -> std::io::Result<std::process::ExitStatus>
where
    F: std::future::Future<Output = std::io::Result<std::process::ExitStatus>>,
{
    if let Some(watch) = watch {
        // Exiting is for good: the readiness is never cleared.
        let _ = std::future::poll_fn(|cx| watch.poll_read_ready(cx).map(|r| r.map(drop))).await;
    }
    wait.await
}

/// A started instance process with its output pipes.
pub(crate) struct Spawned {
    pub(crate) child: tokio::process::Child,
    pub(crate) pid: u32,
    pub(crate) out: pipe::Receiver,
    pub(crate) err: pipe::Receiver,
}

/// Starts `program` as an instance: its own process group, a parent-death signal, exactly `env`
/// as the environment, `dir` as the working directory, stdin closed, stdout and stderr piped, no
/// other descriptor. `parent` says how the child checks that the server still runs (see
/// [`Parent`]); `None` is this process, seen as the child's parent.
pub(crate) fn spawn<'a>(
    program: &Path,
    dir: &Path,
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
    parent: Option<Parent>,
) -> std::io::Result<Spawned> {
    let mut cmd = tokio::process::Command::new(program);
    let parent = parent.unwrap_or(Parent::Pid(nix::unistd::getpid()));
    prepare(cmd.as_std_mut(), parent, Some(fd_limit()));
    cmd.env_clear()
        .envs(env)
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
///
/// A leader that is PID 1 of its own PID namespace (a sandboxed instance) never gets a signal it
/// has no handler for, so SIGTERM would do nothing where it would end any other process: then
/// the group gets SIGKILL, which ends it as SIGTERM would have.
pub(crate) fn signal_group(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid)
        && pid != 0
    {
        let signal = if signal == Signal::SIGTERM && ignores_by_default(pid, signal) {
            Signal::SIGKILL
        } else {
            signal
        };
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}

/// Whether `pid` is the init of a PID namespace with neither a handler for `signal` nor the
/// signal ignored: the kernel then drops it, where it would end any other process.
fn ignores_by_default(pid: i32, signal: Signal) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let is_init = field("NSpid:").and_then(|ids| ids.split_whitespace().last()) == Some("1")
        && field("NSpid:").is_some_and(|ids| ids.split_whitespace().count() > 1);
    let bit = 1u64 << (signal as i32 - 1);
    let has = |name: &str| {
        field(name)
            .and_then(|mask| u64::from_str_radix(mask, 16).ok())
            .is_some_and(|mask| mask & bit != 0)
    };
    is_init && !has("SigCgt:") && !has("SigIgn:")
}
