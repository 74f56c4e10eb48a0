//! `Invoke` and `InvokeFunction`: one invocation, answered as `Response.Result`.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::{ApiError, Params};
use crate::fault::Fault;
use crate::host::{Host, InvokeOptions, logs};

/// `Invoke`: `InvocationType` may queue the event; the event is `ClientContext`.
pub(super) async fn invoke(
    host: &Host,
    params: Params<'_>,
    request_id: &str,
) -> Result<Map<String, Value>, ApiError> {
    let name = params.required("FunctionName")?;
    let is_async = match params.str("InvocationType")? {
        None | Some("RequestResponse") => false,
        Some("Event") => true,
        Some(other) => {
            return Err(ApiError::new(
                "InvalidParameterValue.InvokeType",
                format!("InvocationType must be RequestResponse or Event, not {other:?}"),
            ));
        }
    };
    run(host, params, name, "ClientContext", is_async, request_id).await
}

/// `InvokeFunction`: always sync; the event is `Event`.
pub(super) async fn invoke_function(
    host: &Host,
    params: Params<'_>,
    request_id: &str,
) -> Result<Map<String, Value>, ApiError> {
    let name = params.required("FunctionName")?;
    run(host, params, name, "Event", false, request_id).await
}

/// What both actions share once the function and invocation type are known.
async fn run(
    host: &Host,
    params: Params<'_>,
    name: &str,
    event_param: &str,
    is_async: bool,
    request_id: &str,
) -> Result<Map<String, Value>, ApiError> {
    let tail = match params.str("LogType")? {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(ApiError::invalid_value(format!(
                "LogType must be None or Tail, not {other:?}"
            )));
        }
    };
    if let Some(ns) = params.str("Namespace")?
        && !ns.is_empty()
        && ns != host.namespace()
    {
        return Err(ApiError::new(
            "ResourceNotFound.Namespace",
            format!(
                "namespace {ns} does not exist (this server has {})",
                host.namespace()
            ),
        ));
    }
    let qualifier = params.qualifier(host, name)?;
    let event = Bytes::copy_from_slice(params.str(event_param)?.unwrap_or("{}").as_bytes());

    let mut result = Map::new();
    if is_async {
        let id = match qualifier {
            Some(q) => {
                host.invoke_async_qualified(name, q, event, crate::durable::EventSource::Invoke)
                    .await?
            }
            None => host.invoke_async(name, event).await?,
        };
        result.insert(
            "Result".to_owned(),
            json!({
                "FunctionRequestId": id, "Duration": 0, "BillDuration": 0, "MemUsage": 0,
                "RetMsg": "", "ErrMsg": "", "InvokeResult": 0, "Log": "",
            }),
        );
        return Ok(result);
    }
    let options = InvokeOptions {
        request_id: Some(request_id.to_owned()),
        is_async: false,
        qualifier: qualifier.map(str::to_owned),
    };
    let outcome = host.invoke(name, event, options).await;
    let duration_ms = outcome.duration.as_secs_f64() * 1000.0;
    let (ret, err, code) = match &outcome.result {
        Ok(body) => (String::from_utf8_lossy(body).into_owned(), String::new(), 0),
        Err(e) => {
            if Fault::from_code(e.code()).is_some_and(Fault::is_refusal) {
                return Err(e.clone().into());
            }
            let err = if e.code() == Fault::UserError.code() {
                e.message.clone()
            } else {
                e.to_string()
            };
            (String::new(), err, -1)
        }
    };
    result.insert(
        "Result".to_owned(),
        json!({
            "FunctionRequestId": outcome.request_id,
            "Duration": (duration_ms * 1000.0).round() / 1000.0,
            "BillDuration": logs::duration_ms(outcome.duration),
            "MemUsage": outcome.mem_usage,
            "RetMsg": ret,
            "ErrMsg": err,
            "InvokeResult": code,
            "Log": if tail { outcome.log } else { String::new() },
        }),
    );
    Ok(result)
}
