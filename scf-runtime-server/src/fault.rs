//! Every way an invocation can fail, and the one SCF status code each maps to.
//!
//! | Fault | Code | Name | When |
//! |---|---|---|---|
//! | [`Fault::NotJson`] | 400 | InvalidParameterValue | the event of an event function is not JSON |
//! | [`Fault::ExitBeforeReady`] | 405 | ContainerStateExited | the bootstrap exited before `POST /runtime/init/ready` |
//! | [`Fault::RequestTooLarge`] | 406 | RequestTooLarge | event over 6 MB (sync) or 128 KB (async), refused before any instance is touched |
//! | [`Fault::ResponseTooLarge`] | 407 | ResponseTooLarge | result post over 6 MB |
//! | [`Fault::UserError`] | 430 | UserCodeException | the bootstrap posted to `/runtime/invocation/error` |
//! | [`Fault::Throttled`] | 432 | ResourceLimitReached | no instance free, none can start (max instances, memory quota, crash loop) and the wait queue is full or its wait ran out |
//! | [`Fault::Timeout`] | 433 | TimeLimitReached | no result within `timeout_s`; the process group is killed |
//! | [`Fault::MemoryLimit`] | 434 | MemoryLimitReached | the instance's RSS went over `memory_mb`; the process group is killed |
//! | [`Fault::FunctionNotFound`] | 435 | FunctionNotFound | no such function |
//! | [`Fault::InvalidParameter`] | 436 | InvalidParameterValue | bad invoke parameters (e.g. a web function invoked with an event) |
//! | [`Fault::HandlerNotFound`] | 437 | HandlerNotFound | the bootstrap is missing or not executable |
//! | [`Fault::ShuttingDown`] | 438 | FunctionStatusError | the server is shutting down |
//! | [`Fault::ProcessExit`] | 439 | UserProcessExit | the process exited during the invocation (reported at once) |
//! | [`Fault::InitTimeout`] | 450 | InitContainerTimeout | no ready within `init_timeout_s`; the process group is killed |
//! | [`Fault::Internal`] | 500 | InternalError | a fault of the host itself |

use crate::triggers::InvokeError;

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
    /// 450: init timeout.
    InitTimeout,
    /// 500: host fault.
    Internal,
}

impl Fault {
    /// Every fault, in code order.
    pub const ALL: [Fault; 15] = [
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
            Fault::InitTimeout => (450, "InitContainerTimeout"),
            Fault::Internal => (500, "InternalError"),
        }
    }

    /// The SCF status code.
    pub fn code(self) -> u16 {
        self.code_and_name().0
    }

    /// The fault as an [`InvokeError`] with `message`.
    pub fn error(self, message: impl Into<String>) -> InvokeError {
        let (code, name) = self.code_and_name();
        InvokeError {
            code,
            error: name.to_owned(),
            message: message.into(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_match_the_trigger_names() {
        for (i, a) in Fault::ALL.iter().enumerate() {
            for b in &Fault::ALL[i + 1..] {
                assert_ne!(a.code(), b.code(), "{a:?} and {b:?}");
            }
            assert_eq!(Fault::from_code(a.code()), Some(*a));
            let (code, name) = a.code_and_name();
            assert_eq!(crate::triggers::invoke::status_name(code), name, "{a:?}");
        }
        let e = Fault::Timeout.error("took too long");
        assert_eq!((e.code, e.error.as_str()), (433, "TimeLimitReached"));
    }
}
