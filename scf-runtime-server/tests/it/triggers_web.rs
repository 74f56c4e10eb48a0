//! Web functions through the one pool of [`Host`]: real instances of a Python web server, started
//! on demand, filled up to the configured per-instance concurrency, scaled out and back to zero,
//! with the host's `X-Scf-*` headers, the 446/405/437 answers of servers that cannot start,
//! recycles that lose no request, and (through `cargo scf serve`) SIGHUP recycling event and web
//! instances alike.

use crate::support::host::{self, TempDir, alive, gone_within, python_path_env, python_script};

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use scf_runtime_server::host::web::error_response;
use scf_runtime_server::{Config, FunctionStatus, Host};
use serde_json::Value;

/// A started host for one web function `web` running `bootstrap` with `extra` keys (and the
/// python3 `PATH` unless `extra` sets `env`).
fn web_host(dir: &TempDir, bootstrap: &Path, extra: &str) -> Host {
    let text = format!(
        "[functions.web]\ntype = \"web\"\nbootstrap = \"{}\"\n{extra}\n",
        bootstrap.display()
    );
    let text = if extra.contains("env =") {
        text
    } else {
        format!("{text}env = {{ PATH = \"{}\" }}\n", python_path_env())
    };
    let config = Config::parse(&text, &dir.path().join("scf.toml"), dir.path())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let host = Host::new(&config).unwrap();
    host.start();
    host
}

/// The Python web server of the tests.
fn web_server() -> Option<std::path::PathBuf> {
    python_script("tests/scripts/web_server.py")
}

/// A shell script bootstrap in `dir`.
fn shell_bootstrap(dir: &TempDir, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.path().join("scf_bootstrap");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn status(host: &Host) -> FunctionStatus {
    host.status()
        .into_iter()
        .find(|f| f.name == "web")
        .expect("web is hosted")
}

fn get(path: &str) -> Request<Bytes> {
    Request::builder()
        .uri(path)
        .header("x-scf-uin", "forged")
        .body(Bytes::new())
        .unwrap()
}

/// One request through [`Host::invoke_web`], answered as the HTTP triggers answer it.
async fn serve(host: &Host, path: &str, request_id: &str) -> http::Response<Bytes> {
    match host.invoke_web("web", get(path), request_id).await {
        Ok(response) => response,
        Err(e) => error_response(&e, request_id),
    }
}

fn body(response: &http::Response<Bytes>) -> Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", response.body()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_respect_per_instance_concurrency() {
    let Some(server) = web_server() else { return };
    let dir = TempDir::new("web-fifty");
    let host = web_host(
        &dir,
        &server,
        "max_instances = 5\nmax_concurrency = 10\ntimeout_s = 10\ninit_timeout_s = 10\nqueue_timeout_s = 20",
    );
    let mut tasks = Vec::new();
    for i in 0..50 {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let response = serve(&host, &format!("/req/{i}?x=1"), &format!("rid-{i}")).await;
            (i, response)
        }));
    }
    let mut per_pid: HashMap<u64, u64> = HashMap::new();
    let mut peak = 0;
    for task in tasks {
        let (i, response) = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("request finished in time")
            .unwrap();
        assert_eq!(response.status(), 200, "request {i}: {:?}", response.body());
        let body = body(&response);
        assert_eq!(body["path"], format!("/req/{i}?x=1"));
        assert_eq!(body["scf"]["x-scf-request-id"], format!("rid-{i}"));
        assert_eq!(
            body["scf"]["x-scf-uin"], "100000000001",
            "callers cannot override"
        );
        assert_eq!(body["scf"]["x-scf-name"], "web");
        assert_eq!(body["scf"]["x-scf-timeout"], "10000");
        let concurrent = body["concurrent"].as_u64().unwrap();
        assert!(
            concurrent <= 10,
            "an instance served {concurrent} at once, limit 10"
        );
        peak = peak.max(concurrent);
        *per_pid.entry(body["pid"].as_u64().unwrap()).or_default() += 1;
    }
    assert!(
        per_pid.len() <= 5,
        "at most 5 instances, saw {}",
        per_pid.len()
    );
    assert!(peak > 1, "instances took several requests at once");
    let s = status(&host);
    assert_eq!(s.kind, "web");
    assert!(s.instances.len() <= 5);
    host.shutdown(Duration::from_secs(1)).await;
    for pid in per_pid.keys() {
        assert!(
            gone_within(*pid, Duration::from_secs(5)).await,
            "instance {pid} still runs after shutdown"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_one_starts_an_instance_per_request() {
    let Some(server) = web_server() else { return };
    let dir = TempDir::new("web-one");
    let host = web_host(&dir, &server, "max_instances = 3\ninit_timeout_s = 10");
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let host = host.clone();
            tokio::spawn(async move { serve(&host, "/", &format!("r{i}")).await })
        })
        .collect();
    let mut pids = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.body());
        let body = body(&response);
        assert_eq!(body["concurrent"], 1);
        pids.push(body["pid"].as_u64().unwrap());
    }
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 3, "three requests at once need three instances");
    host.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_instances_scale_out_past_one_instance_and_back_to_zero_when_idle() {
    let Some(server) = web_server() else { return };
    let dir = TempDir::new("web-scale");
    let env = format!(
        "env = {{ PATH = \"{}\", SLEEP_MS = \"800\" }}",
        python_path_env()
    );
    let host = web_host(
        &dir,
        &server,
        &format!(
            "max_instances = 4\nmax_concurrency = 2\nmin_instances = 0\nidle_timeout_s = 1\ninit_timeout_s = 10\ntimeout_s = 10\n{env}"
        ),
    );
    assert!(status(&host).instances.is_empty(), "nothing runs at first");
    // Six requests at once, two per instance: one instance is not enough.
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let host = host.clone();
            tokio::spawn(async move { serve(&host, "/", &format!("s{i}")).await })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut most_busy = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        let busy = status(&host)
            .instances
            .iter()
            .filter(|i| i.in_flight > 0)
            .count();
        most_busy = most_busy.max(busy);
        assert!(Instant::now() < deadline, "{:?}", status(&host));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut pids = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.body());
        let body = body(&response);
        assert!(body["concurrent"].as_u64().unwrap() <= 2);
        pids.push(body["pid"].as_u64().unwrap());
    }
    pids.sort();
    pids.dedup();
    assert!(pids.len() > 1, "served by {pids:?}");
    assert!(
        most_busy > 1,
        "the host's status showed {most_busy} busy instance(s) at most"
    );
    // Idle past idle_timeout_s, every instance stops (min_instances = 0).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status(&host).instances.is_empty() {
        assert!(Instant::now() < deadline, "{:?}", status(&host));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for pid in &pids {
        assert!(gone_within(*pid, Duration::from_secs(5)).await, "{pid}");
    }
    host.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_server_that_never_listens_gets_446() {
    let dir = TempDir::new("web-silent");
    let bootstrap = shell_bootstrap(&dir, "sleep 30");
    let host = web_host(&dir, &bootstrap, "init_timeout_s = 0.5");
    let response = serve(&host, "/", "rid").await;
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["x-scf-error-type"], "PortBindingFailed");
    assert_eq!(response.headers()["x-scf-request-id"], "rid");
    assert_eq!(body(&response)["code"], 446);
    assert!(status(&host).instances.is_empty());
    host.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_server_that_exits_at_start_gets_405_and_a_missing_one_437() {
    let dir = TempDir::new("web-crash");
    let bootstrap = shell_bootstrap(&dir, "exit 3");
    let host = web_host(&dir, &bootstrap, "");
    let response = serve(&host, "/", "rid").await;
    assert_eq!(body(&response)["code"], 405, "{:?}", response.body());
    host.shutdown(Duration::from_secs(1)).await;

    let host = web_host(&dir, Path::new("/nonexistent/scf_bootstrap"), "");
    let response = serve(&host, "/", "rid").await;
    assert_eq!(body(&response)["code"], 437, "{:?}", response.body());
    host.shutdown(Duration::from_secs(1)).await;
}

/// Run as a child of the test below: hosts one web instance, prints its pid, then waits to be
/// killed.
fn host_one_instance_until_killed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = TempDir::new("web-orphan");
        let server = web_server().expect("python3");
        let host = web_host(&dir, &server, "min_instances = 1\ninit_timeout_s = 10");
        let deadline = Instant::now() + Duration::from_secs(15);
        let pid = loop {
            let s = status(&host);
            if let Some(i) = s
                .instances
                .iter()
                .find(|i| i.state == scf_runtime_server::InstanceState::Idle)
            {
                break i.pid;
            }
            assert!(Instant::now() < deadline, "{s:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        println!("INSTANCE {pid}");
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
}

#[test]
fn instances_die_with_a_server_killed_by_sigkill() {
    if std::env::var_os("SCF_TRIGGERS_TEST_CHILD").is_some() {
        host_one_instance_until_killed();
        return;
    }
    if web_server().is_none() {
        return;
    }
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "triggers_web::instances_die_with_a_server_killed_by_sigkill",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SCF_TRIGGERS_TEST_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            // libtest prints the test's name on the same line first.
            if let Some((_, pid)) = line.split_once("INSTANCE ") {
                let _ = tx.send(pid.trim().parse::<u64>().unwrap());
            }
        }
    });
    let pid = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(pid) => pid,
        Err(_) => {
            let _ = child.kill();
            panic!("the child server never reported its instance");
        }
    };
    assert!(alive(pid));
    child.kill().unwrap(); // SIGKILL: no destructor runs in the server
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "instance {pid} outlived its killed server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recycle_lets_running_requests_finish_and_serves_new_ones_on_new_instances() {
    let Some(server) = web_server() else { return };
    let dir = TempDir::new("web-recycle");
    let env = format!(
        "env = {{ PATH = \"{}\", SLEEP_MS = \"1500\" }}",
        python_path_env()
    );
    let host = web_host(
        &dir,
        &server,
        &format!(
            "max_instances = 2\nmin_instances = 1\ntimeout_s = 10\ninit_timeout_s = 10\n{env}"
        ),
    );
    // Two requests at once: the min instance and a second one are both busy (1.5 s each).
    let busy: Vec<_> = (0..2)
        .map(|i| {
            let host = host.clone();
            tokio::spawn(async move { serve(&host, "/", &format!("b{i}")).await })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(&host)
        .instances
        .iter()
        .filter(|i| i.in_flight > 0)
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "{:?}", status(&host));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let old: Vec<u64> = status(&host)
        .instances
        .iter()
        .map(|i| u64::from(i.pid))
        .collect();
    assert_eq!(old.len(), 2);
    assert_eq!(host.recycle(), 2);
    // The requests that were running finish on their old instances.
    for task in busy {
        let response = task.await.unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.body());
        assert!(old.contains(&body(&response)["pid"].as_u64().unwrap()));
    }
    // Then the old instances stop, and new requests run on new ones.
    for pid in &old {
        assert!(
            gone_within(*pid, Duration::from_secs(10)).await,
            "old instance {pid} still runs"
        );
    }
    let response = serve(&host, "/", "after").await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert!(!old.contains(&body(&response)["pid"].as_u64().unwrap()));
    host.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_recycles_event_and_web_instances_without_losing_a_request() {
    let (Some(event_bootstrap), Some(server)) = (host::python_bootstrap(), web_server()) else {
        return;
    };
    let path = python_path_env();
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n\
         [functions.ev]\nbootstrap = \"{}\"\ntimeout_s = 10\nenv = {{ PATH = \"{path}\" }}\n\n\
         [functions.web]\ntype = \"web\"\nbootstrap = \"{}\"\ntimeout_s = 10\ninit_timeout_s = 10\n\
         env = {{ PATH = \"{path}\", SLEEP_MS = \"1500\" }}\n\n\
         [[functions.web.triggers]]\ntype = \"function_url\"\n",
        event_bootstrap.display(),
        server.display()
    );
    let serve = host::start("web-sighup", &config);
    let addr = serve.addr;
    // One invocation and one web request are running when the reload comes.
    let event = tokio::spawn(async move {
        host::send(
            addr,
            host::post(
                "/functions/ev/invocations",
                r#"{"sleep": 1.5, "pid": true}"#,
            ),
        )
        .await
    });
    let web = tokio::spawn(async move { host::send(addr, host::get("/fn/web/slow")).await });
    let deadline = Instant::now() + Duration::from_secs(15);
    let (ev_pid, web_pid) = loop {
        let s = serve.status().await;
        let busy = |name: &str| {
            s["functions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == name)
                .and_then(|f| {
                    f["instances"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|i| i["in_flight"] == 1)
                        .map(|i| i["pid"].as_u64().unwrap())
                })
        };
        if let (Some(e), Some(w)) = (busy("ev"), busy("web")) {
            break (e, w);
        }
        assert!(Instant::now() < deadline, "{s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let web_status = serve.function_status("web").await;
    assert_eq!(web_status["type"], "web", "{web_status}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.child.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    serve.wait_for_line(&["cargo scf serve reloaded"]).await;
    // Both running requests finish on their old instances, which then stop.
    let answer = event.await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["pid"].as_u64(), Some(ev_pid));
    let answer = web.await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["pid"].as_u64(), Some(web_pid));
    for pid in [ev_pid, web_pid] {
        assert!(
            gone_within(pid, Duration::from_secs(10)).await,
            "old instance {pid} still runs after the reload"
        );
    }
    // New work runs on new instances.
    let answer = serve.invoke("ev", r#"{"pid": true}"#).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_ne!(answer.json()["pid"].as_u64(), Some(ev_pid));
    let answer = host::send(addr, host::get("/fn/web/after")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_ne!(answer.json()["pid"].as_u64(), Some(web_pid));
}
