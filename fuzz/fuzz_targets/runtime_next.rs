//! The runtime's handling of a `GET /runtime/invocation/next` answer (`scf_runtime::runtime::
//! decode_next`, what `Runtime::run` does before calling the handler). The input is the answer's
//! header lines, a blank line, and the event:
//!
//! ```text
//! request_id: 7c1ad2e4
//! memory_limit_in_mb: 128
//! time_limit_in_ms: 3000
//!
//! {"key": "value"}
//! ```
//!
//! Decoded as `serde_json::Value`, `AnyEvent` and `ApiGatewayRequest`: either an invocation whose
//! context is exactly what the headers say, or the JSON error body the runtime posts (its
//! `errorType` is `InvalidInvocation` or `DeserializeError`). Never a panic.
#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use http::HeaderMap;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;

use scf_events::{AnyEvent, ApiGatewayRequest};
use scf_fuzz::{header_map, split_message};
use scf_runtime::Config;
use scf_runtime::runtime::decode_next;

static CONFIG: LazyLock<Arc<Config>> = LazyLock::new(|| Arc::new(Config::default()));

/// The trimmed text of header `name`, when it is visible ASCII.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn check<E: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Option<E> {
    let request_id = header(headers, "request_id");
    let memory = header(headers, "memory_limit_in_mb").and_then(|v| v.parse::<u64>().ok());
    let time_ms = header(headers, "time_limit_in_ms").and_then(|v| v.parse::<u64>().ok());
    match decode_next::<E>(headers, body, &CONFIG) {
        Ok(invocation) => {
            let ctx = &invocation.context;
            assert_eq!(Some(ctx.request_id()), request_id);
            assert_eq!(Some(ctx.memory_limit_mb()), memory);
            assert_eq!(Some(ctx.time_limit()), time_ms.map(Duration::from_millis));
            assert!(ctx.remaining() <= ctx.time_limit());
            assert!(serde_json::from_slice::<E>(body).is_ok());
            Some(invocation.event)
        }
        Err(post) => {
            let error: Value = serde_json::from_slice(&post).expect("the error post is JSON");
            let kind = error["errorType"]
                .as_str()
                .expect("the error post has an errorType");
            let headers_ok = request_id.is_some() && memory.is_some() && time_ms.is_some();
            match kind {
                "InvalidInvocation" => assert!(!headers_ok, "valid headers refused: {error}"),
                "DeserializeError" => {
                    assert!(headers_ok, "{error}");
                    assert!(serde_json::from_slice::<E>(body).is_err(), "{error}");
                }
                other => panic!("unexpected errorType {other}: {error}"),
            }
            assert!(
                error["errorMessage"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let message = split_message(data);
    let headers = header_map(&message.lines);
    let value = check::<Value>(&headers, message.body);
    if let Some(event) = check::<AnyEvent>(&headers, message.body) {
        assert_eq!(
            AnyEvent::from_value(value.expect("JSON for AnyEvent is JSON")),
            event
        );
    }
    check::<ApiGatewayRequest>(&headers, message.body);
});
