//! `GetAsyncEventStatus`, `ListAsyncEvents` and `TerminateAsyncEvent` on the durable queue.

use serde_json::{Map, Value, json};

use super::{ApiError, Params};
use crate::durable::{
    AsyncStatus, DurableError, DurableQueue, EventSource, ListQuery, format_scf_time,
};
use crate::host::Host;

fn queue_or_refuse(queue: Option<&DurableQueue>) -> Result<&DurableQueue, ApiError> {
    queue.ok_or_else(|| {
        ApiError::new(
            "FailedOperation",
            "this server keeps no durable async queue",
        )
    })
}

/// `GetAsyncEventStatus`: `Result: {Status, StatusCode, InvokeRequestId}`.
pub(super) fn get_status(
    queue: Option<&DurableQueue>,
    params: Params<'_>,
) -> Result<Map<String, Value>, ApiError> {
    let queue = queue_or_refuse(queue)?;
    let id = params.required("InvokeRequestId")?;
    let record = queue.get(id)?.ok_or_else(|| DurableError::NotFound {
        request_id: id.to_owned(),
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

/// `ListAsyncEvents`: `EventList` and `TotalCount`, read from the store's indexes on the
/// blocking threads. `TotalCount` is exact, except with `StartTimeInterval`, `EndTimeInterval`
/// or `InvokeType`, where it counts at most [`COUNT_CAP`](crate::durable::COUNT_CAP) matches
/// past the page.
pub(super) async fn list(
    host: &Host,
    queue: Option<&DurableQueue>,
    params: Params<'_>,
) -> Result<Map<String, Value>, ApiError> {
    let queue = queue_or_refuse(queue)?;
    let function = params.required("FunctionName")?;
    params.qualifier(host, function)?;
    let statuses = params
        .strings("Status")?
        .iter()
        .map(|s| {
            s.parse::<AsyncStatus>()
                .map_err(|e| ApiError::invalid_value(format!("Status: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sources = params
        .strings("InvokeType")?
        .iter()
        .map(|s| {
            s.parse::<EventSource>()
                .map_err(|e| ApiError::invalid_value(format!("InvokeType: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ascending = match params.str("Order")?.map(str::to_ascii_uppercase).as_deref() {
        None | Some("DESC") => false,
        Some("ASC") => true,
        Some(other) => {
            return Err(ApiError::invalid_value(format!(
                "Order must be ASC or DESC, not {other:?}"
            )));
        }
    };
    let limit = params.usize("Limit")?.unwrap_or(20);
    if limit > 100 {
        return Err(ApiError::invalid_value(format!(
            "Limit must be at most 100, got {limit}"
        )));
    }
    let query = ListQuery {
        function: Some(function.to_owned()),
        statuses,
        sources,
        request_id: params
            .str("InvokeRequestId")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        created: params.interval("StartTimeInterval")?,
        ended: params.interval("EndTimeInterval")?,
        ascending,
        offset: params.usize("Offset")?.unwrap_or(0),
        limit,
    };
    let page = queue.list_blocking(query).await?;
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
pub(super) async fn terminate(
    queue: Option<&DurableQueue>,
    params: Params<'_>,
) -> Result<Map<String, Value>, ApiError> {
    let queue = queue_or_refuse(queue)?;
    let id = params.required("InvokeRequestId")?;
    if let Some(function) = params.str("FunctionName")?
        && let Some(record) = queue.get(id)?
        && record.function != function
    {
        return Err(DurableError::NotFound {
            request_id: id.to_owned(),
        }
        .into());
    }
    queue.abort(id).await?;
    Ok(Map::new())
}
