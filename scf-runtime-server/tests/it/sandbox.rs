//! Each instance in its own sandbox, and SCF's own functions run unmodified: Tencent's bash + curl
//! Custom Runtime demo (with the default `handler` and another one), a web `scf_bootstrap` that
//! listens on 9000 in several instances at once, a bootstrap that hunts for other instances'
//! runtime APIs, a grandchild that must not outlive a SIGKILLed server, and a descriptor the
//! server inherited that must not reach the function.

use crate::support::host::{
    self, Server, TempDir, alive, gone_within, python_bootstrap, python_path_env, python_script,
};
use crate::support::tools::have;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

/// Tencent's Custom Runtime demo `bootstrap`, as its public documentation describes it: it
/// sources the file `_HANDLER` names before the dot, reports ready with a `" "` body, then loops
/// with curl, calling the function `_HANDLER` names after the dot.
const DEMO_BOOTSTRAP: &str = r#"#!/bin/bash
set -euo pipefail
source ./"$(echo $_HANDLER | cut -d. -f1).sh"
curl -d " " -X POST -s "http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime/init/ready"
while true
do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" -X GET "http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime/invocation/next")
  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
  curl -X POST -s "http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime/invocation/response" -d "$RESPONSE"
done
"#;

/// The demo's `index.sh`: logs the event, answers it echoed.
const DEMO_INDEX: &str = r#"function main_handler () {
  EVENT_DATA=$1
  echo "$EVENT_DATA" 1>&2;
  RESPONSE="Echoing request: '$EVENT_DATA'"
  echo $RESPONSE
}
"#;

/// What `handler = "other.run"` loads instead.
const OTHER_SH: &str = r#"function run () {
  echo "other.sh ran with $1"
}
"#;

/// A web function as SCF runs it: listens on 0.0.0.0:9000 whatever `PORT` says, one request at
/// a time, each taking half a second.
const WEB_BOOTSTRAP: &str = r#"#!/usr/bin/env python3
import http.server, json, os, time

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(0.5)
        body = json.dumps({"pid": int(os.readlink("/proc/self")), "port": os.environ.get("PORT")}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("0.0.0.0", 9000), Handler).serve_forever()
"#;

fn write_executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `cargo scf serve` with `isolation = "namespaces"`, or `None` (after saying SKIPPED) where the
/// machine does not permit namespaces.
fn start_sandboxed(tag: &str, functions: &str) -> Option<Server> {
    let config =
        format!("[server]\nlisten = \"127.0.0.1:0\"\nisolation = \"namespaces\"\n\n{functions}");
    match host::try_start(tag, &config) {
        Ok(server) => Some(server),
        Err((status, output)) => {
            let text = output.join("\n");
            assert!(
                text.contains("namespaces are not permitted"),
                "cargo scf serve did not start ({status}):\n{text}"
            );
            eprintln!("SKIPPED: namespaces are not permitted here:\n{text}");
            None
        }
    }
}

/// The pids of the processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(marker)
        {
            pids.push(pid);
        }
    }
    pids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scf_functions_run_unmodified_each_in_its_own_sandbox() {
    if !have("bash") || !have("curl") {
        eprintln!("SKIPPED: Tencent's demo bootstrap needs bash and curl");
        return;
    }
    let (Some(thief), Some(victim)) = (
        python_script("tests/scripts/sandbox_bootstrap.py"),
        python_bootstrap(),
    ) else {
        return;
    };
    let code = TempDir::new("sandbox-code");
    let demo = code.path().join("demo/bootstrap");
    write_executable(&demo, DEMO_BOOTSTRAP);
    std::fs::write(code.path().join("demo/index.sh"), DEMO_INDEX).unwrap();
    std::fs::write(code.path().join("demo/other.sh"), OTHER_SH).unwrap();
    let web: PathBuf = code.path().join("web/scf_bootstrap");
    write_executable(&web, WEB_BOOTSTRAP);
    let path = python_path_env();
    let functions = format!(
        r#"[functions.demo]
bootstrap = "{demo}"

[functions.other]
bootstrap = "{demo}"
handler = "other.run"

[functions.thief]
bootstrap = "{thief}"
timeout_s = 10
env = {{ PATH = "{path}" }}

[functions.victim]
bootstrap = "{victim}"
timeout_s = 10
env = {{ PATH = "{path}" }}

[functions.web]
type = "web"
bootstrap = "{web}"
env = {{ PATH = "{path}" }}

[[functions.web.triggers]]
type = "function_url"
"#,
        demo = demo.display(),
        thief = thief.display(),
        victim = victim.display(),
        web = web.display(),
    );
    let Some(server) = start_sandboxed("sandbox", &functions) else {
        return;
    };

    // Tencent's demo, unchanged, with no handler key: index.sh's main_handler answers.
    let r = server.invoke("demo", r#"{"key":"value"}"#).await;
    assert_eq!(
        r.status,
        200,
        "{:?}\n{}",
        r.body,
        server.output().join("\n")
    );
    assert_eq!(r.body, r#"Echoing request: '{"key":"value"}'"#);
    // handler = "other.run": the same bootstrap sources other.sh and calls run.
    let r = server.invoke("other", r#"{"n":1}"#).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, r#"other.sh ran with {"n":1}"#);

    // A web function listening on 9000 serves two slow requests at once from two instances.
    let addr = server.addr;
    let requests = ["/fn/web/a", "/fn/web/b"].map(|p| tokio::spawn(host::send(addr, host::get(p))));
    let mut pids = Vec::new();
    for request in requests {
        let r = request.await.unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.json()["port"], "9000");
        pids.push(r.json()["pid"].as_u64().unwrap());
    }
    assert_ne!(pids[0], pids[1], "two instances, each on its own port 9000");

    // A thief scanning /proc/net/tcp sees only its own runtime API, and takes and answers
    // nothing of the invocations running meanwhile.
    let thief = tokio::spawn(host::send(
        addr,
        host::post("/functions/thief/invocations", r#"{"steal": 1.5}"#),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let victims: Vec<_> = (0..5)
        .map(|n| {
            let event = json!({"sleep": 0.2, "n": n}).to_string();
            tokio::spawn(host::send(
                addr,
                host::post("/functions/victim/invocations", event),
            ))
        })
        .collect();
    for (n, victim) in victims.into_iter().enumerate() {
        let r = victim.await.unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.json(), json!({"sleep": 0.2, "n": n}), "its own answer");
    }
    let r = thief.await.unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    let report = r.json();
    assert_eq!(report["seen"], json!([9001]), "{report}");
    assert_eq!(report["stolen"], 0, "{report}");
    assert_eq!(report["forged"], 0, "{report}");

    // /status says how instances run and publishes no port of theirs.
    let status = server.status().await;
    for function in status["functions"].as_array().unwrap() {
        assert_eq!(function["isolation"], "namespaces", "{function}");
        for instance in function["instances"].as_array().unwrap() {
            let keys: Vec<&String> = instance.as_object().unwrap().keys().collect();
            assert!(!keys.iter().any(|k| k.contains("port")), "{instance}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_descriptor_reaches_a_function_and_no_process_outlives_a_killed_server() {
    if !have("sleep") {
        eprintln!("SKIPPED: the test's grandchild is `sleep`");
        return;
    }
    let Some(bootstrap) = python_script("tests/scripts/sandbox_bootstrap.py") else {
        return;
    };
    // A descriptor without close-on-exec, inherited by the server started next.
    let secret = TempDir::new("sandbox-secret");
    let secret_file = secret.path().join("inherited-secret");
    let file = std::fs::File::create(&secret_file).unwrap();
    nix::fcntl::fcntl(
        &file,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let functions = format!(
        "[functions.f]\nbootstrap = \"{}\"\nenv = {{ PATH = \"{}\" }}\n",
        bootstrap.display(),
        python_path_env()
    );
    let server = start_sandboxed("sandbox-fds", &functions);
    let server_fds: Vec<PathBuf> = server
        .as_ref()
        .map(|s| {
            std::fs::read_dir(format!("/proc/{}/fd", s.child.id()))
                .unwrap()
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    drop(file);
    let Some(mut server) = server else { return };
    assert!(
        server_fds.contains(&secret_file),
        "the server inherited the descriptor: {server_fds:?}"
    );

    let r = server.invoke("f", r#"{"fds": true}"#).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let fds: Vec<String> = serde_json::from_value(r.json()).unwrap();
    assert!(
        !fds.iter().any(|fd| fd.contains("inherited-secret")),
        "{fds:?}"
    );

    // A grandchild (`sleep 1000 <marker>`) goes with the instance when the server is SIGKILLed.
    let marker = format!(
        "0.{}{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let r = server
        .invoke("f", json!({ "sleep_child": marker }).to_string())
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let pids = processes_with(&marker);
    assert_eq!(pids.len(), 1, "the grandchild runs: {pids:?}");
    server.child.kill().unwrap();
    let _ = server.child.wait();
    let gone = gone_within(pids[0] as u64, Duration::from_secs(5)).await;
    for pid in processes_with(&marker) {
        if alive(pid as u64) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    assert!(gone, "the grandchild outlived the SIGKILLed server");
}
