//! Build, verify, package and scaffold tools behind `scf build|package|new|invoke|dev`.
//!
//! Each subcommand has a clap argument struct and a `run_*` entry point here, so the `scf`
//! binary only parses and dispatches:
//!
//! | Subcommand | Arguments | Entry point | What it does |
//! |---|---|---|---|
//! | `scf new` | [`NewArgs`] | [`run_new`] | a ready project: Cargo.toml, an annotated handler, a fixture test, an `scf.toml` |
//! | `scf build` | [`BuildArgs`] | [`run_build`] | builds for SCF (static musl, glibc 2.17 via zigbuild, or native) and verifies the binary |
//! | `scf package` | [`PackageArgs`] | [`run_package`] | a reproducible `bootstrap.zip` with `bootstrap` (mode 0755) at its root |
//! | `scf invoke` | [`InvokeArgs`] | [`run_invoke`] | one invocation, printed for humans: on a running `scf serve`, or the bootstrap run once here when none runs |
//! | `scf dev` | [`DevArgs`] | [`run_dev`] | rebuilds on source changes while a server hosts the function |
//!
//! The checks behind `scf build` are a library of their own: [`verify::verify`] reads an ELF and
//! answers with a [`VerifyReport`] that names every reason the binary would not start on SCF's
//! CentOS 7 image (glibc 2.17).
//!
//! `cargo scf …` works too: cargo runs a binary named `cargo-scf` with `scf` as its first
//! argument, and [`strip_cargo_subcommand`] drops it. Link or copy the installed `scf` binary as
//! `cargo-scf` next to it (`ln -s "$(command -v scf)" ~/.cargo/bin/cargo-scf`).

pub mod build;
pub(crate) mod cargo;
pub mod dev;
pub mod invoke;
pub mod new;
pub mod package;
pub mod verify;

pub use build::{BuildArgs, BuildTarget, run_build};
pub use dev::{DevArgs, run_dev};
pub use invoke::{InvokeArgs, run_invoke};
pub use new::{NewArgs, Trigger, run_new};
pub use package::{PackageArgs, run_package};
pub use verify::{VerifyOptions, VerifyReport, verify};

use std::ffi::OsString;
use std::fmt;

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
/// use scf_runtime_server::tools::strip_cargo_subcommand;
/// let args = strip_cargo_subcommand(["cargo-scf", "scf", "build"]);
/// assert_eq!(args, ["cargo-scf", "build"]);
/// let args = strip_cargo_subcommand(["scf", "build"]);
/// assert_eq!(args, ["scf", "build"]);
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
