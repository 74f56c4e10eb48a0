//! Memory measurement: the resident set of an instance's process tree, from `/proc`.

/// Most processes of one tree that are measured.
const MAX_PROCESSES: usize = 256;

/// The summed `VmRSS` of `pid` and all its descendants, in bytes; `None` when `pid` is gone.
pub(crate) fn tree_rss_bytes(pid: u32) -> Option<u64> {
    let mut total = process_rss(pid)?;
    let mut pending = children(pid);
    let mut seen = 1;
    while let Some(child) = pending.pop() {
        if seen >= MAX_PROCESSES {
            break;
        }
        seen += 1;
        total += process_rss(child).unwrap_or(0);
        pending.extend(children(child));
    }
    Some(total)
}

/// The resident set of one process in bytes (0 for a zombie, which has none): the second
/// field of `/proc/<pid>/statm` (the same counter as `VmRSS` in `status`, which costs the kernel
/// far more to format), in pages.
fn process_rss(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages = statm
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    Some(pages * page_size())
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

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_this_process_and_misses_a_dead_one() {
        let rss = tree_rss_bytes(std::process::id()).unwrap();
        assert!(rss > 1024 * 1024, "{rss}");
        assert_eq!(tree_rss_bytes(u32::MAX - 1), None);
    }

    #[test]
    fn statm_agrees_with_vmrss() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let vm_rss_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        let ours = process_rss(std::process::id()).unwrap() / 1024;
        // Both read the same counter a moment apart; allow for pages touched in between.
        assert!(
            ours.abs_diff(vm_rss_kb) < 2048,
            "statm {ours} kB vs VmRSS {vm_rss_kb} kB"
        );
    }
}
