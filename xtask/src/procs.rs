//! Processes the harness starts (killed on drop, with their descendants) and `/proc` readings.

use std::collections::{HashMap, HashSet};
use std::process::ExitStatus;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// A started process. Dropping it SIGKILLs the process and every descendant it left.
#[derive(Debug)]
pub(crate) struct Proc {
    child: Child,
    pid: u32,
    what: String,
}

impl Proc {
    /// Starts `command`; `what` names it in errors.
    pub(crate) fn spawn(command: &mut Command, what: &str) -> Result<Self> {
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("{what} exited before its pid was read"))?;
        Ok(Self {
            child,
            pid,
            what: what.to_owned(),
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the process has exited (and with what).
    pub(crate) fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("cannot check whether {} is running", self.what))
    }

    /// Sends SIGTERM and waits up to `grace` for the exit, then SIGKILLs.
    /// Returns the exit status when the process exited by itself within the grace period.
    pub(crate) async fn terminate(mut self, grace: Duration) -> Result<Option<ExitStatus>> {
        signal(self.pid, Signal::SIGTERM);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => {
                Ok(Some(status.with_context(|| {
                    format!("cannot wait for {} to exit", self.what)
                })?))
            }
            Err(_) => Ok(None), // Drop SIGKILLs it.
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Collect the descendants first: once the parent dies they are re-parented.
        let family = descendants(self.pid);
        signal(self.pid, Signal::SIGKILL);
        for pid in family {
            signal(pid, Signal::SIGKILL);
        }
        let _ = self.child.try_wait();
    }
}

fn signal(pid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        // The process may be gone already; nothing to do then.
        let _ = kill(Pid::from_raw(raw), signal);
    }
}

/// `VmRSS` of a process, in KiB.
pub(crate) fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    parse_rss_kib(&status).ok_or_else(|| anyhow!("/proc/{pid}/status has no VmRSS line"))
}

fn parse_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One line of `/proc/<pid>/stat`: the command name and the parent pid.
fn parse_stat(stat: &str) -> Option<(String, u32)> {
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses, so split at the
    // last closing parenthesis.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, ppid))
}

/// Every process: pid -> (command name, parent pid).
fn process_table() -> HashMap<u32, (String, u32)> {
    let mut table = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return table;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && let Some(parsed) = parse_stat(&stat)
        {
            table.insert(pid, parsed);
        }
    }
    table
}

/// Every live descendant of `root` (children, grandchildren, ...).
pub(crate) fn descendants(root: u32) -> Vec<u32> {
    let table = process_table();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, (_, ppid)) in &table {
        children.entry(*ppid).or_default().push(pid);
    }
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    let mut found = Vec::new();
    while let Some(pid) = stack.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or_default() {
            if seen.insert(child) {
                found.push(child);
                stack.push(child);
            }
        }
    }
    found
}

/// Live descendants of `root` whose command name is `name` (the kernel keeps 15 bytes of it).
pub(crate) fn descendants_named(root: u32, name: &str) -> Vec<u32> {
    let short: String = name.chars().take(15).collect();
    let table = process_table();
    descendants(root)
        .into_iter()
        .filter(|pid| table.get(pid).is_some_and(|(comm, _)| *comm == short))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vmrss() {
        let status = "Name:\tx\nVmPeak:\t  1000 kB\nVmRSS:\t    1536 kB\nThreads:\t1\n";
        assert_eq!(parse_rss_kib(status), Some(1536));
        assert_eq!(parse_rss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn reads_stat_with_odd_names() {
        let stat = "4242 (a (weird) name) S 17 4242 4242 0 -1 4194560";
        assert_eq!(parse_stat(stat), Some(("a (weird) name".to_owned(), 17)));
    }

    #[test]
    fn own_process_is_visible() {
        let rss = rss_kib(std::process::id()).unwrap();
        assert!(rss > 0);
        assert!(descendants(1).contains(&std::process::id()) || std::process::id() == 1);
    }
}
