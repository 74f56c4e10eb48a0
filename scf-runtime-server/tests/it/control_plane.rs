//! `cargo scf serve` as a control plane: functions deployed through the Cloud API's management
//! actions, with SCF's statuses, versions, weighted aliases, triggers, logs and limits, kept
//! across a SIGKILL of the server; and the same flow driven by Tencent's own Python SDK.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::host::{TempDir, cloud, python_script, send};
use crate::support::recorder::{Serve, free_port};

/// A zip with the tagged bootstrap as `bootstrap` (mode 0755) and `tag.txt` = `tag`, an
/// optional init delay on its second line.
fn zip(tag: &str, init_sleep_s: f64) -> Vec<u8> {
    let script = python_script("tests/scripts/tagged_bootstrap.py").expect("python3");
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        let exec = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file("bootstrap", exec).unwrap();
        w.write_all(&std::fs::read(script).unwrap()).unwrap();
        let plain = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
        w.start_file("tag.txt", plain).unwrap();
        w.write_all(format!("{tag}\n{init_sleep_s}").as_bytes())
            .unwrap();
        w.finish().unwrap();
    }
    out.into_inner()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn error_code(v: &Value) -> &str {
    v["Response"]["Error"]["Code"].as_str().unwrap_or("")
}

/// Calls `action` and fails the test on an error answer.
async fn ok(addr: SocketAddr, action: &str, params: Value) -> Value {
    let v = cloud(addr, action, params).await;
    assert!(
        v["Response"]["Error"].is_null(),
        "{action} failed: {}",
        v["Response"]["Error"]
    );
    v["Response"].clone()
}

/// Polls `GetFunction` until `Status` is not `Creating` / `Updating`; returns the statuses seen.
async fn settle(addr: SocketAddr, name: &str) -> (Vec<String>, Value) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let got = ok(addr, "GetFunction", json!({"FunctionName": name})).await;
        let status = got["Status"].as_str().unwrap_or("").to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status != "Creating" && status != "Updating" {
            return (seen, got);
        }
        assert!(Instant::now() < deadline, "{name} stayed {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn invoke_tag(addr: SocketAddr, name: &str, qualifier: Option<&str>) -> Value {
    let mut params = json!({"FunctionName": name, "ClientContext": "{\"n\":1}"});
    if let Some(q) = qualifier {
        params["Qualifier"] = json!(q);
    }
    let got = ok(addr, "Invoke", params).await;
    assert_eq!(got["Result"]["InvokeResult"], 0, "{got}");
    serde_json::from_str(got["Result"]["RetMsg"].as_str().unwrap()).unwrap()
}

fn write_config(dir: &Path, addr: SocketAddr) -> PathBuf {
    let file_fn = python_script("tests/scripts/bootstrap.py").expect("python3");
    let config = format!(
        "[server]\nlisten = \"{addr}\"\nstate_dir = \"state\"\n\n[functions.from-file]\nbootstrap = \"{}\"\n",
        file_fn.display()
    );
    let path = dir.join("scf.toml");
    std::fs::write(&path, config).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_update_publish_alias_and_restart() {
    if python_script("tests/scripts/tagged_bootstrap.py").is_none() {
        return;
    }
    let dir = TempDir::new("control");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    write_config(dir.path(), addr);
    let server = Serve::start(dir.path(), addr);

    // A zip whose bootstrap exits before ready: CreateFailed, with the reason.
    ok(
        addr,
        "CreateFunction",
        json!({
            "FunctionName": "broken", "Runtime": "CustomRuntime",
            "Code": {"ZipFile": b64(&zip("crash", 0.0))},
        }),
    )
    .await;
    let early = cloud(addr, "Invoke", json!({"FunctionName": "broken"})).await;
    assert!(
        [
            "FailedOperation.FunctionStatusError",
            "ResourceNotFound.Function"
        ]
        .contains(&error_code(&early)),
        "{early}"
    );
    let (_, broken) = settle(addr, "broken").await;
    let failed = cloud(addr, "Invoke", json!({"FunctionName": "broken"})).await;
    assert_eq!(
        error_code(&failed),
        "FailedOperation.FunctionStatusError",
        "{failed}"
    );
    assert!(
        failed["Response"]["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("CreateFailed")
    );
    assert_eq!(broken["Status"], "CreateFailed", "{broken}");
    let reason = broken["StatusReasons"][0]["ErrorMessage"].as_str().unwrap();
    assert!(
        reason.contains("refusing to start"),
        "the log is in the reason: {reason}"
    );

    // Create: Active, then invocable; the handler defaults to index.main_handler.
    ok(
        addr,
        "CreateFunction",
        json!({
            "FunctionName": "app", "Runtime": "CustomRuntime", "MemorySize": 128, "Timeout": 3,
            "Description": "first", "Code": {"ZipFile": b64(&zip("v1", 0.0))},
        }),
    )
    .await;
    let again = cloud(
        addr,
        "CreateFunction",
        json!({
            "FunctionName": "app", "Code": {"ZipFile": b64(&zip("v1", 0.0))},
        }),
    )
    .await;
    assert_eq!(error_code(&again), "ResourceInUse.Function");
    let (statuses, got) = settle(addr, "app").await;
    assert_eq!(statuses.last().unwrap(), "Active", "{statuses:?}");
    assert_eq!(got["Description"], "first");
    assert_eq!(got["Runtime"], "CustomRuntime");
    let first = invoke_tag(addr, "app", None).await;
    assert_eq!(first["tag"], "v1");
    assert_eq!(first["version"], "$LATEST");
    assert_eq!(first["handler"], "index.main_handler");

    // Update the code; its new instance takes 1.5 s to start: Updating meanwhile, the old code
    // answers, and a second change is refused until Active.
    ok(
        addr,
        "UpdateFunctionCode",
        json!({"FunctionName": "app", "ZipFile": b64(&zip("v2", 1.5))}),
    )
    .await;
    let during = ok(addr, "GetFunction", json!({"FunctionName": "app"})).await;
    assert_eq!(during["Status"], "Updating");
    assert_eq!(invoke_tag(addr, "app", None).await["tag"], "v1");
    let busy = cloud(
        addr,
        "UpdateFunctionConfiguration",
        json!({"FunctionName": "app", "Timeout": 5}),
    )
    .await;
    assert_eq!(
        error_code(&busy),
        "FailedOperation.UpdateFunctionConfiguration",
        "{busy}"
    );
    let (statuses, _) = settle(addr, "app").await;
    assert_eq!(statuses, ["Updating", "Active"]);
    assert_eq!(invoke_tag(addr, "app", None).await["tag"], "v2");

    // Publish v2 as version 1, then v3 as version 2; an alias sends 10% to version 2.
    let v1 = ok(
        addr,
        "PublishVersion",
        json!({"FunctionName": "app", "Description": "two"}),
    )
    .await;
    assert_eq!(v1["FunctionVersion"], "1");
    ok(
        addr,
        "UpdateFunctionCode",
        json!({"FunctionName": "app", "ZipFile": b64(&zip("v3", 0.0))}),
    )
    .await;
    settle(addr, "app").await;
    let v2 = ok(addr, "PublishVersion", json!({"FunctionName": "app"})).await;
    assert_eq!(v2["FunctionVersion"], "2");
    let versions = ok(
        addr,
        "ListVersionByFunction",
        json!({"FunctionName": "app"}),
    )
    .await;
    assert_eq!(versions["FunctionVersion"], json!(["$LATEST", "1", "2"]));
    let pinned = invoke_tag(addr, "app", Some("1")).await;
    assert_eq!(
        (pinned["tag"].as_str(), pinned["version"].as_str()),
        (Some("v2"), Some("1"))
    );
    let missing = cloud(
        addr,
        "Invoke",
        json!({"FunctionName": "app", "Qualifier": "9"}),
    )
    .await;
    assert_eq!(error_code(&missing), "ResourceNotFound.Qualifier");

    ok(
        addr,
        "CreateAlias",
        json!({
            "FunctionName": "app", "Name": "live", "FunctionVersion": "1",
            "RoutingConfig": {"AdditionalVersionWeights": [{"Version": "2", "Weight": 0.1}]},
        }),
    )
    .await;
    let alias = ok(
        addr,
        "GetAlias",
        json!({"FunctionName": "app", "Name": "live"}),
    )
    .await;
    assert_eq!(
        alias["RoutingConfig"]["AdditionalVersionWeights"][0]["Weight"],
        0.1
    );
    let mut to_v3 = 0;
    for _ in 0..1000 {
        let answer = send(
            addr,
            http::Request::post("/functions/app/invocations")
                .header("x-scf-qualifier", "live")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        if answer.json()["tag"] == "v3" {
            to_v3 += 1;
        }
    }
    // 10% of 1,000: 100, with a standard deviation of about 9.5 (the bounds are 5 of them).
    assert!(
        (50..=150).contains(&to_v3),
        "version 2 got {to_v3} of 1000, not about 100"
    );

    // Logs, triggers, limits and the file's function.
    let logs = ok(
        addr,
        "GetFunctionLogs",
        json!({"FunctionName": "app", "Limit": 5}),
    )
    .await;
    // $LATEST ran three times (v1, v1 while updating, v2); versions keep logs of their own.
    assert_eq!(logs["TotalCount"], 3, "{logs}");
    assert!(
        logs["Data"][0]["Log"]
            .as_str()
            .unwrap()
            .contains("tagged v2"),
        "{logs}"
    );
    let by_version = ok(
        addr,
        "GetFunctionLogs",
        json!({"FunctionName": "app", "Qualifier": "1", "Limit": 5}),
    )
    .await;
    assert_eq!(by_version["Data"].as_array().unwrap().len(), 5);
    ok(
        addr,
        "CreateTrigger",
        json!({
            "FunctionName": "app", "TriggerName": "every-second", "Type": "timer",
            "TriggerDesc": "* * * * * * *", "CustomArgument": "tick",
        }),
    )
    .await;
    let cos = cloud(
        addr,
        "CreateTrigger",
        json!({
            "FunctionName": "app", "TriggerName": "bucket", "Type": "cos", "TriggerDesc": "{}",
        }),
    )
    .await;
    assert_eq!(error_code(&cos), "InvalidParameterValue.Type", "{cos}");
    let timer_fired = async {
        loop {
            let logs = ok(
                addr,
                "GetFunctionLogs",
                json!({"FunctionName": "app", "Limit": 100}),
            )
            .await;
            if logs["Data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["Log"].as_str().is_some_and(|t| t.contains("tagged v3")))
                && logs["TotalCount"].as_u64().unwrap() > 0
            {
                break logs;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), timer_fired)
        .await
        .expect("the timer fired");
    ok(
        addr,
        "PutReservedConcurrencyConfig",
        json!({"FunctionName": "app", "ReservedConcurrencyMem": 256}),
    )
    .await;
    let reserved = ok(
        addr,
        "GetReservedConcurrencyConfig",
        json!({"FunctionName": "app"}),
    )
    .await;
    assert_eq!(reserved["ReservedMem"], 256);
    ok(
        addr,
        "PutProvisionedConcurrencyConfig",
        json!({"FunctionName": "app", "Qualifier": "1", "VersionProvisionedConcurrencyNum": 2}),
    )
    .await;
    let provisioned = ok(
        addr,
        "GetProvisionedConcurrencyConfig",
        json!({"FunctionName": "app"}),
    )
    .await;
    assert_eq!(
        provisioned["Allocated"][0]["AllocatedProvisionedConcurrencyNum"],
        2
    );
    ok(addr, "UpdateFunctionEventInvokeConfig", json!({"FunctionName": "app", "AsyncTriggerConfig": {"RetryConfig": [{"RetryNum": 0}], "MsgTTL": 600}})).await;
    let async_config = ok(
        addr,
        "GetFunctionEventInvokeConfig",
        json!({"FunctionName": "app"}),
    )
    .await;
    assert_eq!(
        async_config["AsyncTriggerConfig"],
        json!({"RetryConfig": [{"RetryNum": 0}], "MsgTTL": 600})
    );
    let file_delete = cloud(addr, "DeleteFunction", json!({"FunctionName": "from-file"})).await;
    assert!(
        error_code(&file_delete).starts_with("FailedOperation"),
        "{file_delete}"
    );
    assert!(
        file_delete["Response"]["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("scf.toml")
    );
    let listed = ok(addr, "ListFunctions", json!({})).await;
    let names: Vec<&str> = listed["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["FunctionName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["app", "broken", "from-file"]);

    // SIGKILL, start again: still listed, Active, invocable at every qualifier.
    server.sigkill();
    let server = Serve::start(dir.path(), addr);
    let got = ok(addr, "GetFunction", json!({"FunctionName": "app"})).await;
    assert_eq!(got["Status"], "Active", "{got}");
    assert_eq!(invoke_tag(addr, "app", None).await["tag"], "v3");
    assert_eq!(invoke_tag(addr, "app", Some("1")).await["tag"], "v2");
    assert!(
        ["v2", "v3"].contains(
            &invoke_tag(addr, "app", Some("live")).await["tag"]
                .as_str()
                .unwrap()
        )
    );
    let triggers = ok(addr, "ListTriggers", json!({"FunctionName": "app"})).await;
    assert_eq!(triggers["Triggers"][0]["TriggerName"], "every-second");
    let status = crate::support::host::function_status_at(addr, "app:1").await;
    assert_eq!(
        status["min_instances"], 2,
        "provisioned concurrency survives: {status}"
    );

    // Remove: versions in use by an alias stay until the alias goes; then everything goes.
    let in_use = cloud(
        addr,
        "DeleteFunction",
        json!({"FunctionName": "app", "Qualifier": "1"}),
    )
    .await;
    assert_eq!(error_code(&in_use), "ResourceInUse.Alias");
    ok(addr, "DeleteFunction", json!({"FunctionName": "app"})).await;
    let gone = cloud(addr, "GetFunction", json!({"FunctionName": "app"})).await;
    assert_eq!(error_code(&gone), "ResourceNotFound.Function");
    let gone = cloud(addr, "Invoke", json!({"FunctionName": "app"})).await;
    assert_eq!(error_code(&gone), "ResourceNotFound.Function");
    assert!(!dir.path().join("state/functions/app.json").exists());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencent_python_sdk_deploys_and_invokes() {
    const TEST: &str = "control_plane::tencent_python_sdk_deploys_and_invokes";
    let Some(script) = python_script("tests/scripts/sdk_deploy.py") else {
        return;
    };
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tencentcloud-sdk-scf");
    let site = match crate::support::pypi::install(
        &root,
        &[
            "tencentcloud-sdk-python-common==3.1.195",
            "tencentcloud-sdk-python-scf==3.1.100",
        ],
    ) {
        Ok(site) => site,
        Err(e) => {
            crate::support::pypi::skipped(
                TEST,
                &format!("Tencent's Python SDK cannot be installed: {e}"),
            );
            return;
        }
    };
    let dir = TempDir::new("control-sdk");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = format!(
        "[server]\nlisten = \"{addr}\"\nstate_dir = \"state\"\n\n[server.cloud_api]\nsecret_id = \"AKIDsdktest\"\nsecret_key = \"sdk-test-key\"\n"
    );
    std::fs::write(dir.path().join("scf.toml"), config).unwrap();
    let _server = Serve::start(dir.path(), addr);
    let (v1, v2) = (dir.path().join("v1.zip"), dir.path().join("v2.zip"));
    std::fs::write(&v1, zip("v1", 0.0)).unwrap();
    std::fs::write(&v2, zip("v2", 1.5)).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .arg(addr.to_string())
            .args(["AKIDsdktest", "sdk-test-key"])
            .arg(&v1)
            .arg(&v2)
            .env("PYTHONPATH", site)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the SDK script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    assert_eq!(
        seen["create_statuses"].as_array().unwrap().last().unwrap(),
        "Active"
    );
    assert_eq!(seen["update_statuses"][0], "Updating", "{seen}");
    assert_eq!(seen["first"]["tag"], "v1");
    assert_eq!(seen["first"]["event"], json!({"from": "sdk"}));
    assert_eq!(seen["second"]["tag"], "v2");
    assert_eq!(seen["version"], "1");
    assert_eq!(seen["alias"], "1");
    assert_eq!(seen["through_alias"]["tag"], "v2");
    assert_eq!(seen["through_alias"]["version"], "1");
    assert_eq!(seen["listed"], json!(["sdk-fn"]));
}

/// A web function (`Type: HTTP`, `scf_bootstrap` at the zip's root) deployed through the Cloud
/// API answers at its function URL, `/fn/<name>/…`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_web_function_answers_at_its_url() {
    let Some(server_script) = python_script("tests/scripts/web_server.py") else {
        return;
    };
    let dir = TempDir::new("control-web");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    write_config(dir.path(), addr);
    let _server = Serve::start(dir.path(), addr);
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        let exec = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file("scf_bootstrap", exec).unwrap();
        w.write_all(&std::fs::read(server_script).unwrap()).unwrap();
        w.finish().unwrap();
    }
    ok(
        addr,
        "CreateFunction",
        json!({
            "FunctionName": "site", "Type": "HTTP",
            "Code": {"ZipFile": b64(&out.into_inner())},
            "Environment": {"Variables": [{"Key": "SLEEP_MS", "Value": "0"}]},
        }),
    )
    .await;
    let (statuses, got) = settle(addr, "site").await;
    assert_eq!(statuses.last().unwrap(), "Active", "{got}");
    assert_eq!(got["Type"], "HTTP");
    let answer = send(addr, crate::support::host::get("/fn/site/hello?x=1")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["path"], "/hello?x=1", "{}", answer.json());
    let unknown = send(addr, crate::support::host::get("/fn/nothing/")).await;
    assert_eq!(unknown.status, 404);
    let event_invoke = cloud(addr, "Invoke", json!({"FunctionName": "site"})).await;
    assert!(
        error_code(&event_invoke).starts_with("InvalidParameterValue"),
        "{event_invoke}"
    );
}
