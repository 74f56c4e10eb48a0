//! `cargo scf invoke` against `cargo scf serve` hosting the echo example: a bundled COS event and its result,
//! inline JSON, async, an unknown function, and the errors for bad input or no server. Then the
//! one-shot runs without a server: the config's function (the Python test bootstrap of
//! tests/host), a function error, an init that never ends, `--bootstrap` without a config,
//! `--local` next to a listening server, and a `package =` function built first.

use crate::support::host;
use crate::support::ports;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ports::free_port;

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

/// `cargo scf serve`, killed by PID on drop.
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo scf serve starts");
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
            l.split("cargo scf serve listening on http://")
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
                "cargo scf serve exited ({status}):\n{}",
                lines.lock().unwrap().join("\n")
            );
        }
        assert!(
            Instant::now() < deadline,
            "cargo scf serve did not start:\n{}",
            lines.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn invoke(cwd: &Path, args: &[&str]) -> (Output, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .arg("invoke")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("cargo scf invoke runs");
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
    assert_one_duration(&stdout);
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
    // It says how to follow the event, and that command shows it.
    let id = stdout
        .split("request ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim();
    assert!(
        stdout.contains(&format!("follow it: cargo scf events show {id}")),
        "{stdout}"
    );
    let shown = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args(["events", "show", id, "--remote", &remote])
        .output()
        .unwrap();
    let shown_out = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{shown_out}");
    assert!(shown_out.contains(id), "{shown_out}");

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
    // Triggers are named as --event takes them.
    assert!(stderr.contains("function-url"), "{stderr}");
    assert!(!stderr.contains("function,"), "{stderr}");

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
        stderr.contains(&format!("cannot reach cargo scf serve at {remote}")),
        "{stderr}"
    );
    assert!(stderr.contains("cargo scf serve"), "{stderr}");
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

// ---- One-shot runs ----

/// Writes an scf.toml into `dir` listening on `listen`, with one Python-bootstrap function per
/// `(name, extra keys)`.
fn python_config(dir: &Path, listen: &str, functions: &[(&str, &str)]) -> Option<()> {
    let bootstrap = host::python_bootstrap()?;
    let mut text = format!("[server]\nlisten = \"{listen}\"\n");
    for (name, extra) in functions {
        text.push_str(&format!(
            "\n[functions.{name}]\nbootstrap = \"{}\"\ntimeout_s = 20\n{extra}\n",
            bootstrap.display()
        ));
    }
    std::fs::write(dir.join("scf.toml"), text).unwrap();
    Some(())
}

/// `env = { PATH = …, <extra> }` so the bootstrap finds python3.
fn python_env(extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(", {extra}")
    };
    format!("env = {{ PATH = \"{}\"{extra} }}", host::python_path_env())
}

/// The number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Asserts the duration `cargo scf invoke` printed (`…, 3 ms, …` on its first line) is the one
/// of the `Report` line in the log it printed.
fn assert_one_duration(stdout: &str) {
    let first = stdout.lines().next().unwrap_or_default();
    let printed = first
        .split(", ")
        .find_map(|fact| fact.strip_suffix(" ms"))
        .unwrap_or_else(|| panic!("no duration on the first line: {stdout}"));
    let printed: u64 = printed.parse().expect("whole milliseconds");
    let report = stdout
        .lines()
        .find(|line| line.contains("| Report RequestId:"))
        .unwrap_or_else(|| panic!("no Report line in the log: {stdout}"));
    assert_eq!(
        number_after(report, " Duration:"),
        Some(printed),
        "the printed duration is the Report line's: {stdout}"
    );
}

/// Asserts process `pid` is gone (allowing a loaded machine time to reap it).
fn assert_gone(pid: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while host::alive(pid) {
        assert!(
            Instant::now() < deadline,
            "process {pid} outlived cargo scf invoke"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn without_a_server_the_config_function_runs_once_locally() {
    let cwd = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    if python_config(cwd.path(), &listen, &[("py", &python_env(""))]).is_none() {
        eprintln!("SKIPPED without_a_server_the_config_function_runs_once_locally");
        return;
    }

    // Nothing listens on the config's address: the function runs here, once.
    let (output, stdout, stderr) = invoke(
        cwd.path(),
        &[
            "py",
            "--data",
            r#"{"print": ["hello from py"], "pid": true}"#,
        ],
    );
    println!("{stdout}\n{stderr}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("ok `py` (--data): request "), "{stdout}");
    assert_one_duration(&stdout);
    assert!(stdout.contains("peak memory "), "{stdout}");
    assert!(stdout.contains("cold start"), "{stdout}");
    assert!(stdout.contains("result:"), "{stdout}");
    assert!(stdout.contains("| hello from py"), "the log tail: {stdout}");
    assert_eq!(
        stdout.lines().last(),
        Some(format!("(no server on {listen}: ran `py` once locally)").as_str()),
        "{stdout}"
    );
    assert!(
        !stdout.contains("scf::function"),
        "function output is not logged as server lines: {stdout}"
    );
    let pid = number_after(&stdout, "\"pid\": ").expect("the bootstrap's pid in the result");
    assert_gone(pid);

    // --quiet: only the result on stdout; where it ran goes to stderr.
    let (output, stdout, stderr) = invoke(cwd.path(), &["py", "--data", r#"{"a": 1}"#, "-q"]);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(body, serde_json::json!({"a": 1}));
    assert!(stderr.contains("ran `py` once locally"), "{stderr}");

    // A function error: its code, the message, the log, and a failing exit status.
    let (output, stdout, stderr) = invoke(
        cwd.path(),
        &[
            "py",
            "--data",
            r#"{"print": ["about to fail"], "error": "boom"}"#,
        ],
    );
    println!("{stdout}\n{stderr}");
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.starts_with("FAILED `py` (--data): code 430 UserCodeException"),
        "{stdout}"
    );
    assert!(stdout.contains("boom"), "{stdout}");
    assert!(stdout.contains("| about to fail"), "{stdout}");
    assert!(stdout.contains("ran `py` once locally"), "{stdout}");
    assert!(stderr.contains("failed with code 430"), "{stderr}");

    // --timeout sets the function's timeout_s: 433, and the instance is killed.
    let (output, stdout, stderr) = invoke(
        cwd.path(),
        &["py", "--timeout", "1", "--data", r#"{"sleep": 30}"#],
    );
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("code 433 TimeLimitReached"), "{stdout}");
    assert!(stderr.contains("failed with code 433"), "{stderr}");

    // --async has nothing to keep the event in a one-shot run: refused, nothing runs.
    let (output, stdout, stderr) = invoke(cwd.path(), &["py", "--async"]);
    assert!(!output.status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("--async needs a running `cargo scf serve`"),
        "{stderr}"
    );
    assert!(stderr.contains(&listen), "{stderr}");

    // Unknown functions and a missing config are clear errors.
    let (output, _, stderr) = invoke(cwd.path(), &["nope"]);
    assert!(!output.status.success());
    assert!(stderr.contains("no function `nope` in"), "{stderr}");
    assert!(stderr.contains("its functions: py"), "{stderr}");
    let empty = tempfile::tempdir().unwrap();
    let (output, _, stderr) = invoke(empty.path(), &["py", "--config", "missing.toml", "--local"]);
    assert!(!output.status.success());
    assert!(stderr.contains("there is no"), "{stderr}");
    assert!(stderr.contains("--bootstrap PATH"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bootstrap_that_never_gets_ready_is_an_init_error_and_is_cleaned_up() {
    let cwd = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let hang = format!("{}\ninit_timeout_s = 2", python_env("INIT = \"hang\""));
    let crash = python_env("INIT = \"crash\"");
    if python_config(cwd.path(), &listen, &[("hang", &hang), ("crash", &crash)]).is_none() {
        eprintln!("SKIPPED a_bootstrap_that_never_gets_ready_is_an_init_error_and_is_cleaned_up");
        return;
    }

    let (output, stdout, stderr) = invoke(cwd.path(), &["hang"]);
    println!("{stdout}\n{stderr}");
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.starts_with("FAILED `hang` (empty event): code 450 InitContainerTimeout"),
        "{stdout}"
    );
    assert!(stdout.contains("init_timeout_s"), "{stdout}");
    assert!(stderr.contains("failed with code 450"), "{stderr}");
    // The init log names the bootstrap's pid: it is gone, no orphan is left.
    let pid = number_after(&stdout, "| init pid=").expect("the init log in the output");
    assert_gone(pid);

    let (output, stdout, _) = invoke(cwd.path(), &["crash"]);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("code 405 ContainerStateExited"), "{stdout}");
    assert!(stdout.contains("| init failed: no config"), "{stdout}");
}

#[test]
fn bootstrap_runs_an_executable_without_any_config() {
    let Some(bootstrap) = host::python_bootstrap() else {
        eprintln!("SKIPPED bootstrap_runs_an_executable_without_any_config");
        return;
    };
    let cwd = tempfile::tempdir().unwrap();
    let path_env = format!("PATH={}", host::python_path_env());
    let bootstrap = bootstrap.to_str().unwrap();

    let (output, stdout, stderr) = invoke(
        cwd.path(),
        &[
            "--bootstrap",
            bootstrap,
            "--env",
            &path_env,
            "--data",
            r#"{"pid": true}"#,
        ],
    );
    println!("{stdout}\n{stderr}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("ok `bootstrap` (--data): request "),
        "named after the file: {stdout}"
    );
    assert!(
        stdout.trim_end().ends_with(&format!(
            "(--bootstrap: ran {bootstrap} once locally as `bootstrap`)"
        )),
        "{stdout}"
    );
    let pid = number_after(&stdout, "\"pid\": ").expect("the pid in the result");
    assert_gone(pid);

    // A name, variables and memory from the flags reach the instance.
    let (output, stdout, stderr) = invoke(
        cwd.path(),
        &[
            "thumbs",
            "--bootstrap",
            bootstrap,
            "--env",
            &path_env,
            "--env",
            "GREETING=hi",
            "--memory",
            "256",
            "--data",
            r#"{"env": true}"#,
            "--quiet",
        ],
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let env: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(env["SCF_FUNCTIONNAME"], "thumbs", "{env}");
    assert_eq!(env["GREETING"], "hi", "{env}");

    // Bad input: a missing executable, a reserved variable, --async.
    let (output, _, stderr) = invoke(cwd.path(), &["--bootstrap", "no/such/bootstrap"]);
    assert!(!output.status.success());
    assert!(
        stderr.contains("the bootstrap of `bootstrap` does not exist"),
        "{stderr}"
    );
    let (output, _, stderr) = invoke(cwd.path(), &["--bootstrap", bootstrap, "--env", "SCF_X=1"]);
    assert!(!output.status.success());
    assert!(stderr.contains("reserved prefix SCF_"), "{stderr}");
    let (output, _, stderr) = invoke(cwd.path(), &["--bootstrap", bootstrap, "--async"]);
    assert!(!output.status.success());
    assert!(stderr.contains("--async needs a running"), "{stderr}");
    let (output, _, stderr) = invoke(
        cwd.path(),
        &["--bootstrap", bootstrap, "--remote", "http://127.0.0.1:1"],
    );
    assert!(!output.status.success());
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn local_runs_here_even_when_a_server_listens() {
    // Something listens on the config's address (and never answers).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    let cwd = tempfile::tempdir().unwrap();
    if python_config(cwd.path(), &listen, &[("py", &python_env(""))]).is_none() {
        eprintln!("SKIPPED local_runs_here_even_when_a_server_listens");
        return;
    }

    let (output, stdout, stderr) = invoke(cwd.path(), &["py", "--local", "--data", "[1, 2]"]);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("result:"), "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with("(--local: ran `py` once locally)"),
        "{stdout}"
    );

    // Without --local, the listener is taken for the server (and it never answers).
    let (output, _, stderr) = invoke(cwd.path(), &["py", "--timeout", "1"]);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("no answer from http://{listen} within 1 s")),
        "{stderr}"
    );
    // One-shot settings next to an answering server are refused rather than ignored.
    let (output, _, stderr) = invoke(cwd.path(), &["py", "--memory", "256"]);
    assert!(!output.status.success());
    assert!(stderr.contains("add --local"), "{stderr}");
    drop(listener);
}

#[test]
fn a_package_function_is_built_then_run_once() {
    // The workspace's scf.toml hosts examples/echo as `echo` from its package.
    let config = workspace_root().join("scf.toml");
    let cwd = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args(["invoke", "echo", "--local", "--event", "cos", "--config"])
        .arg(&config)
        .current_dir(cwd.path())
        .env("CARGO_TARGET_DIR", nested_target_dir())
        // The build path is the same; a release build without LTO is just quicker.
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env_remove("RUSTFLAGS")
        .stdin(Stdio::null())
        .output()
        .expect("cargo scf invoke runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("building `example-echo` (cargo build --release -p example-echo)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok `echo` (fixture cos-put): request "),
        "{stdout}"
    );
    assert!(
        stdout.contains("testpic"),
        "the COS event comes back: {stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .ends_with("(--local: ran `echo` once locally)"),
        "{stdout}"
    );
}
