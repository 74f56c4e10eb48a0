//! One HTTP/1 request to a Cloud API endpoint: HTTPS (rustls with Mozilla's roots) for Tencent
//! Cloud, plain HTTP for a local `cargo scf serve`.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;

use crate::cli::ToolError;

/// Tencent Cloud's SCF endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://scf.tencentcloudapi.com";

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one request may take, upload included (a 20 MB zip is ~27 MB of base64).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// A Cloud API endpoint: `https://host[:port]` or `http://host[:port]`, requests to `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    tls: bool,
    host: String,
    port: u16,
}

impl Endpoint {
    /// Parses `--endpoint` (or `[deploy] endpoint`).
    pub fn parse(url: &str) -> Result<Endpoint, ToolError> {
        let bad = |why: &str| ToolError::new(format!("endpoint `{url}` {why}"));
        let uri: http::Uri = url
            .trim()
            .parse()
            .map_err(|e| bad(&format!("is not a URL: {e}")))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(bad(
                    "must start with https:// (or http:// for a local server)",
                ));
            }
        };
        if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
            return Err(bad(
                "must have no path: the Cloud API is POST / on the host",
            ));
        }
        let host = uri
            .host()
            .ok_or_else(|| bad("has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Endpoint {
            url: url.trim().trim_end_matches('/').to_owned(),
            tls,
            host,
            port,
        })
    }

    /// Whether the host is this machine (`localhost`, 127.0.0.0/8, `::1`): only then may
    /// requests go unsigned.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// The `Host` header: the host, and the port when it is not the scheme's.
    pub(crate) fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Sends `POST /` with `headers` and `body`; gives the status and the whole body.
    pub(crate) async fn post(
        &self,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), String> {
        let mut request = http::Request::builder().method("POST").uri("/");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request
            .header(http::header::HOST, self.host_header())
            .body(Full::new(body))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| format!("cannot connect to {self}: no answer within {CONNECT_TIMEOUT:?}"))?
        .map_err(|e| format!("cannot connect to {self}: {e}"))?;
        let exchange = async {
            if self.tls {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| format!("{}: not a TLS server name: {e}", self.host))?;
                let stream = tokio_rustls::TlsConnector::from(tls_config())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS handshake with {self} failed: {e}"))?;
                exchange(stream, request).await
            } else {
                exchange(tcp, request).await
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{self} did not answer within {REQUEST_TIMEOUT:?}"))?
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

async fn exchange<S>(
    stream: S,
    request: http::Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("the request failed: {e}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
            .to_bytes();
        Ok((status, body))
    }
    .await;
    connection.abort();
    result
}

/// The TLS client settings, made once: ring's TLS 1.2/1.3 with Mozilla's root certificates.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            // ring rather than aws-lc-rs keeps the build free of aws-lc's C toolchain; rustls
            // deprecates it only for lacking post-quantum key exchange, which these API calls
            // (short-lived, signed requests) do without.
            #[allow(deprecated)]
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(config)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_their_host_header_and_loopback_flag() {
        let cloud = Endpoint::parse(DEFAULT_ENDPOINT).unwrap();
        assert_eq!(cloud.host_header(), "scf.tencentcloudapi.com");
        assert!(!cloud.is_loopback());
        let local = Endpoint::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(local.host_header(), "127.0.0.1:9000");
        assert!(local.is_loopback());
        assert_eq!(local.to_string(), "http://127.0.0.1:9000");
        let v6 = Endpoint::parse("http://[::1]:9000").unwrap();
        assert_eq!(v6.host_header(), "[::1]:9000");
        assert!(v6.is_loopback());
        assert!(Endpoint::parse("http://localhost:1").unwrap().is_loopback());
        assert!(!Endpoint::parse("http://10.0.0.1:1").unwrap().is_loopback());
        for bad in [
            "ftp://x",
            "scf.tencentcloudapi.com",
            "http://x/path",
            "https://",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_tls_settings_build() {
        assert_eq!(tls_config().alpn_protocols, [b"http/1.1".to_vec()]);
    }
}
