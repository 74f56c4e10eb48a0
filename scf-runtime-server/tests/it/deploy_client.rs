//! `cargo scf deploy`, `logs`, `info` and `remove` against a fake Cloud API on loopback
//! (support/fake_cloud.rs): the actions a first deploy, a redeploy, a dry run and a release
//! send, in order and with only the parameters that changed; and a missing credential failing
//! before anything is built.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::fake_cloud::FakeCloud;
use scf_runtime_server::cli::cloud::{CloudArgs, Environment};
use scf_runtime_server::cli::deploy::{DeployArgs, Deployed, deploy_in};
use scf_runtime_server::cli::info::{InfoArgs, info_in};
use scf_runtime_server::cli::logs::{LogsArgs, logs_in};
use scf_runtime_server::cli::remove::{RemoveArgs, remove_in};

/// A project folder: an executable script as the bootstrap and an scf.toml hosting it as `echo`.
struct Project {
    dir: tempfile::TempDir,
}

const CONFIG: &str = r#"
[server]
async_retry_num = 1

[functions.echo]
bootstrap = "boot"
memory_mb = 128
env = { GREETING = "hello" }
description = "echoes"

[[functions.echo.triggers]]
type = "timer"
name = "tick"
cron = "0 */5 * * * * *"
message = "tick"

[[functions.echo.triggers]]
type = "apigw"
path = "/echo"
"#;

impl Project {
    fn new(config: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let project = Project { dir };
        project.bootstrap("#!/bin/sh\necho one\n");
        std::fs::write(project.path().join("scf.toml"), config).unwrap();
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn bootstrap(&self, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path().join("boot");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn edit(&self, from: &str, to: &str) {
        let path = self.path().join("scf.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replacen(from, to, 1);
        std::fs::write(path, text).unwrap();
    }

    /// No credentials: the requests to the loopback fake go unsigned.
    fn env(&self) -> Environment {
        Environment::with_home(self.path())
    }

    fn deploy(
        &self,
        fake: &FakeCloud,
        env: &Environment,
        extra: impl FnOnce(&mut DeployArgs),
    ) -> (Vec<Deployed>, String) {
        let mut args = DeployArgs {
            all: true,
            cloud: CloudArgs {
                endpoint: Some(fake.url.clone()),
                ..CloudArgs::default()
            },
            ..DeployArgs::default()
        };
        extra(&mut args);
        let mut out = Vec::new();
        let result = deploy_in(&args, self.path(), env, &mut out);
        let out = String::from_utf8(out).unwrap();
        (
            result.unwrap_or_else(|e| panic!("deploy failed: {e}\n{out}")),
            out,
        )
    }
}

fn zip_entry(zip_base64: &str) -> (String, String) {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(zip_base64)
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut file = archive.by_index(0).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    (file.name().unwrap().into_owned(), text)
}

fn params_of<'a>(received: &'a [crate::support::fake_cloud::Received], action: &str) -> &'a Value {
    &received
        .iter()
        .find(|r| r.action == action)
        .unwrap_or_else(|| panic!("no {action} among {received:?}"))
        .params
}

#[test]
fn a_first_deploy_creates_waits_for_active_then_adds_timers_and_async_settings() {
    let fake = FakeCloud::start(None);
    let project = Project::new(CONFIG);
    let (deployed, out) = project.deploy(&fake, &project.env(), |_| {});
    println!("{out}");
    assert_eq!(
        fake.actions(),
        [
            "GetFunction",
            "CreateFunction",
            "GetFunction", // Creating
            "GetFunction", // Active
            "CreateTrigger",
            "UpdateFunctionEventInvokeConfig",
        ]
    );
    let received = fake.received();
    assert!(
        received.iter().all(|r| !r.signed),
        "no credentials: unsigned on loopback"
    );
    let create = params_of(&received, "CreateFunction");
    assert_eq!(create["Runtime"], "CustomRuntime");
    assert_eq!(create["Type"], "Event");
    assert_eq!(create["Handler"], "index.main_handler");
    assert_eq!(create["Namespace"], "default");
    assert_eq!(create["MemorySize"], 128);
    assert_eq!(create["Timeout"], 3);
    assert_eq!(create["Description"], "echoes");
    assert_eq!(
        create["Environment"],
        json!({"Variables": [{"Key": "GREETING", "Value": "hello"}]})
    );
    assert_eq!(
        zip_entry(create["Code"]["ZipFile"].as_str().unwrap()),
        ("bootstrap".to_owned(), "#!/bin/sh\necho one\n".to_owned())
    );
    let trigger = params_of(&received, "CreateTrigger");
    assert_eq!(
        (
            &trigger["Type"],
            &trigger["TriggerName"],
            &trigger["TriggerDesc"],
            &trigger["CustomArgument"]
        ),
        (
            &json!("timer"),
            &json!("tick"),
            &json!("0 */5 * * * * *"),
            &json!("tick")
        )
    );
    assert_eq!(
        params_of(&received, "UpdateFunctionEventInvokeConfig")["AsyncTriggerConfig"],
        json!({"RetryConfig": [{"RetryNum": 1}], "MsgTTL": 21600})
    );
    assert!(deployed[0].plan.create);
    assert!(out.contains("create function"), "{out}");
    assert!(out.contains("skip trigger"), "{out}");
    assert!(out.contains("apigw /echo"), "{out}");
    assert!(out.contains("deployed echo"), "{out}");
}

#[test]
fn a_redeploy_sends_the_code_and_only_the_changed_field_signed() {
    let fake = FakeCloud::start(Some(("AKIDtest", "test-secret")));
    let project = Project::new(CONFIG);
    let env = project
        .env()
        .var("TENCENTCLOUD_SECRET_ID", "AKIDtest")
        .var("TENCENTCLOUD_SECRET_KEY", "test-secret");
    project.deploy(&fake, &env, |_| {});
    fake.clear();
    project.bootstrap("#!/bin/sh\necho two\n");
    project.edit("memory_mb = 128", "memory_mb = 256");
    let (_, out) = project.deploy(&fake, &env, |_| {});
    println!("{out}");
    let received = fake.received();
    assert!(
        received.iter().all(|r| r.signed),
        "every request signed: {received:?}"
    );
    assert_eq!(
        fake.actions(),
        [
            "GetFunction",
            "ListTriggers",
            "GetFunctionEventInvokeConfig",
            "UpdateFunctionCode",
            "GetFunction", // Updating
            "GetFunction", // Active
            "UpdateFunctionConfiguration",
            "GetFunction", // Updating
            "GetFunction", // Active
        ]
    );
    let code = params_of(&received, "UpdateFunctionCode");
    assert_eq!(
        zip_entry(code["ZipFile"].as_str().unwrap()).1,
        "#!/bin/sh\necho two\n"
    );
    assert_eq!(
        params_of(&received, "UpdateFunctionConfiguration"),
        &json!({"FunctionName": "echo", "Namespace": "default", "MemorySize": 256})
    );
    assert!(out.contains("update config"), "{out}");
    assert!(out.contains("128 MB -> 256 MB"), "{out}");
    assert!(out.contains("keep trigger"), "{out}");
    assert_eq!(fake.function("echo").unwrap()["MemorySize"], 256);
}

#[test]
fn a_dry_run_sends_only_read_actions_and_changes_nothing() {
    let fake = FakeCloud::start(None);
    let project = Project::new(CONFIG);
    project.deploy(&fake, &project.env(), |_| {});
    let before = fake.function("echo").unwrap();
    fake.clear();
    project.edit("memory_mb = 128", "memory_mb = 512");
    project.edit("cron = \"0 */5 * * * * *\"", "cron = \"0 */10 * * * * *\"");
    let (deployed, out) = project.deploy(&fake, &project.env(), |a| {
        a.dry_run = true;
        a.publish = true;
        a.alias = Some("live".into());
    });
    println!("{out}");
    for action in fake.actions() {
        assert!(
            action.starts_with("Get") || action.starts_with("List"),
            "a dry run sent {action}"
        );
    }
    assert!(fake.actions().contains(&"GetAlias".to_owned()));
    assert_eq!(fake.function("echo").unwrap(), before);
    let plan = &deployed[0].plan;
    assert_eq!(plan.config.len(), 1);
    assert!(out.contains("Plan (dry run) for echo"), "{out}");
    assert!(out.contains("replace trigger"), "{out}");
    assert!(out.contains("publish version"), "{out}");
    assert!(out.contains("create alias"), "{out}");
    assert!(out.contains("dry run: nothing changed"), "{out}");
}

#[test]
fn publish_and_an_alias_with_weights() {
    let fake = FakeCloud::start(None);
    let project = Project::new(CONFIG);
    let env = project.env();
    project.deploy(&fake, &env, |a| a.publish = true);
    project.deploy(&fake, &env, |a| a.publish = true);
    fake.clear();
    let (deployed, out) = project.deploy(&fake, &env, |a| {
        a.publish = true;
        a.alias = Some("a".into());
        a.weights = vec![("2".into(), 10)];
    });
    println!("{out}");
    assert_eq!(deployed[0].version.as_deref(), Some("3"));
    let actions = fake.actions();
    let tail: Vec<&str> = actions
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "GetFunction")
        .collect();
    assert_eq!(
        tail,
        [
            "ListTriggers",
            "GetFunctionEventInvokeConfig",
            "GetAlias",
            "ListVersionByFunction",
            "UpdateFunctionCode",
            "PublishVersion",
            "CreateAlias",
        ]
    );
    let received = fake.received();
    let alias = params_of(&received, "CreateAlias");
    assert_eq!(alias["Name"], "a");
    assert_eq!(alias["FunctionVersion"], "3");
    assert_eq!(
        alias["RoutingConfig"],
        json!({"AdditionalVersionWeights": [{"Version": "2", "Weight": 0.1}]})
    );
    assert!(
        out.contains("-> the published version 90%, version 2 10%"),
        "{out}"
    );

    // The same alias again: updated, not created.
    fake.clear();
    project.deploy(&fake, &env, |a| {
        a.alias = Some("a".into());
    });
    assert!(fake.actions().contains(&"UpdateAlias".to_owned()));
    let received = fake.received();
    assert_eq!(params_of(&received, "UpdateAlias")["FunctionVersion"], "3");
}

#[test]
fn logs_info_and_remove() {
    let fake = FakeCloud::start(None);
    let project = Project::new(CONFIG);
    let env = project.env();
    project.deploy(&fake, &env, |a| a.publish = true);
    fake.add_log(
        json!({"StartTime": "2026-05-01 12:00:00", "RequestId": "req-ok", "RetCode": 0,
        "Duration": 3.2, "MemUsage": 1048576, "Log": "START RequestId:req-ok\nhello\n"}),
    );
    fake.add_log(
        json!({"StartTime": "2026-05-01 12:00:01", "RequestId": "req-bad", "RetCode": 1,
        "Duration": 5.0, "MemUsage": 1048576, "RetMsg": "boom", "Log": "oops\n"}),
    );
    let cloud = CloudArgs {
        endpoint: Some(fake.url.clone()),
        ..CloudArgs::default()
    };

    let mut out = Vec::new();
    let args = LogsArgs {
        name: "echo".into(),
        failed: true,
        limit: 20,
        cloud: cloud.clone(),
        ..LogsArgs::default()
    };
    logs_in(&args, project.path(), &env, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("req-bad") && text.contains("result: boom"),
        "{text}"
    );
    assert!(!text.contains("req-ok"), "{text}");
    let received = fake.received();
    let asked = params_of(&received, "GetFunctionLogs");
    assert_eq!(asked["Filter"], json!({"RetCode": "not0"}));

    let mut out = Vec::new();
    let args = InfoArgs {
        name: "echo".into(),
        json: false,
        cloud: cloud.clone(),
    };
    let all = info_in(&args, project.path(), &env, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    println!("{text}");
    assert!(text.contains("Status       Active"), "{text}");
    assert!(text.contains("Versions: $LATEST, 1"), "{text}");
    assert!(text.contains("timer tick  0 */5 * * * * *"), "{text}");
    assert_eq!(all["Function"]["FunctionName"], "echo");

    let remove = RemoveArgs {
        name: "echo".into(),
        yes: false,
        cloud,
    };
    let mut out = Vec::new();
    let err = remove_in(&remove, project.path(), &env, None, &mut out).unwrap_err();
    assert!(err.to_string().contains("pass --yes"), "{err}");
    let mut no: &[u8] = b"n\n";
    remove_in(&remove, project.path(), &env, Some(&mut no), &mut out).unwrap();
    assert!(fake.function("echo").is_some());
    let mut yes: &[u8] = b"y\n";
    remove_in(&remove, project.path(), &env, Some(&mut yes), &mut out).unwrap();
    assert!(fake.function("echo").is_none());
    assert_eq!(
        fake.actions().last().map(String::as_str),
        Some("DeleteFunction")
    );
}

#[test]
fn a_missing_credential_fails_before_any_build() {
    let dir = tempfile::tempdir().unwrap();
    // A package that does not exist: had deploy tried to build, cargo would have said so.
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args([
            "deploy",
            "-p",
            "no-such-package",
            "--region",
            "ap-guangzhou",
        ])
        .current_dir(dir.path())
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .env_remove("TENCENTCLOUD_SESSION_TOKEN")
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("error: no Tencent Cloud credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("no-such-package"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("cargo"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).is_empty());
}
