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
use scf::events::IntegratedResponse;
use scf::events::http::{HttpEvent, call_service};
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

/// The event handler: an API Gateway or Function URL event through the router (the `http`
/// adapter of `scf::events`), answered as an integrated response.
async fn handle(event: HttpEvent, _ctx: scf::Context) -> Result<IntegratedResponse, scf::Error> {
    Ok(call_service(&mut router(), event).await?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("SCF_RUNTIME_API").is_some() {
        // Event function: API gateway / Function URL events in, integrated responses out.
        scf::tracing::init_default_subscriber();
        scf::run(scf::service_fn(handle)).await?;
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

    /// A bundled fixture, re-pointed at one of the router's routes (`"POST /upload"`).
    fn fixture(name: &str, route: &str) -> HttpEvent {
        let raw = scf::events::fixtures::get(name).expect("the fixture is bundled");
        let mut event: Value = serde_json::from_str(raw).unwrap();
        let (method, path) = route.split_once(' ').unwrap();
        event["httpMethod"] = Value::String(method.to_owned());
        event["path"] = Value::String(path.to_owned());
        serde_json::from_value(event).unwrap()
    }

    #[tokio::test]
    async fn bundled_api_gateway_fixtures_run_through_the_router() {
        // Repeated (`tag`) and value-less (`debug`) query keys come back in the rebuilt query.
        let reply = handle(
            fixture("apigw-get", "GET /axum/query"),
            scf::Context::default(),
        )
        .await
        .unwrap();
        assert_eq!(reply.status_code, 200);
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        let query = body["query"].as_str().unwrap().to_owned();
        for part in ["tag=red", "tag=blue", "debug", "page=2"] {
            assert!(query.split('&').any(|p| p == part), "{part} not in {query}");
        }

        let reply = handle(
            fixture("apigw-post-json", "POST /echo"),
            scf::Context::default(),
        )
        .await
        .unwrap();
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["echo"]["item"], "book");

        // A binary upload (base64 in the event) comes back reversed, base64 again.
        let reply = handle(
            fixture("apigw-base64-bool", "POST /upload"),
            scf::Context::default(),
        )
        .await
        .unwrap();
        assert_eq!(reply.status_code, 200);
        assert!(reply.is_base64_encoded);

        let reply = handle(
            fixture("function-url-get", "GET /cookies"),
            scf::Context::default(),
        )
        .await
        .unwrap();
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!(
            json["headers"]["Set-Cookie"],
            json!(["a=1; Path=/", "b=2; Path=/"])
        );
    }
}
