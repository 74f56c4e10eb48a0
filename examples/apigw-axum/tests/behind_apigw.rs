//! The example as a real event bootstrap behind the server's API gateway and Function URL
//! triggers: HTTP request -> API Gateway event -> the bootstrap (under the mock runtime API, which
//! stands in for the server's scheduler) -> the router -> integrated response -> HTTP answer.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{HeaderMap, Request, StatusCode};
use scf::testing::MockApi;
use scf_runtime_server::config::{ApigwRoute, ApigwTriggerConfig};
use scf_runtime_server::host::Invoker;
use scf_runtime_server::triggers::HttpTriggers;
use scf_runtime_server::{Fault, InvokeError};
use serde_json::{Value, json};

/// Kills the bootstrap by PID when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One bootstrap instance under the mock runtime API, one event at a time.
#[derive(Clone)]
struct OneInstance {
    mock: MockApi,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl Invoker for OneInstance {
    async fn invoke(&self, _function: &str, payload: Bytes) -> Result<Bytes, InvokeError> {
        let _turn = self.turn.lock().await;
        self.mock.push_event(payload);
        let outcome = tokio::time::timeout(Duration::from_secs(10), self.mock.next_outcome())
            .await
            .map_err(|_| Fault::Timeout.error("no answer within 10 s"))?;
        if outcome.is_error() {
            // As the host does with a posted error.
            return Err(InvokeError::from_function(outcome.body()));
        }
        Ok(outcome.body().clone())
    }

    async fn invoke_async(&self, _: &str, _: Bytes) -> Result<String, InvokeError> {
        Err(Fault::Internal.error("not used here"))
    }
}

async fn serve(triggers: HttpTriggers<OneInstance>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let triggers = Arc::new(triggers);
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let triggers = triggers.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let triggers = triggers.clone();
                    async move {
                        let response = triggers.handle(request, peer).await;
                        Ok::<_, std::convert::Infallible>(response.map(Full::new))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> (StatusCode, HeaderMap, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap();
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (
            parts.status,
            parts.headers,
            body.collect().await.unwrap().to_bytes(),
        )
    };
    tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .expect("an answer within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_answers_api_gateway_and_function_url_requests() {
    let mock = MockApi::start().await;
    let _bootstrap = Guard(
        Command::new(env!("CARGO_BIN_EXE_example-apigw-axum"))
            .env_clear()
            .envs(mock.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the bootstrap starts"),
    );
    let invoker = OneInstance {
        mock,
        turn: Arc::default(),
    };
    let triggers = HttpTriggers::new(invoker)
        .with_apigw(ApigwRoute::new("axum", &ApigwTriggerConfig::new("/axum")).unwrap())
        .with_function_url("axum");
    let addr = serve(triggers).await;

    // GET with a path parameter inside the router.
    let (status, headers, body) = send(addr, "GET", "/axum/hello/world", "text/plain", "").await;
    assert_eq!(status, 200, "{body:?}");
    assert_eq!(body, "Hello, world!");
    assert!(headers.contains_key("x-api-requestid"));

    // POST JSON.
    let (status, _, body) = send(
        addr,
        "POST",
        "/axum/echo",
        "application/json",
        r#"{"n":[1,2]}"#,
    )
    .await;
    assert_eq!(status, 200, "{body:?}");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"echo": {"n": [1, 2]}})
    );

    // Binary upload and download: base64 inside both events, raw bytes on the wire.
    let upload: Vec<u8> = (0..=255u8).chain([0xff, 0x00, 0xfe]).collect();
    let (status, headers, body) = send(
        addr,
        "POST",
        "/axum/upload",
        "application/octet-stream",
        upload.clone(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/octet-stream");
    let mut reversed = upload;
    reversed.reverse();
    assert_eq!(body.to_vec(), reversed);
    let (_, _, body) = send(addr, "GET", "/axum/download", "text/plain", "").await;
    assert_eq!(body.to_vec(), (0..=255u8).collect::<Vec<_>>());

    // Repeated and value-less query keys survive event -> request.
    let (_, _, body) = send(
        addr,
        "GET",
        "/axum/query?tag=a&tag=b&debug",
        "text/plain",
        "",
    )
    .await;
    let query = serde_json::from_slice::<Value>(&body).unwrap()["query"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut parts: Vec<&str> = query.split('&').collect();
    parts.sort();
    assert_eq!(parts, ["debug", "tag=a", "tag=b"]);

    // Multi-value response headers.
    let (_, headers, _) = send(addr, "GET", "/axum/cookies", "text/plain", "").await;
    let cookies: Vec<_> = headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);

    // An HTTP error from the router is a valid answer; a panic is a function error.
    let (status, _, _) = send(addr, "GET", "/axum/fail", "text/plain", "").await;
    assert_eq!(status, 500);
    let (status, _, body) = send(addr, "GET", "/axum/panic", "text/plain", "").await;
    assert_eq!(status, 502);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["code"], 430);
    assert!(
        error["message"].as_str().unwrap().contains("panic"),
        "{error}"
    );
    assert_eq!(error["function_error"]["errorType"], "Panic", "{error}");

    // Too big for a synchronous event: refused before the function sees it.
    let big = vec![b'a'; 6 * 1024 * 1024 + 1];
    let (status, _, _) = send(addr, "POST", "/axum/echo", "application/json", big).await;
    assert_eq!(status, 413);

    // The function URL reaches the same router at the function-relative path; and the instance
    // still serves after the panic.
    let (status, _, body) = send(addr, "GET", "/fn/axum/hello/url", "text/plain", "").await;
    assert_eq!(status, 200, "{body:?}");
    assert_eq!(body, "Hello, url!");
}
