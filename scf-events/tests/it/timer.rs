//! Timer fixtures: concrete fields and round trips.

use scf_events::timer::TimerEvent;
use serde_json::Value;

use crate::support::fixture;

/// Parses, checks that serialising gives the input back and that it parses again to the same value.
fn round_trip(name: &str) -> TimerEvent {
    let input = fixture(name);
    let event: TimerEvent = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out, input, "{name}: serialising changed the event");
    assert_eq!(
        serde_json::from_value::<TimerEvent>(out).unwrap(),
        event,
        "{name}"
    );
    event
}

#[test]
fn doc_sample() {
    let e = round_trip("timer-doc");
    assert_eq!(e.kind, "Timer");
    assert_eq!(e.trigger_name, "EveryDay");
    assert_eq!(e.time, "2019-02-21T11:49:00Z");
    assert_eq!(e.message, "user define msg body");
    assert!(e.message_json::<Value>().is_err(), "plain text is not JSON");
}

#[test]
fn empty_message() {
    let e = round_trip("timer-empty-message");
    assert_eq!(e.trigger_name, "every-5-minutes");
    assert_eq!(e.message, "");
}

#[test]
fn json_message_stays_a_string() {
    let e = round_trip("timer-json-message");
    assert_eq!(
        e.message,
        r#"{"job":"nightly-report","retries":3,"dryRun":false}"#
    );
    let msg: Value = e.message_json().unwrap();
    assert_eq!(msg["retries"], 3);
    assert_eq!(msg["dryRun"], false);
}

#[test]
fn missing_message_reads_as_empty() {
    let e: TimerEvent =
        serde_json::from_str(r#"{"Type":"Timer","TriggerName":"t","Time":"2019-02-21T11:49:00Z"}"#)
            .unwrap();
    assert_eq!(e.message, "");
}

#[test]
fn non_timer_types_are_not_rejected() {
    // The type field is an open string: other SDKs that insist on "Timer" break on new values.
    let e: TimerEvent = serde_json::from_str(
        r#"{"Type":"Scheduled","TriggerName":"t","Time":"2019-02-21T11:49:00Z","Message":""}"#,
    )
    .unwrap();
    assert_eq!(e.kind, "Scheduled");
}

#[cfg(feature = "chrono")]
#[test]
fn typed_time() {
    let e = round_trip("timer-doc");
    assert_eq!(e.time().unwrap().timestamp(), 1_550_749_740);
    let bad = TimerEvent {
        time: "soon".into(),
        ..e
    };
    assert!(bad.time().is_none());
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_round_trip() {
    let mut input = fixture("timer-doc");
    input["Extra"] = serde_json::json!({"x": 1});
    let e: TimerEvent = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(e.other["Extra"]["x"], 1);
    assert_eq!(serde_json::to_value(&e).unwrap(), input);
}
