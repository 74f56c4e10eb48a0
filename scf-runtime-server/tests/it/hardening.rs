//! `cargo scf serve` as an attacker or a careless operator meets it: authentication beyond
//! loopback, strict TC3 (Rust-signed and signed by Tencent's Python SDK), bounded connections
//! and bodies, a private state folder, configs refused at load, JSON refused at acceptance and
//! one error shape.

use crate::support::host::{self, Answer, python_bootstrap, python_path_env, send};
use crate::support::pypi;

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
    let (status, output) = host::spawn_serve(&config, "0.0.0.0:0")
        .err()
        .expect("cargo scf serve refuses to listen on 0.0.0.0 without credentials");
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
