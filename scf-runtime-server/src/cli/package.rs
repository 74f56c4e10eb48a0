//! `cargo scf package`: the zip SCF deploys, with the bootstrap at its root.
//!
//! Without `--bootstrap`, it first builds the package exactly as `cargo scf build --release` does (same
//! target choice; cargo rebuilds only what changed), so the zip always holds the binary of the
//! sources as they are now, the one verification just passed; it never picks up an older build
//! lying in the target directory.
//!
//! The archive holds one entry named `bootstrap` (`scf_bootstrap` for a web function) with
//! Unix mode 0755, plus any `--include`d files. It is reproducible: entries are sorted, every
//! timestamp is 1980-01-01 00:00 (or `SOURCE_DATE_EPOCH`), and nothing depends on the machine,
//! so packaging the same binary twice gives the same bytes. The bootstrap is verified first
//! ([`verify`](mod@super::verify)): a file that is not executable, or built for another architecture,
//! is never packaged.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::ToolError;
use super::build::{BuildArgs, BuildTarget, build_in};
use super::cargo::Metadata;
use super::verify::{Arch, Problem, VerifyOptions, VerifyReport, verify};

/// Arguments of `cargo scf package`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf package                                 build (release) and zip the current package
  cargo scf package -p example-echo                 a workspace member
  cargo scf package --target glibc2.17              build through cargo-zigbuild, then zip
  cargo scf package --bootstrap ./my-server --web   an existing executable as a web function (scf_bootstrap)
  cargo scf package --include config.json           add files next to the bootstrap

The zip is written to <target dir>/scf/<package>/bootstrap.zip (CARGO_TARGET_DIR is honoured)
and its path is the last line printed. Upload it as the function's code (runtime: CustomRuntime).")]
pub struct PackageArgs {
    /// The package whose binary to package (default: the package in the current directory).
    #[arg(short, long, value_name = "SPEC")]
    pub package: Option<String>,
    /// The binary target, when the package has several.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Package this executable instead of building the package.
    #[arg(long, value_name = "PATH")]
    pub bootstrap: Option<PathBuf>,
    /// Web function: name the entry `scf_bootstrap` (an HTTP server on port 9000).
    #[arg(long)]
    pub web: bool,
    /// Build and package the debug profile (default: release, what SCF should run).
    #[arg(long)]
    pub debug: bool,
    /// The build route: musl, glibc2.17 or native (default: as `cargo scf build` picks it).
    #[arg(long, value_enum, value_name = "TARGET")]
    pub target: Option<BuildTarget>,
    /// Features to build the package with.
    #[arg(long, short = 'F', value_name = "FEATURES")]
    pub features: Option<String>,
    /// The architecture the bootstrap must be built for.
    #[arg(long, default_value = "x86_64", value_name = "ARCH")]
    pub arch: Arch,
    /// Extra files or directories to put next to the bootstrap (repeatable).
    #[arg(long = "include", value_name = "PATH")]
    pub include: Vec<PathBuf>,
    /// Write the zip here instead of `<target dir>/scf/<package>/bootstrap.zip`.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Package even if the glibc or library checks fail (the executable bit and the
    /// architecture are always checked).
    #[arg(long)]
    pub no_verify: bool,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// The cargo target directory (default: cargo's, which honours CARGO_TARGET_DIR).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
}

/// What `cargo scf package` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageOutcome {
    /// The zip file.
    pub zip: PathBuf,
    /// The executable packaged.
    pub bootstrap: PathBuf,
    /// The zip's size in bytes.
    pub size: u64,
}

/// Runs `cargo scf package` in the current directory, printing progress and, last, the zip's path.
pub fn run_package(args: &PackageArgs) -> Result<PackageOutcome, ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    package_in(args, &cwd, &mut std::io::stdout().lock())
}

/// Runs `cargo scf package` as if started in `cwd`, writing what it prints to `out`.
pub fn package_in(
    args: &PackageArgs,
    cwd: &Path,
    out: &mut dyn Write,
) -> Result<PackageOutcome, ToolError> {
    let arch = args.arch;
    let entry = if args.web {
        "scf_bootstrap"
    } else {
        "bootstrap"
    };

    let (bootstrap, zip_path, options) = match (&args.bootstrap, &args.output) {
        // An explicit file and an explicit output need no cargo project.
        (Some(bootstrap), Some(output)) => (
            cwd.join(bootstrap),
            cwd.join(output),
            VerifyOptions {
                arch,
                ..VerifyOptions::default()
            },
        ),
        _ => {
            let metadata = Metadata::load(
                cwd,
                args.manifest_path.as_deref(),
                args.target_dir.as_deref(),
            )?;
            locate(args, arch, cwd, &metadata, out)?
        }
    };

    let report = verify(&bootstrap, &options)?;
    check_report(&report, args.no_verify, out)?;

    let timestamp = zip_timestamp()?;
    let bytes = write_zip(&bootstrap, entry, &resolve(cwd, &args.include), timestamp)?;
    if let Some(parent) = zip_path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ToolError::new(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(&zip_path, &bytes)
        .map_err(|e| ToolError::new(format!("cannot write {}: {e}", zip_path.display())))?;
    let bootstrap_size = std::fs::metadata(&bootstrap).map(|m| m.len()).unwrap_or(0);
    let size = bytes.len() as u64;
    let entries = 1 + count_includes(cwd, &args.include);
    let print = |out: &mut dyn Write, line: String| {
        let _ = writeln!(out, "{line}");
    };
    print(
        out,
        format!(
            "packaged {entry} (mode 0755, {}) into {} ({} {}, {})",
            human_size(bootstrap_size),
            zip_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            entries,
            if entries == 1 { "entry" } else { "entries" },
            human_size(size)
        ),
    );
    print(out, zip_path.display().to_string());
    Ok(PackageOutcome {
        zip: zip_path,
        bootstrap,
        size,
    })
}

fn resolve(cwd: &Path, paths: &[PathBuf]) -> Vec<PathBuf> {
    paths.iter().map(|p| cwd.join(p)).collect()
}

fn count_includes(cwd: &Path, includes: &[PathBuf]) -> usize {
    collect_includes(&resolve(cwd, includes))
        .map(|v| v.len())
        .unwrap_or(0)
}

/// Builds the package (unless `--bootstrap` names the file) and gives the bootstrap, the zip
/// path and how to verify it.
fn locate(
    args: &PackageArgs,
    arch: Arch,
    cwd: &Path,
    metadata: &Metadata,
    out: &mut dyn Write,
) -> Result<(PathBuf, PathBuf, VerifyOptions), ToolError> {
    let package = metadata.package(args.package.as_deref(), cwd)?;
    let zip_path = match &args.output {
        Some(output) => cwd.join(output),
        None => metadata
            .target_directory
            .join("scf")
            .join(&package.name)
            .join("bootstrap.zip"),
    };
    let mut options = VerifyOptions {
        arch,
        ..VerifyOptions::default()
    };
    if let Some(bootstrap) = &args.bootstrap {
        return Ok((cwd.join(bootstrap), zip_path, options));
    }
    let bin = package.bin(args.bin.as_deref())?;
    let build = BuildArgs {
        release: !args.debug,
        package: Some(package.name.clone()),
        bin: Some(bin.clone()),
        target: args.target,
        arch,
        features: args.features.clone(),
        manifest_path: args.manifest_path.clone(),
        target_dir: args.target_dir.clone(),
        // The report is judged below, where --no-verify is honoured.
        no_verify: true,
    };
    let outcome = build_in(&build, cwd, out)?;
    let Some((path, _)) = outcome.binaries.into_iter().next() else {
        return Err(ToolError::new(format!(
            "building `{bin}` (package `{}`) produced no executable",
            package.name
        )));
    };
    let profile = if args.debug { "debug" } else { "release" };
    let _ = writeln!(
        out,
        "bootstrap: {} ({}, {profile})",
        path.display(),
        outcome.target
    );
    if args.debug {
        let _ = writeln!(
            out,
            "warning: this is a debug build; deploy a release build (without --debug)"
        );
    }
    options.require_static = outcome.target == BuildTarget::Musl;
    Ok((path, zip_path, options))
}

/// Refuses a bootstrap that would not start; with `no_verify`, only the checks no deployment
/// can survive (not executable, not an executable ELF or script, wrong architecture) refuse.
fn check_report(
    report: &VerifyReport,
    no_verify: bool,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    if report.is_ok() {
        return Ok(());
    }
    let fatal = |p: &Problem| {
        matches!(
            p,
            Problem::NotElf { .. }
                | Problem::NotExecutableElf { .. }
                | Problem::NotExecutable { .. }
                | Problem::WrongArch { .. }
                | Problem::WrongClass { .. }
        )
    };
    if no_verify && !report.problems.iter().any(fatal) {
        let _ = write!(out, "{report}");
        let _ = writeln!(
            out,
            "warning: packaging anyway (--no-verify); this bootstrap will probably fail to start on SCF"
        );
        return Ok(());
    }
    Err(ToolError::new(format!(
        "{report}refusing to package {}: it would not start on SCF{}",
        report.path.display(),
        if report.problems.iter().all(|p| !fatal(p)) {
            " (--no-verify packages it anyway)"
        } else {
            ""
        }
    )))
}

/// The timestamp every entry gets: `SOURCE_DATE_EPOCH` when set, else 1980-01-01 00:00:00.
pub fn zip_timestamp() -> Result<DateTime, ToolError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => {
            let secs: i64 = value.trim().parse().map_err(|_| {
                ToolError::new(format!(
                    "SOURCE_DATE_EPOCH=`{value}` is not a number of seconds since 1970"
                ))
            })?;
            Ok(timestamp_from_epoch(secs))
        }
        Err(_) => Ok(DateTime::default()),
    }
}

/// A zip timestamp (UTC) for seconds since 1970, clamped to the range zip can store.
pub fn timestamp_from_epoch(secs: i64) -> DateTime {
    use chrono::{Datelike, Timelike};
    let Some(t) = chrono::DateTime::from_timestamp(secs, 0) else {
        return DateTime::default();
    };
    let (Ok(year), Ok(month), Ok(day), Ok(hour), Ok(minute), Ok(second)) = (
        u16::try_from(t.year()),
        u8::try_from(t.month()),
        u8::try_from(t.day()),
        u8::try_from(t.hour()),
        u8::try_from(t.minute()),
        u8::try_from(t.second()),
    ) else {
        return DateTime::default();
    };
    DateTime::from_date_and_time(year, month, day, hour, minute, second)
        .unwrap_or_else(|_| DateTime::default())
}

/// Builds the zip in memory: `entry` (mode 0755) from `bootstrap`, then every included file,
/// all sorted by name, all stamped `timestamp`.
pub fn write_zip(
    bootstrap: &Path,
    entry: &str,
    includes: &[PathBuf],
    timestamp: DateTime,
) -> Result<Vec<u8>, ToolError> {
    let mut entries: Vec<(String, PathBuf, u32)> =
        vec![(entry.to_owned(), bootstrap.into(), 0o755)];
    for (name, path, mode) in collect_includes(includes)? {
        if name == entry {
            return Err(ToolError::new(format!(
                "{} would replace the {entry} entry: rename it",
                path.display()
            )));
        }
        if entries.iter().any(|(n, _, _)| *n == name) {
            return Err(ToolError::new(format!(
                "two included files are both named `{name}` in the zip"
            )));
        }
        entries.push((name, path, mode));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, path, mode) in &entries {
        let data = std::fs::read(path)
            .map_err(|e| ToolError::new(format!("cannot read {}: {e}", path.display())))?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(9))
            .system(zip::System::Unix)
            .last_modified_time(timestamp)
            .unix_permissions(*mode)
            .large_file(data.len() as u64 >= u32::MAX as u64);
        zip.start_file(name.as_str(), options)
            .map_err(|e| ToolError::new(format!("cannot add {name} to the zip: {e}")))?;
        zip.write_all(&data)
            .map_err(|e| ToolError::new(format!("cannot add {name} to the zip: {e}")))?;
    }
    let cursor = zip
        .finish()
        .map_err(|e| ToolError::new(format!("cannot finish the zip: {e}")))?;
    Ok(cursor.into_inner())
}

/// Expands `--include` paths: a file goes in under its name, a directory under its name with
/// everything below it. Executables keep 0755, other files get 0644.
fn collect_includes(includes: &[PathBuf]) -> Result<Vec<(String, PathBuf, u32)>, ToolError> {
    let mut found = Vec::new();
    for path in includes {
        let meta = std::fs::metadata(path)
            .map_err(|e| ToolError::new(format!("cannot include {}: {e}", path.display())))?;
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                ToolError::new(format!("cannot include {}: no file name", path.display()))
            })?;
        if meta.is_dir() {
            walk(path, &base, &mut found)?;
        } else {
            found.push((base, path.clone(), mode_of(&meta)));
        }
    }
    Ok(found)
}

fn walk(
    dir: &Path,
    prefix: &str,
    found: &mut Vec<(String, PathBuf, u32)>,
) -> Result<(), ToolError> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| ToolError::new(format!("cannot include {}: {e}", dir.display())))?;
    for entry in read {
        let entry =
            entry.map_err(|e| ToolError::new(format!("cannot include {}: {e}", dir.display())))?;
        let path = entry.path();
        let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        let meta = std::fs::metadata(&path)
            .map_err(|e| ToolError::new(format!("cannot include {}: {e}", path.display())))?;
        if meta.is_dir() {
            walk(&path, &name, found)?;
        } else {
            found.push((name, path, mode_of(&meta)));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 != 0 {
        0o755
    } else {
        0o644
    }
}

#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata) -> u32 {
    0o644
}

/// `1.2 MiB`, `412.0 KiB`, `87 B`.
pub(crate) fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_maps_to_utc_and_clamps() {
        let t = timestamp_from_epoch(1_700_000_000); // 2023-11-14 22:13:20 UTC
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2023, 11, 14, 22, 13, 20)
        );
        assert_eq!(timestamp_from_epoch(0), DateTime::default());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(87), "87 B");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
