//! `cargo scf new`: every trigger's project builds and its fixture test passes out of the box (one
//! `cargo test --offline` over all of them), the scf dependency is a path inside a checkout,
//! and bad input is refused clearly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TRIGGERS: &[&str] = &["apigw", "timer", "cos", "ckafka", "cmq", "http-router"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Shared with the other tools tests: nested cargo runs cannot use the outer target dir.
fn nested_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("tools-cargo")
}

fn scf(cwd: &Path, args: &[&str]) -> (Output, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("scf runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

#[test]
fn every_trigger_template_passes_its_own_tests() {
    let dir = tempfile::tempdir().unwrap();
    let root = workspace_root();
    for trigger in TRIGGERS {
        let name = format!("fn-{trigger}");
        // Outside any checkout and with no flag, the dependency is the source this tool was
        // built from.
        let (output, stdout, stderr) = scf(dir.path(), &["new", &name, "--trigger", trigger]);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!(
                "dependency: scf-rs from {} (the source this tool was built from)",
                root.display()
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("created `{name}` ({trigger} trigger)")),
            "{stdout}"
        );
        let project = dir.path().join(&name);
        for file in ["Cargo.toml", "src/main.rs", "scf.toml", ".gitignore"] {
            assert!(project.join(file).is_file(), "{file} missing for {trigger}");
        }
        let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("scf-rs = {{ path = \"{}\"", root.display())),
            "{manifest}"
        );
        assert!(manifest.contains("panic = \"unwind\""), "{manifest}");
        assert!(
            !manifest.contains("[workspace]"),
            "not inside a workspace: {manifest}"
        );
        let gitignore = std::fs::read_to_string(project.join(".gitignore")).unwrap();
        assert!(gitignore.lines().any(|l| l == "/.scf/"), "{gitignore}");
        let main = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
        assert!(main.contains("#[scf::function]"), "{main}");
        assert!(main.contains("scf::events::fixtures::get(\""), "{main}");
        let config = std::fs::read_to_string(project.join("scf.toml")).unwrap();
        assert!(config.contains(&format!("[functions.{name}]")), "{config}");
        toml::from_str::<toml::Table>(&config).expect("scf.toml is valid TOML");
    }

    // One workspace over the generated projects, pinned to this workspace's lock file, so the
    // `scf-rs` crate and its dependencies compile once for all of them.
    let members: Vec<String> = TRIGGERS.iter().map(|t| format!("\"fn-{t}\"")).collect();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[workspace]\nresolver = \"3\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["test", "--offline", "--workspace"])
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && stderr.contains("--offline") && stderr.contains("failed to") {
        eprintln!(
            "SKIPPED: the dependencies are not in the local cargo cache (offline):\n{stderr}"
        );
        return;
    }
    assert!(
        output.status.success(),
        "cargo test failed:\n{stdout}\n{stderr}"
    );
    let passed = stdout
        .lines()
        .filter(|l| l.starts_with("test result: ok. 1 passed"))
        .count();
    assert_eq!(
        passed,
        TRIGGERS.len(),
        "one passing fixture test per project:\n{stdout}"
    );
}

#[test]
fn inside_an_scf_checkout_the_dependency_is_a_relative_path() {
    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("scf-rs");
    std::fs::create_dir_all(&checkout).unwrap();
    std::fs::write(
        checkout.join("Cargo.toml"),
        "[workspace]\nmembers = [\".\"]\n\n[package]\nname = \"scf-rs\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let (output, stdout, stderr) = scf(
        &checkout,
        &[
            "new",
            "thumbs",
            "--trigger",
            "cos",
            "--path",
            "functions/thumbs",
        ],
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let manifest = std::fs::read_to_string(checkout.join("functions/thumbs/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("scf-rs = { path = \"../..\" }"),
        "{manifest}"
    );
    assert!(
        manifest.contains("scf-rs = { path = \"../..\", features = [\"fixtures\"] }"),
        "{manifest}"
    );
    // Inside another workspace the project gets its own, so cargo accepts it as it is.
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    assert!(stdout.contains("its own [workspace] table"), "{stdout}");
    let main = std::fs::read_to_string(checkout.join("functions/thumbs/src/main.rs")).unwrap();
    assert!(main.contains("use scf::events::cos::CosEvent;"), "{main}");
    assert!(main.contains("fixtures::get(\"cos-put\")"), "{main}");
    assert!(
        stdout.lines().any(|l| l.trim() == "cd functions/thumbs"),
        "{stdout}"
    );
}

#[test]
fn crates_io_git_and_path_dependencies_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout, stderr) = scf(dir.path(), &["new", "hello", "--crates-io"]);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let manifest = std::fs::read_to_string(dir.path().join("hello/Cargo.toml")).unwrap();
    let version = env!("CARGO_PKG_VERSION").rsplit_once('.').unwrap().0;
    assert!(
        manifest.contains(&format!("scf-rs = {{ version = \"{version}\" }}")),
        "{manifest}"
    );
    assert!(
        stdout.contains(&format!("dependency: scf-rs {version} from crates.io")),
        "{stdout}"
    );
    let url = "https://github.com/scf-rs/scf-rs";
    let (output, stdout, stderr) = scf(dir.path(), &["new", "viagit", "--scf-git", url]);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let manifest = std::fs::read_to_string(dir.path().join("viagit/Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("scf-rs = {{ git = \"{url}\" }}")),
        "{manifest}"
    );
    let root = workspace_root();
    let (output, stdout, stderr) = scf(
        dir.path(),
        &["new", "viapath", "--scf-path", root.to_str().unwrap()],
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let manifest = std::fs::read_to_string(dir.path().join("viapath/Cargo.toml")).unwrap();
    let path = manifest
        .lines()
        .find_map(|l| l.strip_prefix("scf-rs = { path = \""))
        .and_then(|rest| rest.strip_suffix("\" }"))
        .unwrap_or_else(|| panic!("no scf-rs path dependency:\n{manifest}"));
    assert_eq!(
        dir.path()
            .join("viapath")
            .join(path)
            .canonicalize()
            .unwrap(),
        root.canonicalize().unwrap(),
        "{manifest}"
    );
    // The default trigger is API Gateway.
    let main = std::fs::read_to_string(dir.path().join("hello/src/main.rs")).unwrap();
    assert!(main.contains("ApiGatewayRequest"), "{main}");
}

#[test]
fn bad_input_is_refused_without_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/keep.txt"), "mine").unwrap();

    let (output, _, stderr) = scf(dir.path(), &["new", "taken"]);
    assert!(!output.status.success());
    assert!(
        stderr.contains("already exists and is not empty"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("taken")).unwrap().count(),
        1
    );

    let (output, _, stderr) = scf(dir.path(), &["new", "9lives"]);
    assert!(!output.status.success());
    assert!(
        stderr.contains("`9lives` is not a valid function name"),
        "{stderr}"
    );

    let (output, _, stderr) = scf(dir.path(), &["new", "x", "--scf-path", "/nonexistent"]);
    assert!(!output.status.success());
    assert!(stderr.contains("--scf-path /nonexistent"), "{stderr}");
    assert!(!dir.path().join("x").exists());

    let (output, _, stderr) = scf(dir.path(), &["new", "x", "--trigger", "sqs"]);
    assert!(!output.status.success());
    assert!(
        stderr.contains("http-router"),
        "the accepted triggers are listed: {stderr}"
    );

    let (output, stdout, _) = scf(dir.path(), &["new", "--help"]);
    assert!(output.status.success());
    assert!(stdout.contains("Examples:"), "{stdout}");
}
