//! The errors example as a process: every failure is reported, and with `panic = "abort"` a
//! panic is still posted to `/runtime/invocation/error` before the process dies.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scf::testing::MockApi;
use serde_json::json;

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bootstrap: &std::path::Path, mock: &MockApi) -> Guard {
    Guard(
        Command::new(bootstrap)
            .env_clear()
            .envs(mock.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", bootstrap.display())),
    )
}

#[tokio::test]
async fn each_failure_is_reported_and_the_instance_keeps_serving() {
    let mock = MockApi::start().await;
    let _child = spawn(
        PathBuf::from(env!("CARGO_BIN_EXE_example-errors")).as_path(),
        &mock,
    );
    for body in [
        r#"{"action":"declined","card":"4242"}"#,
        r#"{"action":"message"}"#,
        r#"{"action":"panic"}"#,
        r#"{"action":"fly"}"#,
        r#"{"action":"ok"}"#,
    ] {
        mock.push_event(body);
    }
    let declined = mock.next_outcome().await;
    assert_eq!(
        declined.json(),
        json!({
            "errorType": "PaymentDeclined",
            "errorMessage": "card 4242 was declined",
            "stackTrace": ["issuer unavailable"],
        })
    );
    let message = mock.next_outcome().await;
    assert_eq!(
        message.json(),
        json!({"errorType": "Error", "errorMessage": "the message only"})
    );
    let panic = mock.next_outcome().await;
    assert_eq!(panic.error_type().as_deref(), Some("Panic"));
    assert_eq!(
        panic.error_message().as_deref(),
        Some("handler panicked: the handler gave up")
    );
    let unknown = mock.next_outcome().await;
    assert_eq!(unknown.error_type().as_deref(), Some("DeserializeError"));
    assert!(unknown.error_message().unwrap().contains("fly"));
    assert_eq!(mock.next_outcome().await.json(), json!("fine"));
    assert_eq!(mock.ready_count(), 1, "one process served everything");
}

/// The target directory this test binary was built into (`<target>/<profile>/deps/<test>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

#[tokio::test]
async fn under_panic_abort_the_panic_is_posted_before_the_process_dies() {
    let status = Command::new(env!("CARGO"))
        .args(["build", "-p", "example-errors", "--profile", "panic-abort"])
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building example-errors with panic = \"abort\" failed"
    );
    let bootstrap = target_dir().join("panic-abort").join("example-errors");

    let mock = MockApi::start().await;
    let mut child = spawn(&bootstrap, &mock);
    mock.push_event(r#"{"action":"panic"}"#);
    let outcome = mock.next_outcome().await;
    assert_eq!(outcome.error_type().as_deref(), Some("Panic"));
    assert_eq!(
        outcome.error_message().as_deref(),
        Some("handler panicked: the handler gave up")
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the aborted process is still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        !status.success(),
        "an aborting process exits unsuccessfully: {status:?}"
    );
}
