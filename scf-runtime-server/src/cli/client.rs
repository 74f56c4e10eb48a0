//! The CLI's one client to a running `cargo scf serve`: `cargo scf invoke` posts invocations through it,
//! `cargo scf events` and `cargo scf dlq` call the `/async…` routes.
//!
//! A [`ServerUrl`] is parsed once (`http://host:port/prefix`, IPv6 hosts in brackets); its
//! [`connect`](ServerUrl::connect) gives a [`ServerClient`], one HTTP/1 connection whose
//! requests go under the URL's path prefix with `Host` set, and `Authorization: Bearer` when a
//! token is known (`SCF_SERVE_TOKEN`, or `[server] token` of the config the server was found
//! in).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;

use super::ToolError;

/// A server's URL: the text as given, and its parts.
#[derive(Debug, Clone)]
pub(crate) struct ServerUrl {
    url: String,
    host: String,
    port: u16,
    /// The URL's path, without a trailing `/`: requests go under it.
    prefix: String,
    /// The bearer token sent with every request (`SCF_SERVE_TOKEN`, else the config's
    /// `[server] token`), when the server requires one.
    token: Option<String>,
}

impl ServerUrl {
    /// Parses an `http://` URL (the `--remote` option, or one made from a config's address).
    pub(crate) fn parse(url: &str) -> Result<ServerUrl, ToolError> {
        let base: http::Uri = url
            .parse()
            .map_err(|e| ToolError::new(format!("--remote `{url}` is not a URL: {e}")))?;
        if base.scheme_str().is_some_and(|s| s != "http") {
            return Err(ToolError::new(format!(
                "--remote `{url}`: only http:// is supported (cargo scf serve speaks plain HTTP)"
            )));
        }
        let host = base
            .host()
            .ok_or_else(|| ToolError::new(format!("--remote `{url}` has no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(ServerUrl {
            url: url.to_owned(),
            host,
            port: base.port_u16().unwrap_or(80),
            prefix: base.path().trim_end_matches('/').to_owned(),
            token: std::env::var(crate::config::ENV_TOKEN)
                .ok()
                .filter(|t| !t.is_empty()),
        })
    }

    /// Sends `token` (a config's `[server] token`) unless `SCF_SERVE_TOKEN` gave one.
    pub(crate) fn with_token(mut self, token: Option<String>) -> ServerUrl {
        if self.token.is_none() {
            self.token = token;
        }
        self
    }

    /// `host:port` (brackets around an IPv6 host).
    pub(crate) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Connects, waiting at most `within` for the server to accept.
    pub(crate) async fn connect(&self, within: Duration) -> Result<ServerClient, ConnectError> {
        let stream = tokio::time::timeout(
            within,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| ConnectError::TimedOut(within))?
        .map_err(ConnectError::Io)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(ConnectError::Handshake)?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(ServerClient {
            url: self.clone(),
            sender,
        })
    }
}

impl fmt::Display for ServerUrl {
    /// The URL as it was given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Why no connection was made.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The TCP connect failed.
    Io(std::io::Error),
    /// Nothing accepted the connection in time.
    TimedOut(Duration),
    /// The HTTP/1 handshake failed.
    Handshake(hyper::Error),
}

impl ConnectError {
    /// Whether nothing listens at the address (so a one-shot run may stand in for a server).
    pub(crate) fn nothing_listens(&self) -> bool {
        matches!(
            self,
            ConnectError::Io(e) if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            )
        )
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Io(e) => e.fmt(f),
            ConnectError::TimedOut(within) => write!(
                f,
                "the connection was not accepted within {} s",
                within.as_secs_f64()
            ),
            ConnectError::Handshake(e) => e.fmt(f),
        }
    }
}

/// One HTTP/1 connection to a server.
#[derive(Debug)]
pub(crate) struct ServerClient {
    url: ServerUrl,
    sender: SendRequest<Full<Bytes>>,
}

/// A server's answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body.
    pub(crate) body: Bytes,
}

impl Answer {
    /// A header's value, when it is text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why a request got no answer.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The request could not be built (a bad header value).
    Build(http::Error),
    /// The server failed before answering.
    Request(hyper::Error),
    /// The answer's body could not be read.
    Body(hyper::Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Build(e) => write!(f, "cannot build the request: {e}"),
            SendError::Request(e) | SendError::Body(e) => e.fmt(f),
        }
    }
}

impl ServerClient {
    /// The server's URL.
    pub(crate) fn url(&self) -> &ServerUrl {
        &self.url
    }

    /// A request to `path` (under the URL's prefix) with `Host` and
    /// `Content-Type: application/json` set; add headers, then [`send`](Self::send) it.
    pub(crate) fn request(&self, method: Method, path: &str) -> http::request::Builder {
        let builder = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url.prefix))
            .header(http::header::HOST, self.url.authority())
            .header(http::header::CONTENT_TYPE, "application/json");
        match &self.url.token {
            Some(token) => builder.header(http::header::AUTHORIZATION, format!("Bearer {token}")),
            None => builder,
        }
    }

    /// Sends `request` with `body` and reads the whole answer.
    pub(crate) async fn send(
        &mut self,
        request: http::request::Builder,
        body: impl Into<Bytes>,
    ) -> Result<Answer, SendError> {
        let request = request
            .body(Full::new(body.into()))
            .map_err(SendError::Build)?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(SendError::Request)?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(SendError::Body)?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_prefix_and_bracket_ipv6() {
        let url = ServerUrl::parse("http://127.0.0.1:9100/scf/").unwrap();
        assert_eq!(url.authority(), "127.0.0.1:9100");
        assert_eq!(url.prefix, "/scf");
        assert_eq!(url.to_string(), "http://127.0.0.1:9100/scf/");
        let url = ServerUrl::parse("http://[::1]:9000").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 9000));
        assert_eq!(url.authority(), "[::1]:9000");
        assert_eq!(url.prefix, "");
        assert_eq!(
            ServerUrl::parse("http://localhost").unwrap().authority(),
            "localhost:80"
        );
        let err = ServerUrl::parse("https://example.com").unwrap_err();
        assert!(err.to_string().contains("only http://"), "{err}");
        assert!(ServerUrl::parse("/no/host").is_err());
    }

    #[tokio::test]
    async fn a_closed_port_is_nothing_listening() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = ServerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = url.connect(Duration::from_secs(5)).await.unwrap_err();
        assert!(err.nothing_listens(), "{err}");
    }
}
