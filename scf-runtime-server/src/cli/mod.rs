//! The `scf` command line. `main.rs` only calls [`main`].
//!
//! Every subcommand is a variant of [`Command`] with its arguments struct (in the subcommand's
//! own module), dispatched in [`run`]:
//!
//! | Subcommand | Arguments | Entry point | What it does |
//! |---|---|---|---|
//! | `cargo scf serve` | [`ServeArgs`] | [`serve::serve`] | hosts the functions of an `scf.toml` |
//! | `cargo scf new` | [`NewArgs`] | [`run_new`] | a ready project: Cargo.toml, an annotated handler, a fixture test, an `scf.toml` |
//! | `cargo scf build` | [`BuildArgs`] | [`run_build`] | builds for SCF (static musl, glibc 2.17 via zigbuild, or native) and verifies the binary |
//! | `cargo scf package` | [`PackageArgs`] | [`run_package`] | a reproducible `bootstrap.zip` with `bootstrap` (mode 0755) at its root |
//! | `cargo scf invoke` | [`InvokeArgs`] | [`run_invoke`] | one invocation, printed for humans: on a running `cargo scf serve`, or the bootstrap run once here when none runs |
//! | `cargo scf dev` | [`DevArgs`] | [`run_dev`] | rebuilds on source changes while a server hosts the function |
//! | `cargo scf events` / `cargo scf dlq` | [`EventsArgs`] / [`DlqArgs`] | [`run_events`] / [`run_dlq`] | lists, shows, aborts, replays and purges async events |
//! | `cargo scf deploy` | [`DeployArgs`] | [`run_deploy`] | builds, packages and creates or updates functions on SCF (or a local `cargo scf serve`) through the Cloud API, after printing the plan |
//! | `cargo scf logs` | [`LogsArgs`] | [`run_logs`] | a deployed function's invocations and logs (`GetFunctionLogs`), `--follow` |
//! | `cargo scf info` | [`InfoArgs`] | [`run_info`] | a deployed function: settings, status, versions, aliases, triggers |
//! | `cargo scf remove` | [`RemoveArgs`] | [`run_remove`] | deletes a deployed function, after a confirmation or `--yes` |
//!
//! The Cloud API client the last four share (endpoint, TC3 signing, credentials as Tencent's
//! tools find them) is [`cloud`].
//!
//! The checks behind `cargo scf build` are a library of their own: [`verify::verify`] reads an ELF and
//! answers with a [`VerifyReport`] that names every reason the binary would not start on SCF's
//! CentOS 7 image (glibc 2.17).
//!
//! `cargo scf …` works too: cargo runs a binary named `cargo-scf` with `scf` as its first
//! argument, and [`strip_cargo_subcommand`] drops it.

mod allocator;
pub mod build;
pub mod cargo;
pub(crate) mod client;
pub mod cloud;
pub mod deploy;
pub mod dev;
pub mod events;
pub mod info;
pub mod invoke;
pub mod logs;
pub mod new;
pub mod package;
pub mod remove;
pub mod serve;
pub mod verify;

pub use build::{BuildArgs, BuildTarget, run_build};
pub use deploy::{DeployArgs, run_deploy};
pub use dev::{DevArgs, run_dev};
pub use events::{DlqArgs, EventsArgs, run_dlq, run_events};
pub use info::{InfoArgs, run_info};
pub use invoke::{InvokeArgs, run_invoke};
pub use logs::{LogsArgs, run_logs};
pub use new::{NewArgs, Trigger, run_new};
pub use package::{PackageArgs, run_package};
pub use remove::{RemoveArgs, run_remove};
pub use serve::ServeArgs;
use std::process::ExitCode;
pub use verify::{VerifyOptions, VerifyReport, verify};

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::fmt;

/// Write, build and host Tencent Cloud SCF functions.
#[derive(Debug, Parser)]
#[command(name = "cargo-scf", bin_name = "cargo scf", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Host the functions of an scf.toml: invoke API, Cloud API, triggers, /metrics, /status.
    #[command(
        after_help = "Examples:\n  cargo scf serve\n  cargo scf serve --config path/to/scf.toml --listen 127.0.0.1:0"
    )]
    Serve(ServeArgs),
    /// Create a function project: Cargo.toml, an annotated handler, a fixture test, an scf.toml.
    New(crate::cli::NewArgs),
    /// Build a function for SCF (static musl, glibc 2.17 or native) and verify the binary.
    Build(crate::cli::BuildArgs),
    /// Zip a built function as `<target dir>/scf/<package>/bootstrap.zip`, ready to upload.
    Package(crate::cli::PackageArgs),
    /// Invoke a function with a sample event, JSON or a file: on a running `cargo scf serve`, or once
    /// right here when none runs.
    Invoke(crate::cli::InvokeArgs),
    /// Serve and watch: rebuild on source changes and restart the server on the same address.
    Dev(crate::cli::DevArgs),
    /// List, show and abort async events (on the running server, or its state folder).
    #[command(
        after_help = "Examples:\n  cargo scf events list --status FAILED\n  cargo scf events show 6f1c…\n  cargo scf events list --remote http://127.0.0.1:9000 --json"
    )]
    Events(crate::cli::events::EventsArgs),
    /// List, replay and purge dead-lettered async events.
    #[command(
        after_help = "Examples:\n  cargo scf dlq list\n  cargo scf dlq replay --function echo\n  cargo scf dlq purge 6f1c… 83ab…"
    )]
    Dlq(crate::cli::events::DlqArgs),
    /// Build, package and create or update functions on SCF (or a local `cargo scf serve`),
    /// showing the plan first.
    Deploy(crate::cli::DeployArgs),
    /// Show a deployed function's invocations and logs.
    Logs(crate::cli::LogsArgs),
    /// Show a deployed function: settings, status, versions, aliases, triggers.
    Info(crate::cli::InfoArgs),
    /// Delete a deployed function.
    Remove(crate::cli::RemoveArgs),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .on_thread_park(allocator::on_park)
                .build()?;
            runtime.block_on(crate::cli::serve::serve(args))?;
            Ok(())
        }
        Command::New(args) => crate::cli::run_new(&args).map(drop).map_err(Into::into),
        Command::Build(args) => crate::cli::run_build(&args).map(drop).map_err(Into::into),
        Command::Package(args) => crate::cli::run_package(&args).map(drop).map_err(Into::into),
        Command::Invoke(args) => crate::cli::run_invoke(&args).map(drop).map_err(Into::into),
        Command::Dev(args) => crate::cli::run_dev(&args).map_err(Into::into),
        Command::Events(args) => crate::cli::events::run_events(&args).map_err(Into::into),
        Command::Dlq(args) => crate::cli::events::run_dlq(&args).map_err(Into::into),
        Command::Deploy(args) => crate::cli::run_deploy(&args).map(drop).map_err(Into::into),
        Command::Logs(args) => crate::cli::run_logs(&args).map_err(Into::into),
        Command::Info(args) => crate::cli::run_info(&args).map(drop).map_err(Into::into),
        Command::Remove(args) => crate::cli::run_remove(&args).map_err(Into::into),
    }
}

/// The whole `scf` program: arguments, logging, then [`run`].
pub fn main() -> ExitCode {
    // `cargo scf …` runs `cargo-scf scf …`.
    let cli = Cli::parse_from(crate::cli::strip_cargo_subcommand(std::env::args_os()));
    // `serve` logs to stdout like the platform's log stream; every other command keeps stdout
    // for its own output (JSON included) and logs to stderr.
    init_tracing(matches!(cli.command, Command::Serve(_)));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stdout or stderr; `RUST_LOG` filters (default `info`, the Kafka client at `warn`).
fn init_tracing(to_stdout: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rskafka=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    let _ = if to_stdout {
        builder.with_writer(std::io::stdout).try_init()
    } else {
        builder.with_writer(std::io::stderr).try_init()
    };
}

/// An error from one of the tools: a message for the user that says what was wrong and where,
/// and usually what to do about it.
#[derive(Debug)]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolError {}

/// Drops the extra `scf` argument cargo passes when the binary runs as `cargo scf …`
/// (cargo calls `cargo-scf scf …`), so the same parser serves both spellings.
///
/// ```
/// use scf_runtime_server::cli::strip_cargo_subcommand;
/// let args = strip_cargo_subcommand(["cargo-scf", "scf", "build"]);
/// assert_eq!(args, ["cargo-scf", "build"]);
/// let args = strip_cargo_subcommand(["cargo-scf", "build"]);
/// assert_eq!(args, ["cargo-scf", "build"]);
/// ```
pub fn strip_cargo_subcommand<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_some_and(|a| a == "scf") {
        args.remove(1);
    }
    args
}
