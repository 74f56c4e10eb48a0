//! From a function's result to the HTTP answer: the integrated response check, and the gateway's
//! own error answers.
//!
//! | Case | HTTP status | Body |
//! |---|---|---|
//! | Valid integrated response | its `statusCode` | its `body`, base64-decoded when flagged; an array header value gives one header line per element |
//! | Malformed integrated response | 502 (project decision) | `{"errno":403,"error":"Invalid scf response format. please check your scf response format."}` (the gateway's documented body, kept word for word) |
//! | Integrated response off | 200 | the result as-is |
//! | Function timeout (433) | 200 (documented gateway behaviour) | `{"code":433,"error":"TimeLimitReached","message":…}` |
//! | Gateway timeout (trigger `timeout_s`) | 504 (project decision) | `{"code":504,"error":"GatewayTimeout","message":…}` |
//! | Other function errors (430, 432, 439, …) | 502 (project decision) | `{"code":<SCF status>,"error":<name>,"message":…}` (a 430 adds `function_error`, the function's own error object) |
//! | Request body over the limit | 413 (project decision) | `{"code":413,"error":"PayloadTooLarge","message":…}` |
//! | No route for the path / method | 404 / 405 (project decision) | `{"code":404 \| 405,"error":"NotFound" \| "MethodNotAllowed","message":…}` |
//!
//! Every error body has the server's one shape, `{"code","error","message"}` (see
//! [`InvokeError::to_json`]): the SCF code and name for a function's fault, the HTTP status and
//! its reason (without spaces, [`http_error_json`]) for the gateway's own answers. The one exception is the malformed
//! integrated response, whose body is the platform's. Every answer the gateway itself writes
//! carries `Content-Type: application/json` and `X-Api-RequestId`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::fault::{InvokeError, http_error_json};

/// The gateway's documented body for a malformed integrated response.
pub const MALFORMED_BODY: &str = r#"{"errno":403,"error":"Invalid scf response format. please check your scf response format."}"#;

/// Why a function's result is not a valid integrated response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedResponse {
    /// What was wrong, naming the key.
    pub reason: String,
}

impl std::fmt::Display for MalformedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed integrated response: {}", self.reason)
    }
}

impl std::error::Error for MalformedResponse {}

fn malformed<T>(reason: impl Into<String>) -> Result<T, MalformedResponse> {
    Err(MalformedResponse {
        reason: reason.into(),
    })
}

/// Checks `result` against the platform's integrated response rules ([API Gateway
/// trigger](https://www.tencentcloud.com/document/product/583/12513)) and builds the
/// HTTP response: `statusCode` an integer from 100 to 599; `isBase64Encoded` absent or a bool;
/// `headers` absent or an object of strings or string arrays; `body` absent or a string.
pub fn parse_integrated(result: &[u8]) -> Result<Response<Bytes>, MalformedResponse> {
    let value: Value = match serde_json::from_slice(result) {
        Ok(v) => v,
        Err(e) => return malformed(format!("the result is not JSON ({e})")),
    };
    let Value::Object(obj) = value else {
        return malformed("the result is not a JSON object");
    };
    let status = match obj.get("statusCode") {
        None => return malformed("`statusCode` is missing"),
        Some(v) => match v.as_u64() {
            Some(n @ 100..=599) => n as u16,
            _ => {
                return malformed(format!(
                    "`statusCode` must be an integer from 100 to 599, got {v}"
                ));
            }
        },
    };
    let base64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return malformed(format!("`isBase64Encoded` must be a boolean, got {other}"));
        }
    };
    let body = match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if base64 => match BASE64.decode(s.trim()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => return malformed(format!("`body` is flagged base64 but is not ({e})")),
        },
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => return malformed(format!("`body` must be a string, got {other}")),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).expect("100..=599 is a valid status");
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(headers)) => {
            for (name, value) in headers {
                let header = HeaderName::from_bytes(name.as_bytes()).or_else(|_| {
                    malformed(format!(
                        "header name {name:?} is not a valid HTTP header name"
                    ))
                })?;
                let values: Vec<&str> = match value {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(list) => {
                        let mut out = Vec::with_capacity(list.len());
                        for v in list {
                            match v {
                                Value::String(s) => out.push(s.as_str()),
                                other => {
                                    return malformed(format!(
                                        "header {name:?}: array values must be strings, got {other}"
                                    ));
                                }
                            }
                        }
                        out
                    }
                    other => {
                        return malformed(format!(
                            "header {name:?} must be a string or an array of strings, got {other}"
                        ));
                    }
                };
                for v in values {
                    let hv = HeaderValue::from_str(v).or_else(|_| {
                        malformed(format!(
                            "header {name:?}: value {v:?} is not a valid header value"
                        ))
                    })?;
                    response.headers_mut().append(header.clone(), hv);
                }
            }
        }
        Some(other) => return malformed(format!("`headers` must be an object, got {other}")),
    }
    Ok(response)
}

fn json_response(status: StatusCode, body: String, request_id: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-api-requestid"), v);
    }
    response
}

/// A gateway answer of its own: `{"code": <status>, "error": <reason, e.g. NotFound>, "message"}`.
pub fn gateway_error(status: StatusCode, message: &str, request_id: &str) -> Response<Bytes> {
    let body = http_error_json(status, message);
    json_response(status, body.to_string(), request_id)
}

/// The answer for a malformed integrated response: 502 with the gateway's documented body.
pub fn malformed_response(request_id: &str) -> Response<Bytes> {
    json_response(
        StatusCode::BAD_GATEWAY,
        MALFORMED_BODY.to_owned(),
        request_id,
    )
}

/// The answer for a failed invocation: the SCF error body, with 200 for a function timeout (the
/// gateway's documented behaviour) and 502 for everything else.
pub fn function_error_response(err: &InvokeError, request_id: &str) -> Response<Bytes> {
    let status = if err.fault == crate::fault::Fault::Timeout {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    json_response(status, err.to_json().to_string(), request_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Fault;

    #[test]
    fn valid_reply_with_multi_value_headers() {
        let r = parse_integrated(
            br#"{"isBase64Encoded":false,"statusCode":201,"headers":{"Content-Type":"text/html","Set-Cookie":["a=1","b=2"]},"body":"<p>hi</p>"}"#,
        )
        .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["content-type"], "text/html");
        let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(r.body(), "<p>hi</p>");
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let r = parse_integrated(br#"{"isBase64Encoded":true,"statusCode":200,"body":"AAH/"}"#)
            .unwrap();
        assert_eq!(&r.body()[..], &[0, 1, 255]);
        let r = parse_integrated(br#"{"statusCode":204}"#).unwrap();
        assert_eq!(r.status(), 204);
        assert!(r.body().is_empty());
    }

    #[test]
    fn malformed_replies_name_the_problem() {
        for (input, needle) in [
            (&b"junk"[..], "not JSON"),
            (b"[1]", "not a JSON object"),
            (b"{}", "`statusCode` is missing"),
            (br#"{"statusCode":"200"}"#, "statusCode"),
            (br#"{"statusCode":200.5}"#, "statusCode"),
            (br#"{"statusCode":99}"#, "statusCode"),
            (
                br#"{"statusCode":200,"isBase64Encoded":"true"}"#,
                "isBase64Encoded",
            ),
            (
                br#"{"statusCode":200,"body":{"a":1}}"#,
                "`body` must be a string",
            ),
            (
                br#"{"statusCode":200,"headers":[]}"#,
                "`headers` must be an object",
            ),
            (br#"{"statusCode":200,"headers":{"a":1}}"#, "header \"a\""),
            (br#"{"statusCode":200,"headers":{"a":[1]}}"#, "array values"),
            (
                br#"{"statusCode":200,"headers":{"bad name":"x"}}"#,
                "bad name",
            ),
            (
                br#"{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}"#,
                "base64",
            ),
        ] {
            let err = parse_integrated(input).unwrap_err();
            assert!(err.reason.contains(needle), "{input:?}: {err}");
        }
    }

    #[test]
    fn error_answers() {
        let r = malformed_response("rid");
        assert_eq!(r.status(), 502);
        assert_eq!(r.body(), MALFORMED_BODY);
        assert_eq!(r.headers()["x-api-requestid"], "rid");
        let r = function_error_response(
            &InvokeError::from_function(br#"{"errorType":"Oops","errorMessage":"boom"}"#),
            "rid",
        );
        assert_eq!(r.status(), 502);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["code"], 430);
        assert_eq!(body["message"], "boom");
        assert_eq!(body["function_error"]["errorType"], "Oops");
        let r = function_error_response(&Fault::Timeout.error("slow"), "rid");
        assert_eq!(r.status(), 200);
        let r = gateway_error(StatusCode::NOT_FOUND, "no api", "rid");
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"code": 404, "error": "NotFound", "message": "no api"})
        );
        let r = gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "big", "rid");
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"], "PayloadTooLarge");
    }
}
