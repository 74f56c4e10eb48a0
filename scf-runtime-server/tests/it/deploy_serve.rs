//! `cargo scf deploy` onto a running `cargo scf serve`, as a user would target SCF: the echo
//! example built, zipped and created; a dry run that changes nothing; changed code redeployed and
//! published; an alias splitting traffic 90/10 between two versions; `info`, `logs`, `remove`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::host::{TempDir, cloud, python_script, send};
use crate::support::recorder::{Serve, free_port};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `cargo scf <args>` in `dir`, with no Tencent Cloud credentials (a loopback endpoint needs none).
fn cargo_scf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args(args)
        .current_dir(dir)
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .env("HOME", dir)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn deploy(dir: &Path, endpoint: &str, extra: &[&str]) -> String {
    let manifest = repo_root().join("Cargo.toml");
    let mut args = vec![
        "deploy",
        "--all",
        "--endpoint",
        endpoint,
        "--manifest-path",
        manifest.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = cargo_scf(dir, &args);
    let printed = text(&out);
    assert!(
        out.status.success(),
        "cargo scf deploy {extra:?} failed:\n{printed}"
    );
    printed
}

async fn get_function(addr: SocketAddr) -> Value {
    cloud(addr, "GetFunction", json!({"FunctionName": "app"})).await["Response"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_to_a_local_serve_publish_and_split_an_alias() {
    const TEST: &str = "deploy_serve::deploy_to_a_local_serve_publish_and_split_an_alias";
    let Some(tagged) = python_script("tests/scripts/tagged_bootstrap.py") else {
        return;
    };
    if !crate::support::tools::have_rust_target("x86_64-unknown-linux-musl")
        && !crate::support::tools::have("cargo-zigbuild")
    {
        crate::support::pypi::skipped(
            TEST,
            "neither the x86_64-unknown-linux-musl target nor cargo-zigbuild is installed, so cargo scf deploy cannot build for SCF",
        );
        return;
    }
    let server_dir = TempDir::new("deploy-serve");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    std::fs::write(
        server_dir.path().join("scf.toml"),
        format!("[server]\nlisten = \"{addr}\"\nstate_dir = \"state\"\n"),
    )
    .unwrap();
    let _server = Serve::start(server_dir.path(), addr);
    let endpoint = format!("http://{addr}");

    // The echo example, as the project's scf.toml describes it.
    let project = TempDir::new("deploy-project");
    let config = project.path().join("scf.toml");
    std::fs::write(
        &config,
        "[functions.app]\npackage = \"example-echo\"\nmemory_mb = 128\ntimeout_s = 3\ndescription = \"echo\"\n",
    )
    .unwrap();
    let printed = deploy(project.path(), &endpoint, &["--publish"]);
    assert!(
        printed.contains("create"),
        "the plan says create:\n{printed}"
    );
    let got = get_function(addr).await;
    assert_eq!(got["Status"], "Active", "{got}");
    assert_eq!(got["Description"], "echo");
    let answer = cloud(
        addr,
        "Invoke",
        json!({"FunctionName": "app", "ClientContext": "{\"hi\":1}"}),
    )
    .await;
    assert_eq!(
        answer["Response"]["Result"]["RetMsg"], "{\"hi\":1}",
        "{answer}"
    );

    // A dry run shows the change and makes none.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("memory_mb = 128", "memory_mb = 256"),
    )
    .unwrap();
    let plan = deploy(project.path(), &endpoint, &["--dry-run"]);
    assert!(
        plan.contains("256"),
        "the plan shows the new memory size:\n{plan}"
    );
    assert_eq!(
        get_function(addr).await["MemorySize"],
        128,
        "--dry-run changed the function"
    );

    // Changed code: the tagged script instead of the example, published as version 2; the alias
    // keeps 90% on version 1.
    let script = std::fs::read_to_string(&tagged)
        .unwrap()
        .replace("BUILTIN_TAG = \"builtin\"", "BUILTIN_TAG = \"v2\"");
    let boot = project.path().join("boot");
    std::fs::write(&boot, script).unwrap();
    crate::support::pypi::make_executable(&boot);
    std::fs::write(
        &config,
        "[functions.app]\nbootstrap = \"boot\"\nmemory_mb = 128\ntimeout_s = 3\ndescription = \"tagged\"\n",
    )
    .unwrap();
    let printed = deploy(
        project.path(),
        &endpoint,
        &["--publish", "--alias", "live", "--weight", "1=90"],
    );
    assert!(printed.contains("live"), "{printed}");
    let got = get_function(addr).await;
    assert_eq!(
        (got["Status"].as_str(), got["Description"].as_str()),
        (Some("Active"), Some("tagged"))
    );
    let alias = cloud(
        addr,
        "GetAlias",
        json!({"FunctionName": "app", "Name": "live"}),
    )
    .await;
    assert_eq!(alias["Response"]["FunctionVersion"], "2", "{alias}");

    let mut to_v2 = 0;
    for _ in 0..1000 {
        let answer = send(
            addr,
            http::Request::post("/functions/app/invocations")
                .header("x-scf-qualifier", "live")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    b"{\"n\":1}",
                )))
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        match answer.json() {
            v if v["tag"] == "v2" => to_v2 += 1,
            v => assert_eq!(v, json!({"n": 1}), "version 1 is the echo example"),
        }
    }
    // 10% of 1,000 to version 2: 100, with a standard deviation of about 9.5 (the bounds are 5
    // of them).
    assert!(
        (50..=150).contains(&to_v2),
        "version 2 got {to_v2} of 1000, not about 100"
    );

    let info = cargo_scf(project.path(), &["info", "app", "--endpoint", &endpoint]);
    let shown = text(&info);
    assert!(
        info.status.success() && shown.contains("live") && shown.contains("Active"),
        "{shown}"
    );
    let logs = cargo_scf(project.path(), &["logs", "app", "--endpoint", &endpoint]);
    assert!(logs.status.success(), "{}", text(&logs));
    let removed = cargo_scf(
        project.path(),
        &["remove", "app", "--yes", "--endpoint", &endpoint],
    );
    assert!(removed.status.success(), "{}", text(&removed));
    let gone = cloud(addr, "GetFunction", json!({"FunctionName": "app"})).await;
    assert_eq!(
        gone["Response"]["Error"]["Code"],
        "ResourceNotFound.Function"
    );
}
