//! Starting instance processes so they never outlive the server.
//!
//! Each instance is its own process group (so a timeout or a reclaim kills everything it started),
//! and gets a parent-death signal (SIGKILL), so it dies with the server even when the server itself
//! is SIGKILLed. Setting that signal must happen in the child between `fork` and `exec`; this crate
//! has no `unsafe` code, so the child does it itself:
//!
//! - inside the `scf` binary, instances are started through `scf` again with a hidden first
//!   argument ([`LAUNCH_ARG`]): that process sets the parent-death signal (through `nix`'s `prctl`
//!   wrapper), checks its parent is still the server, and `exec`s the bootstrap, which keeps the
//!   signal;
//! - when the library runs in another program, `setpriv --pdeathsig KILL` (util-linux) is used
//!   where installed;
//! - else the process group alone is used (children die at every orderly stop, but not when the
//!   server is SIGKILLed).

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The hidden first argument that makes `scf` act as the launcher of one instance.
pub const LAUNCH_ARG: &str = "__scf_instance";

static SELF_LAUNCHER: OnceLock<PathBuf> = OnceLock::new();

/// Lets instances be started through the current executable (which must call
/// [`run_if_launcher`] first thing in `main`). The `scf` binary does this.
pub fn use_current_exe() {
    if let Ok(exe) = std::env::current_exe() {
        let _ = SELF_LAUNCHER.set(exe);
    }
}

/// When the process was started as an instance launcher, sets the parent-death signal and
/// `exec`s the bootstrap (never returning); otherwise returns at once.
pub fn run_if_launcher() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).and_then(|a| a.to_str()) != Some(LAUNCH_ARG) {
        return;
    }
    let (Some(parent), Some(program)) = (args.get(2), args.get(3)) else {
        eprintln!("scf: {LAUNCH_ARG} needs the parent pid and a program");
        std::process::exit(127);
    };
    let parent: i32 = parent.to_str().and_then(|p| p.parse().ok()).unwrap_or(-1);
    if let Err(e) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL) {
        eprintln!("scf: cannot set the parent-death signal: {e}");
        std::process::exit(127);
    }
    // The server may have died before the signal was set: then nobody would kill us.
    if nix::unistd::getppid().as_raw() != parent {
        std::process::exit(127);
    }
    let err = std::process::Command::new(program).args(&args[4..]).exec();
    eprintln!("scf: cannot start {}: {err}", Path::new(program).display());
    std::process::exit(127);
}

/// How instance processes are started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Launcher {
    /// Through the `scf` binary's launcher mode.
    SelfExe(PathBuf),
    /// Through `setpriv --pdeathsig KILL`.
    Setpriv(PathBuf),
    /// Directly (process group only).
    Plain,
}

impl Launcher {
    /// The best launcher available in this process.
    pub(crate) fn detect() -> Launcher {
        if let Some(exe) = SELF_LAUNCHER.get() {
            return Launcher::SelfExe(exe.clone());
        }
        for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            let candidate = Path::new(dir).join("setpriv");
            if candidate.is_file() {
                return Launcher::Setpriv(candidate);
            }
        }
        Launcher::Plain
    }

    /// A command starting `program` in its own process group, with an empty environment.
    pub(crate) fn command(&self, program: &Path) -> tokio::process::Command {
        let mut cmd = match self {
            Launcher::SelfExe(exe) => {
                let mut cmd = tokio::process::Command::new(exe);
                cmd.arg(LAUNCH_ARG)
                    .arg(std::process::id().to_string())
                    .arg(program);
                cmd
            }
            Launcher::Setpriv(setpriv) => {
                let mut cmd = tokio::process::Command::new(setpriv);
                cmd.args(["--pdeathsig", "KILL", "--"]).arg(program);
                cmd
            }
            Launcher::Plain => tokio::process::Command::new(program),
        };
        cmd.env_clear().process_group(0);
        cmd
    }
}
