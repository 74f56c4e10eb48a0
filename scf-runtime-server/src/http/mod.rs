//! The server's HTTP interface: the invoke API, the Cloud API, `/metrics`, `/status`, and every
//! other path handed to the HTTP triggers.
//!
//! **Invoke API** — `POST /functions/{name}/invocations` (see [`invoke`]).
//!
//! **Metrics** — `GET /metrics` in OpenMetrics text.
//!
//! **Cloud API** — `POST /` with `X-TC-Action` (see [`cloud`]).
//!
//! **Async events** — `/async/events…` and `/async/dlq…` (see [`crate::http::events`]).
//!
//! **Health** — `GET /healthz`: `{"status": "ok"}`, never authenticated.
//!
//! **Authentication** — with credentials configured ([`cloud::auth`]), every route but
//! `/healthz` and the public triggers needs a TC3 signature or the bearer token; a refusal is
//! `401 {"code": 401, "error": "Unauthorized", "message": "AuthFailure.…: why"}` (the Cloud API
//! answers its own `Response.Error` instead).
//!
//! **Errors** — every refusal of the server's own routes is `{"code", "error", "message"}` JSON
//! with its HTTP status (a wrong method is `405` with `Allow`).

pub mod cloud;
pub mod events;
pub mod invoke;
mod metrics;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt as _;

use crate::fault::MAX_SYNC_EVENT_BYTES;
use crate::host::{Host, Invoker as _};
use crate::http::cloud::CloudApi;
use crate::http::cloud::auth::{Auth, TOKEN_COOKIE};
use crate::triggers::HttpTriggers;

pub use invoke::{REQUEST_ID_HEADER, error_response};

/// What the HTTP handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The invoke path.
    pub host: Host,
    /// The HTTP triggers (API gateway routes, function URLs, web functions), if any.
    pub triggers: Option<HttpTriggers<Host>>,
    /// The Cloud API (sharing [`AppState::auth`]).
    pub cloud: Arc<CloudApi>,
    /// The credentials every protected route checks.
    pub auth: Arc<Auth>,
}

/// Largest body of the small JSON routes (`/async/dlq/replay`, `/async/dlq/purge`, …).
pub const SMALL_BODY_BYTES: usize = 64 * 1024;

/// The router of `cargo scf serve`. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
/// so triggers see the client's address.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route(
            "/functions/{name}/invocations",
            own(post(invoke::invoke_api)),
        )
        .route("/async/events", own(get(events::list)))
        .route("/async/events/{request_id}", own(get(events::show)))
        .route("/async/events/{request_id}/abort", own(post(events::abort)))
        .route("/async/dlq", own(get(events::dead_letters)))
        .route("/async/dlq/replay", own(post(events::replay)))
        .route("/async/dlq/purge", own(post(events::purge)))
        .route("/metrics", own(get(metrics::metrics)))
        .route("/status", own(get(status)))
        .merge(ui::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_auth,
        ));
    Router::new()
        .merge(protected)
        .route("/healthz", own(get(healthz)))
        .route("/", axum::routing::any(root))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(SMALL_BODY_BYTES))
        .with_state(state)
}

/// What `cargo scf serve` answers HTTP requests with: the invoke API's route directly when its
/// credentials need no body read (no credentials configured, or the bearer token), every other
/// request through [`router`]. The direct route answers exactly as the router's would; it skips
/// the routing, the middleware and the extractors, which cost more than the rest of a warm
/// invocation in the server.
#[derive(Clone)]
pub struct Service {
    state: Arc<AppState>,
    router: Router,
}

impl Service {
    /// The service over `state`.
    pub fn new(state: AppState) -> Service {
        Service {
            router: router(state.clone()),
            state: Arc::new(state),
        }
    }

    /// Answers `request` from `peer`.
    pub async fn call(
        &self,
        request: http::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> Response {
        let auth = &self.state.auth;
        let (mut parts, body) = request.into_parts();
        if let Some(name) = invoke::invoke_target(&parts)
            && (!auth.is_enabled() || auth.has_token(&parts.headers))
        {
            return invoke::invoke(&self.state, name, &parts.headers, Body::new(body)).await;
        }
        parts.extensions.insert(ConnectInfo(peer));
        let request = http::Request::from_parts(parts, body);
        match tower::ServiceExt::oneshot(self.router.clone(), request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// A route of the server's own: a wrong method is a JSON 405 with `Allow`.
fn own(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(method_not_allowed)
}

async fn method_not_allowed(request: Request) -> Response {
    let status = StatusCode::METHOD_NOT_ALLOWED;
    (
        status,
        axum::Json(crate::fault::http_error_json(
            status,
            &format!(
                "{} does not take method {}",
                request.uri().path(),
                request.method()
            ),
        )),
    )
        .into_response()
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// The largest body a protected route reads (what a signed request's body is read up to).
fn body_limit(path: &str) -> usize {
    if path.starts_with("/functions/") {
        MAX_SYNC_EVENT_BYTES
    } else {
        SMALL_BODY_BYTES
    }
}

/// The 401 answer of the server's own routes.
fn unauthorized(error: &cloud::ApiError) -> Response {
    let status = StatusCode::UNAUTHORIZED;
    let mut response = (
        status,
        axum::Json(crate::fault::http_error_json(status, &error.to_string())),
    )
        .into_response();
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer, TC3-HMAC-SHA256"),
    );
    response
}

/// Lets `request` through when `auth` accepts it: the token as is, a TC3 signature after
/// reading the body (up to `limit` bytes; past it `413`). The request is given back with its
/// body, or the refusal.
pub(crate) async fn authenticate(
    auth: &Auth,
    request: Request,
    limit: usize,
) -> Result<Request, Response> {
    if !auth.is_enabled() || auth.has_token(request.headers()) {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = if Auth::is_signed(&parts.headers) {
        match read_limited(body, limit).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                let status = StatusCode::PAYLOAD_TOO_LARGE;
                let message = format!("the request body is over {limit} bytes");
                return Err((
                    status,
                    axum::Json(crate::fault::http_error_json(status, &message)),
                )
                    .into_response());
            }
            Err(e) => {
                let status = StatusCode::BAD_REQUEST;
                return Err((
                    status,
                    axum::Json(crate::fault::http_error_json(status, &e)),
                )
                    .into_response());
            }
        }
    } else {
        Bytes::new()
    };
    let now = chrono::Utc::now().timestamp();
    let query = parts.uri.query().unwrap_or("");
    auth.check(
        parts.method.as_str(),
        parts.uri.path(),
        query,
        &parts.headers,
        &bytes,
        now,
    )
    .map_err(|e| unauthorized(&e))?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The guard of the protected routes. `GET /ui?token=<token>` also sets the token cookie (so
/// the dashboard's own requests carry it) and sends the browser on to `/ui`.
async fn require_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/ui"
        && let Some(token) = request.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(|t| {
                    percent_encoding::percent_decode_str(t)
                        .decode_utf8_lossy()
                        .into_owned()
                })
        })
        && state.auth.token_is(&token)
    {
        let mut response =
            (StatusCode::SEE_OTHER, [(http::header::LOCATION, "/ui")]).into_response();
        let cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(v) = http::HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(http::header::SET_COOKIE, v);
        }
        return response;
    }
    let limit = body_limit(request.uri().path());
    match authenticate(&state.auth, request, limit).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    }
}

/// Past its limit, a body is still read (and dropped) up to this size, so the client gets the
/// error answer instead of a reset connection.
pub(crate) const DRAIN_MAX_BYTES: usize = 32 * 1024 * 1024;

/// Reads a body of at most `limit` bytes; `None` when it is longer (never keeping more than
/// `limit` bytes).
pub(crate) async fn read_limited(mut body: Body, limit: usize) -> Result<Option<Bytes>, String> {
    let mut kept = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("reading the request body failed: {e}"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > DRAIN_MAX_BYTES {
            break;
        } else if !kept.is_empty() {
            kept = bytes::BytesMut::new();
        }
    }
    Ok((seen <= limit).then(|| kept.freeze()))
}

async fn status(State(state): State<AppState>) -> Response {
    let queue = state.host.async_queue().map(|q| {
        serde_json::json!({
            "totals": q.totals(),
            "store_bytes": q.file_bytes(),
        })
    });
    axum::Json(serde_json::json!({
        "functions": state.host.status(),
        "in_flight": state.host.in_flight(),
        "async": queue,
    }))
    .into_response()
}

async fn root(State(state): State<AppState>, request: Request) -> Response {
    if request.method() == http::Method::POST && request.headers().contains_key("x-tc-action") {
        return state.cloud.handle(&state.host, request).await;
    }
    fallback(State(state), request).await
}

async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let request = match &state.triggers {
        Some(triggers) if triggers.requires_auth(request.method(), request.uri().path()) => {
            match authenticate(&state.auth, request, MAX_SYNC_EVENT_BYTES).await {
                Ok(request) => request,
                Err(refusal) => return refusal,
            }
        }
        _ => request,
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    // Without triggers of its own, a path is still served when it is the function URL of a web
    // function deployed through the Cloud API (looked up only then).
    let served = state.triggers.as_ref().is_some_and(|t| !t.is_empty())
        || crate::triggers::function_url::split_path(request.uri().path())
            .is_some_and(|(function, _)| state.host.is_deployed_web(function));
    match &state.triggers {
        Some(triggers) if served => triggers.handle(request, peer).await.map(Body::from),
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(crate::fault::http_error_json(
                StatusCode::NOT_FOUND,
                &format!("nothing is served at {}", request.uri().path()),
            )),
        )
            .into_response(),
    }
}
