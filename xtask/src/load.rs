//! The load client: keep-alive HTTP/1.1 invocations through a host's invoke API, on hyper.
//! One connection per client, one request in flight per connection.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::stats::Samples;

/// Where invocations go.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The host's listening address.
    pub(crate) addr: SocketAddr,
    /// The invoke path, e.g. `/functions/echo/invocations`.
    pub(crate) path: String,
    /// The event sent with every invocation.
    pub(crate) event: Bytes,
}

/// A keep-alive HTTP/1.1 connection that connects on first use and again after the server
/// closed it.
pub(crate) struct Conn {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// A connection to `addr`, opened by the first request.
    pub(crate) fn new(addr: SocketAddr) -> Conn {
        Conn { addr, sender: None }
    }

    /// Opens the connection now (when it is not open).
    pub(crate) async fn open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(self.addr)
                .await
                .with_context(|| format!("cannot connect to {}", self.addr))?;
            stream.set_nodelay(true)?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .context("HTTP/1.1 handshake failed")?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().expect("just connected");
        sender.ready().await.context("connection closed")?;
        Ok(sender)
    }

    /// Sends one request (`Content-Type: application/json`, plus `headers`) and reads the whole
    /// answer. After a failure the next request opens a new connection.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(http::header::HOST, self.addr.to_string())
            .header(http::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body))?;
        let answer = async {
            let response = self
                .open()
                .await?
                .send_request(request)
                .await
                .with_context(|| format!("{method} {path} failed"))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .with_context(|| format!("cannot read the answer to {method} {path}"))?
                .to_bytes();
            Ok::<_, anyhow::Error>((status, body))
        }
        .await;
        if answer.is_err() {
            self.sender = None;
        }
        answer
    }

    /// `GET path`; the answer's JSON (fails on a non-200 status). One retry on a new
    /// connection, since an idle one may have been closed by the server's keep-alive timeout.
    pub(crate) async fn get_json(&mut self, path: &str) -> Result<serde_json::Value> {
        let (status, body) = match self.send(Method::GET, path, &[], Bytes::new()).await {
            Ok(answer) => answer,
            Err(_) => self.send(Method::GET, path, &[], Bytes::new()).await?,
        };
        if status != StatusCode::OK {
            bail!(
                "GET {path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        serde_json::from_slice(&body).with_context(|| format!("GET {path} did not answer JSON"))
    }
}

/// One client connection to a [`Target`].
pub(crate) struct Client {
    conn: Conn,
    target: Target,
}

impl Client {
    /// Opens a connection to `target`.
    pub(crate) async fn connect(target: &Target) -> Result<Self> {
        let mut conn = Conn::new(target.addr);
        conn.open().await?;
        Ok(Self {
            conn,
            target: target.clone(),
        })
    }

    /// Sends one invocation and reads the whole answer; fails on a non-200 status.
    pub(crate) async fn invoke(&mut self) -> Result<Duration> {
        let started = Instant::now();
        let (status, body) = self.send(false).await?;
        let elapsed = started.elapsed();
        if status != StatusCode::OK {
            bail!(
                "invocation answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(elapsed)
    }

    /// Sends one async invocation (`X-Scf-Invocation-Type: Event`); returns the request id of
    /// the `202` answer, and fails on any other status.
    pub(crate) async fn invoke_async(&mut self) -> Result<String> {
        let (status, body) = self.send(true).await?;
        if status != StatusCode::ACCEPTED {
            bail!(
                "async invocation answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let answer: serde_json::Value = serde_json::from_slice(&body)
            .with_context(|| format!("the 202 answer is not JSON: {body:?}"))?;
        answer["RequestId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("the 202 answer has no RequestId: {answer}"))
    }

    async fn send(&mut self, event: bool) -> Result<(StatusCode, Bytes)> {
        let headers: &[(&str, &str)] = if event {
            &[("x-scf-invocation-type", "Event")]
        } else {
            &[]
        };
        let (path, body) = (&self.target.path, self.target.event.clone());
        self.conn.send(Method::POST, path, headers, body).await
    }

    /// `GET path` on this connection; the answer's JSON (fails on a non-200 status).
    pub(crate) async fn get_json(&mut self, path: &str) -> Result<serde_json::Value> {
        self.conn.get_json(path).await
    }
}

/// Sequential invocations on one connection: `warmup` unmeasured, then `count` measured.
pub(crate) async fn latency(target: &Target, warmup: usize, count: usize) -> Result<Samples> {
    let mut client = Client::connect(target).await?;
    for _ in 0..warmup {
        client.invoke().await?;
    }
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        samples.push(client.invoke().await?);
    }
    Ok(Samples::from_durations(&samples))
}

/// `clients` connections invoking back to back for `duration` (after `warmup`), in
/// invocations per second.
pub(crate) async fn throughput(
    target: &Target,
    clients: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<f64> {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let target = target.clone();
        let (measuring, stop, done) = (measuring.clone(), stop.clone(), done.clone());
        tasks.spawn(async move {
            let mut client = Client::connect(&target).await?;
            while !stop.load(Ordering::Relaxed) {
                client.invoke().await?;
                if measuring.load(Ordering::Relaxed) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    tokio::time::sleep(warmup).await;
    let before = done.load(Ordering::Relaxed);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    let completed = done.load(Ordering::Relaxed) - before;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    while let Some(joined) = tasks.join_next().await {
        joined.context("a load client panicked")??;
    }
    Ok(completed as f64 / elapsed.as_secs_f64())
}

/// The outcome of a burst.
#[derive(Debug, Clone)]
pub(crate) struct Burst {
    /// From the first request sent to the last answer received.
    pub(crate) all_answered: Duration,
    /// Each invocation's latency, µs.
    pub(crate) latencies: Samples,
}

/// `n` invocations at once, each on its own connection (connections are opened first).
pub(crate) async fn burst(target: &Target, n: usize) -> Result<Burst> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(Client::connect(target).await?);
    }
    let start = Arc::new(tokio::sync::Barrier::new(n + 1));
    let mut tasks = tokio::task::JoinSet::new();
    for mut client in clients {
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            client.invoke().await
        });
    }
    start.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        latencies.push(joined.context("a burst client panicked")??);
    }
    Ok(Burst {
        all_answered: started.elapsed(),
        latencies: Samples::from_durations(&latencies),
    })
}

/// Runs `job` on a thread of its own with a current-thread runtime, pinned to `cpu` when
/// given (so the load generator does not compete with the host it measures).
pub(crate) fn run_pinned<F, T>(cpu: Option<usize>, job: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let thread = std::thread::spawn(move || {
        if let Some(cpu) = cpu {
            let mut set = nix::sched::CpuSet::new();
            if set.set(cpu).is_ok() {
                // Best effort: an unpinned client still measures correctly.
                let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the load client's runtime")?;
        runtime.block_on(job)
    });
    thread
        .join()
        .map_err(|_| anyhow!("the load client thread panicked"))?
}
