//! End to end with the Rust example bootstrap `example-echo` (built by this test) hosted by
//! `cargo scf serve`: both invoke APIs, concurrency, the SCF log lines.

use crate::support::host;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

/// Builds `example-echo` (debug) and returns its binary, found through `cargo metadata`.
fn build_echo() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let status = Command::new(&cargo)
        .args(["build", "-p", "example-echo"])
        .current_dir(root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building example-echo failed");
    let target = scf_runtime_server::cli::cargo::target_dir(std::path::Path::new(root))
        .expect("cargo metadata gives the target directory");
    let binary = target.join("debug").join("example-echo");
    assert!(binary.is_file(), "{} was not built", binary.display());
    binary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_example_answers_over_both_invoke_apis() {
    let binary = build_echo();
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[functions.echo]\nbootstrap = \"{}\"\nmax_instances = 4\n",
        binary.display()
    );
    let server = host::start("echo-example", &config);

    let event =
        json!({"Records": [{"cos": {"cosObject": {"key": "a/b.txt", "size": 3}}}], "n": 1.5});
    let r = server.invoke("echo", event.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.json(), event);
    let id = r.request_id();
    server
        .wait_for_line(&[&format!("Report RequestId:{id} Duration:")])
        .await;

    let v = server
        .cloud(
            "Invoke",
            json!({"FunctionName": "echo", "ClientContext": event.to_string(), "LogType": "Tail"}),
        )
        .await;
    let result = &v["Response"]["Result"];
    assert_eq!(result["InvokeResult"], 0, "{v}");
    let ret: Value = serde_json::from_str(result["RetMsg"].as_str().unwrap()).unwrap();
    assert_eq!(ret, event);
    assert!(result["Log"].as_str().unwrap().contains("END RequestId:"));
    let v = server
        .cloud(
            "InvokeFunction",
            json!({"FunctionName": "echo", "Event": "{\"x\":[1,2]}"}),
        )
        .await;
    assert_eq!(v["Response"]["Result"]["RetMsg"], "{\"x\":[1,2]}", "{v}");

    // Concurrent invocations spread over at most max_instances processes, each answered exactly.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let addr = server.addr;
            tokio::spawn(async move {
                let body = json!({"i": i}).to_string();
                (
                    i,
                    host::send(addr, host::post("/functions/echo/invocations", body)).await,
                )
            })
        })
        .collect();
    for task in tasks {
        let (i, r) = task.await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), json!({"i": i}));
    }
    let status = server.function_status("echo").await;
    let n = status["instances"].as_array().unwrap().len();
    assert!((1..=4).contains(&n), "{status}");
}
