//! `cargo scf dev`: an edited bootstrap is picked up by the running server (no restart), a changed
//! config restarts it on the same address.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `cargo scf dev`, killed by PID on drop (its server dies with it: parent-death signal).
struct Dev {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dev {
    /// Waits until a line matching `pred` appears after line `from`; returns its index.
    fn wait_for(&self, from: usize, what: &str, pred: impl Fn(&str) -> bool) -> (usize, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            {
                let lines = self.lines.lock().unwrap();
                if let Some((i, l)) = lines.iter().enumerate().skip(from).find(|(_, l)| pred(l)) {
                    return (i, l.clone());
                }
                assert!(
                    Instant::now() < deadline,
                    "no {what} within 30 s:\n{}",
                    lines.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn python_dir() -> Option<String> {
    let out = Command::new("/usr/bin/env")
        .args([
            "python3",
            "-c",
            "import sys, os; print(os.path.dirname(sys.executable))",
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn invoke(addr: &str) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args([
            "invoke",
            "ver",
            "--quiet",
            "--remote",
            &format!("http://{addr}"),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn an_edited_bootstrap_is_served_on_the_same_address() {
    let Some(python) = python_dir() else {
        eprintln!("SKIPPED: python3 is not installed (the test bootstrap is a Python script)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/dev_bootstrap.py");
    let handler = dir.path().join("handler.py");
    std::fs::copy(&source, &handler).unwrap();
    std::fs::write(
        dir.path().join("scf.toml"),
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"state\"\n\n[functions.ver]\nbootstrap = \"handler.py\"\nenv = {{ PATH = \"{python}:/usr/local/bin:/usr/bin:/bin\" }}\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args(["dev", "--poll-ms", "100"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
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
    let dev = Dev { child, lines };
    let listening = |l: &str| l.contains("cargo scf serve listening on http://");
    let (at, line) = dev.wait_for(0, "listening line", listening);
    let addr = line.split("http://").nth(1).unwrap().trim().to_owned();
    assert_eq!(invoke(&addr), serde_json::json!({"version": 1}));

    let text = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, text.replace("VERSION = 1", "VERSION = 2")).unwrap();
    let (at, _) = dev.wait_for(at + 1, "change line", |l| {
        l.starts_with("cargo scf dev: change detected") && l.contains("handler.py")
    });
    // Same config: the server is not restarted; its instances roll over to the new bootstrap.
    let (at, _) = dev.wait_for(at, "reload line", |l| {
        l.contains("cargo scf serve reloaded")
    });
    assert_eq!(invoke(&addr), serde_json::json!({"version": 2}));
    assert_eq!(
        dev.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| listening(l))
            .count(),
        1,
        "the server kept running (no second start)"
    );

    // A changed config restarts the server on the same address.
    let config = std::fs::read_to_string(dir.path().join("scf.toml")).unwrap();
    std::fs::write(
        dir.path().join("scf.toml"),
        config.replace("[functions.ver]", "[functions.ver]\ntimeout_s = 5"),
    )
    .unwrap();
    let (at, line) = dev.wait_for(at, "second listening line", listening);
    assert!(
        line.ends_with(&addr),
        "the same address is kept: {line} vs {addr}"
    );
    assert_eq!(invoke(&addr), serde_json::json!({"version": 2}));

    // A broken config keeps the running server.
    std::fs::write(dir.path().join("scf.toml"), "[server\n").unwrap();
    dev.wait_for(at, "kept line", |l| {
        l.contains("keeping the running server")
    });
    assert_eq!(invoke(&addr), serde_json::json!({"version": 2}));
}
