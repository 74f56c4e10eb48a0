//! CKafka fixtures: concrete fields, typed bodies and round trips.

use scf_events::ckafka::CkafkaEvent;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::support::fixture;

fn round_trip<T>(name: &str, expected_out: &Value) -> CkafkaEvent<T>
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let event: CkafkaEvent<T> = serde_json::from_value(fixture(name)).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(&out, expected_out, "{name}: serialising changed the event");
    assert_eq!(
        serde_json::from_value::<CkafkaEvent<T>>(out).unwrap(),
        event,
        "{name}"
    );
    event
}

#[test]
fn doc_sample_two_records_without_keys() {
    let e: CkafkaEvent = round_trip("ckafka-doc", &fixture("ckafka-doc"));
    assert_eq!(e.records.len(), 2);
    let m: Vec<_> = e.messages().collect();
    assert_eq!(m[0].topic, "test-topic");
    assert_eq!((m[0].partition, m[0].offset), (1, 36));
    assert_eq!((m[1].partition, m[1].offset), (1, 37));
    assert_eq!(m[0].msg_key, "None");
    assert_eq!(m[0].key(), None);
    assert_eq!(m[0].msg_body, "Hello from Ckafka!");
    assert_eq!(m[1].msg_body, "Hello from Ckafka again!");
}

#[test]
fn capital_partition_is_read_and_written_canonically() {
    let input = fixture("ckafka-partition-capital");
    let mut expected = input.clone();
    let ck = expected["Records"][0]["Ckafka"].as_object_mut().unwrap();
    let p = ck.remove("Partition").unwrap();
    ck.insert("partition".into(), p);
    let e: CkafkaEvent = round_trip("ckafka-partition-capital", &expected);
    assert_eq!(e.records[0].ckafka.partition, 2);
    assert_eq!(e.records[0].ckafka.offset, 1024);
}

#[derive(Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: u64,
    amount: f64,
    currency: String,
}

#[test]
fn large_offset_with_key_and_json_body() {
    let input = fixture("ckafka-large-offset");
    let raw: CkafkaEvent = round_trip("ckafka-large-offset", &input);
    let m = &raw.records[0].ckafka;
    assert_eq!(m.offset, 3_000_000_123);
    assert!(m.offset > i64::from(i32::MAX));
    assert_eq!(m.key(), Some("order-42"));
    assert_eq!(
        m.msg_body,
        r#"{"orderId":42,"amount":19.99,"currency":"CNY"}"#
    );

    // Typed body: parsed from the JSON inside the string, written back as a JSON string.
    let typed: CkafkaEvent<Order> = round_trip("ckafka-large-offset", &input);
    let body = &typed.records[0].ckafka.msg_body;
    assert_eq!(
        body,
        &Order {
            order_id: 42,
            amount: 19.99,
            currency: "CNY".into()
        }
    );

    // As `Value`: the body's keys may be reordered, the value survives.
    let as_value: CkafkaEvent<Value> = serde_json::from_value(input).unwrap();
    assert_eq!(as_value.records[0].ckafka.msg_body["orderId"], 42);
    let again: CkafkaEvent<Value> =
        serde_json::from_value(serde_json::to_value(&as_value).unwrap()).unwrap();
    assert_eq!(again, as_value);
}

#[test]
fn typed_body_errors_name_the_field() {
    let err = serde_json::from_value::<CkafkaEvent<Order>>(fixture("ckafka-doc")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("not valid JSON"), "{msg}");
}

#[test]
fn value_bodies_that_are_not_json_stay_strings() {
    let e: CkafkaEvent<Value> = serde_json::from_value(fixture("ckafka-doc")).unwrap();
    assert_eq!(e.records[0].ckafka.msg_body, json!("Hello from Ckafka!"));
}

#[test]
fn empty_batch_and_missing_key() {
    let e: CkafkaEvent = serde_json::from_value(json!({"Records": []})).unwrap();
    assert!(e.records.is_empty());
    let e: CkafkaEvent = serde_json::from_value(json!({"Records": [
        {"Ckafka": {"topic": "t", "partition": 0, "offset": 0, "msgBody": ""}}
    ]}))
    .unwrap();
    assert_eq!(e.records[0].ckafka.key(), None);
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_round_trip() {
    let mut input = fixture("ckafka-doc");
    input["Records"][0]["Ckafka"]["timestamp"] = json!(1700000000000u64);
    input["Records"][1]["source"] = json!("kafka");
    let e: CkafkaEvent = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(e.records[0].ckafka.other["timestamp"], 1700000000000u64);
    assert_eq!(serde_json::to_value(&e).unwrap(), input);
}
