//! An axum `Router` that runs unchanged as an SCF event function behind an API gateway trigger
//! and as a web function.
//!
//! Run it under a host: `cargo run -p scf-runtime-server -- serve` hosts it as `apigw-axum`
//! (event function, API gateway path `/axum`) and `apigw-axum-web` (web function), then
//! `curl http://127.0.0.1:9000/axum/hello/world` or `curl http://127.0.0.1:9000/fn/apigw-axum-web/hello/world`.
//! Alone, `PORT=8080 cargo run -p example-apigw-axum` serves it on `0.0.0.0:8080` (web mode).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// The routes, mounted under `/axum` (the API gateway path) and at the root.
fn router() -> Router {
    let routes = Router::new()
        .route("/hello/{name}", get(hello))
        .route("/echo", post(echo))
        .route("/download", get(download))
        .route("/upload", post(upload))
        .route("/query", get(query))
        .route("/cookies", get(cookies))
        .route("/fail", get(fail))
        .route("/panic", get(panic_route));
    Router::new().nest("/axum", routes.clone()).merge(routes)
}

/// `GET /hello/{name}`: a greeting in plain text.
async fn hello(Path(name): Path<String>) -> String {
    format!("Hello, {name}!")
}

/// `POST /echo`: the JSON body back, wrapped.
async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(json!({ "echo": body }))
}

/// The 256 bytes `0, 1, …, 255`: what `GET /download` sends.
fn download_bytes() -> Vec<u8> {
    (0..=255).collect()
}

/// `GET /download`: binary bytes.
async fn download() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        download_bytes(),
    )
}

/// `POST /upload`: the uploaded bytes back, reversed, as binary (so a test sees both directions).
async fn upload(body: Bytes) -> impl IntoResponse {
    let mut bytes = body.to_vec();
    bytes.reverse();
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes)
}

/// `GET /query`: the raw query string as the router saw it.
async fn query(RawQuery(query): RawQuery) -> Json<Value> {
    Json(json!({ "query": query }))
}

/// `GET /cookies`: one header with two values.
async fn cookies() -> Response {
    let mut headers = HeaderMap::new();
    headers.append(header::SET_COOKIE, "a=1; Path=/".parse().expect("valid"));
    headers.append(header::SET_COOKIE, "b=2; Path=/".parse().expect("valid"));
    (headers, "two cookies").into_response()
}

/// `GET /fail`: an HTTP error answer (a valid response with status 500).
async fn fail() -> impl IntoResponse {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "error": "something went wrong" })),
    )
}

/// `GET /panic`: the handler panics; as an event function that is a function error.
async fn panic_route() -> &'static str {
    panic!("the /panic route always panics")
}

/// API Gateway / Function URL events to `http` requests for the router, and its responses to
/// integrated responses.
mod event_mode {
    use axum::body::Body;
    use axum::http::{HeaderName, HeaderValue, Method, Request};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use http_body_util::BodyExt as _;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    use serde_json::{Map, Value, json};
    use tower::ServiceExt as _;

    /// The query string rebuilt from `queryString`: an array repeats the key, `true` is a bare key.
    pub(crate) fn query_of(event: &Value) -> String {
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let mut parts = Vec::new();
        if let Some(map) = event["queryString"].as_object() {
            for (key, value) in map {
                match value {
                    Value::Array(list) => {
                        for v in list {
                            parts.push(format!("{}={}", enc(key), enc(v.as_str().unwrap_or(""))));
                        }
                    }
                    Value::String(v) => parts.push(format!("{}={}", enc(key), enc(v))),
                    _ => parts.push(enc(key)),
                }
            }
        }
        parts.join("&")
    }

    /// The request the router sees for an API Gateway or Function URL event.
    pub(crate) fn request_of(event: &Value) -> Result<Request<Body>, scf::Error> {
        let method = Method::from_bytes(event["httpMethod"].as_str().unwrap_or("GET").as_bytes())?;
        let path = event["path"].as_str().unwrap_or("/");
        let query = query_of(event);
        let uri = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(headers) = event["headers"].as_object() {
            for (name, value) in headers {
                if let Some(value) = value.as_str() {
                    request = request.header(name.as_str(), value);
                }
            }
        }
        let flagged = matches!(&event["isBase64Encoded"], Value::Bool(true))
            || event["isBase64Encoded"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("true"));
        let body = match event["body"].as_str() {
            None => Vec::new(),
            Some(b) if flagged => BASE64.decode(b)?,
            Some(b) => b.as_bytes().to_vec(),
        };
        Ok(request.body(Body::from(body))?)
    }

    fn is_text(content_type: Option<&HeaderValue>) -> bool {
        let ct = content_type
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        ct.starts_with("text/")
            || ct.starts_with("application/json")
            || ct.starts_with("application/javascript")
            || ct.starts_with("application/xml")
            || ct.contains("+json")
            || ct.contains("+xml")
    }

    /// The event handler: runs the router on the event and answers an integrated response.
    pub(crate) async fn handle(event: Value, _ctx: scf::Context) -> Result<Value, scf::Error> {
        let request = request_of(&event)?;
        let response = super::router().oneshot(request).await?;
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await?.to_bytes();
        let mut headers: Map<String, Value> = Map::new();
        for name in parts.headers.keys() {
            let values: Vec<Value> = parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let key = HeaderName::as_str(name).to_owned();
            headers.insert(
                key,
                if values.len() == 1 {
                    values[0].clone()
                } else {
                    Value::Array(values)
                },
            );
        }
        let text = is_text(parts.headers.get(axum::http::header::CONTENT_TYPE))
            .then(|| std::str::from_utf8(&bytes).ok())
            .flatten();
        let (body, base64) = match text {
            Some(t) => (t.to_owned(), false),
            None => (BASE64.encode(&bytes), !bytes.is_empty()),
        };
        Ok(json!({
            "isBase64Encoded": base64,
            "statusCode": parts.status.as_u16(),
            "headers": headers,
            "body": body,
        }))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("SCF_RUNTIME_API").is_some() {
        // Event function: API gateway / Function URL events in, integrated responses out.
        scf::tracing::init_default_subscriber();
        scf::run(scf::service_fn(event_mode::handle)).await?;
    } else {
        // Web function: a plain HTTP server on the port the platform gives.
        let port = std::env::var("PORT").unwrap_or_else(|_| "9000".to_owned());
        let listener = tokio::net::TcpListener::bind(format!("0.0.0.0:{port}")).await?;
        axum::serve(listener, router()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    async fn call(request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = router().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    #[tokio::test]
    async fn routes_answer_under_both_prefixes() {
        for uri in ["/hello/ann", "/axum/hello/ann"] {
            let (status, _, body) = call(Request::get(uri).body(Body::empty()).unwrap()).await;
            assert_eq!(status, 200);
            assert_eq!(body, b"Hello, ann!");
        }
        let (_, headers, body) = call(Request::get("/download").body(Body::empty()).unwrap()).await;
        assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
        assert_eq!(body, download_bytes());
        let (_, headers, _) = call(Request::get("/cookies").body(Body::empty()).unwrap()).await;
        assert_eq!(headers.get_all(header::SET_COOKIE).iter().count(), 2);
        let (status, _, _) = call(Request::get("/fail").body(Body::empty()).unwrap()).await;
        assert_eq!(status, 500);
    }

    #[tokio::test]
    async fn events_run_through_the_router() {
        let event = json!({
            "httpMethod": "GET",
            "path": "/axum/hello/fixture",
            "headers": {"host": "example"},
            "queryString": {"tag": ["a", "b"], "debug": true},
            "requestContext": {"path": "/axum", "stage": "release"},
        });
        let query = event_mode::query_of(&event);
        let mut parts: Vec<&str> = query.split('&').collect();
        parts.sort();
        assert_eq!(parts, ["debug", "tag=a", "tag=b"]);
        let reply = event_mode::handle(event, scf::Context::default())
            .await
            .unwrap();
        assert_eq!(reply["statusCode"], 200);
        assert_eq!(reply["body"], "Hello, fixture!");
        let download =
            json!({"httpMethod": "GET", "path": "/download", "headers": {}, "queryString": {}});
        let reply = event_mode::handle(download, scf::Context::default())
            .await
            .unwrap();
        assert_eq!(reply["isBase64Encoded"], true);
        let cookies =
            json!({"httpMethod": "GET", "path": "/cookies", "headers": {}, "queryString": {}});
        let reply = event_mode::handle(cookies, scf::Context::default())
            .await
            .unwrap();
        assert_eq!(
            reply["headers"]["set-cookie"],
            json!(["a=1; Path=/", "b=2; Path=/"])
        );
    }
}
