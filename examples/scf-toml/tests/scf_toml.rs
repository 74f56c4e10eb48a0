//! The workspace's `scf.toml` is what `cargo run -p scf-runtime-server -- serve` hosts: it must
//! load, its triggers must set up, every `package` it names must be an example of this workspace,
//! and every example must be hosted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use scf_runtime_server::InvokeError;
use scf_runtime_server::config::Code;
use scf_runtime_server::host::Invoker;
use scf_runtime_server::triggers::TriggerSetup;
use scf_runtime_server::{Config, FunctionConfig};

/// The workspace root (this crate is `examples/scf-toml`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate sits two levels below the workspace root")
        .to_owned()
}

fn load() -> Config {
    let path = workspace_root().join("scf.toml");
    Config::load(&path).unwrap_or_else(|e| panic!("scf.toml does not load: {e}"))
}

/// One crate under `examples/`.
#[derive(Debug)]
struct Example {
    /// The folder's name, e.g. `cos`.
    folder: String,
    /// Whether it builds a binary named like the package (what `package =` runs).
    has_binary: bool,
}

/// Every crate under `examples/` but this one, by package name.
fn examples() -> BTreeMap<String, Example> {
    let dir = workspace_root().join("examples");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("examples/ is readable") {
        let path = entry.unwrap().path();
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest).unwrap();
        let manifest_toml: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let name = manifest_toml["package"]["name"]
            .as_str()
            .expect("package.name is a string")
            .to_owned();
        if name == env!("CARGO_PKG_NAME") {
            continue;
        }
        let named_bins = manifest_toml
            .get("bin")
            .and_then(toml::Value::as_array)
            .map(|bins| {
                bins.iter()
                    .any(|b| b.get("name").and_then(toml::Value::as_str) == Some(name.as_str()))
            })
            .unwrap_or(false);
        found.insert(
            name,
            Example {
                folder: path.file_name().unwrap().to_string_lossy().into_owned(),
                has_binary: named_bins || path.join("src/main.rs").is_file(),
            },
        );
    }
    assert!(!found.is_empty(), "no crate under {}", dir.display());
    found
}

fn package_of(function: &FunctionConfig) -> Option<&str> {
    match &function.code {
        Code::Package { name, .. } => Some(name),
        _ => None,
    }
}

/// The triggers only get set up here; nothing is invoked.
#[derive(Clone)]
struct NeverInvoked;

impl Invoker for NeverInvoked {
    async fn invoke(&self, function: &str, _: Bytes) -> Result<Bytes, InvokeError> {
        panic!("{function} invoked while only checking the config")
    }

    async fn invoke_async(&self, function: &str, _: Bytes) -> Result<String, InvokeError> {
        panic!("{function} invoked while only checking the config")
    }
}

#[test]
fn every_package_is_an_example_with_a_binary() {
    let config = load();
    let examples = examples();
    for function in &config.functions {
        let package = package_of(function).unwrap_or_else(|| {
            panic!(
                "function {} runs a `bootstrap` path; the workspace's scf.toml hosts examples by `package`",
                function.name
            )
        });
        let example = examples.get(package).unwrap_or_else(|| {
            panic!(
                "function {} names package {package:?}, which is no crate under examples/ (there are: {:?})",
                function.name,
                examples.keys().collect::<Vec<_>>()
            )
        });
        assert!(
            example.has_binary,
            "{package} (examples/{}) has no binary named {package}",
            example.folder
        );
    }
}

#[test]
fn every_example_is_hosted_under_its_folder_name() {
    let config = load();
    for (package, example) in examples() {
        let function = config.function(&example.folder).unwrap_or_else(|| {
            panic!(
                "examples/{} ({package}) is not hosted: add [functions.{}] with package = \"{package}\" to scf.toml",
                example.folder, example.folder
            )
        });
        assert_eq!(
            package_of(function),
            Some(package.as_str()),
            "[functions.{}] should run {package}",
            example.folder
        );
    }
}

#[tokio::test]
async fn every_trigger_sets_up_as_scf_serve_does_it() {
    let mut config = load();
    // Functions need an executable path; nothing is started, so the build is not needed.
    for package in config.packages() {
        let path = workspace_root().join("target/release").join(&package);
        config.set_package_binary(&package, &path);
    }
    let mut setup = TriggerSetup::new(NeverInvoked);
    for function in &config.functions {
        setup.add_function(&function.name, function.is_web(), &function.triggers);
    }
    let triggers = setup.finish();
    // The timer is meant to fire now and then, not flood the log.
    assert!(
        !triggers.timers.is_empty(),
        "the timer example has no timer trigger"
    );
    for timer in &triggers.timers {
        let now = chrono::Utc::now();
        let fires = timer.next_fires(now, 3);
        assert_eq!(fires.len(), 3, "timer {} never fires", timer.name);
        let gap = fires[1] - fires[0];
        assert!(
            gap.num_seconds() >= 10,
            "timer {} fires every {} s; keep it at 10 s or more",
            timer.name,
            gap.num_seconds()
        );
    }
}
