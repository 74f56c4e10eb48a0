//! The invoke API: `POST /functions/{name}/invocations`, body = the event (empty means `{}`).
//!
//! | Request header | Meaning |
//! |---|---|
//! | `X-Scf-Invocation-Type: Event` | async: `202` with `{"RequestId": …}` once accepted (`RequestResponse`, the default, is sync) |
//! | `X-Scf-Qualifier: 2` | the version or alias to run (default `$LATEST`); an unknown one is 435 |
//! | `X-Scf-Log-Type: Tail` | sync only: the last 4 KB of the invocation's log, base64, in `X-Scf-Log` |
//!
//! A sync success answers `200` with the function's result body as it was posted. A failure
//! answers `{"code": <SCF status>, "error": <name>, "message": …}` with the SCF status and name
//! as the HTTP status line (e.g. `433 TimeLimitReached`); a function error (430) whose posted
//! body is JSON adds it as `function_error` ([`InvokeError::to_json`]). Every answer carries
//! `X-Scf-Request-Id`; executed invocations also `X-Scf-Duration-Ms` (execution time in whole
//! ms rounded up, the figure of the `Report` line) and `X-Scf-Mem-Usage` (peak bytes).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::fault::{Fault, InvokeError};
use crate::fault::{MAX_ASYNC_EVENT_BYTES, MAX_SYNC_EVENT_BYTES};
use crate::host::{InvokeOptions, logs};
use crate::http::{AppState, DRAIN_MAX_BYTES, read_limited};

/// `X-Scf-Request-Id`.
pub const REQUEST_ID_HEADER: &str = "x-scf-request-id";

// The invoke API's headers, parsed once (a `&str` name is parsed on every use).
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);
const ERROR_TYPE: HeaderName = HeaderName::from_static("x-scf-error-type");
const INVOCATION_TYPE: HeaderName = HeaderName::from_static("x-scf-invocation-type");
const LOG_TYPE: HeaderName = HeaderName::from_static("x-scf-log-type");
const QUALIFIER: HeaderName = HeaderName::from_static("x-scf-qualifier");
const DURATION_MS: HeaderName = HeaderName::from_static("x-scf-duration-ms");
const MEM_USAGE: HeaderName = HeaderName::from_static("x-scf-mem-usage");
const LOG: HeaderName = HeaderName::from_static("x-scf-log");

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
    let mut response = axum::Json(error.to_json()).into_response();
    error.fault.set_status(&mut response);
    set_header(response.headers_mut(), REQUEST_ID, request_id);
    set_header(response.headers_mut(), ERROR_TYPE, error.name());
    response
}

fn set_header(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// `POST /functions/{name}/invocations` through the router (a request signed with TC3, whose body
/// the credentials check reads first); the server answers the others at once with [`invoke`].
pub(crate) async fn invoke_api(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    invoke(&state, &name, &headers, body).await
}

/// The function an invoke API request names: `Some` for `POST /functions/{name}/invocations` with
/// a plain name (letters, digits, `-`, `_`, `.`; anything else, e.g. percent-encoded, is left to
/// the router, which decodes it).
pub(crate) fn invoke_target(request: &http::request::Parts) -> Option<&str> {
    if request.method != http::Method::POST {
        return None;
    }
    let name = request
        .uri
        .path()
        .strip_prefix("/functions/")?
        .strip_suffix("/invocations")?;
    let plain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    (!name.is_empty() && name.bytes().all(plain)).then_some(name)
}

/// Answers an invoke of `name` whose credentials were checked.
pub(crate) async fn invoke(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let fresh_id = || uuid::Uuid::new_v4().to_string();
    let header = |n: &HeaderName| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(raw) = headers.get(&INVOCATION_TYPE)
        && raw.to_str().is_err()
    {
        return error_response(
            &Fault::InvalidParameter.error(format!(
                "X-Scf-Invocation-Type must be RequestResponse or Event, not {:?}",
                String::from_utf8_lossy(raw.as_bytes())
            )),
            &fresh_id(),
        );
    }
    let is_async = match header(&INVOCATION_TYPE) {
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
    let tail = header(&LOG_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("Tail"));
    let qualifier = header(&QUALIFIER).filter(|q| !q.is_empty());
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
        state.host.count_refusal(name, &error);
        error_response(&error, &fresh_id())
    };
    if content_length(headers).is_some_and(|n| n > DRAIN_MAX_BYTES) {
        return refuse(too_large());
    }
    let payload = match read_limited(body, limit).await {
        Ok(Some(b)) => b,
        Ok(None) => return refuse(too_large()),
        Err(e) => return error_response(&Fault::InvalidParameter.error(e), &fresh_id()),
    };
    if is_async {
        let accepted = match qualifier {
            Some(q) => {
                state
                    .host
                    .invoke_async_qualified(name, q, payload, crate::durable::EventSource::Invoke)
                    .await
            }
            None => state.host.invoke_async(name, payload).await,
        };
        return match accepted {
            Ok(id) => {
                let mut response = (
                    StatusCode::ACCEPTED,
                    axum::Json(serde_json::json!({ "RequestId": id })),
                )
                    .into_response();
                set_header(response.headers_mut(), REQUEST_ID, &id);
                response
            }
            Err(e) => error_response(&e, &fresh_id()),
        };
    }
    let outcome = state
        .host
        .invoke(
            name,
            payload,
            InvokeOptions {
                qualifier: qualifier.map(str::to_owned),
                ..InvokeOptions::default()
            },
        )
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
            set_header(r.headers_mut(), REQUEST_ID, &outcome.request_id);
            r
        }
        Err(e) => error_response(e, &outcome.request_id),
    };
    let h = response.headers_mut();
    h.insert(
        DURATION_MS,
        HeaderValue::from(logs::duration_ms(outcome.duration)),
    );
    h.insert(MEM_USAGE, HeaderValue::from(outcome.mem_usage));
    if tail {
        let log = base64::engine::general_purpose::STANDARD.encode(outcome.log.as_bytes());
        set_header(h, LOG, &log);
    }
    response
}
