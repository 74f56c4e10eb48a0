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
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt as _;

use crate::host::{Host, Invoker as _};
use crate::http::cloud::CloudApi;
use crate::triggers::HttpTriggers;

pub use invoke::{REQUEST_ID_HEADER, error_response};

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

/// The router of `cargo scf serve`. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
/// so triggers see the client's address.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/functions/{name}/invocations", post(invoke::invoke_api))
        .route("/async/events", get(events::list))
        .route("/async/events/{request_id}", get(events::show))
        .route("/async/events/{request_id}/abort", post(events::abort))
        .route("/async/dlq", get(events::dead_letters))
        .route("/async/dlq/replay", post(events::replay))
        .route("/async/dlq/purge", post(events::purge))
        .route("/metrics", get(metrics::metrics))
        .route("/status", get(status))
        .merge(ui::routes())
        .route("/", axum::routing::any(root))
        .fallback(fallback)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
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
        seen += data.len();
        if seen <= limit {
            kept.extend_from_slice(&data);
        } else if seen > DRAIN_MAX_BYTES {
            break;
        }
    }
    Ok((seen <= limit).then(|| kept.freeze()))
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
    let deployed_web = crate::triggers::function_url::split_path(request.uri().path())
        .is_some_and(|(function, _)| state.host.is_deployed_web(function));
    match &state.triggers {
        Some(triggers) if !triggers.is_empty() || deployed_web => {
            triggers.handle(request, peer).await.map(Body::from)
        }
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
