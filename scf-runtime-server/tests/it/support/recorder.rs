//! Shared by the tests that kill and restart `cargo scf serve` on one state folder: the server on a
//! fixed address, the recording bootstrap, and what it recorded.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::support::host::{python_path_env, python_script, spawn_serve};
pub(crate) use crate::support::ports::free_port;

/// The recording bootstrap, or `None` (after saying SKIPPED) when python3 is missing.
pub(crate) fn record_bootstrap() -> Option<PathBuf> {
    python_script("tests/scripts/record_bootstrap.py")
}

/// `cargo scf serve` on a fixed address and folder, so it can be killed and started again on the
/// same state. Killed by PID on drop.
pub(crate) struct Serve {
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
    pub(crate) fn start(dir: &Path, addr: SocketAddr) -> Serve {
        match spawn_serve(&dir.join("scf.toml"), &addr.to_string()) {
            Ok((child, _, output)) => Serve { child, output },
            Err((status, output)) => {
                panic!("cargo scf serve exited ({status}):\n{}", output.join("\n"))
            }
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn sigkill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

/// Writes `scf.toml` for the recording function `rec`; returns the server's address (a free
/// loopback port, in the config so `cargo scf events` finds the server).
pub(crate) fn write_config(
    dir: &Path,
    extra_server: &str,
    function_keys: &str,
) -> Option<SocketAddr> {
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
pub(crate) fn deliveries(dir: &Path) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(dir.join("record.txt")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (id, event) = line.split_once(' ')?;
            Some((id.to_owned(), serde_json::from_str(event).ok()?))
        })
        .collect()
}
