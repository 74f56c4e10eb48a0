//! `xtask bench`: builds, measures, prints the table.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use bytes::Bytes;
use serde::Serialize;

use crate::artifacts::{self, Baseline};
use crate::asyncq;
use crate::callgrind::{self, Hot, Subject};
use crate::coldstart;
use crate::host::Protocol;
use crate::isolation;
use crate::load::{self, Target as LoadTarget};
use crate::procs::{descendants_named, rss_kib};
use crate::report::{self, Row, Status, Target};
use crate::serve::{self, BURST_FUNCTION, WARM_FUNCTION};
use crate::wrk;

/// The event every benchmark sends: the SCF console's "Hello World" test event.
pub(crate) const EVENT: &str = r#"{"key1":"value1","key2":"value2","key3":"value3"}"#;

/// Options of `xtask bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// A quick run for CI: a few hundred invocations, 20 cold starts, no baseline.
    #[arg(long)]
    smoke: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write the table as Markdown to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Also profile one invocation of each echo loop under callgrind (needs symbol builds).
    #[arg(long)]
    profile: bool,
    /// Build and measure the lambda_runtime baseline even in a smoke run.
    #[arg(long)]
    baseline: bool,
    /// Leave out the baseline entirely.
    #[arg(long, conflicts_with = "baseline")]
    no_baseline: bool,
    /// Never install cargo-lambda (its rows are skipped unless it is already in the cache).
    #[arg(long)]
    no_install: bool,
    /// Do not pin the load client and the host under test to separate CPUs.
    #[arg(long)]
    no_pin: bool,
    /// Run only these parts (comma-separated); all of them by default.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PARTS")]
    only: Vec<Part>,
    /// Cache folder for the baseline project, cargo-lambda and run logs
    /// [default: TARGET_DIR/bench-cache].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Also measure cargo scf serve's warm latency and throughput with a dashboard open (a client
    /// reading `/ui/api/stream`), against the same figures without it.
    #[arg(long)]
    dashboard: bool,
    /// Measure this SCF bootstrap instead of the echo we build (say, a build with other
    /// profile settings); it must answer every event with the event itself.
    #[arg(long, value_name = "PATH")]
    echo_binary: Option<PathBuf>,
    /// Measure this `cargo-scf` (the runtime server) instead of building one; with
    /// `--echo-binary` too, nothing is built.
    #[arg(long, value_name = "PATH")]
    server_binary: Option<PathBuf>,
    /// Which load generators measure warm latency and throughput (comma-separated): the
    /// harness's own client pinned to CPU 0 with the hosts on the others, and `wrk` with
    /// nothing pinned [default: both].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "MODES")]
    load: Vec<LoadMode>,
}

/// The load generators of the warm rows, for `--load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LoadMode {
    /// The harness's own hyper client, pinned to CPU 0 (the hosts to the other CPUs).
    Harness,
    /// `wrk` (installed with apt-get when missing), nothing pinned.
    Wrk,
}

/// The parts of a run, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// SDK instructions per invocation (callgrind).
    Instructions,
    /// Cold starts and idle instance RSS against the minimal host.
    ColdStart,
    /// Stripped bootstrap sizes.
    Size,
    /// `cargo scf serve` and `cargo lambda watch`: warm latency, throughput, burst, host RSS.
    Hosts,
    /// `cargo scf serve`: durable async acceptance and accept-to-completion times.
    Async,
}

/// How much of everything a run does.
#[derive(Debug, Clone, Copy, Serialize)]
struct Sizes {
    /// Invocations of the small and the large callgrind run.
    callgrind: (u64, u64),
    cold_starts: usize,
    warm_warmup: usize,
    warm_count: usize,
    clients: usize,
    throughput_warmup_ms: u64,
    throughput_ms: u64,
    burst: usize,
    /// wrk's warm-up and measured runs, s.
    wrk_warmup_s: u64,
    wrk_s: u64,
    /// How long each async acceptance run sends events, ms.
    async_ms: u64,
}

impl Sizes {
    fn new(smoke: bool) -> Self {
        if smoke {
            Self {
                callgrind: (20, 320),
                cold_starts: 20,
                warm_warmup: 50,
                warm_count: 300,
                clients: 16,
                throughput_warmup_ms: 500,
                throughput_ms: 1000,
                burst: 20,
                wrk_warmup_s: 1,
                wrk_s: 1,
                async_ms: 300,
            }
        } else {
            Self {
                callgrind: (100, 10_100),
                cold_starts: 200,
                warm_warmup: 500,
                warm_count: 5000,
                clients: 16,
                throughput_warmup_ms: 2000,
                throughput_ms: 5000,
                burst: 1000,
                wrk_warmup_s: 2,
                wrk_s: 5,
                async_ms: 3000,
            }
        }
    }
}

/// The JSON document `--json` writes.
#[derive(Debug, Serialize)]
struct Document<'a> {
    mode: &'static str,
    event: &'static str,
    sizes: Sizes,
    cpus: usize,
    pinned: bool,
    seconds: f64,
    rows: &'a [Row],
    profile: &'a [ProfileEntry],
    failures: &'a [String],
}

#[derive(Debug, Clone, Serialize)]
struct ProfileEntry {
    subject: String,
    instructions_per_invocation: f64,
    categories: Vec<(String, f64)>,
    hot: Vec<Hot>,
}

/// What the run collects.
#[derive(Debug, Default)]
struct Run {
    rows: Vec<Row>,
    failures: Vec<String>,
    profile: Vec<ProfileEntry>,
}

impl Run {
    /// Records an error of a measurement that should have worked.
    fn fail(&mut self, what: &str, err: &anyhow::Error) -> String {
        let message = format!("{what}: {err:#}");
        eprintln!("error: {message}");
        self.failures.push(message.clone());
        format!("error ({what})")
    }
}

const MB: f64 = 1_000_000.0;

fn step(text: &str) {
    eprintln!("==> {text}");
}

/// Runs the benchmarks; `Ok(false)` when a measurement failed.
pub(crate) fn run(options: Options) -> Result<bool> {
    let started = Instant::now();
    let root = crate::workspace_root();
    let sizes = Sizes::new(options.smoke);
    let with_baseline = !options.no_baseline && (!options.smoke || options.baseline);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let pin = !options.no_pin
        && cpus >= 2
        && std::process::Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok();
    let host_cpus = pin.then(|| format!("1-{}", cpus - 1));
    let client_cpu = pin.then_some(0);

    // The burst holds a connection per invocation here and an instance (pipes, sockets) per
    // invocation in the server, which inherits the limit.
    raise_open_files(4 * sizes.burst as u64 + 256);

    step("building our echo bootstrap and the scf server (release)");
    let target_dir = artifacts::target_dir(&root)?;
    let cache = options
        .cache_dir
        .clone()
        .unwrap_or_else(|| target_dir.join("bench-cache"));
    std::fs::create_dir_all(&cache)
        .with_context(|| format!("cannot create {}", cache.display()))?;
    if cfg!(debug_assertions) && !options.smoke {
        eprintln!(
            "warning: xtask is a debug build; the load client's own cost inflates latencies \
             (run `cargo run --release -p xtask -- bench`)"
        );
    }
    let given = |binary: &Option<PathBuf>, flag: &str| {
        binary
            .as_ref()
            .map(|binary| {
                std::fs::canonicalize(binary)
                    .with_context(|| format!("{flag} {}", binary.display()))
            })
            .transpose()
    };
    let echo_binary = given(&options.echo_binary, "--echo-binary")?;
    let server_binary = given(&options.server_binary, "--server-binary")?;
    let mut ours = match (&echo_binary, &server_binary) {
        (Some(echo), Some(server)) => artifacts::Ours {
            echo: echo.clone(),
            server: Ok(server.clone()),
        },
        _ => artifacts::build_ours(&root, &target_dir, options.smoke)?,
    };
    if let Some(echo) = echo_binary {
        ours.echo = echo;
    }
    if let Some(server) = server_binary {
        ours.server = Ok(server);
    }
    if let Err(reason) = &ours.server {
        eprintln!("note: {reason}");
    }
    let musl: Result<PathBuf, String> = if options.smoke {
        Err("smoke run".to_owned())
    } else {
        step("building our echo bootstrap for static musl (release)");
        artifacts::build_ours_musl(&root, &target_dir).map_err(|err| format!("{err:#}"))
    };
    if let Err(reason) = &musl {
        eprintln!("note: musl build: {reason}");
    }

    let baseline: Result<Baseline, String> = if with_baseline {
        step("building the lambda_runtime baseline echo (release)");
        artifacts::build_baseline(&cache, false).map_err(|err| format!("{err:#}"))
    } else if options.no_baseline {
        Err("left out (--no-baseline)".to_owned())
    } else {
        Err("smoke run (pass --baseline to include it)".to_owned())
    };
    if let Err(reason) = &baseline {
        eprintln!("note: baseline: {reason}");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let event = Bytes::from_static(EVENT.as_bytes());
    let mut run = Run::default();

    let wanted = |part: Part| options.only.is_empty() || options.only.contains(&part);
    if wanted(Part::Instructions) {
        runtime.block_on(instructions(
            &mut run, &ours.echo, &baseline, &event, &sizes, &cache,
        ));
    }
    if wanted(Part::ColdStart) {
        runtime.block_on(cold_starts(&mut run, &ours.echo, &baseline, &event, &sizes));
        if let Ok(musl) = &musl {
            runtime.block_on(cold_starts_musl(&mut run, musl, &event, &sizes));
        }
    }
    if wanted(Part::Size) {
        sizes_rows(
            &mut run,
            &ours.echo,
            musl.as_deref().ok(),
            &baseline,
            &cache,
        );
    }
    if wanted(Part::Instructions) {
        host_instructions(&mut run, &runtime, &ours, &event, &sizes, &cache);
    }
    let harness = options.load.is_empty() || options.load.contains(&LoadMode::Harness);
    let wrk_wanted = options.load.is_empty() || options.load.contains(&LoadMode::Wrk);
    let wrk = if !wrk_wanted {
        Err("not run (--load)".to_owned())
    } else if !wanted(Part::Hosts) {
        Err("not run (--only)".to_owned())
    } else {
        // A smoke run never installs anything: its wrk rows are skipped without one on PATH.
        wrk::find_or_install(!options.smoke && !options.no_install).and_then(|binary| {
            let script = cache.join("wrk-invoke.lua");
            std::fs::write(&script, wrk::script(EVENT))
                .map_err(|err| format!("cannot write {}: {err}", script.display()))?;
            Ok(Wrk { binary, script })
        })
    };
    if let Err(reason) = &wrk {
        println!("SKIPPED: the wrk rows: {reason}");
    }
    let plan = Plan {
        harness,
        host_cpus: host_cpus.as_deref(),
        client_cpu,
        wrk,
        dashboard: options.dashboard,
    };
    match &ours.server {
        _ if !wanted(Part::Hosts) => {}
        Ok(scf) => {
            let hosted = runtime.block_on(scf_host(
                &mut run, scf, &ours.echo, &event, &sizes, &cache, &plan,
            ));
            let lambda = runtime.block_on(lambda_host(
                &mut run, &baseline, &event, &sizes, &cache, &options, &plan,
            ));
            host_rows(&mut run, &plan, &sizes, &hosted, &lambda);
            let starts = sizes.cold_starts.min(40);
            step(&format!(
                "cargo scf serve: {starts} cold invocations one at a time, with and without the sandbox"
            ));
            let spawn = runtime.block_on(isolation::measure(
                scf,
                &ours.echo,
                &event,
                &cache,
                starts,
                host_cpus.as_deref(),
            ));
            isolation_rows(&mut run, &spawn);
        }
        Err(reason) => {
            let reason = reason
                .lines()
                .next()
                .unwrap_or("the scf server does not build")
                .to_owned();
            host_rows(&mut run, &plan, &sizes, &Err(reason.clone()), &Err(reason));
        }
    }
    if wanted(Part::Async) {
        match &ours.server {
            Ok(scf) => runtime.block_on(async_rows(
                &mut run, scf, &ours.echo, &event, &sizes, &cache,
            )),
            Err(reason) => {
                let reason = reason
                    .lines()
                    .next()
                    .unwrap_or("the scf server does not build");
                for (name, unit, target) in ASYNC_ROWS {
                    run.rows.push(Row::skipped(name, unit, target, reason));
                }
            }
        }
    }
    if options.profile {
        runtime.block_on(profile(
            &mut run,
            &root,
            &target_dir,
            &cache,
            &baseline,
            &event,
            &sizes,
        ));
    }

    let seconds = started.elapsed().as_secs_f64();
    println!();
    println!(
        "scf-rs benchmarks ({} run, {cpus} CPUs{}, event {EVENT}), {seconds:.0} s",
        if options.smoke { "smoke" } else { "full" },
        if pin {
            ", load client on CPU 0, hosts on the others"
        } else {
            ""
        },
    );
    println!("{}", report::table(&run.rows));
    if options.smoke {
        println!(
            "smoke run: quick builds (no LTO) and few samples keep the harness working; \
             its figures are not the benchmark's\n"
        );
    }
    for entry in &run.profile {
        println!(
            "where one invocation's instructions go: {} ({:.0} instructions)",
            entry.subject, entry.instructions_per_invocation
        );
        println!("  by group:");
        for (group, sum) in &entry.categories {
            println!(
                "  {sum:>9.0}  {:>5.1}%  {group}",
                100.0 * sum / entry.instructions_per_invocation
            );
        }
        println!("  hottest functions (self cost):");
        for hot in &entry.hot {
            println!(
                "  {:>9.0}  {}",
                hot.per_invocation,
                short_name(&hot.function)
            );
        }
        println!();
    }
    if !run.failures.is_empty() {
        println!("failures:");
        for failure in &run.failures {
            println!("  {failure}");
        }
    }
    if let Some(path) = &options.json {
        let document = Document {
            mode: if options.smoke { "smoke" } else { "full" },
            event: EVENT,
            sizes,
            cpus,
            pinned: pin,
            seconds,
            rows: &run.rows,
            profile: &run.profile,
            failures: &run.failures,
        };
        let text = serde_json::to_string_pretty(&document)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &options.markdown {
        std::fs::write(path, report::markdown(&run.rows))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(run.failures.is_empty())
}

/// Raises this process's soft limit on open files to at least `wanted` (up to the hard limit);
/// says so when the hard limit is lower.
fn raise_open_files(wanted: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft >= wanted {
        return;
    }
    let new = wanted.min(hard);
    if let Err(err) = setrlimit(Resource::RLIMIT_NOFILE, new, hard) {
        eprintln!("note: cannot raise the open-file limit from {soft} to {new}: {err}");
    } else if new < wanted {
        eprintln!("note: the open-file limit is {new} (the hard limit); the burst wants {wanted}");
    }
}

/// A callgrind function name without the source path and the object's directory.
fn short_name(function: &str) -> String {
    let name = function.split_once(':').map_or(function, |(file, rest)| {
        if file.contains('/') || file == "???" {
            rest
        } else {
            function
        }
    });
    match name.rsplit_once(" [") {
        Some((name, object)) => {
            let object = object.trim_end_matches(']');
            let object = object.rsplit('/').next().unwrap_or(object);
            format!("{name} [{object}]")
        }
        None => name.to_owned(),
    }
}

/// Instructions per invocation of a bootstrap under callgrind.
async fn count(
    valgrind: &Path,
    subject: &Subject<'_>,
    event: &Bytes,
    sizes: &Sizes,
    dir: &Path,
) -> Result<(callgrind::Run, callgrind::Run, f64)> {
    let (n1, n2) = sizes.callgrind;
    let small = callgrind::run(valgrind, subject, event, n1, dir).await?;
    let large = callgrind::run(valgrind, subject, event, n2, dir).await?;
    let per = callgrind::per_invocation(&small, &large)?;
    Ok((small, large, per))
}

async fn instructions(
    run: &mut Run,
    echo: &Path,
    baseline: &Result<Baseline, String>,
    event: &Bytes,
    sizes: &Sizes,
    cache: &Path,
) {
    const NAME: &str = "SDK instructions / invocation";
    const CT_NAME: &str = "  vs baseline on current-thread tokio";
    let target = Some(Target::RatioAtMost(0.7));
    let Some(valgrind) = callgrind::valgrind() else {
        let reason = "valgrind is not installed (apt-get install valgrind)";
        run.rows.push(Row::skipped(NAME, "instr", target, reason));
        return;
    };
    let dir = cache.join("callgrind");
    step(&format!(
        "counting instructions under callgrind ({} and {} invocations)",
        sizes.callgrind.0, sizes.callgrind.1
    ));
    let ours = Subject {
        name: "ours",
        binary: echo,
        protocol: Protocol::Scf,
    };
    let ours = match count(&valgrind, &ours, event, sizes, &dir).await {
        Ok((_, _, per)) => Some(per),
        Err(err) => {
            let reason = run.fail("callgrind on our echo", &err);
            run.rows.push(Row::skipped(NAME, "instr", target, &reason));
            return;
        }
    };
    let (theirs, theirs_ct) = match baseline {
        Ok(baseline) => {
            let subject = Subject {
                name: "baseline",
                binary: &baseline.echo,
                protocol: Protocol::Aws,
            };
            let theirs = match count(&valgrind, &subject, event, sizes, &dir).await {
                Ok((_, _, per)) => Ok(per),
                Err(err) => Err(run.fail("callgrind on the baseline echo", &err)),
            };
            let subject = Subject {
                name: "baseline-ct",
                binary: &baseline.echo_ct,
                protocol: Protocol::Aws,
            };
            let theirs_ct = match count(&valgrind, &subject, event, sizes, &dir).await {
                Ok((_, _, per)) => Ok(per),
                Err(err) => Err(run.fail("callgrind on the current-thread baseline echo", &err)),
            };
            (theirs, theirs_ct)
        }
        Err(reason) => (Err(reason.clone()), Err(reason.clone())),
    };
    let row = Row::new(NAME, "instr", ours, theirs.as_ref().ok().copied(), target);
    run.rows.push(match &theirs {
        Ok(_) => row,
        Err(reason) => row.baseline_missing(reason),
    });
    if let Ok(ct) = theirs_ct {
        run.rows
            .push(Row::new(CT_NAME, "instr", ours, Some(ct), None));
    }
}

async fn cold_starts(
    run: &mut Run,
    echo: &Path,
    baseline: &Result<Baseline, String>,
    event: &Bytes,
    sizes: &Sizes,
) {
    step(&format!(
        "{} cold starts of each bootstrap",
        sizes.cold_starts
    ));
    let ours = match coldstart::measure(echo, Protocol::Scf, event, sizes.cold_starts).await {
        Ok(ours) => Some(ours),
        Err(err) => {
            run.fail("cold starts of our echo", &err);
            None
        }
    };
    let theirs = match baseline {
        Ok(baseline) => {
            match coldstart::measure(&baseline.echo, Protocol::Aws, event, sizes.cold_starts).await
            {
                Ok(theirs) => Ok(theirs),
                Err(err) => Err(run.fail("cold starts of the baseline echo", &err)),
            }
        }
        Err(reason) => Err(reason.clone()),
    };
    let pick = |f: fn(&coldstart::ColdStarts) -> Option<f64>| {
        (ours.as_ref().and_then(f), theirs.as_ref().ok().and_then(f))
    };
    let missing = theirs.as_ref().err().cloned().unwrap_or_default();
    let rows = [
        (
            "spawn -> ready p50",
            "µs",
            pick(|c| c.ready.p50()),
            Some(Target::AtMost(2000.0)),
        ),
        ("spawn -> ready p99", "µs", pick(|c| c.ready.p99()), None),
        (
            "spawn -> first response p50",
            "µs",
            pick(|c| c.first_response.p50()),
            None,
        ),
        (
            "spawn -> first response p99",
            "µs",
            pick(|c| c.first_response.p99()),
            None,
        ),
        (
            "idle instance RSS (parked on /next), p50",
            "MB",
            pick(|c| c.idle_rss_kib.p50().map(|kib| kib * 1024.0 / MB)),
            Some(Target::AtMost(2.5)),
        ),
    ];
    for (name, unit, (ours, theirs), target) in rows {
        let row = Row::new(name, unit, ours, theirs, target);
        let row = if ours.is_none() {
            Row {
                status: Status::Skipped("error (cold starts)".to_owned()),
                ..row
            }
        } else {
            row.baseline_missing(&missing)
        };
        run.rows.push(row);
    }
}

/// Spawn -> ready through `cargo scf serve`, with the per-instance sandbox and without.
fn isolation_rows(run: &mut Run, spawn: &isolation::SpawnToReady) {
    let rows = [
        (
            "cargo scf serve: spawn -> ready p50, sandbox (namespaces)",
            &spawn.sandboxed,
            Some(Target::AtMost(2000.0)),
        ),
        (
            "cargo scf serve: spawn -> ready p50, no sandbox",
            &spawn.bare,
            None,
        ),
    ];
    for (name, samples, target) in rows {
        let row = match samples {
            Ok(samples) => Row::new(name, "µs", samples.p50(), None, target),
            // Not a failure: the machine does not permit namespaces.
            Err(reason) if reason.contains("namespaces are not permitted") => {
                Row::skipped(name, "µs", target, "namespaces are not permitted here")
            }
            Err(reason) => {
                let reason = run.fail(name, &anyhow::anyhow!(reason.clone()));
                Row::skipped(name, "µs", target, &reason)
            }
        };
        run.rows.push(row);
    }
}

fn sizes_rows(
    run: &mut Run,
    echo: &Path,
    musl: Option<&Path>,
    baseline: &Result<Baseline, String>,
    cache: &Path,
) {
    let scratch = cache.join("stripped");
    let ours = match artifacts::stripped_size(echo, &scratch) {
        Ok(bytes) => Some(bytes as f64 / MB),
        Err(err) => {
            run.fail("size of our echo", &err);
            None
        }
    };
    let theirs = baseline
        .as_ref()
        .ok()
        .and_then(|baseline| artifacts::stripped_size(&baseline.echo, &scratch).ok())
        .map(|bytes| bytes as f64 / MB);
    run.rows.push(Row::new(
        "stripped echo bootstrap",
        "MB",
        ours,
        theirs,
        Some(Target::AtMost(1.2)),
    ));
    if let Some(musl) = musl {
        match artifacts::stripped_size(musl, &scratch.join("musl")) {
            Ok(bytes) => run.rows.push(Row::new(
                "  the same, static musl (what `cargo scf package` ships)",
                "MB",
                Some(bytes as f64 / MB),
                None,
                Some(Target::AtMost(1.2)),
            )),
            Err(err) => {
                run.fail("size of our musl echo", &err);
            }
        }
    }
}

/// Cold starts and idle RSS of the static musl build (no baseline counterpart).
async fn cold_starts_musl(run: &mut Run, musl: &Path, event: &Bytes, sizes: &Sizes) {
    step(&format!(
        "{} cold starts of the static musl echo",
        sizes.cold_starts
    ));
    match coldstart::measure(musl, Protocol::Scf, event, sizes.cold_starts).await {
        Ok(starts) => {
            run.rows.push(Row::new(
                "spawn -> ready p50, static musl",
                "µs",
                starts.ready.p50(),
                None,
                Some(Target::AtMost(2000.0)),
            ));
            run.rows.push(Row::new(
                "spawn -> first response p50, static musl",
                "µs",
                starts.first_response.p50(),
                None,
                None,
            ));
            run.rows.push(Row::new(
                "idle instance RSS p50, static musl",
                "MB",
                starts.idle_rss_kib.p50().map(|kib| kib * 1024.0 / MB),
                None,
                Some(Target::AtMost(2.5)),
            ));
        }
        Err(err) => {
            run.fail("cold starts of the musl echo", &err);
        }
    }
}

/// Figures from one host session (ours or the baseline's).
#[derive(Debug, Default, Clone)]
struct Hosted {
    idle_rss_mb: Option<f64>,
    busy_rss_mb: Option<f64>,
    warm_p50_us: Option<f64>,
    warm_p99_us: Option<f64>,
    throughput: Option<f64>,
    wrk_p50_us: Option<f64>,
    wrk_p99_us: Option<f64>,
    wrk_throughput: Option<f64>,
    burst_s: Option<f64>,
    burst_instances: Option<f64>,
    burst_p99_ms: Option<f64>,
    /// Server listening to all `min_instances` instances ready, ms.
    pool_ready_ms: Option<f64>,
    /// The host's RSS with them all idle.
    pool_rss_mb: Option<f64>,
}

/// `wrk` and the script it runs.
#[derive(Debug, Clone)]
struct Wrk {
    binary: PathBuf,
    script: PathBuf,
}

/// How the warm rows are measured in this run.
#[derive(Debug, Clone)]
struct Plan<'a> {
    /// The harness's client runs (pinned when the CPU lists are given).
    harness: bool,
    host_cpus: Option<&'a str>,
    client_cpu: Option<usize>,
    /// wrk, unpinned, or why it does not run.
    wrk: Result<Wrk, String>,
    dashboard: bool,
}

impl Plan<'_> {
    /// wrk's figures against `target` (the host started unpinned): 1 connection for latency,
    /// `clients` connections on up to one thread per CPU for throughput, each after a warm-up.
    async fn wrk_rows(
        &self,
        hosted: &mut Hosted,
        target: &LoadTarget,
        sizes: &Sizes,
    ) -> Result<()> {
        let Ok(wrk) = &self.wrk else {
            return Ok(());
        };
        let warmup = Duration::from_secs(sizes.wrk_warmup_s);
        let measured = Duration::from_secs(sizes.wrk_s);
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(sizes.clients);
        let run = |threads, connections, duration| {
            wrk::run(
                &wrk.binary,
                &wrk.script,
                target.addr,
                &target.path,
                threads,
                connections,
                duration,
            )
        };
        run(1, 1, warmup).await?;
        let latency = run(1, 1, measured).await?;
        hosted.wrk_p50_us = Some(latency.p50_us);
        hosted.wrk_p99_us = Some(latency.p99_us);
        run(threads, sizes.clients, warmup).await?;
        hosted.wrk_throughput = Some(run(threads, sizes.clients, measured).await?.rate);
        Ok(())
    }
}

/// Writes the scf.toml of a `cargo scf serve` session into a fresh `dir`.
fn fresh_scf_config(dir: &Path, echo: &Path, sizes: &Sizes) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config = dir.join("scf.toml");
    let text = serve::scf_config(echo, &dir.join("state"), sizes.clients, sizes.burst);
    std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;
    Ok(config)
}

async fn scf_host(
    run: &mut Run,
    scf: &Path,
    echo: &Path,
    event: &Bytes,
    sizes: &Sizes,
    cache: &Path,
    plan: &Plan<'_>,
) -> Result<Hosted, String> {
    let dir = cache.join("scf-serve");
    let config = match fresh_scf_config(&dir, echo, sizes) {
        Ok(config) => config,
        Err(err) => return Err(run.fail("cargo scf serve", &err)),
    };
    let mut hosted = Hosted::default();

    // Session 1, unpinned: idle host, then the cold burst, then the host with its burst
    // instances idle.
    step(&format!(
        "cargo scf serve: idle RSS, then a burst of {} on a cold function (unpinned)",
        sizes.burst
    ));
    let server = match serve::start_scf(scf, &config, &dir.join("serve-burst.log"), None).await {
        Ok(server) => server,
        Err(err) => return Err(run.fail("starting cargo scf serve", &err)),
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    hosted.idle_rss_mb = rss_kib(server.process.pid())
        .ok()
        .map(|kib| kib as f64 * 1024.0 / MB);
    let target = LoadTarget {
        addr: server.addr,
        path: serve::scf_invoke_path(BURST_FUNCTION),
        event: event.clone(),
    };
    let n = sizes.burst;
    match load::run_pinned(None, async move { load::burst(&target, n).await }) {
        Ok(burst) => {
            hosted.burst_s = Some(burst.all_answered.as_secs_f64());
            hosted.burst_p99_ms = burst.latencies.p99().map(|us| us / 1000.0);
            hosted.burst_instances =
                Some(descendants_named(server.process.pid(), "example-echo").len() as f64);
            tokio::time::sleep(Duration::from_millis(300)).await;
            hosted.busy_rss_mb = rss_kib(server.process.pid())
                .ok()
                .map(|kib| kib as f64 * 1024.0 / MB);
        }
        Err(err) => {
            run.fail(
                "burst through cargo scf serve",
                &err.context(format!("log: {}", server.log.display())),
            );
        }
    }
    let _ = server.process.terminate(Duration::from_secs(10)).await;

    // Session 1b: as many instances as the burst, started at once (min_instances), then the
    // host with all of them idle. (A burst is answered by as many instances as it needs, which
    // may be fewer.)
    step(&format!(
        "cargo scf serve: {} instances started at once (min_instances), host RSS with them idle",
        sizes.burst
    ));
    if let Err(err) = pool_session(&mut hosted, scf, echo, sizes, &dir).await {
        run.fail("the pool session of cargo scf serve", &err);
    }

    // Session 2: warm latency and throughput with the harness's client (pinned when pinning).
    if plan.harness {
        step(
            "cargo scf serve: warm latency (1 client) and throughput (16 clients), harness client",
        );
        scf_warm_harness(run, &mut hosted, scf, &config, &dir, event, sizes, plan).await?;
    }

    // Session 3: the same with wrk, nothing pinned.
    if plan.wrk.is_ok() {
        step("cargo scf serve: warm latency and throughput with wrk, unpinned");
        let server = match serve::start_scf(scf, &config, &dir.join("serve-wrk.log"), None).await {
            Ok(server) => server,
            Err(err) => return Err(run.fail("starting cargo scf serve", &err)),
        };
        let target = LoadTarget {
            addr: server.addr,
            path: serve::scf_invoke_path(WARM_FUNCTION),
            event: event.clone(),
        };
        let measured = match first_answer(&target, Duration::from_secs(30)) {
            Ok(()) => plan.wrk_rows(&mut hosted, &target, sizes).await,
            Err(err) => Err(err),
        };
        if let Err(err) = measured {
            run.fail(
                "wrk against cargo scf serve",
                &err.context(format!("log: {}", server.log.display())),
            );
        }
        let _ = server.process.terminate(Duration::from_secs(5)).await;
    }
    Ok(hosted)
}

/// Starts `cargo scf serve` with `sizes.burst` instances kept, waits until `/status` shows them
/// all idle (how long from the server listening, to within the 50 ms between two looks), and
/// measures the host's RSS once they have been idle for 1.5 s.
async fn pool_session(
    hosted: &mut Hosted,
    scf: &Path,
    echo: &Path,
    sizes: &Sizes,
    dir: &Path,
) -> Result<()> {
    let pool_dir = dir.join("pool");
    let _ = std::fs::remove_dir_all(&pool_dir);
    std::fs::create_dir_all(&pool_dir)
        .with_context(|| format!("cannot create {}", pool_dir.display()))?;
    let config = pool_dir.join("scf.toml");
    let text = serve::pool_config(echo, &pool_dir.join("state"), sizes.burst);
    std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;
    let server = serve::start_scf(scf, &config, &pool_dir.join("serve-pool.log"), None).await?;
    let listening = Instant::now();
    let addr = server.addr;
    let wanted = sizes.burst as u64;
    let waited = load::run_pinned(None, async move {
        let mut conn = load::Conn::new(addr);
        let patience = Duration::from_secs(60);
        loop {
            let (status, body) = conn
                .send(http::Method::GET, "/status", &[], Bytes::new())
                .await?;
            let idle = (status == http::StatusCode::OK)
                .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
                .flatten()
                .and_then(|status| {
                    status["functions"]
                        .as_array()?
                        .iter()
                        .find(|f| f["name"] == serve::POOL_FUNCTION)?["counts"]["idle"]
                        .as_u64()
                })
                .unwrap_or(0);
            if idle >= wanted {
                return Ok(listening.elapsed());
            }
            if listening.elapsed() > patience {
                anyhow::bail!("{idle} of {wanted} instances were idle after {patience:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let outcome = waited.map(|ready| {
        hosted.pool_ready_ms = Some(ready.as_secs_f64() * 1000.0);
        // Idle: past the allocator's 1 s purge delay, so what the start freed (and the
        // `/status` answers listing every instance) is not counted.
        std::thread::sleep(Duration::from_millis(1500));
        hosted.pool_rss_mb = rss_kib(server.process.pid())
            .ok()
            .map(|kib| kib as f64 * 1024.0 / MB);
    });
    let _ = server.process.terminate(Duration::from_secs(10)).await;
    outcome.with_context(|| format!("log: {}", server.log.display()))
}

/// One invocation through `target` answered with the event, within `patience` (the first may
/// start an instance).
fn first_answer(target: &LoadTarget, patience: Duration) -> Result<()> {
    let target = target.clone();
    load::run_pinned(None, async move {
        let mut client = load::Client::connect(&target).await?;
        tokio::time::timeout(patience, client.invoke())
            .await
            .map_err(|_| anyhow::anyhow!("the first invoke took over {patience:?}"))??;
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
async fn scf_warm_harness(
    run: &mut Run,
    hosted: &mut Hosted,
    scf: &Path,
    config: &Path,
    dir: &Path,
    event: &Bytes,
    sizes: &Sizes,
    plan: &Plan<'_>,
) -> Result<(), String> {
    let server =
        match serve::start_scf(scf, config, &dir.join("serve-warm.log"), plan.host_cpus).await {
            Ok(server) => server,
            Err(err) => return Err(run.fail("starting cargo scf serve", &err)),
        };
    let log = server.log.clone();
    let target = LoadTarget {
        addr: server.addr,
        path: serve::scf_invoke_path(WARM_FUNCTION),
        event: event.clone(),
    };
    warm(
        run,
        hosted,
        target.clone(),
        sizes,
        plan.client_cpu,
        "cargo scf serve",
        &log,
    );
    if plan.dashboard {
        step("cargo scf serve: the same with a dashboard open (a client reading /ui/api/stream)");
        match open_dashboard(server.addr).await {
            Ok(reader) => {
                let mut open = Hosted::default();
                warm(
                    run,
                    &mut open,
                    target,
                    sizes,
                    plan.client_cpu,
                    "cargo scf serve with a dashboard open",
                    &log,
                );
                reader.abort();
                dashboard_rows(run, hosted, &open);
            }
            Err(err) => {
                run.fail("opening the dashboard stream", &err);
            }
        }
    }
    let _ = server.process.terminate(Duration::from_secs(5)).await;
    Ok(())
}

/// A dashboard left open on the warm function: a client of `/ui/api/stream` reading every
/// snapshot until the returned task is aborted. Returns once the first snapshot arrived.
async fn open_dashboard(addr: std::net::SocketAddr) -> Result<tokio::task::JoinHandle<()>> {
    use http_body_util::BodyExt as _;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake failed")?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = http::Request::get(format!("/ui/api/stream?function={WARM_FUNCTION}"))
        .header(http::header::HOST, addr.to_string())
        .body(http_body_util::Empty::<Bytes>::new())?;
    let response = sender
        .send_request(request)
        .await
        .context("the stream request failed")?;
    anyhow::ensure!(
        response.status().is_success(),
        "/ui/api/stream answered {}",
        response.status()
    );
    let mut body = response.into_body();
    tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .context("no snapshot within 5 s")?
        .context("the stream ended")?
        .context("reading the stream failed")?;
    Ok(tokio::spawn(async move {
        while let Some(Ok(_)) = body.frame().await {}
    }))
}

/// The "dashboard open" rows: warm p50 and throughput with the stream open, against the same
/// host without it (in the baseline column).
fn dashboard_rows(run: &mut Run, closed: &Hosted, open: &Hosted) {
    run.rows.push(Row::new(
        "warm invoke p50, dashboard open (vs. closed)",
        "µs",
        open.warm_p50_us,
        closed.warm_p50_us,
        Some(Target::RatioAtMost(1.05)),
    ));
    run.rows.push(Row::new(
        "throughput, dashboard open (vs. closed)",
        "inv/s",
        open.throughput,
        closed.throughput,
        Some(Target::RatioAtLeast(0.95)),
    ));
}

/// Warm latency and throughput against one host.
fn warm(
    run: &mut Run,
    hosted: &mut Hosted,
    target: LoadTarget,
    sizes: &Sizes,
    client_cpu: Option<usize>,
    what: &str,
    log: &Path,
) {
    let (warmup, count) = (sizes.warm_warmup, sizes.warm_count);
    let latency_target = target.clone();
    match load::run_pinned(client_cpu, async move {
        load::latency(&latency_target, warmup, count).await
    }) {
        Ok(samples) => {
            hosted.warm_p50_us = samples.p50();
            hosted.warm_p99_us = samples.p99();
        }
        Err(err) => {
            run.fail(
                &format!("warm latency through {what}"),
                &err.context(format!("log: {}", log.display())),
            );
            return;
        }
    }
    let clients = sizes.clients;
    let warmup = Duration::from_millis(sizes.throughput_warmup_ms);
    let duration = Duration::from_millis(sizes.throughput_ms);
    match load::run_pinned(client_cpu, async move {
        load::throughput(&target, clients, warmup, duration).await
    }) {
        Ok(rate) => hosted.throughput = Some(rate),
        Err(err) => {
            run.fail(
                &format!("throughput through {what}"),
                &err.context(format!("log: {}", log.display())),
            );
        }
    }
}

async fn lambda_host(
    run: &mut Run,
    baseline: &Result<Baseline, String>,
    event: &Bytes,
    sizes: &Sizes,
    cache: &Path,
    options: &Options,
    plan: &Plan<'_>,
) -> Result<Hosted, String> {
    let baseline = baseline.as_ref().map_err(Clone::clone)?;
    let install = !options.smoke && !options.no_install;
    if install {
        step("cargo-lambda (installed into the cache once)");
    }
    let cargo_lambda = artifacts::cargo_lambda(cache, install).map_err(|err| format!("{err:#}"))?;
    let mut hosted = Hosted::default();
    if plan.harness {
        step(
            "cargo lambda watch --release: warm latency (1 client) and throughput (16 clients), harness client",
        );
        let log = cache.join("cargo-lambda-watch.log");
        let (server, target) = start_lambda(
            &cargo_lambda,
            baseline,
            event,
            sizes,
            &log,
            plan.host_cpus,
            true,
        )
        .await?;
        hosted.idle_rss_mb = server.idle_rss_mb;
        warm(
            run,
            &mut hosted,
            target,
            sizes,
            plan.client_cpu,
            "cargo lambda watch",
            &log,
        );
        let _ = server
            .server
            .process
            .terminate(Duration::from_secs(5))
            .await;
    }
    if plan.wrk.is_ok() {
        step("cargo lambda watch --release: warm latency and throughput with wrk, unpinned");
        let log = cache.join("cargo-lambda-watch-wrk.log");
        let (server, target) = start_lambda(
            &cargo_lambda,
            baseline,
            event,
            sizes,
            &log,
            None,
            !plan.harness,
        )
        .await?;
        if hosted.idle_rss_mb.is_none() {
            hosted.idle_rss_mb = server.idle_rss_mb;
        }
        if let Err(err) = plan.wrk_rows(&mut hosted, &target, sizes).await {
            run.fail(
                "wrk against cargo lambda watch",
                &err.context(format!("log: {}", log.display())),
            );
        }
        let _ = server
            .server
            .process
            .terminate(Duration::from_secs(5))
            .await;
    }
    Ok(hosted)
}

/// A started `cargo lambda watch` that has answered its first invoke.
struct LambdaSession {
    server: serve::Server,
    /// Its RSS before the first invoke, when `measure_rss` asked for it.
    idle_rss_mb: Option<f64>,
}

#[allow(clippy::too_many_arguments)]
async fn start_lambda(
    cargo_lambda: &Path,
    baseline: &Baseline,
    event: &Bytes,
    sizes: &Sizes,
    log: &Path,
    cpus: Option<&str>,
    measure_rss: bool,
) -> Result<(LambdaSession, LoadTarget), String> {
    let server = match serve::start_cargo_lambda(
        cargo_lambda,
        &baseline.project,
        &baseline.target_dir,
        sizes.clients,
        log,
        cpus,
    )
    .await
    {
        Ok(server) => server,
        Err(err) => return Err(format!("cargo lambda watch did not start: {err:#}")),
    };
    let mut idle_rss_mb = None;
    if measure_rss {
        tokio::time::sleep(Duration::from_millis(500)).await;
        idle_rss_mb = rss_kib(server.process.pid())
            .ok()
            .map(|kib| kib as f64 * 1024.0 / MB);
    }
    let target = LoadTarget {
        addr: server.addr,
        path: serve::lambda_invoke_path(artifacts::BASELINE_BIN),
        event: event.clone(),
    };
    // The first invoke starts the function (`cargo run`); give it time.
    if let Err(err) = first_answer(&target, Duration::from_secs(300)) {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        return Err(format!(
            "cargo lambda watch did not answer: {err:#} ({})",
            serve::tail(&text)
        ));
    }
    Ok((
        LambdaSession {
            server,
            idle_rss_mb,
        },
        target,
    ))
}

/// Which session a host row comes from, and so when it is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The harness's client (both hosts).
    Harness,
    /// wrk (both hosts).
    Wrk,
    /// Both hosts, any session.
    Any,
    /// Ours only: the baseline has no counterpart.
    OursOnly,
}

fn host_rows(
    run: &mut Run,
    plan: &Plan<'_>,
    sizes: &Sizes,
    ours: &Result<Hosted, String>,
    theirs: &Result<Hosted, String>,
) {
    type Pick = fn(&Hosted) -> Option<f64>;
    let pinned = if plan.client_cpu.is_some() {
        "harness client pinned"
    } else {
        "harness client, unpinned"
    };
    let burst = report::grouped(sizes.burst as u64);
    let rows: Vec<(String, &str, Pick, Option<Target>, Source)> = vec![
        (
            format!("warm invoke p50 (1 client), {pinned}"),
            "µs",
            |h| h.warm_p50_us,
            Some(Target::RatioAtMost(0.3)),
            Source::Harness,
        ),
        (
            format!("warm invoke p99 (1 client), {pinned}"),
            "µs",
            |h| h.warm_p99_us,
            None,
            Source::Harness,
        ),
        (
            format!("throughput (16 clients, <= 16 instances), {pinned}"),
            "inv/s",
            |h| h.throughput,
            Some(Target::RatioAtLeast(2.5)),
            Source::Harness,
        ),
        (
            "warm invoke p50 (1 connection), wrk, unpinned".to_owned(),
            "µs",
            |h| h.wrk_p50_us,
            Some(Target::RatioAtMost(0.4)),
            Source::Wrk,
        ),
        (
            "warm invoke p99 (1 connection), wrk, unpinned".to_owned(),
            "µs",
            |h| h.wrk_p99_us,
            None,
            Source::Wrk,
        ),
        (
            "throughput (16 connections, <= 16 instances), wrk, unpinned".to_owned(),
            "inv/s",
            |h| h.wrk_throughput,
            Some(Target::RatioAtLeast(2.5)),
            Source::Wrk,
        ),
        (
            "host RSS, idle (0 instances)".to_owned(),
            "MB",
            |h| h.idle_rss_mb,
            Some(Target::AtMost(20.0)),
            Source::Any,
        ),
        (
            format!("host RSS with {burst} idle instances (min_instances = {burst})"),
            "MB",
            |h| h.pool_rss_mb,
            Some(Target::AtMost(50.0)),
            Source::OursOnly,
        ),
        (
            format!("  {burst} instances started at once: all ready"),
            "ms",
            |h| h.pool_ready_ms,
            None,
            Source::OursOnly,
        ),
        (
            "  host RSS after the burst (its instances idle)".to_owned(),
            "MB",
            |h| h.busy_rss_mb,
            None,
            Source::OursOnly,
        ),
        (
            format!("burst of {burst} on a cold function: all answered (unpinned)"),
            "ms",
            |h| h.burst_s.map(|s| s * 1000.0),
            Some(Target::AtMost(2000.0)),
            Source::OursOnly,
        ),
        (
            "  instances started by the burst".to_owned(),
            "count",
            |h| h.burst_instances,
            None,
            Source::OursOnly,
        ),
        (
            "  burst invocation latency p99".to_owned(),
            "ms",
            |h| h.burst_p99_ms,
            None,
            Source::OursOnly,
        ),
    ];
    for (name, unit, pick, target, source) in rows {
        let not_run = match source {
            Source::Harness if !plan.harness => Some("not run (--load)".to_owned()),
            Source::Wrk => plan.wrk.as_ref().err().cloned(),
            _ => None,
        };
        if let Some(reason) = not_run {
            run.rows.push(Row::skipped(&name, unit, target, &reason));
            continue;
        }
        let row = match ours {
            Ok(hosted) if source == Source::OursOnly => {
                Row::ours_only(&name, unit, pick(hosted), target)
            }
            Ok(hosted) => {
                let theirs_value = theirs.as_ref().ok().and_then(pick);
                let row = Row::new(&name, unit, pick(hosted), theirs_value, target);
                match theirs {
                    Err(reason) => row.baseline_missing(reason),
                    Ok(_) if theirs_value.is_none() => row.baseline_missing("not measured"),
                    Ok(_) => row,
                }
            }
            Err(reason) => Row::skipped(&name, unit, target, reason),
        };
        let row = match ours {
            Ok(hosted) if pick(hosted).is_none() => Row {
                status: Status::Skipped("not measured (see failures)".to_owned()),
                ..row
            },
            _ => row,
        };
        run.rows.push(row);
    }
}

/// Callgrind profiles of both echo loops, from builds that keep their symbols.
async fn profile(
    run: &mut Run,
    root: &Path,
    target_dir: &Path,
    cache: &Path,
    baseline: &Result<Baseline, String>,
    event: &Bytes,
    sizes: &Sizes,
) {
    let Some(valgrind) = callgrind::valgrind() else {
        run.fail("profile", &anyhow::anyhow!("valgrind is not installed"));
        return;
    };
    step("profiling: building with symbols, then callgrind");
    let dir = cache.join("profile");
    let ours = match artifacts::build_ours_with_symbols(root, target_dir) {
        Ok(binary) => binary,
        Err(err) => {
            run.fail("profile build of our echo", &err);
            return;
        }
    };
    let mut subjects = vec![("ours (example-echo)".to_owned(), ours, Protocol::Scf)];
    if let Ok(baseline) = baseline
        && let Ok(with_symbols) =
            artifacts::build_baseline(baseline.project.parent().unwrap_or(cache), true)
    {
        subjects.push((
            "baseline (lambda_runtime, #[tokio::main])".to_owned(),
            with_symbols.echo,
            Protocol::Aws,
        ));
    }
    match host_profile(root, target_dir, cache, &valgrind, event, sizes).await {
        Ok(entry) => run.profile.push(entry),
        Err(err) => {
            run.fail("profiling cargo scf serve", &err);
        }
    }
    for (i, (name, binary, protocol)) in subjects.into_iter().enumerate() {
        let file_name = format!("profile{i}");
        let subject = Subject {
            name: &file_name,
            binary: &binary,
            protocol,
        };
        match count(&valgrind, &subject, event, sizes, &dir).await {
            Ok((small, large, per)) => match callgrind::hot_functions(&small, &large) {
                Ok(mut hot) => {
                    let categories = callgrind::categories(&hot);
                    hot.truncate(30);
                    run.profile.push(ProfileEntry {
                        subject: name,
                        instructions_per_invocation: per,
                        categories,
                        hot,
                    });
                }
                Err(err) => {
                    run.fail(&format!("annotating the profile of {name}"), &err);
                }
            },
            Err(err) => {
                run.fail(&format!("profiling {name}"), &err);
            }
        }
    }
}

/// Callgrind profile of `cargo scf serve` itself: instructions the host spends per warm invocation
/// through its invoke API (one keep-alive client, the echo instance outside callgrind).
async fn host_profile(
    root: &Path,
    target_dir: &Path,
    cache: &Path,
    valgrind: &Path,
    event: &Bytes,
    sizes: &Sizes,
) -> Result<ProfileEntry> {
    let scf = artifacts::build_server_with_symbols(root, target_dir)?;
    let echo = artifacts::build_ours_with_symbols(root, target_dir)?;
    let dir = cache.join("profile");
    let (small, large, per) = host_callgrind(&scf, &echo, valgrind, event, sizes, &dir).await?;
    let runs = [small, large];
    let mut hot = callgrind::hot_functions(&runs[0], &runs[1])?;
    let categories = callgrind::categories(&hot);
    hot.truncate(30);
    Ok(ProfileEntry {
        subject:
            "host (cargo scf serve, per warm invocation through the invoke API; the instance not counted)"
                .to_owned(),
        instructions_per_invocation: per,
        categories,
        hot,
    })
}

/// Runs `cargo scf serve` (`scf`, hosting `echo`) under callgrind twice, for a small and a
/// larger number of warm invocations through its invoke API from one keep-alive client (the
/// instance runs outside callgrind); returns both runs and the instructions per invocation.
async fn host_callgrind(
    scf: &Path,
    echo: &Path,
    valgrind: &Path,
    event: &Bytes,
    sizes: &Sizes,
    dir: &Path,
) -> Result<(callgrind::Run, callgrind::Run, f64)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config = dir.join("scf.toml");
    std::fs::write(&config, serve::scf_config(echo, &dir.join("state"), 1, 1))?;
    // Fewer invocations than the SDK's count: the host runs at callgrind speed in-line.
    let (n1, n2) = (
        sizes.callgrind.0,
        sizes.callgrind.0 + (sizes.callgrind.1 - sizes.callgrind.0) / 10,
    );
    let mut runs = Vec::new();
    for n in [n1, n2] {
        let out = dir.join(format!("callgrind.host.{n}.out"));
        let _ = std::fs::remove_file(&out);
        let log = dir.join(format!("serve.{n}.log"));
        let server =
            serve::start_scf_under(scf, &config, &log, None, Some((valgrind, &out)), "warn")
                .await?;
        let target = LoadTarget {
            addr: server.addr,
            path: serve::scf_invoke_path(WARM_FUNCTION),
            event: event.clone(),
        };
        let count = usize::try_from(n)?;
        load::run_pinned(None, async move { load::latency(&target, 0, count).await })?;
        server
            .process
            .terminate(Duration::from_secs(60))
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("cargo scf serve did not stop on SIGTERM under callgrind")
            })?;
        let text = std::fs::read_to_string(&out)
            .with_context(|| format!("callgrind wrote no {}", out.display()))?;
        let instructions = callgrind::totals(&text)
            .ok_or_else(|| anyhow::anyhow!("{} has no totals line", out.display()))?;
        runs.push(callgrind::Run {
            invocations: n,
            instructions,
            out_file: out,
        });
    }
    let large = runs.pop().expect("two runs");
    let small = runs.pop().expect("two runs");
    let per = callgrind::per_invocation(&small, &large)?;
    Ok((small, large, per))
}

/// The row of the host's instructions per warm invocation (the release `scf`, under callgrind).
fn host_instructions(
    run: &mut Run,
    runtime: &tokio::runtime::Runtime,
    ours: &artifacts::Ours,
    event: &Bytes,
    sizes: &Sizes,
    cache: &Path,
) {
    const NAME: &str = "host instructions / warm invocation (cargo scf serve)";
    let target = Some(Target::AtMost(40_000.0));
    let scf = match &ours.server {
        Ok(scf) => scf,
        Err(reason) => {
            let reason = reason
                .lines()
                .next()
                .unwrap_or("the scf server does not build");
            run.rows.push(Row::skipped(NAME, "instr", target, reason));
            return;
        }
    };
    let Some(valgrind) = callgrind::valgrind() else {
        let reason = "valgrind is not installed (apt-get install valgrind)";
        run.rows.push(Row::skipped(NAME, "instr", target, reason));
        return;
    };
    step("counting the host's instructions per warm invocation under callgrind");
    let dir = cache.join("callgrind-host");
    match runtime.block_on(host_callgrind(
        scf, &ours.echo, &valgrind, event, sizes, &dir,
    )) {
        Ok((_, _, per)) => run
            .rows
            .push(Row::ours_only(NAME, "instr", Some(per), target)),
        Err(err) => {
            let reason = run.fail("callgrind on cargo scf serve", &err);
            run.rows.push(Row::skipped(NAME, "instr", target, &reason));
        }
    }
}

/// The durable async rows: their names, units and targets.
const ASYNC_ROWS: [(&str, &str, Option<Target>); 4] = [
    ("durable async acceptance, 1 client", "ev/s", None),
    (
        "durable async acceptance, 16 clients",
        "ev/s",
        Some(Target::AtLeast(10_000.0)),
    ),
    ("  accept -> completion p50 (16 clients)", "ms", None),
    ("  accept -> completion p99 (16 clients)", "ms", None),
];

/// Durable async acceptance through the invoke API (`X-Scf-Invocation-Type: Event`, each `202`
/// after the event is fsynced), at 1 and 16 clients, unpinned, then the accept-to-completion
/// times of the 16-client run. `cargo lambda watch` keeps no durable queue: no baseline.
async fn async_rows(
    run: &mut Run,
    scf: &Path,
    echo: &Path,
    event: &Bytes,
    sizes: &Sizes,
    cache: &Path,
) {
    step(&format!(
        "cargo scf serve: durable async acceptance at 1 and {} clients, {} ms each (unpinned)",
        sizes.clients, sizes.async_ms
    ));
    let measured = async_session(scf, echo, event, sizes, &cache.join("scf-async")).await;
    match measured {
        Ok((one, many, completion)) => {
            let figures = [Some(one), Some(many), completion.p50(), completion.p99()];
            for ((name, unit, target), value) in ASYNC_ROWS.into_iter().zip(figures) {
                run.rows.push(Row::ours_only(name, unit, value, target));
            }
        }
        Err(err) => {
            let reason = run.fail("durable async acceptance", &err);
            for (name, unit, target) in ASYNC_ROWS {
                run.rows.push(Row::skipped(name, unit, target, &reason));
            }
        }
    }
}

async fn async_session(
    scf: &Path,
    echo: &Path,
    event: &Bytes,
    sizes: &Sizes,
    dir: &Path,
) -> Result<(f64, f64, crate::stats::Samples)> {
    let config = fresh_scf_config(dir, echo, sizes)?;
    let server = serve::start_scf(scf, &config, &dir.join("serve-async.log"), None).await?;
    let log = server.log.clone();
    let target = LoadTarget {
        addr: server.addr,
        path: serve::scf_invoke_path(WARM_FUNCTION),
        event: event.clone(),
    };
    let duration = Duration::from_millis(sizes.async_ms);
    let clients = sizes.clients;
    let patience = Duration::from_secs(120);
    let measured = load::run_pinned(None, async move {
        let one = asyncq::accept(&target, 1, duration).await?;
        asyncq::completion(&target, WARM_FUNCTION, &one.ids, patience).await?;
        let many = asyncq::accept(&target, clients, duration).await?;
        let completion = asyncq::completion(&target, WARM_FUNCTION, &many.ids, patience).await?;
        Ok((one.rate, many.rate, completion))
    })
    .with_context(|| format!("log: {}", log.display()));
    let _ = server.process.terminate(Duration::from_secs(10)).await;
    measured
}
