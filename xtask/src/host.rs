//! A minimal runtime API host: hands one fixed event to a single bootstrap, as fast as it
//! asks, and records when it became ready and when it answered.
//!
//! It speaks either SCF's Custom Runtime paths (`/runtime/init/ready`,
//! `/runtime/invocation/{next,response,error}`) or AWS Lambda's
//! (`/2018-06-01/runtime/invocation/...`), so our bootstrap and a `lambda_runtime` one are
//! driven by the same code with the same event bytes. After `limit` events it parks the
//! next `/next` forever: the bootstrap is then idle, as on a real host between events.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// Which runtime API dialect the host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Tencent SCF's Custom Runtime API.
    Scf,
    /// AWS Lambda's Runtime API (`2018-06-01`).
    Aws,
}

const AWS_PREFIX: &str = "/2018-06-01/runtime/";

/// The host, serving on `127.0.0.1` at an ephemeral port until dropped.
#[derive(Debug)]
pub(crate) struct Host {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

#[derive(Debug)]
struct State {
    protocol: Protocol,
    event: Bytes,
    limit: u64,
    /// Events handed out.
    served: AtomicU64,
    /// Result posts received (responses and errors).
    answered: AtomicU64,
    /// Error posts and responses that are not the event echoed back.
    wrong: AtomicU64,
    /// `/next` requests parked because the limit was reached.
    parked: AtomicU64,
    ready_at: OnceLock<Instant>,
    first_answer_at: OnceLock<Instant>,
    first_wrong: OnceLock<String>,
    changed: Notify,
}

/// What the host has seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Result posts received.
    pub(crate) answered: u64,
    /// `/next` requests parked after the last event.
    pub(crate) parked: u64,
}

impl Host {
    /// Starts a host that serves `event` `limit` times.
    pub(crate) async fn start(protocol: Protocol, event: Bytes, limit: u64) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            protocol,
            event,
            limit,
            served: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            wrong: AtomicU64::new(0),
            parked: AtomicU64::new(0),
            ready_at: OnceLock::new(),
            first_answer_at: OnceLock::new(),
            first_wrong: OnceLock::new(),
            changed: Notify::new(),
        });
        let server = tokio::spawn(accept(listener, state.clone()));
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// The listening address.
    #[cfg(test)]
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The environment a bootstrap needs to find this host.
    pub(crate) fn bootstrap_env(&self) -> Vec<(String, String)> {
        let port = self.addr.port().to_string();
        let pairs: Vec<(&str, String)> = match self.state.protocol {
            Protocol::Scf => vec![
                ("SCF_RUNTIME_API", "127.0.0.1".to_owned()),
                ("SCF_RUNTIME_API_PORT", port),
                ("SCF_RUNTIME", "CustomRuntime".to_owned()),
                ("SCF_FUNCTIONNAME", "echo".to_owned()),
                ("SCF_FUNCTIONVERSION", "$LATEST".to_owned()),
                ("SCF_NAMESPACE", "default".to_owned()),
                ("_HANDLER", "index.main".to_owned()),
                ("TENCENTCLOUD_REGION", "ap-guangzhou".to_owned()),
                ("TENCENTCLOUD_APPID", "1250000000".to_owned()),
                ("TENCENTCLOUD_UIN", "100000000001".to_owned()),
                ("TENCENTCLOUD_RUNENV", "SCF".to_owned()),
                ("TENCENTCLOUD_TZ", "UTC".to_owned()),
                ("USER_CODE_ROOT", "/var/user/".to_owned()),
            ],
            Protocol::Aws => vec![
                ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}")),
                ("AWS_LAMBDA_FUNCTION_NAME", "echo".to_owned()),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
                ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/echo".to_owned()),
                ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_owned()),
                ("AWS_REGION", "us-east-1".to_owned()),
                ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
                ("_HANDLER", "bootstrap".to_owned()),
            ],
        };
        pairs
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect()
    }

    /// What the host has seen so far.
    pub(crate) fn progress(&self) -> Progress {
        Progress {
            answered: self.state.answered.load(Ordering::SeqCst),
            parked: self.state.parked.load(Ordering::SeqCst),
        }
    }

    /// When the bootstrap said it was ready (SCF: `/runtime/init/ready`; AWS, which has no
    /// ready call: its first `/next`).
    pub(crate) fn ready_at(&self) -> Option<Instant> {
        self.state.ready_at.get().copied()
    }

    /// When the first result post arrived.
    pub(crate) fn first_answer_at(&self) -> Option<Instant> {
        self.state.first_answer_at.get().copied()
    }

    /// Fails when any answer was an error post or not the event echoed back.
    pub(crate) fn check_answers(&self) -> Result<()> {
        let wrong = self.state.wrong.load(Ordering::SeqCst);
        if wrong > 0 {
            let first = self.state.first_wrong.get().cloned().unwrap_or_default();
            bail!("{wrong} answer(s) were not the echoed event; the first: {first}");
        }
        Ok(())
    }

    /// Waits until `done(progress)` holds, or `alive()` turns false, or `limit` passes.
    pub(crate) async fn wait_until(
        &self,
        limit: Duration,
        mut alive: impl FnMut() -> bool,
        done: impl Fn(Progress) -> bool,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.state.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if done(self.progress()) {
                return Ok(());
            }
            if !alive() {
                bail!(
                    "the bootstrap exited early (host saw {:?})",
                    self.progress()
                );
            }
            // Wake up now and then to notice an exited bootstrap.
            let tick = tokio::time::Instant::now() + Duration::from_millis(50);
            if tokio::time::timeout_at(tick.min(deadline), changed)
                .await
                .is_err()
                && tokio::time::Instant::now() >= deadline
            {
                bail!(
                    "timed out after {limit:?} waiting for the bootstrap (host saw {:?})",
                    self.progress()
                );
            }
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.server.abort();
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

async fn handle(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let route = match state.protocol {
        Protocol::Scf => scf_route(&method, &path),
        Protocol::Aws => aws_route(&method, &path),
    };
    match route {
        Route::Ready => {
            let _ = state.ready_at.set(Instant::now());
            state.changed.notify_waiters();
            let _ = request.into_body().collect().await;
            reply(StatusCode::OK, Bytes::new())
        }
        Route::Next => {
            if state.protocol == Protocol::Aws {
                // AWS has no ready call: the first /next marks the end of init.
                let _ = state.ready_at.set(Instant::now());
            }
            let n = state.served.fetch_add(1, Ordering::SeqCst);
            if n >= state.limit {
                state.served.fetch_sub(1, Ordering::SeqCst);
                state.parked.fetch_add(1, Ordering::SeqCst);
                state.changed.notify_waiters();
                park().await;
            }
            state.changed.notify_waiters();
            next_response(state, n)
        }
        Route::Result { error } => {
            let body = request
                .into_body()
                .collect()
                .await
                .map(|collected| collected.to_bytes())
                .unwrap_or_default();
            let _ = state.first_answer_at.set(Instant::now());
            if error || !same_json(&body, &state.event) {
                state.wrong.fetch_add(1, Ordering::SeqCst);
                let _ = state.first_wrong.set(format!(
                    "{} {}",
                    if error { "error post" } else { "response" },
                    String::from_utf8_lossy(&body)
                ));
            }
            state.answered.fetch_add(1, Ordering::SeqCst);
            state.changed.notify_waiters();
            let status = match state.protocol {
                Protocol::Scf => StatusCode::OK,
                Protocol::Aws => StatusCode::ACCEPTED,
            };
            reply(status, Bytes::new())
        }
        Route::InitError => {
            let body = request.into_body().collect().await.map(|c| c.to_bytes());
            let _ = state.first_wrong.set(format!(
                "init error {}",
                String::from_utf8_lossy(&body.unwrap_or_default())
            ));
            state.wrong.fetch_add(1, Ordering::SeqCst);
            state.changed.notify_waiters();
            reply(StatusCode::ACCEPTED, Bytes::new())
        }
        Route::NotFound => reply(StatusCode::NOT_FOUND, Bytes::new()),
    }
}

fn park() -> impl Future<Output = ()> {
    std::future::pending()
}

fn same_json(answer: &[u8], event: &[u8]) -> bool {
    answer == event
        || matches!(
            (
                serde_json::from_slice::<serde_json::Value>(answer),
                serde_json::from_slice::<serde_json::Value>(event),
            ),
            (Ok(a), Ok(b)) if a == b
        )
}

fn next_response(state: &State, n: u64) -> Response<Full<Bytes>> {
    let request_id = format!("9b1deb4d-3b7d-4bad-9bdd-{n:012x}");
    let mut response = reply(StatusCode::OK, state.event.clone());
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    match state.protocol {
        Protocol::Scf => {
            set("request_id", request_id);
            set("memory_limit_in_mb", "128".to_owned());
            set("time_limit_in_ms", "3000".to_owned());
        }
        Protocol::Aws => {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default();
            set("lambda-runtime-aws-request-id", request_id);
            set("lambda-runtime-deadline-ms", (now_ms + 3000).to_string());
            set(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:echo".to_owned(),
            );
            set(
                "lambda-runtime-trace-id",
                format!(
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage={n}"
                ),
            );
        }
    }
    response
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Ready,
    Next,
    Result { error: bool },
    InitError,
    NotFound,
}

fn scf_route(method: &Method, path: &str) -> Route {
    match (method, path) {
        (&Method::POST, "/runtime/init/ready") => Route::Ready,
        (&Method::GET, "/runtime/invocation/next") => Route::Next,
        (&Method::POST, "/runtime/invocation/response") => Route::Result { error: false },
        (&Method::POST, "/runtime/invocation/error") => Route::Result { error: true },
        _ => Route::NotFound,
    }
}

fn aws_route(method: &Method, path: &str) -> Route {
    let Some(rest) = path.strip_prefix(AWS_PREFIX) else {
        return Route::NotFound;
    };
    match (method, rest) {
        (&Method::GET, "invocation/next") => Route::Next,
        (&Method::POST, "init/error") => Route::InitError,
        (&Method::POST, rest) => match rest.strip_prefix("invocation/") {
            Some(tail) if tail.ends_with("/response") => Route::Result { error: false },
            Some(tail) if tail.ends_with("/error") => Route::Result { error: true },
            _ => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    async fn send(
        addr: SocketAddr,
        method: Method,
        path: &str,
        body: &'static str,
    ) -> (StatusCode, http::HeaderMap, Bytes) {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (
            parts.status,
            parts.headers,
            body.collect().await.unwrap().to_bytes(),
        )
    }

    #[tokio::test]
    async fn scf_dialect_serves_then_parks() {
        let event = Bytes::from_static(br#"{"a":1}"#);
        let host = Host::start(Protocol::Scf, event.clone(), 1).await.unwrap();
        let addr = host.addr();
        assert_eq!(
            send(addr, Method::POST, "/runtime/init/ready", " ").await.0,
            StatusCode::OK
        );
        assert!(host.ready_at().is_some());
        let (status, headers, body) = send(addr, Method::GET, "/runtime/invocation/next", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, event);
        assert!(headers.contains_key("request_id"));
        assert_eq!(headers["time_limit_in_ms"], "3000");
        let (status, _, _) = send(
            addr,
            Method::POST,
            "/runtime/invocation/response",
            r#"{ "a": 1 }"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(host.progress().answered, 1);
        host.check_answers().unwrap();
        // The second /next is held: the bootstrap is idle.
        let parked = tokio::spawn(send(addr, Method::GET, "/runtime/invocation/next", ""));
        host.wait_until(Duration::from_secs(5), || true, |p| p.parked == 1)
            .await
            .unwrap();
        assert!(!parked.is_finished());
        parked.abort();
        assert_eq!(
            send(addr, Method::GET, "/nope", "").await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn aws_dialect_and_wrong_answers() {
        let host = Host::start(Protocol::Aws, Bytes::from_static(b"{}"), 5)
            .await
            .unwrap();
        let addr = host.addr();
        let (status, headers, _) =
            send(addr, Method::GET, "/2018-06-01/runtime/invocation/next", "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(host.ready_at().is_some(), "the first /next marks readiness");
        let id = headers["lambda-runtime-aws-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(headers.contains_key("lambda-runtime-deadline-ms"));
        let path = format!("/2018-06-01/runtime/invocation/{id}/response");
        let (status, _, _) = send(addr, Method::POST, &path, "[1]").await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let err = host.check_answers().unwrap_err().to_string();
        assert!(err.contains("[1]"), "{err}");
        assert!(host.first_answer_at().is_some());
    }

    #[test]
    fn routes() {
        assert_eq!(
            aws_route(&Method::POST, "/2018-06-01/runtime/invocation/x/error"),
            Route::Result { error: true }
        );
        assert_eq!(
            aws_route(&Method::GET, "/runtime/invocation/next"),
            Route::NotFound
        );
        assert_eq!(
            scf_route(&Method::GET, "/runtime/invocation/response"),
            Route::NotFound
        );
    }
}
