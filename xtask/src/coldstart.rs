//! Cold starts against the minimal host: spawn -> ready, spawn -> first response, and the
//! resident memory of the instance once it is parked on `/next` for the second event.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use bytes::Bytes;
use tokio::process::Command;

use crate::host::{Host, Protocol};
use crate::procs::{Proc, rss_kib};
use crate::stats::Samples;

/// Cold-start samples of one bootstrap.
#[derive(Debug, Clone)]
pub(crate) struct ColdStarts {
    /// Spawn to ready (SCF: `/runtime/init/ready`; AWS: the first `/next`), µs.
    pub(crate) ready: Samples,
    /// Spawn to the first result post, µs.
    pub(crate) first_response: Samples,
    /// VmRSS once idle (parked on the next `/next`), KiB.
    pub(crate) idle_rss_kib: Samples,
}

/// Starts `binary` `starts` times, one event each.
pub(crate) async fn measure(
    binary: &Path,
    protocol: Protocol,
    event: &Bytes,
    starts: usize,
) -> Result<ColdStarts> {
    let mut ready = Vec::with_capacity(starts);
    let mut first = Vec::with_capacity(starts);
    let mut rss = Vec::with_capacity(starts);
    for i in 0..starts {
        let host = Host::start(protocol, event.clone(), 1).await?;
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(host.bootstrap_env())
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let spawned_at = Instant::now();
        let mut process = Proc::spawn(&mut command, &binary.display().to_string())?;
        host.wait_until(
            Duration::from_secs(10),
            || matches!(process.try_wait(), Ok(None)),
            |progress| progress.answered >= 1 && progress.parked >= 1,
        )
        .await
        .with_context(|| format!("cold start {i} of {}", binary.display()))?;
        rss.push(rss_kib(process.pid())? as f64);
        host.check_answers()?;
        let ready_at = host
            .ready_at()
            .ok_or_else(|| anyhow!("{} answered without getting ready", binary.display()))?;
        let answered_at = host
            .first_answer_at()
            .ok_or_else(|| anyhow!("no answer time recorded"))?;
        ready.push(ready_at.saturating_duration_since(spawned_at));
        first.push(answered_at.saturating_duration_since(spawned_at));
        drop(process); // SIGKILL
    }
    Ok(ColdStarts {
        ready: Samples::from_durations(&ready),
        first_response: Samples::from_durations(&first),
        idle_rss_kib: Samples::new(rss),
    })
}
