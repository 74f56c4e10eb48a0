//! `cargo scf build` through the `scf` binary: the example function built for the target this machine
//! offers and verified, the glibc 2.17 route with a pinned zig toolchain from PyPI, the profile
//! and RUSTFLAGS warnings, and the errors for bad input.
//!
//! The glibc 2.17 test installs the pinned PyPI packages `ziglang` (zig itself, run as
//! `python3 -m ziglang`) and `cargo-zigbuild` (its binary in `bin/`) with
//! `python3 -m pip install --target` into `$CARGO_TARGET_TMPDIR/zigbuild-<versions>/site` on
//! first use, and reuses that tree afterwards. Without python3, pip or the network it prints
//! `SKIPPED` and returns.

use crate::support::pypi;
use pypi::skipped;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scf_runtime_server::cli::build::{rust_target_installed, zigbuild_available};
use scf_runtime_server::cli::verify::{Arch, Linking, VerifyOptions, Version, verify};

/// Where nested cargo builds of these tests go: not the outer target dir, whose lock the
/// running `cargo test` holds.
fn nested_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("tools-cargo")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn scf(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> (Output, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-scf"));
    cmd.args(args).current_dir(cwd).env_remove("RUSTFLAGS");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("scf runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

#[test]
fn the_echo_example_builds_for_the_available_target_and_is_verified() {
    if !rust_target_installed("x86_64-unknown-linux-musl") && !zigbuild_available() {
        // Building now would install the musl std into this machine's toolchain; the
        // private-toolchain test covers that route.
        skipped(
            "the_echo_example_builds_for_the_available_target_and_is_verified",
            "neither the musl std nor cargo-zigbuild is installed (see a_missing_musl_std_is_installed_with_rustup_then_used)",
        );
        return;
    }
    let target_dir = nested_target_dir();
    let (output, stdout, stderr) = scf(
        &workspace_root(),
        &[
            "build",
            "-p",
            "example-echo",
            "--target-dir",
            target_dir.to_str().unwrap(),
        ],
        &[],
    );
    println!("{stdout}");
    let tail: String = stderr.lines().rev().take(15).collect::<Vec<_>>().join("\n");
    if rust_target_installed("x86_64-unknown-linux-musl") {
        assert!(output.status.success(), "{stdout}\n{tail}");
        assert!(stdout.contains("for musl, debug"), "{stdout}");
        let bin = target_dir.join("x86_64-unknown-linux-musl/debug/example-echo");
        assert!(
            stdout.contains(&format!("verify {}: ok", bin.display())),
            "{stdout}"
        );
        assert!(stdout.contains("linking:      static"), "{stdout}");
        assert!(
            stdout.contains(&format!("built {}", bin.display())),
            "{stdout}"
        );
    } else if zigbuild_available() {
        assert!(output.status.success(), "{stdout}\n{tail}");
        assert!(stdout.contains("for glibc2.17"), "{stdout}");
        assert!(stdout.contains(": ok"), "{stdout}");
    } else {
        unreachable!("checked before building");
    }
}

/// A private copy of the active rustup toolchain without the musl std: `(RUSTUP_HOME, name)`,
/// so a test can watch `cargo scf build` install it without touching this machine's toolchains.
fn rustup_home_without_musl() -> Result<(PathBuf, String), String> {
    let home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".rustup")))
        .ok_or("no RUSTUP_HOME and no HOME")?;
    let active = Command::new("rustup")
        .args(["show", "active-toolchain"])
        .output()
        .map_err(|e| format!("rustup cannot be run: {e}"))?;
    let name = String::from_utf8_lossy(&active.stdout)
        .split_whitespace()
        .next()
        .ok_or("rustup names no active toolchain")?
        .to_owned();
    let toolchain = home
        .join("toolchains")
        .join(&name)
        .canonicalize()
        .map_err(|e| {
            format!(
                "the active toolchain {name} is not a directory of {}: {e}",
                home.display()
            )
        })?;
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rustup-home-without-musl");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(copy.join("toolchains")).map_err(|e| e.to_string())?;
    for file in ["settings.toml"] {
        if home.join(file).is_file() {
            std::fs::copy(home.join(file), copy.join(file)).map_err(|e| e.to_string())?;
        }
    }
    let status = Command::new("cp")
        .arg("-a")
        .arg(&toolchain)
        .arg(copy.join("toolchains").join(&name))
        .status()
        .map_err(|e| format!("cp cannot be run: {e}"))?;
    if !status.success() {
        return Err(format!("copying {} failed", toolchain.display()));
    }
    // Where this machine has the musl std, the copy loses it the way a user would remove it.
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .env("RUSTUP_HOME", &copy)
        .env("RUSTUP_TOOLCHAIN", &name)
        .output()
        .map_err(|e| format!("rustup cannot be run: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == "x86_64-unknown-linux-musl")
    {
        let removed = Command::new("rustup")
            .args(["target", "remove", "x86_64-unknown-linux-musl"])
            .env("RUSTUP_HOME", &copy)
            .env("RUSTUP_TOOLCHAIN", &name)
            .output()
            .map_err(|e| format!("rustup cannot be run: {e}"))?;
        if !removed.status.success() {
            return Err(format!(
                "rustup could not remove the musl std from the private copy: {}",
                String::from_utf8_lossy(&removed.stderr).trim()
            ));
        }
    }
    Ok((copy, name))
}

#[test]
fn a_missing_musl_std_is_installed_with_rustup_then_used() {
    let (home, toolchain) = match rustup_home_without_musl() {
        Ok(found) => found,
        Err(why) => {
            skipped(
                "a_missing_musl_std_is_installed_with_rustup_then_used",
                &why,
            );
            return;
        }
    };
    let target_dir = nested_target_dir();
    // `cargo scf <command> -p example-echo` with the rustup proxies resolving `cargo` and
    // `rustc` in the private home.
    let run = |command: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
            .args(command)
            .args(["-p", "example-echo", "--target-dir"])
            .arg(&target_dir)
            .current_dir(workspace_root())
            .env("RUSTUP_HOME", &home)
            .env("RUSTUP_TOOLCHAIN", &toolchain)
            .env_remove("CARGO")
            .env_remove("RUSTC")
            .output()
            .expect("cargo scf runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr.lines().rev().take(15).collect::<Vec<_>>().join("\n");
        println!("{stdout}");
        (output.status.success(), stdout, tail)
    };
    let (ok, stdout, tail) = run(&["build", "--release"]);
    assert!(
        stdout.contains("the x86_64-unknown-linux-musl std is missing: running `rustup target add x86_64-unknown-linux-musl`"),
        "{stdout}\n{tail}"
    );
    if !stdout.contains("installed the x86_64-unknown-linux-musl std") {
        // rustup could not download it (no network): the error says what to do instead.
        assert!(!ok, "{stdout}");
        assert!(
            tail.contains("pip install ziglang cargo-zigbuild"),
            "{tail}"
        );
        skipped(
            "a_missing_musl_std_is_installed_with_rustup_then_used",
            &format!("rustup could not install the musl std here: {tail}"),
        );
        return;
    }
    assert!(ok, "{stdout}\n{tail}");
    assert!(stdout.contains("for musl, release"), "{stdout}");
    assert!(stdout.contains("linking:      static"), "{stdout}");

    // `cargo scf package` on the same machine: the release build for musl, verified and zipped.
    let (ok, stdout, tail) = run(&["package"]);
    assert!(ok, "{stdout}\n{tail}");
    let release = target_dir.join("x86_64-unknown-linux-musl/release/example-echo");
    assert!(
        stdout.contains(&format!("verify {}: ok", release.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("bootstrap: {} (musl, release)", release.display())),
        "{stdout}"
    );
    let zip = target_dir.join("scf/example-echo/bootstrap.zip");
    assert_eq!(stdout.lines().last(), zip.to_str(), "{stdout}");
}

/// The pinned zig toolchain, as PyPI ships it.
const ZIGLANG: &str = "ziglang==0.17.0";
/// The pinned cargo-zigbuild, as PyPI ships it.
const CARGO_ZIGBUILD: &str = "cargo-zigbuild==0.24.0";

/// The pinned zig toolchain installed from PyPI: `(site, bin)`, where `site` goes on
/// `PYTHONPATH` (for `python3 -m ziglang`) and `bin` holds `cargo-zigbuild`. Installed on
/// first use (kept in the target dir); `Err` says why it cannot be had.
fn zig_toolchain() -> Result<(PathBuf, PathBuf), String> {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "zigbuild-{}-{}",
        ZIGLANG.replace("==", "-"),
        CARGO_ZIGBUILD.replace("==", "-")
    ));
    let site = pypi::install(&root, &[ZIGLANG, CARGO_ZIGBUILD])?;
    // The wheel puts its executable in `bin/`.
    let bin = site.join("bin");
    let exe = bin.join("cargo-zigbuild");
    if !exe.is_file() {
        return Err(format!("{CARGO_ZIGBUILD} installed no {}", exe.display()));
    }
    pypi::make_executable(&exe);
    Ok((site, bin))
}

/// `first` followed by the entries of the variable `var`, as a search path.
fn prepend_path(first: &Path, var: &str) -> OsString {
    let mut paths = vec![first.to_owned()];
    if let Some(existing) = std::env::var_os(var) {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).expect("search path entries have no separator")
}

#[test]
fn the_echo_example_builds_for_glibc_2_17_with_zig_from_pypi_and_packages() {
    const TEST: &str = "the_echo_example_builds_for_glibc_2_17_with_zig_from_pypi_and_packages";
    let (site, bin_dir) = match zig_toolchain() {
        Ok(paths) => paths,
        Err(reason) => return skipped(TEST, &reason),
    };
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tools-cargo-glibc217");
    let path = prepend_path(&bin_dir, "PATH");
    let pythonpath = prepend_path(&site, "PYTHONPATH");
    let zig_cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zig-global-cache");
    let envs = [
        ("PATH", path.to_str().expect("PATH is UTF-8")),
        (
            "PYTHONPATH",
            pythonpath.to_str().expect("PYTHONPATH is UTF-8"),
        ),
        ("CARGO_TARGET_DIR", target_dir.to_str().unwrap()),
        ("ZIG_GLOBAL_CACHE_DIR", zig_cache.to_str().unwrap()),
    ];

    let (output, stdout, stderr) = scf(
        &workspace_root(),
        &["build", "--target", "glibc2.17", "-p", "example-echo"],
        &envs,
    );
    println!("{stdout}");
    let tail: String = stderr.lines().rev().take(30).collect::<Vec<_>>().join("\n");
    assert!(output.status.success(), "{stdout}\n{tail}");
    assert!(
        stdout.contains("building example-echo (example-echo) for glibc2.17, debug"),
        "{stdout}"
    );
    // cargo-zigbuild drops the `.2.17` suffix from the output directory.
    let bin = target_dir.join("x86_64-unknown-linux-gnu/debug/example-echo");
    assert!(
        stdout.contains(&format!("verify {}: ok", bin.display())),
        "{stdout}"
    );
    assert!(stdout.contains("linking:      dynamic"), "{stdout}");
    assert!(
        stdout.contains(&format!("built {}", bin.display())),
        "{stdout}"
    );

    // The binary itself, checked through the library: a dynamic x86_64 ELF loaded by the
    // standard loader whose newest glibc symbol version is at most 2.17.
    let report = verify(&bin, &VerifyOptions::default()).expect("the binary is readable");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.linking, Some(Linking::Dynamic), "{report}");
    assert_eq!(
        report.interpreter.as_deref(),
        Some(Arch::X86_64.glibc_interpreter()),
        "{report}"
    );
    assert_eq!(
        report.interpreter.as_deref(),
        Some("/lib64/ld-linux-x86-64.so.2")
    );
    let newest = report
        .max_glibc
        .clone()
        .expect("a glibc binary imports versioned glibc symbols");
    assert!(newest <= Version::glibc_2_17(), "{report}");
    println!("newest glibc symbol version required: GLIBC_{newest}");

    // `cargo scf package` builds the release binary the same way and zips it at mode 0755.
    let release = target_dir.join("x86_64-unknown-linux-gnu/release/example-echo");
    let (output, stdout, stderr) = scf(
        &workspace_root(),
        &["package", "-p", "example-echo", "--target", "glibc2.17"],
        &envs,
    );
    println!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "bootstrap: {} (glibc2.17, release)",
            release.display()
        )),
        "{stdout}"
    );
    let zip_path = target_dir.join("scf/example-echo/bootstrap.zip");
    assert_eq!(stdout.lines().last(), zip_path.to_str(), "{stdout}");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    assert_eq!(archive.len(), 1);
    let entry = archive
        .by_name("bootstrap")
        .expect("the zip holds bootstrap");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    assert_eq!(entry.size(), std::fs::metadata(&release).unwrap().len());
}

fn write_crate(dir: &Path, name: &str, profile: &str, bin: bool) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n{profile}"
        ),
    )
    .unwrap();
    if bin {
        std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    } else {
        std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    }
}

#[test]
fn an_aborting_profile_and_a_target_cpu_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("aborts");
    write_crate(
        &project,
        "aborts",
        "[profile.dev]\npanic = \"abort\"\n",
        true,
    );
    let target_dir = dir.path().join("target");
    let (output, stdout, stderr) = scf(
        &project,
        &[
            "build",
            "--target",
            "native",
            "--no-verify",
            "--target-dir",
            target_dir.to_str().unwrap(),
        ],
        &[("RUSTFLAGS", "-C target-cpu=native")],
    );
    println!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("[profile.dev] sets panic = \"abort\""),
        "{stdout}"
    );
    assert!(stdout.contains("RUSTFLAGS sets target-cpu"), "{stdout}");
    // The report is printed even with --no-verify, and the binary is where it says.
    let bin = target_dir.join("debug/aborts");
    assert!(
        stdout.contains(&format!("verify {}", bin.display())),
        "{stdout}"
    );
    assert!(bin.is_file());
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();

    let (output, _, stderr) = scf(dir.path(), &["build"], &[]);
    assert!(!output.status.success());
    assert!(stderr.contains("no Cargo.toml in"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let lib = dir.path().join("just-a-lib");
    write_crate(&lib, "just-a-lib", "", false);
    let (output, _, stderr) = scf(&lib, &["build"], &[]);
    assert!(!output.status.success());
    assert!(
        stderr.contains("package `just-a-lib` has no binary target"),
        "{stderr}"
    );

    let (output, _, stderr) = scf(&lib, &["build", "-p", "other"], &[]);
    assert!(!output.status.success());
    assert!(stderr.contains("unknown package `other`"), "{stderr}");
    assert!(stderr.contains("just-a-lib"), "{stderr}");

    let (output, _, stderr) = scf(&lib, &["build", "--target", "windows"], &[]);
    assert!(!output.status.success());
    assert!(
        stderr.contains("musl"),
        "the accepted targets are listed: {stderr}"
    );

    let (output, stdout, _) = scf(&lib, &["build", "--help"], &[]);
    assert!(output.status.success());
    assert!(stdout.contains("Examples:"), "{stdout}");
}
