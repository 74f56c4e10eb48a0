//! Errors of the durable queue.

use std::fmt;

use super::state::EventState;
use crate::fault::{Fault, InvokeError};

/// Why a queue operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurableError {
    /// The function already has `limit` accepted events that are not done (the per-function
    /// bound, `QueueConfig::max_pending_per_function`). Nothing already accepted is dropped; the
    /// caller is told to retry later (SCF 432).
    QueueFull {
        /// The function.
        function: String,
        /// The bound.
        limit: usize,
    },
    /// No event has this request id (or it was pruned after its retention).
    NotFound {
        /// The request id asked for.
        request_id: String,
    },
    /// The event is in a state that forbids the operation.
    WrongState {
        /// The event.
        request_id: String,
        /// Its state.
        state: EventState,
        /// What was asked.
        action: &'static str,
    },
    /// The request id given for a new event is taken.
    Duplicate {
        /// The request id.
        request_id: String,
    },
    /// The request was malformed (e.g. an empty function name).
    Invalid(String),
    /// The store could not be read or written (the message names the file).
    Store(String),
    /// The queue is closed.
    Closed,
}

impl DurableError {
    /// The fault the caller is told: 432 when full, 435 when not found, 436 for bad requests,
    /// 500 for store faults.
    pub fn fault(&self) -> Fault {
        match self {
            DurableError::QueueFull { .. } => Fault::Throttled,
            DurableError::NotFound { .. } => Fault::FunctionNotFound,
            DurableError::WrongState { .. }
            | DurableError::Duplicate { .. }
            | DurableError::Invalid(_) => Fault::InvalidParameter,
            DurableError::Store(_) | DurableError::Closed => Fault::Internal,
        }
    }

    /// The SCF status code for the caller (see [`fault`](Self::fault)).
    pub fn scf_code(&self) -> u16 {
        self.fault().code()
    }

    /// The Cloud API `Error.Code`.
    pub fn cloud_api_code(&self) -> &'static str {
        match self {
            DurableError::QueueFull { .. } => "LimitExceeded.TotalConcurrencyMemory",
            DurableError::NotFound { .. } => "ResourceNotFound.AsyncEvent",
            DurableError::WrongState { .. } => "FailedOperation.AsyncEventStatus",
            DurableError::Duplicate { .. } | DurableError::Invalid(_) => "InvalidParameterValue",
            DurableError::Store(_) | DurableError::Closed => "InternalError",
        }
    }
}

impl fmt::Display for DurableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurableError::QueueFull { function, limit } => write!(
                f,
                "the async queue of {function} is full: {limit} accepted events are not done yet (max_pending_per_function); retry later"
            ),
            DurableError::NotFound { request_id } => {
                write!(f, "no async event has the request id {request_id}")
            }
            DurableError::WrongState {
                request_id,
                state,
                action,
            } => write!(
                f,
                "cannot {action} async event {request_id}: it is {state} ({})",
                state.status()
            ),
            DurableError::Duplicate { request_id } => {
                write!(
                    f,
                    "an async event with the request id {request_id} already exists"
                )
            }
            DurableError::Invalid(message) => f.write_str(message),
            DurableError::Store(message) => write!(f, "async queue store: {message}"),
            DurableError::Closed => f.write_str("the async queue is closed"),
        }
    }
}

impl std::error::Error for DurableError {}

impl From<DurableError> for InvokeError {
    fn from(e: DurableError) -> InvokeError {
        e.fault().error(e.to_string())
    }
}
