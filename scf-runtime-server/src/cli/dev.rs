//! `cargo scf dev`: `cargo scf serve` plus a watcher.
//!
//! It hosts the config's functions with `cargo scf serve` as a child process and polls the sources:
//! the directories of every `package = "…"` function (its `src/`, `Cargo.toml`, `build.rs`),
//! every `bootstrap = "…"` file and the config itself. On a change it rebuilds the packages in
//! the fast profile ([`HostProfile::Fast`]: release without LTO, incremental, a few seconds per
//! edit; `--release` for the LTO build SCF runs), the same way the server it runs builds them at
//! start (`cargo scf serve --profile fast`), while the running server keeps answering with
//! the previous build; a build error is printed and changes nothing. After a good build the
//! server is sent SIGHUP and keeps running: idle instances are replaced at once, busy ones after
//! their current invocation, so nothing in flight or queued (async events included) is lost and
//! the address never goes away (web functions likewise: busy instances finish their requests).
//! When the config itself changed, the server is instead stopped gracefully and started again
//! on the same address.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;

use super::ToolError;
use super::cargo::{HostProfile, Metadata, cargo_program};

/// Arguments of `cargo scf dev`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf dev                                   host ./scf.toml, rebuild and reload on changes
  cargo scf dev --config fns/scf.toml --listen 127.0.0.1:9100

Edit a handler and save: the package is rebuilt while the server keeps serving the previous
build; build errors are shown and the server stays up. Stop with Ctrl-C.")]
pub struct DevArgs {
    /// The config file.
    #[arg(long, short, default_value = "scf.toml", value_name = "FILE")]
    pub config: PathBuf,
    /// Listen address, overriding `server.listen` (kept across restarts).
    #[arg(long, short, value_name = "ADDR")]
    pub listen: Option<String>,
    /// How often to look for changes, in milliseconds.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub poll_ms: u64,
    /// More files or directories to watch (repeatable).
    #[arg(long, value_name = "PATH")]
    pub watch: Vec<PathBuf>,
    /// Build the packages with their release profile (LTO) instead of the fast one (release
    /// without LTO, incremental): slower per edit, exactly what SCF would run.
    #[arg(long)]
    pub release: bool,
}

/// What the watcher follows for one config.
#[derive(Debug, Clone, Default)]
struct Watched {
    /// Workspace packages to rebuild on a change.
    packages: Vec<String>,
    /// Paths (files or directories) whose contents are watched.
    paths: Vec<PathBuf>,
    /// Where to run cargo.
    cargo_dir: PathBuf,
}

/// Runs `cargo scf dev` until the server cannot be restarted or the process is interrupted.
pub fn run_dev(args: &DevArgs) -> Result<(), ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    let config = cwd.join(&args.config);
    let mut watched = watched_paths(&config)?;
    watched.paths.extend(args.watch.iter().map(|p| cwd.join(p)));
    let exe = std::env::current_exe()
        .map_err(|e| ToolError::new(format!("cannot find the scf executable: {e}")))?;

    let profile = if args.release {
        HostProfile::Release
    } else {
        HostProfile::Fast
    };
    let mut listen = args.listen.clone();
    let (mut server, mut addr_rx) = start_server(&exe, &config, listen.as_deref(), profile)?;
    let mut signature = snapshot(&watched.paths);
    let poll = Duration::from_millis(args.poll_ms.max(50));
    let mut stopped = false;
    loop {
        std::thread::sleep(poll);
        if let Ok(addr) = addr_rx.try_recv() {
            listen = Some(addr);
        }
        if !stopped && let Ok(Some(status)) = server.try_wait() {
            stopped = true;
            println!(
                "cargo scf dev: the server stopped ({status}); waiting for a change to start it again"
            );
        }
        let now = snapshot(&watched.paths);
        if now == signature {
            continue;
        }
        // Let an editor finish writing, then take the settled state.
        std::thread::sleep(Duration::from_millis(150));
        let settled = snapshot(&watched.paths);
        let changed = describe_change(&signature, &settled);
        let config_changed = signature.get(&config) != settled.get(&config);
        signature = settled;
        println!("cargo scf dev: change detected{changed}");
        // The config is read again: it may name other packages or files now.
        watched = match watched_paths(&config) {
            Ok(mut w) => {
                w.paths.extend(args.watch.iter().map(|p| cwd.join(p)));
                w
            }
            Err(e) => {
                println!("cargo scf dev: {e}\ncargo scf dev: keeping the running server");
                continue;
            }
        };
        signature = snapshot(&watched.paths);
        if !watched.packages.is_empty() && !rebuild(&watched, profile) {
            println!(
                "cargo scf dev: build failed (errors above); still serving the previous build"
            );
            continue;
        }
        if !stopped && !config_changed {
            // Same config: the server stays up and rolls its instances over to the new build.
            if signal(&server, nix::sys::signal::Signal::SIGHUP) {
                println!(
                    "cargo scf dev: reloading: new invocations run the new build (the server keeps running)"
                );
                continue;
            }
        }
        println!("cargo scf dev: restarting cargo scf serve");
        stop_server(&mut server);
        match start_server(&exe, &config, listen.as_deref(), profile) {
            Ok((s, rx)) => {
                server = s;
                addr_rx = rx;
                stopped = false;
            }
            Err(e) => println!("cargo scf dev: {e}"),
        }
    }
}

/// Reads the config's functions: packages to rebuild and paths to watch.
fn watched_paths(config: &Path) -> Result<Watched, ToolError> {
    let text = std::fs::read_to_string(config).map_err(|e| {
        ToolError::new(format!(
            "cannot read {}: {e} (cargo scf dev hosts the functions of an scf.toml; see `cargo scf new`)",
            config.display()
        ))
    })?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| ToolError::new(format!("{}: {e}", config.display())))?;
    let base = config.parent().unwrap_or(Path::new(".")).to_owned();
    let mut watched = Watched {
        cargo_dir: base.clone(),
        paths: vec![config.to_owned()],
        ..Watched::default()
    };
    let functions = table.get("functions").and_then(|f| f.as_table());
    for (_, function) in functions.into_iter().flatten() {
        if let Some(package) = function.get("package").and_then(|p| p.as_str()) {
            watched.packages.push(package.to_owned());
        }
        if let Some(bootstrap) = function.get("bootstrap").and_then(|b| b.as_str()) {
            watched.paths.push(base.join(bootstrap));
        }
    }
    if !watched.packages.is_empty() {
        let metadata = Metadata::load(&base, None, None)?;
        for name in &watched.packages {
            let package = metadata.package(Some(name), &base)?;
            let dir = package.dir();
            for sub in ["src", "Cargo.toml", "build.rs", "examples", "benches"] {
                watched.paths.push(dir.join(sub));
            }
        }
        watched.cargo_dir = metadata.workspace_root.clone();
    }
    Ok(watched)
}

/// Modification times of every file under `paths` (directories recursively, `target` skipped).
fn snapshot(paths: &[PathBuf]) -> BTreeMap<PathBuf, SystemTime> {
    let mut files = BTreeMap::new();
    for path in paths {
        collect(path, &mut files, 0);
    }
    files
}

fn collect(path: &Path, files: &mut BTreeMap<PathBuf, SystemTime>, depth: usize) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_dir() {
        if depth > 12
            || path
                .file_name()
                .is_some_and(|n| n == "target" || n == ".git")
        {
            return;
        }
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                collect(&entry.path(), files, depth + 1);
            }
        }
    } else {
        files.insert(
            path.to_owned(),
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        );
    }
}

fn describe_change(
    before: &BTreeMap<PathBuf, SystemTime>,
    after: &BTreeMap<PathBuf, SystemTime>,
) -> String {
    let changed: Vec<&PathBuf> = after
        .iter()
        .filter(|(p, t)| before.get(*p) != Some(*t))
        .map(|(p, _)| p)
        .chain(before.keys().filter(|p| !after.contains_key(*p)))
        .collect();
    match changed.as_slice() {
        [] => String::new(),
        [one] => format!(": {}", one.display()),
        [first, rest @ ..] => format!(": {} and {} more", first.display(), rest.len()),
    }
}

/// `cargo build -p …` in `profile` with a progress line; true when it succeeded.
fn rebuild(watched: &Watched, profile: HostProfile) -> bool {
    let started = Instant::now();
    println!(
        "cargo scf dev: building {} ({} profile)…",
        watched.packages.join(", "),
        profile.dir()
    );
    let _ = std::io::stdout().flush();
    let mut cmd = Command::new(cargo_program());
    cmd.arg("build")
        .args(profile.cargo_args())
        .current_dir(&watched.cargo_dir);
    for package in &watched.packages {
        cmd.arg("-p").arg(package);
    }
    let ok = cmd.status().map(|s| s.success()).unwrap_or(false);
    if ok {
        println!(
            "cargo scf dev: built in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    ok
}

/// Starts `cargo scf serve`, forwarding its output; the receiver gets the address it listens on.
fn start_server(
    exe: &Path,
    config: &Path,
    listen: Option<&str>,
    profile: HostProfile,
) -> Result<(Child, mpsc::Receiver<String>), ToolError> {
    // The server (and its instances) die with us even when we are killed.
    let mut cmd = Command::new(exe);
    crate::host::process::die_with_us(&mut cmd);
    cmd.arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--profile")
        .arg(match profile {
            HostProfile::Release => "release",
            HostProfile::Fast => "fast",
        });
    if let Some(listen) = listen {
        cmd.arg("--listen").arg(listen);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| ToolError::new(format!("cannot start cargo scf serve: {e}")))?;
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.split("cargo scf serve listening on http://").nth(1) {
                    let _ = tx.send(addr.trim().to_owned());
                }
                println!("{line}");
            }
        });
    }
    Ok((child, rx))
}

/// Sends `sig` to the server; whether it was delivered.
fn signal(child: &Child, sig: nix::sys::signal::Signal) -> bool {
    i32::try_from(child.id())
        .is_ok_and(|pid| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).is_ok())
}

/// SIGTERM (graceful: busy instances finish), then SIGKILL after 15 s.
fn stop_server(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        signal(child, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
    }
    let _ = child.wait();
}
