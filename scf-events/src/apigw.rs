//! API Gateway trigger: HTTP requests the gateway hands to an event function (integrated
//! request), and the three events of a WebSocket API (register, transfer, cleanup).
//!
//! ```json
//! {
//!   "requestContext": {
//!     "serviceId": "service-f94sy04v", "path": "/test/{path}", "httpMethod": "ANY",
//!     "identity": {}, "sourceIp": "10.0.2.14", "stage": "release"
//!   },
//!   "headers": { "host": "service-f94sy04v-1253970026.gz.apigw.tencentcs.com",
//!                "x-api-requestid": "24281851d905b02add0ec7b1f4d73a6d" },
//!   "pathParameters": { "path": "value" },
//!   "queryStringParameters": {},
//!   "headerParameters": {},
//!   "path": "/test/value",
//!   "queryString": { "foo": "bar", "tag": ["a", "b"], "debug": true },
//!   "httpMethod": "GET"
//! }
//! ```
//!
//! Things to know:
//! * `headers` keys are lower-case in real traffic and Title-Case in the summary sample:
//!   [`ApiGatewayRequest::header`] matches names case-insensitively.
//! * `body` is absent on GET; a JSON body is an **escaped JSON string** ([`ApiGatewayRequest::json`]
//!   parses it).
//! * `isBase64Encoded` is a bool or the string `"true"`, and may be absent;
//!   [`ApiGatewayRequest::is_base64_encoded`] reads it and [`ApiGatewayRequest::body_bytes`] decodes
//!   the body when it is set.
//! * `queryString` holds every query key; a value is a string, an array (repeated key) or `true`
//!   (a key without `=`), see [`QueryValue`].
//! * `requestContext.requestId` and `stageVariables` are absent in real captures; parameter maps
//!   may be `null` (read as empty, written back as `{}`).
//!
//! The reply is an [`IntegratedResponse`](crate::IntegratedResponse).
//!
//! ```
//! use scf_events::apigw::ApiGatewayRequest;
//!
//! let req: ApiGatewayRequest = serde_json::from_str(r#"{
//!   "requestContext": {"serviceId": "service-1", "path": "/orders", "httpMethod": "POST",
//!                      "identity": {}, "sourceIp": "10.0.0.1", "stage": "release"},
//!   "headers": {"Content-Type": "application/json"},
//!   "body": "{\"id\":7}",
//!   "pathParameters": {}, "queryStringParameters": {}, "headerParameters": {},
//!   "path": "/orders", "queryString": {"dry_run": true}, "httpMethod": "POST"
//! }"#).unwrap();
//! assert_eq!(req.header("content-type"), Some("application/json"));
//! let order: serde_json::Value = req.json().unwrap();
//! assert_eq!(order["id"], 7);
//! assert!(req.query_string["dry_run"].is_flag());
//! assert_eq!(req.uri(), "/orders?dry_run");
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::body::{self, BodyError};
use crate::custom_serde::boolean::BoolOrString;
use crate::custom_serde::map::{null_as_default, null_as_empty_map};
use crate::custom_serde::query::{QueryValue, to_query_string};

include!("string_enum.rs");

/// The event an API Gateway trigger delivers for one HTTP request.
///
/// Every API-Gateway-only field is optional or defaulted, so a Function URL event parses too
/// (then [`request_context`](Self::request_context) is empty).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiGatewayRequest {
    /// The gateway's view of the API and the caller (key `requestContext`).
    #[serde(
        rename = "requestContext",
        default,
        deserialize_with = "null_as_default"
    )]
    pub request_context: ApiGatewayRequestContext,
    /// The request headers (lower-case names in real traffic). See [`header`](Self::header).
    #[serde(rename = "headers", default, deserialize_with = "null_as_empty_map")]
    pub headers: BTreeMap<String, String>,
    /// The request body as sent: absent on GET, an escaped JSON string for JSON bodies, base64
    /// when [`is_base64_encoded`](Self::is_base64_encoded).
    #[serde(rename = "body", default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Path parameters declared on the API (key `pathParameters`); `null` reads as empty.
    #[serde(
        rename = "pathParameters",
        default,
        deserialize_with = "null_as_empty_map"
    )]
    pub path_parameters: BTreeMap<String, String>,
    /// Query parameters declared on the API (key `queryStringParameters`); a value may be `""`.
    #[serde(
        rename = "queryStringParameters",
        default,
        deserialize_with = "null_as_empty_map"
    )]
    pub query_string_parameters: BTreeMap<String, String>,
    /// Header parameters declared on the API (key `headerParameters`).
    #[serde(
        rename = "headerParameters",
        default,
        deserialize_with = "null_as_empty_map"
    )]
    pub header_parameters: BTreeMap<String, String>,
    /// Stage variables (key `stageVariables`); absent in every real capture.
    #[serde(
        rename = "stageVariables",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stage_variables: Option<BTreeMap<String, String>>,
    /// The actual request path, e.g. `/test/value`.
    #[serde(rename = "path", default)]
    pub path: String,
    /// Every query key of the request (key `queryString`).
    #[serde(
        rename = "queryString",
        default,
        deserialize_with = "null_as_empty_map"
    )]
    pub query_string: BTreeMap<String, QueryValue>,
    /// The actual request method, e.g. `GET`.
    #[serde(rename = "httpMethod", default)]
    pub http_method: String,
    /// Whether `body` is base64 (key `isBase64Encoded`): a bool, a string or absent, kept as sent.
    /// Read it with [`is_base64_encoded`](Self::is_base64_encoded).
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

impl ApiGatewayRequest {
    /// Whether `body` is base64 (`isBase64Encoded` is `true` or `"true"`).
    pub fn is_base64_encoded(&self) -> bool {
        self.is_base64_encoded.value()
    }

    /// A header's value, the name matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        body::header(&self.headers, name).map(String::as_str)
    }

    /// The body's bytes: empty when absent, base64-decoded when flagged.
    pub fn body_bytes(&self) -> Result<Cow<'_, [u8]>, BodyError> {
        body::bytes(self.body.as_deref(), self.is_base64_encoded())
    }

    /// Parses the body (decoded when flagged) as JSON into `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, BodyError> {
        body::json(self.body.as_deref(), self.is_base64_encoded())
    }

    /// The first value of a query key (from `queryString`); `None` for a missing key or a flag.
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

    /// The gateway's request id: `requestContext.requestId`, else the `x-api-requestid` header.
    pub fn request_id(&self) -> Option<&str> {
        self.request_context
            .request_id
            .as_deref()
            .or_else(|| self.header("x-api-requestid"))
    }
}

/// `requestContext`: the API and the caller as the gateway sees them.
///
/// ```json
/// { "serviceId": "service-f94sy04v", "path": "/test/{path}", "httpMethod": "ANY",
///   "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
///   "identity": { "secretId": "abdcdxxxxxxxsdfs" }, "sourceIp": "10.0.2.14", "stage": "release" }
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiGatewayRequestContext {
    /// The gateway service, e.g. `service-f94sy04v` (key `serviceId`).
    #[serde(rename = "serviceId", default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The gateway service's name (key `serviceName`); WebSocket events carry it instead of
    /// `serviceId`.
    #[serde(
        rename = "serviceName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub service_name: Option<String>,
    /// The API's **configured** path template, e.g. `/test/{path}`.
    #[serde(rename = "path", default)]
    pub path: String,
    /// The API's **configured** method; `ANY` in real captures.
    #[serde(rename = "httpMethod", default)]
    pub http_method: String,
    /// The gateway's request id (key `requestId`); absent in real captures.
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The caller's identity; often `{}`.
    #[serde(rename = "identity", default, deserialize_with = "null_as_default")]
    pub identity: ApiGatewayIdentity,
    /// The client's IP address (key `sourceIp`).
    #[serde(rename = "sourceIp", default)]
    pub source_ip: String,
    /// The stage: `release`, `test`, `prepub`, ... (an open set).
    #[serde(rename = "stage", default)]
    pub stage: String,
    /// Set on WebSocket-enabled APIs (key `websocketEnable`).
    #[serde(
        rename = "websocketEnable",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub websocket_enable: Option<bool>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `requestContext.identity`: set only with key-pair authentication.
///
/// ```json
/// { "secretId": "abdcdxxxxxxxsdfs" }
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiGatewayIdentity {
    /// The caller's secret id (key `secretId`), with key-pair authentication only.
    #[serde(rename = "secretId", default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// An event of a WebSocket API: a client connecting (register function), sending a frame
/// (transfer function) or closing (cleanup function).
///
/// ```json
/// {
///   "requestContext": { "serviceName": "myservice", "path": "/ws", "httpMethod": "GET",
///                       "identity": {}, "sourceIp": "10.0.0.1", "stage": "release",
///                       "websocketEnable": true },
///   "websocket": { "action": "connecting",
///                  "secConnectionID": "ZjEwYjMwMzctY2JhOS00YWMxLWE1ZTMtM2I0NzY5MjAwMjc3",
///                  "secWebSocketProtocol": "chat,binary" }
/// }
/// ```
///
/// A data frame carries `{"action": "data send", "secConnectionID": ..., "dataType": "text",
/// "data": "hello"}`; a close carries `{"action": "closing", "secConnectionID": ...}`. Answer a
/// connect with a [`WebSocketReply`].
///
/// ```
/// use scf_events::apigw::{ApiGatewayWebSocketEvent, WebSocketAction};
///
/// let e: ApiGatewayWebSocketEvent = serde_json::from_str(r#"{"websocket":{
///   "action":"data send","secConnectionID":"abc","dataType":"binary","data":"AAEC"}}"#).unwrap();
/// assert_eq!(e.websocket.action, WebSocketAction::DataSend);
/// assert_eq!(e.websocket.data_bytes().unwrap().as_ref(), &[0u8, 1, 2]);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ApiGatewayWebSocketEvent {
    /// The API and caller; present on connect (with `serviceName` and `websocketEnable`).
    #[serde(
        rename = "requestContext",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_context: Option<ApiGatewayRequestContext>,
    /// The connection and what happened to it.
    #[serde(rename = "websocket")]
    pub websocket: WebSocketInfo,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ApiGatewayWebSocketEvent {
    /// The connection id (`websocket.secConnectionID`).
    pub fn connection_id(&self) -> &str {
        &self.websocket.sec_connection_id
    }
}

/// The `websocket` object of WebSocket events, replies and pushes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebSocketInfo {
    /// What happened: `connecting`, `data send`, `closing`, ...
    #[serde(rename = "action", default)]
    pub action: WebSocketAction,
    /// The connection id: base64 of a 128-bit id (key `secConnectionID`, capital `ID`).
    #[serde(rename = "secConnectionID", default)]
    pub sec_connection_id: String,
    /// The sub-protocols the client asked for, e.g. `chat,binary` (connect only; absent when none).
    #[serde(
        rename = "secWebSocketProtocol",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sec_web_socket_protocol: Option<String>,
    /// The extensions the client asked for (connect only; absent when none).
    #[serde(
        rename = "secWebSocketExtensions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sec_web_socket_extensions: Option<String>,
    /// The frame's type, `text` or `binary` (data frames only; key `dataType`).
    #[serde(rename = "dataType", default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<WebSocketDataType>,
    /// The frame's payload: text, or base64 when `dataType` is `binary` (data frames only).
    #[serde(rename = "data", default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl WebSocketInfo {
    /// The frame's payload bytes: base64-decoded for a `binary` frame, the text's bytes otherwise,
    /// empty when there is no `data`.
    pub fn data_bytes(&self) -> Result<Cow<'_, [u8]>, BodyError> {
        let binary = self.data_type == Some(WebSocketDataType::Binary);
        body::bytes(self.data.as_deref(), binary)
    }

    /// A text frame to push to connection `id` (`action: "data send"`).
    pub fn text_frame(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            action: WebSocketAction::DataSend,
            sec_connection_id: id.into(),
            data_type: Some(WebSocketDataType::Text),
            data: Some(text.into()),
            ..Self::default()
        }
    }

    /// A binary frame to push to connection `id` (data base64-encoded).
    pub fn binary_frame(id: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            action: WebSocketAction::DataSend,
            sec_connection_id: id.into(),
            data_type: Some(WebSocketDataType::Binary),
            data: Some(body::encode_base64(bytes)),
            ..Self::default()
        }
    }

    /// A request to close connection `id` (`action: "closing"`).
    pub fn close(id: impl Into<String>) -> Self {
        Self {
            action: WebSocketAction::Closing,
            sec_connection_id: id.into(),
            ..Self::default()
        }
    }
}

string_enum! {
    /// `websocket.action`.
    pub enum WebSocketAction {
        /// A client is connecting (register function).
        Connecting = "connecting",
        /// A frame from the client (transfer function), or a push to it.
        DataSend = "data send",
        /// A frame received (named by other SDKs, never seen in the docs).
        DataRecv = "data recv",
        /// The connection is closing (cleanup function), or a request to close it.
        Closing = "closing",
    }
}

string_enum! {
    /// `websocket.dataType` of a data frame.
    pub enum WebSocketDataType {
        /// `data` is text.
        Text = "text",
        /// `data` is base64 of binary data.
        Binary = "binary",
    }
}

/// The register function's answer to a connect, and the gateway's answer to a push.
///
/// ```json
/// { "errNo": 0, "errMsg": "ok",
///   "websocket": { "action": "connecting", "secConnectionID": "ZjEwYjMw...",
///                  "secWebSocketProtocol": "chat" } }
/// ```
///
/// `errNo` 0 accepts the connection; anything else refuses it.
///
/// ```
/// use scf_events::apigw::{ApiGatewayWebSocketEvent, WebSocketReply};
///
/// let connect: ApiGatewayWebSocketEvent = serde_json::from_str(
///     r#"{"websocket":{"action":"connecting","secConnectionID":"abc"}}"#).unwrap();
/// let reply = WebSocketReply::accept(&connect);
/// assert_eq!(serde_json::to_value(&reply).unwrap()["errNo"], 0);
/// assert!(WebSocketReply::refuse(1, "no").err_no != 0);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebSocketReply {
    /// 0 accepts (key `errNo`).
    #[serde(rename = "errNo", default)]
    pub err_no: i64,
    /// A message (key `errMsg`).
    #[serde(rename = "errMsg", default)]
    pub err_msg: String,
    /// The connection, echoed back on connect.
    #[serde(rename = "websocket", default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WebSocketInfo>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl WebSocketReply {
    /// Accepts a connect: `errNo` 0 and the event's `websocket` echoed back (its action,
    /// connection id, protocol and extensions).
    pub fn accept(event: &ApiGatewayWebSocketEvent) -> Self {
        let ws = &event.websocket;
        let mut reply = Self::refuse(0, "ok");
        reply.websocket = Some(WebSocketInfo {
            action: ws.action.clone(),
            sec_connection_id: ws.sec_connection_id.clone(),
            sec_web_socket_protocol: ws.sec_web_socket_protocol.clone(),
            sec_web_socket_extensions: ws.sec_web_socket_extensions.clone(),
            ..WebSocketInfo::default()
        });
        reply
    }

    /// Refuses a connect with a non-zero `err_no`.
    pub fn refuse(err_no: i64, message: impl Into<String>) -> Self {
        Self {
            err_no,
            err_msg: message.into(),
            websocket: None,
            #[cfg(feature = "catch-all-fields")]
            other: serde_json::Map::new(),
        }
    }

    /// Whether this reply accepts (`errNo` 0).
    pub fn is_accepted(&self) -> bool {
        self.err_no == 0
    }
}
