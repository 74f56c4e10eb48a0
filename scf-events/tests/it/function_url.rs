//! Function URL fixtures: concrete fields and round trips.

use scf_events::function_url::FunctionUrlRequest;
use serde_json::{Value, json};

use crate::support::fixture;

fn round_trip(name: &str) -> FunctionUrlRequest {
    let input = fixture(name);
    let event: FunctionUrlRequest = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out, input, "{name}: serialising changed the event");
    assert_eq!(
        serde_json::from_value::<FunctionUrlRequest>(out).unwrap(),
        event
    );
    event
}

#[test]
fn post_with_json_body_and_remote_addr() {
    let e = round_trip("function-url-post");
    assert_eq!(e.http_method, "POST");
    assert_eq!(e.path, "/");
    assert_eq!(e.remote_addr(), Some("203.0.113.9"));
    assert_eq!(e.header("Content-Length"), Some("17"));
    assert_eq!(e.body.as_deref(), Some(r#"{"hello":"world"}"#));
    assert!(!e.is_base64_encoded());
    let body: Value = e.json().unwrap();
    assert_eq!(body, json!({"hello": "world"}));
    assert!(e.query_string.is_empty());
    assert_eq!(e.uri(), "/");
}

#[test]
fn get_without_body() {
    let e = round_trip("function-url-get");
    assert_eq!(e.http_method, "GET");
    assert_eq!(e.path, "/reports/latest");
    assert_eq!(e.body, None);
    assert_eq!(e.body_bytes().unwrap().as_ref(), b"");
    assert!(e.query_string.is_empty());
    assert_eq!(e.remote_addr(), Some("198.51.100.23"));
}

#[test]
fn accepts_gateway_query_forms_and_a_host_base64_flag() {
    let e: FunctionUrlRequest = serde_json::from_value(json!({
        "headers": {}, "httpMethod": "PUT", "path": "/a b", "body": "AAH/",
        "isBase64Encoded": true,
        "queryString": {"k": ["1", "2"], "flag": true, "q": "x y"}
    }))
    .unwrap();
    assert_eq!(e.body_bytes().unwrap().as_ref(), &[0, 1, 255]);
    assert_eq!(e.query("q"), Some("x y"));
    assert_eq!(e.raw_query(), "flag&k=1&k=2&q=x%20y");
    assert_eq!(e.uri(), "/a b?flag&k=1&k=2&q=x%20y");
}

#[test]
fn a_missing_flag_stays_missing() {
    let input = fixture("function-url-get");
    let out =
        serde_json::to_value(serde_json::from_value::<FunctionUrlRequest>(input).unwrap()).unwrap();
    assert!(out.get("isBase64Encoded").is_none());
    assert!(out.get("requestContext").is_none());
}
