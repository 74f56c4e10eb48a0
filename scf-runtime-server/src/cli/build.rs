//! `cargo scf build`: builds a function's binary for SCF's runtime image and verifies it.
//!
//! SCF's Custom Runtime runs CentOS 7 (glibc 2.17). The build picks, in order:
//!
//! 1. **musl** (`x86_64-unknown-linux-musl`), a static binary; when its std is missing and
//!    `rustup` is there, it is installed first (`rustup target add`, said out loud);
//! 2. **glibc 2.17** through `cargo zigbuild --target x86_64-unknown-linux-gnu.2.17`, when
//!    `cargo-zigbuild` and `zig` are on `PATH` (`pip install ziglang cargo-zigbuild`);
//! 3. otherwise it stops before building and says how to get either route. **native** (the
//!    host toolchain) is built only when asked with `--target native`: a binary linked on a
//!    current distribution usually needs a newer glibc than SCF has, and verification says so.
//!
//! It keeps `panic = "unwind"` (and warns when the profile aborts: a panicking handler would
//! take its instance down instead of being reported), sets no `target-cpu` (and warns when
//! `RUSTFLAGS` does: SCF's CPU model is unknown), then runs [`verify`](mod@super::verify) on every binary it
//! built and prints the report.

use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::{Args, ValueEnum};

use super::ToolError;
use super::cargo::{Metadata, cargo_program, profile_panic};
use super::verify::{Arch, VerifyOptions, VerifyReport, Version, verify};

/// Which C library, and so which build route, a bootstrap is built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
#[non_exhaustive]
pub enum BuildTarget {
    /// Static musl binary (`<arch>-unknown-linux-musl`): runs on any Linux.
    Musl,
    /// glibc pinned to 2.17 with cargo-zigbuild (`<arch>-unknown-linux-gnu.2.17`).
    #[value(name = "glibc2.17")]
    Glibc217,
    /// The host's own toolchain and glibc: usually too new for SCF.
    Native,
}

impl fmt::Display for BuildTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BuildTarget::Musl => "musl",
            BuildTarget::Glibc217 => "glibc2.17",
            BuildTarget::Native => "native",
        })
    }
}

/// The directory name cargo uses under the target dir for `target` (`None`: the host build).
pub fn target_triple(target: BuildTarget, arch: Arch) -> Option<String> {
    match target {
        BuildTarget::Musl => Some(format!("{}-unknown-linux-musl", arch.name())),
        BuildTarget::Glibc217 => Some(format!("{}-unknown-linux-gnu", arch.name())),
        BuildTarget::Native => None,
    }
}

/// Arguments of `cargo scf build`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf build --release                       the package in the current directory, for SCF
  cargo scf build --release -p example-echo       one package of a workspace
  cargo scf build --target glibc2.17              glibc 2.17 via cargo-zigbuild (C dependencies)
  cargo scf build --target native                 the host toolchain (verification will likely fail)

Default target: musl (its std is installed with `rustup target add` when missing), else
glibc2.17 when cargo-zigbuild and zig are installed (`pip install ziglang cargo-zigbuild`).
native only when asked. Every binary built is verified: architecture, loader,
GLIBC_x.y <= 2.17 and libraries present on CentOS 7.")]
pub struct BuildArgs {
    /// Build with the release profile (what you deploy).
    #[arg(long, short = 'r')]
    pub release: bool,
    /// The package to build (default: the package in the current directory).
    #[arg(short, long, value_name = "SPEC")]
    pub package: Option<String>,
    /// Build only this binary target.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// The build route: musl (static), glibc2.17 (cargo-zigbuild) or native.
    #[arg(long, value_enum, value_name = "TARGET")]
    pub target: Option<BuildTarget>,
    /// The architecture to build for.
    #[arg(long, default_value = "x86_64", value_name = "ARCH")]
    pub arch: Arch,
    /// Cargo features to enable (passed to cargo as --features).
    #[arg(long, short = 'F', value_name = "FEATURES")]
    pub features: Option<String>,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// The cargo target directory (default: cargo's, which honours CARGO_TARGET_DIR).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Print the verification reports but do not fail when they find problems.
    #[arg(long)]
    pub no_verify: bool,
}

/// What `cargo scf build` produced.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The route used.
    pub target: BuildTarget,
    /// Every binary built, with its verification report.
    pub binaries: Vec<(PathBuf, VerifyReport)>,
}

/// Runs `cargo scf build` in the current directory, printing progress and reports to stdout (cargo's
/// own output goes to stderr).
pub fn run_build(args: &BuildArgs) -> Result<BuildOutcome, ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    build_in(args, &cwd, &mut std::io::stdout().lock())
}

/// Runs `cargo scf build` as if started in `cwd`, writing what it prints to `out`.
pub fn build_in(
    args: &BuildArgs,
    cwd: &Path,
    out: &mut dyn Write,
) -> Result<BuildOutcome, ToolError> {
    let arch = args.arch;
    let metadata = Metadata::load(
        cwd,
        args.manifest_path.as_deref(),
        args.target_dir.as_deref(),
    )?;
    let package = metadata.package(args.package.as_deref(), cwd)?;
    let bins: Vec<String> = match &args.bin {
        Some(bin) => vec![package.bin(Some(bin))?],
        None => {
            let bins: Vec<String> = package.bins().map(str::to_owned).collect();
            if bins.is_empty() {
                // Same wording as for an explicit lookup.
                package.bin(None)?;
            }
            bins
        }
    };

    let target = match args.target {
        Some(target) => {
            check_available(target, arch, out)?;
            target
        }
        None => default_target(arch, out)?,
    };
    let profile = if args.release { "release" } else { "dev" };
    check_profile(&metadata.workspace_root, profile, out);
    check_rustflags(target_triple(target, arch).as_deref(), out);

    let mut cmd = Command::new(cargo_program());
    match target {
        BuildTarget::Glibc217 => {
            cmd.arg("zigbuild");
        }
        _ => {
            cmd.arg("build");
        }
    }
    cmd.current_dir(cwd)
        .args(["--message-format", "json-render-diagnostics"])
        .arg("-p")
        .arg(&package.name);
    if let Some(manifest) = &args.manifest_path {
        cmd.arg("--manifest-path").arg(manifest);
    }
    if let Some(dir) = &args.target_dir {
        cmd.arg("--target-dir").arg(cwd.join(dir));
    }
    for bin in &bins {
        cmd.arg("--bin").arg(bin);
    }
    if args.release {
        cmd.arg("--release");
    }
    if let Some(features) = &args.features {
        cmd.arg("--features").arg(features);
    }
    match target {
        BuildTarget::Musl => {
            cmd.arg("--target")
                .arg(target_triple(target, arch).unwrap_or_default());
        }
        BuildTarget::Glibc217 => {
            cmd.arg("--target")
                .arg(format!("{}-unknown-linux-gnu.2.17", arch.name()));
        }
        BuildTarget::Native => {}
    }
    let _ = writeln!(
        out,
        "building {} ({}) for {target}{}",
        package.name,
        bins.join(", "),
        if args.release { ", release" } else { ", debug" }
    );
    let _ = out.flush();
    let executables = run_cargo(cmd)?;

    let options = VerifyOptions {
        arch,
        max_glibc: Version::glibc_2_17(),
        require_static: target == BuildTarget::Musl,
        ..VerifyOptions::default()
    };
    let mut binaries = Vec::new();
    let mut failed = Vec::new();
    for bin in &bins {
        let Some(path) = executables
            .iter()
            .find(|(name, _)| name == bin)
            .map(|(_, p)| p)
        else {
            return Err(ToolError::new(format!(
                "cargo finished but reported no executable for binary `{bin}`"
            )));
        };
        let report = verify(path, &options)?;
        let _ = write!(out, "{report}");
        if !report.is_ok() {
            failed.push(path.display().to_string());
        }
        binaries.push((path.clone(), report));
    }
    if !failed.is_empty() && !args.no_verify {
        let hint = if target == BuildTarget::Native {
            "\nthe native target links against this machine's glibc; build with `--target musl` \
             (rustup target add x86_64-unknown-linux-musl) or `--target glibc2.17` \
             (pip install ziglang cargo-zigbuild)"
        } else {
            ""
        };
        return Err(ToolError::new(format!(
            "verification failed for {}: it would not start on SCF{hint}",
            failed.join(", ")
        )));
    }
    for (path, _) in &binaries {
        let _ = writeln!(out, "built {}", path.display());
    }
    Ok(BuildOutcome { target, binaries })
}

/// Runs cargo with JSON messages on stdout and returns `(binary name, executable)` for every
/// binary artifact. Diagnostics and progress go to our stderr as cargo renders them.
fn run_cargo(mut cmd: Command) -> Result<Vec<(String, PathBuf)>, ToolError> {
    let program = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| ToolError::new(format!("cannot run {program}: {e}")))?;
    let mut executables = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if message["reason"] != "compiler-artifact" {
                continue;
            }
            let is_bin = message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
            if let (true, Some(exe), Some(name)) = (
                is_bin,
                message["executable"].as_str(),
                message["target"]["name"].as_str(),
            ) {
                executables.push((name.to_owned(), PathBuf::from(exe)));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| ToolError::new(format!("cannot wait for cargo: {e}")))?;
    if !status.success() {
        return Err(ToolError::new(
            "cargo build failed (its errors are above)".to_owned(),
        ));
    }
    Ok(executables)
}

/// Whether the rust std for `triple` is installed for the active toolchain.
pub fn rust_target_installed(triple: &str) -> bool {
    if let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        && out.status.success()
        && String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == triple)
    {
        return true;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            Path::new(String::from_utf8_lossy(&o.stdout).trim())
                .join("lib/rustlib")
                .join(triple)
                .join("lib")
                .is_dir()
        })
        .unwrap_or(false)
}

/// Whether `cargo zigbuild` can run: cargo-zigbuild on PATH, and zig on PATH or as the
/// `ziglang` Python package (which cargo-zigbuild also finds).
pub fn zigbuild_available() -> bool {
    let runs = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let zig = || {
        runs("zig", "version")
            || Command::new("python3")
                .args(["-m", "ziglang", "version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
    };
    runs("cargo-zigbuild", "--version") && zig()
}

/// How to get the glibc 2.17 route, for messages.
const ZIGBUILD_HINT: &str = "pip install ziglang cargo-zigbuild";

fn check_available(target: BuildTarget, arch: Arch, out: &mut dyn Write) -> Result<(), ToolError> {
    match target {
        BuildTarget::Musl => {
            let triple = target_triple(target, arch).unwrap_or_default();
            if rust_target_installed(&triple) {
                return Ok(());
            }
            install_rust_target(&triple, out).map_err(|why| {
                ToolError::new(format!(
                    "the {triple} std is not installed and {why}; install it with `rustup target add {triple}`, \
                     or build for glibc 2.17 instead: `{ZIGBUILD_HINT}`, then `--target glibc2.17`"
                ))
            })
        }
        BuildTarget::Glibc217 => {
            if zigbuild_available() {
                Ok(())
            } else {
                Err(ToolError::new(format!(
                    "--target glibc2.17 needs cargo-zigbuild and zig on PATH: `{ZIGBUILD_HINT}` \
                     (or `cargo install cargo-zigbuild` and a zig release)"
                )))
            }
        }
        BuildTarget::Native => Ok(()),
    }
}

/// Installs the std for `triple` with rustup, saying so; the error says why it could not.
fn install_rust_target(triple: &str, out: &mut dyn Write) -> Result<(), String> {
    let _ = writeln!(
        out,
        "the {triple} std is missing: running `rustup target add {triple}`"
    );
    let _ = out.flush();
    let output = Command::new("rustup")
        .args(["target", "add", triple])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("rustup could not be run ({e})"))?;
    if output.status.success() && rust_target_installed(triple) {
        let _ = writeln!(out, "installed the {triple} std");
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let said = said.trim().lines().last().unwrap_or("no message");
    Err(format!(
        "`rustup target add {triple}` failed ({}: {said})",
        output.status
    ))
}

/// The route when none is asked for: musl (installing its std when missing), else glibc 2.17
/// through cargo-zigbuild. Never native: a build verification would refuse is not worth its
/// minutes, so that one is taken only when asked.
fn default_target(arch: Arch, out: &mut dyn Write) -> Result<BuildTarget, ToolError> {
    let musl = target_triple(BuildTarget::Musl, arch).unwrap_or_default();
    if rust_target_installed(&musl) {
        return Ok(BuildTarget::Musl);
    }
    let why = match install_rust_target(&musl, out) {
        Ok(()) => return Ok(BuildTarget::Musl),
        Err(why) => why,
    };
    if zigbuild_available() {
        let _ = writeln!(
            out,
            "{why}; building for glibc 2.17 with cargo-zigbuild instead"
        );
        return Ok(BuildTarget::Glibc217);
    }
    Err(ToolError::new(format!(
        "cannot build for SCF: the {musl} std is not installed and {why}.\n\
         Either fix that (`rustup target add {musl}`), or take the glibc 2.17 route, about \
         5 seconds to install: `{ZIGBUILD_HINT}`.\n\
         `--target native` builds for this machine anyway (verification will most likely refuse \
         the binary: SCF runs glibc 2.17)."
    )))
}

fn check_profile(workspace_root: &Path, profile: &str, out: &mut dyn Write) {
    if let Some(panic) = profile_panic(workspace_root, profile)
        && panic == "abort"
    {
        let _ = writeln!(
            out,
            "warning: [profile.{profile}] sets panic = \"abort\": a panicking handler then kills its \
             instance instead of being reported as a function error; set panic = \"unwind\""
        );
    }
}

fn check_rustflags(triple: Option<&str>, out: &mut dyn Write) {
    let mut sources = vec!["RUSTFLAGS".to_owned(), "CARGO_ENCODED_RUSTFLAGS".to_owned()];
    if let Some(triple) = triple {
        sources.push(format!(
            "CARGO_TARGET_{}_RUSTFLAGS",
            triple.to_uppercase().replace(['-', '.'], "_")
        ));
    }
    for var in sources {
        if let Ok(value) = std::env::var(&var)
            && value.contains("target-cpu")
        {
            let _ = writeln!(
                out,
                "warning: {var} sets target-cpu: SCF's CPU model is unknown, so a binary tuned for \
                 one CPU may die with SIGILL there; remove it"
            );
        }
    }
}
