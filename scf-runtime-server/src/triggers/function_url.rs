//! The Function URL trigger: each function with one gets its own URL path, and a request there
//! becomes the Function URL event ([Function URL](https://www.tencentcloud.com/document/product/583/69491)).
//!
//! ```toml
//! [[functions.hello.triggers]]
//! type = "function_url"             # no other keys
//! ```
//!
//! On the platform a function URL is a host of its own (`https://<appid>-<id>.<region>.tencentscf.com`).
//! The server gives each function the path prefix **`/fn/<function>`** instead (project decision): a request to
//! `/fn/hello/a/b?x=1` reaches `hello` with `path` `/a/b`, and `/fn/hello` alone is `path` `/`.
//! Every method is accepted, as on the platform.
//!
//! The event has `headers` (lower-cased, plus `x-scf-remote-addr` = the client address),
//! `httpMethod`, `path`, `queryString` (same value forms as the API gateway) and `body` (left out
//! when empty). The platform's event has no `isBase64Encoded`; the server adds
//! `isBase64Encoded: true` only when the body is not text, so binary bodies still arrive intact (project decision).
//! The reply is read as an integrated response (`statusCode`, `headers`, `body`,
//! `isBase64Encoded` honoured).

use serde_json::{Value, json};

use super::request::{HttpRequest, encode_body, headers_object, query_string_object};

/// The path prefix under which function URLs are served.
pub const PREFIX: &str = "/fn/";

/// Splits a server path under [`PREFIX`] into the function name and the function's own path
/// (always starting with `/`). `None` when the path is not under the prefix.
pub fn split_path(path: &str) -> Option<(&str, String)> {
    let rest = path.strip_prefix(PREFIX)?;
    let (name, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if name.is_empty() {
        return None;
    }
    Some((name, tail.to_owned()))
}

/// The URL path of `function`'s function URL.
pub fn url_path(function: &str) -> String {
    format!("{PREFIX}{function}/")
}

/// Builds the Function URL event for `req`, whose function-relative path is `path`.
pub fn build_event(req: &HttpRequest, path: &str) -> Value {
    let mut headers = headers_object(&req.headers);
    headers.insert(
        "x-scf-remote-addr".to_owned(),
        Value::String(req.peer.ip().to_string()),
    );
    let mut event = json!({
        "headers": headers,
        "httpMethod": req.method.as_str(),
        "path": path,
        "queryString": query_string_object(req.query.as_deref()),
    });
    if let Some((body, base64)) = encode_body(&req.headers, &req.body) {
        event["body"] = Value::String(body);
        if base64 {
            event["isBase64Encoded"] = Value::Bool(true);
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, Method};

    #[test]
    fn paths_split_under_the_prefix() {
        assert_eq!(split_path("/fn/hello"), Some(("hello", "/".to_owned())));
        assert_eq!(split_path("/fn/hello/"), Some(("hello", "/".to_owned())));
        assert_eq!(
            split_path("/fn/hello/a/b"),
            Some(("hello", "/a/b".to_owned()))
        );
        assert_eq!(split_path("/fn/"), None);
        assert_eq!(split_path("/functions/x"), None);
        assert_eq!(url_path("hello"), "/fn/hello/");
    }

    #[test]
    fn builds_the_documented_event() {
        let mut headers = HeaderMap::new();
        headers.insert("Content-Type", "application/json".parse().unwrap());
        let req = HttpRequest {
            method: Method::POST,
            path: "/fn/hello/items".into(),
            query: Some("a=1&a=2&flag".into()),
            headers,
            body: Bytes::from_static(b"{\"k\":1}"),
            peer: "127.0.0.1:4000".parse().unwrap(),
        };
        let event = build_event(&req, "/items");
        assert_eq!(
            event,
            json!({
                "headers": {"content-type": "application/json", "x-scf-remote-addr": "127.0.0.1"},
                "httpMethod": "POST",
                "path": "/items",
                "queryString": {"a": ["1", "2"], "flag": true},
                "body": "{\"k\":1}",
            })
        );
        for key in [
            "requestContext",
            "pathParameters",
            "queryStringParameters",
            "headerParameters",
        ] {
            assert!(event.get(key).is_none(), "{key}");
        }
    }

    #[test]
    fn the_event_parses_as_scf_events_function_url_request() {
        let req = HttpRequest {
            method: Method::GET,
            path: "/fn/f/x".into(),
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            peer: "127.0.0.1:1".parse().unwrap(),
        };
        let event = build_event(&req, "/x");
        assert_eq!(scf_events::detect(&event), Some("function_url"));
        let parsed: scf_events::function_url::FunctionUrlRequest =
            serde_json::from_value(event).unwrap();
        assert_eq!(parsed.path, "/x");
        assert_eq!(parsed.headers["x-scf-remote-addr"], "127.0.0.1");
    }
}
