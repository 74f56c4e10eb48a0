//! `cargo run --release -p xtask -- soak [--minutes 30]`: a long run of `cargo scf serve` under
//! mixed traffic, reporting what must stay flat.
//!
//! 1. Builds the echo and errors examples and the server in release, and serves `echo`,
//!    `errors` and `slow` (a bootstrap that answers after 2 s, with a 1 s timeout).
//! 2. **Listing under load**: stores `--stored` async events (200,000 by default), measures echo
//!    throughput with 16 clients alone, then again while 4 clients list pages of the store,
//!    and prints both with their ratio.
//! 3. **Soak**: drives sync echo, async echo, sync and async function errors and timeouts at
//!    half the measured echo throughput (or `--rate`) for `--minutes`, and every `--sample-s`
//!    prints the server's RSS, open descriptors, instances, store size, the async totals and
//!    the sync echo p50/p99 of that interval.
//!    The dead letters (kept until purged) are purged every interval, as an operator would.
//! 4. Waits for every accepted async event to finish or be dead-lettered and compares: accepted
//!    (202s seen by the client, and the server's count) = finished + dead-lettered.
//!
//! The exit status is 1 when an answer had an unexpected status, an accepted event did not
//! end, or the server died.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use bytes::Bytes;
use http::{Method, StatusCode};
use tokio::sync::Mutex;

use crate::artifacts;
use crate::load::Conn;
use crate::procs;
use crate::serve;
use crate::stats::Samples;

/// Options of `xtask soak`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// How long the mixed traffic runs.
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Invocations per second (default: half the echo throughput measured first).
    #[arg(long)]
    rate: Option<u64>,
    /// Seconds between two report rows.
    #[arg(long, default_value_t = 60)]
    sample_s: u64,
    /// Async events stored before the listing-under-load measurement.
    #[arg(long, default_value_t = 200_000)]
    stored: u64,
}

/// One kind of request of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SyncEcho,
    AsyncEcho,
    SyncError,
    AsyncError,
    Timeout,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::SyncEcho,
        Kind::AsyncEcho,
        Kind::SyncError,
        Kind::AsyncError,
        Kind::Timeout,
    ];

    fn function(self) -> &'static str {
        match self {
            Kind::SyncEcho | Kind::AsyncEcho => "echo",
            Kind::SyncError | Kind::AsyncError => "errors",
            Kind::Timeout => "slow",
        }
    }

    fn is_async(self) -> bool {
        matches!(self, Kind::AsyncEcho | Kind::AsyncError)
    }

    fn expected(self) -> StatusCode {
        match self {
            Kind::SyncEcho => StatusCode::OK,
            Kind::AsyncEcho | Kind::AsyncError => StatusCode::ACCEPTED,
            Kind::SyncError => StatusCode::from_u16(430).expect("valid"),
            Kind::Timeout => StatusCode::from_u16(433).expect("valid"),
        }
    }

    fn body(self) -> &'static str {
        match self {
            Kind::SyncEcho | Kind::AsyncEcho | Kind::Timeout => r#"{"soak":true}"#,
            Kind::SyncError | Kind::AsyncError => r#"{"action":"declined","card":"4242"}"#,
        }
    }
}

/// Which kind the `n`-th request of the mix is: per 100, 62 sync echo, 25 async echo, 8 sync
/// errors, 5 async errors; timeouts are sent apart, two a second.
fn kind_of(n: u64) -> Kind {
    match n % 100 {
        0..62 => Kind::SyncEcho,
        62..87 => Kind::AsyncEcho,
        87..95 => Kind::SyncError,
        _ => Kind::AsyncError,
    }
}

/// One invocation of `kind` on `conn`; its status.
async fn invoke(conn: &mut Conn, kind: Kind) -> Result<StatusCode> {
    let path = format!("/functions/{}/invocations", kind.function());
    let headers: &[(&str, &str)] = if kind.is_async() {
        &[("x-scf-invocation-type", "Event")]
    } else {
        &[]
    };
    let body = Bytes::from_static(kind.body().as_bytes());
    Ok(conn.send(Method::POST, &path, headers, body).await?.0)
}

/// What the traffic saw in one report interval.
#[derive(Default)]
struct Interval {
    by_kind: [u64; 5],
    unexpected: Vec<String>,
    echo_us: Vec<Duration>,
    accepted: u64,
}

/// Sync echo invocations per second with `clients` closed-loop clients for `span`.
async fn echo_throughput(addr: SocketAddr, clients: usize, span: Duration) -> Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + span;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            while Instant::now() < until {
                let status = invoke(&mut conn, Kind::SyncEcho).await?;
                if status != StatusCode::OK {
                    bail!("echo answered {status}");
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / span.as_secs_f64())
}

/// The bootstrap of `slow`: takes each invocation and answers it after 2 s.
const SLOW_BOOTSTRAP: &str = r#"#!/usr/bin/env python3
import json, os, time, urllib.request
api = "http://" + os.environ["SCF_RUNTIME_API"] + ":" + os.environ["SCF_RUNTIME_API_PORT"]
urllib.request.urlopen(urllib.request.Request(api + "/runtime/init/ready", data=b"", method="POST")).read()
while True:
    with urllib.request.urlopen(api + "/runtime/invocation/next") as r:
        r.read()
    time.sleep(2)
    urllib.request.urlopen(urllib.request.Request(api + "/runtime/invocation/response", data=b"{}", method="POST")).read()
"#;

fn write_config(dir: &Path, echo: &Path, errors: &Path, slow: &Path, kept: u64) -> Result<PathBuf> {
    let s = |p: &Path| serve::toml_string(&p.display().to_string());
    let text = format!(
        r#"# Generated by `cargo xtask soak`.
[server]
listen = "127.0.0.1:0"
state_dir = {state}
async_max_kept = {kept}
async_queue_length = 1000000

[functions.echo]
bootstrap = {echo}
type = "event"
max_instances = 8
idle_timeout_s = 600

[functions.errors]
bootstrap = {errors}
type = "event"
max_instances = 4

[functions.slow]
bootstrap = {slow}
type = "event"
timeout_s = 1
max_instances = 8
"#,
        state = s(&dir.join("state")),
        echo = s(echo),
        errors = s(errors),
        slow = s(slow),
    );
    let path = dir.join("scf.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Runs the soak; `Ok(false)` when a check failed.
pub(crate) fn run(options: Options) -> Result<bool> {
    let root = crate::workspace_root();
    let target = artifacts::target_dir(&root)?;
    eprintln!("building the examples and the server in release…");
    let ours = artifacts::build_ours(&root, &target, false)?;
    let server = ours.server.map_err(|e| anyhow!(e))?;
    artifacts::cargo_build(&root, &target, &["example-errors"], &[])?;
    let errors = target.join("release").join("example-errors");
    let dir = std::env::temp_dir().join(format!("scf-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let slow = dir.join("slow-bootstrap");
    std::fs::write(&slow, SLOW_BOOTSTRAP)?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755))?;
    }
    // Retention keeps as many finished events as the listing measurement stored: from then
    // on, the store prunes as much as it accepts.
    let kept = options.stored.max(10_000);
    let config = write_config(&dir, &ours.echo, &errors, &slow, kept)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(soak(&options, &server, &config, &dir));
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn soak(options: &Options, server: &Path, config: &Path, dir: &Path) -> Result<bool> {
    let host = serve::start_scf(server, config, &dir.join("serve.log"), None).await?;
    let addr = host.addr;
    let pid = host.process.pid();
    let mut control = Conn::new(addr);

    // Listing under load.
    eprintln!("storing {} async events…", options.stored);
    let stored_at = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut fillers = Vec::new();
    for _ in 0..32 {
        let next = next.clone();
        let stored = options.stored;
        fillers.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            while next.fetch_add(1, Ordering::Relaxed) < stored {
                let status = invoke(&mut conn, Kind::AsyncEcho).await?;
                if status != StatusCode::ACCEPTED {
                    bail!("an async event was answered {status}");
                }
            }
            Ok(())
        }));
    }
    for filler in fillers {
        filler.await??;
    }
    let store_secs = stored_at.elapsed().as_secs_f64();
    println!(
        "stored {} async events in {store_secs:.1} s ({:.0} events/s)",
        options.stored,
        options.stored as f64 / store_secs
    );
    let span = Duration::from_secs(10);
    let alone = echo_throughput(addr, 16, span).await?;
    // Four people paging through the events, each asking for a page every 100 ms (the first
    // 50 pages, 20 events each, newest first), and one dashboard refreshing its counts.
    let listing = Arc::new(AtomicU64::new(0));
    let list_us = Arc::new(Mutex::new(Vec::new()));
    let stop_at = Instant::now() + span;
    let mut listers = Vec::new();
    for i in 0..5u64 {
        let (listing, list_us) = (listing.clone(), list_us.clone());
        listers.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut ticker = tokio::time::interval(Duration::from_millis(100));
            let mut page = 0u64;
            while Instant::now() < stop_at {
                ticker.tick().await;
                let path = if i == 4 {
                    "/ui/api/events?limit=20".to_owned()
                } else {
                    let offset = (page * 7 + i * 13) % 50 * 20;
                    format!("/async/events?function=echo&limit=20&offset={offset}")
                };
                let started = Instant::now();
                conn.get_json(&path).await?;
                list_us.lock().await.push(started.elapsed());
                listing.fetch_add(1, Ordering::Relaxed);
                page += 1;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    let with_listing = echo_throughput(addr, 16, span).await?;
    for lister in listers {
        lister.await??;
    }
    let pages = Samples::from_durations(&list_us.lock().await);
    println!(
        "echo with 16 clients: {alone:.0}/s alone, {with_listing:.0}/s while {} pages of the store were listed ({:.2}x); a page took p50 {:.0} µs, p99 {:.0} µs",
        listing.load(Ordering::Relaxed),
        with_listing / alone,
        pages.p50().unwrap_or(0.0),
        pages.p99().unwrap_or(0.0),
    );

    // The soak.
    let rate = options.rate.unwrap_or((alone / 2.0) as u64).max(10);
    let minutes = options.minutes;
    println!(
        "\nsoak: {rate} invocations/s for {minutes} min (62% sync echo, 25% async echo, 8% sync errors, 5% async errors; 2 timeouts/s)"
    );
    println!(
        "{:>6} {:>8} {:>8} {:>7} {:>6} {:>6} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "t(s)",
        "done/s",
        "echo/s",
        "RSS MB",
        "fds",
        "inst",
        "store MB",
        "accepted",
        "finished",
        "dead",
        "p50 µs",
        "p99 µs",
        "unexpected"
    );
    let interval = Arc::new(Mutex::new(Interval::default()));
    let end = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    let (jobs, receiver) = async_channel(4096);
    let mut workers = Vec::new();
    for _ in 0..64 {
        let receiver = receiver.clone();
        let interval = interval.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            loop {
                // The lock is held only while taking a job, not while sending it.
                let next = receiver.lock().await.recv().await;
                let Some(kind) = next else {
                    break;
                };
                let started = Instant::now();
                let answer = invoke(&mut conn, kind).await;
                let elapsed = started.elapsed();
                let mut i = interval.lock().await;
                i.by_kind[Kind::ALL.iter().position(|k| *k == kind).expect("listed")] += 1;
                match answer {
                    Ok(status) if status == kind.expected() => {
                        if kind == Kind::SyncEcho {
                            i.echo_us.push(elapsed);
                        }
                        if kind.is_async() {
                            i.accepted += 1;
                        }
                    }
                    Ok(status) => i.unexpected.push(format!("{kind:?}: {status}")),
                    Err(e) => i.unexpected.push(format!("{kind:?}: {e:#}")),
                }
            }
        }));
    }
    let producer = tokio::spawn(async move {
        let tick = Duration::from_millis(10);
        let mut ticker = tokio::time::interval(tick);
        let (mut sent, mut timeouts, mut dropped) = (0u64, 0u64, 0u64);
        let started = Instant::now();
        while Instant::now() < end {
            ticker.tick().await;
            let elapsed = started.elapsed().as_secs_f64();
            let due = (elapsed * rate as f64) as u64;
            while sent < due {
                if jobs.try_send(kind_of(sent)).is_err() {
                    dropped += 1;
                }
                sent += 1;
            }
            while timeouts < (elapsed * 2.0) as u64 {
                if jobs.try_send(Kind::Timeout).is_err() {
                    dropped += 1;
                }
                timeouts += 1;
            }
        }
        dropped
    });

    let mut rows = Vec::new();
    let started = Instant::now();
    let mut client_accepted = 0u64;
    let mut unexpected = Vec::new();
    let mut healthy = true;
    while Instant::now() < end {
        let wait = Duration::from_secs(options.sample_s)
            .min(end.saturating_duration_since(Instant::now()));
        tokio::time::sleep(wait).await;
        let taken = std::mem::take(&mut *interval.lock().await);
        client_accepted += taken.accepted;
        // Dead letters stay until purged: an operator purges them, as this does every interval.
        if let Err(e) = control
            .send(
                Method::POST,
                "/async/dlq/purge",
                &[],
                Bytes::from_static(b"{}"),
            )
            .await
        {
            println!("purging the dead letters failed: {e:#}");
        }
        let status = control.get_json("/status").await;
        let Ok(status) = status else {
            println!("the server did not answer /status: {status:?}");
            healthy = false;
            break;
        };
        let totals = &status["async"]["totals"];
        let echo = Samples::from_durations(&taken.echo_us);
        let row = Row {
            t: started.elapsed().as_secs_f64(),
            sent: taken.by_kind.iter().sum::<u64>() as f64 / wait.as_secs_f64().max(0.001),
            echo: taken.echo_us.len() as f64 / wait.as_secs_f64().max(0.001),
            rss_mb: procs::rss_kib(pid).unwrap_or(0) as f64 / 1024.0,
            fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count()),
            instances: procs::descendants(pid).len(),
            store_mb: status["async"]["store_bytes"].as_u64().unwrap_or(0) as f64 / 1048576.0,
            accepted: totals["accepted"].as_u64().unwrap_or(0),
            finished: totals["finished"].as_u64().unwrap_or(0),
            dead: totals["dead_lettered"].as_u64().unwrap_or(0),
            p50: echo.p50().unwrap_or(0.0),
            p99: echo.p99().unwrap_or(0.0),
            unexpected: taken.unexpected.len(),
        };
        println!("{row}");
        unexpected.extend(taken.unexpected.into_iter().take(5));
        rows.push(row);
    }
    let dropped = producer.await?;
    drop(receiver);
    for worker in &workers {
        worker.abort();
    }
    client_accepted += std::mem::take(&mut *interval.lock().await).accepted;

    // Every accepted event ends: finished, or dead-lettered after its retries.
    let patience = Instant::now() + Duration::from_secs(600);
    let (accepted, ended) = loop {
        let status = control.get_json("/status").await?;
        let totals = &status["async"]["totals"];
        let accepted = totals["accepted"].as_u64().unwrap_or(0);
        let ended = totals["finished"].as_u64().unwrap_or(0)
            + totals["dead_lettered"].as_u64().unwrap_or(0);
        if ended >= accepted || Instant::now() > patience {
            break (accepted, ended);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let accepted_by_soak = client_accepted + options.stored;
    println!(
        "\naccepted: {accepted_by_soak} answered 202 to the client, {accepted} counted by the server; ended (finished + dead-lettered): {ended}"
    );
    if dropped > 0 {
        println!("the generator could not send {dropped} invocations (every worker busy)");
    }
    let summary = |name: &str, f: &dyn Fn(&Row) -> f64| {
        let values: Vec<f64> = rows.iter().map(f).collect();
        let (first, last) = (
            values.first().copied().unwrap_or(0.0),
            values.last().copied().unwrap_or(0.0),
        );
        let max = values.iter().copied().fold(0.0, f64::max);
        println!("{name:<14} first {first:>10.1}  last {last:>10.1}  max {max:>10.1}");
    };
    summary("RSS MB", &|r| r.rss_mb);
    summary("fds", &|r| r.fds as f64);
    summary("store MB", &|r| r.store_mb);
    summary("echo p99 µs", &|r| r.p99);
    for line in &unexpected {
        println!("unexpected: {line}");
    }
    let balanced = accepted == ended && accepted == accepted_by_soak;
    if !balanced {
        println!("FAILED: accepted and ended events differ");
    }
    let _ = host.process.terminate(Duration::from_secs(10)).await;
    Ok(healthy && balanced && unexpected.is_empty())
}

/// One report row.
struct Row {
    t: f64,
    sent: f64,
    echo: f64,
    rss_mb: f64,
    fds: usize,
    instances: usize,
    store_mb: f64,
    accepted: u64,
    finished: u64,
    dead: u64,
    p50: f64,
    p99: f64,
    unexpected: usize,
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>6.0} {:>8.0} {:>8.0} {:>7.1} {:>6} {:>6} {:>11.1} {:>9} {:>9} {:>9} {:>9.0} {:>9.0} {:>10}",
            self.t,
            self.sent,
            self.echo,
            self.rss_mb,
            self.fds,
            self.instances,
            self.store_mb,
            self.accepted,
            self.finished,
            self.dead,
            self.p50,
            self.p99,
            self.unexpected
        )
    }
}

/// A bounded channel whose receiving end the workers share.
fn async_channel(
    capacity: usize,
) -> (
    tokio::sync::mpsc::Sender<Kind>,
    Arc<Mutex<tokio::sync::mpsc::Receiver<Kind>>>,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel(capacity);
    (sender, Arc::new(Mutex::new(receiver)))
}
