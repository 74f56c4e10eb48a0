//! Project automation for scf-rs.
//!
//! `cargo run --release -p xtask -- bench [--smoke] [--json out.json]` builds the echo
//! bootstrap and the runtime server in release, measures them side by side with the
//! Rust-on-Lambda baseline (`lambda_runtime` under `cargo lambda watch`), and prints a table
//! of figures, ratios and targets. BENCHMARKS.md at the repository root describes every row.
//!
//! `cargo run --release -p xtask -- soak [--minutes 30]` runs the server under mixed traffic and
//! reports its memory, descriptors, store size, latency and async totals over time.
//!
//! `cargo run -p xtask -- modules` checks that no workspace crate has a module-level import
//! cycle (see the `modules` module for the rule).

mod artifacts;
mod asyncq;
mod bench;
mod callgrind;
mod coldstart;
mod host;
mod isolation;
mod load;
mod modules;
mod procs;
mod report;
mod serve;
mod soak;
mod stats;
mod wrk;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Project automation for scf-rs.
#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure our SDK and host side by side with the lambda_runtime / cargo lambda baseline.
    Bench(bench::Options),
    /// Check every workspace crate for module-level import cycles.
    Modules,
    /// Run `cargo scf serve` under mixed traffic for a long time and report what must stay flat.
    Soak(soak::Options),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Bench(options) => bench::run(options),
        Command::Modules => modules::run(&workspace_root()),
        Command::Soak(options) => soak::run(options),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The repository root (the directory of the workspace's Cargo.toml).
fn workspace_root() -> PathBuf {
    // xtask/ sits directly under the root.
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
