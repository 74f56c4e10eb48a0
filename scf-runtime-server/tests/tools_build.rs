//! `scf build` through the `scf` binary: the example function built for the target this machine
//! offers and verified, the profile and RUSTFLAGS warnings, and the errors for bad input.

#[path = "tools/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scf_runtime_server::tools::build::{rust_target_installed, zigbuild_available};

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
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scf"));
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
        eprintln!(
            "note: neither the musl std nor cargo-zigbuild is installed: checking the native fallback"
        );
        assert!(
            stdout.contains("WARNING"),
            "the native build warns loudly: {stdout}"
        );
        assert!(stdout.contains("for native"), "{stdout}");
        // The host's glibc is newer than CentOS 7's on any current distribution: the build
        // fails verification and names what is too new.
        if output.status.success() {
            assert!(stdout.contains(": ok"), "{stdout}");
        } else {
            assert!(stdout.contains("requires GLIBC_2."), "{stdout}");
            assert!(stdout.contains("@GLIBC_2."), "{stdout}");
            assert!(stderr.contains("verification failed"), "{tail}");
        }
    }
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
