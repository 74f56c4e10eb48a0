//! Test support: an in-process mock of the SCF runtime API, over real HTTP on loopback.
//!
//! [`MockApi`] queues raw event bytes, serves them on `/runtime/invocation/next` exactly
//! as the platform does (the three headers, long poll, same event on a repeated `/next`),
//! and records what the function posted to `/runtime/invocation/response` or `/error`.
//! Drive a handler in-process through the whole raw JSON -> handler -> posted body path:
//!
//! ```
//! use scf_runtime::{Context, Error, Runtime, service_fn, testing::MockApi};
//! use serde_json::{Value, json};
//!
//! async fn handler(event: Value, _ctx: Context) -> Result<Value, Error> {
//!     Ok(json!({ "got": event }))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mock = MockApi::start().await;
//! mock.push_event(r#"{"hello":"world"}"#);
//! Runtime::new(service_fn(handler))
//!     .config(mock.config())
//!     .max_invocations(1)
//!     .run()
//!     .await
//!     .unwrap();
//! let outcome = mock.next_outcome().await;
//! assert_eq!(outcome.json(), json!({ "got": { "hello": "world" } }));
//! # }
//! ```
//!
//! A bootstrap binary can be driven the same way from another process: spawn it with
//! [`MockApi::env`] as its environment.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};

use crate::config::Config;
use crate::error::BoxError;
use crate::runtime::Runtime;
use crate::service::Invocation;

/// How long [`MockApi::next_outcome`] waits before giving up.
pub const DEFAULT_OUTCOME_WAIT: Duration = Duration::from_secs(10);

/// What the function posted for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A post to `/runtime/invocation/response`.
    Response {
        /// The request id of the event it answered.
        request_id: String,
        /// The posted bytes.
        body: Bytes,
    },
    /// A post to `/runtime/invocation/error`.
    Error {
        /// The request id of the event it answered.
        request_id: String,
        /// The posted bytes (the runtime's `{"errorType", "errorMessage"}` JSON).
        body: Bytes,
    },
}

impl Outcome {
    /// The request id of the event this answered.
    pub fn request_id(&self) -> &str {
        match self {
            Self::Response { request_id, .. } | Self::Error { request_id, .. } => request_id,
        }
    }

    /// The posted bytes.
    pub fn body(&self) -> &Bytes {
        match self {
            Self::Response { body, .. } | Self::Error { body, .. } => body,
        }
    }

    /// Whether this was a post to `/runtime/invocation/error`.
    pub fn is_error(&self) -> bool {
        matches!(self, Self::Error { .. })
    }

    /// The posted body as JSON. Panics, naming the body, when it is not JSON (test helper).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(self.body()).unwrap_or_else(|err| {
            panic!(
                "the posted body is not JSON ({err}): {:?}",
                String::from_utf8_lossy(self.body())
            )
        })
    }

    /// The `errorType` of an error post.
    pub fn error_type(&self) -> Option<String> {
        if !self.is_error() {
            return None;
        }
        let json: serde_json::Value = serde_json::from_slice(self.body()).ok()?;
        Some(json.get("errorType")?.as_str()?.to_owned())
    }

    /// The `errorMessage` of an error post.
    pub fn error_message(&self) -> Option<String> {
        if !self.is_error() {
            return None;
        }
        let json: serde_json::Value = serde_json::from_slice(self.body()).ok()?;
        Some(json.get("errorMessage")?.as_str()?.to_owned())
    }
}

/// Per-event settings for [`MockApi::push_event_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventOptions {
    /// The request id; generated (`mock-<n>`) when `None`.
    pub request_id: Option<String>,
    /// The `memory_limit_in_mb` header.
    pub memory_limit_mb: u64,
    /// The `time_limit_in_ms` header.
    pub time_limit_ms: u64,
}

impl Default for EventOptions {
    fn default() -> Self {
        Self {
            request_id: None,
            memory_limit_mb: 128,
            time_limit_ms: 3000,
        }
    }
}

impl EventOptions {
    /// Sets the request id.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Sets the memory limit header.
    pub fn memory_limit_mb(mut self, mb: u64) -> Self {
        self.memory_limit_mb = mb;
        self
    }

    /// Sets the time limit header.
    pub fn time_limit_ms(mut self, ms: u64) -> Self {
        self.time_limit_ms = ms;
        self
    }
}

#[derive(Clone)]
struct Pending {
    request_id: String,
    body: Bytes,
    memory_limit_mb: u64,
    time_limit_ms: u64,
}

struct State {
    queue: Mutex<VecDeque<Pending>>,
    current: Mutex<Option<Pending>>,
    arrived: Notify,
    outcomes_tx: mpsc::UnboundedSender<Outcome>,
    outcomes_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Outcome>>,
    ready: AtomicUsize,
    next_calls: AtomicUsize,
    ids: AtomicU64,
    title_case: bool,
}

/// An in-process mock of the SCF runtime API; see the [module docs](self).
///
/// Cloning gives another handle to the same mock. The listener stops when the last
/// handle is dropped.
#[derive(Clone)]
pub struct MockApi {
    addr: SocketAddr,
    state: Arc<State>,
    _server: Arc<ServerTask>,
}

struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl fmt::Debug for MockApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockApi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Builds a [`MockApi`] with non-default behaviour.
#[derive(Debug, Clone, Default)]
pub struct MockApiBuilder {
    title_case_headers: bool,
}

impl MockApiBuilder {
    /// Sends the `/next` headers capitalised (`Request_id`, `Memory_limit_in_mb`,
    /// `Time_limit_in_ms`), as some platform versions document them.
    pub fn title_case_headers(mut self, on: bool) -> Self {
        self.title_case_headers = on;
        self
    }

    /// Binds 127.0.0.1 on an ephemeral port and starts serving.
    pub async fn start(self) -> MockApi {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|err| panic!("the mock runtime API cannot bind 127.0.0.1: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("the mock runtime API has no address: {err}"));
        let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            queue: Mutex::new(VecDeque::new()),
            current: Mutex::new(None),
            arrived: Notify::new(),
            outcomes_tx,
            outcomes_rx: tokio::sync::Mutex::new(outcomes_rx),
            ready: AtomicUsize::new(0),
            next_calls: AtomicUsize::new(0),
            ids: AtomicU64::new(0),
            title_case: self.title_case_headers,
        });
        let server_state = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = server_state.clone();
                let title_case = state.title_case;
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .title_case_headers(title_case)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        MockApi {
            addr,
            state,
            _server: Arc::new(ServerTask(task)),
        }
    }
}

impl MockApi {
    /// Starts a mock on 127.0.0.1 with an ephemeral port.
    pub async fn start() -> Self {
        MockApiBuilder::default().start().await
    }

    /// Configures a mock before starting it.
    pub fn builder() -> MockApiBuilder {
        MockApiBuilder::default()
    }

    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A [`Config`] pointing at this mock, for in-process runs.
    pub fn config(&self) -> Config {
        Config::with_runtime_api(self.addr)
    }

    /// The environment a bootstrap process needs to talk to this mock: the runtime API
    /// address plus the platform's usual variables.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("SCF_RUNTIME_API", self.addr.ip().to_string()),
            ("SCF_RUNTIME_API_PORT", self.addr.port().to_string()),
            ("SCF_RUNTIME", "CustomRuntime".to_owned()),
            ("SCF_FUNCTIONNAME", "mock-function".to_owned()),
            ("SCF_FUNCTIONVERSION", "$LATEST".to_owned()),
            ("SCF_NAMESPACE", "default".to_owned()),
            ("TENCENTCLOUD_REGION", "ap-guangzhou".to_owned()),
            ("TENCENTCLOUD_APPID", "1250000000".to_owned()),
            ("TENCENTCLOUD_UIN", "100000000001".to_owned()),
            ("TENCENTCLOUD_RUNENV", "SCF".to_owned()),
            ("TENCENTCLOUD_TZ", "UTC".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Queues an event with default headers; returns its request id.
    pub fn push_event(&self, body: impl Into<Bytes>) -> String {
        self.push_event_with(body, EventOptions::default())
    }

    /// Queues a JSON-serialisable value as an event; returns its request id.
    pub fn push_json<T: Serialize>(&self, event: &T) -> String {
        let body = serde_json::to_vec(event)
            .unwrap_or_else(|err| panic!("the test event does not serialise: {err}"));
        self.push_event(body)
    }

    /// Queues an event with explicit headers; returns its request id.
    pub fn push_event_with(&self, body: impl Into<Bytes>, options: EventOptions) -> String {
        let request_id = options.request_id.unwrap_or_else(|| {
            format!(
                "mock-{}",
                self.state.ids.fetch_add(1, Ordering::Relaxed) + 1
            )
        });
        let pending = Pending {
            request_id: request_id.clone(),
            body: body.into(),
            memory_limit_mb: options.memory_limit_mb,
            time_limit_ms: options.time_limit_ms,
        };
        lock(&self.state.queue).push_back(pending);
        self.state.arrived.notify_waiters();
        request_id
    }

    /// Waits up to [`DEFAULT_OUTCOME_WAIT`] for the next posted result. Panics when none
    /// comes (test helper).
    pub async fn next_outcome(&self) -> Outcome {
        self.try_next_outcome(DEFAULT_OUTCOME_WAIT)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "the function posted no result within {DEFAULT_OUTCOME_WAIT:?} \
                     (events still queued: {})",
                    lock(&self.state.queue).len()
                )
            })
    }

    /// Waits up to `wait` for the next posted result.
    pub async fn try_next_outcome(&self, wait: Duration) -> Option<Outcome> {
        let mut rx = self.state.outcomes_rx.lock().await;
        tokio::time::timeout(wait, rx.recv()).await.ok().flatten()
    }

    /// How many times `/runtime/init/ready` was called.
    pub fn ready_count(&self) -> usize {
        self.state.ready.load(Ordering::SeqCst)
    }

    /// How many times `/runtime/invocation/next` was called.
    pub fn next_count(&self) -> usize {
        self.state.next_calls.load(Ordering::SeqCst)
    }
}

/// Runs `service` on one raw event through a fresh [`MockApi`] and returns what it posted.
///
/// ```
/// use scf_runtime::{Context, Error, service_fn, testing};
///
/// async fn double(n: u64, _ctx: Context) -> Result<u64, Error> {
///     Ok(n * 2)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let outcome = testing::invoke(service_fn(double), "21").await;
/// assert_eq!(outcome.body().as_ref(), b"42");
/// let outcome = testing::invoke(service_fn(double), r#""x""#).await;
/// assert_eq!(outcome.error_type().as_deref(), Some("DeserializeError"));
/// # }
/// ```
pub async fn invoke<S, E, R>(service: S, event: impl Into<Bytes>) -> Outcome
where
    S: tower::Service<Invocation<E>, Response = R>,
    S::Error: Into<BoxError>,
    E: DeserializeOwned,
    R: Serialize,
{
    let mock = MockApi::start().await;
    mock.push_event(event);
    if let Err(err) = Runtime::new(service)
        .config(mock.config())
        .max_invocations(1)
        .handle_sigterm(false)
        .run()
        .await
    {
        panic!("the runtime stopped: {err}");
    }
    mock.next_outcome().await
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return text(StatusCode::BAD_REQUEST, "unreadable body"),
    };
    match (parts.method.clone(), parts.uri.path()) {
        (Method::POST, "/runtime/init/ready") => {
            state.ready.fetch_add(1, Ordering::SeqCst);
            text(StatusCode::OK, "")
        }
        (Method::GET, "/runtime/invocation/next") => {
            state.next_calls.fetch_add(1, Ordering::SeqCst);
            let pending = next_event(state).await;
            let mut response = Response::new(Full::new(pending.body.clone()));
            let headers = response.headers_mut();
            let value = |s: String| {
                http::HeaderValue::from_str(&s).unwrap_or(http::HeaderValue::from_static("invalid"))
            };
            headers.insert("request_id", value(pending.request_id.clone()));
            headers.insert(
                "memory_limit_in_mb",
                value(pending.memory_limit_mb.to_string()),
            );
            headers.insert("time_limit_in_ms", value(pending.time_limit_ms.to_string()));
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }
        (Method::POST, path @ ("/runtime/invocation/response" | "/runtime/invocation/error")) => {
            let Some(current) = lock(&state.current).take() else {
                return text(
                    StatusCode::CONFLICT,
                    r#"{"errorType":"NoInvocationInFlight","errorMessage":"no invocation is in flight"}"#,
                );
            };
            let outcome = if path.ends_with("response") {
                Outcome::Response {
                    request_id: current.request_id,
                    body,
                }
            } else {
                Outcome::Error {
                    request_id: current.request_id,
                    body,
                }
            };
            let _ = state.outcomes_tx.send(outcome);
            text(StatusCode::OK, "")
        }
        (
            _,
            "/runtime/init/ready"
            | "/runtime/invocation/next"
            | "/runtime/invocation/response"
            | "/runtime/invocation/error",
        ) => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// The in-flight event again (a repeated `/next`), or the next queued one, waiting for
/// one to be pushed (long poll, no timeout).
async fn next_event(state: &State) -> Pending {
    loop {
        let arrived = state.arrived.notified();
        {
            let mut current = lock(&state.current);
            if let Some(pending) = current.as_ref() {
                return pending.clone();
            }
            if let Some(pending) = lock(&state.queue).pop_front() {
                *current = Some(pending.clone());
                return pending;
            }
        }
        arrived.await;
    }
}
