//! CMQ fixtures: the owner/tag/time variants and round trips.

use scf_events::cmq::CmqEvent;
use serde_json::{Value, json};

use crate::support::fixture;

fn round_trip(name: &str) -> CmqEvent {
    let input = fixture(name);
    let event: CmqEvent = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out, input, "{name}: serialising changed the event");
    assert_eq!(
        serde_json::from_value::<CmqEvent>(out).unwrap(),
        event,
        "{name}"
    );
    event
}

#[test]
fn doc_2021_string_owner_comma_tags_millis() {
    let e = round_trip("cmq-doc-2021");
    let m = &e.records[0].cmq;
    assert_eq!(m.kind, "topic");
    assert!(m.topic_owner.is_string());
    assert_eq!(m.topic_owner(), Some(1_200_000_000));
    assert_eq!(m.tags().collect::<Vec<_>>(), ["tag1", "tag2"]);
    assert_eq!(m.publish_time, "1970-01-01T00:00:00.000Z");
    assert_eq!(m.topic_name, "testtopic");
    assert_eq!(m.subscription_name, "xxxxxx");
    assert_eq!(m.msg_body, "Hello from CMQ!");
}

#[test]
fn legacy_numeric_owner_array_tags() {
    let e = round_trip("cmq-legacy");
    let m = &e.records[0].cmq;
    assert!(!m.topic_owner.is_string());
    assert_eq!(m.topic_owner(), Some(1_253_970_026));
    assert!(m.msg_tag.is_array());
    assert_eq!(m.tags().collect::<Vec<_>>(), ["tag1", "tag2"]);
}

#[test]
fn real_capture_spaced_tags_no_fraction() {
    let e = round_trip("cmq-real");
    let m = &e.records[0].cmq;
    assert_eq!(m.topic_owner(), Some(1_253_970_026));
    assert_eq!(m.tags().collect::<Vec<_>>(), ["aaaa", "bbbbb", "cccc"]);
    assert_eq!(m.publish_time, "2019-08-16T10:48:49Z");
    // Ids beyond i64 stay strings.
    assert_eq!(m.request_id, "17713617281896620583");
    assert_eq!(m.msg_id, "13510798882111649");
}

#[test]
fn empty_tags() {
    let e = round_trip("cmq-empty-tags");
    let m = &e.records[0].cmq;
    assert_eq!(m.tags().count(), 0);
    assert!(m.msg_tag.is_empty());
}

#[test]
fn typed_body() {
    #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize, Default)]
    struct Signup {
        event: String,
        user: String,
    }
    let input = fixture("cmq-real");
    let e: CmqEvent<Signup> = serde_json::from_value(input.clone()).unwrap();
    let body = &e.records[0].cmq.msg_body;
    assert_eq!((body.event.as_str(), body.user.as_str()), ("signup", "u-1"));
    let out = serde_json::to_value(&e).unwrap();
    assert_eq!(out, input);
}

#[test]
fn null_tags_and_missing_tags() {
    let mut input = fixture("cmq-legacy");
    input["Records"][0]["CMQ"]["msgTag"] = Value::Null;
    let e: CmqEvent = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(e.records[0].cmq.tags().count(), 0);
    assert_eq!(serde_json::to_value(&e).unwrap(), input, "null is kept");
    input["Records"][0]["CMQ"]
        .as_object_mut()
        .unwrap()
        .remove("msgTag");
    let e: CmqEvent = serde_json::from_value(input).unwrap();
    assert_eq!(e.records[0].cmq.tags().count(), 0);
}

#[test]
fn unparseable_owner_does_not_fail_the_event() {
    let mut input = fixture("cmq-legacy");
    input["Records"][0]["CMQ"]["topicOwner"] = json!("owner-x");
    let e: CmqEvent = serde_json::from_value(input).unwrap();
    assert_eq!(e.records[0].cmq.topic_owner(), None);
    assert_eq!(e.records[0].cmq.topic_owner.to_string(), "owner-x");
}

#[cfg(feature = "chrono")]
#[test]
fn publish_time_with_and_without_fraction() {
    let ms = round_trip("cmq-legacy");
    let t = ms.records[0].cmq.publish_time().unwrap();
    assert_eq!(t.timestamp_millis(), 1_503_053_400_245);
    let whole = round_trip("cmq-real");
    let t = whole.records[0].cmq.publish_time().unwrap();
    assert_eq!(t.timestamp(), 1_565_952_529);
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_round_trip() {
    let mut input = fixture("cmq-doc-2021");
    input["Records"][0]["CMQ"]["msgAttributes"] = json!({"k": "v"});
    let e: CmqEvent = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(serde_json::to_value(&e).unwrap(), input);
}
