//! The server's HTTP interface: the invoke API, the Cloud API, `/metrics`, `/status`, and every
//! other path handed to the HTTP triggers.
//!
//! **Invoke API** — `POST /functions/{name}/invocations`, body = the event (empty means `{}`):
//!
//! | Request header | Meaning |
//! |---|---|
//! | `X-Scf-Invocation-Type: Event` | async: `202` with `{"RequestId": …}` once accepted (`RequestResponse`, the default, is sync) |
//! | `X-Scf-Log-Type: Tail` | sync only: the last 4 KB of the invocation's log, base64, in `X-Scf-Log` |
//!
//! A sync success answers `200` with the function's result body as it was posted. A failure
//! answers `{"code": <SCF status>, "error": <name>, "message": …}` with the SCF status as the
//! HTTP status (e.g. `433`). Every answer carries `X-Scf-Request-Id`; executed invocations also
//! `X-Scf-Duration-Ms` (execution time) and `X-Scf-Mem-Usage` (peak bytes).
//!
//! **Cloud API** — `POST /` with `X-TC-Action` (see [`cloud`]).
//!
//! **Async events** — `/async/events…` and `/async/dlq…` (see [`crate::http::events`]).

pub mod cloud;
pub mod events;
pub mod tc3;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::BodyExt as _;

use crate::fault::{Fault, InvokeError, MAX_ASYNC_EVENT_BYTES, MAX_SYNC_EVENT_BYTES};
use crate::host::{Host, InvokeOptions};
use crate::http::cloud::CloudApi;
use crate::triggers::HttpTriggers;

/// `X-Scf-Request-Id`.
pub const REQUEST_ID_HEADER: &str = "x-scf-request-id";

/// What the HTTP handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The invoke path.
    pub host: Host,
    /// The HTTP triggers (API gateway routes, function URLs, web functions), if any.
    pub triggers: Option<HttpTriggers<Host>>,
    /// The Cloud API (with its signature verifier when a secret is configured).
    pub cloud: Arc<CloudApi>,
}

/// The router of `scf serve`. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
/// so triggers see the client's address.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/functions/{name}/invocations", post(invoke_api))
        .route("/async/events", get(crate::http::events::route_list))
        .route(
            "/async/events/{request_id}",
            get(crate::http::events::route_show),
        )
        .route(
            "/async/events/{request_id}/abort",
            post(crate::http::events::route_abort),
        )
        .route("/async/dlq", get(crate::http::events::route_dlq))
        .route("/async/dlq/replay", post(crate::http::events::route_replay))
        .route("/async/dlq/purge", post(crate::http::events::route_purge))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .merge(ui::routes())
        .route("/", axum::routing::any(root))
        .fallback(fallback)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Past its limit, a body is still read (and dropped) up to this size, so the client gets the
/// error answer instead of a reset connection.
const DRAIN_MAX_BYTES: usize = 32 * 1024 * 1024;

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
        seen += data.len();
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > DRAIN_MAX_BYTES {
            break;
        }
    }
    Ok((seen <= limit).then(|| kept.freeze()))
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The JSON error answer of the invoke API.
pub fn error_response(error: &InvokeError, request_id: &str) -> Response {
    let status = StatusCode::from_u16(error.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(error.to_json())).into_response();
    set_header(response.headers_mut(), REQUEST_ID_HEADER, request_id);
    set_header(response.headers_mut(), "x-scf-error-type", error.name());
    response
}

fn set_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

async fn invoke_api(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let fresh_id = || uuid::Uuid::new_v4().to_string();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let is_async = match header("x-scf-invocation-type") {
        None => false,
        Some(t) if t.eq_ignore_ascii_case("RequestResponse") => false,
        Some(t) if t.eq_ignore_ascii_case("Event") => true,
        Some(t) => {
            return error_response(
                &Fault::InvalidParameter.error(format!(
                    "X-Scf-Invocation-Type must be RequestResponse or Event, not {t:?}"
                )),
                &fresh_id(),
            );
        }
    };
    let tail = header("x-scf-log-type").is_some_and(|t| t.eq_ignore_ascii_case("Tail"));
    let limit = if is_async {
        MAX_ASYNC_EVENT_BYTES
    } else {
        MAX_SYNC_EVENT_BYTES
    };
    let too_large = || {
        Fault::RequestTooLarge.error(format!(
            "the event is over {limit} bytes, the limit of {} invocations",
            if is_async { "async" } else { "sync" }
        ))
    };
    let refuse = |error: InvokeError| {
        state.host.count_refusal(&name, &error);
        error_response(&error, &fresh_id())
    };
    if content_length(&headers).is_some_and(|n| n > DRAIN_MAX_BYTES) {
        return refuse(too_large());
    }
    let payload = match read_limited(body, limit).await {
        Ok(Some(b)) => b,
        Ok(None) => return refuse(too_large()),
        Err(e) => return error_response(&Fault::InvalidParameter.error(e), &fresh_id()),
    };
    if is_async {
        return match state.host.invoke_async(&name, payload).await {
            Ok(id) => {
                let mut response = (
                    StatusCode::ACCEPTED,
                    axum::Json(serde_json::json!({ "RequestId": id })),
                )
                    .into_response();
                set_header(response.headers_mut(), REQUEST_ID_HEADER, &id);
                response
            }
            Err(e) => error_response(&e, &fresh_id()),
        };
    }
    let outcome = state
        .host
        .invoke(&name, payload, InvokeOptions::default())
        .await;
    let mut response = match &outcome.result {
        Ok(body) => {
            let json = serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
            let mut r = Response::new(Body::from(body.clone()));
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(if json {
                    "application/json"
                } else {
                    "text/plain; charset=utf-8"
                }),
            );
            set_header(r.headers_mut(), REQUEST_ID_HEADER, &outcome.request_id);
            r
        }
        Err(e) => error_response(e, &outcome.request_id),
    };
    let h = response.headers_mut();
    set_header(
        h,
        "x-scf-duration-ms",
        &format!("{:.3}", outcome.duration.as_secs_f64() * 1000.0),
    );
    set_header(h, "x-scf-mem-usage", &outcome.mem_usage.to_string());
    if tail {
        let log = base64::engine::general_purpose::STANDARD.encode(outcome.log.as_bytes());
        set_header(h, "x-scf-log", &log);
    }
    response
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.host.metrics_text().into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

async fn status(State(state): State<AppState>) -> Response {
    axum::Json(serde_json::json!({
        "functions": state.host.status(),
        "in_flight": state.host.in_flight(),
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
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    match &state.triggers {
        Some(triggers) if !triggers.is_empty() => {
            triggers.handle(request, peer).await.map(Body::from)
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "code": 404,
                "error": "NotFound",
                "message": format!("nothing is served at {}", request.uri().path()),
            })),
        )
            .into_response(),
    }
}
