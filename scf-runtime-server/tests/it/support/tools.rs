//! Helpers shared by the `tools_*` tests: compiling small programs with gcc and rustc.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether `program --version` runs.
pub(crate) fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether the rust std for `target` is installed.
pub(crate) fn have_rust_target(target: &str) -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir()
}

/// Compiles C source `src` with gcc and `args` into `dir/name`; panics with gcc's output on failure.
pub(crate) fn gcc(dir: &Path, name: &str, src: &str, args: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let out = dir.join(name);
    let output = Command::new("gcc")
        .arg("-o")
        .arg(&out)
        .arg(&c)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("gcc runs");
    assert!(
        output.status.success(),
        "gcc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// Compiles a one-file Rust program with rustc (debug) into `dir/name`, for `target` or the host.
pub(crate) fn rustc(dir: &Path, name: &str, src: &str, target: Option<&str>) -> PathBuf {
    let rs = dir.join(format!("{name}.rs"));
    std::fs::write(&rs, src).unwrap();
    let out = dir.join(name);
    let mut cmd = Command::new("rustc");
    cmd.arg("--edition=2021").arg("-o").arg(&out).arg(&rs);
    if let Some(target) = target {
        cmd.args(["--target", target]);
    }
    let output = cmd.current_dir(dir).output().expect("rustc runs");
    assert!(
        output.status.success(),
        "rustc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// A small Rust program that touches threads, time and randomness like real bootstraps do.
pub(crate) const RUST_HELLO: &str = r#"
use std::collections::HashMap;
fn main() {
    let mut m = HashMap::new();
    m.insert("k", std::time::SystemTime::now());
    let h = std::thread::spawn(move || m.len());
    println!("hello {}", h.join().unwrap());
}
"#;
