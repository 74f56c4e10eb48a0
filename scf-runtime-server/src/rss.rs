//! Memory measurement: the resident set of an instance's process tree, from `/proc`.

use std::fmt::Write as _;
use std::io::Read as _;

/// Most processes of one tree that are measured.
const MAX_PROCESSES: usize = 256;

/// Measures process trees, reusing its buffers from one measurement to the next (the host
/// samples every busy instance at least once per invocation).
#[derive(Debug, Default)]
pub(crate) struct Probe {
    path: String,
    text: Vec<u8>,
    pending: Vec<u32>,
}

/// What `/proc/<pid>/stat` says about one process.
struct Stat {
    rss_pages: u64,
    threads: u64,
}

impl Probe {
    /// The summed resident set of `pid` and all its descendants, in bytes; `None` when `pid`
    /// is gone.
    pub(crate) fn tree_rss_bytes(&mut self, pid: u32) -> Option<u64> {
        let stat = self.stat(pid)?;
        let mut pages = stat.rss_pages;
        self.pending.clear();
        self.push_children(pid, stat.threads);
        let mut seen = 1;
        while let Some(child) = self.pending.pop() {
            if seen >= MAX_PROCESSES {
                break;
            }
            seen += 1;
            if let Some(stat) = self.stat(child) {
                pages += stat.rss_pages;
                self.push_children(child, stat.threads);
            }
        }
        Some(pages * page_size())
    }

    /// Reads `/proc/<pid>/stat`: one read gives both the resident set (field 24, in pages; 0
    /// for a zombie) and the thread count (field 20), which says whether the children list of
    /// the main thread is the whole list.
    fn stat(&mut self, pid: u32) -> Option<Stat> {
        self.path.clear();
        let _ = write!(self.path, "/proc/{pid}/stat");
        self.read_path()?;
        // The command name (field 2) is in parentheses and may hold spaces or parentheses.
        let close = self.text.iter().rposition(|&b| b == b')')?;
        let mut fields = self.text[close + 1..]
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        // After the name: field 3 (state) is index 0, so field n is index n - 3.
        let threads = number(fields.nth(20 - 3)?);
        let rss_pages = number(fields.nth(24 - 20 - 1)?);
        Some(Stat { rss_pages, threads })
    }

    /// Appends the children of every thread of `pid` to `pending`.
    fn push_children(&mut self, pid: u32, threads: u64) {
        if threads <= 1 {
            self.path.clear();
            let _ = write!(self.path, "/proc/{pid}/task/{pid}/children");
            self.push_listed_children();
            return;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return;
        };
        for task in tasks.flatten() {
            self.path.clear();
            let _ = write!(
                self.path,
                "/proc/{pid}/task/{}/children",
                task.file_name().to_string_lossy()
            );
            self.push_listed_children();
        }
    }

    /// Reads the children list at `path` into `pending`.
    fn push_listed_children(&mut self) {
        if self.read_path().is_none() {
            return;
        }
        let listed = self
            .text
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty())
            .map(number)
            .filter(|&p| p > 0)
            .filter_map(|p| u32::try_from(p).ok());
        self.pending.extend(listed);
    }

    /// Reads the file at `path` into `text`.
    fn read_path(&mut self) -> Option<()> {
        self.text.clear();
        let mut file = std::fs::File::open(&self.path).ok()?;
        file.read_to_end(&mut self.text).ok()?;
        Some(())
    }
}

/// A decimal field; 0 when it is not one.
fn number(field: &[u8]) -> u64 {
    std::str::from_utf8(field)
        .ok()
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// The kernel's page size in bytes (4 KiB unless the system says otherwise).
fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|p| u64::try_from(p).ok())
            .filter(|p| *p > 0)
            .unwrap_or(4096)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_this_process_and_misses_a_dead_one() {
        let mut probe = Probe::default();
        let rss = probe.tree_rss_bytes(std::process::id()).unwrap();
        assert!(rss > 1024 * 1024, "{rss}");
        assert_eq!(probe.tree_rss_bytes(u32::MAX - 1), None);
    }

    #[test]
    fn counts_the_children_of_a_process() {
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let pid = shell.id();
        let mut probe = Probe::default();
        // Wait until both children are listed.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let children = loop {
            probe.pending.clear();
            let threads = probe.stat(pid).unwrap().threads;
            probe.push_children(pid, threads);
            if probe.pending.len() == 2 || std::time::Instant::now() > deadline {
                break probe.pending.clone();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let own = probe.stat(pid).unwrap().rss_pages * page_size();
        let tree = probe.tree_rss_bytes(pid).unwrap();
        for child in &children {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*child as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = shell.kill();
        let _ = shell.wait();
        assert_eq!(children.len(), 2, "children of the shell: {children:?}");
        assert!(tree > own, "tree {tree} vs the shell alone {own}");
    }

    #[test]
    fn stat_agrees_with_vmrss() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let vm_rss_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        let ours = Probe::default()
            .stat(std::process::id())
            .map(|s| s.rss_pages * page_size())
            .unwrap()
            / 1024;
        // Both read the same counter a moment apart; allow for pages touched in between.
        assert!(
            ours.abs_diff(vm_rss_kb) < 2048,
            "stat {ours} kB vs VmRSS {vm_rss_kb} kB"
        );
    }
}
