//! The Cloud API (`POST /` with `X-TC-Action`), so Tencent Cloud SDKs and CLI reach the server
//! with their endpoint set to it.
//!
//! | Action | Parameters | Answer |
//! |---|---|---|
//! | `Invoke` | `FunctionName`, `InvocationType` (`RequestResponse` \| `Event`), `ClientContext` (the event, a JSON string), `Qualifier` (`$LATEST`), `Namespace`, `LogType` (`None` \| `Tail`) | `Response.Result` |
//! | `InvokeFunction` | `FunctionName`, `Event`, `Qualifier` (`$DEFAULT`), `Namespace`, `LogType` | `Response.Result` |
//! | `GetAsyncEventStatus` | `InvokeRequestId` | `Response.Result`: `Status` (`RUNNING` \| `FINISHED` \| `FAILED` \| `ABORTED`), `StatusCode` (202 running, 200 finished, the last error's code when failed, 499 aborted), `InvokeRequestId` |
//! | `ListAsyncEvents` | `FunctionName`, `Qualifier`, `InvokeType` (`INVOKE`/`TIMER`/`CKAFKA` list), `Status` (list), `InvokeRequestId`, `StartTimeInterval` / `EndTimeInterval` (`{Start, End}` as `%Y-%m-%d %H:%M:%S`), `Order` (`ASC` \| `DESC`), `Offset`, `Limit` (≤ 100, default 20) | `Response.EventList` (`InvokeRequestId`, `InvokeType`, `Qualifier`, `Status`, `StartTime`, `EndTime`) and `TotalCount` |
//! | `TerminateAsyncEvent` | `FunctionName`, `InvokeRequestId` | stops a queued event (`ABORTED`); one being delivered right now is refused with `FailedOperation.AsyncEventStatus` |
//!
//! With a control plane ([`CloudApi::with_control`]) the management actions of
//! [`MANAGEMENT_ACTIONS`] are answered too: see [`crate::control`].
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

//!
//! Each action is a function of its module (`invoke`, `async_events`) taking the request's
//! parameters and answering the `Response` fields or an [`ApiError`]: every refusal, whatever
//! it comes from (an [`InvokeError`], a [`DurableError`], a bad signature), is an [`ApiError`].

mod async_events;
pub mod auth;
mod invoke;
mod manage;
mod params;
pub mod tc3;

use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};

use crate::durable::DurableError;
use crate::fault::MAX_SYNC_EVENT_BYTES;
use crate::fault::{Fault, InvokeError};
use crate::host::Host;
use auth::Auth;
use tc3::Verifier;

use params::Params;

/// Largest Cloud API request body: a 6 MB event escaped as a JSON string, plus the parameters.
pub const MAX_BODY_BYTES: usize = 2 * MAX_SYNC_EVENT_BYTES + 64 * 1024;

/// The Cloud API endpoint.
#[derive(Debug, Default)]
pub struct CloudApi {
    auth: Arc<Auth>,
    control: Option<crate::control::ControlPlane>,
}

/// A Cloud API refusal: the answer's `Response.Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `Error.Code`, e.g. `ResourceNotFound.Function` or `AuthFailure.SignatureFailure`.
    pub code: &'static str,
    /// `Error.Message`: what is wrong.
    pub message: String,
}

impl ApiError {
    /// A refusal with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// `InvalidParameterValue`: a parameter has the wrong type or value.
    pub fn invalid_value(message: impl Into<String>) -> ApiError {
        ApiError::new("InvalidParameterValue", message)
    }

    /// `MissingParameter`: the required parameter `name` is absent or empty.
    pub fn missing(name: &str) -> ApiError {
        ApiError::new("MissingParameter", format!("{name} is required"))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

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
        ApiError::new(code, message)
    }
}

impl From<DurableError> for ApiError {
    fn from(e: DurableError) -> ApiError {
        ApiError::new(e.cloud_api_code(), e.to_string())
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
        CloudApi::with_auth(Arc::new(Auth::new(
            secret.map(|(id, key)| Verifier::new(id, key)),
            None,
        )))
    }

    /// A Cloud API that lets through the requests `auth` accepts (the server's credentials).
    pub fn with_auth(auth: Arc<Auth>) -> CloudApi {
        CloudApi {
            auth,
            control: None,
        }
    }

    /// The same Cloud API answering the management actions too (`CreateFunction`,
    /// `PublishVersion`, `CreateAlias`, …) through `control`.
    pub fn with_control(mut self, control: crate::control::ControlPlane) -> CloudApi {
        self.control = Some(control);
        self
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
                return Err(ApiError::new(
                    "InvalidParameter.RequestTooLarge",
                    format!("the request body is over {MAX_BODY_BYTES} bytes"),
                ));
            }
            Err(e) => return Err(ApiError::new("InvalidParameter", e)),
        };
        let now = chrono::Utc::now().timestamp();
        let query = parts.uri.query().unwrap_or("");
        self.auth.check(
            parts.method.as_str(),
            "/",
            query,
            &parts.headers,
            &body,
            now,
        )?;
        let params: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice(&body) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(ApiError::new(
                        "InvalidParameter",
                        "the request body must be a JSON object of parameters",
                    ));
                }
            }
        };
        let params = Params::new(&params);
        let queue = host.async_queue();
        if let Some(answer) = self.manage(&action, params).await {
            return answer;
        }
        match action.as_str() {
            "Invoke" => {
                self.check_invocable(host, params).await?;
                invoke::invoke(host, params, request_id).await
            }
            "InvokeFunction" => {
                self.check_invocable(host, params).await?;
                invoke::invoke_function(host, params, request_id).await
            }
            "GetAsyncEventStatus" => async_events::get_status(queue, params),
            "ListAsyncEvents" => async_events::list(host, queue, params).await,
            "TerminateAsyncEvent" => async_events::terminate(queue, params).await,
            "" => Err(ApiError::new(
                "InvalidAction",
                "the X-TC-Action header is missing",
            )),
            other => Err(ApiError::new(
                "InvalidAction",
                format!(
                    "action {other} is not supported (Invoke, InvokeFunction, GetAsyncEventStatus, ListAsyncEvents, TerminateAsyncEvent, {})",
                    MANAGEMENT_ACTIONS.join(", ")
                ),
            )),
        }
    }

    /// Refuses, with `FailedOperation.FunctionStatusError`, to invoke a deployed function that
    /// is not hosted yet (`Creating`) or whose code never started (`CreateFailed`), as SCF
    /// does, instead of calling it unknown.
    async fn check_invocable(&self, host: &Host, params: Params<'_>) -> Result<(), ApiError> {
        let (Some(control), Ok(Some(name))) = (&self.control, params.str("FunctionName")) else {
            return Ok(());
        };
        if host.has_function(name) {
            return Ok(());
        }
        match control.get(name).await {
            Ok(view) => Err(ApiError::new(
                "FailedOperation.FunctionStatusError",
                format!(
                    "function {name} is {}; it can be invoked once GetFunction shows Status Active",
                    view.status.as_str()
                ),
            )),
            Err(_) => Ok(()),
        }
    }

    /// A management action's answer; `None` when `action` is not one.
    async fn manage(
        &self,
        action: &str,
        params: Params<'_>,
    ) -> Option<Result<Map<String, Value>, ApiError>> {
        let Some(c) = &self.control else {
            return MANAGEMENT_ACTIONS.contains(&action).then(|| {
                Err(ApiError::new(
                    "UnsupportedOperation",
                    format!(
                        "{action} needs the control plane, which this server was started without"
                    ),
                ))
            });
        };
        Some(match action {
            "CreateFunction" => manage::create_function(c, params).await,
            "UpdateFunctionCode" => manage::update_function_code(c, params).await,
            "UpdateFunctionConfiguration" => manage::update_function_configuration(c, params).await,
            "GetFunction" => manage::get_function(c, params).await,
            "ListFunctions" => manage::list_functions(c, params).await,
            "DeleteFunction" => manage::delete_function(c, params).await,
            "PublishVersion" => manage::publish_version(c, params).await,
            "ListVersionByFunction" => manage::list_versions(c, params).await,
            "CreateAlias" => manage::put_alias(c, params, true).await,
            "UpdateAlias" => manage::put_alias(c, params, false).await,
            "GetAlias" => manage::get_alias(c, params).await,
            "ListAliases" => manage::list_aliases(c, params).await,
            "DeleteAlias" => manage::delete_alias(c, params).await,
            "CreateTrigger" => manage::create_trigger(c, params).await,
            "DeleteTrigger" => manage::delete_trigger(c, params).await,
            "ListTriggers" => manage::list_triggers(c, params).await,
            "GetFunctionLogs" => manage::get_function_logs(c, params).await,
            "PutReservedConcurrencyConfig" => manage::put_reserved(c, params).await,
            "GetReservedConcurrencyConfig" => manage::get_reserved(c, params).await,
            "DeleteReservedConcurrencyConfig" => manage::delete_reserved(c, params).await,
            "PutProvisionedConcurrencyConfig" => manage::put_provisioned(c, params, false).await,
            "DeleteProvisionedConcurrencyConfig" => manage::put_provisioned(c, params, true).await,
            "GetProvisionedConcurrencyConfig" => manage::get_provisioned(c, params).await,
            "GetFunctionEventInvokeConfig" => manage::get_event_invoke_config(c, params).await,
            "UpdateFunctionEventInvokeConfig" => {
                manage::update_event_invoke_config(c, params).await
            }
            _ => return None,
        })
    }
}

/// The management actions (answered with a control plane; see [`CloudApi::with_control`]).
pub const MANAGEMENT_ACTIONS: [&str; 25] = [
    "CreateFunction",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "GetFunction",
    "ListFunctions",
    "DeleteFunction",
    "PublishVersion",
    "ListVersionByFunction",
    "CreateAlias",
    "UpdateAlias",
    "GetAlias",
    "ListAliases",
    "DeleteAlias",
    "CreateTrigger",
    "DeleteTrigger",
    "ListTriggers",
    "GetFunctionLogs",
    "PutReservedConcurrencyConfig",
    "GetReservedConcurrencyConfig",
    "DeleteReservedConcurrencyConfig",
    "PutProvisionedConcurrencyConfig",
    "DeleteProvisionedConcurrencyConfig",
    "GetProvisionedConcurrencyConfig",
    "GetFunctionEventInvokeConfig",
    "UpdateFunctionEventInvokeConfig",
];
