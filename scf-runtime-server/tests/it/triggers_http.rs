//! The HTTP triggers over real sockets: a hyper listener whose every request goes to
//! `HttpTriggers::handle`, with `example-apigw-axum` hosted as a web function by a [`Host`] behind
//! an API gateway route and a function URL, and event routes answered by a scripted invoker
//! (malformed replies, function errors, timeouts).

use crate::support::host::send;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use scf_runtime_server::config::{ApigwRoute, ApigwTriggerConfig};
use scf_runtime_server::fault::{Fault, InvokeError};
use scf_runtime_server::host::Invoker;
use scf_runtime_server::triggers::HttpTriggers;
use scf_runtime_server::{Config, Host};
use serde_json::{Value, json};

/// Builds `example-apigw-axum` into this test's target dir and returns its path.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "example-apigw-axum"])
        .env("CARGO_TARGET_DIR", debug_dir.parent().unwrap())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building example-apigw-axum failed");
    debug_dir.join("example-apigw-axum")
}

/// Answers each event function by name; web requests go to the host.
#[derive(Clone)]
struct Scripted(Host);

impl Invoker for Scripted {
    async fn invoke(&self, function: &str, payload: Bytes) -> Result<Bytes, InvokeError> {
        let event: Value = serde_json::from_slice(&payload).unwrap();
        match function {
            "reflect" => Ok(Bytes::from(
                json!({"statusCode": 200, "isBase64Encoded": false, "body": event.to_string()})
                    .to_string(),
            )),
            "junk" => Ok(Bytes::from_static(
                b"<html>not an integrated response</html>",
            )),
            "crash" => Err(Fault::ProcessExit.error("the process exited")),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(Bytes::from_static(b"{}"))
            }
            other => Err(Fault::FunctionNotFound.error(format!("no function {other}"))),
        }
    }

    async fn invoke_async(&self, _: &str, _: Bytes) -> Result<String, InvokeError> {
        Err(Fault::Internal.error("not used"))
    }

    async fn invoke_web(
        &self,
        function: &str,
        request: Request<Bytes>,
        request_id: &str,
    ) -> Result<http::Response<Bytes>, InvokeError> {
        self.0.invoke_web(function, request, request_id).await
    }
}

async fn serve(triggers: HttpTriggers<Scripted>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let triggers = Arc::new(triggers);
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                return;
            };
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

fn request(
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap()
}

fn get(path: &str) -> Request<Full<Bytes>> {
    request("GET", path, "text/plain", Bytes::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_triggers_over_real_sockets() {
    let dir = std::env::temp_dir();
    let text = format!(
        "[functions.axum-web]\ntype = \"web\"\nbootstrap = \"{}\"\nmax_instances = 2\nmax_concurrency = 25\ninit_timeout_s = 10\n",
        example_binary().display()
    );
    let config = Config::parse(&text, &dir.join("scf.toml"), &dir).unwrap();
    let host = Host::new(&config).unwrap();
    host.start();
    let web_instances = |host: &Host| host.status()[0].instances.len();
    let mut reflect = ApigwTriggerConfig::new("/users/{id}");
    reflect.methods = vec!["GET".into(), "POST".into()];
    reflect.query_parameters = vec!["lang".into()];
    let mut slow = ApigwTriggerConfig::new("/slow");
    slow.timeout_s = Some(1);
    let triggers = HttpTriggers::new(Scripted(host.clone()))
        .with_web_function("axum-web")
        .with_apigw(ApigwRoute::new("axum-web", &ApigwTriggerConfig::new("/axum")).unwrap())
        .with_function_url("axum-web")
        .with_apigw(ApigwRoute::new("reflect", &reflect).unwrap())
        .with_apigw(ApigwRoute::new("junk", &ApigwTriggerConfig::new("/junk")).unwrap())
        .with_apigw(ApigwRoute::new("crash", &ApigwTriggerConfig::new("/crash")).unwrap())
        .with_apigw(ApigwRoute::new("slow", &slow).unwrap());
    let addr = serve(triggers).await;

    // The web function behind the API gateway route: the full path reaches the router.
    let r = send(addr, get("/axum/hello/web")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, "Hello, web!");
    let r = send(
        addr,
        request("POST", "/axum/echo", "application/json", r#"{"k":"v"}"#),
    )
    .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        json!({"echo": {"k": "v"}})
    );
    let upload: Vec<u8> = (0..=255u8).rev().collect();
    let r = send(
        addr,
        request("POST", "/axum/upload", "application/octet-stream", upload),
    )
    .await;
    assert_eq!(r.body.to_vec(), (0..=255u8).collect::<Vec<_>>());
    let r = send(addr, get("/axum/download")).await;
    assert_eq!(r.body.to_vec(), (0..=255u8).collect::<Vec<_>>());
    let r = send(addr, get("/axum/cookies")).await;
    assert_eq!(r.headers.get_all("set-cookie").iter().count(), 2);
    let r = send(addr, get("/axum/query?a=1&a=2&flag")).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        json!({"query": "a=1&a=2&flag"})
    );
    // Through the function URL, at the function-relative path.
    let r = send(addr, get("/fn/axum-web/hello/url")).await;
    assert_eq!(r.body, "Hello, url!");
    // Concurrent requests share the instances.
    let tasks: Vec<_> = (0..50)
        .map(|i| tokio::spawn(send(addr, get(&format!("/axum/hello/{i}")))))
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let r = task.await.unwrap();
        assert_eq!(r.body, format!("Hello, {i}!"));
    }
    assert!(web_instances(&host) <= 2);

    // Event routes: the event as built, malformed replies, function errors, gateway timeouts.
    let r = send(addr, get("/users/7?lang=en&x&x=1")).await;
    assert_eq!(r.status, 200);
    let event: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(event["pathParameters"], json!({"id": "7"}));
    assert_eq!(event["queryString"], json!({"lang": "en", "x": ["", "1"]}));
    assert_eq!(event["queryStringParameters"], json!({"lang": "en"}));
    assert_eq!(event["requestContext"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["httpMethod"], "ANY");
    // The gateway's own errors have the server's error shape: code, error, message; no errno.
    let r = send(addr, get("/users")).await;
    assert_eq!(r.status, 404);
    let body = serde_json::from_slice::<Value>(&r.body).unwrap();
    assert_eq!(body["code"], 404, "{body}");
    assert_eq!(body["error"], "NotFound", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("/users"),
        "{body}"
    );
    assert!(body.get("errno").is_none(), "{body}");
    assert_eq!(
        send(addr, request("PUT", "/users/7", "text/plain", ""))
            .await
            .status,
        405
    );
    let r = send(addr, get("/junk")).await;
    assert_eq!(r.status, 502);
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap()["errno"],
        403
    );
    let r = send(addr, get("/crash")).await;
    assert_eq!(r.status, 502);
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap()["code"],
        439
    );
    let r = send(addr, get("/slow")).await;
    assert_eq!(r.status, 504);
    let big = vec![b'x'; 6 * 1024 * 1024 + 1];
    let r = send(addr, request("POST", "/axum/echo", "application/json", big)).await;
    assert_eq!(r.status, 413);

    host.shutdown(Duration::from_secs(1)).await;
    assert_eq!(web_instances(&host), 0);
}
