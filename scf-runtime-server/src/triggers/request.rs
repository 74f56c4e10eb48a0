//! The HTTP request as the HTTP triggers see it, and the pieces shared by the API Gateway and
//! Function URL events: the `queryString` object, lower-cased headers, and the body encoding.

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Map, Value};

/// A buffered HTTP request: what a trigger needs to build an event.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The request method.
    pub method: Method,
    /// The path, without the query string, as sent (still percent-encoded).
    pub path: String,
    /// The raw query string without `?` (`None` when the URI has none).
    pub query: Option<String>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// The client's address.
    pub peer: SocketAddr,
}

impl HttpRequest {
    /// Builds a request from `http` parts, a buffered body and the peer address.
    pub fn from_parts(parts: &http::request::Parts, body: Bytes, peer: SocketAddr) -> Self {
        HttpRequest {
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            body,
            peer,
        }
    }
}

fn decode_component(s: &str) -> String {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}

/// Builds the `queryString` object: every key, percent-decoded; a repeated key becomes an array
/// of its values in order; a key without `=` is `true` (as a value inside an array, `""`).
pub fn query_string_object(query: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(query) = query else { return out };
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = match piece.split_once('=') {
            Some((k, v)) => (decode_component(k), Value::String(decode_component(v))),
            None => (decode_component(piece), Value::Bool(true)),
        };
        match out.get_mut(&key) {
            None => {
                out.insert(key, value);
            }
            Some(existing) => {
                let as_text = |v: Value| match v {
                    Value::Bool(_) => Value::String(String::new()),
                    other => other,
                };
                let mut list = match existing.take() {
                    Value::Array(list) => list,
                    single => vec![as_text(single)],
                };
                list.push(as_text(value));
                *existing = Value::Array(list);
            }
        }
    }
    out
}

/// The first value of a `queryString` entry as text (`""` for a value-less key).
pub fn first_query_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(list) => list.first().map(first_query_value).unwrap_or_default(),
        _ => String::new(),
    }
}

/// The headers as a JSON object with lower-case names. A header sent several times is joined
/// with `, `; bytes that are not UTF-8 are replaced.
pub fn headers_object(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        let joined = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        // `HeaderName` is already lower-case.
        out.insert(name.as_str().to_owned(), Value::String(joined));
    }
    out
}

/// Whether a `Content-Type` is text the event carries as a plain string.
pub fn is_text_content_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// The body as the event carries it: `(body, is_base64)`. Text content types with valid UTF-8
/// stay text; anything else is base64. `None` for an empty body (the key is left out).
pub fn encode_body(headers: &HeaderMap, body: &[u8]) -> Option<(String, bool)> {
    if body.is_empty() {
        return None;
    }
    let text_like = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_text_content_type);
    if let (true, Ok(text)) = (text_like, std::str::from_utf8(body)) {
        return Some((text.to_owned(), false));
    }
    Some((BASE64.encode(body), true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_string_repeated_and_valueless_keys() {
        let q = query_string_object(Some("a=1&b&a=2&c=x%20y+z&&d=&a"));
        assert_eq!(
            Value::Object(q),
            json!({"a": ["1", "2", ""], "b": true, "c": "x y z", "d": ""})
        );
        assert!(query_string_object(None).is_empty());
        assert!(query_string_object(Some("")).is_empty());
        assert_eq!(first_query_value(&json!(["1", "2"])), "1");
        assert_eq!(first_query_value(&json!(true)), "");
    }

    #[test]
    fn headers_are_lower_cased_and_joined() {
        let mut h = HeaderMap::new();
        h.append("X-Custom", "one".parse().unwrap());
        h.append("x-custom", "two".parse().unwrap());
        h.insert("Content-Type", "text/plain".parse().unwrap());
        assert_eq!(
            Value::Object(headers_object(&h)),
            json!({"x-custom": "one, two", "content-type": "text/plain"})
        );
    }

    #[test]
    fn bodies_are_text_or_base64() {
        let mut h = HeaderMap::new();
        assert_eq!(encode_body(&h, b""), None);
        assert_eq!(encode_body(&h, b"hi"), Some(("aGk=".into(), true)));
        h.insert(
            "content-type",
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(encode_body(&h, b"{}"), Some(("{}".into(), false)));
        assert_eq!(encode_body(&h, &[0xff, 0x00]), Some(("/wA=".into(), true)));
        h.insert("content-type", "image/png".parse().unwrap());
        assert_eq!(encode_body(&h, b"png"), Some(("cG5n".into(), true)));
        assert!(is_text_content_type("application/vnd.api+json"));
        assert!(!is_text_content_type("application/octet-stream"));
    }
}
