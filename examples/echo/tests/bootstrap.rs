//! The echo bootstrap as a real process under a fake host (the mock runtime API).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scf::testing::MockApi;
use serde_json::json;

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_example-echo");

/// Kills the child by PID when dropped, so a failing test leaves no process behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(env: &[(String, String)]) -> Guard {
    let child = Command::new(BOOTSTRAP)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the echo bootstrap starts");
    Guard(child)
}

/// Waits for the child to exit, at most `limit`.
fn wait_exit(guard: &mut Guard, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "the bootstrap did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr_of(guard: &mut Guard) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Some(mut err) = guard.0.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

#[tokio::test]
async fn full_cycle_init_next_response_then_sigterm() {
    let mock = MockApi::start().await;
    let mut child = spawn(&mock.env());
    let a = mock.push_event(r#"{"hello":"world"}"#);
    let b = mock.push_event(r#"[1,2,3]"#);
    let first = mock.next_outcome().await;
    let second = mock.next_outcome().await;
    assert_eq!(mock.ready_count(), 1, "ready is posted exactly once");
    assert_eq!(
        (first.request_id(), second.request_id()),
        (a.as_str(), b.as_str())
    );
    assert_eq!(first.json(), json!({"hello": "world"}));
    assert_eq!(second.json(), json!([1, 2, 3]));

    // A bad payload is reported and the process keeps serving.
    mock.push_event("{not json");
    let bad = mock.next_outcome().await;
    assert_eq!(bad.error_type().as_deref(), Some("DeserializeError"));
    mock.push_event(r#""still here""#);
    assert_eq!(mock.next_outcome().await.json(), json!("still here"));

    // SIGTERM while idle on /next: a graceful, successful exit.
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[test]
fn missing_runtime_api_variable_exits_non_zero_naming_it() {
    let mut child = spawn(&[]);
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(!status.success());
    let stderr = stderr_of(&mut child);
    assert!(stderr.contains("SCF_RUNTIME_API"), "stderr: {stderr}");
}

#[test]
fn runtime_api_going_away_exits_non_zero_naming_the_address() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let env = [
        ("SCF_RUNTIME_API".to_owned(), "127.0.0.1".to_owned()),
        ("SCF_RUNTIME_API_PORT".to_owned(), port.to_string()),
    ];
    let mut child = spawn(&env);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(!status.success());
    let stderr = stderr_of(&mut child);
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "stderr: {stderr}"
    );
}
