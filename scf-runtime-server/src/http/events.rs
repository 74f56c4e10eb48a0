//! Async events over HTTP: the JSON routes `cargo scf events` and `cargo scf dlq` use. (The Cloud API's
//! async event actions are in [`cloud`](super::cloud).)
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /async/events?function=&status=&source=&offset=&limit=&order=asc` | [`EventPage`]: `{"events": [event…], "total"}` (newest first unless `order=asc`; `status` and `source` may be comma lists: `RUNNING,FAILED`, `TIMER`) |
//! | `GET /async/events/{request_id}` | one [`EventView`] with its `payload` (when still kept) |
//! | `POST /async/events/{request_id}/abort` | the aborted [`EventView`] (only a queued event can be aborted) |
//! | `GET /async/dlq?function=&offset=&limit=` | [`DeadLetterPage`]: `{"dead_letters": [dead letter…], "total"}` |
//! | `POST /async/dlq/replay` `{"function"?, "request_ids"?: [..], "fresh_id"?: bool}` | [`Replayed`]: `{"queued": [request ids]}` |
//! | `POST /async/dlq/purge` `{"function"?, "request_ids"?: [..]}` | [`Purged`]: `{"purged": n}` |
//!
//! An event is `{"attempts", "created", "ended", "error": {"code", "message"}, "function",
//! "give_up", "next_attempt", "payload_bytes", "qualifier", "request_id", "retry_num", "source"
//! (INVOKE | TIMER | CKAFKA), "started", "state" (queued | in_flight | finished | failed |
//! aborted), "status" (RUNNING | FINISHED | FAILED | ABORTED)}` with times as
//! `%Y-%m-%d %H:%M:%S.%f` UTC. Errors are `{"code", "error", "message"}` with the HTTP status of
//! the problem (404 for an unknown request id, 409 for a wrong state, 400 for bad parameters,
//! 503 when the server keeps no queue).
//!
//! The views and the operations behind the routes are in [`crate::durable::view`]; the CLI runs
//! the same operations on the state folder when no server holds it.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::durable::view::{
    self, DeadLetterPage, DlqSelection, EventFilter, EventPage, EventView, Purged, Replayed,
};
use crate::durable::{DurableError, DurableQueue};
use crate::http::{AppState, SMALL_BODY_BYTES, read_limited};

/// A failed route: HTTP status and message, answered as `{"code", "error", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What was wrong.
    pub message: String,
}

impl EventsApiError {
    fn bad(message: impl Into<String>) -> EventsApiError {
        EventsApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<DurableError> for EventsApiError {
    fn from(e: DurableError) -> EventsApiError {
        let status = match &e {
            DurableError::NotFound { .. } => StatusCode::NOT_FOUND,
            DurableError::WrongState { .. } | DurableError::Duplicate { .. } => {
                StatusCode::CONFLICT
            }
            DurableError::Invalid(_) => StatusCode::BAD_REQUEST,
            DurableError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        EventsApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for EventsApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EventsApiError {}

impl IntoResponse for EventsApiError {
    fn into_response(self) -> Response {
        let body = crate::fault::http_error_json(self.status, &self.message);
        (self.status, Json(body)).into_response()
    }
}

fn queue_of(state: &AppState) -> Result<&DurableQueue, EventsApiError> {
    state.host.async_queue().ok_or(EventsApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "this server keeps no durable async queue".to_owned(),
    })
}

/// `GET /async/events`.
pub(crate) async fn list(
    State(state): State<AppState>,
    filter: Result<Query<EventFilter>, QueryRejection>,
) -> Result<Json<EventPage>, EventsApiError> {
    let Query(filter) = filter.map_err(|e| EventsApiError::bad(e.body_text()))?;
    Ok(Json(view::list_events(queue_of(&state)?, &filter).await?))
}

/// `GET /async/events/{request_id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(request_id): Path<String>,
) -> Result<Json<EventView>, EventsApiError> {
    Ok(Json(view::show_event(queue_of(&state)?, &request_id)?))
}

/// `POST /async/events/{request_id}/abort`.
pub(crate) async fn abort(
    State(state): State<AppState>,
    Path(request_id): Path<String>,
) -> Result<Json<EventView>, EventsApiError> {
    Ok(Json(
        view::abort_event(queue_of(&state)?, &request_id).await?,
    ))
}

/// `GET /async/dlq`.
pub(crate) async fn dead_letters(
    State(state): State<AppState>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<DeadLetterPage>, EventsApiError> {
    let Query(params) = params.map_err(|e| EventsApiError::bad(e.body_text()))?;
    let number = |key: &str, default: usize| -> Result<usize, EventsApiError> {
        params.get(key).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| EventsApiError::bad(format!("{key} must be a number, not {v:?}")))
        })
    };
    Ok(Json(view::list_dead_letters(
        queue_of(&state)?,
        params.get("function").cloned(),
        number("offset", 0)?,
        number("limit", 20)?,
    )?))
}

/// The JSON body of a small route, read up to [`SMALL_BODY_BYTES`] (`413` past it, `400` when it
/// is not the expected JSON; an empty body is `{}`).
async fn small_json<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, EventsApiError> {
    let bytes = read_limited(body, SMALL_BODY_BYTES)
        .await
        .map_err(EventsApiError::bad)?
        .ok_or_else(|| EventsApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("the request body is over {SMALL_BODY_BYTES} bytes"),
        })?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| EventsApiError::bad(format!("the request body is not the expected JSON: {e}")))
}

/// `POST /async/dlq/replay`.
pub(crate) async fn replay(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<Replayed>, EventsApiError> {
    let selection: DlqSelection = small_json(body).await?;
    Ok(Json(view::replay(queue_of(&state)?, &selection).await?))
}

/// `POST /async/dlq/purge`.
pub(crate) async fn purge(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<Purged>, EventsApiError> {
    let selection: DlqSelection = small_json(body).await?;
    Ok(Json(view::purge(queue_of(&state)?, &selection).await?))
}
