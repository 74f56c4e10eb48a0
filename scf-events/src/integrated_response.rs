//! The reply API Gateway, CLB and Function URL expect from an event function: an "integrated
//! response" that becomes the HTTP answer.
//!
//! ```json
//! {
//!   "isBase64Encoded": false,
//!   "statusCode": 200,
//!   "headers": { "Content-Type": "text/html; charset=utf-8",
//!                "Set-Cookie": ["a=1; Path=/", "b=2; Path=/"] },
//!   "body": "<html><body>Hello</body></html>"
//! }
//! ```
//!
//! Rules the platform enforces, and that [`IntegratedResponse`] always follows when serialised:
//! `isBase64Encoded` is a JSON **bool**, `statusCode` an **integer**, `headers` an object (`{}` when
//! empty) whose values are a string, or an array of strings for a header with several values
//! (there is no `multiValueHeaders`), and `body` a string (`""` when empty; base64 when flagged).
//!
//! ```
//! use scf_events::IntegratedResponse;
//!
//! let reply = IntegratedResponse::text(200, "hello")
//!     .with_header("Set-Cookie", "a=1")
//!     .with_header("Set-Cookie", "b=2");
//! assert_eq!(serde_json::to_value(&reply).unwrap(), serde_json::json!({
//!     "isBase64Encoded": false,
//!     "statusCode": 200,
//!     "headers": {"Content-Type": "text/plain; charset=utf-8", "Set-Cookie": ["a=1", "b=2"]},
//!     "body": "hello"
//! }));
//!
//! let png = IntegratedResponse::binary(200, &[0x89, b'P', b'N', b'G'], "image/png");
//! assert!(png.is_base64_encoded);
//! assert_eq!(png.body, "iVBORw==");
//! ```
//!
//! A host turning a function's answer into HTTP uses [`IntegratedResponse::from_slice`], which
//! applies the platform's checks and names what is wrong.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{self, BodyError};
use crate::custom_serde::header::OneOrMany;
use crate::custom_serde::map::{null_as_default, null_as_empty_map};

/// An integrated response: the HTTP answer an event function gives API Gateway, CLB or a Function
/// URL. `Default` is an empty `200`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegratedResponse {
    /// Whether `body` is base64 (key `isBase64Encoded`); always written as a JSON bool.
    #[serde(
        rename = "isBase64Encoded",
        default,
        deserialize_with = "null_as_default"
    )]
    pub is_base64_encoded: bool,
    /// The HTTP status (key `statusCode`), an integer.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// The headers, names in the case given; a header with several values is an array.
    #[serde(rename = "headers", default, deserialize_with = "null_as_empty_map")]
    pub headers: BTreeMap<String, OneOrMany>,
    /// The body: text, or base64 when [`is_base64_encoded`](Self::is_base64_encoded).
    #[serde(rename = "body", default, deserialize_with = "null_as_default")]
    pub body: String,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl Default for IntegratedResponse {
    fn default() -> Self {
        Self::empty(200)
    }
}

/// `Content-Type` of [`IntegratedResponse::text`].
const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

impl IntegratedResponse {
    /// A response with no body and no headers.
    pub fn empty(status: u16) -> Self {
        Self {
            is_base64_encoded: false,
            status_code: status,
            headers: BTreeMap::new(),
            body: String::new(),
            #[cfg(feature = "catch-all-fields")]
            other: serde_json::Map::new(),
        }
    }

    /// A text body with `Content-Type: text/plain; charset=utf-8`.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        let mut r = Self::empty(status).with_header("Content-Type", TEXT_PLAIN);
        r.body = text.into();
        r
    }

    /// A JSON body (the JSON of `value`) with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> serde_json::Result<Self> {
        let mut r = Self::empty(status).with_header("Content-Type", "application/json");
        r.body = serde_json::to_string(value)?;
        Ok(r)
    }

    /// A binary body, base64-encoded with `isBase64Encoded: true`, and the given `Content-Type`.
    pub fn binary(status: u16, bytes: &[u8], content_type: &str) -> Self {
        let mut r = Self::empty(status).with_header("Content-Type", content_type);
        r.body = body::encode_base64(bytes);
        r.is_base64_encoded = true;
        r
    }

    /// Sets the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status_code = status;
        self
    }

    /// Adds a header value; a second value for the same name makes the header an array.
    ///
    /// A `Location` header is still emitted, but a warning is logged: the SCF gateway documents it
    /// as unsupported.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.append_header(name, value);
        self
    }

    /// Adds several values for one header.
    pub fn with_header_values<I, S>(mut self, name: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let name = name.into();
        for v in values {
            self.append_header(name.clone(), v);
        }
        self
    }

    /// Appends a value to a header (names compared exactly, as the map keeps the case given).
    pub fn append_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        warn_if_location(&name);
        self.headers.entry(name).or_default().push(value);
    }

    /// Replaces a header's values with one value.
    pub fn insert_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        warn_if_location(&name);
        self.headers.insert(name, OneOrMany::from(value.into()));
    }

    /// The first value of a header, the name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        body::header(&self.headers, name).and_then(OneOrMany::first)
    }

    /// The body's bytes, base64-decoded when flagged.
    pub fn body_bytes(&self) -> Result<Cow<'_, [u8]>, BodyError> {
        body::bytes(Some(&self.body), self.is_base64_encoded)
    }

    /// Checks a function's answer against the platform's rules and parses it.
    ///
    /// Fails (with the reason, naming the key) when the answer is not JSON or not an object;
    /// `statusCode` is missing or not an integer from 100 to 599; `isBase64Encoded` is present
    /// but neither a bool nor `null` (the string `"true"` is refused, as on the platform);
    /// `headers` is present but not an object (or `null`); a header name is not an HTTP token;
    /// a header value is not a string or an array of strings, or holds a control character;
    /// `body` is present but neither a string nor `null`; or the body is flagged base64 but is not.
    /// Other keys are ignored.
    ///
    /// ```
    /// use scf_events::IntegratedResponse;
    ///
    /// let ok = IntegratedResponse::from_slice(br#"{"statusCode":201,"body":"made"}"#).unwrap();
    /// assert_eq!((ok.status_code, ok.body.as_str()), (201, "made"));
    ///
    /// let err = IntegratedResponse::from_slice(br#"{"statusCode":"200"}"#).unwrap_err();
    /// assert!(err.to_string().contains("`statusCode`"));
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Result<Self, InvalidResponse> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| InvalidResponse::new(format!("the answer is not JSON ({e})")))?;
        Self::from_value(&value)
    }

    /// [`from_slice`](Self::from_slice) on an already parsed answer.
    pub fn from_value(value: &Value) -> Result<Self, InvalidResponse> {
        let Value::Object(obj) = value else {
            return Err(InvalidResponse::new(format!(
                "the answer is not a JSON object but {}",
                type_name(value)
            )));
        };
        let status_code = match obj.get("statusCode") {
            None => return Err(InvalidResponse::new("`statusCode` is missing")),
            Some(v) => match v.as_u64() {
                Some(n @ 100..=599) => n as u16,
                _ => {
                    return Err(InvalidResponse::new(format!(
                        "`statusCode` must be an integer from 100 to 599, got {}",
                        short(v)
                    )));
                }
            },
        };
        let is_base64_encoded = match obj.get("isBase64Encoded") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                return Err(InvalidResponse::new(format!(
                    "`isBase64Encoded` must be a boolean, got {}",
                    short(v)
                )));
            }
        };
        let body = match obj.get("body") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                return Err(InvalidResponse::new(format!(
                    "`body` must be a string, got {}",
                    type_name(v)
                )));
            }
        };
        if is_base64_encoded && let Err(e) = body::decode_base64(&body) {
            return Err(InvalidResponse::new(e.to_string()));
        }
        let mut headers = BTreeMap::new();
        match obj.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, v) in map {
                    if !is_token(name) {
                        return Err(InvalidResponse::new(format!(
                            "header name {name:?} is not a valid HTTP header name"
                        )));
                    }
                    let values = match v {
                        Value::String(s) => vec![s.clone()],
                        Value::Array(items) => items
                            .iter()
                            .map(|item| match item {
                                Value::String(s) => Ok(s.clone()),
                                other => Err(InvalidResponse::new(format!(
                                    "header {name:?}: array values must be strings, got {}",
                                    type_name(other)
                                ))),
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                        other => {
                            return Err(InvalidResponse::new(format!(
                                "header {name:?} must be a string or an array of strings, got {}",
                                type_name(other)
                            )));
                        }
                    };
                    if let Some(bad) = values.iter().find(|v| !is_header_value(v)) {
                        return Err(InvalidResponse::new(format!(
                            "header {name:?}: value {bad:?} holds a control character"
                        )));
                    }
                    headers.insert(name.clone(), OneOrMany::from(values));
                }
            }
            Some(v) => {
                return Err(InvalidResponse::new(format!(
                    "`headers` must be an object, got {}",
                    type_name(v)
                )));
            }
        }
        Ok(Self {
            is_base64_encoded,
            status_code,
            headers,
            body,
            #[cfg(feature = "catch-all-fields")]
            other: obj
                .iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "isBase64Encoded" | "statusCode" | "headers" | "body"
                    )
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }
}

fn warn_if_location(name: &str) {
    if name.eq_ignore_ascii_case("location") {
        tracing::warn!(
            "the SCF API gateway documents the `Location` header of an integrated response as unsupported; it is sent anyway"
        );
    }
}

/// An RFC 9110 token: what a header name may be.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A header value: no control characters other than tab.
fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value for an error message, cut short.
fn short(v: &Value) -> String {
    let mut text = v.to_string();
    if text.len() > 64 {
        let mut cut = 64;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Why a function's answer is not a valid integrated response. [`reason`](Self::reason) names the
/// key at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidResponse {
    reason: String,
}

impl InvalidResponse {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// What is wrong, e.g. ``"`statusCode` is missing"``.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InvalidResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid integrated response: {}", self.reason)
    }
}

impl std::error::Error for InvalidResponse {}
