//! The runtime API client: one reused HTTP/1.1 keep-alive connection, no timeouts.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::runtime_error::RuntimeError;

/// Delays before each reconnection attempt when the runtime API refuses or resets a
/// connection: about one second in all, then the runtime gives up.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_millis(700),
];

/// How much of a refused post's answer goes into the warning.
const ANSWER_LOG_LIMIT: usize = 1024;

/// The `User-Agent` sent with the ready call.
const USER_AGENT: &str = concat!("scf-rust/", env!("CARGO_PKG_VERSION"));

/// The four calls of the runtime API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /runtime/init/ready`.
    Ready,
    /// `GET /runtime/invocation/next`, the long poll.
    Next,
    /// `POST /runtime/invocation/response`.
    Response,
    /// `POST /runtime/invocation/error`.
    Error,
}

impl Endpoint {
    const ALL: [Self; 4] = [Self::Ready, Self::Next, Self::Response, Self::Error];

    pub(crate) const fn path(self) -> &'static str {
        match self {
            Self::Ready => "/runtime/init/ready",
            Self::Next => "/runtime/invocation/next",
            Self::Response => "/runtime/invocation/response",
            Self::Error => "/runtime/invocation/error",
        }
    }

    fn method(self) -> Method {
        match self {
            Self::Next => Method::GET,
            Self::Ready | Self::Response | Self::Error => Method::POST,
        }
    }
}

pub(crate) struct Client {
    addr: SocketAddr,
    host: HeaderValue,
    /// The request target of each [`Endpoint`], parsed once.
    uris: [Uri; 4],
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    pub(crate) fn new(addr: SocketAddr, host: &str) -> Self {
        let host =
            HeaderValue::from_str(host).unwrap_or_else(|_| HeaderValue::from_static("127.0.0.1"));
        Self {
            addr,
            host,
            uris: Endpoint::ALL.map(|endpoint| Uri::from_static(endpoint.path())),
            sender: None,
        }
    }

    /// `GET /runtime/invocation/next`: waits as long as it takes, then returns the answer's
    /// head and whole body.
    pub(crate) async fn next(&mut self) -> Result<(http::response::Parts, Bytes), RuntimeError> {
        self.exchange(Endpoint::Next, Bytes::new()).await
    }

    /// Posts a body and logs a non-2xx answer (the host refused it); never fails the loop
    /// for that reason, only for transport errors.
    pub(crate) async fn post(
        &mut self,
        endpoint: Endpoint,
        body: Bytes,
    ) -> Result<(), RuntimeError> {
        let (parts, answer) = self.exchange(endpoint, body).await?;
        if !parts.status.is_success() {
            let shown = &answer[..answer.len().min(ANSWER_LOG_LIMIT)];
            ::tracing::warn!(
                status = parts.status.as_u16(),
                path = endpoint.path(),
                answer = %String::from_utf8_lossy(shown),
                "the runtime API refused a post"
            );
        }
        Ok(())
    }

    /// Sends one request and reads its answer, reconnecting (and resending) when the
    /// connection was refused or closed before the answer came.
    async fn exchange(
        &mut self,
        endpoint: Endpoint,
        body: Bytes,
    ) -> Result<(http::response::Parts, Bytes), RuntimeError> {
        let mut attempt = 0;
        let mut stale_retried = false;
        loop {
            let reused = self
                .sender
                .as_ref()
                .is_some_and(|sender| !sender.is_closed());
            let err = match self.try_exchange(endpoint, body.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(err) => err,
            };
            self.sender = None;
            if reused && !stale_retried {
                // A kept-alive connection the host closed while the handler ran: the next
                // connection is fresh, so only this one retry is free of a delay.
                stale_retried = true;
                ::tracing::debug!(error = %err, path = endpoint.path(), "runtime API connection went away; reconnecting");
                continue;
            }
            let Some(delay) = RETRY_DELAYS.get(attempt) else {
                return Err(RuntimeError::transport(self.addr, endpoint.path(), err));
            };
            ::tracing::debug!(error = %err, path = endpoint.path(), "runtime API request failed; retrying");
            attempt += 1;
            tokio::time::sleep(*delay).await;
        }
    }

    async fn connect(&self) -> std::io::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        // One task per connection (not per invocation) drives the socket. Driving it
        // inside the loop's own task instead was measured: it costs more (every request
        // then wakes the loop's whole future once for nothing), not less.
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                ::tracing::debug!(error = %err, "runtime API connection closed");
            }
        });
        Ok(sender)
    }

    async fn try_exchange(
        &mut self,
        endpoint: Endpoint,
        body: Bytes,
    ) -> std::io::Result<(http::response::Parts, Bytes)> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.sender.insert(self.connect().await?),
        };
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = endpoint.method();
        *request.uri_mut() = self.uris[endpoint as usize].clone();
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.host.clone());
        if endpoint == Endpoint::Ready {
            // Once per instance tells the host which SDK runs it; on every request the
            // header would cost about 1.4% of an invocation's instructions.
            headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        }
        if endpoint != Endpoint::Next {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        sender.ready().await.map_err(std::io::Error::other)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(std::io::Error::other)?;
        let (parts, body) = response.into_parts();
        // A post's answer is only shown when it is a refusal; a successful one (empty from
        // our host) is still read to its end so the connection stays reusable.
        let keep = endpoint == Endpoint::Next || !parts.status.is_success();
        let body = read_body(body, keep).await?;
        Ok((parts, body))
    }
}

/// Reads a body to its end; returns it when `keep`, or nothing. A body that arrives in
/// one piece (the usual case) is returned without copying.
async fn read_body(mut body: Incoming, keep: bool) -> std::io::Result<Bytes> {
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let mut first = None;
    let mut rest = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(std::io::Error::other)?.into_data() else {
            continue; // trailers
        };
        if !keep {
            continue;
        }
        match &first {
            None => first = Some(data),
            Some(head) => {
                if rest.is_empty() {
                    let hint = usize::try_from(body.size_hint().lower()).unwrap_or(0);
                    rest.reserve(head.len() + data.len() + hint);
                    rest.extend_from_slice(head);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    // A declared length that was not reached: the connection went away mid-body.
    if body.size_hint().exact().is_some_and(|left| left > 0) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the runtime API's answer ended before its declared length",
        ));
    }
    Ok(if rest.is_empty() {
        first.unwrap_or_default()
    } else {
        rest.freeze()
    })
}
