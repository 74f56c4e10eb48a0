//! Function URL trigger (event functions): an HTTP request sent to the function's own URL.
//!
//! The event is the API Gateway event **without** `requestContext`, `pathParameters`,
//! `queryStringParameters`, `headerParameters` and `isBase64Encoded`:
//!
//! ```json
//! {
//!   "body": "{\"hello\":\"world\"}",
//!   "headers": { "content-length": "17", "content-type": "application/json",
//!                "x-scf-remote-addr": "203.0.113.9" },
//!   "httpMethod": "POST",
//!   "path": "/",
//!   "queryString": {}
//! }
//! ```
//!
//! Header names are lower-case; the platform adds `x-scf-remote-addr`. The query values take the
//! same forms as API Gateway's (see [`QueryValue`]). The reply is an
//! [`IntegratedResponse`](crate::IntegratedResponse). `isBase64Encoded` is not documented for this
//! trigger; when a host sends it (`cargo scf serve` does for binary bodies), it is honoured.
//!
//! ```
//! use scf_events::function_url::FunctionUrlRequest;
//!
//! let req: FunctionUrlRequest = serde_json::from_str(r#"{
//!   "body": "{\"hello\":\"world\"}",
//!   "headers": {"content-type": "application/json", "x-scf-remote-addr": "203.0.113.9"},
//!   "httpMethod": "POST", "path": "/", "queryString": {}
//! }"#).unwrap();
//! assert_eq!(req.remote_addr(), Some("203.0.113.9"));
//! let body: serde_json::Value = req.json().unwrap();
//! assert_eq!(body["hello"], "world");
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::body::{self, BodyError};
use crate::custom_serde::boolean::BoolOrString;
use crate::custom_serde::map::null_as_empty_map;
use crate::custom_serde::query::{QueryValue, to_query_string};

/// The event a Function URL delivers to an event function.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionUrlRequest {
    /// The request body as sent; absent when there is none.
    #[serde(rename = "body", default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The request headers (lower-case names), with the platform's `x-scf-remote-addr`.
    #[serde(rename = "headers", default, deserialize_with = "null_as_empty_map")]
    pub headers: BTreeMap<String, String>,
    /// The request method.
    #[serde(rename = "httpMethod", default)]
    pub http_method: String,
    /// The request path, e.g. `/`.
    #[serde(rename = "path", default)]
    pub path: String,
    /// Every query key of the request (key `queryString`).
    #[serde(
        rename = "queryString",
        default,
        deserialize_with = "null_as_empty_map"
    )]
    pub query_string: BTreeMap<String, QueryValue>,
    /// Whether `body` is base64 (key `isBase64Encoded`, undocumented for this trigger; absent
    /// unless a host sends it).
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

impl FunctionUrlRequest {
    /// Whether `body` is base64.
    pub fn is_base64_encoded(&self) -> bool {
        self.is_base64_encoded.value()
    }

    /// A header's value, the name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        body::header(&self.headers, name).map(String::as_str)
    }

    /// The client's address, from the platform's `x-scf-remote-addr` header.
    pub fn remote_addr(&self) -> Option<&str> {
        self.header("x-scf-remote-addr")
    }

    /// The body's bytes: empty when absent, base64-decoded when flagged.
    pub fn body_bytes(&self) -> Result<Cow<'_, [u8]>, BodyError> {
        body::bytes(self.body.as_deref(), self.is_base64_encoded())
    }

    /// Parses the body as JSON into `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, BodyError> {
        body::json(self.body.as_deref(), self.is_base64_encoded())
    }

    /// The first value of a query key; `None` for a missing key or a flag.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_string.get(name).and_then(QueryValue::first)
    }

    /// The query rebuilt from `queryString` (percent-encoded, no `?`).
    pub fn raw_query(&self) -> String {
        to_query_string(&self.query_string)
    }

    /// The request target: `path`, plus `?` and the rebuilt query when there is one.
    pub fn uri(&self) -> String {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        let query = self.raw_query();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}
