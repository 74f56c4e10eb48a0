//! Web functions (`type = "web"`): each instance runs the function's `scf_bootstrap` as an HTTP
//! server, and the host proxies requests to it (RUNTIME-API.md §2.2, PLATFORM.md §6).
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
//! - **Port**: the platform always uses 9000; the host runs many instances on one machine, so it
//!   picks a free port per instance and passes it in `PORT` (project decision). The server must listen on
//!   `0.0.0.0:$PORT` (or `127.0.0.1`); the host connects to `127.0.0.1:$PORT`.
//! - **Readiness**: the port accepts a TCP connection. Not within `init_timeout_s`: the instance is
//!   killed and the request fails with **446 PortBindingFailed**; an exit before that: **405**; a
//!   bootstrap that cannot be started: **437**.
//! - **Concurrency**: each instance takes up to `max_concurrency` requests at once (1–100,
//!   default 1). A request goes to the most recently used instance with spare capacity, else a new
//!   instance is started (up to `max_instances`), else it waits up to `queue_timeout` and then
//!   fails with **432**.
//! - **Headers**: the host sets `X-Scf-Request-Id`, `X-Scf-Memory`, `X-Scf-Timeout` (ms),
//!   `X-Scf-Version`, `X-Scf-Name`, `X-Scf-Namespace`, `X-Scf-Region`, `X-Scf-Appid` and
//!   `X-Scf-Uin`; any `X-Scf-*` header the caller sent is dropped first, so callers cannot set or
//!   override them. Hop-by-hop headers (`Connection`, `Keep-Alive`, `Transfer-Encoding`, …) are
//!   not forwarded in either direction.
//! - **Limits**: request body ≤ 6 MB (checked by the caller of [`WebPool::serve`]); response headers
//!   ≤ 4 KB in total and body ≤ 6 MB, else the request fails with 502 (the platform does not
//!   document the status; project decision); a request running longer than `timeout_s` fails with **433**.
//! - **Errors** the host writes carry `X-Scf-Request-Id` and `X-Scf-Error-Type` (the SCF status
//!   name) and the body `{"code","error","message"}`; the HTTP status is 504 for 433, 503 for 432
//!   and 502 otherwise (project decision).
//! - **Processes**: each instance is its own process group, killed as a group (SIGTERM, then
//!   SIGKILL after 2 s) when idle past `idle_timeout_s`, at shutdown, or when the pool is dropped.
//!   Instances get a parent-death signal (SIGKILL), so they die with the server even when it is
//!   SIGKILLed.
//!   Its output lines are logged with the function and instance (tracing target `scf::function`).
//!   The environment is exactly what [`WebFunctionConfig::env`] holds plus `PORT`: nothing is
//!   inherited from the server.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::Child;
use tokio::sync::{Notify, oneshot};

use crate::fault::{Fault, InvokeError, MAX_RESPONSE_BYTES, MAX_RESPONSE_HEADER_BYTES};

/// How long a stopped instance gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// The function identity the host passes in the `X-Scf-*` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionMeta {
    /// `X-Scf-Name`.
    pub name: String,
    /// `X-Scf-Version` (default `$LATEST`).
    pub version: String,
    /// `X-Scf-Namespace` (default `default`).
    pub namespace: String,
    /// `X-Scf-Region`.
    pub region: String,
    /// `X-Scf-Appid`.
    pub appid: String,
    /// `X-Scf-Uin`.
    pub uin: String,
}

impl FunctionMeta {
    /// Metadata for `name` with local defaults: `$LATEST`, namespace `default`, region
    /// `ap-guangzhou`, appid `1250000000`, uin `100000000001`.
    pub fn local(name: &str) -> Self {
        FunctionMeta {
            name: name.to_owned(),
            version: "$LATEST".to_owned(),
            namespace: "default".to_owned(),
            region: "ap-guangzhou".to_owned(),
            appid: "1250000000".to_owned(),
            uin: "100000000001".to_owned(),
        }
    }
}

/// How to run and limit one web function.
#[derive(Debug, Clone)]
pub struct WebFunctionConfig {
    /// Identity (also the `X-Scf-*` values).
    pub meta: FunctionMeta,
    /// The executable (`scf_bootstrap` or any server binary).
    pub command: PathBuf,
    /// Arguments for it.
    pub args: Vec<String>,
    /// Working directory (default: the server's).
    pub working_dir: Option<PathBuf>,
    /// The whole environment of the process, apart from `PORT`.
    pub env: Vec<(String, String)>,
    /// `X-Scf-Memory`, MB.
    pub memory_mb: u32,
    /// Longest time one request may take (433 past it).
    pub timeout: Duration,
    /// Longest time from spawn to an accepting port (446 past it).
    pub init_timeout: Duration,
    /// Most instances at once.
    pub max_instances: usize,
    /// Instances kept running even when idle (started by [`WebPool::start_min_instances`]).
    pub min_instances: usize,
    /// Requests one instance takes at once (1–100).
    pub max_concurrency: usize,
    /// An idle instance is stopped after this long.
    pub idle_timeout: Duration,
    /// Longest time a request waits for capacity (432 past it).
    pub queue_timeout: Duration,
}

impl WebFunctionConfig {
    /// A config with the platform's defaults (128 MB, 3 s timeout, 60 s init timeout, 100
    /// instances, concurrency 1, 300 s idle timeout, 10 s queue wait) and the minimal environment
    /// of [`base_env`].
    pub fn new(name: &str, command: impl Into<PathBuf>) -> Self {
        let meta = FunctionMeta::local(name);
        let env = base_env(&meta);
        WebFunctionConfig {
            meta,
            command: command.into(),
            args: Vec::new(),
            working_dir: None,
            env,
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            init_timeout: Duration::from_secs(60),
            max_instances: 100,
            min_instances: 0,
            max_concurrency: 1,
            idle_timeout: Duration::from_secs(300),
            queue_timeout: Duration::from_secs(10),
        }
    }

    /// Checks the limits; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.max_concurrency) {
            return Err(format!(
                "max_concurrency: must be from 1 to 100, got {}",
                self.max_concurrency
            ));
        }
        if self.max_instances == 0 {
            return Err("max_instances: must be at least 1".to_owned());
        }
        if self.min_instances > self.max_instances {
            return Err(format!(
                "min_instances: {} is more than max_instances {}",
                self.min_instances, self.max_instances
            ));
        }
        Ok(())
    }
}

/// The minimal environment of a web function instance: `PATH`, `HOME`, `LANG`, and the platform's
/// `SCF_FUNCTIONNAME`, `SCF_FUNCTIONVERSION`, `SCF_NAMESPACE`, `TENCENTCLOUD_REGION`,
/// `TENCENTCLOUD_APPID`, `TENCENTCLOUD_UIN`, `TENCENTCLOUD_RUNENV=SCF`. No `SCF_RUNTIME_API`: a web
/// function has no runtime API.
pub fn base_env(meta: &FunctionMeta) -> Vec<(String, String)> {
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", "/tmp"),
        ("LANG", "C.UTF-8"),
        ("SCF_FUNCTIONNAME", &meta.name),
        ("SCF_FUNCTIONVERSION", &meta.version),
        ("SCF_NAMESPACE", &meta.namespace),
        ("TENCENTCLOUD_REGION", &meta.region),
        ("TENCENTCLOUD_APPID", &meta.appid),
        ("TENCENTCLOUD_UIN", &meta.uin),
        ("TENCENTCLOUD_RUNENV", "SCF"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// One running instance.
#[derive(Debug)]
struct Instance {
    id: u64,
    port: u16,
    pid: u32,
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

impl Instance {
    fn request_stop(&self) {
        if let Some(tx) = self.stop.lock().expect("stop lock").take() {
            let _ = tx.send(());
        }
    }
}

#[derive(Debug)]
struct Slot {
    instance: Arc<Instance>,
    in_flight: usize,
    last_used: Instant,
}

#[derive(Debug, Default)]
struct PoolState {
    slots: Vec<Slot>,
    starting: usize,
    closed: bool,
    /// Instances replaced by [`WebPool::recycle`] that still serve requests; each stops when
    /// its last request ends.
    retiring: Vec<Slot>,
    /// Bumped by [`WebPool::recycle`]: an instance started before it is not kept.
    generation: u64,
}

#[derive(Debug)]
struct PoolInner {
    config: WebFunctionConfig,
    state: Mutex<PoolState>,
    changed: Notify,
    next_id: AtomicU64,
}

/// The instances of one web function, and the proxy in front of them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WebPool {
    inner: Arc<PoolInner>,
}

/// A snapshot of a pool, for status pages and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStatus {
    /// Running instances: (instance id, pid, requests in flight).
    pub instances: Vec<(u64, u32, usize)>,
    /// Instances being started.
    pub starting: usize,
}

/// A request's hold on one unit of an instance's concurrency.
struct Lease {
    pool: Weak<PoolInner>,
    instance: Arc<Instance>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            {
                let mut state = pool.state.lock().expect("pool lock");
                if let Some(slot) = state
                    .slots
                    .iter_mut()
                    .find(|s| s.instance.id == self.instance.id)
                {
                    slot.in_flight = slot.in_flight.saturating_sub(1);
                    slot.last_used = Instant::now();
                } else if let Some(i) = state
                    .retiring
                    .iter()
                    .position(|s| s.instance.id == self.instance.id)
                {
                    let slot = &mut state.retiring[i];
                    slot.in_flight = slot.in_flight.saturating_sub(1);
                    if slot.in_flight == 0 {
                        state.retiring.swap_remove(i).instance.request_stop();
                    }
                }
            }
            pool.changed.notify_waiters();
        }
    }
}

impl WebPool {
    /// A pool for `config` (no instance started yet) with its idle reaper running on the current
    /// tokio runtime. The reaper ends when the last clone of the pool is dropped.
    pub fn new(config: WebFunctionConfig) -> Result<WebPool, String> {
        config.validate()?;
        let inner = Arc::new(PoolInner {
            config,
            state: Mutex::new(PoolState::default()),
            changed: Notify::new(),
            next_id: AtomicU64::new(1),
        });
        let weak = Arc::downgrade(&inner);
        let tick = (inner.config.idle_timeout / 4)
            .clamp(Duration::from_millis(100), Duration::from_secs(5));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(tick).await;
                let Some(pool) = weak.upgrade() else { return };
                reap_idle(&pool);
            }
        });
        Ok(WebPool { inner })
    }

    /// The pool's config.
    pub fn config(&self) -> &WebFunctionConfig {
        &self.inner.config
    }

    /// Replaces every instance without failing a request: idle instances stop now, busy ones
    /// when their last request ends, and new instances (running the command as it is on disk
    /// now) serve what comes next; `min_instances` are started again. Returns how many
    /// instances are being replaced.
    pub async fn recycle(&self) -> usize {
        let (idle, replaced) = {
            let mut state = self.inner.state.lock().expect("pool lock");
            if state.closed {
                return 0;
            }
            state.generation += 1;
            let replaced = state.slots.len();
            let (busy, idle): (Vec<Slot>, Vec<Slot>) =
                state.slots.drain(..).partition(|s| s.in_flight > 0);
            state.retiring.extend(busy);
            (idle, replaced)
        };
        for slot in idle {
            slot.instance.request_stop();
        }
        self.inner.changed.notify_waiters();
        if let Err(e) = self.start_min_instances().await {
            tracing::warn!(function = %self.inner.config.meta.name, "starting web instances after a reload failed: {e}");
        }
        replaced
    }

    /// Starts instances until `min_instances` run.
    pub async fn start_min_instances(&self) -> Result<(), InvokeError> {
        loop {
            let generation = {
                let mut state = self.inner.state.lock().expect("pool lock");
                if state.slots.len() + state.starting >= self.inner.config.min_instances {
                    return Ok(());
                }
                state.starting += 1;
                state.generation
            };
            let started = start_instance(&self.inner).await;
            let mut state = self.inner.state.lock().expect("pool lock");
            state.starting -= 1;
            let instance = started?;
            if state.closed || state.generation != generation {
                instance.request_stop();
                continue;
            }
            state.slots.push(Slot {
                instance,
                in_flight: 0,
                last_used: Instant::now(),
            });
        }
    }

    /// What runs now.
    pub fn status(&self) -> PoolStatus {
        let state = self.inner.state.lock().expect("pool lock");
        PoolStatus {
            instances: state
                .slots
                .iter()
                .map(|s| (s.instance.id, s.instance.pid, s.in_flight))
                .collect(),
            starting: state.starting,
        }
    }

    /// Stops every instance and refuses new requests (they fail with 438-style errors).
    pub async fn shutdown(&self) {
        let instances: Vec<Arc<Instance>> = {
            let mut state = self.inner.state.lock().expect("pool lock");
            state.closed = true;
            let retiring: Vec<Slot> = state.retiring.drain(..).collect();
            state
                .slots
                .drain(..)
                .chain(retiring)
                .map(|s| s.instance)
                .collect()
        };
        self.inner.changed.notify_waiters();
        for instance in &instances {
            instance.request_stop();
        }
        // Wait (bounded) for the groups to be gone.
        let deadline = Instant::now() + STOP_GRACE + Duration::from_secs(1);
        for instance in instances {
            while Instant::now() < deadline && process_exists(instance.pid) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    async fn acquire(&self) -> Result<Lease, InvokeError> {
        let inner = &self.inner;
        let deadline = Instant::now() + inner.config.queue_timeout;
        loop {
            let notified = inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let start_new = {
                let mut state = inner.state.lock().expect("pool lock");
                if state.closed {
                    return Err(Fault::ShuttingDown.error("the server is shutting down"));
                }
                let max = inner.config.max_concurrency;
                let best = state
                    .slots
                    .iter_mut()
                    .filter(|s| s.in_flight < max)
                    .max_by_key(|s| (s.in_flight > 0, s.last_used));
                if let Some(slot) = best {
                    slot.in_flight += 1;
                    return Ok(Lease {
                        pool: Arc::downgrade(inner),
                        instance: slot.instance.clone(),
                    });
                }
                if state.slots.len() + state.starting < inner.config.max_instances {
                    state.starting += 1;
                    Some(state.generation)
                } else {
                    None
                }
            };
            if let Some(generation) = start_new {
                let started = start_instance(inner).await;
                let mut state = inner.state.lock().expect("pool lock");
                state.starting -= 1;
                let result = match started {
                    Ok(instance) if !state.closed => {
                        let slot = Slot {
                            instance: instance.clone(),
                            in_flight: 1,
                            last_used: Instant::now(),
                        };
                        // Started before a recycle: it serves this request, then stops.
                        if state.generation == generation {
                            state.slots.push(slot);
                        } else {
                            state.retiring.push(slot);
                        }
                        Ok(Lease {
                            pool: Arc::downgrade(inner),
                            instance,
                        })
                    }
                    Ok(instance) => {
                        instance.request_stop();
                        Err(Fault::ShuttingDown.error("the server is shutting down"))
                    }
                    Err(e) => Err(e),
                };
                drop(state);
                inner.changed.notify_waiters();
                return result;
            }
            let now = Instant::now();
            if now >= deadline
                || tokio::time::timeout(deadline - now, notified)
                    .await
                    .is_err()
            {
                return Err(Fault::Throttled.error(format!(
                        "function [{}] has no capacity: {} instances busy with {} requests each; waited {} ms",
                        inner.config.meta.name,
                        inner.config.max_instances,
                        inner.config.max_concurrency,
                        inner.config.queue_timeout.as_millis()
                    ),
                ));
            }
        }
    }

    /// Proxies one request (body already buffered and within the request limit) to an instance,
    /// with the `X-Scf-*` headers set for `request_id`. Never fails: errors become the host's error
    /// answers described in the module docs.
    pub async fn serve(&self, request: Request<Bytes>, request_id: &str) -> Response<Bytes> {
        match self.try_serve(request, request_id).await {
            Ok(response) => response,
            Err(err) => error_response(&err, request_id),
        }
    }

    async fn try_serve(
        &self,
        request: Request<Bytes>,
        request_id: &str,
    ) -> Result<Response<Bytes>, InvokeError> {
        let config = &self.inner.config;
        let lease = self.acquire().await?;
        let port = lease.instance.port;
        let forward = build_forward_request(request, config, request_id, port)?;
        let exchange = async {
            let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                .await
                .map_err(|e| {
                    instance_gone(&lease, format!("cannot connect to the instance: {e}"))
                })?;
            let io = hyper_util::rt::TokioIo::new(stream);
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| instance_gone(&lease, format!("HTTP handshake failed: {e}")))?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            let response = sender
                .send_request(forward)
                .await
                .map_err(|e| instance_gone(&lease, format!("the instance did not answer: {e}")))?;
            read_response(response).await
        };
        match tokio::time::timeout(config.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Fault::Timeout.error(format!(
                "the request took longer than the function timeout of {} ms",
                config.timeout.as_millis()
            ))),
        }
    }
}

fn instance_gone(lease: &Lease, message: String) -> InvokeError {
    if process_exists(lease.instance.pid) {
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
/// and any `X-Scf-*`) and body, plus the host's `X-Scf-*` headers.
fn build_forward_request(
    request: Request<Bytes>,
    config: &WebFunctionConfig,
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
    let meta = &config.meta;
    let timeout_ms = config.timeout.as_millis().to_string();
    let memory = config.memory_mb.to_string();
    for (name, value) in [
        ("x-scf-request-id", request_id),
        ("x-scf-memory", memory.as_str()),
        ("x-scf-timeout", timeout_ms.as_str()),
        ("x-scf-version", meta.version.as_str()),
        ("x-scf-name", meta.name.as_str()),
        ("x-scf-namespace", meta.namespace.as_str()),
        ("x-scf-region", meta.region.as_str()),
        ("x-scf-appid", meta.appid.as_str()),
        ("x-scf-uin", meta.uin.as_str()),
    ] {
        let value = HeaderValue::from_str(value).map_err(|_| {
            Fault::Internal.error(format!("{name}: {value:?} is not a header value"))
        })?;
        headers.insert(HeaderName::from_static(name), value);
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

/// Kills the process group `pid` leads with `signal`; a group already gone is fine.
fn signal_group(pid: u32, signal: Signal) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}

/// Kills the instance's process group when the instance's watcher task ends for any reason
/// (including the runtime shutting down).
struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.0, Signal::SIGKILL);
    }
}

async fn start_instance(pool: &Arc<PoolInner>) -> Result<Arc<Instance>, InvokeError> {
    let config = &pool.config;
    let id = pool.next_id.fetch_add(1, Ordering::Relaxed);
    let port = free_port()
        .map_err(|e| Fault::Internal.error(format!("no free port for a new instance: {e}")))?;
    if config.command.components().count() > 1 {
        use std::os::unix::fs::PermissionsExt as _;
        let executable = std::fs::metadata(&config.command)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        if !executable {
            return Err(Fault::HandlerNotFound.error(format!(
                "the bootstrap {} of web function {} does not exist or is not executable",
                config.command.display(),
                config.meta.name
            )));
        }
    }
    let mut command = crate::host::process::command(&config.command);
    command
        .args(&config.args)
        .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &config.working_dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().map_err(|e| {
        Fault::HandlerNotFound.error(format!(
            "cannot start {} for web function {}: {e}",
            config.command.display(),
            config.meta.name
        ))
    })?;
    let pid = child.id().unwrap_or(0);
    let guard = GroupGuard(pid);
    forward_output(&mut child, &config.meta.name, id);
    tracing::info!(function = %config.meta.name, instance = id, pid, port, "web instance starting");

    let started = Instant::now();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if TcpStream::connect(addr).await.is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Fault::ExitBeforeReady.error(format!(
                "web function {} exited ({status}) before listening on port {port}",
                config.meta.name
            )));
        }
        if started.elapsed() >= config.init_timeout {
            drop(guard);
            return Err(Fault::PortBindingFailed.error(format!(
                    "web function {} did not listen on port {port} (given in PORT) within the init timeout of {} ms",
                    config.meta.name,
                    config.init_timeout.as_millis()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::info!(
        function = %config.meta.name,
        instance = id,
        init_ms = started.elapsed().as_millis() as u64,
        "web instance ready"
    );
    let (stop_tx, stop_rx) = oneshot::channel();
    let instance = Arc::new(Instance {
        id,
        port,
        pid,
        stop: Mutex::new(Some(stop_tx)),
    });
    tokio::spawn(watch(Arc::downgrade(pool), child, guard, id, stop_rx));
    Ok(instance)
}

/// Waits for the instance to exit or to be told to stop, then removes it from the pool.
async fn watch(
    pool: Weak<PoolInner>,
    mut child: Child,
    guard: GroupGuard,
    id: u64,
    stop: oneshot::Receiver<()>,
) {
    let pid = guard.0;
    tokio::select! {
        status = child.wait() => {
            tracing::warn!(instance = id, pid, status = ?status.ok(), "web instance exited");
        }
        _ = stop => {
            signal_group(pid, Signal::SIGTERM);
            if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
                signal_group(pid, Signal::SIGKILL);
                let _ = child.wait().await;
            }
        }
    }
    drop(guard);
    if let Some(pool) = pool.upgrade() {
        pool.state
            .lock()
            .expect("pool lock")
            .slots
            .retain(|s| s.instance.id != id);
        pool.changed.notify_waiters();
    }
}

fn forward_output(child: &mut Child, function: &str, instance: u64) {
    fn pump<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
        reader: R,
        function: String,
        instance: u64,
    ) {
        tokio::spawn(async move {
            let mut lines = BufReader::new(reader).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(target: "scf::function", function = %function, instance, "{line}");
            }
        });
    }
    if let Some(out) = child.stdout.take() {
        pump(out, function.to_owned(), instance);
    }
    if let Some(err) = child.stderr.take() {
        pump(err, function.to_owned(), instance);
    }
}

fn reap_idle(pool: &Arc<PoolInner>) {
    let idle_timeout = pool.config.idle_timeout;
    let min = pool.config.min_instances;
    let mut stop = Vec::new();
    {
        let mut state = pool.state.lock().expect("pool lock");
        let mut keep = state.slots.len();
        // Oldest idle first, never below `min_instances`.
        let mut idle: Vec<(Instant, u64)> = state
            .slots
            .iter()
            .filter(|s| s.in_flight == 0 && s.last_used.elapsed() >= idle_timeout)
            .map(|s| (s.last_used, s.instance.id))
            .collect();
        idle.sort();
        let mut ids = HashMap::new();
        for (_, id) in idle {
            if keep <= min {
                break;
            }
            keep -= 1;
            ids.insert(id, ());
        }
        state.slots.retain(|s| {
            if ids.contains_key(&s.instance.id) {
                stop.push(s.instance.clone());
                false
            } else {
                true
            }
        });
    }
    for instance in stop {
        tracing::info!(function = %pool.config.meta.name, instance = instance.id, "stopping idle web instance");
        instance.request_stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_requests_carry_the_host_headers_only() {
        let config = WebFunctionConfig::new("web", "/bin/true");
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
        let forwarded = build_forward_request(request, &config, "rid-9", 1234).unwrap();
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
    fn config_limits_are_checked() {
        let mut config = WebFunctionConfig::new("web", "/bin/true");
        assert!(config.validate().is_ok());
        config.max_concurrency = 101;
        assert!(
            config
                .validate()
                .unwrap_err()
                .starts_with("max_concurrency")
        );
        config.max_concurrency = 0;
        assert!(
            config
                .validate()
                .unwrap_err()
                .starts_with("max_concurrency")
        );
        config.max_concurrency = 1;
        config.min_instances = 200;
        assert!(config.validate().unwrap_err().starts_with("min_instances"));
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
