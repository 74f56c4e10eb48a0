//! The Cloud API (`POST /` with `X-TC-Action`): the action and the JSON parameters, through the
//! server's real dispatch and every action's parameter parsing (a host with no functions and a
//! control plane on an empty state folder, so no function runs). The input is the action, a
//! newline, and the body:
//!
//! ```text
//! CreateFunction
//! {"FunctionName": "hello", "Code": {"ZipFile": "UEsDBA=="}, "MemorySize": 128}
//! ```
//!
//! Every answer is HTTP 200 with a JSON `Response` carrying a `RequestId`; a refusal is a
//! `Response.Error` with a non-empty `Code` and a `Message`; a body that is not a JSON object is
//! `InvalidParameter`, an unknown action `InvalidAction`. Never a panic.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use axum::body::Body;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

use scf_runtime_server::Config;
use scf_runtime_server::control::ControlPlane;
use scf_runtime_server::host::Host;
use scf_runtime_server::http::cloud::{CloudApi, MANAGEMENT_ACTIONS};

struct Server {
    runtime: tokio::runtime::Runtime,
    host: Host,
    api: CloudApi,
    _state: tempfile::TempDir,
}

static SERVER: LazyLock<Server> = LazyLock::new(|| {
    let state = tempfile::tempdir().expect("a temporary folder");
    let text = format!(
        "[server]\nstate_dir = {:?}\nisolation = \"none\"\n",
        state.path().display().to_string()
    );
    let config = Config::parse(&text, Path::new("scf.toml"), state.path()).expect("config");
    let host = Host::new(&config).expect("a host without functions");
    let control = ControlPlane::new(host.clone(), &config).expect("a control plane");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    Server {
        runtime,
        host,
        api: CloudApi::new(None).with_control(control),
        _state: state,
    }
});

const QUEUE_ACTIONS: [&str; 5] = [
    "Invoke",
    "InvokeFunction",
    "GetAsyncEventStatus",
    "ListAsyncEvents",
    "TerminateAsyncEvent",
];

fuzz_target!(|data: &[u8]| {
    let (action, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let Ok(request) = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("x-tc-action", action)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
    else {
        return; // an action header hyper would refuse
    };
    let server = &*SERVER;
    let answer = server.runtime.block_on(async {
        let response = server.api.handle(&server.host, request).await;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the answer's body");
        (status, bytes)
    });
    assert_eq!(answer.0, http::StatusCode::OK);
    let json: Value = serde_json::from_slice(&answer.1).expect("the answer is JSON");
    let response = &json["Response"];
    assert!(
        response["RequestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{json}"
    );
    let error = &response["Error"];
    if error.is_null() {
        return;
    }
    let code = error["Code"].as_str().expect("an error has a Code");
    assert!(!code.is_empty() && error["Message"].is_string(), "{json}");
    let action = String::from_utf8_lossy(action);
    let action = action.trim();
    let object = body.iter().all(u8::is_ascii_whitespace)
        || matches!(serde_json::from_slice::<Value>(body), Ok(Value::Object(_)));
    if !object {
        assert_eq!(code, "InvalidParameter", "{json}");
    } else if !QUEUE_ACTIONS.contains(&action) && !MANAGEMENT_ACTIONS.contains(&action) {
        assert_eq!(code, "InvalidAction", "{json}");
    }
});
