//! Memory measurement: the resident set of an instance's process tree, from `/proc`.

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::fs::FileExt as _;

/// Most processes of one tree that are measured.
const MAX_PROCESSES: usize = 256;

/// Measures process trees, reusing its buffers from one measurement to the next (the host
/// samples every busy instance at least once per invocation).
///
/// The root process's `/proc` files stay open: `/proc` regenerates a file on every read from
/// offset 0, so one `pread` per file is a fresh sample (instead of open, size query, reads and
/// close).
#[derive(Debug, Default)]
pub(crate) struct Probe {
    path: String,
    text: Vec<u8>,
    pending: Vec<u32>,
    root: Option<Root>,
}

/// The open `/proc` files of the measured root process.
#[derive(Debug)]
struct Root {
    pid: u32,
    stat: File,
    /// `task/<pid>/children`, the main thread's children.
    children: Option<File>,
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
        let stat = self.root_stat(pid)?;
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

    /// [`Self::stat`] of the root process, through its open file.
    fn root_stat(&mut self, pid: u32) -> Option<Stat> {
        if self.root.as_ref().is_none_or(|r| r.pid != pid) {
            self.path.clear();
            let _ = write!(self.path, "/proc/{pid}/stat");
            let stat = File::open(&self.path).ok()?;
            self.path.clear();
            let _ = write!(self.path, "/proc/{pid}/task/{pid}/children");
            let children = File::open(&self.path).ok();
            self.root = Some(Root {
                pid,
                stat,
                children,
            });
        }
        let root = self.root.as_ref()?;
        if !read_from_start(&root.stat, &mut self.text) {
            self.root = None;
            return None;
        }
        parse_stat(&self.text)
    }

    /// Reads `/proc/<pid>/stat`: one read gives both the resident set (field 24, in pages; 0
    /// for a zombie) and the thread count (field 20), which says whether the children list of
    /// the main thread is the whole list.
    fn stat(&mut self, pid: u32) -> Option<Stat> {
        self.path.clear();
        let _ = write!(self.path, "/proc/{pid}/stat");
        self.read_path()?;
        parse_stat(&self.text)
    }

    /// Appends the children of every thread of `pid` to `pending`.
    fn push_children(&mut self, pid: u32, threads: u64) {
        if threads <= 1 {
            let kept = self.root.as_ref().filter(|r| r.pid == pid);
            if let Some(children) = kept.and_then(|r| r.children.as_ref()) {
                if read_from_start(children, &mut self.text) {
                    self.push_listed();
                }
                return;
            }
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
        if self.read_path().is_some() {
            self.push_listed();
        }
    }

    /// Appends the pids listed in `text` to `pending`.
    fn push_listed(&mut self) {
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
        let file = File::open(&self.path).ok()?;
        read_from_start(&file, &mut self.text).then_some(())
    }
}

/// Parses a `/proc/<pid>/stat` line.
fn parse_stat(text: &[u8]) -> Option<Stat> {
    // The command name (field 2) is in parentheses and may hold spaces or parentheses.
    let close = memchr::memrchr(b')', text)?;
    // Fields are separated by one space each; after the name, field 3 (state) comes first.
    let rest = text.get(close + 2..)?;
    let mut spaces = memchr::memchr_iter(b' ', rest);
    // Field n starts after the (n - 3)th space and ends at the next one.
    let after_19 = spaces.nth(20 - 3 - 1)? + 1;
    let after_20 = spaces.next()?;
    let threads = number(&rest[after_19..after_20]);
    let after_23 = spaces.nth(23 - 20 - 1)? + 1;
    let end = spaces.next().unwrap_or(rest.len());
    let rss_pages = number(&rest[after_23..end]);
    Some(Stat { rss_pages, threads })
}

/// Reads `file` from offset 0 to its end into `text` with positioned reads (one, for the short
/// files of `/proc`); `false` when it cannot be read (the process is gone).
fn read_from_start(file: &File, text: &mut Vec<u8>) -> bool {
    text.clear();
    let mut chunk = [0u8; 1024];
    loop {
        match file.read_at(&mut chunk, text.len() as u64) {
            Ok(0) => return true,
            Ok(n) => {
                text.extend_from_slice(&chunk[..n]);
                if n < chunk.len() {
                    // `/proc` answers a read from offset 0 with the whole record when it fits.
                    return true;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// A decimal field; 0 when it is not one.
fn number(field: &[u8]) -> u64 {
    let mut value: u64 = 0;
    for &b in field.trim_ascii() {
        if !b.is_ascii_digit() {
            return 0;
        }
        value = value.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    value
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
    fn parses_stat_lines_whatever_the_command_name() {
        let line = b"4242 (a) b (c) S 1 4242 4242 0 -1 4194560 120 0 0 0 1 0 0 0 20 0 3 0 \
            5000 12345678 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.threads, 3);
        assert_eq!(stat.rss_pages, 321);
        assert!(parse_stat(b"4242 (truncated").is_none());
        assert!(parse_stat(b"4242 (x)").is_none());
        assert_eq!(number(b"12x"), 0);
        assert_eq!(number(b"77\n"), 77);
    }

    #[test]
    fn a_kept_file_sees_fresh_values() {
        let mut probe = Probe::default();
        let pid = std::process::id();
        let before = probe.tree_rss_bytes(pid).unwrap();
        let mut block = vec![0u8; 64 * 1024 * 1024];
        for i in (0..block.len()).step_by(4096) {
            block[i] = 1;
        }
        let after = probe.tree_rss_bytes(pid).unwrap();
        assert!(probe.root.is_some());
        drop(std::hint::black_box(block));
        assert!(
            after >= before + 32 * 1024 * 1024,
            "before {before}, after touching 64 MB {after}"
        );
    }

    #[test]
    fn counts_the_children_of_a_process() {
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let pid = shell.id();
        let mut probe = Probe::default();
        // Wait until both children are listed and running `sleep` (a child just forked, before
        // its `exec`, shows no resident pages yet).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let children = loop {
            probe.pending.clear();
            let threads = probe.stat(pid).unwrap().threads;
            probe.push_children(pid, threads);
            let children = probe.pending.clone();
            let settled = children.len() == 2
                && children.iter().all(|&c| {
                    let stat = std::fs::read_to_string(format!("/proc/{c}/stat"));
                    stat.is_ok_and(|s| s.contains("(sleep)"))
                        && probe.stat(c).is_some_and(|s| s.rss_pages > 0)
                });
            if settled || std::time::Instant::now() > deadline {
                break children;
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
