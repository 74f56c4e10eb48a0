//! Shared by the tests that kill and restart `scf serve` on one state folder: the server on a
//! fixed address, the recording bootstrap, and what it recorded.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::host::{python_path_env, python_script};

/// The recording bootstrap, or `None` (after saying SKIPPED) when python3 is missing.
pub fn record_bootstrap() -> Option<PathBuf> {
    python_script("tests/async/record_bootstrap.py")
}

/// A free loopback port (bound and released; the server binds it with SO_REUSEADDR).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `scf serve` on a fixed address and folder, so it can be killed and started again on the
/// same state. Killed by PID on drop.
pub struct Serve {
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    pub fn start(dir: &Path, addr: SocketAddr) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scf"))
            .arg("serve")
            .arg("--config")
            .arg(dir.join("scf.toml"))
            .args(["--listen", &addr.to_string()])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("scf serve starts");
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
            if output
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("scf serve listening on"))
            {
                return Serve { child, output };
            }
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "scf serve exited ({status}):\n{}",
                    output.lock().unwrap().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "scf serve did not listen within 30 s:\n{}",
                output.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn sigkill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

/// Writes `scf.toml` for the recording function `rec`; returns the server's address (a free
/// loopback port, in the config so `scf events` finds the server).
pub fn write_config(dir: &Path, extra_server: &str, function_keys: &str) -> Option<SocketAddr> {
    let bootstrap = record_bootstrap()?;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let extra_server = format!("listen = \"{addr}\"\n{extra_server}");
    let record = dir.join("record.txt");
    let config = format!(
        "[server]\n{extra_server}\n\n[functions.rec]\nbootstrap = \"{}\"\nenv = {{ PATH = \"{}\", RECORD_FILE = \"{}\" }}\n{function_keys}\n",
        bootstrap.display(),
        python_path_env(),
        record.display()
    );
    std::fs::write(dir.join("scf.toml"), config).unwrap();
    Some(addr)
}

/// The recorded deliveries: `(request id, event)` per line.
pub fn deliveries(dir: &Path) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(dir.join("record.txt")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (id, event) = line.split_once(' ')?;
            Some((id.to_owned(), serde_json::from_str(event).ok()?))
        })
        .collect()
}
