//! Every way an invocation can fail, and the one SCF status code each maps to.
//!
//! | Fault | Code | Name | When |
//! |---|---|---|---|
//! | [`Fault::NotJson`] | 400 | InvalidParameterValue | the event of an event function is not JSON |
//! | [`Fault::ExitBeforeReady`] | 405 | ContainerStateExited | the bootstrap exited before `POST /runtime/init/ready` |
//! | [`Fault::RequestTooLarge`] | 406 | RequestTooLarge | event over [`MAX_SYNC_EVENT_BYTES`] (sync) or [`MAX_ASYNC_EVENT_BYTES`] (async), refused before any instance is touched |
//! | [`Fault::ResponseTooLarge`] | 407 | ResponseTooLarge | result over [`MAX_RESPONSE_BYTES`] (a web function's headers over [`MAX_RESPONSE_HEADER_BYTES`]) |
//! | [`Fault::UserError`] | 430 | UserCodeException | the bootstrap posted to `/runtime/invocation/error` |
//! | [`Fault::Throttled`] | 432 | ResourceLimitReached | no instance free, none can start (max instances, memory quota, crash loop) and the wait queue is full or its wait ran out |
//! | [`Fault::Timeout`] | 433 | TimeLimitReached | no result within `timeout_s`; the process group is killed |
//! | [`Fault::MemoryLimit`] | 434 | MemoryLimitReached | the instance's RSS went over `memory_mb`; the process group is killed |
//! | [`Fault::FunctionNotFound`] | 435 | FunctionNotFound | no such function |
//! | [`Fault::InvalidParameter`] | 436 | InvalidParameterValue | bad invoke parameters (e.g. a web function invoked with an event) |
//! | [`Fault::HandlerNotFound`] | 437 | HandlerNotFound | the bootstrap is missing or not executable |
//! | [`Fault::ShuttingDown`] | 438 | FunctionStatusError | the server is shutting down |
//! | [`Fault::ProcessExit`] | 439 | UserProcessExit | the process exited during the invocation (reported at once) |
//! | [`Fault::PortBindingFailed`] | 446 | PortBindingFailed | a web function did not listen on its port within `init_timeout_s` |
//! | [`Fault::InitTimeout`] | 450 | InitContainerTimeout | no ready within `init_timeout_s`; the process group is killed |
//! | [`Fault::Internal`] | 500 | InternalError | a fault of the host itself |
//!
//! An answer whose HTTP status is one of these codes carries the name as its reason phrase
//! (`HTTP/1.1 433 TimeLimitReached`), set by [`Fault::set_status`].

use std::fmt;

/// Largest event of a synchronous invocation, bytes (406 past it).
pub const MAX_SYNC_EVENT_BYTES: usize = 6 * 1024 * 1024;
/// Largest event of an asynchronous invocation, bytes (406 past it).
pub const MAX_ASYNC_EVENT_BYTES: usize = 128 * 1024;
/// Largest result a function may give (a posted result, or a web function's response body), bytes
/// (407 past it).
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
/// Total size allowed for a web function's response headers (names + values), bytes (407 past it).
pub const MAX_RESPONSE_HEADER_BYTES: usize = 4 * 1024;

/// A failure of an invocation, by cause. See the module table for the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// 400: the event is not JSON.
    NotJson,
    /// 405: exit before ready.
    ExitBeforeReady,
    /// 406: event too large.
    RequestTooLarge,
    /// 407: response too large.
    ResponseTooLarge,
    /// 430: the function reported an error.
    UserError,
    /// 432: throttled.
    Throttled,
    /// 433: exec timeout.
    Timeout,
    /// 434: memory limit.
    MemoryLimit,
    /// 435: no such function.
    FunctionNotFound,
    /// 436: bad invoke parameters.
    InvalidParameter,
    /// 437: bootstrap missing or not executable.
    HandlerNotFound,
    /// 438: the server is shutting down.
    ShuttingDown,
    /// 439: exit during the invocation.
    ProcessExit,
    /// 446: a web function did not listen on its port in time.
    PortBindingFailed,
    /// 450: init timeout.
    InitTimeout,
    /// 500: host fault.
    Internal,
}

impl Fault {
    /// Every fault, in code order.
    pub const ALL: [Fault; 16] = [
        Fault::NotJson,
        Fault::ExitBeforeReady,
        Fault::RequestTooLarge,
        Fault::ResponseTooLarge,
        Fault::UserError,
        Fault::Throttled,
        Fault::Timeout,
        Fault::MemoryLimit,
        Fault::FunctionNotFound,
        Fault::InvalidParameter,
        Fault::HandlerNotFound,
        Fault::ShuttingDown,
        Fault::ProcessExit,
        Fault::PortBindingFailed,
        Fault::InitTimeout,
        Fault::Internal,
    ];

    /// The SCF status code and its name: the one table of the module docs.
    pub fn code_and_name(self) -> (u16, &'static str) {
        match self {
            Fault::NotJson => (400, "InvalidParameterValue"),
            Fault::ExitBeforeReady => (405, "ContainerStateExited"),
            Fault::RequestTooLarge => (406, "RequestTooLarge"),
            Fault::ResponseTooLarge => (407, "ResponseTooLarge"),
            Fault::UserError => (430, "UserCodeException"),
            Fault::Throttled => (432, "ResourceLimitReached"),
            Fault::Timeout => (433, "TimeLimitReached"),
            Fault::MemoryLimit => (434, "MemoryLimitReached"),
            Fault::FunctionNotFound => (435, "FunctionNotFound"),
            Fault::InvalidParameter => (436, "InvalidParameterValue"),
            Fault::HandlerNotFound => (437, "HandlerNotFound"),
            Fault::ShuttingDown => (438, "FunctionStatusError"),
            Fault::ProcessExit => (439, "UserProcessExit"),
            Fault::PortBindingFailed => (446, "PortBindingFailed"),
            Fault::InitTimeout => (450, "InitContainerTimeout"),
            Fault::Internal => (500, "InternalError"),
        }
    }

    /// The SCF status code.
    pub fn code(self) -> u16 {
        self.code_and_name().0
    }

    /// The status name, e.g. `TimeLimitReached`.
    pub fn name(self) -> &'static str {
        self.code_and_name().1
    }

    /// The fault as an [`InvokeError`] with `message`.
    pub fn error(self, message: impl Into<String>) -> InvokeError {
        InvokeError {
            fault: self,
            message: message.into(),
            function_error: None,
        }
    }

    /// Gives `response` the SCF code as its HTTP status and the SCF name as its reason phrase
    /// (`430 UserCodeException`): the one place an answer takes a fault's code as its status.
    pub fn set_status<B>(self, response: &mut http::Response<B>) {
        *response.status_mut() = http::StatusCode::from_u16(self.code())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        response
            .extensions_mut()
            .insert(hyper::ext::ReasonPhrase::from_static(
                self.name().as_bytes(),
            ));
    }

    /// Whether the fault is decided before any instance runs the event (the Cloud API reports
    /// these as `Response.Error` rather than a failed `Result`).
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            Fault::NotJson
                | Fault::RequestTooLarge
                | Fault::Throttled
                | Fault::FunctionNotFound
                | Fault::InvalidParameter
                | Fault::ShuttingDown
        )
    }

    /// The fault with `code`, if it is one of the table.
    pub fn from_code(code: u16) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// A failed invocation, as the platform reports it: the [`Fault`] (its SCF status code and name)
/// and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeError {
    /// What went wrong; [`Fault::code`] is the SCF status code.
    pub fault: Fault,
    /// What happened, for people. For a function error (430) it is the text the function posted,
    /// as the platform's `ERROR RequestId:… Result:…` line and the Cloud API's `ErrMsg` show it.
    pub message: String,
    /// For a function error (430) whose posted body is JSON: that body, parsed (usually
    /// `{"errorType","errorMessage","stackTrace"}`); boxed, so the error stays small.
    pub function_error: Option<Box<serde_json::Value>>,
}

impl InvokeError {
    /// The SCF status code, e.g. 430 for a user code error, 433 for a timeout.
    pub fn code(&self) -> u16 {
        self.fault.code()
    }

    /// The status name, e.g. `TimeLimitReached`.
    pub fn name(&self) -> &'static str {
        self.fault.name()
    }

    /// A function error (430) from the body the function posted to `/runtime/invocation/error`:
    /// the text as [`message`](Self::message), and the body parsed as
    /// [`function_error`](Self::function_error) when it is JSON.
    pub fn from_function(body: &[u8]) -> InvokeError {
        InvokeError {
            fault: Fault::UserError,
            message: String::from_utf8_lossy(body).into_owned(),
            function_error: serde_json::from_slice(body).ok().map(Box::new),
        }
    }

    /// The message for people: the function error's `errorMessage` (or the posted JSON string)
    /// when there is one, else [`message`](Self::message).
    pub fn summary(&self) -> &str {
        match self.function_error.as_deref() {
            Some(serde_json::Value::String(text)) => text,
            Some(serde_json::Value::Object(object)) => object
                .get("errorMessage")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(&self.message),
            _ => &self.message,
        }
    }

    /// The error as the JSON body the server uses everywhere: `{"code","error","message"}`, plus
    /// `function_error` (the function's own error, as JSON) for a function error whose posted
    /// body is JSON:
    /// `{"code":430,"error":"UserCodeException","message":"card declined","function_error":{"errorType":"PaymentDeclined","errorMessage":"card declined"}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "code": self.code(),
            "error": self.name(),
            "message": self.summary(),
        });
        if let Some(function_error) = &self.function_error {
            body["function_error"] = (**function_error).clone();
        }
        body
    }
}

/// The server's error body for an HTTP error that is no invocation fault (no route, a body over
/// the limit, …), in the shape of [`InvokeError::to_json`]: `{"code": <HTTP status>, "error":
/// <its reason without spaces, e.g. NotFound>, "message"}`.
pub fn http_error_json(status: http::StatusCode, message: &str) -> serde_json::Value {
    let name: String = status
        .canonical_reason()
        .unwrap_or("Error")
        .split([' ', '-'])
        .collect();
    serde_json::json!({ "code": status.as_u16(), "error": name, "message": message })
}

impl fmt::Display for InvokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code(), self.name(), self.message)
    }
}

impl std::error::Error for InvokeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique() {
        for (i, a) in Fault::ALL.iter().enumerate() {
            for b in &Fault::ALL[i + 1..] {
                assert_ne!(a.code(), b.code(), "{a:?} and {b:?}");
            }
            assert_eq!(Fault::from_code(a.code()), Some(*a));
        }
        let e = Fault::Timeout.error("took too long");
        assert_eq!((e.code(), e.name()), (433, "TimeLimitReached"));
        assert_eq!(Fault::from_code(999), None);
    }

    #[test]
    fn error_json_names_the_code() {
        let err = Fault::Timeout.error("took longer than 3 s");
        assert_eq!(
            err.to_json(),
            serde_json::json!({"code": 433, "error": "TimeLimitReached", "message": "took longer than 3 s"})
        );
        assert_eq!(
            err.to_string(),
            "433 TimeLimitReached: took longer than 3 s"
        );
    }

    #[test]
    fn a_function_error_keeps_its_object() {
        let posted = br#"{"errorType":"PaymentDeclined","errorMessage":"card declined","stackTrace":["at pay"]}"#;
        let err = InvokeError::from_function(posted);
        assert_eq!(err.message, String::from_utf8_lossy(posted));
        assert_eq!(
            err.to_json(),
            serde_json::json!({
                "code": 430,
                "error": "UserCodeException",
                "message": "card declined",
                "function_error": {"errorType": "PaymentDeclined", "errorMessage": "card declined", "stackTrace": ["at pay"]},
            })
        );
        let err = InvokeError::from_function(b"it broke");
        assert_eq!(
            err.to_json(),
            serde_json::json!({"code": 430, "error": "UserCodeException", "message": "it broke"})
        );
        let err = InvokeError::from_function(br#""quoted""#);
        assert_eq!(err.to_json()["message"], "quoted");
        let err = InvokeError::from_function(br#"{"code":7}"#);
        assert_eq!(err.to_json()["message"], r#"{"code":7}"#);
        assert_eq!(err.to_json()["function_error"]["code"], 7);
    }

    #[test]
    fn http_errors_have_the_same_shape() {
        assert_eq!(
            http_error_json(http::StatusCode::PAYLOAD_TOO_LARGE, "big"),
            serde_json::json!({"code": 413, "error": "PayloadTooLarge", "message": "big"})
        );
    }

    #[test]
    fn answers_carry_the_scf_name_as_reason() {
        let mut response = http::Response::new(());
        Fault::Timeout.set_status(&mut response);
        assert_eq!(response.status(), 433);
        let reason = response.extensions().get::<hyper::ext::ReasonPhrase>();
        assert_eq!(reason.map(|r| r.as_bytes()), Some(&b"TimeLimitReached"[..]));
    }
}
