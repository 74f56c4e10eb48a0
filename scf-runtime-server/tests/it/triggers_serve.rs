//! End to end through `cargo scf serve`: the API gateway trigger in front of the `example-apigw-axum`
//! router (an event function through the runtime's HTTP adapter), Function URLs, a Python event
//! bootstrap that reflects its event or answers junk, a timer every second, and a Python web
//! function taking 50 concurrent requests with a per-instance concurrency of 10.

use crate::support::host::send;
use crate::support::ports;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ports::free_port;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

/// `cargo scf serve`, killed by PID when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts")
}

fn python_available() -> bool {
    Command::new("/usr/bin/env")
        .args(["python3", "-c", "pass"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Builds `example-apigw-axum` (debug, same target dir as this test) and returns its path.
fn build_example() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "-p", "example-apigw-axum"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building example-apigw-axum failed");
    let exe = std::env::current_exe().unwrap();
    let debug_dir = exe.parent().unwrap().parent().unwrap();
    let path = debug_dir.join("example-apigw-axum");
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn start_server(dir: &Path, axum: &Path) -> Server {
    let port = free_port();
    let py = tests_dir();
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
state_dir = "{state}"

[functions.axum]
bootstrap = "{axum}"
timeout_s = 3

[[functions.axum.triggers]]
type = "apigw"
path = "/axum"

[[functions.axum.triggers]]
type = "function_url"

[functions.reflect]
bootstrap = "{event}"
env = {{ MODE = "reflect" }}

[[functions.reflect.triggers]]
type = "apigw"
path = "/users/{{id}}/books/{{book}}"
methods = ["GET", "POST"]
stage = "test"
query_parameters = ["lang"]
header_parameters = ["x-token"]

[functions.junk]
bootstrap = "{event}"
env = {{ MODE = "junk" }}

[[functions.junk.triggers]]
type = "apigw"
path = "/junk"

[functions.ticker]
bootstrap = "{event}"
env = {{ MODE = "record", OUT = "{ticks}" }}

[[functions.ticker.triggers]]
type = "timer"
name = "every-second"
cron = "* * * * * * *"
message = "tick"

[functions.web]
type = "web"
bootstrap = "{web}"
max_instances = 5
max_concurrency = 10
timeout_s = 20
env = {{ SLEEP_MS = "300" }}

[[functions.web.triggers]]
type = "function_url"
"#,
        state = dir.join("state").display(),
        axum = axum.display(),
        event = py.join("event_bootstrap.py").display(),
        web = py.join("web_server.py").display(),
        ticks = dir.join("ticks.jsonl").display(),
    );
    let config_path = dir.join("scf.toml");
    std::fs::write(&config_path, config).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .spawn()
        .expect("cargo scf serve starts");
    let server = Server {
        child,
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(server.addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "cargo scf serve did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn post(path: &str, content_type: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "localhost")
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_through_scf_serve() {
    if !python_available() {
        eprintln!("SKIPPED: no python3 for the test bootstraps");
        return;
    }
    let axum = build_example();
    let dir = std::env::temp_dir().join(format!("scf-triggers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = start_server(&dir, &axum);
    let addr = server.addr;

    // GET through the API gateway into the axum router (path routing inside the router).
    let r = send(addr, get("/axum/hello/world")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, "Hello, world!");
    assert!(r.headers.contains_key("x-api-requestid"));

    // POST JSON.
    let r = send(
        addr,
        post("/axum/echo", "application/json", r#"{"a":[1,2]}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json(), json!({"echo": {"a": [1, 2]}}));

    // Binary upload and download (base64 both ways inside the events).
    let upload: Vec<u8> = (0..=255u8).chain([0xff, 0xfe, 0x00]).collect();
    let r = send(
        addr,
        post("/axum/upload", "application/octet-stream", upload.clone()),
    )
    .await;
    assert_eq!(r.status, 200);
    let mut reversed = upload.clone();
    reversed.reverse();
    assert_eq!(r.body, reversed);
    let r = send(addr, get("/axum/download")).await;
    assert_eq!(r.headers["content-type"], "application/octet-stream");
    assert_eq!(r.body.to_vec(), (0..=255u8).collect::<Vec<_>>());

    // Repeated and value-less query keys reach the router.
    let r = send(addr, get("/axum/query?tag=a&tag=b&debug&x=1")).await;
    let query = r.json()["query"].as_str().unwrap().to_owned();
    for part in ["tag=a", "tag=b", "debug", "x=1"] {
        assert!(
            query.split('&').any(|p| p == part),
            "{part} missing from {query}"
        );
    }

    // Multi-value response headers.
    let r = send(addr, get("/axum/cookies")).await;
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);

    // The event itself: path parameters, queryString forms, declared parameters, context.
    let r = send(
        addr,
        Request::get("/users/42/books/moby%20dick?lang=en&tag=a&tag=b&debug")
            .header("host", "localhost")
            .header("X-Token", "t0k")
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let event = r.json();
    assert_eq!(
        event["pathParameters"],
        json!({"id": "42", "book": "moby dick"})
    );
    assert_eq!(
        event["queryString"],
        json!({"lang": "en", "tag": ["a", "b"], "debug": true})
    );
    assert_eq!(event["queryStringParameters"], json!({"lang": "en"}));
    assert_eq!(event["headerParameters"], json!({"x-token": "t0k"}));
    assert_eq!(event["headers"]["x-token"], "t0k");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["path"], "/users/42/books/moby%20dick");
    assert_eq!(event["requestContext"]["path"], "/users/{id}/books/{book}");
    assert_eq!(event["requestContext"]["stage"], "test");
    assert_eq!(event["requestContext"]["httpMethod"], "ANY");
    assert_eq!(event["requestContext"]["sourceIp"], "127.0.0.1");
    assert_eq!(
        event["requestContext"]["requestId"],
        r.headers["x-api-requestid"].to_str().unwrap()
    );
    let r = send(
        addr,
        Request::delete("/users/1/books/2")
            .header("host", "x")
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    let r = send(addr, get("/nowhere")).await;
    assert_eq!(r.status, 404);

    // Function URL: its own event form, reaching the same router at the function-relative path.
    let r = send(addr, get("/fn/axum/hello/url")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, "Hello, url!");

    // A function error (the handler panics): the gateway's 502 with the SCF error body.
    let r = send(addr, get("/axum/panic")).await;
    assert_eq!(r.status, 502, "{:?}", r.body);
    let code = r.json()["code"].as_u64().unwrap();
    assert!((430..=443).contains(&code), "code {code}");

    // A malformed integrated response.
    let r = send(addr, get("/junk")).await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.json(),
        json!({"errno": 403, "error": "Invalid scf response format. please check your scf response format."})
    );

    // An oversized body never reaches the function.
    let big = vec![b'a'; 6 * 1024 * 1024 + 1];
    let r = send(addr, post("/axum/echo", "application/json", big)).await;
    assert_eq!(r.status, 413);

    // 50 concurrent requests to a web function with 10 per instance, at most 5 instances.
    let tasks: Vec<_> = (0..50)
        .map(|i| tokio::spawn(send(addr, get(&format!("/fn/web/item/{i}")))))
        .collect();
    let mut per_pid: HashMap<u64, u32> = HashMap::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let r = task.await.unwrap();
        assert_eq!(r.status, 200, "web request {i}: {:?}", r.body);
        let body = r.json();
        assert_eq!(body["path"], format!("/item/{i}"));
        assert_eq!(body["scf"]["x-scf-name"], "web");
        assert!(body["scf"]["x-scf-request-id"].is_string());
        assert!(body["concurrent"].as_u64().unwrap() <= 10, "{body}");
        *per_pid.entry(body["pid"].as_u64().unwrap()).or_default() += 1;
    }
    assert!(per_pid.len() <= 5, "{per_pid:?}");

    // The timer: N fires in N seconds (±1), checked from what the function itself recorded.
    let ticks = dir.join("ticks.jsonl");
    let count = || {
        std::fs::read_to_string(&ticks)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while count() == 0 {
        assert!(Instant::now() < deadline, "the timer never fired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = count();
    let n = 3;
    tokio::time::sleep(Duration::from_secs(n)).await;
    let fired = (count() - before) as u64;
    assert!((n - 1..=n + 1).contains(&fired), "{fired} fires in {n} s");
    let text = std::fs::read_to_string(&ticks).unwrap();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["Type"], "Timer");
        assert_eq!(event["TriggerName"], "every-second");
        assert_eq!(event["Message"], "tick");
        let time = event["Time"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'));
    }

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
