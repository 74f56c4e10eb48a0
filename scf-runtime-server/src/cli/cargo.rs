//! What the tools need to know about the user's cargo project, from `cargo metadata` and the
//! workspace's Cargo.toml, and building the `package = "…"` functions of an `scf.toml`
//! (`cargo build -p <package>` in a [`HostProfile`], the binary found in the target directory
//! `cargo metadata` reports, so `CARGO_TARGET_DIR` and `build.target-dir` are honoured).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::ToolError;
use crate::config::Config;

/// The `cargo` to run: the one that started us as `cargo scf`, else the one on `PATH`.
pub(crate) fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// The workspace as `cargo metadata --no-deps` describes it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Metadata {
    pub(crate) packages: Vec<Package>,
    pub(crate) target_directory: PathBuf,
    pub(crate) workspace_root: PathBuf,
}

/// One workspace member.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) manifest_path: PathBuf,
    pub(crate) targets: Vec<CargoTarget>,
}

/// One build target of a package (`targets[]` in `cargo metadata`: a lib, a bin, a test…).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CargoTarget {
    pub(crate) name: String,
    pub(crate) kind: Vec<String>,
}

impl Package {
    /// The names of its binary targets.
    pub(crate) fn bins(&self) -> impl Iterator<Item = &str> {
        self.targets
            .iter()
            .filter(|t| t.kind.iter().any(|k| k == "bin"))
            .map(|t| t.name.as_str())
    }

    /// The package's directory.
    pub(crate) fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("."))
    }

    /// The binary to use: `wanted`, else the only one, else the one named like the package.
    pub(crate) fn bin(&self, wanted: Option<&str>) -> Result<String, ToolError> {
        let bins: Vec<&str> = self.bins().collect();
        if let Some(wanted) = wanted {
            return if bins.contains(&wanted) {
                Ok(wanted.to_owned())
            } else {
                Err(ToolError::new(format!(
                    "package `{}` has no binary `{wanted}`; its binaries: {}",
                    self.name,
                    list_or_none(&bins)
                )))
            };
        }
        match bins.as_slice() {
            [] => Err(ToolError::new(format!(
                "package `{}` has no binary target: a bootstrap is a binary (add src/main.rs, or pass -p with a binary package)",
                self.name
            ))),
            [only] => Ok((*only).to_owned()),
            many => many
                .iter()
                .find(|b| **b == self.name)
                .map(|b| (*b).to_owned())
                .ok_or_else(|| {
                    ToolError::new(format!(
                        "package `{}` has several binaries ({}): pass --bin with one of them",
                        self.name,
                        many.join(", ")
                    ))
                }),
        }
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

impl Metadata {
    /// Runs `cargo metadata --format-version 1 --no-deps` in `dir` (or for `manifest`);
    /// `target_dir` replaces the target directory cargo reports.
    pub(crate) fn load(
        dir: &Path,
        manifest: Option<&Path>,
        target_dir: Option<&Path>,
    ) -> Result<Self, ToolError> {
        let mut cmd = Command::new(cargo_program());
        cmd.args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(dir);
        if let Some(manifest) = manifest {
            cmd.arg("--manifest-path").arg(manifest);
        }
        let output = cmd.output().map_err(|e| {
            ToolError::new(format!(
                "cannot run `cargo metadata`: {e} (is cargo installed and on PATH?)"
            ))
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("could not find `Cargo.toml`") {
                return Err(ToolError::new(format!(
                    "no Cargo.toml in {} or any parent directory: run this inside a Rust project, or start one with `cargo scf new <name>`",
                    dir.display()
                )));
            }
            return Err(ToolError::new(format!(
                "`cargo metadata` failed:\n{}",
                stderr.trim_end()
            )));
        }
        let mut metadata: Metadata = serde_json::from_slice(&output.stdout)
            .map_err(|e| ToolError::new(format!("cannot read `cargo metadata` output: {e}")))?;
        if let Some(target_dir) = target_dir {
            metadata.target_directory = dir.join(target_dir);
        }
        Ok(metadata)
    }

    /// The package `name`, or the one whose directory holds `cwd`, or the only one.
    pub(crate) fn package(&self, name: Option<&str>, cwd: &Path) -> Result<&Package, ToolError> {
        if let Some(name) = name {
            return self
                .packages
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
                    ToolError::new(format!(
                        "unknown package `{name}`; packages in this workspace: {}",
                        list_or_none(&names)
                    ))
                });
        }
        let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_owned());
        // The deepest package directory containing cwd, unless that is the workspace root of
        // a workspace with several members where the root package has no binary.
        let containing = self
            .packages
            .iter()
            .filter(|p| {
                let dir = p
                    .dir()
                    .canonicalize()
                    .unwrap_or_else(|_| p.dir().to_owned());
                cwd.starts_with(&dir)
            })
            .max_by_key(|p| p.dir().components().count());
        match containing {
            Some(p) if p.bins().next().is_some() || self.packages.len() == 1 => Ok(p),
            _ if self.packages.len() == 1 => Ok(&self.packages[0]),
            _ => {
                let with_bins: Vec<&str> = self
                    .packages
                    .iter()
                    .filter(|p| p.bins().next().is_some())
                    .map(|p| p.name.as_str())
                    .collect();
                Err(ToolError::new(format!(
                    "several packages here: pass -p with one of: {}",
                    list_or_none(&with_bins)
                )))
            }
        }
    }
}

/// The `panic` setting of `profile` as the workspace manifest and environment define it,
/// following `inherits`; `None` means the default (unwind).
pub(crate) fn profile_panic(workspace_root: &Path, profile: &str) -> Option<String> {
    let env_name = format!(
        "CARGO_PROFILE_{}_PANIC",
        profile.to_uppercase().replace('-', "_")
    );
    if let Ok(value) = std::env::var(env_name) {
        return Some(value);
    }
    let text = std::fs::read_to_string(workspace_root.join("Cargo.toml")).ok()?;
    let manifest: toml::Table = toml::from_str(&text).ok()?;
    let profiles = manifest.get("profile")?.as_table()?;
    let mut name = profile.to_owned();
    for _ in 0..8 {
        let table = profiles.get(&name).and_then(|p| p.as_table())?;
        if let Some(panic) = table.get("panic").and_then(|v| v.as_str()) {
            return Some(panic.to_owned());
        }
        match table.get("inherits").and_then(|v| v.as_str()) {
            Some(parent) => name = parent.to_owned(),
            None => return None,
        }
    }
    None
}

/// The target directory of the workspace around `dir`.
pub fn target_dir(dir: &Path) -> Result<PathBuf, ToolError> {
    Metadata::load(dir, None, None).map(|m| m.target_directory)
}

/// How `cargo scf serve` builds the `package = "…"` functions it hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum HostProfile {
    /// The package's own release profile (fat LTO here: what SCF runs, and slow to link).
    #[default]
    Release,
    /// `scf-fast`: the release profile without LTO, with incremental builds and 256 codegen
    /// units, so an edit is rebuilt in seconds (`cargo scf dev` uses it). Its output sits in
    /// `<target dir>/scf-fast/`, apart from the release build.
    Fast,
}

impl HostProfile {
    /// The profile's output directory under the target directory.
    pub fn dir(self) -> &'static str {
        match self {
            HostProfile::Release => "release",
            HostProfile::Fast => "scf-fast",
        }
    }

    /// The cargo arguments that select it (the fast one is defined on the command line, so the
    /// user's Cargo.toml needs nothing).
    pub fn cargo_args(self) -> &'static [&'static str] {
        match self {
            HostProfile::Release => &["--release"],
            HostProfile::Fast => &[
                "--profile",
                "scf-fast",
                "--config",
                "profile.scf-fast.inherits=\"release\"",
                "--config",
                "profile.scf-fast.lto=false",
                "--config",
                "profile.scf-fast.codegen-units=256",
                "--config",
                "profile.scf-fast.incremental=true",
            ],
        }
    }

    /// How the build is shown to the user.
    pub fn describe(self, package: &str) -> String {
        match self {
            HostProfile::Release => format!("cargo build --release -p {package}"),
            HostProfile::Fast => {
                format!("cargo build -p {package}, release without LTO, incremental")
            }
        }
    }
}

/// Builds `package` in `profile` from `dir` and returns its binary (named like the package).
pub fn build_package(
    package: &str,
    dir: &Path,
    profile: HostProfile,
) -> Result<PathBuf, ToolError> {
    let status = Command::new(cargo_program())
        .arg("build")
        .args(profile.cargo_args())
        .args(["-p", package])
        .current_dir(dir)
        .status()
        .map_err(|e| ToolError::new(format!("cannot run cargo build: {e}")))?;
    let described = profile.describe(package);
    if !status.success() {
        return Err(ToolError::new(format!(
            "`{described}` failed ({status}); fix the build errors above, or point the function at an executable with `bootstrap = \"…\"`"
        )));
    }
    let binary = target_dir(dir)?.join(profile.dir()).join(package);
    if !binary.is_file() {
        return Err(ToolError::new(format!(
            "`{described}` succeeded but {} does not exist (the package's binary must be named {package})",
            binary.display()
        )));
    }
    Ok(binary)
}

/// Builds every package the functions of `config` name (`cargo build -p …` in `profile`, in its
/// `base_dir`) and records each executable; `announce` is told each package before its build.
pub fn build_packages(
    config: &mut Config,
    profile: HostProfile,
    mut announce: impl FnMut(&str),
) -> Result<(), ToolError> {
    for package in config.packages() {
        announce(&package);
        let binary = build_package(&package, &config.base_dir, profile)?;
        config.set_package_binary(&package, &binary);
    }
    Ok(())
}
