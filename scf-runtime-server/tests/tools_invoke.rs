//! `scf invoke` against `scf serve` hosting the echo example: a bundled COS event and its result,
//! inline JSON, async, an unknown function, and the errors for bad input or no server.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Nested cargo runs cannot use the outer target dir, whose lock the running test holds.
fn nested_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("tools-cargo")
}

/// Builds examples/echo (debug, host target) and returns the binary.
fn echo_bootstrap() -> PathBuf {
    let target_dir = nested_target_dir();
    let output = Command::new(env!("CARGO"))
        .args(["build", "-p", "example-echo", "--target-dir"])
        .arg(&target_dir)
        .current_dir(workspace_root())
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building example-echo failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir.join("debug/example-echo")
}

/// `scf serve`, killed by PID on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(bootstrap: &Path) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scf.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"{}\"\n\n[functions.echo]\nbootstrap = \"{}\"\ntimeout_s = 10\n",
            dir.path().join("state").display(),
            bootstrap.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("scf serve starts");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let addr = lines.lock().unwrap().iter().find_map(|l| {
            l.split("scf serve listening on http://")
                .nth(1)
                .and_then(|a| a.trim().parse::<SocketAddr>().ok())
        });
        if let Some(addr) = addr {
            return Server {
                child,
                addr,
                _dir: dir,
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "scf serve exited ({status}):\n{}",
                lines.lock().unwrap().join("\n")
            );
        }
        assert!(
            Instant::now() < deadline,
            "scf serve did not start:\n{}",
            lines.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn invoke(cwd: &Path, args: &[&str]) -> (Output, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_scf"))
        .arg("invoke")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("scf invoke runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

#[test]
fn invoke_prints_the_hosted_echo_result_logs_and_errors() {
    let server = serve(&echo_bootstrap());
    let remote = format!("http://{}", server.addr);
    let cwd = tempfile::tempdir().unwrap();

    // A bundled COS event: echo answers with the event itself.
    let (output, stdout, stderr) =
        invoke(cwd.path(), &["echo", "--event", "cos", "--remote", &remote]);
    println!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("ok `echo` (fixture cos-put): request "),
        "{stdout}"
    );
    assert!(stdout.contains(" ms"), "the duration is shown: {stdout}");
    assert!(stdout.contains("result:"), "{stdout}");
    assert!(stdout.contains("\"Records\": ["), "pretty JSON: {stdout}");
    assert!(
        stdout.contains("testpic"),
        "the COS bucket comes back: {stdout}"
    );

    // --quiet prints only the body, which is the event.
    let (output, stdout, _) = invoke(
        cwd.path(),
        &[
            "echo",
            "--data",
            "{\"name\": \"ann\"}",
            "--remote",
            &remote,
            "--quiet",
        ],
    );
    assert!(output.status.success());
    let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(body, serde_json::json!({"name": "ann"}));

    // The remote can come from the scf.toml in the current directory.
    std::fs::write(
        cwd.path().join("scf.toml"),
        format!("[server]\nlisten = \"{}\"\n", server.addr),
    )
    .unwrap();
    let (output, stdout, stderr) = invoke(cwd.path(), &["echo", "--event", "timer"]);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("(fixture timer-doc)"), "{stdout}");

    // Async: queued, with a request id.
    let (output, stdout, stderr) = invoke(cwd.path(), &["echo", "--async"]);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("queued `echo` (empty event): request "),
        "{stdout}"
    );

    // An unknown function: the server's error, with its code, and a failing exit status.
    let (output, stdout, stderr) = invoke(cwd.path(), &["echo-nope", "--data", "{}"]);
    println!("{stdout}");
    assert!(!output.status.success());
    assert!(stdout.contains("FAILED `echo-nope`"), "{stdout}");
    assert!(stdout.contains("code "), "{stdout}");
    assert!(stderr.contains("failed with code"), "{stderr}");
}

#[test]
fn bad_input_and_no_server_are_clear_errors() {
    let cwd = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let remote = format!("http://127.0.0.1:{port}");

    let (output, _, stderr) = invoke(
        cwd.path(),
        &["echo", "--data", "not json", "--remote", &remote],
    );
    assert!(!output.status.success());
    assert!(
        stderr.contains("the event from --data is not JSON"),
        "{stderr}"
    );

    let (output, _, stderr) = invoke(cwd.path(), &["echo", "--event", "sqs", "--remote", &remote]);
    assert!(!output.status.success());
    assert!(stderr.contains("no bundled event `sqs`"), "{stderr}");
    assert!(stderr.contains("cos"), "{stderr}");

    let (output, _, stderr) = invoke(
        cwd.path(),
        &["echo", "--file", "missing.json", "--remote", &remote],
    );
    assert!(!output.status.success());
    assert!(stderr.contains("cannot read the event file"), "{stderr}");
    assert!(stderr.contains("missing.json"), "{stderr}");

    let (output, _, stderr) = invoke(cwd.path(), &["echo", "--remote", &remote]);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("cannot reach scf serve at {remote}")),
        "{stderr}"
    );
    assert!(stderr.contains("scf serve"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (output, _, stderr) = invoke(cwd.path(), &["echo", "--data", "{}", "--event", "cos"]);
    assert!(!output.status.success());
    assert!(stderr.contains("cannot be used with"), "{stderr}");

    let (output, stdout, _) = invoke(cwd.path(), &["--list-events"]);
    assert!(output.status.success());
    assert!(stdout.lines().any(|l| l == "cos-put"), "{stdout}");

    let (output, stdout, _) = invoke(cwd.path(), &["--help"]);
    assert!(output.status.success());
    assert!(stdout.contains("Examples:"), "{stdout}");
}
