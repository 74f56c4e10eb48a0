//! End to end through `cargo scf serve` with a Python bootstrap that opens a new connection for every
//! runtime API request: both invoke APIs, logs, the instance environment, scaling, every fault
//! code, payload limits, throttling, metrics, shutdown and orphans.

use crate::support::host;

use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt as _;

use base64::Engine as _;
use host::{Server, alive, gone_within, metric, python_bootstrap, python_path_env, start};
use serde_json::json;

/// A config with one function per `(name, extra keys)` running the Python bootstrap.
fn config(functions: &[(&str, &str)]) -> Option<String> {
    let bootstrap = python_bootstrap()?;
    let path = python_path_env();
    let mut text = String::from("[server]\nlisten = \"127.0.0.1:0\"\n");
    for (name, extra) in functions {
        text.push_str(&format!(
            "\n[functions.{name}]\nbootstrap = \"{}\"\n{extra}\n",
            bootstrap.display()
        ));
        if !extra.contains("env =") {
            text.push_str(&format!("env = {{ PATH = \"{path}\" }}\n"));
        }
    }
    Some(text)
}

fn env_with(extra: &str) -> String {
    format!("env = {{ PATH = \"{}\", {extra} }}", python_path_env())
}

/// The status line of the raw answer to invoking `function` with `event`.
async fn status_line(addr: std::net::SocketAddr, function: &str, event: &str) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /functions/{function}/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{event}",
        event.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

async fn pid_of(server: &Server, function: &str) -> u64 {
    let r = server.invoke(function, r#"{"pid": true}"#).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.json()["pid"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_logs_env_and_metrics_over_both_invoke_apis() {
    let Some(config) = config(&[("py", "timeout_s = 5"), ("other", "")]) else {
        return;
    };
    let server = start("echo", &config);

    // Invoke API: the raw result, a request id, and the SCF lines in the server's output.
    let r = server.invoke("py", r#"{"hello": "world"}"#).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"hello": "world"}"#);
    let id = r.request_id();
    server
        .wait_for_line(&[&format!("START RequestId:{id}")])
        .await;
    server
        .wait_for_line(&[&format!("END RequestId:{id}")])
        .await;
    let report = server
        .wait_for_line(&[&format!("Report RequestId:{id} Duration:")])
        .await;
    assert!(report.contains("Memory:128MB MemUsage:"), "{report}");
    let mem: f64 = report
        .split("MemUsage:")
        .nth(1)
        .and_then(|s| s.split("MB").next())
        .and_then(|s| s.parse().ok())
        .expect("MemUsage is a number of MB");
    assert!(mem > 1.0 && mem < 128.0, "measured RSS {mem} MB");
    server
        .wait_for_line(&[&format!("Init Report RequestId:{id} InitDuration: ")])
        .await;
    // Output during init is logged with its function.
    server
        .wait_for_line(&["init pid=", "function=\"py\""])
        .await;

    // An empty event is delivered as {}.
    let r = server.invoke("py", "").await;
    assert_eq!((r.status.as_u16(), &r.body[..]), (200, &b"{}"[..]));

    // Printed lines carry the request id, and LogType Tail gives them back.
    let request = host::post(
        "/functions/py/invocations",
        r#"{"print": ["first line", "second line"]}"#,
    );
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert("x-scf-log-type", "Tail".parse().unwrap());
    let r = host::send(server.addr, http::Request::from_parts(parts, body)).await;
    let id = r.request_id();
    let tail = base64::engine::general_purpose::STANDARD
        .decode(r.headers["x-scf-log"].as_bytes())
        .unwrap();
    let tail = String::from_utf8(tail).unwrap();
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines[0], format!("START RequestId:{id}"), "{tail}");
    assert!(
        lines.contains(&"first line") && lines.contains(&"to stderr"),
        "{tail}"
    );
    assert_eq!(lines[lines.len() - 2], format!("END RequestId:{id}"));
    let report = lines[lines.len() - 1];
    assert!(report.starts_with(&format!("Report RequestId:{id} Duration:")));
    // One duration figure: the header's is the Report line's, whole milliseconds.
    let header_ms = r.headers["x-scf-duration-ms"].to_str().unwrap();
    assert!(
        report.contains(&format!(" Duration:{header_ms}ms ")),
        "X-Scf-Duration-Ms {header_ms} vs {report}"
    );
    assert!(header_ms.parse::<u64>().unwrap() >= 1, "{header_ms}");
    server
        .wait_for_line(&["second line", &format!("request_id=\"{id}\"")])
        .await;

    // A function error: 430 with the posted text as the message, and the ERROR line.
    let r = server.invoke("py", r#"{"error": "it broke"}"#).await;
    assert_eq!(r.status, 430);
    assert_eq!(
        r.json(),
        json!({"code": 430, "error": "UserCodeException", "message": "it broke"})
    );
    let id = r.request_id();
    server
        .wait_for_line(&[&format!("ERROR RequestId:{id} Result:it broke")])
        .await;
    // A function error object comes back as JSON, its errorMessage as the message; the ERROR
    // line keeps the posted text.
    let posted = r#"{"errorType":"PaymentDeclined","errorMessage":"card declined","stackTrace":["pay (pay.py:3)"]}"#;
    let r = server
        .invoke("py", json!({ "error": posted }).to_string())
        .await;
    assert_eq!(r.status, 430);
    let body = r.json();
    assert_eq!(body["code"], 430, "{body}");
    assert_eq!(body["error"], "UserCodeException", "{body}");
    assert_eq!(body["message"], "card declined", "{body}");
    assert_eq!(
        body["function_error"]["errorType"], "PaymentDeclined",
        "{body}"
    );
    assert_eq!(
        body["function_error"]["stackTrace"][0], "pay (pay.py:3)",
        "{body}"
    );
    let id = r.request_id();
    server
        .wait_for_line(&[&format!("ERROR RequestId:{id} Result:{posted}")])
        .await;

    // The exact environment: the platform's variables, the function's own, nothing inherited.
    let env = server.invoke("py", r#"{"env": true}"#).await.json();
    let env = env.as_object().unwrap();
    assert_eq!(env["SCF_RUNTIME_API"], "127.0.0.1");
    let port: u16 = env["SCF_RUNTIME_API_PORT"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, server.addr.port());
    for (k, v) in [
        ("SCF_FUNCTIONNAME", "py"),
        ("SCF_FUNCTIONVERSION", "$LATEST"),
        ("SCF_NAMESPACE", "default"),
        ("SCF_RUNTIME", "CustomRuntime"),
        ("TENCENTCLOUD_REGION", "ap-guangzhou"),
        ("TENCENTCLOUD_APPID", "1250000000"),
        ("TENCENTCLOUD_UIN", "100000000001"),
        ("TENCENTCLOUD_RUNENV", "SCF"),
        ("_HANDLER", "index.main_handler"),
        ("HOME", "/tmp"),
    ] {
        assert_eq!(env[k], v, "{k}");
    }
    assert!(
        env["USER_CODE_ROOT"]
            .as_str()
            .unwrap()
            .ends_with("tests/scripts/")
    );
    let allowed = [
        "SCF_RUNTIME_API",
        "SCF_RUNTIME_API_PORT",
        "SCF_FUNCTIONNAME",
        "SCF_FUNCTIONVERSION",
        "SCF_NAMESPACE",
        "SCF_RUNTIME",
        "TENCENTCLOUD_REGION",
        "TENCENTCLOUD_APPID",
        "TENCENTCLOUD_UIN",
        "TENCENTCLOUD_RUNENV",
        "TENCENTCLOUD_TZ",
        "_HANDLER",
        "USER_CODE_ROOT",
        "LD_LIBRARY_PATH",
        "PATH",
        "HOME",
        "LANG",
        "LC_CTYPE", // set by Python itself under C.UTF-8
    ];
    for key in env.keys() {
        assert!(
            allowed.contains(&key.as_str()),
            "unexpected variable {key} in the instance"
        );
    }
    assert!(!env.contains_key("TENCENTCLOUD_SECRETID"));

    // Cloud API: Invoke (sync, with the log tail) and InvokeFunction.
    let v = server
        .cloud(
            "Invoke",
            json!({"FunctionName": "py", "ClientContext": "{\"k\": 1}", "LogType": "Tail"}),
        )
        .await;
    let result = &v["Response"]["Result"];
    assert_eq!(result["RetMsg"], "{\"k\": 1}", "{v}");
    assert_eq!(result["InvokeResult"], 0);
    assert_eq!(result["ErrMsg"], "");
    assert_eq!(result["FunctionRequestId"], v["Response"]["RequestId"]);
    assert!(result["MemUsage"].as_u64().unwrap() > 1024 * 1024);
    assert!(result["Duration"].as_f64().unwrap() >= 0.0);
    assert!(result["BillDuration"].as_u64().unwrap() >= 1);
    let log = result["Log"].as_str().unwrap();
    assert!(
        log.starts_with(&format!(
            "START RequestId:{}",
            result["FunctionRequestId"].as_str().unwrap()
        )),
        "{log}"
    );
    let v = server
        .cloud(
            "InvokeFunction",
            json!({"FunctionName": "py", "Event": "{\"e\": 2}"}),
        )
        .await;
    assert_eq!(v["Response"]["Result"]["RetMsg"], "{\"e\": 2}", "{v}");
    assert_eq!(v["Response"]["Result"]["Log"], "");
    // A function failure is a Result with InvokeResult -1; a refusal is Response.Error.
    let v = server
        .cloud(
            "Invoke",
            json!({"FunctionName": "py", "ClientContext": "{\"error\": \"bad\"}"}),
        )
        .await;
    assert_eq!(v["Response"]["Result"]["InvokeResult"], -1, "{v}");
    assert_eq!(v["Response"]["Result"]["ErrMsg"], "bad");
    // The Cloud API's ErrMsg is the posted text, a JSON error object included.
    let posted = r#"{"errorType":"Oops","errorMessage":"bad"}"#;
    let v = server
        .cloud(
            "Invoke",
            json!({"FunctionName": "py", "ClientContext": json!({ "error": posted }).to_string()}),
        )
        .await;
    assert_eq!(v["Response"]["Result"]["ErrMsg"], posted, "{v}");
    for (params, code) in [
        (json!({"FunctionName": "nope"}), "ResourceNotFound.Function"),
        (json!({}), "MissingParameter"),
        (
            json!({"FunctionName": "py", "InvocationType": "Sometimes"}),
            "InvalidParameterValue.InvokeType",
        ),
        (
            json!({"FunctionName": "py", "Qualifier": "7"}),
            "ResourceNotFound.Qualifier",
        ),
        (
            json!({"FunctionName": "py", "Namespace": "prod"}),
            "ResourceNotFound.Namespace",
        ),
        (
            json!({"FunctionName": "py", "ClientContext": "not json"}),
            "InvalidParameterValue.Param",
        ),
    ] {
        let v = server.cloud("Invoke", params.clone()).await;
        assert_eq!(v["Response"]["Error"]["Code"], code, "{params}: {v}");
        assert!(v["Response"]["RequestId"].is_string());
    }
    let v = server.cloud("DeleteEverything", json!({})).await;
    assert_eq!(v["Response"]["Error"]["Code"], "InvalidAction");

    // Async over both APIs: accepted with a request id, then run (its START line appears).
    let r = host::send(server.addr, {
        let (mut parts, body) =
            host::post("/functions/other/invocations", r#"{"async": 1}"#).into_parts();
        parts
            .headers
            .insert("x-scf-invocation-type", "Event".parse().unwrap());
        http::Request::from_parts(parts, body)
    })
    .await;
    assert_eq!(r.status, 202);
    let id = r.request_id();
    assert_eq!(r.json()["RequestId"], id.as_str());
    server
        .wait_for_line(&[&format!("END RequestId:{id}")])
        .await;
    let v = server
        .cloud(
            "Invoke",
            json!({"FunctionName": "other", "InvocationType": "Event", "ClientContext": "{}"}),
        )
        .await;
    let id = v["Response"]["Result"]["FunctionRequestId"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .wait_for_line(&[&format!("END RequestId:{id}")])
        .await;

    // Unknown functions and non-JSON events are refused before anything runs.
    let r = server.invoke("nope", "{}").await;
    assert_eq!(r.status, 435);
    assert_eq!(r.json()["error"], "FunctionNotFound");
    let r = server.invoke("py", "not json").await;
    assert_eq!(r.status, 400);

    // The metrics count exactly what was sent.
    let m = server.metrics().await;
    // py ran 10 events (echo, empty, print, error, error object, env, Cloud Invoke,
    // InvokeFunction, Cloud error, Cloud error object) and refused 2 that were not JSON; the
    // other Cloud API refusals never reach the host.
    assert_eq!(
        metric(&m, "scf_invocations_total{function=\"py\"}"),
        Some(12.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_errors_total{function=\"py\",code=\"430\"}"),
        Some(4.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_errors_total{function=\"py\",code=\"400\"}"),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_invocations_total{function=\"other\"}"),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_async_accepted_total{function=\"other\"}"),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_cold_starts_total{function=\"py\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_duration_seconds_count{function=\"py\"}"),
        Some(10.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_instances{function=\"py\",state=\"idle\"}"),
        Some(1.0),
        "{m}"
    );
    assert!(
        !m.contains("function=\"nope\""),
        "unknown names make no series"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scales_out_to_max_then_back_to_min() {
    let Some(config) = config(&[(
        "scale",
        "max_instances = 6\nmin_instances = 1\nidle_timeout_s = 1\ntimeout_s = 10",
    )]) else {
        return;
    };
    let server = start("scale", &config);
    // The min instance is started at boot.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.function_status("scale").await["counts"]["idle"] != 1 {
        assert!(Instant::now() < deadline, "min_instances not started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = server.function_status("scale").await["instances"][0]["pid"]
        .as_u64()
        .unwrap();

    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let addr = server.addr;
            tokio::spawn(async move {
                let body = format!(r#"{{"sleep": 0.05, "pid": true, "i": {i}}}"#);
                host::send(addr, host::post("/functions/scale/invocations", body)).await
            })
        })
        .collect();
    let mut peak = 0;
    let mut pids = HashSet::new();
    let mut done = 0;
    for task in tasks {
        let r = task.await.unwrap();
        assert_eq!(r.status, 200, "{:?}", r.body);
        pids.insert(r.json()["pid"].as_u64().unwrap());
        done += 1;
        if done % 20 == 0 {
            let s = server.function_status("scale").await;
            peak = peak.max(s["instances"].as_array().unwrap().len());
        }
    }
    assert_eq!(
        pids.len(),
        6,
        "200 concurrent invocations use exactly max_instances processes"
    );
    assert!(peak <= 6, "never more than max_instances: {peak}");
    assert!(pids.contains(&first), "the min instance served too");

    // Back to min_instances after the idle timeout; the others' processes are gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = server.function_status("scale").await;
        let instances = s["instances"].as_array().unwrap();
        if instances.len() == 1 && s["counts"]["idle"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "not back to 1 instance: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept: u64 = server.function_status("scale").await["instances"][0]["pid"]
        .as_u64()
        .unwrap();
    for pid in pids.iter().filter(|p| **p != kept) {
        assert!(
            gone_within(*pid, Duration::from_secs(5)).await,
            "reclaimed instance {pid} still runs"
        );
    }
    let m = server.metrics().await;
    assert_eq!(
        metric(&m, "scf_invocations_total{function=\"scale\"}"),
        Some(200.0)
    );
    assert_eq!(
        metric(&m, "scf_errors_total{function=\"scale\",code=\"432\"}"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_group_and_refuses_the_late_post() {
    let Some(config) = config(&[("slow", "timeout_s = 0.5")]) else {
        return;
    };
    // A helper outliving its instance to post late exists only without a sandbox: in one, it
    // dies with the instance (tests/it/sandbox.rs).
    let config = config.replace("[server]\n", "[server]\nisolation = \"none\"\n");
    let server = start("timeout", &config);
    let pid = pid_of(&server, "slow").await;
    assert_eq!(server.function_status("slow").await["isolation"], "none");

    let started = Instant::now();
    let late = server.dir.path().join("late.txt");
    let event = json!({"late": late, "after": 1.0}).to_string();
    let r = server.invoke("slow", event).await;
    assert_eq!(r.status, 433, "{:?}", r.body);
    assert_eq!(r.json()["error"], "TimeLimitReached");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        gone_within(pid, Duration::from_secs(2)).await,
        "the timed-out process {pid} still runs"
    );
    let id = r.request_id();
    server
        .wait_for_line(&[&format!("ERROR RequestId:{id} Result:433 TimeLimitReached")])
        .await;

    // The helper the bootstrap left behind posts its result after the timeout: refused with 410.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !late.exists() {
        assert!(Instant::now() < deadline, "the late post was never made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let text = std::fs::read_to_string(&late).unwrap();
    assert!(
        text.starts_with("410 ") && text.contains("InvocationTimedOut"),
        "{text}"
    );

    // The next invocation runs on a fresh instance.
    let next = pid_of(&server, "slow").await;
    assert_ne!(next, pid);

    // The status line names the SCF code.
    let head = status_line(server.addr, "slow", r#"{"sleep": 2}"#).await;
    assert_eq!(head, "HTTP/1.1 433 TimeLimitReached");

    // A second result post is refused with 409 and the first one stands.
    let twice = server.dir.path().join("twice.txt");
    let r = server
        .invoke("slow", json!({"twice": twice}).to_string())
        .await;
    assert_eq!(r.body, "\"first\"");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(&twice)
        .map(|t| t.is_empty())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = std::fs::read_to_string(&twice).unwrap();
    assert!(
        text.starts_with("409 ") && text.contains("AlreadyAnswered"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_mid_invocation_is_439_at_once_and_memory_over_the_limit_is_434() {
    let Some(config) = config(&[
        ("crashy", "timeout_s = 20"),
        ("hungry", "timeout_s = 20\nmemory_mb = 64"),
    ]) else {
        return;
    };
    let server = start("exit", &config);
    let pid = pid_of(&server, "crashy").await;
    let started = Instant::now();
    let r = server.invoke("crashy", r#"{"exit": 3}"#).await;
    assert_eq!(r.status, 439, "{:?}", r.body);
    assert_eq!(r.json()["error"], "UserProcessExit");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "439 must not wait for the timeout"
    );
    let next = pid_of(&server, "crashy").await;
    assert_ne!(next, pid, "the next invocation runs on a fresh instance");

    let pid = pid_of(&server, "hungry").await;
    let started = Instant::now();
    let r = server
        .invoke("hungry", r#"{"alloc_mb": 150, "hold": 15}"#)
        .await;
    assert_eq!(r.status, 434, "{:?}", r.body);
    assert_eq!(r.json()["error"], "MemoryLimitReached");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(gone_within(pid, Duration::from_secs(2)).await);
    let r = server
        .invoke("hungry", r#"{"alloc_mb": 8, "hold": 0}"#)
        .await;
    assert_eq!(r.status, 200, "a small allocation is fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_failures_are_405_and_450() {
    let Some(config) = config(&[
        ("broken", &env_with("INIT = \"crash\"")),
        (
            "stuck",
            &format!("init_timeout_s = 0.5\n{}", env_with("INIT = \"hang\"")),
        ),
    ]) else {
        return;
    };
    let server = start("init", &config);
    let request = {
        let (mut parts, body) = host::post("/functions/broken/invocations", "{}").into_parts();
        parts
            .headers
            .insert("x-scf-log-type", "Tail".parse().unwrap());
        http::Request::from_parts(parts, body)
    };
    let r = host::send(server.addr, request).await;
    assert_eq!(r.status, 405, "{:?}", r.body);
    assert_eq!(r.json()["error"], "ContainerStateExited");
    let log = base64::engine::general_purpose::STANDARD
        .decode(r.headers["x-scf-log"].as_bytes())
        .unwrap();
    assert!(
        String::from_utf8_lossy(&log).contains("init failed: no config"),
        "the init output is in the log"
    );
    // Crash loops are rate-limited: the next call fails with the same code, never spins.
    let r = server.invoke("broken", "{}").await;
    assert_eq!(r.status, 405);
    let v = server
        .cloud("Invoke", json!({"FunctionName": "broken"}))
        .await;
    assert_eq!(v["Response"]["Result"]["InvokeResult"], -1, "{v}");
    assert!(
        v["Response"]["Result"]["ErrMsg"]
            .as_str()
            .unwrap()
            .contains("405")
    );

    let started = Instant::now();
    let r = server.invoke("stuck", "{}").await;
    assert_eq!(r.status, 450, "{:?}", r.body);
    assert_eq!(r.json()["error"], "InitContainerTimeout");
    assert!(started.elapsed() < Duration::from_secs(5));
    let line = server
        .wait_for_line(&["init pid=", "function=\"stuck\""])
        .await;
    let pid: u64 = line
        .split("init pid=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(
        gone_within(pid, Duration::from_secs(2)).await,
        "the stuck process is killed"
    );
    let m = server.metrics().await;
    assert!(
        metric(
            &m,
            "scf_init_failures_total{function=\"broken\",code=\"405\"}"
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        metric(
            &m,
            "scf_init_failures_total{function=\"stuck\",code=\"450\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_limits_and_throttling() {
    let Some(config) = config(&[
        ("limits", "timeout_s = 10"),
        (
            "one",
            "max_instances = 1\nqueue_length = 1\nqueue_timeout_s = 0.5\ntimeout_s = 10",
        ),
    ]) else {
        return;
    };
    let server = start("limits", &config);

    // Oversized events are refused before any instance starts.
    let big = format!("\"{}\"", "a".repeat(6 * 1024 * 1024));
    let r = server.invoke("limits", big).await;
    assert_eq!(r.status, 406);
    assert_eq!(r.json()["error"], "RequestTooLarge");
    let r = host::send(server.addr, {
        let body = format!("\"{}\"", "a".repeat(128 * 1024));
        let (mut parts, body) = host::post("/functions/limits/invocations", body).into_parts();
        parts
            .headers
            .insert("x-scf-invocation-type", "Event".parse().unwrap());
        http::Request::from_parts(parts, body)
    })
    .await;
    assert_eq!(r.status, 406);
    assert!(
        server.function_status("limits").await["instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A response over 6 MB fails the invocation with 407 (the instance itself lives on).
    let r = server
        .invoke("limits", json!({"big": 6 * 1024 * 1024 + 1}).to_string())
        .await;
    assert_eq!(r.status, 407, "{:?}", &r.body[..r.body.len().min(200)]);
    let r = server
        .invoke("limits", json!({"big": 1000}).to_string())
        .await;
    assert_eq!(r.body.len(), 1000);

    // One instance, a queue of one with a 0.5 s wait.
    let addr = server.addr;
    let busy = tokio::spawn(async move {
        host::send(
            addr,
            host::post("/functions/one/invocations", r#"{"sleep": 2}"#),
        )
        .await
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.function_status("one").await["counts"]["busy"] != 1 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let r = host::send(addr, host::post("/functions/one/invocations", "{}")).await;
        (r, started.elapsed())
    });
    while server.function_status("one").await["counts"]["queued"] != 1 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The queue is full: refused at once.
    let r = server.invoke("one", "{}").await;
    assert_eq!(r.status, 432);
    assert_eq!(r.json()["error"], "ResourceLimitReached");
    let v = server
        .cloud("InvokeFunction", json!({"FunctionName": "one"}))
        .await;
    assert_eq!(
        v["Response"]["Error"]["Code"], "LimitExceeded.TotalConcurrencyMemory",
        "{v}"
    );
    // The queued one waits its 0.5 s, then 432.
    let (r, waited) = waiting.await.unwrap();
    assert_eq!(r.status, 432);
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert_eq!(busy.await.unwrap().status, 200);
    let m = server.metrics().await;
    assert_eq!(
        metric(&m, "scf_throttles_total{function=\"one\"}"),
        Some(3.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_errors_total{function=\"limits\",code=\"406\"}"),
        Some(2.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "scf_errors_total{function=\"limits\",code=\"407\"}"),
        Some(1.0),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_every_instance_and_a_killed_server_leaves_no_orphan() {
    let Some(config) = config(&[("f", "min_instances = 2\ntimeout_s = 10")]) else {
        return;
    };
    // SIGTERM: the running invocation finishes, then every instance is stopped.
    let mut server = start("shutdown", &config);
    let pid = pid_of(&server, "f").await;
    let addr = server.addr;
    let running = tokio::spawn(async move {
        host::send(
            addr,
            host::post("/functions/f/invocations", r#"{"sleep": 0.5}"#),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pids: Vec<u64> = server.function_status("f").await["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pid"].as_u64().unwrap())
        .collect();
    assert!(pids.len() >= 2 && pids.contains(&pid), "{pids:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(
        running.await.unwrap().status,
        200,
        "in-flight work finishes"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "cargo scf serve did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    for pid in &pids {
        assert!(!alive(*pid), "instance {pid} outlived the server");
    }
    drop(server);

    // SIGKILL: the parent-death signal takes the instances down too, even one busy sleeping
    // in an invocation (which would not notice the runtime API is gone for 8 s).
    let server = start("sigkill", &config);
    pid_of(&server, "f").await;
    let mut busy = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"sleep": 8}"#;
    let request = format!(
        "POST /functions/f/invocations HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    busy.write_all(request.as_bytes()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = server.function_status("f").await;
        let busy = status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["state"] == "busy");
        if busy {
            break status;
        }
        assert!(Instant::now() < deadline, "no instance got busy: {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Time for the bootstrap to fetch the event and start sleeping.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let instances = status["instances"].as_array().unwrap();
    let pids: Vec<u64> = instances
        .iter()
        .map(|i| i["pid"].as_u64().unwrap())
        .collect();
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for pid in pids {
        assert!(
            gone_within(pid, Duration::from_secs(3)).await,
            "instance {pid} outlived a SIGKILLed server"
        );
    }
    drop(busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_and_failed_builds_are_clear_errors() {
    let (status, output) = host::try_start(
        "badconfig",
        "[functions.f]\nbootstrap = \"x\"\nmemory_mb = \"lots\"\n",
    )
    .err()
    .expect("a bad config stops the server");
    assert!(!status.contains("exit status: 0"), "{status}");
    let text = output.join("\n");
    assert!(
        text.contains("scf.toml:3:13: functions.f.memory_mb: "),
        "{text}"
    );

    let (_, output) = host::try_start(
        "badpackage",
        "[functions.f]\npackage = \"no-such-package-here\"\n",
    )
    .err()
    .expect("a package that cannot be built stops the server");
    let text = output.join("\n");
    assert!(
        text.contains("cargo build --release -p no-such-package-here"),
        "{text}"
    );

    let (_, output) = host::try_start(
        "reserved",
        "[functions.f]\nbootstrap = \"x\"\nenv = { TENCENTCLOUD_X = \"1\" }\n",
    )
    .err()
    .expect("a reserved variable stops the server");
    assert!(
        output.join("\n").contains("functions.f.env: "),
        "{output:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rolls_instances_over_without_losing_the_running_invocation() {
    let Some(config) = config(&[("py", "timeout_s = 10\nmin_instances = 1")]) else {
        return;
    };
    let server = start("reload", &config);
    let idle_pid = pid_of(&server, "py").await;
    // One invocation is running when the reload comes.
    let slow = {
        let addr = server.addr;
        tokio::spawn(async move {
            host::send(
                addr,
                host::post(
                    "/functions/py/invocations",
                    r#"{"sleep": 1.5, "pid": true}"#,
                ),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = server.function_status("py").await;
    assert_eq!(status["counts"]["busy"], 1, "{status}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    server.wait_for_line(&["cargo scf serve reloaded"]).await;
    // The running invocation finishes on its (old) instance; that instance then stops.
    let answer = slow.await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let busy_pid = answer.json()["pid"].as_u64().unwrap();
    assert_eq!(busy_pid, idle_pid, "the only instance ran it");
    assert!(
        gone_within(busy_pid, Duration::from_secs(5)).await,
        "the old instance stops after its invocation"
    );
    // min_instances is kept: a new instance starts without an invocation asking for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = server.function_status("py").await;
        let started = status["instances"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["pid"].as_u64().is_some_and(|p| p != busy_pid));
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // New invocations run on a new instance.
    let new_pid = pid_of(&server, "py").await;
    assert_ne!(new_pid, busy_pid);
}
