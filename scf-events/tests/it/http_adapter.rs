//! The `http` adapter: events to `http::Request`, `http::Response` to integrated responses, and an
//! axum `Router` answering API Gateway and Function URL events through `call_service`.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use scf_events::IntegratedResponse;
use scf_events::apigw::ApiGatewayRequest;
use scf_events::function_url::FunctionUrlRequest;
use scf_events::http::{Body, HttpEvent, RequestExt, call_service, is_text_content_type};
use serde_json::{Value, json};

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

async fn body_of(request: Request<Body>) -> Vec<u8> {
    request
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[test]
fn gateway_event_becomes_a_request_with_its_context_in_extensions() {
    let event: ApiGatewayRequest = fixture("apigw-get");
    let request = event.into_http_request().unwrap();
    assert_eq!(request.method(), http::Method::GET);
    assert_eq!(request.uri(), "/test/value?debug&page=2&tag=red&tag=blue");
    assert_eq!(
        request.headers()["x-api-requestid"],
        "24281851d905b02add0ec7b1f4d73a6d"
    );
    assert_eq!(request.headers()["X-Qualifier"], "$LATEST");
    let ctx = request.request_context().unwrap();
    assert_eq!(ctx.stage, "release");
    assert_eq!(ctx.path, "/test/{path}");
    assert_eq!(request.path_parameters().unwrap()["path"], "value");
    assert!(request.query_string_parameters().unwrap().is_empty());
    assert!(request.header_parameters().unwrap().is_empty());
    assert!(request.stage_variables().is_none());
    assert!(block_on(body_of(request)).is_empty());

    let request = fixture::<ApiGatewayRequest>("apigw-post-json")
        .into_http_request()
        .unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.stage_variables().unwrap()["db"], "orders-test");
    assert_eq!(request.header_parameters().unwrap()["X-Trace"], "abc123");
    let body: Value = serde_json::from_slice(&block_on(body_of(request))).unwrap();
    assert_eq!(body["item"], "book");
}

#[test]
fn flagged_bodies_are_decoded() {
    let request = fixture::<ApiGatewayRequest>("apigw-base64-bool")
        .into_http_request()
        .unwrap();
    let bytes = block_on(body_of(request));
    assert_eq!(&bytes[..4], b"\x89PNG");
    let request = fixture::<ApiGatewayRequest>("apigw-base64-string-flag")
        .into_http_request()
        .unwrap();
    assert_eq!(request.uri(), "/upload?dry_run=");
    assert_eq!(block_on(body_of(request)), b"name,qty\nbook,2\n");
}

#[test]
fn function_url_event_becomes_a_request() {
    let request = fixture::<FunctionUrlRequest>("function-url-post")
        .into_http_request()
        .unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), "/");
    assert_eq!(request.headers()["x-scf-remote-addr"], "203.0.113.9");
    assert!(request.request_context().is_none());
    assert_eq!(block_on(body_of(request)), br#"{"hello":"world"}"#);
}

#[test]
fn odd_paths_are_encoded_and_bad_events_are_errors() {
    let event: FunctionUrlRequest = serde_json::from_value(json!({
        "headers": {}, "httpMethod": "GET", "path": "/a b/ü/100%25", "queryString": {"q": "a&b"}
    }))
    .unwrap();
    let request = event.into_http_request().unwrap();
    assert_eq!(request.uri(), "/a%20b/%C3%BC/100%25?q=a%26b");

    let empty = FunctionUrlRequest::default().into_http_request().unwrap();
    assert_eq!(
        (empty.method(), empty.uri().to_string().as_str()),
        (&http::Method::GET, "/")
    );

    for (event, expected) in [
        (
            json!({"headers": {}, "httpMethod": "GE T", "path": "/", "queryString": {}}),
            "`httpMethod`",
        ),
        (
            json!({"headers": {"bad name": "x"}, "httpMethod": "GET", "path": "/", "queryString": {}}),
            "header name",
        ),
        (
            json!({"headers": {"a": "x\u{1}"}, "httpMethod": "GET", "path": "/", "queryString": {}}),
            "header a",
        ),
        (
            json!({"headers": {}, "httpMethod": "GET", "path": "/", "queryString": {}, "body": "%%", "isBase64Encoded": true}),
            "base64",
        ),
    ] {
        let event: FunctionUrlRequest = serde_json::from_value(event).unwrap();
        let err = event.into_http_request().unwrap_err();
        assert!(err.is_event(), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn http_events_tell_the_two_triggers_apart() {
    let e: HttpEvent = fixture("apigw-get");
    assert!(matches!(e, HttpEvent::ApiGateway(_)));
    let e: HttpEvent = fixture("function-url-get");
    assert!(matches!(e, HttpEvent::FunctionUrl(_)));
    let input: Value = fixture("function-url-get");
    assert_eq!(serde_json::to_value(&e).unwrap(), input);
}

fn response(content_type: Option<&str>, body: &[u8]) -> IntegratedResponse {
    let mut builder = Response::builder().status(StatusCode::CREATED);
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    IntegratedResponse::from(builder.body(body.to_vec()).unwrap())
}

#[test]
fn responses_are_text_or_base64_by_content_type() {
    let r = response(Some("text/plain; charset=utf-8"), b"hi");
    assert_eq!(
        (r.status_code, r.is_base64_encoded, r.body.as_str()),
        (201, false, "hi")
    );
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert!(r.headers.contains_key("Content-Type"), "{:?}", r.headers);
    for ct in [
        "application/json",
        "application/problem+json",
        "application/xml",
        "image/svg+xml",
        "text/csv",
        "application/javascript",
    ] {
        assert!(!response(Some(ct), b"{}").is_base64_encoded, "{ct}");
        assert!(is_text_content_type(ct), "{ct}");
    }
    let r = response(Some("application/octet-stream"), b"hi");
    assert_eq!((r.is_base64_encoded, r.body.as_str()), (true, "aGk="));
    let r = response(Some("text/plain"), &[0xff, 0xfe]);
    assert_eq!((r.is_base64_encoded, r.body.as_str()), (true, "//4="));
    let r = response(None, b"x");
    assert!(r.is_base64_encoded);
    let r = response(None, b"");
    assert_eq!((r.is_base64_encoded, r.body.as_str()), (false, ""));
    assert!(!is_text_content_type("image/png"));
}

#[test]
fn replies_become_http_answers() {
    let reply: IntegratedResponse = fixture("apigw-response-multiheader");
    let answer = reply.into_http().unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    let cookies: Vec<_> = answer.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies.len(), 2);
    assert_eq!(answer.body(), &Bytes::from_static(b"signed in"));

    let reply: IntegratedResponse = fixture("apigw-response-binary");
    let answer = reply.into_http().unwrap();
    assert_eq!(&answer.body()[..4], b"\x89PNG");
    assert_eq!(answer.headers()["content-type"], "image/png");

    let err = IntegratedResponse::empty(700).into_http().unwrap_err();
    assert!(err.to_string().contains("`statusCode`"), "{err}");
    let err = IntegratedResponse::empty(200)
        .with_header("bad name", "x")
        .into_http()
        .unwrap_err();
    assert!(err.to_string().contains("header name"), "{err}");
}

fn router() -> Router {
    Router::new()
        .route(
            "/users/{id}",
            get(|Path(id): Path<String>, RawQuery(q): RawQuery| async move {
                format!("user {id} query {}", q.unwrap_or_default())
            }),
        )
        .route(
            "/echo",
            post(|axum::Json(body): axum::Json<Value>| async move { axum::Json(json!({"echo": body})) }),
        )
        .route(
            "/bytes",
            get(|| async {
                (
                    [("content-type", "application/octet-stream")],
                    vec![0u8, 1, 2, 255],
                )
            }),
        )
        .route(
            "/cookies",
            get(|| async {
                (
                    axum::response::AppendHeaders([("set-cookie", "a=1"), ("set-cookie", "b=2")]),
                    "two",
                )
            }),
        )
}

#[test]
fn an_axum_router_answers_gateway_events() {
    let mut event: ApiGatewayRequest = fixture("apigw-get");
    event.path = "/users/42".into();
    let mut app = router();
    let reply = block_on(call_service(&mut app, event)).unwrap();
    assert_eq!(reply.status_code, 200);
    assert_eq!(reply.body, "user 42 query debug&page=2&tag=red&tag=blue");
    assert!(!reply.is_base64_encoded);

    let mut event: ApiGatewayRequest = fixture("apigw-post-json");
    event.path = "/echo".into();
    let reply = block_on(call_service(&mut app, event)).unwrap();
    assert_eq!(reply.status_code, 200);
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["echo"]["qty"], 2);
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let mut event: ApiGatewayRequest = fixture("apigw-get");
    event.path = "/bytes".into();
    let reply = block_on(call_service(&mut app, event)).unwrap();
    assert!(reply.is_base64_encoded);
    assert_eq!(reply.body_bytes().unwrap().as_ref(), &[0, 1, 2, 255]);

    let mut event: ApiGatewayRequest = fixture("apigw-get");
    event.path = "/cookies".into();
    let reply = block_on(call_service(&mut app, event)).unwrap();
    let v = serde_json::to_value(&reply).unwrap();
    assert_eq!(v["headers"]["Set-Cookie"], json!(["a=1", "b=2"]));

    let mut event: ApiGatewayRequest = fixture("apigw-get");
    event.path = "/missing".into();
    let reply = block_on(call_service(&mut app, event)).unwrap();
    assert_eq!(reply.status_code, 404);
}

#[test]
fn an_axum_router_answers_function_url_events() {
    let mut event: FunctionUrlRequest = fixture("function-url-post");
    event.path = "/echo".into();
    let reply = block_on(call_service(&mut router(), event)).unwrap();
    assert_eq!(reply.status_code, 200);
    assert_eq!(reply.body, r#"{"echo":{"hello":"world"}}"#);
    // The reply is what the platform accepts.
    let wire = serde_json::to_vec(&reply).unwrap();
    assert_eq!(IntegratedResponse::from_slice(&wire).unwrap(), reply);
}

#[test]
fn service_errors_are_reported() {
    let mut failing = tower::service_fn(|_req: Request<Body>| async {
        Err::<Response<String>, _>(std::io::Error::other("backend down"))
    });
    let err = block_on(call_service(&mut failing, FunctionUrlRequest::default())).unwrap_err();
    assert!(err.is_service(), "{err}");
    assert!(err.to_string().contains("backend down"), "{err}");

    let mut ok = tower::service_fn(|req: Request<Body>| async move {
        Ok::<_, Infallible>(Response::new(format!("{}", req.uri())))
    });
    let bad: FunctionUrlRequest = serde_json::from_value(json!({"httpMethod": "B A D"})).unwrap();
    let err = block_on(call_service(&mut ok, bad)).unwrap_err();
    assert!(err.is_event(), "{err}");
}

#[test]
fn with_builders_set_extensions_for_tests() {
    let map = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    let request = Request::new(())
        .with_request_context(Default::default())
        .with_path_parameters(map.clone())
        .with_query_string_parameters(map.clone())
        .with_header_parameters(map.clone())
        .with_stage_variables(map.clone());
    assert_eq!(request.request_context().unwrap().stage, "");
    assert_eq!(request.path_parameters(), Some(&map));
    assert_eq!(request.query_string_parameters(), Some(&map));
    assert_eq!(request.header_parameters(), Some(&map));
    assert_eq!(request.stage_variables(), Some(&map));
}
