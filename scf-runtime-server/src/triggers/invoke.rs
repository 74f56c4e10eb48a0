//! The one door every trigger goes through: [`Invoker`], implemented by the server's invoke path.
//!
//! Triggers never start or address instances themselves. They build an event and hand it to an
//! [`Invoker`], so scheduling, limits, logs and metrics are the same as for a direct invoke.

use std::fmt;
use std::future::Future;

use bytes::Bytes;

/// The invoke path as the triggers see it.
///
/// The server implements it over its scheduler; tests implement it with a closure-like fake.
pub trait Invoker: Clone + Send + Sync + 'static {
    /// Invokes `function` synchronously with the raw `payload` and waits for its result body.
    fn invoke(
        &self,
        function: &str,
        payload: Bytes,
    ) -> impl Future<Output = Result<Bytes, InvokeError>> + Send;

    /// Queues an asynchronous invocation of `function` and returns its request id once the event is
    /// accepted (not when it has run).
    fn invoke_async(
        &self,
        function: &str,
        payload: Bytes,
    ) -> impl Future<Output = Result<String, InvokeError>> + Send;

    /// Queues an asynchronous invocation that came from `source` (a timer fire, a queue batch),
    /// so status listings show where it came from. By default the same as
    /// [`invoke_async`](Self::invoke_async).
    fn invoke_event(
        &self,
        function: &str,
        payload: Bytes,
        source: crate::durable::EventSource,
    ) -> impl Future<Output = Result<String, InvokeError>> + Send {
        let _ = source;
        self.invoke_async(function, payload)
    }
}

/// A failed invocation, as the platform reports it: an SCF status code, its name and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeError {
    /// The SCF status code (PLATFORM.md §8), e.g. 430 for a user code error, 433 for a timeout.
    pub code: u16,
    /// The status name, e.g. `TimeLimitReached`.
    pub error: String,
    /// What happened, for people.
    pub message: String,
}

impl InvokeError {
    /// An error with `code`, its standard name (see [`status_name`]) and `message`.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        InvokeError {
            code,
            error: status_name(code).to_owned(),
            message: message.into(),
        }
    }

    /// The error as the JSON body the server uses everywhere: `{"code","error","message"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code, "error": self.error, "message": self.message })
    }
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code, self.error, self.message)
    }
}

impl std::error::Error for InvokeError {}

/// The name SCF gives a status code (PLATFORM.md §8); `"Error"` for a code it does not name.
pub fn status_name(code: u16) -> &'static str {
    match code {
        200 => "Success",
        400 => "InvalidParameterValue",
        401 => "InvalidCredentials",
        405 => "ContainerStateExited",
        406 => "RequestTooLarge",
        407 => "ResponseTooLarge",
        429 => "ResourceLimit",
        430 => "UserCodeException",
        432 => "ResourceLimitReached",
        433 => "TimeLimitReached",
        434 => "MemoryLimitReached",
        435 => "FunctionNotFound",
        436 => "InvalidParameterValue",
        437 => "HandlerNotFound",
        438 => "FunctionStatusError",
        439 => "UserProcessExit",
        442 => "QualifierNotFound",
        443 => "UserCodeError",
        446 => "PortBindingFailed",
        450 => "InitContainerTimeout",
        499 => "RequestCanceled",
        500 => "InternalError",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_json_names_the_code() {
        let err = InvokeError::new(433, "took longer than 3 s");
        assert_eq!(
            err.to_json(),
            serde_json::json!({"code": 433, "error": "TimeLimitReached", "message": "took longer than 3 s"})
        );
        assert_eq!(
            err.to_string(),
            "433 TimeLimitReached: took longer than 3 s"
        );
        assert_eq!(status_name(999), "Error");
    }
}
