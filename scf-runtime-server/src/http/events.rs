//! Async events over HTTP: the JSON routes `scf events` and `scf dlq` use, and the Cloud API
//! actions `GetAsyncEventStatus`, `ListAsyncEvents` and `TerminateAsyncEvent`.
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /async/events?function=&status=&source=&offset=&limit=&order=asc` | `{"total", "events": [event…]}` (newest first unless `order=asc`; `status` and `source` may be comma lists: `RUNNING,FAILED`, `TIMER`) |
//! | `GET /async/events/{request_id}` | one event with its `payload` (when still kept) |
//! | `POST /async/events/{request_id}/abort` | the aborted event (only a queued event can be aborted) |
//! | `GET /async/dlq?function=&offset=&limit=` | `{"total", "dead_letters": [dead letter…]}` |
//! | `POST /async/dlq/replay` `{"function"?, "request_ids"?: [..], "fresh_id"?: bool}` | `{"queued": [request ids]}` |
//! | `POST /async/dlq/purge` `{"function"?, "request_ids"?: [..]}` | `{"purged": n}` |
//!
//! An event is `{"request_id", "function", "source" (INVOKE | TIMER | CKAFKA), "status" (RUNNING |
//! FINISHED | FAILED | ABORTED), "state" (queued | in_flight | finished | failed | aborted),
//! "attempts", "retry_num", "created", "started", "ended", "next_attempt", "error": {"code",
//! "message"}, "give_up", "payload_bytes"}` with times as `%Y-%m-%d %H:%M:%S.%f` UTC. Errors
//! are `{"code", "error", "message"}` with the HTTP status of the problem (404 for an unknown
//! request id, 409 for a wrong state, 400 for bad parameters, 503 when the server keeps no
//! queue).
//!
//! The same operations run directly on the state folder when no server holds it (see
//! [`crate::cli`]'s `scf events` and `scf dlq`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::durable::{
    AsyncStatus, DeadLetterFilter, DurableError, DurableQueue, EventRecord, EventSource, ListQuery,
    ReplayId, format_scf_time, parse_scf_time,
};
use crate::http::AppState;

/// Most items one listing returns.
pub const MAX_LIMIT: usize = 1000;

/// An event as the routes and the CLI show it.
pub fn event_json(record: &EventRecord) -> Value {
    let time = |ms: Option<u64>| ms.map(format_scf_time);
    let running = record.status() == AsyncStatus::Running;
    json!({
        "request_id": record.request_id,
        "function": record.function,
        "qualifier": record.qualifier,
        "source": record.source.invoke_type(),
        "status": record.status().as_str(),
        "state": record.state,
        "attempts": record.attempts,
        "retry_num": record.retry_num(),
        "created": format_scf_time(record.created_ms),
        "started": time(record.started_ms),
        "ended": time(record.ended_ms),
        "next_attempt": running.then(|| format_scf_time(record.due_ms)),
        "error": record.last_error.as_ref().map(|e| json!({"code": e.code, "message": e.message})),
        "give_up": record.give_up.map(|g| g.describe()),
        "payload_bytes": record.payload_len,
    })
}

/// A failed operation: HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What was wrong.
    pub message: String,
}

impl OpError {
    fn bad(message: impl Into<String>) -> OpError {
        OpError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<DurableError> for OpError {
    fn from(e: DurableError) -> OpError {
        let status = match &e {
            DurableError::NotFound { .. } => StatusCode::NOT_FOUND,
            DurableError::WrongState { .. } | DurableError::Duplicate { .. } => {
                StatusCode::CONFLICT
            }
            DurableError::Invalid(_) => StatusCode::BAD_REQUEST,
            DurableError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        OpError {
            status,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OpError {}

impl IntoResponse for OpError {
    fn into_response(self) -> Response {
        let body = json!({
            "code": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "message": self.message,
        });
        (self.status, Json(body)).into_response()
    }
}

/// Filters of an event listing, as the route's query string and `scf events list` give them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this function's events.
    pub function: Option<String>,
    /// Comma list of statuses (`RUNNING`, `FINISHED`, `FAILED`, `ABORTED`).
    pub status: Option<String>,
    /// Comma list of sources (`INVOKE`, `TIMER`, `CKAFKA`).
    pub source: Option<String>,
    /// Matches to skip.
    pub offset: Option<usize>,
    /// Most matches to return (default 20, at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// `asc` for oldest first.
    pub order: Option<String>,
}

fn comma_list<T>(
    text: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, OpError> {
    text.into_iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).map_err(OpError::bad))
        .collect()
}

fn parse_status(s: &str) -> Result<AsyncStatus, String> {
    s.parse::<AsyncStatus>()
}

impl EventFilter {
    /// The queue query, or what is wrong with the filter.
    pub fn query(&self) -> Result<ListQuery, OpError> {
        let ascending = match self
            .order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(other) => {
                return Err(OpError::bad(format!(
                    "order must be asc or desc, not {other:?}"
                )));
            }
        };
        Ok(ListQuery {
            function: self.function.clone().filter(|f| !f.is_empty()),
            statuses: comma_list(self.status.as_deref(), parse_status)?,
            sources: comma_list(self.source.as_deref(), |s| s.parse::<EventSource>())?,
            ascending,
            offset: self.offset.unwrap_or(0),
            limit: self.limit.unwrap_or(20).min(MAX_LIMIT),
            ..ListQuery::default()
        })
    }
}

/// `{"total", "events"}` for `filter`.
pub fn list_events(queue: &DurableQueue, filter: &EventFilter) -> Result<Value, OpError> {
    let page = queue.list(&filter.query()?)?;
    Ok(json!({
        "total": page.total,
        "events": page.items.iter().map(event_json).collect::<Vec<_>>(),
    }))
}

/// One event with its payload (as text when it is UTF-8, else base64 under `payload_base64`).
pub fn show_event(queue: &DurableQueue, request_id: &str) -> Result<Value, OpError> {
    let record = queue
        .get(request_id)?
        .ok_or_else(|| DurableError::NotFound {
            request_id: request_id.to_owned(),
        })?;
    let mut value = event_json(&record);
    if let Some(payload) = queue.payload(request_id)? {
        match std::str::from_utf8(&payload) {
            Ok(text) => value["payload"] = Value::String(text.to_owned()),
            Err(_) => {
                use base64::Engine as _;
                value["payload_base64"] =
                    Value::String(base64::engine::general_purpose::STANDARD.encode(&payload));
            }
        }
    }
    Ok(value)
}

/// Which dead letters `scf dlq` acts on.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct DlqSelection {
    /// Only this function's.
    #[serde(default)]
    pub function: Option<String>,
    /// Only these request ids (none: all that match `function`).
    #[serde(default)]
    pub request_ids: Vec<String>,
    /// Replay under fresh request ids (the dead letters are removed) instead of the same ones.
    #[serde(default)]
    pub fresh_id: bool,
}

impl DlqSelection {
    fn filter(&self) -> DeadLetterFilter {
        DeadLetterFilter {
            function: self.function.clone().filter(|f| !f.is_empty()),
            request_ids: self.request_ids.clone(),
        }
    }
}

/// `{"total", "dead_letters"}`.
pub fn list_dead_letters(
    queue: &DurableQueue,
    function: Option<String>,
    offset: usize,
    limit: usize,
) -> Result<Value, OpError> {
    let selection = DlqSelection {
        function,
        ..DlqSelection::default()
    };
    let page = queue.dead_letters(&selection.filter(), offset, limit.min(MAX_LIMIT))?;
    Ok(json!({ "total": page.total, "dead_letters": page.items }))
}

/// Re-queues dead letters: `{"queued": [ids]}`.
pub async fn replay(queue: &DurableQueue, selection: &DlqSelection) -> Result<Value, OpError> {
    let id = if selection.fresh_id {
        ReplayId::Fresh
    } else {
        ReplayId::Same
    };
    let queued = queue.replay(&selection.filter(), id).await?;
    Ok(json!({ "queued": queued }))
}

/// Deletes dead letters: `{"purged": n}`.
pub async fn purge(queue: &DurableQueue, selection: &DlqSelection) -> Result<Value, OpError> {
    let purged = queue.purge(&selection.filter()).await?;
    Ok(json!({ "purged": purged }))
}

fn queue_of(state: &AppState) -> Result<&DurableQueue, OpError> {
    state.host.async_queue().ok_or(OpError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "this server keeps no durable async queue".to_owned(),
    })
}

/// `GET /async/events`.
pub(crate) async fn route_list(
    State(state): State<AppState>,
    Query(filter): Query<EventFilter>,
) -> Result<Json<Value>, OpError> {
    Ok(Json(list_events(queue_of(&state)?, &filter)?))
}

/// `GET /async/events/{request_id}`.
pub(crate) async fn route_show(
    State(state): State<AppState>,
    Path(request_id): Path<String>,
) -> Result<Json<Value>, OpError> {
    Ok(Json(show_event(queue_of(&state)?, &request_id)?))
}

/// `POST /async/events/{request_id}/abort`.
pub(crate) async fn route_abort(
    State(state): State<AppState>,
    Path(request_id): Path<String>,
) -> Result<Json<Value>, OpError> {
    Ok(Json(abort_event(queue_of(&state)?, &request_id).await?))
}

/// Aborts one event that has not finished: the event as it is then.
pub async fn abort_event(queue: &DurableQueue, request_id: &str) -> Result<Value, OpError> {
    let record = queue.abort(request_id).await?;
    Ok(event_json(&record))
}

/// `GET /async/dlq`.
pub(crate) async fn route_dlq(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, OpError> {
    let number = |key: &str, default: usize| -> Result<usize, OpError> {
        params.get(key).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| OpError::bad(format!("{key} must be a number, not {v:?}")))
        })
    };
    Ok(Json(list_dead_letters(
        queue_of(&state)?,
        params.get("function").cloned(),
        number("offset", 0)?,
        number("limit", 20)?,
    )?))
}

/// `POST /async/dlq/replay`.
pub(crate) async fn route_replay(
    State(state): State<AppState>,
    Json(selection): Json<DlqSelection>,
) -> Result<Json<Value>, OpError> {
    Ok(Json(replay(queue_of(&state)?, &selection).await?))
}

/// `POST /async/dlq/purge`.
pub(crate) async fn route_purge(
    State(state): State<AppState>,
    Json(selection): Json<DlqSelection>,
) -> Result<Json<Value>, OpError> {
    Ok(Json(purge(queue_of(&state)?, &selection).await?))
}

// ---- Cloud API ----

/// A Cloud API refusal: `Error.Code` and message.
pub(crate) type CloudError = (&'static str, String);

fn cloud_error(e: DurableError) -> CloudError {
    (e.cloud_api_code(), e.to_string())
}

/// A string parameter of a Cloud API call (absent or `null`: `None`).
pub(crate) fn param_str<'a>(
    params: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, CloudError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(("InvalidParameterValue", format!("{name} must be a string"))),
    }
}

/// Refuses a `Qualifier` other than `$LATEST` / `$DEFAULT` (the only version a server runs).
pub(crate) fn check_qualifier(params: &Map<String, Value>) -> Result<(), CloudError> {
    match param_str(params, "Qualifier")? {
        None | Some("$LATEST") | Some("$DEFAULT") => Ok(()),
        Some(other) => Err((
            "ResourceNotFound.Qualifier",
            format!("qualifier {other} does not exist (this server runs $LATEST only)"),
        )),
    }
}

fn param_strings(params: &Map<String, Value>, name: &str) -> Result<Vec<String>, CloudError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    (
                        "InvalidParameterValue",
                        format!("{name} must be an array of strings"),
                    )
                })
            })
            .collect(),
        Some(_) => Err((
            "InvalidParameterValue",
            format!("{name} must be an array of strings"),
        )),
    }
}

fn param_usize(params: &Map<String, Value>, name: &str) -> Result<Option<usize>, CloudError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
            (
                "InvalidParameterValue",
                format!("{name} must be a non-negative integer"),
            )
        }),
    }
}

fn param_interval(
    params: &Map<String, Value>,
    name: &str,
) -> Result<Option<std::ops::Range<u64>>, CloudError> {
    let Some(value) = params.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let object = value.as_object().ok_or_else(|| {
        (
            "InvalidParameterValue",
            format!("{name} must be an object with Start and End"),
        )
    })?;
    let time = |key: &str| -> Result<Option<u64>, CloudError> {
        param_str(object, key)?
            .map(|t| {
                parse_scf_time(t)
                    .map_err(|e| ("InvalidParameterValue", format!("{name}.{key}: {e}")))
            })
            .transpose()
    };
    let start = time("Start")?.unwrap_or(0);
    let end = time("End")?.map_or(u64::MAX, |e| e.saturating_add(1));
    Ok(Some(start..end))
}

fn request_id_param(params: &Map<String, Value>) -> Result<&str, CloudError> {
    param_str(params, "InvokeRequestId")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ("MissingParameter", "InvokeRequestId is required".to_owned()))
}

fn cloud_queue(queue: Option<&DurableQueue>) -> Result<&DurableQueue, CloudError> {
    queue.ok_or_else(|| {
        (
            "FailedOperation",
            "this server keeps no durable async queue".to_owned(),
        )
    })
}

/// `GetAsyncEventStatus`: `Result: {Status, StatusCode, InvokeRequestId}`.
pub(crate) fn get_async_event_status(
    queue: Option<&DurableQueue>,
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, CloudError> {
    let queue = cloud_queue(queue)?;
    let id = request_id_param(params)?;
    let record = queue.get(id).map_err(cloud_error)?.ok_or_else(|| {
        cloud_error(DurableError::NotFound {
            request_id: id.to_owned(),
        })
    })?;
    let mut result = Map::new();
    result.insert(
        "Result".to_owned(),
        json!({
            "Status": record.status().as_str(),
            "StatusCode": record.status_code(),
            "InvokeRequestId": record.request_id,
        }),
    );
    Ok(result)
}

/// `ListAsyncEvents`: `EventList` and `TotalCount`.
pub(crate) fn list_async_events(
    queue: Option<&DurableQueue>,
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, CloudError> {
    let queue = cloud_queue(queue)?;
    let function = param_str(params, "FunctionName")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ("MissingParameter", "FunctionName is required".to_owned()))?;
    check_qualifier(params)?;
    let statuses = param_strings(params, "Status")?
        .iter()
        .map(|s| parse_status(s).map_err(|e| ("InvalidParameterValue", format!("Status: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let sources = param_strings(params, "InvokeType")?
        .iter()
        .map(|s| {
            s.parse::<EventSource>()
                .map_err(|e| ("InvalidParameterValue", format!("InvokeType: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ascending = match param_str(params, "Order")?
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("DESC") => false,
        Some("ASC") => true,
        Some(other) => {
            return Err((
                "InvalidParameterValue",
                format!("Order must be ASC or DESC, not {other:?}"),
            ));
        }
    };
    let limit = param_usize(params, "Limit")?.unwrap_or(20);
    if limit > 100 {
        return Err((
            "InvalidParameterValue",
            format!("Limit must be at most 100, got {limit}"),
        ));
    }
    let query = ListQuery {
        function: Some(function.to_owned()),
        statuses,
        sources,
        request_id: param_str(params, "InvokeRequestId")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        created: param_interval(params, "StartTimeInterval")?,
        ended: param_interval(params, "EndTimeInterval")?,
        ascending,
        offset: param_usize(params, "Offset")?.unwrap_or(0),
        limit,
    };
    let page = queue.list(&query).map_err(cloud_error)?;
    let list: Vec<Value> = page
        .items
        .iter()
        .map(|r| {
            json!({
                "InvokeRequestId": r.request_id,
                "InvokeType": r.source.invoke_type(),
                "Qualifier": r.qualifier,
                "Status": r.status().as_str(),
                "StartTime": format_scf_time(r.started_ms.unwrap_or(r.created_ms)),
                "EndTime": r.ended_ms.map(format_scf_time).unwrap_or_default(),
            })
        })
        .collect();
    let mut result = Map::new();
    result.insert("EventList".to_owned(), Value::Array(list));
    result.insert("TotalCount".to_owned(), json!(page.total));
    Ok(result)
}

/// `TerminateAsyncEvent`: stops a queued event (`ABORTED`). An event being delivered right now
/// is refused with `FailedOperation.AsyncEventStatus` (this host does not interrupt a running
/// invocation).
pub(crate) async fn terminate_async_event(
    queue: Option<&DurableQueue>,
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, CloudError> {
    let queue = cloud_queue(queue)?;
    let id = request_id_param(params)?;
    if let Some(function) = param_str(params, "FunctionName")?
        && let Some(record) = queue.get(id).map_err(cloud_error)?
        && record.function != function
    {
        return Err(cloud_error(DurableError::NotFound {
            request_id: id.to_owned(),
        }));
    }
    queue.abort(id).await.map_err(cloud_error)?;
    Ok(Map::new())
}
