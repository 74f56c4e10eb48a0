//! What the `/async/events…` and `/async/dlq…` routes answer and `cargo scf events` / `cargo scf dlq`
//! read: typed views of the queue's records, the filters that select them, and the operations
//! that answer with them (the routes call these on the server's queue, the CLI on a state
//! folder when no server holds it).
//!
//! The views serialise with their fields in alphabetical order: that is the JSON the routes
//! have always sent (they used to build it as a sorted `serde_json::Value`), so a client
//! comparing bytes sees no change.

use serde::{Deserialize, Serialize};

use super::clock::format_scf_time;
use super::error::DurableError;
use super::queue::{DeadLetterFilter, DurableQueue, ListQuery, ReplayId};
use super::record::{DeadLetter, EventError, EventRecord, EventSource};
use super::state::{AsyncStatus, EventState};

/// Most items one listing returns.
pub const MAX_LIMIT: usize = 1000;

/// An event as the routes and `cargo scf events` show it; times are `%Y-%m-%d %H:%M:%S.%f` UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// Deliveries started so far.
    pub attempts: u32,
    /// When it was accepted.
    pub created: String,
    /// When it finished, failed or was aborted.
    pub ended: Option<String>,
    /// The error of the last failed delivery.
    pub error: Option<EventError>,
    /// The function it is for.
    pub function: String,
    /// Why it was dead-lettered, for people.
    pub give_up: Option<String>,
    /// When the next delivery is due (only while `RUNNING`).
    pub next_attempt: Option<String>,
    /// The event, when it is kept and is UTF-8 (only when one event is shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The event in base64, when it is kept and is not UTF-8 (only when one event is shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_base64: Option<String>,
    /// Size of the event in bytes.
    pub payload_bytes: u64,
    /// The version it is for (`$LATEST`).
    pub qualifier: String,
    /// The request id.
    pub request_id: String,
    /// How many deliveries were retries.
    pub retry_num: u32,
    /// Where it came from: `INVOKE`, `TIMER` or `CKAFKA`.
    #[serde(with = "invoke_type")]
    pub source: EventSource,
    /// When the first delivery started.
    pub started: Option<String>,
    /// Where it is in its life (`queued`, `in_flight`, …).
    pub state: EventState,
    /// SCF's status (`RUNNING`, `FINISHED`, `FAILED`, `ABORTED`).
    pub status: AsyncStatus,
}

impl From<&EventRecord> for EventView {
    fn from(record: &EventRecord) -> EventView {
        let running = record.status() == AsyncStatus::Running;
        EventView {
            attempts: record.attempts,
            created: format_scf_time(record.created_ms),
            ended: record.ended_ms.map(format_scf_time),
            error: record.last_error.clone(),
            function: record.function.clone(),
            give_up: record.give_up.map(|g| g.describe().to_owned()),
            next_attempt: running.then(|| format_scf_time(record.due_ms)),
            payload: None,
            payload_base64: None,
            payload_bytes: record.payload_len,
            qualifier: record.qualifier.clone(),
            request_id: record.request_id.clone(),
            retry_num: record.retry_num(),
            source: record.source,
            started: record.started_ms.map(format_scf_time),
            state: record.state,
            status: record.status(),
        }
    }
}

/// `EventSource` as the Cloud API spells it (`INVOKE`), not as the store does.
mod invoke_type {
    use serde::{Deserialize as _, Deserializer, Serializer};

    use crate::durable::EventSource;

    pub(super) fn serialize<S: Serializer>(
        source: &EventSource,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(source.invoke_type())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<EventSource, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A dead-lettered event as the dead-letter store shows it (after SCF's
/// [dead letter queue](https://www.tencentcloud.com/document/product/583/39704) message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterView {
    /// When it was accepted (Unix ms).
    pub created_ms: u64,
    /// The SCF status code of the last failure.
    pub error_code: u16,
    /// The last failure's message.
    pub error_message: String,
    /// The original event, as text (lossy if it was not UTF-8).
    pub event: String,
    /// When it was dead-lettered (Unix ms).
    pub failed_ms: u64,
    /// The function.
    pub function_name: String,
    /// Why it was given up on.
    pub reason: String,
    /// The request id.
    pub request_id: String,
    /// How many deliveries were retries.
    pub retry_num: u32,
}

impl From<&DeadLetter> for DeadLetterView {
    fn from(DeadLetter { record, payload }: &DeadLetter) -> DeadLetterView {
        let (code, message) = record
            .last_error
            .as_ref()
            .map_or((500, String::new()), |e| (e.code, e.message.clone()));
        DeadLetterView {
            created_ms: record.created_ms,
            error_code: code,
            error_message: message,
            event: String::from_utf8_lossy(payload.as_deref().unwrap_or_default()).into_owned(),
            failed_ms: record.ended_ms.unwrap_or(0),
            function_name: record.function.clone(),
            reason: record.give_up.map_or("", |g| g.describe()).to_owned(),
            request_id: record.request_id.clone(),
            retry_num: record.retry_num(),
        }
    }
}

/// `GET /async/events`: one page of events and how many match in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    /// The page.
    pub events: Vec<EventView>,
    /// How many events match.
    pub total: usize,
}

/// `GET /async/dlq`: one page of dead letters and how many match in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterPage {
    /// The page.
    pub dead_letters: Vec<DeadLetterView>,
    /// How many dead letters match.
    pub total: usize,
}

/// `POST /async/dlq/replay`: the request ids queued again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    /// The request ids, as they are queued now.
    pub queued: Vec<String>,
}

/// `POST /async/dlq/purge`: how many dead letters were deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// How many.
    pub purged: usize,
}

/// Filters of an event listing, as the route's query string and `cargo scf events list` give them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this function's events.
    pub function: Option<String>,
    /// Comma list of statuses (`RUNNING`, `FINISHED`, `FAILED`, `ABORTED`).
    pub status: Option<String>,
    /// Comma list of sources (`INVOKE`, `TIMER`, `CKAFKA`).
    pub source: Option<String>,
    /// Matches to skip.
    pub offset: Option<usize>,
    /// Most matches to return (default 20, at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// `asc` for oldest first.
    pub order: Option<String>,
}

fn comma_list<T>(
    text: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, DurableError> {
    text.into_iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).map_err(DurableError::Invalid))
        .collect()
}

impl EventFilter {
    /// The queue query, or what is wrong with the filter ([`DurableError::Invalid`]).
    pub fn query(&self) -> Result<ListQuery, DurableError> {
        let ascending = match self
            .order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(other) => {
                return Err(DurableError::Invalid(format!(
                    "order must be asc or desc, not {other:?}"
                )));
            }
        };
        Ok(ListQuery {
            function: self.function.clone().filter(|f| !f.is_empty()),
            statuses: comma_list(self.status.as_deref(), str::parse::<AsyncStatus>)?,
            sources: comma_list(self.source.as_deref(), str::parse::<EventSource>)?,
            ascending,
            offset: self.offset.unwrap_or(0),
            limit: self.limit.unwrap_or(20).min(MAX_LIMIT),
            ..ListQuery::default()
        })
    }
}

/// Which dead letters `cargo scf dlq` acts on (the body of `POST /async/dlq/replay` and `/purge`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct DlqSelection {
    /// Only this function's.
    #[serde(default)]
    pub function: Option<String>,
    /// Only these request ids (none: all that match `function`).
    #[serde(default)]
    pub request_ids: Vec<String>,
    /// Replay under fresh request ids (the dead letters are removed) instead of the same ones.
    #[serde(default)]
    pub fresh_id: bool,
}

impl DlqSelection {
    fn filter(&self) -> DeadLetterFilter {
        DeadLetterFilter {
            function: self.function.clone().filter(|f| !f.is_empty()),
            request_ids: self.request_ids.clone(),
        }
    }
}

/// The events `filter` selects (read on the blocking threads).
pub async fn list_events(
    queue: &DurableQueue,
    filter: &EventFilter,
) -> Result<EventPage, DurableError> {
    let page = queue.list_blocking(filter.query()?).await?;
    Ok(EventPage {
        events: page.items.iter().map(EventView::from).collect(),
        total: page.total,
    })
}

/// One event with its payload (as text when it is UTF-8, else base64 under `payload_base64`).
pub fn show_event(queue: &DurableQueue, request_id: &str) -> Result<EventView, DurableError> {
    let record = queue
        .get(request_id)?
        .ok_or_else(|| DurableError::NotFound {
            request_id: request_id.to_owned(),
        })?;
    let mut view = EventView::from(&record);
    if let Some(payload) = queue.payload(request_id)? {
        match std::str::from_utf8(&payload) {
            Ok(text) => view.payload = Some(text.to_owned()),
            Err(_) => {
                use base64::Engine as _;
                view.payload_base64 =
                    Some(base64::engine::general_purpose::STANDARD.encode(&payload));
            }
        }
    }
    Ok(view)
}

/// Aborts one event that has not finished: the event as it is then.
pub async fn abort_event(
    queue: &DurableQueue,
    request_id: &str,
) -> Result<EventView, DurableError> {
    let record = queue.abort(request_id).await?;
    Ok(EventView::from(&record))
}

/// The dead letters of `function` (all when `None`), oldest first.
pub fn list_dead_letters(
    queue: &DurableQueue,
    function: Option<String>,
    offset: usize,
    limit: usize,
) -> Result<DeadLetterPage, DurableError> {
    let selection = DlqSelection {
        function,
        ..DlqSelection::default()
    };
    let page = queue.dead_letters(&selection.filter(), offset, limit.min(MAX_LIMIT))?;
    Ok(DeadLetterPage {
        dead_letters: page.items.iter().map(DeadLetterView::from).collect(),
        total: page.total,
    })
}

/// Re-queues the selected dead letters.
pub async fn replay(
    queue: &DurableQueue,
    selection: &DlqSelection,
) -> Result<Replayed, DurableError> {
    let id = if selection.fresh_id {
        ReplayId::Fresh
    } else {
        ReplayId::Same
    };
    let queued = queue.replay(&selection.filter(), id).await?;
    Ok(Replayed { queued })
}

/// Deletes the selected dead letters.
pub async fn purge(queue: &DurableQueue, selection: &DlqSelection) -> Result<Purged, DurableError> {
    let purged = queue.purge(&selection.filter()).await?;
    Ok(Purged { purged })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::{FailureCounts, GiveUp};

    fn record(state: EventState) -> EventRecord {
        EventRecord {
            request_id: "r-1".to_owned(),
            function: "echo".to_owned(),
            qualifier: "$LATEST".to_owned(),
            source: EventSource::Timer,
            state,
            attempts: 3,
            failures: FailureCounts::default(),
            created_ms: 1_700_000_000_000,
            started_ms: Some(1_700_000_000_250),
            due_ms: 1_700_000_060_000,
            ended_ms: None,
            last_error: Some(EventError {
                code: 430,
                message: "boom".to_owned(),
            }),
            give_up: None,
            payload_len: 9,
            order: None,
        }
    }

    #[test]
    fn an_event_view_is_the_json_the_routes_always_sent() {
        let view = EventView::from(&record(EventState::Queued));
        let json = serde_json::to_string(&view).unwrap();
        assert_eq!(
            json,
            r#"{"attempts":3,"created":"2023-11-14 22:13:20.000000","ended":null,"error":{"code":430,"message":"boom"},"function":"echo","give_up":null,"next_attempt":"2023-11-14 22:14:20.000000","payload_bytes":9,"qualifier":"$LATEST","request_id":"r-1","retry_num":2,"source":"TIMER","started":"2023-11-14 22:13:20.250000","state":"queued","status":"RUNNING"}"#
        );
        // Field order is the order a sorted `serde_json::Value` has.
        let value = serde_json::to_value(&view).unwrap();
        assert_eq!(value.to_string(), json);
        assert_eq!(serde_json::from_str::<EventView>(&json).unwrap(), view);
    }

    #[test]
    fn a_shown_event_carries_its_payload_and_round_trips() {
        let mut view = EventView::from(&record(EventState::Failed));
        view.payload = Some("{}".to_owned());
        let json = serde_json::to_string(&view).unwrap();
        assert_eq!(serde_json::to_value(&view).unwrap().to_string(), json);
        assert!(json.contains(r#""next_attempt":null,"payload":"{}","payload_bytes":9"#));
        assert!(json.contains(r#""state":"failed","status":"FAILED""#));
        assert_eq!(serde_json::from_str::<EventView>(&json).unwrap(), view);
    }

    #[test]
    fn a_dead_letter_view_is_pascal_case_in_sorted_order() {
        let mut r = record(EventState::Failed);
        r.ended_ms = Some(1_700_000_100_000);
        r.give_up = Some(GiveUp::RetriesExhausted);
        let view = DeadLetterView::from(&DeadLetter {
            record: r,
            payload: Some(bytes::Bytes::from_static(b"{\"k\":1}")),
        });
        let json = serde_json::to_string(&view).unwrap();
        assert_eq!(
            json,
            r#"{"CreatedMs":1700000000000,"ErrorCode":430,"ErrorMessage":"boom","Event":"{\"k\":1}","FailedMs":1700000100000,"FunctionName":"echo","Reason":"function error retries exhausted","RequestId":"r-1","RetryNum":2}"#
        );
        assert_eq!(serde_json::to_value(&view).unwrap().to_string(), json);
        assert_eq!(serde_json::from_str::<DeadLetterView>(&json).unwrap(), view);
        let page = DeadLetterPage {
            dead_letters: vec![view],
            total: 1,
        };
        let json = serde_json::to_string(&page).unwrap();
        assert_eq!(serde_json::to_value(&page).unwrap().to_string(), json);
    }

    #[test]
    fn a_bad_filter_is_invalid() {
        let filter = EventFilter {
            status: Some("RUNNING,NOPE".to_owned()),
            ..EventFilter::default()
        };
        assert!(matches!(filter.query(), Err(DurableError::Invalid(_))));
        let filter = EventFilter {
            order: Some("sideways".to_owned()),
            ..EventFilter::default()
        };
        assert!(matches!(filter.query(), Err(DurableError::Invalid(_))));
    }
}
