//! Test tools from PyPI: `pip install --target` into a folder of the target dir, once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Installs the pinned `packages` (`name==version`) into `<root>/site` unless it is there, and
/// returns that folder. Installs beside it and renames it into place, so concurrent test
/// processes never see half a tree. `Err` says why the tools cannot be had (no python3, no pip,
/// no network).
pub(crate) fn install(root: &Path, packages: &[&str]) -> Result<PathBuf, String> {
    let site = root.join("site");
    if site.is_dir() {
        return Ok(site);
    }
    std::fs::create_dir_all(root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let staging = root.join(format!("site.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--timeout",
            "30",
            "--retries",
            "2",
            "--target",
        ])
        .arg(&staging)
        .args(packages)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(format!(
            "pip install {} failed ({}): {}",
            packages.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if std::fs::rename(&staging, &site).is_err() {
        // Another process installed it first.
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(site)
}

/// Makes `file` executable (wheels do not always keep the mode).
pub(crate) fn make_executable(file: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755));
}

/// Says a test is skipped and why, on the process's stderr (not captured by the test harness,
/// so it shows in every run).
pub(crate) fn skipped(test: &str, reason: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}
