//! The external load generator: `wrk` (Debian's package), unpinned, against a host's invoke
//! API. A Lua script makes every request a POST of the event and prints wrk's own figures in
//! one machine-readable line when the run is done.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};

/// The marker of the line the script's `done` callback prints.
const MARKER: &str = "SCFBENCH";

/// Finds `wrk` on `PATH`; when missing and `install` holds, installs Debian's package with
/// `apt-get` (as root, or through `sudo -n`). `Err` says why there is none.
pub(crate) fn find_or_install(install: bool) -> Result<PathBuf, String> {
    if let Some(found) = on_path("wrk") {
        return Ok(found);
    }
    if !install {
        return Err("wrk is not on PATH (apt-get install wrk)".to_owned());
    }
    if on_path("apt-get").is_none() {
        return Err("wrk is not on PATH and there is no apt-get to install it".to_owned());
    }
    eprintln!("installing wrk with apt-get");
    let root = nix::unistd::geteuid().is_root();
    let mut command = if root {
        std::process::Command::new("apt-get")
    } else {
        let mut sudo = std::process::Command::new("sudo");
        sudo.args(["-n", "apt-get"]);
        sudo
    };
    let status = command
        .args(["install", "-y", "-q", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() => {
            on_path("wrk").ok_or_else(|| "apt-get installed wrk but it is not on PATH".to_owned())
        }
        Ok(status) => Err(format!("`apt-get install wrk` failed ({status})")),
        Err(err) => Err(format!("cannot run apt-get: {err}")),
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The Lua script: POST `event` as JSON, then print the figures.
pub(crate) fn script(event: &str) -> String {
    let mut text = String::from("wrk.method = \"POST\"\n");
    text.push_str(&format!("wrk.body = {}\n", lua_string(event)));
    text.push_str("wrk.headers[\"Content-Type\"] = \"application/json\"\n");
    text.push_str(&format!(
        r#"done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("{MARKER} requests=%d duration_us=%d status=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#
    ));
    text
}

/// A Lua long string holding `text` verbatim.
fn lua_string(text: &str) -> String {
    let mut level = 0;
    while text.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    // A newline right after the opening bracket would be dropped by Lua; the text starts after it.
    format!("[{eq}[\n{text}]{eq}]")
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figures {
    /// Responses completed.
    pub(crate) requests: u64,
    /// Requests per second over the run.
    pub(crate) rate: f64,
    /// Latency percentiles, µs (wrk records whole microseconds).
    pub(crate) p50_us: f64,
    /// The 99th percentile, µs.
    pub(crate) p99_us: f64,
}

/// Reads the script's figures line; fails on any non-2xx answer or socket error.
pub(crate) fn parse(output: &str) -> Result<Figures> {
    let line = output
        .lines()
        .find(|line| line.starts_with(MARKER))
        .ok_or_else(|| anyhow!("wrk printed no {MARKER} line"))?;
    let field = |name: &str| -> Result<u64> {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| anyhow!("wrk's figures have no {name}: {line}"))?
            .parse()
            .with_context(|| format!("wrk's {name} is not a number: {line}"))
    };
    let requests = field("requests")?;
    let duration_us = field("duration_us")?;
    let status = field("status")?;
    if status > 0 {
        bail!("{status} of {requests} answers were not 2xx/3xx");
    }
    let (connect, read, write, timeout) = (
        field("connect")?,
        field("read")?,
        field("write")?,
        field("timeout")?,
    );
    if connect + read + write + timeout > 0 {
        bail!("socket errors: connect {connect}, read {read}, write {write}, timeout {timeout}");
    }
    if requests == 0 || duration_us == 0 {
        bail!("wrk completed no request");
    }
    Ok(Figures {
        requests,
        rate: requests as f64 * 1e6 / duration_us as f64,
        p50_us: field("p50_us")? as f64,
        p99_us: field("p99_us")? as f64,
    })
}

/// One run of `wrk` with `connections` connections on `threads` threads for `duration` against
/// `http://addr/path`, the script at `script`.
pub(crate) async fn run(
    wrk: &Path,
    script: &Path,
    addr: SocketAddr,
    path: &str,
    threads: usize,
    connections: usize,
    duration: Duration,
) -> Result<Figures> {
    let seconds = duration.as_secs().max(1);
    let output = tokio::process::Command::new(wrk)
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script)
        .arg(format!("http://{addr}{path}"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    parse(&stdout).with_context(|| format!("wrk against http://{addr}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_figures_line() {
        let output = "Running 5s test @ http://127.0.0.1:1/x\n  2 threads and 16 connections\n\
            SCFBENCH requests=100000 duration_us=5000000 status=0 connect=0 read=0 write=0 timeout=0 p50_us=54 p99_us=210\n";
        let figures = parse(output).unwrap();
        assert_eq!(figures.requests, 100_000);
        assert_eq!(figures.rate, 20_000.0);
        assert_eq!(figures.p50_us, 54.0);
        assert_eq!(figures.p99_us, 210.0);
    }

    #[test]
    fn refuses_errors() {
        let bad = "SCFBENCH requests=10 duration_us=1000000 status=3 connect=0 read=0 write=0 timeout=0 p50_us=1 p99_us=2";
        assert!(parse(bad).unwrap_err().to_string().contains("3 of 10"));
        let bad = "SCFBENCH requests=10 duration_us=1000000 status=0 connect=0 read=2 write=0 timeout=0 p50_us=1 p99_us=2";
        assert!(parse(bad).unwrap_err().to_string().contains("read 2"));
        assert!(parse("Running 5s test").is_err());
    }

    #[test]
    fn script_quotes_the_event() {
        let text = script(r#"{"a":"]]"}"#);
        assert!(text.contains("wrk.body = [=[\n{\"a\":\"]]\"}]=]"), "{text}");
        assert!(text.contains("done = function"));
    }
}
