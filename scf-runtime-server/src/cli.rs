//! The `scf` command line. `main.rs` only calls [`main`].
//!
//! Every subcommand is a variant of [`Command`] with its arguments struct, dispatched in [`run`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Write, build and host Tencent Cloud SCF functions.
#[derive(Debug, Parser)]
#[command(name = "scf", version, about)]
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
        after_help = "Examples:\n  scf serve\n  scf serve --config path/to/scf.toml --listen 127.0.0.1:0"
    )]
    Serve(ServeArgs),
    /// Create a function project: Cargo.toml, an annotated handler, a fixture test, an scf.toml.
    New(crate::tools::NewArgs),
    /// Build a function for SCF (static musl, glibc 2.17 or native) and verify the binary.
    Build(crate::tools::BuildArgs),
    /// Zip a built function as `<target dir>/scf/<package>/bootstrap.zip`, ready to upload.
    Package(crate::tools::PackageArgs),
    /// Invoke a function with a sample event, JSON or a file: on a running `scf serve`, or once
    /// right here when none runs.
    Invoke(crate::tools::InvokeArgs),
    /// Serve and watch: rebuild on source changes and restart the server on the same address.
    Dev(crate::tools::DevArgs),
    /// List, show and abort async events (on the running server, or its state folder).
    #[command(
        after_help = "Examples:\n  scf events list --status FAILED\n  scf events show 6f1c…\n  scf events list --remote http://127.0.0.1:9000 --json"
    )]
    Events(crate::async_cli::EventsArgs),
    /// List, replay and purge dead-lettered async events.
    #[command(
        after_help = "Examples:\n  scf dlq list\n  scf dlq replay --function echo\n  scf dlq purge 6f1c… 83ab…"
    )]
    Dlq(crate::async_cli::DlqArgs),
}

/// `scf serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The config file.
    #[arg(long, short, default_value = "scf.toml")]
    pub config: PathBuf,
    /// Listen address, overriding `server.listen` (port 0 picks a free port; the address is
    /// printed as `scf serve listening on http://ADDR`).
    #[arg(long, short)]
    pub listen: Option<SocketAddr>,
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(crate::serve::serve(args))?;
            Ok(())
        }
        Command::New(args) => crate::tools::run_new(&args).map(drop).map_err(Into::into),
        Command::Build(args) => crate::tools::run_build(&args).map(drop).map_err(Into::into),
        Command::Package(args) => crate::tools::run_package(&args)
            .map(drop)
            .map_err(Into::into),
        Command::Invoke(args) => crate::tools::run_invoke(&args)
            .map(drop)
            .map_err(Into::into),
        Command::Dev(args) => crate::tools::run_dev(&args).map_err(Into::into),
        Command::Events(args) => crate::async_cli::run_events(&args).map_err(Into::into),
        Command::Dlq(args) => crate::async_cli::run_dlq(&args).map_err(Into::into),
    }
}

/// The whole `scf` program: arguments, logging, then [`run`].
pub fn main() -> ExitCode {
    // `cargo scf …` runs `cargo-scf scf …`.
    let cli = Cli::parse_from(crate::tools::strip_cargo_subcommand(std::env::args_os()));
    init_tracing();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stdout; `RUST_LOG` filters (default `info`, the Kafka client at `warn`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rskafka=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .try_init();
}
