//! Building what the benchmarks run: our echo bootstrap and `scf` server (release), the
//! baseline `lambda_runtime` echo (a tiny Cargo project generated in the cache folder), and
//! `cargo lambda` (installed into the cache folder from the crate registry).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, anyhow, bail};

/// The `lambda_runtime` release line the baseline is built against.
pub(crate) const LAMBDA_RUNTIME_REQ: &str = "1";
/// The `cargo-lambda` version installed for the baseline host.
pub(crate) const CARGO_LAMBDA_VERSION: &str = "1.9.2";

/// The baseline's canonical binary: `#[tokio::main]` + `tracing::init_default_subscriber()`,
/// as in the `lambda_runtime` README and examples.
pub(crate) const BASELINE_BIN: &str = "baseline-echo";
/// The same handler on a current-thread tokio runtime (to separate the scheduler's share).
pub(crate) const BASELINE_CT_BIN: &str = "baseline-echo-ct";

/// The cargo that runs us (`cargo run` sets `CARGO`), or the one on `PATH`.
pub(crate) fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The workspace's target directory, as cargo resolves it (honours `CARGO_TARGET_DIR`).
pub(crate) fn target_dir(root: &Path) -> Result<PathBuf> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run `cargo metadata`")?;
    if !output.status.success() {
        bail!("`cargo metadata` failed ({})", output.status);
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("`cargo metadata` printed invalid JSON")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("`cargo metadata` has no target_directory"))
}

/// Runs `cargo build --release` for `packages` in the workspace, into `target_dir`, with
/// extra environment (profile overrides). Cargo's progress goes to our stderr.
pub(crate) fn cargo_build(
    root: &Path,
    target_dir: &Path,
    packages: &[&str],
    env: &[(&str, &str)],
) -> Result<()> {
    let mut command = Command::new(cargo());
    command
        .args(["build", "--release", "--quiet"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let status = command
        .status()
        .with_context(|| format!("cannot run cargo build for {packages:?}"))?;
    if !status.success() {
        bail!(
            "`cargo build --release -p {}` failed ({status})",
            packages.join(" -p ")
        );
    }
    Ok(())
}

/// Our release binaries.
#[derive(Debug, Clone)]
pub(crate) struct Ours {
    /// `example-echo`.
    pub(crate) echo: PathBuf,
    /// `scf` (the runtime server), or why it could not be built.
    pub(crate) server: Result<PathBuf, String>,
}

/// The profile overrides of a quick build (smoke runs): no LTO, parallel codegen. Such a
/// build lands in its own target directory so the benchmark build is not redone.
const QUICK: [(&str, &str); 2] = [
    ("CARGO_PROFILE_RELEASE_LTO", "false"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
];

/// Builds `example-echo` and the `scf` server in release (`quick`: without LTO, into
/// `<target>/bench-quick`). A server that does not build (yet) is reported, not fatal: the
/// benchmarks that need it are skipped.
pub(crate) fn build_ours(root: &Path, target_dir: &Path, quick: bool) -> Result<Ours> {
    let (dir, env): (PathBuf, &[(&str, &str)]) = if quick {
        (target_dir.join("bench-quick"), &QUICK)
    } else {
        (target_dir.to_owned(), &[])
    };
    let release = dir.join("release");
    let echo = release.join("example-echo");
    // The echo on its own: built in one cargo run with the server, feature unification would
    // give it the server's features (tokio's multi-thread scheduler, process, signal, ...) and
    // measure a bigger, slower bootstrap than the one a user builds.
    cargo_build(root, &dir, &["example-echo"], env)?;
    let server = match cargo_build(root, &dir, &["scf-runtime-server"], env) {
        Ok(()) => Ok(release.join("cargo-scf")),
        Err(err) => Err(format!("the scf server does not build: {err}")),
    };
    Ok(Ours { echo, server })
}

/// The target triple of static musl builds (what `cargo scf package` ships by default).
pub(crate) const MUSL: &str = "x86_64-unknown-linux-musl";

/// Builds `example-echo` for static musl, when the toolchain has that target.
pub(crate) fn build_ours_musl(root: &Path, target_dir: &Path) -> Result<PathBuf> {
    let libdir = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", MUSL])
        .output()
        .context("cannot run rustc")?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&libdir.stdout).trim());
    if !libdir.is_dir() {
        bail!("the {MUSL} target is not installed (rustup target add {MUSL})");
    }
    let mut command = Command::new(cargo());
    command
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "example-echo",
            "--target",
            MUSL,
        ])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", target_dir);
    let status = command.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("`cargo build --release -p example-echo --target {MUSL}` failed ({status})");
    }
    Ok(target_dir.join(MUSL).join("release").join("example-echo"))
}

/// Builds an unstripped `example-echo` (symbols kept, for profiles) into its own target
/// directory so the stripped build is not rebuilt.
pub(crate) fn build_ours_with_symbols(root: &Path, target_dir: &Path) -> Result<PathBuf> {
    let dir = target_dir.join("bench-symbols");
    cargo_build(
        root,
        &dir,
        &["example-echo"],
        &[("CARGO_PROFILE_RELEASE_STRIP", "false")],
    )?;
    Ok(dir.join("release").join("example-echo"))
}

/// Builds an unstripped `scf` server (symbols kept, for profiles) beside
/// [`build_ours_with_symbols`]'s echo.
pub(crate) fn build_server_with_symbols(root: &Path, target_dir: &Path) -> Result<PathBuf> {
    let dir = target_dir.join("bench-symbols");
    cargo_build(
        root,
        &dir,
        &["scf-runtime-server"],
        &[("CARGO_PROFILE_RELEASE_STRIP", "false")],
    )?;
    Ok(dir.join("release").join("cargo-scf"))
}

/// The baseline project in the cache folder.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    /// The project directory (holds Cargo.toml).
    pub(crate) project: PathBuf,
    /// Its target directory.
    pub(crate) target_dir: PathBuf,
    /// The canonical echo bootstrap.
    pub(crate) echo: PathBuf,
    /// The current-thread variant.
    pub(crate) echo_ct: PathBuf,
}

const BASELINE_MANIFEST: &str = r#"# Generated by `cargo xtask bench`: the Rust-on-Lambda baseline, an echo function on
# lambda_runtime, built with the same release profile as scf-rs's examples.
[package]
name = "baseline-echo"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
lambda_runtime = "@LAMBDA_RUNTIME@"
serde_json = "1"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

[profile.release]
lto = true
codegen-units = 1
strip = true
panic = "unwind"

[workspace]
"#;

const BASELINE_MAIN: &str = r#"//! Echo on lambda_runtime, written as its README shows: answers every event with itself.
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::Value;

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(echo)).await
}
"#;

const BASELINE_CT_MAIN: &str = r#"//! The same echo on a current-thread tokio runtime.
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::Value;

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(echo)).await
}
"#;

/// Writes `contents` to `path` unless it already holds exactly that (keeps mtimes, so
/// cargo does not rebuild).
fn write_if_changed(path: &Path, contents: &str) -> Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

/// Generates the baseline project under `cache` and builds it in release.
pub(crate) fn build_baseline(cache: &Path, symbols: bool) -> Result<Baseline> {
    let project = cache.join("baseline-echo");
    write_if_changed(
        &project.join("Cargo.toml"),
        &BASELINE_MANIFEST.replace("@LAMBDA_RUNTIME@", LAMBDA_RUNTIME_REQ),
    )?;
    write_if_changed(
        &project.join("src/bin").join(format!("{BASELINE_BIN}.rs")),
        BASELINE_MAIN,
    )?;
    write_if_changed(
        &project
            .join("src/bin")
            .join(format!("{BASELINE_CT_BIN}.rs")),
        BASELINE_CT_MAIN,
    )?;
    let target_dir = if symbols {
        project.join("target-symbols")
    } else {
        project.join("target")
    };
    let mut command = Command::new(cargo());
    command
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target_dir);
    if symbols {
        command.env("CARGO_PROFILE_RELEASE_STRIP", "false");
    }
    let status = command
        .status()
        .context("cannot run cargo build for the baseline")?;
    if !status.success() {
        bail!(
            "building the lambda_runtime baseline in {} failed ({status}); is crates.io reachable?",
            project.display()
        );
    }
    let release = target_dir.join("release");
    Ok(Baseline {
        echo: release.join(BASELINE_BIN),
        echo_ct: release.join(BASELINE_CT_BIN),
        project,
        target_dir,
    })
}

/// The `cargo-lambda` binary in the cache, installing it first when `install` is set.
pub(crate) fn cargo_lambda(cache: &Path, install: bool) -> Result<PathBuf> {
    let root = cache.join("cargo-lambda");
    let binary = root.join("bin").join("cargo-lambda");
    if binary.is_file() {
        return Ok(binary);
    }
    if !install {
        bail!(
            "cargo-lambda is not installed in {} (the smoke run never installs it)",
            root.display()
        );
    }
    eprintln!(
        "installing cargo-lambda {CARGO_LAMBDA_VERSION} into {} (once; this compile is long)",
        root.display()
    );
    let status = Command::new(cargo())
        .args([
            "install",
            "cargo-lambda",
            "--locked",
            "--version",
            CARGO_LAMBDA_VERSION,
        ])
        .arg("--root")
        .arg(&root)
        .arg("--target-dir")
        .arg(cache.join("cargo-lambda-build"))
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .context("cannot run cargo install")?;
    if !status.success() || !binary.is_file() {
        bail!("`cargo install cargo-lambda --version {CARGO_LAMBDA_VERSION}` failed ({status})");
    }
    Ok(binary)
}

/// The size in bytes of `binary` once stripped of all symbols (a stripped copy is made in
/// `scratch`; when `strip` is missing, the file's own size).
pub(crate) fn stripped_size(binary: &Path, scratch: &Path) -> Result<u64> {
    std::fs::create_dir_all(scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let name = binary
        .file_name()
        .ok_or_else(|| anyhow!("{} has no file name", binary.display()))?;
    let copy = scratch.join(name);
    std::fs::copy(binary, &copy)
        .with_context(|| format!("cannot copy {} to {}", binary.display(), copy.display()))?;
    // Best effort: the release profile strips already.
    let _ = Command::new("strip")
        .arg("--strip-all")
        .arg(&copy)
        .stderr(Stdio::null())
        .status();
    Ok(std::fs::metadata(&copy)
        .with_context(|| format!("cannot stat {}", copy.display()))?
        .len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_project_is_self_contained() {
        let manifest = BASELINE_MANIFEST.replace("@LAMBDA_RUNTIME@", LAMBDA_RUNTIME_REQ);
        assert!(
            manifest.lines().any(|line| line.trim() == "[workspace]"),
            "an empty [workspace] keeps it out of ours"
        );
        assert!(manifest.contains("lambda_runtime = \"1\""));
        assert!(BASELINE_MAIN.contains("lambda_runtime::run(service_fn(echo))"));
        assert!(BASELINE_CT_MAIN.contains("current_thread"));
    }

    #[test]
    fn write_if_changed_keeps_identical_files() {
        let dir = std::env::temp_dir().join(format!("xtask-wic-{}", std::process::id()));
        let path = dir.join("a/b.txt");
        write_if_changed(&path, "one").unwrap();
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_if_changed(&path, "one").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
        write_if_changed(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let _ = std::fs::remove_dir_all(dir);
    }
}
