//! Instruction counts with `valgrind --tool=callgrind`: a bootstrap is driven by the
//! minimal host for N invocations and its user-space instructions are counted. Two runs
//! (N1 and N2 invocations) give the cost of one invocation without start-up and exit:
//! (I(N2) - I(N1)) / (N2 - N1).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use bytes::Bytes;
use tokio::process::Command;

use crate::host::{Host, Protocol};
use crate::procs::Proc;

/// The `valgrind` binary, when it runs.
pub(crate) fn valgrind() -> Option<PathBuf> {
    let candidates = [
        PathBuf::from("/usr/bin/valgrind"),
        PathBuf::from("valgrind"),
    ];
    candidates.into_iter().find(|candidate| {
        std::process::Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// One bootstrap to count.
#[derive(Debug, Clone)]
pub(crate) struct Subject<'a> {
    /// A short name for files (`ours`, `baseline`).
    pub(crate) name: &'a str,
    /// The bootstrap binary.
    pub(crate) binary: &'a Path,
    /// Which host dialect it speaks.
    pub(crate) protocol: Protocol,
}

/// The callgrind output of one run.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// Invocations served.
    pub(crate) invocations: u64,
    /// Instructions executed in total.
    pub(crate) instructions: u64,
    /// The callgrind output file.
    pub(crate) out_file: PathBuf,
}

/// Runs `subject` under callgrind for `invocations` events of `event`; output goes to `dir`.
pub(crate) async fn run(
    valgrind: &Path,
    subject: &Subject<'_>,
    event: &Bytes,
    invocations: u64,
    dir: &Path,
) -> Result<Run> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let out_file = dir.join(format!("callgrind.{}.{invocations}.out", subject.name));
    let log_file = dir.join(format!("callgrind.{}.{invocations}.log", subject.name));
    let _ = std::fs::remove_file(&out_file);
    let host = Host::start(subject.protocol, event.clone(), invocations).await?;
    let log = std::fs::File::create(&log_file)
        .with_context(|| format!("cannot create {}", log_file.display()))?;
    let mut command = Command::new(valgrind);
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(subject.binary)
        .env_clear()
        .envs(host.bootstrap_env())
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let mut process = Proc::spawn(&mut command, &format!("callgrind on {}", subject.name))?;
    // Under callgrind a bootstrap runs 50-100x slower; allow for it generously.
    let limit = Duration::from_secs(120) + Duration::from_millis(20) * invocations as u32;
    let waited = host
        .wait_until(
            limit,
            || matches!(process.try_wait(), Ok(None)),
            |progress| progress.answered >= invocations && progress.parked >= 1,
        )
        .await;
    if let Err(err) = waited {
        bail!("{err}; see {}", log_file.display());
    }
    host.check_answers()
        .with_context(|| format!("{} answered wrongly under callgrind", subject.name))?;
    // SIGTERM while parked on /next: callgrind writes its totals on the way out.
    process
        .terminate(Duration::from_secs(60))
        .await?
        .ok_or_else(|| anyhow!("{} did not stop on SIGTERM under callgrind", subject.name))?;
    let text = std::fs::read_to_string(&out_file).with_context(|| {
        format!(
            "callgrind wrote no {}; see {}",
            out_file.display(),
            log_file.display()
        )
    })?;
    let instructions =
        totals(&text).ok_or_else(|| anyhow!("{} has no totals line", out_file.display()))?;
    Ok(Run {
        invocations,
        instructions,
        out_file,
    })
}

/// The total instruction count of a callgrind output file.
pub(crate) fn totals(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Instructions per invocation from two runs.
pub(crate) fn per_invocation(small: &Run, large: &Run) -> Result<f64> {
    if large.invocations <= small.invocations {
        bail!("the large run must serve more invocations than the small one");
    }
    let extra = large.instructions.saturating_sub(small.instructions);
    Ok(extra as f64 / (large.invocations - small.invocations) as f64)
}

/// Exclusive (self) instructions per function in a callgrind output, via `callgrind_annotate`.
fn self_costs(out_file: &Path) -> Result<HashMap<String, u64>> {
    let output = std::process::Command::new("callgrind_annotate")
        .args(["--inclusive=no", "--threshold=100"])
        .arg(out_file)
        .output()
        .context("cannot run callgrind_annotate")?;
    if !output.status.success() {
        bail!("callgrind_annotate failed on {}", out_file.display());
    }
    Ok(parse_annotate(&String::from_utf8_lossy(&output.stdout)))
}

/// Reads `callgrind_annotate` lines such as `  1,234 (12.5%)  file.rs:name [obj]`.
fn parse_annotate(text: &str) -> HashMap<String, u64> {
    let mut costs = HashMap::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let Some((count, rest)) = trimmed.split_once(' ') else {
            continue;
        };
        let Ok(count) = count.replace(',', "").parse::<u64>() else {
            continue;
        };
        let rest = rest.trim_start();
        // An optional "(12.5%)" column.
        let rest = match rest.strip_prefix('(') {
            Some(after) => after.split_once(')').map_or(after, |(_, tail)| tail),
            None => rest,
        };
        let name = rest.trim();
        if name.is_empty()
            || name.contains("PROGRAM TOTALS")
            || name.starts_with("events annotated")
        {
            continue;
        }
        *costs.entry(name.to_owned()).or_default() += count;
    }
    costs
}

/// One function's share of an invocation.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Hot {
    /// `file:function [object]`, as callgrind_annotate names it.
    pub(crate) function: String,
    /// Self instructions per invocation.
    pub(crate) per_invocation: f64,
}

/// Where one invocation's instructions go: self costs of the large run minus the small
/// run's, per extra invocation, for every function that grew, largest first.
pub(crate) fn hot_functions(small: &Run, large: &Run) -> Result<Vec<Hot>> {
    let before = self_costs(&small.out_file)?;
    let after = self_costs(&large.out_file)?;
    let extra = (large.invocations - small.invocations) as f64;
    let mut hot: Vec<Hot> = after
        .into_iter()
        .map(|(function, cost)| {
            let base = before.get(&function).copied().unwrap_or(0);
            Hot {
                per_invocation: cost.saturating_sub(base) as f64 / extra,
                function,
            }
        })
        .filter(|hot| hot.per_invocation >= 0.5)
        .collect();
    hot.sort_by(|a, b| b.per_invocation.total_cmp(&a.per_invocation));
    Ok(hot)
}

/// The groups [`categories`] sums functions into, matched in this order on the
/// `file:function [object]` name.
const CATEGORIES: [(&str, &[&str]); 10] = [
    (
        "allocator (malloc/free)",
        &[
            "malloc.c:",
            "/malloc/",
            ":free ",
            ":malloc ",
            ":realloc",
            ":calloc",
            // mimalloc, the `scf` server's allocator
            ":mi_",
            ":_mi_",
        ],
    ),
    (
        "libc memcpy/memmove/memset/str*",
        &[
            "memmove", "memcpy", "memset", "memcmp", "strcmp", "strlen", "memchr",
        ],
    ),
    (
        "tracing / tracing-subscriber",
        &[
            "tracing_subscriber::",
            "tracing_core::",
            "tracing::",
            "sharded_slab::",
        ],
    ),
    (
        "HTTP (hyper, hyper-util, httparse, http)",
        &[
            "hyper::",
            "hyper_util::",
            "httparse::",
            "http::",
            "http_body",
        ],
    ),
    (
        "tokio (scheduler, I/O driver, timers)",
        &["tokio::", "mio::"],
    ),
    (
        "JSON (serde, serde_json)",
        &["serde_json::", "serde::", "serde_core::"],
    ),
    ("host (scf_runtime_server)", &["scf_runtime_server::"]),
    (
        "runtime loop (scf_runtime / lambda_runtime)",
        &[
            "scf_runtime::",
            "lambda_runtime",
            "example_echo::",
            "baseline_echo::",
        ],
    ),
    (
        "hashing (SipHash, HashMap)",
        &["Hasher", "hash_one", "hashbrown::"],
    ),
    (
        "core / alloc / std (formatting, collections)",
        &["core::", "alloc::", "std::", "<&"],
    ),
];

/// Per-invocation instructions summed by [`CATEGORIES`]; the rest is `other`. Link-time
/// inlining blurs the lines: code inlined into a caller counts for the caller's group.
pub(crate) fn categories(hot: &[Hot]) -> Vec<(String, f64)> {
    let mut sums: Vec<(String, f64)> = CATEGORIES
        .iter()
        .map(|(name, _)| ((*name).to_owned(), 0.0))
        .chain(std::iter::once(("other".to_owned(), 0.0)))
        .collect();
    for entry in hot {
        let index = CATEGORIES
            .iter()
            .position(|(_, needles)| needles.iter().any(|needle| entry.function.contains(needle)))
            .unwrap_or(CATEGORIES.len());
        sums[index].1 += entry.per_invocation;
    }
    sums.retain(|(_, sum)| *sum >= 1.0);
    sums.sort_by(|a, b| b.1.total_cmp(&a.1));
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_totals() {
        let text = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 123456\n\nfn=(1) main\n5 10\ntotals: 123456\n";
        assert_eq!(totals(text), Some(123_456));
        assert_eq!(totals("events: Ir\n"), None);
    }

    #[test]
    fn per_invocation_subtracts_start_up() {
        let run = |invocations, instructions| Run {
            invocations,
            instructions,
            out_file: PathBuf::new(),
        };
        let cost = per_invocation(&run(100, 2_000_000), &run(1100, 52_000_000)).unwrap();
        assert_eq!(cost, 50_000.0);
        assert!(per_invocation(&run(10, 1), &run(10, 2)).is_err());
    }

    #[test]
    fn sums_categories() {
        let hot = |function: &str, per_invocation| Hot {
            function: function.to_owned(),
            per_invocation,
        };
        let sums = categories(&[
            hot("./malloc/./malloc/malloc.c:_int_free [libc]", 100.0),
            hot("???:hyper::proto::h1::role::parse [bin]", 50.0),
            hot("???:httparse::parse_headers_iter_uninit [bin]", 25.0),
            hot("???:mystery [bin]", 5.0),
            hot("???:mi_free [scf]", 10.0),
            hot("???:_mi_page_malloc_zero [scf]", 5.0),
        ]);
        assert_eq!(sums[0], ("allocator (malloc/free)".to_owned(), 115.0));
        assert_eq!(sums[1].1, 75.0);
        assert_eq!(sums[2], ("other".to_owned(), 5.0));
        assert_eq!(sums.len(), 3);
    }

    #[test]
    fn reads_annotate_lines() {
        let text = "\
--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
3,000,000 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                  file:function
--------------------------------------------------------------------------------
1,500,000 (50.00%)  ???:memcpy [/usr/lib/libc.so.6]
  900,000 (30.00%)  ???:hyper::proto::h1::role::parse_headers [/bin/x]
";
        let costs = parse_annotate(text);
        assert_eq!(costs["???:memcpy [/usr/lib/libc.so.6]"], 1_500_000);
        assert_eq!(
            costs["???:hyper::proto::h1::role::parse_headers [/bin/x]"],
            900_000
        );
        assert_eq!(costs.len(), 2);
    }
}
