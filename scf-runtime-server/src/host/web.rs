//! One web-function instance (`type = "web"`): the function's `scf_bootstrap` runs as an HTTP
//! server, and each request the pool assigns is proxied to it. The function's pool places requests
//! exactly as it places events, with
//! `max_concurrency` of them per instance instead of one.
//!
//! ```toml
//! [functions.site]
//! type = "web"
//! bootstrap = "target/release/example-apigw-axum"   # scf_bootstrap: serves HTTP on 0.0.0.0:$PORT
//! max_concurrency = 10              # requests one instance takes at once, 1–100 (default 1)
//! max_instances = 5                 # plus the usual timeout_s, init_timeout_s, idle_timeout_s, env
//!
//! [[functions.site.triggers]]
//! type = "function_url"             # reached at /fn/site/…; an `apigw` trigger works too
//! ```
//!
//! - **Port**: 9000, as on SCF: each instance listens on `0.0.0.0:9000` (or `127.0.0.1`) in its
//!   own network namespace (`sandbox.rs`), and the host connects to it there; `PORT` says 9000
//!   too. Without a sandbox (`isolation = "none"`, or no namespaces) the instances share the
//!   host's network, so each gets a free port in `PORT` and must listen on it.
//! - **Readiness**: the port accepts a TCP connection. Not within `init_timeout_s`: the instance
//!   is killed and the request fails with **446 PortBindingFailed**; an exit before that: **405**;
//!   a bootstrap that cannot be started: **437**.
//! - **Concurrency**: each instance takes up to `max_concurrency` requests at once (1–100,
//!   default 1), each proxied on its own task. A request goes to the most recently used instance
//!   with spare capacity, else a new instance is started (up to `max_instances` and the memory
//!   quota: web instances reserve `memory_mb` like event ones), else it waits up to
//!   `queue_timeout_s` and then fails with **432**.
//! - **Headers**: the host sets `X-Scf-Request-Id`, `X-Scf-Memory`, `X-Scf-Timeout` (ms),
//!   `X-Scf-Version`, `X-Scf-Name`, `X-Scf-Namespace`, `X-Scf-Region`, `X-Scf-Appid` and
//!   `X-Scf-Uin`; any `X-Scf-*` header the caller sent is dropped first, so callers cannot set or
//!   override them. Hop-by-hop headers (`Connection`, `Keep-Alive`, `Transfer-Encoding`, …) are
//!   not forwarded in either direction.
//! - **Limits**: request body ≤ [`MAX_SYNC_EVENT_BYTES`](crate::fault::MAX_SYNC_EVENT_BYTES)
//!   (checked by the caller of `Host::invoke_web`); response headers ≤
//!   [`MAX_RESPONSE_HEADER_BYTES`] in total and body ≤ [`MAX_RESPONSE_BYTES`], else the request
//!   fails with **407**; a request running longer than `timeout_s` fails with **433**.
//! - **Errors** the host writes ([`error_response`]) carry `X-Scf-Request-Id` and
//!   `X-Scf-Error-Type` (the SCF status name) and the body `{"code","error","message"}`; the HTTP
//!   status is 504 for 433, 503 for 432 and 502 otherwise (project decision).
//! - **Processes**: each instance is its own process group, killed as a group (SIGTERM, then
//!   SIGKILL after 2 s) when idle past `idle_timeout_s`, replaced by a recycle, at
//!   shutdown, or when its pool is dropped. Instances get a parent-death signal (SIGKILL), so they
//!   die with the server even when it is SIGKILLed.
//!   Their output lines are logged with the function and instance (tracing target
//!   `scf::function`).
//!   The environment is exactly `instance_env` (the event instances' variables) without `SCF_RUNTIME`,
//!   plus `PORT`: nothing is inherited from the server.
//!   In a sandbox, whatever the instance started dies with it.

use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::fault::{Fault, InvokeError, MAX_RESPONSE_BYTES, MAX_RESPONSE_HEADER_BYTES};
use crate::host::lifecycle::{
    self, Control, FunctionSpec, Gone, InstanceHandle, Lifecycle, STOP_GRACE, Starting, State,
    StopReason, Timer, WebRequest, Work,
};
use crate::host::logs;
use crate::host::process::{self, Spawned};
use crate::host::sandbox::{self, Endpoint, Jail};

/// How often a starting instance's port is tried.
const PROBE_PERIOD: Duration = Duration::from_millis(10);

/// The function identity the host passes in the `X-Scf-*` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionMeta {
    /// `X-Scf-Name`.
    pub(crate) name: String,
    /// `X-Scf-Version`.
    pub(crate) version: String,
    /// `X-Scf-Namespace`.
    pub(crate) namespace: String,
    /// `X-Scf-Region`.
    pub(crate) region: String,
    /// `X-Scf-Appid`.
    pub(crate) appid: String,
    /// `X-Scf-Uin`.
    pub(crate) uin: String,
}

impl FunctionMeta {
    /// Every `X-Scf-*` header a request gets apart from `X-Scf-Request-Id`. A value that cannot
    /// be a header (a control character in the configured region, say) is left out, with a
    /// warning.
    pub(crate) fn headers(&self, memory_mb: u32, timeout: Duration) -> HeaderMap {
        let timeout_ms = timeout.as_millis().to_string();
        let memory = memory_mb.to_string();
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-scf-memory", memory.as_str()),
            ("x-scf-timeout", timeout_ms.as_str()),
            ("x-scf-version", self.version.as_str()),
            ("x-scf-name", self.name.as_str()),
            ("x-scf-namespace", self.namespace.as_str()),
            ("x-scf-region", self.region.as_str()),
            ("x-scf-appid", self.appid.as_str()),
            ("x-scf-uin", self.uin.as_str()),
        ] {
            match HeaderValue::from_str(value) {
                Ok(value) => {
                    headers.insert(HeaderName::from_static(name), value);
                }
                Err(_) => {
                    tracing::warn!(target: "scf::instance", function = %self.name, "{name}: {value:?} is not a header value; it is not sent")
                }
            }
        }
        headers
    }
}

/// Starts web instance `id` of `spec`. The handle is returned at once; the instance's own task
/// picks its port, spawns the bootstrap (through the sandbox when there is one) and then
/// supervises it, so that many instances start side by side. A start that fails is the
/// instance's init failure.
pub(crate) fn spawn(
    spec: Arc<FunctionSpec>,
    id: u64,
    events: Weak<dyn Lifecycle>,
) -> InstanceHandle {
    lifecycle::spawn_task(id, |starting| start(spec, id, events, starting))
}

/// The bootstrap, and where its HTTP server will be reached.
async fn launch(spec: &FunctionSpec) -> std::io::Result<(Endpoint, Spawned)> {
    let env = |port: u16| {
        let mut env = spec.env.clone();
        env.push(("PORT".to_owned(), port.to_string()));
        env
    };
    match spec.jail {
        Jail::Namespaces(sandbox) => {
            let port = sandbox::WEB_PORT;
            let started = sandbox
                .spawn(
                    spec.executable.clone(),
                    spec.code_root.clone(),
                    env(port),
                    None,
                )
                .await?;
            let net = started.net;
            Ok((Endpoint::Inside { sandbox, net, port }, started.spawned))
        }
        Jail::None => {
            let port = free_port()?;
            let env = env(port);
            let spawned = spec.spawn_here(&env)?;
            Ok((Endpoint::Loopback(port), spawned))
        }
        Jail::Missing(reason) => Err(std::io::Error::other(reason)),
    }
}

/// The instance's task: starts the process, then supervises it until it is gone.
async fn start(spec: Arc<FunctionSpec>, id: u64, events: Weak<dyn Lifecycle>, starting: Starting) {
    let (endpoint, spawned) = match launch(&spec).await {
        Ok(launched) => launched,
        Err(e) => return lifecycle::start_failed(&spec, id, &events, &e),
    };
    let port = endpoint.port();
    let Spawned {
        child,
        pid,
        out,
        err,
    } = spawned;
    starting.pid.store(pid, Ordering::Relaxed);
    tokio::spawn(logs::pump(out, spec.name.clone(), id));
    tokio::spawn(logs::pump(err, spec.name.clone(), id));
    tracing::info!(target: "scf::instance", function = %spec.name, instance = id, pid, port, "web instance starting");
    let supervisor = Supervisor {
        spec,
        id,
        pid,
        endpoint,
        events,
        state: State::Starting,
        spawned_at: starting.spawned_at,
        kill_at: None,
        init_failure: None,
    };
    supervisor.run(child, starting.control).await;
}

/// The task that owns one web instance: its process, its readiness probe, its stop timer and its
/// requests in flight.
struct Supervisor {
    spec: Arc<FunctionSpec>,
    id: u64,
    pid: u32,
    /// Where its HTTP server is reached.
    endpoint: Endpoint,
    events: Weak<dyn Lifecycle>,
    /// `Starting`, `Idle` (ready: how many requests run is the pool's business), `Stopping`,
    /// `Exited`.
    state: State,
    spawned_at: Instant,
    kill_at: Option<Instant>,
    /// Set when the instance is killed because it never listened (446).
    init_failure: Option<InvokeError>,
}

enum Event {
    Exit(std::io::Result<std::process::ExitStatus>),
    Control(Option<Control>),
    Probe,
    Deadline,
    RequestDone,
}

impl Supervisor {
    async fn run(
        mut self,
        mut child: tokio::process::Child,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut requests = JoinSet::new();
        let mut probe = tokio::time::interval(PROBE_PERIOD);
        let mut timer = Timer::new();
        let wait = child.wait();
        tokio::pin!(wait);
        let status = loop {
            let deadline = match self.state {
                State::Starting => Some(self.spawned_at + self.spec.init_timeout),
                State::Stopping => self.kill_at,
                _ => None,
            };
            let event = tokio::select! {
                s = &mut wait => Event::Exit(s),
                c = control.recv() => Event::Control(c),
                _ = probe.tick(), if self.state == State::Starting => Event::Probe,
                () = timer.until(deadline), if deadline.is_some() => Event::Deadline,
                Some(_) = requests.join_next(), if !requests.is_empty() => Event::RequestDone,
            };
            match event {
                Event::Exit(status) => break status,
                Event::Control(None) => {
                    // The pool dropped its handle: nobody can give this instance work any more.
                    self.signal(Signal::SIGKILL);
                    break (&mut wait).await;
                }
                Event::Control(Some(Control::Assign(work))) => self.on_assign(work, &mut requests),
                Event::Control(Some(Control::Stop(reason))) => self.on_stop(reason),
                Event::Probe => {
                    if self.endpoint.connect().await.is_ok() && self.state == State::Starting {
                        let init = self.spawned_at.elapsed();
                        tracing::info!(target: "scf::instance", function = %self.spec.name, instance = self.id,
                            init_ms = init.as_millis() as u64, "web instance ready");
                        self.set_state(State::Idle);
                        if let Some(events) = self.events.upgrade() {
                            events.ready(self.id, init);
                        }
                    }
                }
                Event::Deadline => self.on_deadline(),
                Event::RequestDone => {
                    if let Some(events) = self.events.upgrade() {
                        events.done(self.id);
                    }
                }
            }
        };
        self.on_exit(status);
        // Assignments sent before the pool learnt the instance was gone go back to the pool.
        while let Ok(msg) = control.try_recv() {
            if let Control::Assign(work) = msg {
                lifecycle::give_back(&self.events, work);
            }
        }
        // Requests in flight end now that the process is gone (their connections fail).
        while requests.join_next().await.is_some() {}
    }

    /// The one place the state changes (see [`State::advance`]).
    fn set_state(&mut self, next: State) {
        self.state.advance(next, self.id);
    }

    fn on_assign(&mut self, work: Work, requests: &mut JoinSet<()>) {
        if self.state != State::Idle {
            lifecycle::give_back(&self.events, work);
            return;
        }
        match work {
            Work::Web(request) => {
                requests.spawn(serve(
                    request,
                    self.spec.clone(),
                    self.endpoint.clone(),
                    self.pid,
                ));
            }
            other => other.fail(
                Fault::Internal.error("a web instance cannot run an event"),
                String::new(),
            ),
        }
    }

    fn on_stop(&mut self, reason: StopReason) {
        if matches!(self.state, State::Starting | State::Idle) {
            tracing::debug!(target: "scf::instance", id = self.id, ?reason, "stopping web instance");
            self.set_state(State::Stopping);
            self.signal(Signal::SIGTERM);
            self.kill_at = Some(Instant::now() + STOP_GRACE);
        }
    }

    fn on_deadline(&mut self) {
        match self.state {
            State::Starting => {
                self.init_failure = Some(Fault::PortBindingFailed.error(format!(
                    "web function {} did not listen on port {} (given in PORT) within the init timeout of {} ms",
                    self.spec.name,
                    self.endpoint.port(),
                    self.spec.init_timeout.as_millis()
                )));
                self.signal(Signal::SIGKILL);
                self.set_state(State::Stopping);
                self.kill_at = None;
            }
            State::Stopping => {
                self.kill_at = None;
                self.signal(Signal::SIGKILL);
            }
            _ => {}
        }
    }

    fn on_exit(&mut self, status: std::io::Result<std::process::ExitStatus>) {
        let status = match status {
            Ok(s) => s.to_string(),
            Err(e) => format!("unknown status ({e})"),
        };
        // Anything else it started goes with it.
        self.signal(Signal::SIGKILL);
        let gone = match (self.state, self.init_failure.take()) {
            (_, Some(error)) => Gone::InitFailed {
                error,
                log: String::new(),
            },
            (State::Starting, None) => Gone::InitFailed {
                error: Fault::ExitBeforeReady.error(format!(
                    "web function {} exited ({status}) before listening on port {}",
                    self.spec.name,
                    self.endpoint.port()
                )),
                log: String::new(),
            },
            _ => Gone::Ended,
        };
        match &gone {
            Gone::InitFailed { error, .. } => {
                tracing::warn!(target: "scf::instance", function = %self.spec.name, id = self.id, "init failed: {error}")
            }
            Gone::Ended if self.state != State::Stopping => {
                tracing::warn!(target: "scf::instance", function = %self.spec.name, id = self.id, pid = self.pid, "web instance exited ({status})")
            }
            Gone::Ended => {}
        }
        self.set_state(State::Exited);
        if let Some(events) = self.events.upgrade() {
            events.gone(self.id, gone);
        }
    }

    fn signal(&self, signal: Signal) {
        process::signal_group(self.pid, signal);
    }
}

/// Proxies one request to the instance on `port` and answers it; 433 past `timeout_s`.
async fn serve(request: Box<WebRequest>, spec: Arc<FunctionSpec>, endpoint: Endpoint, pid: u32) {
    let WebRequest {
        request,
        request_id,
        done,
    } = *request;
    let timeout = spec.timeout;
    let exchange = exchange(request, spec.scf_headers(), &request_id, &endpoint, pid);
    let result = match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Fault::Timeout.error(format!(
            "the request took longer than the function timeout of {} ms",
            timeout.as_millis()
        ))),
    };
    let _ = done.send(result);
}

async fn exchange(
    request: Request<Bytes>,
    scf: Option<&HeaderMap>,
    request_id: &str,
    endpoint: &Endpoint,
    pid: u32,
) -> Result<Response<Bytes>, InvokeError> {
    let forward = build_forward_request(request, scf, request_id, endpoint.port())?;
    let stream = endpoint
        .connect()
        .await
        .map_err(|e| instance_gone(pid, format!("cannot connect to the instance: {e}")))?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| instance_gone(pid, format!("HTTP handshake failed: {e}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender
        .send_request(forward)
        .await
        .map_err(|e| instance_gone(pid, format!("the instance did not answer: {e}")))?;
    read_response(response).await
}

fn instance_gone(pid: u32, message: String) -> InvokeError {
    if process_exists(pid) {
        Fault::Internal.error(message)
    } else {
        Fault::ProcessExit.error(format!("the instance process exited: {message}"))
    }
}

fn process_exists(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .is_some_and(|pid| nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok())
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named_in_connection: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .map(|s| (*s).to_owned())
        .chain(named_in_connection)
    {
        headers.remove(name.as_str());
    }
}

/// The request the instance receives: the caller's method, path, query, headers (minus hop-by-hop
/// and any `X-Scf-*`) and body, plus the host's `X-Scf-*` headers (`scf` and the request id).
fn build_forward_request(
    request: Request<Bytes>,
    scf: Option<&HeaderMap>,
    request_id: &str,
    port: u16,
) -> Result<Request<Full<Bytes>>, InvokeError> {
    let (mut parts, body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    parts.uri = path_and_query
        .parse()
        .map_err(|e| Fault::InvalidParameter.error(format!("bad request path: {e}")))?;
    parts.version = http::Version::HTTP_11;
    let headers = &mut parts.headers;
    strip_hop_by_hop(headers);
    let caller_scf: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("x-scf-"))
        .cloned()
        .collect();
    for name in caller_scf {
        headers.remove(&name);
    }
    let id = HeaderValue::from_str(request_id).map_err(|_| {
        Fault::Internal.error(format!(
            "x-scf-request-id: {request_id:?} is not a header value"
        ))
    })?;
    headers.insert(HeaderName::from_static("x-scf-request-id"), id);
    for (name, value) in scf.into_iter().flatten() {
        headers.insert(name.clone(), value.clone());
    }
    if !headers.contains_key(http::header::HOST) {
        let host = HeaderValue::from_str(&format!("127.0.0.1:{port}"))
            .expect("an address is a header value");
        headers.insert(http::header::HOST, host);
    }
    Ok(Request::from_parts(parts, Full::new(body)))
}

async fn read_response(
    response: Response<hyper::body::Incoming>,
) -> Result<Response<Bytes>, InvokeError> {
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_RESPONSE_HEADER_BYTES {
        return Err(Fault::ResponseTooLarge.error(format!(
                "the response headers take {header_bytes} bytes, more than the {MAX_RESPONSE_HEADER_BYTES}-byte limit"
            ),
        ));
    }
    let body = Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                Fault::ResponseTooLarge.error(format!(
                    "the response body is larger than the {MAX_RESPONSE_BYTES}-byte limit"
                ))
            } else {
                Fault::ProcessExit.error(format!("reading the response body failed: {e}"))
            }
        })?
        .to_bytes();
    Ok(Response::from_parts(parts, body))
}

/// The host's answer for a failed web request (see the module docs).
pub fn error_response(err: &InvokeError, request_id: &str) -> Response<Bytes> {
    let status = match err.code() {
        433 => StatusCode::GATEWAY_TIMEOUT,
        432 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    let mut response = Response::new(Bytes::from(err.to_json().to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-scf-request-id"), v);
    }
    headers.insert(
        HeaderName::from_static("x-scf-error-type"),
        HeaderValue::from_static(err.name()),
    );
    response
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_requests_carry_the_host_headers_only() {
        let meta = FunctionMeta {
            name: "web".into(),
            version: "$LATEST".into(),
            namespace: "default".into(),
            region: "ap-guangzhou".into(),
            appid: "1250000000".into(),
            uin: "100000000001".into(),
        };
        let scf = meta.headers(128, Duration::from_secs(3));
        let request = Request::builder()
            .method("POST")
            .uri("http://example/a/b?x=1")
            .header("X-Scf-Request-Id", "forged")
            .header("x-scf-uin", "forged")
            .header("Connection", "keep-alive, x-drop")
            .header("x-drop", "1")
            .header("x-keep", "1")
            .body(Bytes::from_static(b"hi"))
            .unwrap();
        let forwarded = build_forward_request(request, Some(&scf), "rid-9", 1234).unwrap();
        assert_eq!(forwarded.uri(), "/a/b?x=1");
        let h = forwarded.headers();
        assert_eq!(h["x-scf-request-id"], "rid-9");
        assert_eq!(h.get_all("x-scf-request-id").iter().count(), 1);
        assert_eq!(h["x-scf-uin"], "100000000001");
        assert_eq!(h["x-scf-timeout"], "3000");
        assert_eq!(h["x-scf-memory"], "128");
        assert_eq!(h["x-scf-name"], "web");
        assert_eq!(h["x-scf-namespace"], "default");
        assert_eq!(h["x-scf-version"], "$LATEST");
        assert!(h.contains_key("x-scf-region") && h.contains_key("x-scf-appid"));
        assert!(!h.contains_key("connection") && !h.contains_key("x-drop"));
        assert_eq!(h["x-keep"], "1");
        assert_eq!(h["host"], "127.0.0.1:1234");
    }

    #[test]
    fn error_answers_carry_the_scf_headers() {
        let r = error_response(&Fault::PortBindingFailed.error("no port"), "rid");
        assert_eq!(r.status(), 502);
        assert_eq!(r.headers()["x-scf-request-id"], "rid");
        assert_eq!(r.headers()["x-scf-error-type"], "PortBindingFailed");
        assert_eq!(error_response(&Fault::Timeout.error(""), "r").status(), 504);
        assert_eq!(
            error_response(&Fault::Throttled.error(""), "r").status(),
            503
        );
    }
}
