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

/// `VmRSS` of one process in bytes (0 for a zombie, which has none).
fn process_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    Some(kb * 1024)
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
}
