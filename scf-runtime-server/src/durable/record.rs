//! What the queue stores about each event.

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::policy::{FailureCounts, GiveUp};
use super::state::{AsyncStatus, EventState};

/// Where an async event came from (`InvokeType` in `ListAsyncEvents`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// The invoke API or the Cloud API `Invoke` with `InvocationType: Event`.
    Invoke,
    /// A timer trigger.
    Timer,
    /// A CKafka trigger batch.
    Ckafka,
}

impl EventSource {
    /// Whether its events take the async invocation limits (128 KB). A CKafka batch is a sync
    /// invocation on the platform (up to 6 MB), though the server queues it.
    pub fn async_sized(self) -> bool {
        self != EventSource::Ckafka
    }

    /// The `InvokeType` the Cloud API shows: `INVOKE`, `TIMER` or `CKAFKA`.
    pub fn invoke_type(self) -> &'static str {
        match self {
            EventSource::Invoke => "INVOKE",
            EventSource::Timer => "TIMER",
            EventSource::Ckafka => "CKAFKA",
        }
    }
}

impl fmt::Display for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.invoke_type())
    }
}

impl FromStr for EventSource {
    type Err = String;

    /// Parses `INVOKE`, `TIMER` or `CKAFKA`, ignoring case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [EventSource::Invoke, EventSource::Timer, EventSource::Ckafka]
            .into_iter()
            .find(|source| source.invoke_type().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown invoke type {s:?}; expected INVOKE, TIMER or CKAFKA"))
    }
}

/// An error an attempt ended with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventError {
    /// SCF status code ([status codes](https://www.tencentcloud.com/document/product/583/35311)).
    pub code: u16,
    /// What happened.
    pub message: String,
}

/// Everything the queue knows about one event except its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The request id: returned when the event was accepted, and the same on every retry.
    pub request_id: String,
    /// The function it is for.
    pub function: String,
    /// The version it is for (always `$LATEST` on this host).
    pub qualifier: String,
    /// Where it came from.
    pub source: EventSource,
    /// Where it is in its life.
    pub state: EventState,
    /// Deliveries started so far (the first delivery is attempt 1; SCF's `RetryNum` is
    /// `attempts - 1`).
    pub attempts: u32,
    /// Failed deliveries, by error class.
    pub failures: FailureCounts,
    /// When it was accepted (Unix ms).
    pub created_ms: u64,
    /// When the first delivery started (Unix ms).
    pub started_ms: Option<u64>,
    /// When it is (or was) due for its next delivery (Unix ms).
    pub due_ms: u64,
    /// When it finished, failed or was aborted (Unix ms).
    pub ended_ms: Option<u64>,
    /// The error of the last failed delivery.
    pub last_error: Option<EventError>,
    /// Why it was dead-lettered (only for `Failed`).
    pub give_up: Option<GiveUp>,
    /// Size of the payload in bytes.
    pub payload_len: u64,
    /// The ordered stream it belongs to, if any (see [`OrderKey`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderKey>,
}

/// A dead-lettered event as the queue keeps it: its record and its payload, when kept
/// ([`DeadLetterView`](super::DeadLetterView) is how the routes show it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The event's record.
    pub record: EventRecord,
    /// The original event, when it is kept.
    pub payload: Option<Bytes>,
}

/// Places an event in an ordered stream (a CKafka partition): events with the same `key` are
/// delivered one at a time, lowest `position` first, and the next starts only when the one
/// before it is done (finished, dead-lettered or aborted) — a failing event holds the stream
/// while it is retried, as SCF's ordered queue triggers do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderKey {
    /// The stream, e.g. `"orders/orders/0"` (function, trigger, partition).
    pub key: String,
    /// The event's place in the stream, e.g. the first Kafka offset of the batch.
    pub position: i64,
}

impl EventRecord {
    /// SCF's status of the event.
    pub fn status(&self) -> AsyncStatus {
        self.state.status()
    }

    /// `StatusCode` for `GetAsyncEventStatus`: 202 while running, 200 when finished, the last
    /// error's code when failed, 499 when aborted.
    pub fn status_code(&self) -> u16 {
        match self.state.status() {
            AsyncStatus::Running => 202,
            AsyncStatus::Finished => 200,
            AsyncStatus::Aborted => 499,
            AsyncStatus::Failed => self.last_error.as_ref().map_or(500, |e| e.code),
        }
    }

    /// SCF's `RetryNum`: how many of the deliveries were retries.
    pub fn retry_num(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

/// An event to accept into the queue.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The function to run.
    pub function: String,
    /// The raw event (JSON).
    pub payload: Bytes,
    /// Where it comes from.
    pub source: EventSource,
    /// Use this request id instead of a fresh UUID (it must not be in the queue already).
    pub request_id: Option<String>,
    /// Deliver in order with the other events of this stream (see [`OrderKey`]).
    pub order: Option<OrderKey>,
    /// The version or alias to run (`$LATEST` by default), resolved at each delivery.
    pub qualifier: String,
}

impl NewEvent {
    /// An event for `function` with a fresh request id.
    pub fn new(
        function: impl Into<String>,
        payload: impl Into<Bytes>,
        source: EventSource,
    ) -> NewEvent {
        NewEvent {
            function: function.into(),
            payload: payload.into(),
            source,
            request_id: None,
            order: None,
            qualifier: "$LATEST".to_owned(),
        }
    }

    /// The same event, delivered in order within the stream `key` at `position`.
    pub fn ordered(mut self, key: impl Into<String>, position: i64) -> NewEvent {
        self.order = Some(OrderKey {
            key: key.into(),
            position,
        });
        self
    }
}

/// An event being delivered: its record (state [`InFlight`](EventState::InFlight), `attempts`
/// already counting this delivery) and its payload.
#[derive(Debug, Clone)]
pub struct AsyncEvent {
    /// The stored record.
    pub record: EventRecord,
    /// The raw event.
    pub payload: Bytes,
}

impl AsyncEvent {
    /// The request id (the same on every retry).
    pub fn request_id(&self) -> &str {
        &self.record.request_id
    }

    /// The function to run.
    pub fn function(&self) -> &str {
        &self.record.function
    }
}
