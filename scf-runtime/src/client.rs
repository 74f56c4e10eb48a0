//! The runtime API client: one reused HTTP/1.1 keep-alive connection, no timeouts.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::runtime::RuntimeError;

/// Path of the init-done call.
pub(crate) const READY_PATH: &str = "/runtime/init/ready";
/// Path of the long poll for the next event.
pub(crate) const NEXT_PATH: &str = "/runtime/invocation/next";
/// Path of the result post.
pub(crate) const RESPONSE_PATH: &str = "/runtime/invocation/response";
/// Path of the error post.
pub(crate) const ERROR_PATH: &str = "/runtime/invocation/error";

/// Delays before each reconnection attempt when the runtime API refuses or resets a
/// connection: about one second in all, then the runtime gives up.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_millis(700),
];

pub(crate) struct Client {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    pub(crate) fn new(addr: SocketAddr, host: &str) -> Self {
        let host =
            HeaderValue::from_str(host).unwrap_or_else(|_| HeaderValue::from_static("127.0.0.1"));
        Self {
            addr,
            host,
            sender: None,
        }
    }

    async fn connect(&self) -> std::io::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        // One task per connection (not per invocation) drives the socket.
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                ::tracing::debug!(error = %err, "runtime API connection closed");
            }
        });
        Ok(sender)
    }

    /// Sends one request, reconnecting (and resending) when the connection was refused or
    /// closed before the request went through.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        path: &'static str,
        body: Bytes,
    ) -> Result<Response<Incoming>, RuntimeError> {
        let mut attempt = 0;
        loop {
            let err = match self.try_send(&method, path, body.clone()).await {
                Ok(response) => return Ok(response),
                Err(err) => err,
            };
            self.sender = None;
            let Some(delay) = RETRY_DELAYS.get(attempt) else {
                return Err(RuntimeError::transport(self.addr, path, err));
            };
            ::tracing::debug!(error = %err, path, "runtime API request failed; retrying");
            attempt += 1;
            tokio::time::sleep(*delay).await;
        }
    }

    async fn try_send(
        &mut self,
        method: &Method,
        path: &'static str,
        body: Bytes,
    ) -> std::io::Result<Response<Incoming>> {
        let sender = match &mut self.sender {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.sender.insert(self.connect().await?),
        };
        sender.ready().await.map_err(std::io::Error::other)?;
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method.clone();
        *request.uri_mut() = http::Uri::from_static(path);
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.host.clone());
        if method == Method::POST {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        sender
            .send_request(request)
            .await
            .map_err(std::io::Error::other)
    }

    /// Sends a request and reads the whole answer.
    pub(crate) async fn call(
        &mut self,
        method: Method,
        path: &'static str,
        body: Bytes,
    ) -> Result<(http::response::Parts, Bytes), RuntimeError> {
        let response = self.send(method, path, body).await?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|err| RuntimeError::transport(self.addr, path, std::io::Error::other(err)))?
            .to_bytes();
        Ok((parts, body))
    }

    /// Posts a body and logs a non-2xx answer (the host refused it); never fails the loop
    /// for that reason, only for transport errors.
    pub(crate) async fn post(
        &mut self,
        path: &'static str,
        body: Bytes,
    ) -> Result<(), RuntimeError> {
        let (parts, answer) = self.call(Method::POST, path, body).await?;
        if !parts.status.is_success() {
            ::tracing::warn!(
                status = parts.status.as_u16(),
                path,
                answer = %String::from_utf8_lossy(&answer),
                "the runtime API refused a post"
            );
        }
        Ok(())
    }
}
