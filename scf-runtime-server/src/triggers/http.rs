//! The HTTP side of the triggers: one handler that serves API gateway routes, function URLs and
//! web functions, for the server's HTTP listener to call on every path it does not serve itself.
//!
//! A request is read up to the platform's 6 MB sync limit (413 past it, before any function is
//! touched), routed, turned into an event and sent through the [`Invoker`] (event functions) or
//! proxied to an instance (web functions), and the result is turned back into an HTTP answer
//! (see [`response`](super::response) for the table).

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Limited};

use super::apigw;
use super::function_url;
use super::request::HttpRequest;
use super::response::{
    function_error_response, gateway_error, malformed_response, parse_integrated,
};
use crate::config::ApigwRoute;
use crate::config::route::{RouteMatch, pick};
use crate::fault::MAX_SYNC_EVENT_BYTES;
use crate::host::Invoker;
use crate::host::web;

/// API gateway routes, function URLs and web functions, in front of an [`Invoker`].
///
/// Cheap to clone; build it with [`HttpTriggers::new`] and the `with_*` methods.
#[derive(Clone)]
pub struct HttpTriggers<I> {
    invoker: I,
    routes: Vec<ApigwRoute>,
    function_urls: Vec<String>,
    url_auth: Vec<String>,
    web: Vec<String>,
}

impl<I> fmt::Debug for HttpTriggers<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTriggers")
            .field("routes", &self.routes)
            .field("function_urls", &self.function_urls)
            .field("web", &self.web)
            .finish_non_exhaustive()
    }
}

impl<I: Invoker> HttpTriggers<I> {
    /// No routes yet; events go to `invoker`.
    pub fn new(invoker: I) -> Self {
        HttpTriggers {
            invoker,
            routes: Vec::new(),
            function_urls: Vec::new(),
            url_auth: Vec::new(),
            web: Vec::new(),
        }
    }

    /// Adds an API gateway route (checked with [`ApigwRoute::new`]).
    pub fn with_apigw(mut self, route: ApigwRoute) -> Self {
        self.add_apigw(route);
        self
    }

    /// Gives `function` a function URL at `/fn/<function>/`.
    pub fn with_function_url(mut self, function: &str) -> Self {
        self.add_function_url(function);
        self
    }

    /// Declares `function` a web function: requests on its routes and URL are passed on as HTTP
    /// through [`Invoker::invoke_web`] instead of being invoked with an event.
    pub fn with_web_function(mut self, function: &str) -> Self {
        self.add_web_function(function);
        self
    }

    /// [`with_apigw`](Self::with_apigw) in place.
    pub fn add_apigw(&mut self, route: ApigwRoute) {
        self.routes.push(route);
    }

    /// [`with_function_url`](Self::with_function_url) in place.
    pub fn add_function_url(&mut self, function: &str) {
        if !self.function_urls.iter().any(|f| f == function) {
            self.function_urls.push(function.to_owned());
        }
    }

    /// Makes the function URL of `function` require authentication (`auth = true`).
    pub fn require_auth_on_url(&mut self, function: &str) {
        if !self.url_auth.iter().any(|f| f == function) {
            self.url_auth.push(function.to_owned());
        }
    }

    /// Whether the trigger a request with `method` on `path` reaches was configured with
    /// `auth = true` (public triggers, the default, answer anyone).
    pub fn requires_auth(&self, method: &http::Method, path: &str) -> bool {
        if let Some((function, _)) = function_url::split_path(path)
            && self.function_urls.iter().any(|f| f == function)
        {
            return self.url_auth.iter().any(|f| f == function);
        }
        let routes = self.routes.iter().map(|r| (&r.template, &r.methods));
        match pick(routes, method, path) {
            RouteMatch::Found(i, _) => self.routes[i].auth,
            _ => false,
        }
    }

    /// [`with_web_function`](Self::with_web_function) in place.
    pub fn add_web_function(&mut self, function: &str) {
        if !self.is_web(function) {
            self.web.push(function.to_owned());
        }
    }

    fn is_web(&self, function: &str) -> bool {
        self.web.iter().any(|f| f == function)
    }

    /// The invoker events go to.
    pub fn invoker(&self) -> &I {
        &self.invoker
    }

    /// The API gateway routes.
    pub fn routes(&self) -> &[ApigwRoute] {
        &self.routes
    }

    /// Whether any trigger is configured (when not, the server can skip this handler).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.function_urls.is_empty()
    }

    /// Serves one request from `peer`. Never fails: every problem is an HTTP answer.
    pub async fn handle<B>(&self, request: Request<B>, peer: SocketAddr) -> Response<Bytes>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_SYNC_EVENT_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return too_large(&request_id);
            }
            Err(e) => {
                return gateway_error(
                    StatusCode::BAD_REQUEST,
                    &format!("reading the request body failed: {e}"),
                    &request_id,
                );
            }
        };

        if let Some((function, path)) = function_url::split_path(parts.uri.path())
            && (self.function_urls.iter().any(|f| f == function)
                || self.invoker.is_deployed_web(function))
        {
            let function = function.to_owned();
            if self.is_web(&function) || self.invoker.is_deployed_web(&function) {
                let mut request = Request::from_parts(parts, body);
                let query = request
                    .uri()
                    .query()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                *request.uri_mut() = format!("{path}{query}").parse().unwrap_or_default();
                return self.proxy(&function, request, &request_id).await;
            }
            let req = HttpRequest::from_parts(&parts, body, peer);
            let event = function_url::build_event(&req, &path);
            return self
                .invoke_event(&function, event, true, None, &request_id)
                .await;
        }

        let routes = self.routes.iter().map(|r| (&r.template, &r.methods));
        match pick(routes, &parts.method, parts.uri.path()) {
            RouteMatch::Found(i, params) => {
                let route = &self.routes[i];
                if self.is_web(&route.function) {
                    let request = Request::from_parts(parts, body);
                    return match tokio::time::timeout(
                        route.timeout,
                        self.proxy(&route.function, request, &request_id),
                    )
                    .await
                    {
                        Ok(response) => response,
                        Err(_) => gateway_timeout(route, &request_id),
                    };
                }
                let req = HttpRequest::from_parts(&parts, body, peer);
                let event = apigw::build_event(route, &req, &params, &request_id);
                self.invoke_event(
                    &route.function,
                    event,
                    route.integrated_response,
                    Some(route),
                    &request_id,
                )
                .await
            }
            RouteMatch::MethodNotAllowed(allow) => {
                let mut response = gateway_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("no API accepts method {} on this path", parts.method),
                    &request_id,
                );
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(http::header::ALLOW, v);
                }
                response
            }
            RouteMatch::NotFound => gateway_error(
                StatusCode::NOT_FOUND,
                &format!("no API matches the path {}", parts.uri.path()),
                &request_id,
            ),
        }
    }

    /// Passes a request to web function `function`; a failure is the host's error answer.
    async fn proxy(
        &self,
        function: &str,
        request: Request<Bytes>,
        request_id: &str,
    ) -> Response<Bytes> {
        match self.invoker.invoke_web(function, request, request_id).await {
            Ok(response) => response,
            Err(error) => web::error_response(&error, request_id),
        }
    }

    async fn invoke_event(
        &self,
        function: &str,
        event: serde_json::Value,
        integrated: bool,
        route: Option<&ApigwRoute>,
        request_id: &str,
    ) -> Response<Bytes> {
        let payload = Bytes::from(serde_json::to_vec(&event).expect("an event serialises"));
        if payload.len() > MAX_SYNC_EVENT_BYTES {
            return too_large(request_id);
        }
        let call = self.invoker.invoke(function, payload);
        let outcome = match route {
            Some(route) => match tokio::time::timeout(route.timeout, call).await {
                Ok(outcome) => outcome,
                Err(_) => return gateway_timeout(route, request_id),
            },
            None => call.await,
        };
        match outcome {
            Ok(result) if integrated => match parse_integrated(&result) {
                Ok(mut response) => {
                    if let Ok(v) = HeaderValue::from_str(request_id) {
                        response
                            .headers_mut()
                            .insert(http::HeaderName::from_static("x-api-requestid"), v);
                    }
                    response
                }
                Err(e) => {
                    tracing::warn!(function, request_id, error = %e, "function returned a malformed integrated response");
                    malformed_response(request_id)
                }
            },
            Ok(result) => {
                let mut response = Response::new(result);
                if let Ok(v) = HeaderValue::from_str(request_id) {
                    response
                        .headers_mut()
                        .insert(http::HeaderName::from_static("x-api-requestid"), v);
                }
                response
            }
            Err(err) => function_error_response(&err, request_id),
        }
    }
}

fn too_large(request_id: &str) -> Response<Bytes> {
    gateway_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!(
            "the request is larger than the {MAX_SYNC_EVENT_BYTES}-byte limit of a synchronous event"
        ),
        request_id,
    )
}

fn gateway_timeout(route: &ApigwRoute, request_id: &str) -> Response<Bytes> {
    gateway_error(
        StatusCode::GATEWAY_TIMEOUT,
        &format!(
            "the backend did not answer within the API's timeout of {} s",
            route.timeout.as_secs()
        ),
        request_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApigwTriggerConfig;
    use crate::fault::{Fault, InvokeError};
    use http_body_util::Full;
    use serde_json::{Value, json};
    use std::sync::{Arc, Mutex};

    /// Answers every invoke with a fixed outcome and records the events.
    type Answer = dyn Fn(&Value) -> Result<Bytes, InvokeError> + Send + Sync;

    #[derive(Clone)]
    struct Fake {
        answer: Arc<Answer>,
        seen: Arc<Mutex<Vec<(String, Value)>>>,
    }

    impl Fake {
        fn new(
            answer: impl Fn(&Value) -> Result<Bytes, InvokeError> + Send + Sync + 'static,
        ) -> Self {
            Fake {
                answer: Arc::new(answer),
                seen: Arc::default(),
            }
        }
    }

    impl Invoker for Fake {
        async fn invoke(&self, function: &str, payload: Bytes) -> Result<Bytes, InvokeError> {
            let event: Value = serde_json::from_slice(&payload).unwrap();
            self.seen
                .lock()
                .unwrap()
                .push((function.to_owned(), event.clone()));
            (self.answer)(&event)
        }

        async fn invoke_async(
            &self,
            _function: &str,
            _payload: Bytes,
        ) -> Result<String, InvokeError> {
            Ok("rid".into())
        }
    }

    fn peer() -> SocketAddr {
        "127.0.0.1:9999".parse().unwrap()
    }

    fn req(method: &str, uri: &str, body: &'static [u8]) -> Request<Full<Bytes>> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body)))
            .unwrap()
    }

    fn triggers(fake: &Fake) -> HttpTriggers<Fake> {
        let mut post = ApigwTriggerConfig::new("/echo");
        post.methods = vec!["POST".into()];
        HttpTriggers::new(fake.clone())
            .with_apigw(
                ApigwRoute::new("hello", &ApigwTriggerConfig::new("/hello/{name}")).unwrap(),
            )
            .with_apigw(ApigwRoute::new("echo", &post).unwrap())
            .with_function_url("echo")
    }

    #[tokio::test]
    async fn apigw_round_trip() {
        let fake = Fake::new(|event| {
            let body = json!({"statusCode": 200, "headers": {"x-name": event["pathParameters"]["name"]}, "body": "ok"});
            Ok(Bytes::from(body.to_string()))
        });
        let t = triggers(&fake);
        let r = t.handle(req("GET", "/hello/ann?x=1", b""), peer()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-name"], "ann");
        assert!(r.headers().contains_key("x-api-requestid"));
        assert_eq!(r.body(), "ok");
        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen[0].0, "hello");
        assert_eq!(seen[0].1["queryString"], json!({"x": "1"}));
    }

    #[tokio::test]
    async fn routing_errors() {
        let fake = Fake::new(|_| Ok(Bytes::from_static(b"{}")));
        let t = triggers(&fake);
        let r = t.handle(req("GET", "/nothing", b""), peer()).await;
        assert_eq!(r.status(), 404);
        let r = t.handle(req("GET", "/echo", b""), peer()).await;
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "POST");
        let r = t.handle(req("GET", "/fn/unknown/", b""), peer()).await;
        assert_eq!(r.status(), 404);
        assert!(fake.seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn malformed_replies_and_function_errors() {
        let fake = Fake::new(|_| Ok(Bytes::from_static(b"{}")));
        let r = triggers(&fake)
            .handle(req("POST", "/echo", b"{}"), peer())
            .await;
        assert_eq!(r.status(), 502);
        assert_eq!(r.body(), crate::triggers::response::MALFORMED_BODY);
        let fake = Fake::new(|_| Err(Fault::UserError.error("boom")));
        let r = triggers(&fake)
            .handle(req("POST", "/echo", b"{}"), peer())
            .await;
        assert_eq!(r.status(), 502);
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["code"], 430);
    }

    #[tokio::test]
    async fn oversized_bodies_never_reach_the_function() {
        let fake = Fake::new(|_| Ok(Bytes::from_static(b"{}")));
        let big = vec![b'a'; MAX_SYNC_EVENT_BYTES + 1];
        let request = Request::builder()
            .method("POST")
            .uri("/echo")
            .body(Full::new(Bytes::from(big)))
            .unwrap();
        let r = triggers(&fake).handle(request, peer()).await;
        assert_eq!(r.status(), 413);
        // Within the raw limit but over it once base64-encoded into the event.
        let big = vec![0xffu8; MAX_SYNC_EVENT_BYTES - 10];
        let request = Request::builder()
            .method("POST")
            .uri("/echo")
            .body(Full::new(Bytes::from(big)))
            .unwrap();
        let r = triggers(&fake).handle(request, peer()).await;
        assert_eq!(r.status(), 413);
        assert!(fake.seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn function_urls_get_their_own_event() {
        let fake = Fake::new(|event| {
            Ok(Bytes::from(
                json!({"statusCode": 202, "body": event["path"]}).to_string(),
            ))
        });
        let r = triggers(&fake)
            .handle(req("PUT", "/fn/echo/a/b?k", b"{}"), peer())
            .await;
        assert_eq!(r.status(), 202);
        assert_eq!(r.body(), "/a/b");
        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen[0].0, "echo");
        assert_eq!(seen[0].1["queryString"], json!({"k": true}));
        assert!(seen[0].1.get("requestContext").is_none());
    }
}
