//! EventBridge fixtures: TDMQ data, the `subjuect` typo, string/number forms, batches.

use scf_events::eventbridge::{EventBridgeBatch, EventBridgeEvent, TdmqData, TdmqTopicType};
use serde_json::{Value, json};

use crate::support::fixture;

/// The input with `subjuect` renamed to `subject`: what serialising must produce.
fn canonical(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut()
        && let Some(s) = obj.remove("subjuect")
    {
        obj.insert("subject".into(), s);
    }
    v
}

fn round_trip<D>(input: &Value) -> EventBridgeEvent<D>
where
    D: serde::Serialize + for<'de> serde::Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let event: EventBridgeEvent<D> = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out, canonical(input.clone()));
    assert_eq!(
        serde_json::from_value::<EventBridgeEvent<D>>(out).unwrap(),
        event
    );
    event
}

#[test]
fn tdmq_with_typo_and_string_numbers() {
    let input = fixture("eventbridge-tdmq");
    let e: EventBridgeEvent<TdmqData> = round_trip(&input);
    assert_eq!(e.specversion, "0");
    assert_eq!(e.kind, "connector:tdmq");
    assert_eq!(e.source, "tdmq.cloud.tencent");
    assert!(e.subject.starts_with("qcs::tdmq:ap-guangzhou:"));
    assert_eq!(e.time_millis(), Some(1_615_430_559_146));
    assert!(e.time.is_string());
    assert_eq!(e.region, "ap-guangzhou");
    assert_eq!(e.datacontenttype, "application/json;charset=utf-8");
    assert!(e.tags.is_none() && e.resource.is_none());
    let d = &e.data;
    assert_eq!(d.topic, "persistent://appid/namespace/topic-1");
    assert_eq!(d.tags, "testtopic");
    assert_eq!(d.topic_type(), Some(TdmqTopicType::Normal));
    assert!(d.topic_type.is_string());
    assert_eq!(d.partitions(), Some(0));
    assert_eq!(d.to_timestamp_millis(), Some(1_615_430_559_146));
    assert_eq!(d.msg_body, "Hello from TDMQ!");
    // Untyped data works too.
    let untyped: EventBridgeEvent = round_trip(&input);
    assert_eq!(untyped.data["TopicType"], "0");
}

#[test]
fn tdmq_numeric_topic_type_and_subject() {
    let input = fixture("eventbridge-tdmq-numeric");
    let e: EventBridgeEvent<TdmqData> = round_trip(&input);
    assert_eq!(
        e.subject,
        "qcs::tdmq:ap-shanghai:uin/1250000000:topicName/pulsar-yyyy/prod/orders"
    );
    assert_eq!(e.data.topic_type(), Some(TdmqTopicType::PartitionedOrder));
    assert!(!e.data.topic_type.is_string());
    assert_eq!(e.data.partitions(), Some(3));
    assert_eq!(e.data.tags, "");
    assert_eq!(serde_json::to_value(&e).unwrap()["data"]["TopicType"], 2);
}

#[test]
fn cloudaudit_numeric_time_tags_resource() {
    let input = fixture("eventbridge-cloudaudit");
    let e: EventBridgeEvent = round_trip(&input);
    assert_eq!(e.specversion, "1.0");
    assert_eq!(e.kind, "cvm:CloudEvent:ApiCall");
    assert!(!e.time.is_string());
    assert_eq!(e.time_millis(), Some(1_615_430_559_146));
    assert_eq!(e.tags.as_ref().unwrap()["team"], "infra");
    assert_eq!(
        e.resource.as_deref().unwrap(),
        ["qcs::cvm:ap-guangzhou:uin/100000000001:instance/ins-abcd1234"]
    );
    assert_eq!(e.data["eventName"], "StopInstances");
}

#[test]
fn batch_is_a_top_level_array() {
    let input = fixture("eventbridge-batch");
    let batch: EventBridgeBatch<TdmqData> = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0].data.msg_id, "123345346");
    assert_eq!(batch[1].data.msg_body, "Second message");
    let out = serde_json::to_value(&batch).unwrap();
    let expected: Vec<Value> = input
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(canonical)
        .collect();
    assert_eq!(out, Value::Array(expected));
    assert_eq!(
        serde_json::from_value::<EventBridgeBatch<TdmqData>>(out).unwrap(),
        batch
    );
}

#[test]
fn topic_type_codes() {
    for code in 0..6u64 {
        assert_eq!(TdmqTopicType::from_code(code).code(), code);
    }
    assert_eq!(TdmqTopicType::from_code(4), TdmqTopicType::DeadLetter);
    assert_eq!(TdmqTopicType::from_code(9), TdmqTopicType::Other(9));
    let mut input = fixture("eventbridge-tdmq");
    input["data"]["TopicType"] = json!("retry");
    let e: EventBridgeEvent<TdmqData> = serde_json::from_value(input).unwrap();
    assert_eq!(e.data.topic_type(), None);
}

#[cfg(feature = "chrono")]
#[test]
fn typed_time() {
    let e: EventBridgeEvent = serde_json::from_value(fixture("eventbridge-cloudaudit")).unwrap();
    assert_eq!(e.time().unwrap().timestamp_millis(), 1_615_430_559_146);
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_round_trip() {
    let mut input = fixture("eventbridge-tdmq");
    input["traceparent"] = json!("00-abc-def-01");
    input["data"]["properties"] = json!({"k": "v"});
    let e: EventBridgeEvent<TdmqData> = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(e.data.other["properties"]["k"], "v");
    assert_eq!(serde_json::to_value(&e).unwrap(), canonical(input));
}
