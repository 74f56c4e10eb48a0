//! `cargo scf serve` as an attacker or a careless operator meets it: authentication beyond
//! loopback, strict TC3 (Rust-signed and signed by Tencent's Python SDK), bounded connections
//! and bodies, a private state folder, configs refused at load, JSON refused at acceptance and
//! one error shape.

use crate::support::host::{self, Answer, python_bootstrap, python_path_env, send};
use crate::support::pypi;

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use scf_runtime_server::http::cloud::tc3;
use serde_json::{Value, json};

const SECRET_ID: &str = "AKIDhardeningtest0000000000000000";
const SECRET_KEY: &str = "hardeningtestkey0000000000000000";
const TOKEN: &str = "tok-0123456789abcdef0123";

/// A config with credentials, an `echo` function (the Python bootstrap), a public API route, an
/// API route with `auth = true` and a public function URL.
fn guarded_config() -> Option<String> {
    let bootstrap = python_bootstrap()?;
    Some(format!(
        r#"[server]
listen = "127.0.0.1:0"
token = "{TOKEN}"
[server.cloud_api]
secret_id = "{SECRET_ID}"
secret_key = "{SECRET_KEY}"

[functions.echo]
bootstrap = "{}"
env = {{ PATH = "{}" }}
[[functions.echo.triggers]]
type = "apigw"
path = "/open"
integrated_response = false
[[functions.echo.triggers]]
type = "apigw"
path = "/closed"
integrated_response = false
auth = true
[[functions.echo.triggers]]
type = "function_url"
"#,
        bootstrap.display(),
        python_path_env()
    ))
}

/// `method path` with `body`, signed with TC3 at `timestamp` (`content-type;host`, plus
/// `x-tc-action` when `action` is given and `bind_action`).
fn signed(
    method: &str,
    path_and_query: &str,
    body: &str,
    timestamp: i64,
    action: Option<&str>,
    bind_action: bool,
) -> Request<Full<Bytes>> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let date = chrono::DateTime::from_timestamp(timestamp, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let mut names = vec![
        ("content-type", "application/json".to_owned()),
        ("host", "localhost".to_owned()),
    ];
    if let (Some(action), true) = (action, bind_action) {
        names.push(("x-tc-action", action.to_owned()));
    }
    let signed: Vec<(String, String)> = names
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.clone()))
        .collect();
    let canonical = tc3::canonical_request_at(method, path, query, &signed, body.as_bytes());
    let to_sign = tc3::string_to_sign(timestamp, &date, "scf", &canonical);
    let signature = tc3::signature(SECRET_KEY, &date, "scf", &to_sign);
    let header_names: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
    let mut request = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("x-tc-timestamp", timestamp.to_string())
        .header("x-tc-version", "2018-04-16")
        .header(
            "authorization",
            format!(
                "TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/scf/tc3_request, SignedHeaders={}, Signature={signature}",
                header_names.join(";")
            ),
        );
    if let Some(action) = action {
        request = request.header("x-tc-action", action);
    }
    request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn with_token(request: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    Request::from_parts(parts, body)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The protected routes: `(method, path, body)`.
const PROTECTED: [(&str, &str, &str); 8] = [
    ("POST", "/functions/echo/invocations", r#"{"a":1}"#),
    ("GET", "/status", ""),
    ("GET", "/metrics", ""),
    ("GET", "/async/events?limit=1", ""),
    ("GET", "/async/dlq", ""),
    ("POST", "/async/dlq/purge", "{}"),
    ("GET", "/ui/api/functions", ""),
    ("GET", "/closed", ""),
];

fn plain(method: &str, path: &str, body: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

fn assert_refused(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 401, "{what}: {:?}", answer.body);
    let body = answer.json();
    assert_eq!(body["code"], 401, "{what}: {body}");
    assert_eq!(body["error"], "Unauthorized", "{what}: {body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("AuthFailure."),
        "{what}: {body}"
    );
}

#[test]
fn a_non_loopback_listen_without_credentials_does_not_start() {
    let dir = host::TempDir::new("exposed");
    let config = dir.path().join("scf.toml");
    std::fs::write(&config, "[server]\n").unwrap();
    // Refused before anything is bound.
    let (status, output) = match host::spawn_serve(&config, "0.0.0.0:0") {
        Err(refused) => refused,
        Ok((mut child, addr, _)) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cargo scf serve listened on {addr} without credentials");
        }
    };
    assert!(!status.contains("exit status: 0"), "{status}");
    let text = output.join("\n");
    assert!(
        text.contains("not a loopback address") && text.contains("--insecure-listen"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_guard_every_route_but_health_and_public_triggers() {
    let Some(config) = guarded_config() else {
        return;
    };
    let server = host::start("guarded", &config);
    let addr = server.addr;

    let health = send(addr, plain("GET", "/healthz", "")).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let open = send(addr, plain("GET", "/open", "")).await;
    assert_eq!(open.status, 200, "the public API route: {:?}", open.body);
    let url = send(addr, plain("POST", "/fn/echo/x", "{}")).await;
    // The echo is not an integrated response (502), but it was invoked: no authentication.
    assert_eq!(url.status, 502, "the public function URL: {:?}", url.body);

    for (method, path, body) in PROTECTED {
        let what = format!("{method} {path}");
        assert_refused(&send(addr, plain(method, path, body)).await, &what);
        let mut wrong = plain(method, path, body);
        wrong
            .headers_mut()
            .insert("authorization", "Bearer not-the-token".parse().unwrap());
        assert_refused(&send(addr, wrong).await, &what);

        let answer = send(addr, with_token(plain(method, path, body))).await;
        assert!(
            answer.status.is_success(),
            "{what} with the token: {} {:?}",
            answer.status,
            answer.body
        );

        let t = now();
        let first = send(addr, signed(method, path, body, t, None, false)).await;
        assert!(first.status.is_success(), "{what} signed: {:?}", first.body);
        // The same request signed at the same second: the same signature, used already.
        let again = send(addr, signed(method, path, body, t, None, false)).await;
        if again.status.is_success() {
            panic!("{what}: a replayed signature was accepted");
        }
        assert_refused(&again, &format!("{what} replayed"));
        for stamp in [now() - 400, now() + 400] {
            let stale = send(addr, signed(method, path, body, stamp, None, false)).await;
            assert_refused(&stale, &format!("{what} stamped {stamp}"));
        }
    }

    // The Cloud API answers its own shape.
    let cloud = |request| async move {
        let answer = send(addr, request).await;
        assert_eq!(answer.status, 200);
        answer.json()["Response"].clone()
    };
    let status = json!({"InvokeRequestId": "nope"}).to_string();
    let unsigned = cloud(plain_cloud("GetAsyncEventStatus", &status)).await;
    assert!(
        unsigned["Error"]["Code"]
            .as_str()
            .unwrap()
            .starts_with("AuthFailure."),
        "{unsigned}"
    );
    let ok = cloud(signed(
        "POST",
        "/",
        &status,
        now(),
        Some("GetAsyncEventStatus"),
        false,
    ))
    .await;
    assert_eq!(ok["Error"]["Code"], "ResourceNotFound.AsyncEvent", "{ok}");
    // Signed as one action (unbound), sent again as another: the signature was used.
    let invoke = json!({"FunctionName": "echo", "ClientContext": "{}"}).to_string();
    let t = now();
    let first = cloud(signed("POST", "/", &invoke, t, Some("Invoke"), false)).await;
    assert_eq!(first["Result"]["InvokeResult"], 0, "{first}");
    let swapped = cloud(signed(
        "POST",
        "/",
        &invoke,
        t,
        Some("InvokeFunction"),
        false,
    ))
    .await;
    assert_eq!(
        swapped["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{swapped}"
    );
    // Bound: another action does not match the signature.
    let mut bound = signed("POST", "/", &invoke, now(), Some("Invoke"), true);
    bound
        .headers_mut()
        .insert("x-tc-action", "InvokeFunction".parse().unwrap());
    let bound = cloud(bound).await;
    assert_eq!(
        bound["Error"]["Code"], "AuthFailure.SignatureFailure",
        "{bound}"
    );

    // The dashboard: the token in the query becomes a cookie.
    let page = send(addr, plain("GET", &format!("/ui?token={TOKEN}"), "")).await;
    assert_eq!(page.status, 303);
    let cookie = page.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let mut with_cookie = plain("GET", "/ui", "");
    with_cookie
        .headers_mut()
        .insert("cookie", cookie.split(';').next().unwrap().parse().unwrap());
    assert_eq!(send(addr, with_cookie).await.status, 200);
    assert_refused(&send(addr, plain("GET", "/ui", "")).await, "/ui");
}

fn plain_cloud(action: &str, body: &str) -> Request<Full<Bytes>> {
    let mut request = plain("POST", "/", body);
    request
        .headers_mut()
        .insert("x-tc-action", action.parse().unwrap());
    request
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    request
}

const SDK: [&str; 2] = [
    "tencentcloud-sdk-python-common==3.1.195",
    "tencentcloud-sdk-python-scf==3.1.100",
];

/// Tencent's Python SDK, signing as it does for the real endpoint (`content-type;host`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tencents_python_sdk_signs_requests_the_server_accepts() {
    const TEST: &str = "hardening::tencents_python_sdk_signs_requests_the_server_accepts";
    let Some(config) = guarded_config() else {
        return;
    };
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tencentcloud-sdk");
    let site = match pypi::install(&root, &SDK) {
        Ok(site) => site,
        Err(reason) => {
            pypi::skipped(TEST, &reason);
            return;
        }
    };
    let server = host::start("sdk", &config);
    let script = r#"
import json, sys
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.scf.v20180416 import scf_client, models

def client(secret_key):
    http = HttpProfile(endpoint=sys.argv[1])
    http.scheme = "http"
    return scf_client.ScfClient(credential.Credential(sys.argv[2], secret_key), "ap-guangzhou", ClientProfile(httpProfile=http))

out = {}
req = models.InvokeRequest()
req.FunctionName = "echo"
req.ClientContext = json.dumps({"from": "sdk"})
out["invoke"] = json.loads(client(sys.argv[3]).Invoke(req).to_json_string())
try:
    client("wrong-key").Invoke(req)
    out["wrong"] = "accepted"
except TencentCloudSDKException as e:
    out["wrong"] = e.code
print(json.dumps(out))
"#;
    let output = tokio::process::Command::new("python3")
        .args([
            "-c",
            script,
            &server.addr.to_string(),
            SECRET_ID,
            SECRET_KEY,
        ])
        .env("PYTHONPATH", &site)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(out["invoke"]["Result"]["InvokeResult"], 0, "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(out["invoke"]["Result"]["RetMsg"].as_str().unwrap()).unwrap(),
        json!({"from": "sdk"})
    );
    assert_eq!(out["wrong"], "AuthFailure.SignatureFailure", "{out}");
}

/// The resident memory of process `pid`, bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

fn echo_config(server_keys: &str) -> Option<String> {
    let bootstrap = python_bootstrap()?;
    Some(format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{server_keys}\n[functions.echo]\nbootstrap = \"{}\"\nenv = {{ PATH = \"{}\" }}\n[[functions.echo.triggers]]\ntype = \"function_url\"\n",
        bootstrap.display(),
        python_path_env()
    ))
}

/// Waits (up to 60 s) for the server to close `stream`: true when it read end of file or a reset.
async fn closed_by_server(mut stream: tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A 408 or similar before the close.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_header_connections_are_closed_and_traffic_still_answers() {
    use tokio::io::AsyncWriteExt as _;
    let Some(config) = echo_config("max_connections = 200\nheader_timeout_s = 1") else {
        return;
    };
    let server = host::start("idle", &config);
    let addr = server.addr;
    // 1,000 connections that never send a byte, 50 that send half a request slowly.
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /functions/echo/invocations HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(tokio::spawn(async move {
            // One header byte every 300 ms: never a whole head, never quiet for long.
            for _ in 0..200 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if stream.write_all(b"X").await.is_err() {
                    return true;
                }
            }
            false
        }));
    }
    // Normal traffic answers (after the server sheds the idle ones in front of it).
    for i in 0..3 {
        let answer = send(
            addr,
            host::post("/functions/echo/invocations", format!("{{\"n\":{i}}}")),
        )
        .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.json(), json!({ "n": i }));
    }
    let closed = futures_util::future::join_all(idle.into_iter().map(closed_by_server)).await;
    assert!(
        closed.iter().all(|c| *c),
        "{} of 1000 idle connections still open after 60 s",
        closed.iter().filter(|c| !**c).count()
    );
    for task in slow {
        assert!(
            task.await.unwrap(),
            "a slow-header connection was never closed"
        );
    }
    assert_eq!(send(addr, host::get("/healthz")).await.status, 200);
}

/// Streams `total` bytes of body (chunked) to `path` and returns the answer's status line (the
/// server answers and closes long before the end).
async fn stream_body(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &str,
    total: usize,
) -> String {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{headers}Transfer-Encoding: chunked\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 1024 * 1024];
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        let mut sent = 0;
        while sent < total {
            write.write_all(&framed).await?;
            sent += 1024 * 1024;
        }
        write.write_all(b"0\r\n\r\n").await?;
        // Kept open (no half-close) until the answer is read.
        std::future::pending::<()>().await;
        Ok::<_, std::io::Error>(write)
    });
    let mut lines = tokio::io::BufReader::new(read);
    let mut status = String::new();
    tokio::time::timeout(Duration::from_secs(120), lines.read_line(&mut status))
        .await
        .expect("an answer within 120 s")
        .unwrap();
    writer.abort();
    status.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_bodies_are_refused_without_the_server_growing() {
    let Some(config) = echo_config("") else {
        return;
    };
    let server = host::start("big-bodies", &config);
    let pid = server.child.id();
    const GIB: usize = 1024 * 1024 * 1024;
    let routes = [
        ("/async/dlq/replay", "", "413"),
        ("/async/dlq/purge", "", "413"),
        ("/functions/echo/invocations", "", "406"),
        (
            "/functions/echo/invocations",
            "X-Scf-Invocation-Type: Event\r\n",
            "406",
        ),
        ("/", "X-TC-Action: Invoke\r\n", "200"),
        ("/fn/echo/", "", "413"),
    ];
    // Each route once past its limit: what a refused body may take (the route's limit, 12 MB
    // for the Cloud API) is touched once; then 1 GiB to each adds nothing.
    for (path, headers, expected) in routes {
        let status = stream_body(server.addr, path, headers, 16 * 1024 * 1024).await;
        assert!(status.contains(expected), "{path}: {status}");
    }
    let before = rss_bytes(pid);
    for (path, headers, expected) in routes {
        let status = stream_body(server.addr, path, headers, GIB).await;
        assert!(status.contains(expected), "{path}: {status}");
    }
    let after = rss_bytes(pid);
    let grown = after.saturating_sub(before);
    assert!(
        // Six 1 GiB bodies: what stays is allocator slack of the per-request buffers (each at
        // most its route's limit), not the bodies (one took the server to 2 GB before).
        grown < 64 * 1024 * 1024,
        "the server grew by {} MB (from {} MB to {} MB)",
        grown >> 20,
        before >> 20,
        after >> 20
    );
    assert_eq!(server.invoke("echo", "{}").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_folder_is_private_whatever_it_was() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[server.cloud_api]\nsecret_id = \"{SECRET_ID}\"\nsecret_key = \"{SECRET_KEY}\"\n"
    );
    // Created by the server: 0700 and 0600.
    let server = host::start("modes", &config);
    let state = server.dir.path().join("state");
    assert_eq!(mode(&state), 0o700);
    let files: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    // Folders (deployed code and records) are 0700, files 0600.
    let private = |p: &std::path::Path| if p.is_dir() { 0o700 } else { 0o600 };
    for file in &files {
        assert_eq!(mode(file), private(file), "{}", file.display());
    }
    // Opened up by hand while it was stopped: closed again at start.
    let dir = server.dir.path().to_owned();
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in &files {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (mut child, _, output) = host::spawn_serve(&dir.join("scf.toml"), "127.0.0.1:0")
        .unwrap_or_else(|(s, o)| panic!("{s}: {}", o.join("\n")));
    assert_eq!(mode(&state), 0o700);
    for file in &files {
        assert_eq!(mode(file), private(file), "{}", file.display());
    }
    let text = output.lock().unwrap().join("\n");
    assert!(text.contains("was readable by other users"), "{text}");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparseable_events_are_refused_at_acceptance_and_every_error_has_one_shape() {
    let Some(config) = echo_config("") else {
        return;
    };
    let server = host::start("shapes", &config);
    let addr = server.addr;
    let mut bad_utf8 = b"{\"a\": \"".to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe]);
    bad_utf8.extend_from_slice(b"\"}");
    let deep = format!("{}{}", "[".repeat(60_000), "]".repeat(60_000));
    for body in [
        b"1e5000".to_vec(),
        b"{\"a\": \"\\ud800\"}".to_vec(),
        bad_utf8,
        deep.into_bytes(),
    ] {
        for kind in ["Event", "RequestResponse"] {
            let mut request = host::post("/functions/echo/invocations", body.clone());
            request
                .headers_mut()
                .insert("x-scf-invocation-type", kind.parse().unwrap());
            let answer = send(addr, request).await;
            assert_eq!(answer.status, 400, "{kind}: {:?}", answer.body);
            let json = answer.json();
            assert!(json["message"].as_str().unwrap().contains("JSON"), "{json}");
        }
    }
    // Nothing was accepted.
    let events = send(addr, host::get("/async/events")).await.json();
    assert_eq!(events["total"], 0, "{events}");

    let shape = |answer: &Answer, status: u16| {
        assert_eq!(answer.status, status, "{:?}", answer.body);
        let json = answer.json();
        assert_eq!(json["code"], status, "{json}");
        assert!(
            json["error"].is_string() && json["message"].is_string(),
            "{json}"
        );
    };
    // A wrong method on the server's own routes: JSON 405 with Allow.
    for (method, path) in [
        ("DELETE", "/status"),
        ("POST", "/metrics"),
        ("GET", "/functions/echo/invocations"),
        ("PUT", "/async/dlq/purge"),
        ("POST", "/healthz"),
    ] {
        let answer = send(addr, plain(method, path, "")).await;
        shape(&answer, 405);
        assert!(answer.headers.contains_key("allow"), "{method} {path}");
    }
    // Bad bodies and queries on /async: JSON, not text.
    shape(
        &send(addr, plain("POST", "/async/dlq/purge", "[1")).await,
        400,
    );
    shape(
        &send(addr, plain("GET", "/async/dlq?limit=many", "")).await,
        400,
    );
    shape(
        &send(addr, plain("GET", "/async/events?offset=-1", "")).await,
        400,
    );
    // A non-ASCII invocation type is refused, not run sync.
    let mut request = host::post("/functions/echo/invocations", "{}");
    request.headers_mut().insert(
        "x-scf-invocation-type",
        http::HeaderValue::from_bytes("Évent".as_bytes()).unwrap(),
    );
    let answer = send(addr, request).await;
    assert!(answer.status.is_client_error(), "{}", answer.status);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("X-Scf-Invocation-Type")
    );
    // ListAsyncEvents of an unknown function.
    let list = host::cloud(addr, "ListAsyncEvents", json!({"FunctionName": "nope"})).await;
    assert_eq!(
        list["Response"]["Error"]["Code"], "ResourceNotFound.Function",
        "{list}"
    );
}
