//! CLB (Cloud Load Balancer) trigger: an HTTP request forwarded by a load-balancer listener.
//!
//! ```json
//! {
//!   "headers": {
//!     "Content-type": "application/json", "Host": "www.example.com",
//!     "X-Stgw-Time": "1591692977.774", "X-Client-Proto": "http",
//!     "X-Forwarded-Proto": "http", "X-Client-Proto-Ver": "HTTP/1.1",
//!     "X-Real-IP": "9.43.175.219", "X-Forwarded-For": "9.43.175.219"
//!   },
//!   "payload": { "key1": "123", "key2": "abc" },
//!   "isBase64Encoded": "false"
//! }
//! ```
//!
//! Things to know:
//! * Headers keep the client's casing (lower-case on HTTP/2 listeners): [`ClbEvent::header`]
//!   matches names case-insensitively.
//! * There is no method, path or query, except the optional `X-Method` / `X-Uri` headers that a
//!   listener's custom configuration adds ([`ClbEvent::method`], [`ClbEvent::uri`]).
//! * `payload` is the body: a JSON body arrives as an **object**, other text types as a string, any
//!   other type as a **base64 string**. It is kept as a [`serde_json::Value`];
//!   [`ClbEvent::payload_bytes`] gives the bytes.
//! * `isBase64Encoded` is the string `"false"` in the older sample and absent in the newest.
//!
//! The reply is an [`IntegratedResponse`](crate::IntegratedResponse).
//!
//! ```
//! use scf_events::clb::ClbEvent;
//!
//! let e: ClbEvent = serde_json::from_str(r#"{
//!   "headers": {"X-Stgw-Time": "1591692977.774", "X-Real-IP": "9.43.175.219"},
//!   "payload": {"key1": "123"}, "isBase64Encoded": "false"
//! }"#).unwrap();
//! assert_eq!(e.stgw_time_millis(), Some(1_591_692_977_774));
//! assert_eq!(e.header("x-real-ip"), Some("9.43.175.219"));
//! assert_eq!(e.payload_bytes().unwrap().as_ref(), br#"{"key1":"123"}"#);
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{self, BodyError};
use crate::custom_serde::boolean::BoolOrString;
use crate::custom_serde::map::null_as_empty_map;
use crate::custom_serde::time::seconds_millis_str;

/// The event a CLB trigger delivers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClbEvent {
    /// The request headers in the client's casing, plus CLB's `X-Stgw-Time`, `X-Real-IP`, ...
    #[serde(rename = "headers", default, deserialize_with = "null_as_empty_map")]
    pub headers: BTreeMap<String, String>,
    /// The body: an object for JSON, a string for other text, base64 for anything else.
    #[serde(rename = "payload", default)]
    pub payload: Value,
    /// Whether a string `payload` is base64: a string (`"false"`), a bool, or absent; kept as sent.
    #[serde(
        rename = "isBase64Encoded",
        default,
        skip_serializing_if = "BoolOrString::is_absent"
    )]
    pub is_base64_encoded: BoolOrString,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ClbEvent {
    /// Whether a string `payload` is base64 (`isBase64Encoded` is `true` or `"true"`).
    pub fn is_base64_encoded(&self) -> bool {
        self.is_base64_encoded.value()
    }

    /// A header's value, the name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        body::header(&self.headers, name).map(String::as_str)
    }

    /// The request method, from the optional `X-Method` header.
    pub fn method(&self) -> Option<&str> {
        self.header("x-method")
    }

    /// The request URI, from the optional `X-Uri` header (also read from the `X-Url` spelling of
    /// one doc table).
    pub fn uri(&self) -> Option<&str> {
        self.header("x-uri").or_else(|| self.header("x-url"))
    }

    /// The client's IP address (`X-Real-IP`).
    pub fn client_ip(&self) -> Option<&str> {
        self.header("x-real-ip")
    }

    /// When CLB received the request, in milliseconds since the epoch, from `X-Stgw-Time`
    /// (`"seconds.millis"`); `None` when missing or malformed.
    pub fn stgw_time_millis(&self) -> Option<i64> {
        seconds_millis_str::to_millis(self.header("x-stgw-time")?)
    }

    /// [`stgw_time_millis`](Self::stgw_time_millis) as a UTC time.
    #[cfg(feature = "chrono")]
    pub fn stgw_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp_millis(self.stgw_time_millis()?)
    }

    /// The body's bytes: a string payload as text (base64-decoded when flagged), an object or
    /// other JSON value as its compact JSON, `null` as empty.
    pub fn payload_bytes(&self) -> Result<Cow<'_, [u8]>, BodyError> {
        match &self.payload {
            Value::Null => Ok(Cow::Borrowed(&[])),
            Value::String(s) => body::bytes(Some(s), self.is_base64_encoded()),
            other => Ok(Cow::Owned(other.to_string().into_bytes())),
        }
    }

    /// The body as `T`: an object payload converted directly, a string payload parsed as JSON.
    pub fn payload_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, BodyError> {
        match &self.payload {
            Value::String(s) => body::json(Some(s), self.is_base64_encoded()),
            other => body::json(Some(&other.to_string()), false),
        }
    }
}
