//! Helpers for the tests that run `cargo scf serve`: a server killed on drop, an HTTP client, and the
//! Python test bootstrap.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a started server printed, line by line.
pub(crate) type Lines = Arc<Mutex<Vec<String>>>;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use serde_json::Value;

/// The Python bootstrap, or `None` (after saying SKIPPED) when python3 is missing.
pub(crate) fn python_bootstrap() -> Option<PathBuf> {
    python_script("tests/scripts/bootstrap.py")
}

/// A Python bootstrap of the tests (path relative to the crate), or `None` (after saying
/// SKIPPED) when python3 is missing.
pub(crate) fn python_script(relative: &str) -> Option<PathBuf> {
    let ok = Command::new("/usr/bin/env")
        .args(["python3", "-c", "pass"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: python3 is not installed (the test bootstrap is a Python script)");
        return None;
    }
    Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
}

/// The `PATH` the bootstrap needs to find python3 (whatever `env` finds here).
pub(crate) fn python_path_env() -> String {
    let out = Command::new("/usr/bin/env")
        .args([
            "python3",
            "-c",
            "import sys, os; print(os.path.dirname(sys.executable))",
        ])
        .output()
        .expect("python3 runs");
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    format!("{dir}:/usr/local/bin:/usr/bin:/bin")
}

/// A temporary directory removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "scf-host-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `cargo scf serve`, killed by PID when dropped; its stdout is collected line by line.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) output: Arc<Mutex<Vec<String>>>,
    pub(crate) dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cargo scf serve` on an ephemeral port with `config` (written to a fresh directory).
pub(crate) fn start(tag: &str, config: &str) -> Server {
    try_start(tag, config).unwrap_or_else(|(status, output)| {
        panic!(
            "cargo scf serve did not start ({status}):\n{}",
            output.join("\n")
        )
    })
}

/// Like [`start`], but gives back the exit status and output when the server stops at once.
pub(crate) fn try_start(tag: &str, config: &str) -> Result<Server, (String, Vec<String>)> {
    let dir = TempDir::new(tag);
    let config_path = dir.path().join("scf.toml");
    std::fs::write(&config_path, config).unwrap();
    let (child, addr, output) = spawn_serve(&config_path, "127.0.0.1:0")?;
    Ok(Server {
        child,
        addr,
        output,
        dir,
    })
}

/// Starts `cargo scf serve --config config --listen listen` and waits for it to listen; its stdout and
/// stderr are collected line by line. `Err` holds the exit status and output when it stops at
/// once.
pub(crate) fn spawn_serve(
    config: &Path,
    listen: &str,
) -> Result<(Child, SocketAddr, Lines), (String, Vec<String>)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(["--listen", listen])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo scf serve starts");
    let output = Arc::new(Mutex::new(Vec::new()));
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                output.lock().unwrap().push(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = output.lock().unwrap().iter().find_map(|l| {
            l.strip_prefix("cargo scf serve listening on http://")
                .map(|a| a.trim().parse::<SocketAddr>().expect("an address"))
        });
        if let Some(addr) = found {
            return Ok((child, addr, output));
        }
        if let Ok(Some(status)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(100));
            return Err((status.to_string(), output.lock().unwrap().clone()));
        }
        assert!(
            Instant::now() < deadline,
            "cargo scf serve did not listen within 30 s:\n{}",
            output.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Server {
    /// Everything the server printed so far.
    pub(crate) fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) for a printed line containing every one of `parts`.
    pub(crate) async fn wait_for_line(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self
                .output()
                .into_iter()
                .find(|l| parts.iter().all(|p| l.contains(p)))
            {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no line with {parts:?} in:\n{}",
                self.output().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn invoke(&self, function: &str, body: impl Into<Bytes>) -> Answer {
        send(
            self.addr,
            post(&format!("/functions/{function}/invocations"), body),
        )
        .await
    }

    pub(crate) async fn cloud(&self, action: &str, params: Value) -> Value {
        cloud(self.addr, action, params).await
    }

    pub(crate) async fn status(&self) -> Value {
        send(self.addr, get("/status")).await.json()
    }

    /// The function's entry in `/status`.
    pub(crate) async fn function_status(&self, function: &str) -> Value {
        function_status_at(self.addr, function).await
    }

    pub(crate) async fn metrics(&self) -> String {
        String::from_utf8(send(self.addr, get("/metrics")).await.body.to_vec()).unwrap()
    }
}

/// `function`'s entry in the `/status` of the server at `addr` (`name:N` for a published version).
pub(crate) async fn function_status_at(addr: SocketAddr, function: &str) -> Value {
    let status = send(addr, get("/status")).await.json();
    status["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == function)
        .cloned()
        .unwrap_or_else(|| panic!("{function} not in {status}"))
}

/// The value of the metric line starting with `prefix` (e.g. `scf_invocations_total{function="a"}`).
pub(crate) fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse().ok())
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub(crate) fn request_id(&self) -> String {
        self.headers["x-scf-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    }
}

/// One Cloud API call (`X-TC-Action`) to the server at `addr`: the whole answer.
pub(crate) async fn cloud(addr: SocketAddr, action: &str, params: Value) -> Value {
    let request = Request::post("/")
        .header("host", "localhost")
        .header("content-type", "application/json; charset=utf-8")
        .header("x-tc-action", action)
        .header("x-tc-version", "2018-04-16")
        .body(Full::new(Bytes::from(params.to_string())))
        .unwrap();
    let answer = send(addr, request).await;
    assert_eq!(answer.status, 200, "the Cloud API always answers 200");
    assert_eq!(answer.headers["content-type"], "application/json");
    answer.json()
}

/// Sends one request on a new connection (answer within 60 s).
pub(crate) async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> Answer {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    };
    tokio::time::timeout(Duration::from_secs(60), exchange)
        .await
        .expect("answer within 60 s")
}

pub(crate) fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

pub(crate) fn post(path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "localhost")
        .body(Full::new(body.into()))
        .unwrap()
}

/// Whether process `pid` exists (and is not a zombie).
pub(crate) fn alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits up to `within` for process `pid` to be gone.
pub(crate) async fn gone_within(pid: u64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}
