//! Web function pools on their own: real instances of a Python web server, started on demand,
//! filled up to the configured per-instance concurrency, with the host's `X-Scf-*` headers, and the
//! 446 answer for a server that never listens.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use scf_runtime_server::host::web::{WebFunctionConfig, WebPool};
use serde_json::Value;

fn python() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("python3"))
        .find(|p| {
            std::process::Command::new(p)
                .arg("-c")
                .arg("pass")
                .status()
                .is_ok_and(|s| s.success())
        })
}

fn script(name: &str) -> String {
    format!("{}/tests/scripts/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn config(python: PathBuf, max_instances: usize, max_concurrency: usize) -> WebFunctionConfig {
    let mut config = WebFunctionConfig::new("web", python);
    config.args = vec![script("web_server.py")];
    config.max_instances = max_instances;
    config.max_concurrency = max_concurrency;
    config.timeout = Duration::from_secs(10);
    config.init_timeout = Duration::from_secs(10);
    config.queue_timeout = Duration::from_secs(20);
    config
}

fn get(path: &str) -> Request<Bytes> {
    Request::builder()
        .uri(path)
        .header("x-scf-uin", "forged")
        .body(Bytes::new())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_respect_per_instance_concurrency() {
    let Some(python) = python() else {
        eprintln!("SKIPPED: no python3 to run the test web server");
        return;
    };
    let pool = WebPool::new(config(python, 5, 10)).unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let response = pool
                .serve(get(&format!("/req/{i}?x=1")), &format!("rid-{i}"))
                .await;
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
        let body: Value = serde_json::from_slice(response.body()).unwrap();
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
    assert!(pool.status().instances.len() <= 5);
    pool.shutdown().await;
    for pid in per_pid.keys() {
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid as i32), None).is_ok();
        assert!(!alive, "instance {pid} still runs after shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_one_starts_an_instance_per_request() {
    let Some(python) = python() else {
        eprintln!("SKIPPED: no python3 to run the test web server");
        return;
    };
    let pool = WebPool::new(config(python, 3, 1)).unwrap();
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.serve(get("/"), &format!("r{i}")).await })
        })
        .collect();
    let mut pids = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["concurrent"], 1);
        pids.push(body["pid"].as_u64().unwrap());
    }
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 3, "three requests at once need three instances");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_listens_gets_446() {
    let mut config = WebFunctionConfig::new("silent", "/bin/sh");
    config.args = vec!["-c".into(), "sleep 30".into()];
    config.init_timeout = Duration::from_millis(500);
    let pool = WebPool::new(config).unwrap();
    let response = pool.serve(get("/"), "rid").await;
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["x-scf-error-type"], "PortBindingFailed");
    assert_eq!(response.headers()["x-scf-request-id"], "rid");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["code"], 446);
    assert!(pool.status().instances.is_empty());
}

#[tokio::test]
async fn a_server_that_exits_at_start_gets_405_and_a_missing_one_437() {
    let mut config = WebFunctionConfig::new("crash", "/bin/sh");
    config.args = vec!["-c".into(), "exit 3".into()];
    let pool = WebPool::new(config).unwrap();
    let response = pool.serve(get("/"), "rid").await;
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["code"], 405, "{body}");

    let pool = WebPool::new(WebFunctionConfig::new(
        "missing",
        "/nonexistent/scf_bootstrap",
    ))
    .unwrap();
    let response = pool.serve(get("/"), "rid").await;
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["code"], 437, "{body}");
}

/// Run as a child of the test below: hosts one web instance, prints its pid, then waits to be
/// killed.
fn host_one_instance_until_killed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut config = WebFunctionConfig::new("orphan", python().expect("python3"));
        config.args = vec![script("web_server.py")];
        config.min_instances = 1;
        let pool = WebPool::new(config).unwrap();
        pool.start_min_instances().await.unwrap();
        println!("INSTANCE {}", pool.status().instances[0].1);
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
}

#[test]
fn instances_die_with_a_server_killed_by_sigkill() {
    if std::env::var_os("SCF_TRIGGERS_TEST_CHILD").is_some() {
        host_one_instance_until_killed();
        return;
    }
    if python().is_none() {
        eprintln!("SKIPPED: no python3 to run the test web server");
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
                let _ = tx.send(pid.trim().parse::<i32>().unwrap());
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
    let alive = |pid: i32| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    assert!(alive(pid));
    child.kill().unwrap(); // SIGKILL: no destructor runs in the server
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "instance {pid} outlived its killed server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recycle_lets_running_requests_finish_and_serves_new_ones_on_new_instances() {
    let Some(python) = python() else {
        eprintln!("SKIPPED: no python3 to run the test web server");
        return;
    };
    let mut config = config(python, 2, 1);
    config.min_instances = 1;
    config.env.push(("SLEEP_MS".into(), "1500".into()));
    let pool = WebPool::new(config).unwrap();
    pool.start_min_instances().await.unwrap();
    // Two requests at once: the min instance and a second one are both busy (1.5 s each).
    let busy: Vec<_> = (0..2)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.serve(get("/"), &format!("b{i}")).await })
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pool.status().instances.iter().filter(|i| i.2 > 0).count() < 2 {
        assert!(std::time::Instant::now() < deadline, "{:?}", pool.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let old: Vec<u32> = pool.status().instances.iter().map(|i| i.1).collect();
    assert_eq!(old.len(), 2);
    let replaced = pool.recycle().await;
    assert_eq!(replaced, 2);
    // The requests that were running finish on their old instances.
    for task in busy {
        let response = task.await.unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.body());
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert!(old.contains(&(body["pid"].as_u64().unwrap() as u32)));
    }
    // Then the old instances stop, and new requests run on new ones.
    for pid in &old {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid as i32), None).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "old instance {pid} still runs"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let response = pool.serve(get("/"), "after").await;
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert!(!old.contains(&(body["pid"].as_u64().unwrap() as u32)));
    pool.shutdown().await;
}
