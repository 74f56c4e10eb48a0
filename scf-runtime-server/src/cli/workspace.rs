//! Building `package = "…"` functions: `cargo build --release -p <package>` and finding the binary
//! in the workspace's target directory (as `cargo metadata` reports it, so `CARGO_TARGET_DIR` and
//! `build.target-dir` are honoured).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A failed build or lookup, with what cargo said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The target directory of the workspace around `dir`.
pub fn target_dir(dir: &Path) -> Result<PathBuf, BuildError> {
    let output = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(dir)
        .output()
        .map_err(|e| BuildError(format!("cannot run cargo metadata: {e}")))?;
    if !output.status.success() {
        return Err(BuildError(format!(
            "cargo metadata failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| BuildError(format!("cargo metadata printed something unexpected: {e}")))?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| BuildError("cargo metadata gave no target_directory".to_owned()))
}

/// Builds `package` in release mode from `dir` and returns its binary (named like the package).
pub fn build_release(package: &str, dir: &Path) -> Result<PathBuf, BuildError> {
    let status = Command::new(cargo())
        .args(["build", "--release", "-p", package])
        .current_dir(dir)
        .status()
        .map_err(|e| BuildError(format!("cannot run cargo build: {e}")))?;
    if !status.success() {
        return Err(BuildError(format!(
            "`cargo build --release -p {package}` failed ({status}); fix the build errors above, or point the function at an executable with `bootstrap = \"…\"`"
        )));
    }
    let binary = target_dir(dir)?.join("release").join(package);
    if !binary.is_file() {
        return Err(BuildError(format!(
            "`cargo build --release -p {package}` succeeded but {} does not exist (the package's binary must be named {package})",
            binary.display()
        )));
    }
    Ok(binary)
}
