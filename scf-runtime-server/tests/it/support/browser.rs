//! Headless Chromium for the tests that look at a page: Debian's `chromium`, started by us with
//! a fresh profile and a DevTools port, driven through `chromedriver` (WebDriver over plain
//! HTTP, attached to that browser). Both run in their own process group, ended by its id on
//! drop.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

use crate::support::host::{TempDir, send};
use crate::support::ports::free_port;

/// Where Debian puts the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The WebDriver name of an element reference in answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser and its driver, with one WebDriver session.
pub(crate) struct Browser {
    chromium: Child,
    driver: Child,
    driver_addr: SocketAddr,
    session: String,
    _profile: TempDir,
}

/// Ends a process group we started: SIGTERM, then SIGKILL after a moment.
fn end_group(child: &mut Child) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let group = Pid::from_raw(child.id() as i32);
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
}

impl Drop for Browser {
    fn drop(&mut self) {
        end_group(&mut self.driver);
        end_group(&mut self.chromium);
    }
}

impl Browser {
    /// Starts Chromium and chromedriver, or says why not (they are not installed).
    pub(crate) async fn start() -> Result<Browser, String> {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(tool).is_file() {
                return Err(format!(
                    "{tool} is not installed (apt-get install -y chromium chromium-driver)"
                ));
            }
        }
        let profile = TempDir::new("chromium-profile");
        let chromium = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--disable-crash-reporter",
                "--disable-breakpad",
                "--window-size=1400,1700",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{CHROMIUM} does not start: {e}"))?;
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{CHROMEDRIVER} does not start: {e}"))?;
        let mut browser = Browser {
            chromium,
            driver,
            driver_addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session: String::new(),
            _profile: profile,
        };
        // Chromium writes its DevTools port into the profile once it listens.
        let active = browser._profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let devtools_port = loop {
            if let Some(port) = std::fs::read_to_string(&active)
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u16>().ok()))
            {
                break port;
            }
            if Instant::now() > deadline {
                return Err("chromium wrote no DevToolsActivePort within 30 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(browser.driver_addr)
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err("chromedriver did not listen within 30 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let answer = browser
            .call(
                "POST",
                "/session",
                Some(
                    json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
                        "debuggerAddress": format!("127.0.0.1:{devtools_port}")
                    }}}}),
                ),
            )
            .await?;
        browser.session = answer["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {answer}"))?
            .to_owned();
        Ok(browser)
    }

    /// One WebDriver command: its `value`, or the error it answered.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .unwrap();
        let answer = send(self.driver_addr, request).await;
        let json: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("chromedriver answered no JSON ({e})"))?;
        if !answer.status.is_success() {
            return Err(format!(
                "{method} {path}: {} {}",
                answer.status, json["value"]
            ));
        }
        Ok(json["value"].clone())
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens `url`.
    pub(crate) async fn goto(&self, url: &str) {
        self.call("POST", &self.path("/url"), Some(json!({ "url": url })))
            .await
            .unwrap();
    }

    /// Runs `script` (a function body: `return …`) in the page.
    pub(crate) async fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.path("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\nscript: {script}"))
    }

    /// Waits (up to `within`) until `script` returns something other than `null`/`false`, and
    /// returns it; fails with `what` and the last value otherwise.
    pub(crate) async fn wait_for(&self, what: &str, within: Duration, script: &str) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let value = self.js(script).await;
            if !(value.is_null() || value == false) {
                return value;
            }
            assert!(Instant::now() < deadline, "the page never showed {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the first element matching `css` the way a person does (retrying while the page
    /// re-renders it).
    pub(crate) async fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .call(
                    "POST",
                    &self.path("/element"),
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            let clicked = match found {
                Ok(element) => {
                    // W3C names the reference ELEMENT_KEY; the legacy protocol `ELEMENT`.
                    let id = element[ELEMENT_KEY]
                        .as_str()
                        .or_else(|| element["ELEMENT"].as_str())
                        .unwrap_or_else(|| panic!("no element reference in {element}"))
                        .to_owned();
                    self.call(
                        "POST",
                        &self.path(&format!("/element/{id}/click")),
                        Some(json!({})),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            match clicked {
                Ok(_) => return,
                Err(e) => assert!(Instant::now() < deadline, "cannot click {css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A PNG of the viewport.
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let value = self
            .call("GET", &self.path("/screenshot"), None)
            .await
            .unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(value.as_str().unwrap())
            .unwrap()
    }
}
