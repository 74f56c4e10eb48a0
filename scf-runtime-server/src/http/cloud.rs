//! The Cloud API (`POST /` with `X-TC-Action`), so Tencent Cloud SDKs and CLI reach the server
//! with their endpoint set to it (PLATFORM.md §1).
//!
//! | Action | Parameters | Answer |
//! |---|---|---|
//! | `Invoke` | `FunctionName`, `InvocationType` (`RequestResponse` \| `Event`), `ClientContext` (the event, a JSON string), `Qualifier` (`$LATEST`), `Namespace`, `LogType` (`None` \| `Tail`) | `Response.Result` |
//! | `InvokeFunction` | `FunctionName`, `Event`, `Qualifier` (`$DEFAULT`), `Namespace`, `LogType` | `Response.Result` |
//! | `GetAsyncEventStatus` | `InvokeRequestId` | `Response.Result`: `Status` (`RUNNING` \| `FINISHED` \| `FAILED` \| `ABORTED`), `StatusCode` (202 running, 200 finished, the last error's code when failed, 499 aborted), `InvokeRequestId` |
//! | `ListAsyncEvents` | `FunctionName`, `Qualifier`, `InvokeType` (`INVOKE`/`TIMER`/`CKAFKA` list), `Status` (list), `InvokeRequestId`, `StartTimeInterval` / `EndTimeInterval` (`{Start, End}` as `%Y-%m-%d %H:%M:%S`), `Order` (`ASC` \| `DESC`), `Offset`, `Limit` (≤ 100, default 20) | `Response.EventList` (`InvokeRequestId`, `InvokeType`, `Qualifier`, `Status`, `StartTime`, `EndTime`) and `TotalCount` |
//! | `TerminateAsyncEvent` | `FunctionName`, `InvokeRequestId` | stops a queued event (`ABORTED`); one being delivered right now is refused with `FailedOperation.AsyncEventStatus` |
//!
//! Every answer is HTTP 200 with `Content-Type: application/json` and a `Response.RequestId`.
//! `Result` has `FunctionRequestId`, `Duration` (ms), `BillDuration`, `MemUsage` (bytes),
//! `RetMsg` (the posted result), `ErrMsg`, `InvokeResult` (0 success, -1 failure) and `Log`. A
//! function failure (a `/error` post, 433, 434, 439, init failure) is a `Result` with
//! `InvokeResult: -1`; a refusal before anything ran is `Response.Error`:
//!
//! | Situation | `Error.Code` |
//! |---|---|
//! | unknown or missing `X-TC-Action` | `InvalidAction` |
//! | body not a JSON object | `InvalidParameter` |
//! | no `FunctionName` | `MissingParameter` |
//! | event not JSON (400) | `InvalidParameterValue.Param` |
//! | event too large (406) | `InvalidParameter.RequestTooLarge` |
//! | bad `InvocationType` / `LogType` / web function (436) | `InvalidParameterValue.InvokeType` / `InvalidParameterValue` |
//! | no such function / namespace / qualifier | `ResourceNotFound.Function` / `.Namespace` / `.Qualifier` |
//! | throttled (432) | `LimitExceeded.TotalConcurrencyMemory` |
//! | shutting down (438) | `FailedOperation.FunctionStatusError` |
//! | signature problems (with `[server.cloud_api]`) | `AuthFailure.*` |
//! | unknown async request id | `ResourceNotFound.AsyncEvent` |
//! | async event in a state that forbids the action | `FailedOperation.AsyncEventStatus` |
//! | anything else | `InternalError` |

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

use crate::fault::Fault;
use crate::fault::InvokeError;
use crate::fault::MAX_SYNC_EVENT_BYTES;
use crate::host::{Host, InvokeOptions};
use crate::http::tc3::Verifier;

/// Largest Cloud API request body: a 6 MB event escaped as a JSON string, plus the parameters.
pub const MAX_BODY_BYTES: usize = 2 * MAX_SYNC_EVENT_BYTES + 64 * 1024;

/// The Cloud API endpoint.
#[derive(Debug, Default)]
pub struct CloudApi {
    verifier: Option<Verifier>,
}

/// A `Response.Error`.
struct ApiError {
    code: &'static str,
    message: String,
}

fn api_error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        code,
        message: message.into(),
    }
}

impl From<InvokeError> for ApiError {
    fn from(e: InvokeError) -> ApiError {
        let code = match Fault::from_code(e.code()) {
            Some(Fault::NotJson) => "InvalidParameterValue.Param",
            Some(Fault::RequestTooLarge) => "InvalidParameter.RequestTooLarge",
            Some(Fault::InvalidParameter) => "InvalidParameterValue",
            Some(Fault::FunctionNotFound) => "ResourceNotFound.Function",
            Some(Fault::Throttled) => "LimitExceeded.TotalConcurrencyMemory",
            Some(Fault::ShuttingDown) => "FailedOperation.FunctionStatusError",
            _ => "InternalError",
        };
        let message = if e.code() == Fault::Throttled.code() {
            format!("ResourceLimitReached: {}", e.message)
        } else {
            e.message
        };
        api_error(code, message)
    }
}

/// The Cloud API answer: HTTP 200, `Content-Type: application/json`, `{"Response": …}`.
fn answer(mut response: Map<String, Value>, request_id: &str) -> Response {
    response.insert("RequestId".to_owned(), Value::String(request_id.to_owned()));
    let body = json!({ "Response": response }).to_string();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error_answer(error: ApiError, request_id: &str) -> Response {
    let mut m = Map::new();
    m.insert(
        "Error".to_owned(),
        json!({ "Code": error.code, "Message": error.message }),
    );
    answer(m, request_id)
}

impl CloudApi {
    /// A Cloud API that checks TC3 signatures made with `secret` (`(secret_id, secret_key)`)
    /// when given one, and takes any request otherwise.
    pub fn new(secret: Option<(&str, &str)>) -> CloudApi {
        CloudApi {
            verifier: secret.map(|(id, key)| Verifier::new(id, key)),
        }
    }

    /// Serves one `POST /` request.
    pub async fn handle(&self, host: &Host, request: Request) -> Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        match self.dispatch(host, request, &request_id).await {
            Ok(response) => answer(response, &request_id),
            Err(error) => error_answer(error, &request_id),
        }
    }

    async fn dispatch(
        &self,
        host: &Host,
        request: Request,
        request_id: &str,
    ) -> Result<Map<String, Value>, ApiError> {
        let (parts, body) = request.into_parts();
        let action = parts
            .headers
            .get("x-tc-action")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_owned();
        let body = match crate::http::read_limited(body, MAX_BODY_BYTES).await {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(api_error(
                    "InvalidParameter.RequestTooLarge",
                    format!("the request body is over {MAX_BODY_BYTES} bytes"),
                ));
            }
            Err(e) => return Err(api_error("InvalidParameter", e)),
        };
        if let Some(verifier) = &self.verifier {
            let now = chrono::Utc::now().timestamp();
            let query = parts.uri.query().unwrap_or("");
            verifier
                .verify(parts.method.as_str(), query, &parts.headers, &body, now)
                .map_err(|e| api_error(e.code, e.message))?;
        }
        let params: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice(&body) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(api_error(
                        "InvalidParameter",
                        "the request body must be a JSON object of parameters",
                    ));
                }
            }
        };
        match action.as_str() {
            "Invoke" => invoke(host, &params, false, request_id).await,
            "InvokeFunction" => invoke(host, &params, true, request_id).await,
            "GetAsyncEventStatus" => {
                crate::http::events::get_async_event_status(host.async_queue(), &params)
                    .map_err(|(code, message)| api_error(code, message))
            }
            "ListAsyncEvents" => {
                crate::http::events::list_async_events(host.async_queue(), &params)
                    .map_err(|(code, message)| api_error(code, message))
            }
            "TerminateAsyncEvent" => {
                crate::http::events::terminate_async_event(host.async_queue(), &params)
                    .await
                    .map_err(|(code, message)| api_error(code, message))
            }
            "" => Err(api_error(
                "InvalidAction",
                "the X-TC-Action header is missing",
            )),
            other => Err(api_error(
                "InvalidAction",
                format!(
                    "action {other} is not supported (Invoke, InvokeFunction, GetAsyncEventStatus, ListAsyncEvents, TerminateAsyncEvent)"
                ),
            )),
        }
    }
}

fn string_param<'a>(
    params: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    crate::http::events::param_str(params, name).map_err(|(code, message)| api_error(code, message))
}

/// `Invoke` (`function_api = false`) and `InvokeFunction`.
async fn invoke(
    host: &Host,
    params: &Map<String, Value>,
    function_api: bool,
    request_id: &str,
) -> Result<Map<String, Value>, ApiError> {
    let name = string_param(params, "FunctionName")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| api_error("MissingParameter", "FunctionName is required"))?;
    let is_async = if function_api {
        false
    } else {
        match string_param(params, "InvocationType")? {
            None | Some("RequestResponse") => false,
            Some("Event") => true,
            Some(other) => {
                return Err(api_error(
                    "InvalidParameterValue.InvokeType",
                    format!("InvocationType must be RequestResponse or Event, not {other:?}"),
                ));
            }
        }
    };
    let tail = match string_param(params, "LogType")? {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(api_error(
                "InvalidParameterValue",
                format!("LogType must be None or Tail, not {other:?}"),
            ));
        }
    };
    crate::http::events::check_qualifier(params)
        .map_err(|(code, message)| api_error(code, message))?;
    if let Some(ns) = string_param(params, "Namespace")?
        && !ns.is_empty()
        && ns != host.namespace()
    {
        return Err(api_error(
            "ResourceNotFound.Namespace",
            format!(
                "namespace {ns} does not exist (this server has {})",
                host.namespace()
            ),
        ));
    }
    let event_param = if function_api {
        "Event"
    } else {
        "ClientContext"
    };
    let event = Bytes::copy_from_slice(
        string_param(params, event_param)?
            .unwrap_or("{}")
            .as_bytes(),
    );

    let mut result = Map::new();
    if is_async {
        let id = host
            .invoke_async(name, event)
            .await
            .map_err(ApiError::from)?;
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
            "BillDuration": duration_ms.ceil() as u64,
            "MemUsage": outcome.mem_usage,
            "RetMsg": ret,
            "ErrMsg": err,
            "InvokeResult": code,
            "Log": if tail { outcome.log } else { String::new() },
        }),
    );
    Ok(result)
}
