//! `cargo scf package`: the zip's entry, mode and timestamps, byte-identical output across runs, the
//! cargo-project layout, and the bootstraps it refuses.

use crate::support::tools as support;

use std::io::Read;
use std::path::{Path, PathBuf};

use scf_runtime_server::cli::package::{PackageArgs, package_in};
use scf_runtime_server::cli::{BuildTarget, ToolError};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A bootstrap that verifies: a static ELF when this machine can make one, else a script.
fn good_bootstrap(dir: &Path) -> PathBuf {
    if support::have_rust_target("x86_64-unknown-linux-musl") {
        return support::rustc(
            dir,
            "server",
            "fn main() { println!(\"hi\"); }",
            Some("x86_64-unknown-linux-musl"),
        );
    }
    eprintln!("note: no musl std; packaging a script bootstrap instead of a static binary");
    let path = dir.join("server");
    std::fs::write(&path, "#!/bin/bash\nexec /bin/true\n").unwrap();
    chmod(&path, 0o755);
    path
}

fn package(args: PackageArgs, cwd: &Path) -> (Result<PathBuf, ToolError>, String) {
    let mut out = Vec::new();
    let result = package_in(&args, cwd, &mut out).map(|o| o.zip);
    (result, String::from_utf8(out).unwrap())
}

/// (name, unix mode, modified (y, m, d, h, min, s), data) of every entry.
type Entry = (String, Option<u32>, (u16, u8, u8, u8, u8, u8), Vec<u8>);

fn entries(zip: &Path) -> Vec<Entry> {
    let file = std::fs::File::open(zip).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let t = entry.last_modified().unwrap_or_default();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        entries.push((
            entry.name().unwrap().into_owned(),
            entry.unix_mode(),
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            ),
            data,
        ));
    }
    entries
}

#[test]
fn the_zip_has_one_executable_bootstrap_entry_and_is_reproducible() {
    let dir = tempdir();
    let bin = good_bootstrap(dir.path());
    let args = |out: &str| PackageArgs {
        bootstrap: Some(bin.clone()),
        output: Some(dir.path().join(out)),
        ..PackageArgs::default()
    };
    let (first, printed) = package(args("a/bootstrap.zip"), dir.path());
    let first = first.unwrap_or_else(|e| panic!("{e}"));
    println!("{printed}");
    assert_eq!(
        printed.lines().last().unwrap(),
        first.display().to_string(),
        "the zip's path is the last line"
    );
    assert!(printed.contains("mode 0755"), "{printed}");
    assert!(printed.contains("B)") || printed.contains("KiB)") || printed.contains("MiB)"));

    let listed = entries(&first);
    assert_eq!(listed.len(), 1);
    let (name, mode, modified, data) = &listed[0];
    assert_eq!(name, "bootstrap");
    assert_eq!(*mode, Some(0o100755), "a regular file with mode 0755");
    assert_eq!(*modified, (1980, 1, 1, 0, 0, 0));
    assert_eq!(*data, std::fs::read(&bin).unwrap());

    // Touch the input: a new mtime must not change a byte.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&bin, std::fs::read(&bin).unwrap()).unwrap();
    let (second, _) = package(args("b/bootstrap.zip"), dir.path());
    let second = second.unwrap();
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap(),
        "two packagings give identical bytes"
    );
}

#[test]
fn web_functions_get_scf_bootstrap_and_includes_are_sorted() {
    let dir = tempdir();
    let bin = good_bootstrap(dir.path());
    let assets = dir.path().join("assets");
    std::fs::create_dir_all(assets.join("css")).unwrap();
    std::fs::write(assets.join("index.html"), "<h1>hi</h1>").unwrap();
    std::fs::write(assets.join("css/site.css"), "h1{}").unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let args = PackageArgs {
        bootstrap: Some(bin),
        web: true,
        include: vec!["config.json".into(), "assets".into()],
        output: Some("web.zip".into()),
        ..PackageArgs::default()
    };
    let (zip, printed) = package(args.clone(), dir.path());
    let zip = zip.unwrap_or_else(|e| panic!("{e}"));
    let listed = entries(&zip);
    let names: Vec<&str> = listed.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "assets/css/site.css",
            "assets/index.html",
            "config.json",
            "scf_bootstrap"
        ],
        "{printed}"
    );
    assert_eq!(listed[3].1, Some(0o100755));
    assert_eq!(listed[2].1, Some(0o100644));

    // An included file may not shadow the bootstrap.
    std::fs::write(dir.path().join("scf_bootstrap"), "x").unwrap();
    let shadow = PackageArgs {
        include: vec!["scf_bootstrap".into()],
        ..args
    };
    let err = package(shadow, dir.path()).0.unwrap_err().to_string();
    assert!(
        err.contains("would replace the scf_bootstrap entry"),
        "{err}"
    );
}

#[test]
fn a_non_executable_bootstrap_is_refused() {
    let dir = tempdir();
    let bin = good_bootstrap(dir.path());
    chmod(&bin, 0o644);
    let args = PackageArgs {
        bootstrap: Some(bin),
        output: Some("out.zip".into()),
        no_verify: true,
        ..PackageArgs::default()
    };
    let err = package(args, dir.path()).0.unwrap_err().to_string();
    assert!(err.contains("not executable"), "{err}");
    assert!(err.contains("refusing to package"), "{err}");
    assert!(!dir.path().join("out.zip").exists());
}

#[test]
fn a_wrong_architecture_is_refused_even_without_verification() {
    let dir = tempdir();
    let bin = support::rustc(dir.path(), "server", "fn main() {}", None);
    let mut bytes = std::fs::read(&bin).unwrap();
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    std::fs::write(&bin, bytes).unwrap();
    let args = PackageArgs {
        bootstrap: Some(bin),
        output: Some("out.zip".into()),
        no_verify: true,
        ..PackageArgs::default()
    };
    let err = package(args, dir.path()).0.unwrap_err().to_string();
    assert!(err.contains("built for aarch64"), "{err}");
    assert!(!dir.path().join("out.zip").exists());
}

#[test]
fn a_binary_needing_new_glibc_is_refused_unless_told_otherwise() {
    let dir = tempdir();
    let bin = support::rustc(dir.path(), "server", support::RUST_HELLO, None);
    let args = PackageArgs {
        bootstrap: Some(bin),
        output: Some("out.zip".into()),
        ..PackageArgs::default()
    };
    let (result, _) = package(args.clone(), dir.path());
    let Err(err) = result else {
        eprintln!("SKIPPED: this host's glibc is old enough for SCF; nothing to refuse");
        return;
    };
    let err = err.to_string();
    assert!(err.contains("requires GLIBC_"), "{err}");
    assert!(err.contains("--no-verify"), "{err}");
    let forced = PackageArgs {
        no_verify: true,
        ..args
    };
    let (zip, printed) = package(forced, dir.path());
    assert!(zip.is_ok(), "{printed}");
    assert!(printed.contains("packaging anyway"), "{printed}");
}

fn write_crate(dir: &Path, name: &str, marker: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        format!("fn main() {{ println!(\"{marker}\"); }}\n"),
    )
    .unwrap();
}

/// Unpacks the zip's `bootstrap` next to it and runs it; what it printed.
fn run_packaged(zip: &Path) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut entry = archive.by_name("bootstrap").unwrap();
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    let exe = zip.with_file_name("unpacked-bootstrap");
    std::fs::write(&exe, bytes).unwrap();
    chmod(&exe, 0o755);
    let output = std::process::Command::new(&exe).output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_cargo_project_is_built_and_its_latest_code_packaged() {
    let dir = tempdir();
    let project = dir.path().join("hello-fn");
    write_crate(&project, "hello-fn", "first answer");
    let target_dir = dir.path().join("target");
    // The host toolchain builds anywhere; its binary fails the glibc check on a current
    // distribution, which --no-verify lets through (executable and architecture still checked).
    let args = PackageArgs {
        target_dir: Some(target_dir.clone()),
        target: Some(BuildTarget::Native),
        no_verify: true,
        ..PackageArgs::default()
    };

    let (zip, printed) = package(args.clone(), &project);
    let zip = zip.unwrap_or_else(|e| panic!("{e}\n{printed}"));
    println!("{printed}");
    assert_eq!(zip, target_dir.join("scf/hello-fn/bootstrap.zip"));
    assert!(
        printed.contains("building hello-fn (hello-fn) for native, release"),
        "{printed}"
    );
    assert!(printed.contains("(native, release)"), "{printed}");
    assert_eq!(printed.lines().last().unwrap(), zip.display().to_string());
    assert_eq!(entries(&zip)[0].0, "bootstrap");
    assert_eq!(run_packaged(&zip), "first answer");

    // An edit after the build: packaging again ships the new code, never the older binary.
    write_crate(&project, "hello-fn", "second answer");
    let (zip, printed) = package(args.clone(), &project);
    let zip = zip.unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert_eq!(run_packaged(&zip), "second answer");

    // Unknown package and no Cargo.toml are clear errors.
    let unknown = PackageArgs {
        package: Some("nope".into()),
        ..args.clone()
    };
    let err = package(unknown, &project).0.unwrap_err().to_string();
    assert!(err.contains("unknown package `nope`"), "{err}");
    assert!(err.contains("hello-fn"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = package(args, &empty).0.unwrap_err().to_string();
    assert!(err.contains("no Cargo.toml"), "{err}");
}
