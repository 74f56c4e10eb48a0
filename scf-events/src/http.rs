//! HTTP adapter (feature `http`): API Gateway and Function URL events as [`http::Request`]s, and
//! [`http::Response`]s as [`IntegratedResponse`]s, so any `tower::Service<http::Request<Body>>`
//! (an axum `Router`, say) can answer HTTP-style triggers.
//!
//! Event to request:
//! * the method is `httpMethod`; the URI is `path` plus the query rebuilt from `queryString` (an
//!   array repeats its key, `true` gives a bare key);
//! * the headers are `headers`; the body is `body`, base64-decoded when flagged;
//! * API Gateway's `requestContext`, `pathParameters`, `queryStringParameters`,
//!   `headerParameters` and `stageVariables` go into request extensions, read with
//!   [`RequestExt`] (which also has `with_*` builders for tests).
//!
//! Response to integrated response: a text-like `Content-Type` (`text/*`, `application/json`,
//! `application/javascript`, `application/xml`, `+json`, `+xml`) with a valid UTF-8 body is sent
//! as text; any other non-empty body as base64 with `isBase64Encoded: true`.
//!
//! ```
//! # #[cfg(feature = "apigw")] {
//! use scf_events::apigw::ApiGatewayRequest;
//! use scf_events::http::RequestExt;
//!
//! let event: ApiGatewayRequest = serde_json::from_str(r#"{
//!   "requestContext": {"serviceId": "service-1", "path": "/users/{id}", "httpMethod": "ANY",
//!                      "identity": {}, "sourceIp": "10.0.0.1", "stage": "release"},
//!   "headers": {"accept": "text/plain"}, "pathParameters": {"id": "7"},
//!   "queryStringParameters": {}, "headerParameters": {},
//!   "path": "/users/7", "queryString": {"verbose": true}, "httpMethod": "GET"
//! }"#).unwrap();
//! let request = event.into_http_request().unwrap();
//! assert_eq!(request.uri(), "/users/7?verbose");
//! assert_eq!(request.path_parameters().unwrap()["id"], "7");
//!
//! let response = http::Response::builder()
//!     .header("content-type", "text/plain")
//!     .body("user 7")
//!     .unwrap();
//! let reply = scf_events::IntegratedResponse::from(response);
//! assert_eq!((reply.status_code, reply.body.as_str()), (200, "user 7"));
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt as _;

use crate::integrated_response::{IntegratedResponse, InvalidResponse};
#[cfg(any(feature = "apigw", feature = "function_url"))]
use {
    crate::custom_serde::query::{QueryValue, to_query_string},
    http::Method,
    percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode},
    serde::{Deserialize, Serialize},
};

/// The request body type the adapter produces: the whole body in memory.
pub type Body = http_body_util::Full<Bytes>;

/// A boxed error from a service or a response body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why an event could not become a request, or a service could not produce an answer.
#[derive(Debug)]
pub struct HttpError {
    kind: HttpErrorKind,
}

#[derive(Debug)]
#[cfg_attr(
    not(any(feature = "apigw", feature = "function_url")),
    allow(dead_code)
)]
enum HttpErrorKind {
    Event(String),
    Service(BoxError),
    Body(BoxError),
}

impl HttpError {
    #[cfg_attr(
        not(any(feature = "apigw", feature = "function_url")),
        allow(dead_code)
    )]
    fn event(reason: impl Into<String>) -> Self {
        Self {
            kind: HttpErrorKind::Event(reason.into()),
        }
    }

    /// Whether the event could not be turned into a request (bad method, header or body).
    pub fn is_event(&self) -> bool {
        matches!(self.kind, HttpErrorKind::Event(_))
    }

    /// Whether the service failed (not ready, or `call` returned an error).
    pub fn is_service(&self) -> bool {
        matches!(self.kind, HttpErrorKind::Service(_))
    }

    /// Whether reading the response body failed.
    pub fn is_body(&self) -> bool {
        matches!(self.kind, HttpErrorKind::Body(_))
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            HttpErrorKind::Event(reason) => {
                write!(f, "the event is not a valid HTTP request: {reason}")
            }
            HttpErrorKind::Service(e) => write!(f, "the HTTP service failed: {e}"),
            HttpErrorKind::Body(e) => write!(f, "reading the response body failed: {e}"),
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            HttpErrorKind::Event(_) => None,
            HttpErrorKind::Service(e) | HttpErrorKind::Body(e) => Some(&**e),
        }
    }
}

#[cfg(any(feature = "apigw", feature = "function_url"))]
/// An HTTP-style event: API Gateway or Function URL, told apart by `requestContext`.
///
/// A handler taking `HttpEvent` serves both triggers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HttpEvent {
    /// An API Gateway request.
    #[cfg(feature = "apigw")]
    ApiGateway(Box<crate::apigw::ApiGatewayRequest>),
    /// A Function URL request.
    #[cfg(feature = "function_url")]
    FunctionUrl(Box<crate::function_url::FunctionUrlRequest>),
}

#[cfg(any(feature = "apigw", feature = "function_url"))]
impl Default for HttpEvent {
    fn default() -> Self {
        #[cfg(feature = "apigw")]
        return Self::ApiGateway(Box::default());
        #[cfg(not(feature = "apigw"))]
        return Self::FunctionUrl(Box::default());
    }
}

#[cfg(any(feature = "apigw", feature = "function_url"))]
impl<'de> Deserialize<'de> for HttpEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(deserializer)?;
        let has_context = value.get("requestContext").is_some();
        #[cfg(feature = "apigw")]
        if has_context || !cfg!(feature = "function_url") {
            return crate::apigw::ApiGatewayRequest::deserialize(value)
                .map(|e| Self::ApiGateway(Box::new(e)))
                .map_err(D::Error::custom);
        }
        let _ = has_context;
        #[cfg(feature = "function_url")]
        return crate::function_url::FunctionUrlRequest::deserialize(value)
            .map(|e| Self::FunctionUrl(Box::new(e)))
            .map_err(D::Error::custom);
        #[cfg(not(feature = "function_url"))]
        unreachable!("HttpEvent needs the apigw or function_url feature")
    }
}

#[cfg(any(feature = "apigw", feature = "function_url"))]
impl Serialize for HttpEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            #[cfg(feature = "apigw")]
            Self::ApiGateway(e) => e.serialize(serializer),
            #[cfg(feature = "function_url")]
            Self::FunctionUrl(e) => e.serialize(serializer),
        }
    }
}

#[cfg(feature = "apigw")]
impl From<crate::apigw::ApiGatewayRequest> for HttpEvent {
    fn from(e: crate::apigw::ApiGatewayRequest) -> Self {
        Self::ApiGateway(Box::new(e))
    }
}

#[cfg(feature = "function_url")]
impl From<crate::function_url::FunctionUrlRequest> for HttpEvent {
    fn from(e: crate::function_url::FunctionUrlRequest) -> Self {
        Self::FunctionUrl(Box::new(e))
    }
}

#[cfg(any(feature = "apigw", feature = "function_url"))]
impl HttpEvent {
    /// The event as an [`http::Request`].
    pub fn into_http_request(self) -> Result<Request<Body>, HttpError> {
        match self {
            #[cfg(feature = "apigw")]
            Self::ApiGateway(e) => e.into_http_request(),
            #[cfg(feature = "function_url")]
            Self::FunctionUrl(e) => e.into_http_request(),
        }
    }
}

#[cfg(any(feature = "apigw", feature = "function_url"))]
/// Path characters escaped when building the URI: controls, space and the characters a URI path
/// cannot hold. `%` is kept, so an already-encoded path stays as it is.
const PATH_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

#[cfg(any(feature = "apigw", feature = "function_url"))]
/// The parts shared by both events.
struct Parts<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a BTreeMap<String, QueryValue>,
    headers: &'a BTreeMap<String, String>,
}

#[cfg(any(feature = "apigw", feature = "function_url"))]
fn build(parts: Parts<'_>) -> Result<http::request::Builder, HttpError> {
    let method = if parts.method.is_empty() {
        Method::GET
    } else {
        Method::from_bytes(parts.method.as_bytes()).map_err(|_| {
            HttpError::event(format!("`httpMethod` {:?} is not a method", parts.method))
        })?
    };
    let path = if parts.path.is_empty() {
        "/"
    } else {
        parts.path
    };
    let mut uri: String = utf8_percent_encode(path, PATH_ESCAPE).collect();
    if !uri.starts_with('/') {
        uri.insert(0, '/');
    }
    let query = to_query_string(parts.query);
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(&query);
    }
    let uri: http::Uri = uri.parse().map_err(|e| {
        HttpError::event(format!("`path` {:?} gives no valid URI ({e})", parts.path))
    })?;
    let mut builder = Request::builder().method(method).uri(uri);
    let headers = builder.headers_mut().expect("a fresh builder has no error");
    for (name, value) in parts.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::event(format!("header name {name:?} is not valid")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            HttpError::event(format!("header {name}: value {value:?} is not valid"))
        })?;
        headers.append(name, value);
    }
    Ok(builder)
}

#[cfg(feature = "apigw")]
impl crate::apigw::ApiGatewayRequest {
    /// The event as an [`http::Request`], with `requestContext` and the parameter maps in its
    /// extensions (see [`RequestExt`]).
    pub fn into_http_request(self) -> Result<Request<Body>, HttpError> {
        let body = self
            .body_bytes()
            .map_err(|e| HttpError::event(e.to_string()))?
            .into_owned();
        let builder = build(Parts {
            method: &self.http_method,
            path: &self.path,
            query: &self.query_string,
            headers: &self.headers,
        })?;
        let mut request = builder
            .body(Body::new(Bytes::from(body)))
            .map_err(|e| HttpError::event(e.to_string()))?;
        let ext = request.extensions_mut();
        ext.insert(self.request_context);
        ext.insert(PathParameters(self.path_parameters));
        ext.insert(QueryStringParameters(self.query_string_parameters));
        ext.insert(HeaderParameters(self.header_parameters));
        if let Some(vars) = self.stage_variables {
            ext.insert(StageVariables(vars));
        }
        Ok(request)
    }
}

#[cfg(feature = "function_url")]
impl crate::function_url::FunctionUrlRequest {
    /// The event as an [`http::Request`].
    pub fn into_http_request(self) -> Result<Request<Body>, HttpError> {
        let body = self
            .body_bytes()
            .map_err(|e| HttpError::event(e.to_string()))?
            .into_owned();
        let builder = build(Parts {
            method: &self.http_method,
            path: &self.path,
            query: &self.query_string,
            headers: &self.headers,
        })?;
        builder
            .body(Body::new(Bytes::from(body)))
            .map_err(|e| HttpError::event(e.to_string()))
    }
}

/// API Gateway's `pathParameters`, in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathParameters(pub BTreeMap<String, String>);

/// API Gateway's `queryStringParameters` (the declared query parameters), in the request's
/// extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryStringParameters(pub BTreeMap<String, String>);

/// API Gateway's `headerParameters` (the declared header parameters), in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderParameters(pub BTreeMap<String, String>);

/// API Gateway's `stageVariables`, in the request's extensions when the event had them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageVariables(pub BTreeMap<String, String>);

/// Reads (and, for tests, sets) what the adapter stores in a request's extensions.
///
/// ```
/// use scf_events::http::RequestExt;
/// use std::collections::BTreeMap;
///
/// let request = http::Request::new(())
///     .with_path_parameters(BTreeMap::from([("id".to_owned(), "7".to_owned())]));
/// assert_eq!(request.path_parameters().unwrap()["id"], "7");
/// assert!(request.stage_variables().is_none());
/// ```
pub trait RequestExt: Sized {
    /// API Gateway's `requestContext`.
    #[cfg(feature = "apigw")]
    fn request_context(&self) -> Option<&crate::apigw::ApiGatewayRequestContext>;
    /// `pathParameters`.
    fn path_parameters(&self) -> Option<&BTreeMap<String, String>>;
    /// `queryStringParameters`.
    fn query_string_parameters(&self) -> Option<&BTreeMap<String, String>>;
    /// `headerParameters`.
    fn header_parameters(&self) -> Option<&BTreeMap<String, String>>;
    /// `stageVariables`.
    fn stage_variables(&self) -> Option<&BTreeMap<String, String>>;
    /// Sets `requestContext`.
    #[cfg(feature = "apigw")]
    fn with_request_context(self, context: crate::apigw::ApiGatewayRequestContext) -> Self;
    /// Sets `pathParameters`.
    fn with_path_parameters(self, map: BTreeMap<String, String>) -> Self;
    /// Sets `queryStringParameters`.
    fn with_query_string_parameters(self, map: BTreeMap<String, String>) -> Self;
    /// Sets `headerParameters`.
    fn with_header_parameters(self, map: BTreeMap<String, String>) -> Self;
    /// Sets `stageVariables`.
    fn with_stage_variables(self, map: BTreeMap<String, String>) -> Self;
}

impl<B> RequestExt for Request<B> {
    #[cfg(feature = "apigw")]
    fn request_context(&self) -> Option<&crate::apigw::ApiGatewayRequestContext> {
        self.extensions().get()
    }
    fn path_parameters(&self) -> Option<&BTreeMap<String, String>> {
        self.extensions().get::<PathParameters>().map(|p| &p.0)
    }
    fn query_string_parameters(&self) -> Option<&BTreeMap<String, String>> {
        self.extensions()
            .get::<QueryStringParameters>()
            .map(|p| &p.0)
    }
    fn header_parameters(&self) -> Option<&BTreeMap<String, String>> {
        self.extensions().get::<HeaderParameters>().map(|p| &p.0)
    }
    fn stage_variables(&self) -> Option<&BTreeMap<String, String>> {
        self.extensions().get::<StageVariables>().map(|p| &p.0)
    }
    #[cfg(feature = "apigw")]
    fn with_request_context(mut self, context: crate::apigw::ApiGatewayRequestContext) -> Self {
        self.extensions_mut().insert(context);
        self
    }
    fn with_path_parameters(mut self, map: BTreeMap<String, String>) -> Self {
        self.extensions_mut().insert(PathParameters(map));
        self
    }
    fn with_query_string_parameters(mut self, map: BTreeMap<String, String>) -> Self {
        self.extensions_mut().insert(QueryStringParameters(map));
        self
    }
    fn with_header_parameters(mut self, map: BTreeMap<String, String>) -> Self {
        self.extensions_mut().insert(HeaderParameters(map));
        self
    }
    fn with_stage_variables(mut self, map: BTreeMap<String, String>) -> Self {
        self.extensions_mut().insert(StageVariables(map));
        self
    }
}

/// Whether a `Content-Type` is sent as text: `text/*`, `application/json`,
/// `application/javascript`, `application/xml`, or a `+json` / `+xml` suffix.
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
            "application/json" | "application/javascript" | "application/xml"
        )
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

impl IntegratedResponse {
    /// Builds the integrated response for an HTTP answer whose body is already read: text for a
    /// text-like content type with a UTF-8 body, else base64. Header values that are not UTF-8 are
    /// converted lossily.
    pub fn from_http_parts(parts: &http::response::Parts, body: &[u8]) -> Self {
        let mut reply = Self::empty(parts.status.as_u16());
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            reply
                .headers
                .entry(canonical_name(name))
                .or_default()
                .push(value);
        }
        let text = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_text_content_type);
        match std::str::from_utf8(body) {
            Ok(s) if text || body.is_empty() => reply.body = s.to_owned(),
            _ => {
                reply.body = crate::body::encode_base64(body);
                reply.is_base64_encoded = true;
            }
        }
        reply
    }

    /// The HTTP answer this reply describes: status, headers (one line per array value) and the
    /// body, base64-decoded when flagged. Fails, naming the problem, on a status outside
    /// 100..=599, an invalid header name or value, or a body flagged base64 that is not.
    pub fn into_http(self) -> Result<Response<Bytes>, InvalidResponse> {
        let status = match self.status_code {
            100..=599 => StatusCode::from_u16(self.status_code).map_err(|e| {
                InvalidResponse::new(format!("`statusCode` {}: {e}", self.status_code))
            })?,
            n => {
                return Err(InvalidResponse::new(format!(
                    "`statusCode` must be an integer from 100 to 599, got {n}"
                )));
            }
        };
        let body = self
            .body_bytes()
            .map_err(|e| InvalidResponse::new(e.to_string()))?
            .into_owned();
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = status;
        for (name, values) in &self.headers {
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                InvalidResponse::new(format!(
                    "header name {name:?} is not a valid HTTP header name"
                ))
            })?;
            for v in values.iter() {
                let value = HeaderValue::from_str(v).map_err(|_| {
                    InvalidResponse::new(format!(
                        "header {name:?}: value {v:?} is not a valid header value"
                    ))
                })?;
                response.headers_mut().append(header.clone(), value);
            }
        }
        Ok(response)
    }
}

/// `content-type` -> `Content-Type`: the conventional casing for the reply's header names.
fn canonical_name(name: &HeaderName) -> String {
    let mut out = String::with_capacity(name.as_str().len());
    let mut upper = true;
    for c in name.as_str().chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

impl<B: AsRef<[u8]>> From<Response<B>> for IntegratedResponse {
    /// See [`IntegratedResponse::from_http_parts`].
    fn from(response: Response<B>) -> Self {
        let (parts, body) = response.into_parts();
        Self::from_http_parts(&parts, body.as_ref())
    }
}

/// Reads a response's whole body and builds its integrated response (see
/// [`IntegratedResponse::from_http_parts`]).
pub async fn into_integrated_response<B>(
    response: Response<B>,
) -> Result<IntegratedResponse, HttpError>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| HttpError {
            kind: HttpErrorKind::Body(e.into()),
        })?
        .to_bytes();
    Ok(IntegratedResponse::from_http_parts(&parts, &bytes))
}

#[cfg(any(feature = "apigw", feature = "function_url"))]
/// Runs an HTTP-style event through a `tower::Service` (an axum `Router`, say) and answers its
/// integrated response.
///
/// ```
/// use scf_events::http::{Body, call_service};
/// use scf_events::function_url::FunctionUrlRequest;
///
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// let mut svc = tower::service_fn(|req: http::Request<Body>| async move {
///     let text = format!("{} {}", req.method(), req.uri());
///     Ok::<_, std::convert::Infallible>(
///         http::Response::builder().header("content-type", "text/plain").body(text).unwrap())
/// });
/// let event: FunctionUrlRequest = serde_json::from_str(
///     r#"{"headers":{},"httpMethod":"GET","path":"/hi","queryString":{"a":"1"}}"#).unwrap();
/// let reply = block_on(call_service(&mut svc, event)).unwrap();
/// assert_eq!(reply.body, "GET /hi?a=1");
/// ```
pub async fn call_service<S, B>(
    service: &mut S,
    event: impl Into<HttpEvent>,
) -> Result<IntegratedResponse, HttpError>
where
    S: tower::Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let request = event.into().into_http_request()?;
    let service_error = |e: S::Error| HttpError {
        kind: HttpErrorKind::Service(e.into()),
    };
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(service_error)?;
    let response = service.call(request).await.map_err(service_error)?;
    into_integrated_response(response).await
}
