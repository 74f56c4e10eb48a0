//! AnyEvent: recognition of every trigger by its keys, the custom fallback and round trips.

use scf_events::{AnyEvent, detect};
use serde_json::{Value, json};

use crate::support::{feature_on, fixture};

/// The input with the two aliases (`subjuect`, `Partition`) under their canonical names, as
/// serialising writes them.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let key = match k.as_str() {
                    "subjuect" => "subject",
                    "Partition" => "partition",
                    other => other,
                };
                (key.to_owned(), canonical(v))
            })
            .collect(),
        Value::Array(items) => items.iter().map(canonical).collect(),
        other => other.clone(),
    }
}

/// `(fixture, kind)` for one fixture of every trigger.
const SAMPLES: &[(&str, &str)] = &[
    ("apigw-get", "apigw"),
    ("apigw-post-json", "apigw"),
    ("apigw-ws-connect", "apigw_websocket"),
    ("apigw-ws-close", "apigw_websocket"),
    ("function-url-post", "function_url"),
    ("function-url-get", "function_url"),
    ("clb-doc-legacy", "clb"),
    ("clb-binary", "clb"),
    ("timer-doc", "timer"),
    ("cos-put", "cos"),
    ("ckafka-doc", "ckafka"),
    ("ckafka-partition-capital", "ckafka"),
    ("cmq-legacy", "cmq"),
    ("cls-doc", "cls"),
    ("mps-workflow", "mps"),
    ("mps-edit-media", "mps"),
    ("eventbridge-tdmq", "eventbridge"),
    ("eventbridge-batch", "eventbridge"),
    ("custom-object", "custom"),
    ("custom-array", "custom"),
    ("custom-records-empty", "custom"),
    ("apigw-response-text", "custom"),
];

#[test]
fn every_trigger_is_recognised_and_round_trips() {
    for (name, kind) in SAMPLES {
        let input = fixture(name);
        let expected_detect = (*kind != "custom").then_some(*kind);
        assert_eq!(detect(&input), expected_detect, "{name}");
        let event = AnyEvent::from_value(input.clone());
        let parsed_kind = if feature_on(kind) { *kind } else { "custom" };
        assert_eq!(event.kind(), parsed_kind, "{name}");
        // Serialising gives the platform's shape back.
        let out = serde_json::to_value(&event).unwrap();
        if *kind == "cls" {
            // The gzip bytes may differ; the decoded logs do not.
            assert_eq!(AnyEvent::from_value(out), event, "{name}");
        } else {
            // A typed event writes the aliases canonically; a custom one is the input itself.
            let expected = if feature_on(kind) {
                canonical(&input)
            } else {
                input
            };
            assert_eq!(out, expected, "{name}");
            let again: AnyEvent = serde_json::from_value(out).unwrap();
            assert_eq!(again, event, "{name}");
        }
    }
}

#[cfg(all(feature = "apigw", feature = "cos", feature = "eventbridge"))]
#[test]
fn variants_hold_the_typed_events() {
    match AnyEvent::from_value(fixture("apigw-get")) {
        AnyEvent::ApiGateway(e) => assert_eq!(e.path, "/test/value"),
        other => panic!("expected ApiGateway, got {}", other.kind()),
    }
    match AnyEvent::from_value(fixture("cos-put")) {
        AnyEvent::Cos(e) => assert_eq!(e.records[0].cos.cos_bucket.name, "testpic"),
        other => panic!("expected Cos, got {}", other.kind()),
    }
    match AnyEvent::from_value(fixture("eventbridge-batch")) {
        AnyEvent::EventBridgeBatch(batch) => assert_eq!(batch.len(), 2),
        other => panic!("expected EventBridgeBatch, got {}", other.kind()),
    }
    match AnyEvent::from_value(fixture("eventbridge-tdmq")) {
        AnyEvent::EventBridge(e) => assert_eq!(e.kind, "connector:tdmq"),
        other => panic!("expected EventBridge, got {}", other.kind()),
    }
}

#[test]
fn payloads_that_match_a_row_but_do_not_parse_are_custom() {
    let broken = [
        // CKafka offset is text.
        json!({"Records": [{"Ckafka": {"topic": "t", "partition": 0, "offset": "x", "msgKey": "k", "msgBody": "b"}}]}),
        // CLS data is not base64.
        json!({"clslogs": {"data": "%%%"}}),
        // API gateway query value is a number.
        json!({"requestContext": {}, "httpMethod": "GET", "queryString": {"a": 1}}),
    ];
    for input in broken {
        assert!(detect(&input).is_some(), "{input}");
        let event: AnyEvent = serde_json::from_value(input.clone()).unwrap();
        assert!(event.is_custom(), "{input}");
        assert_eq!(serde_json::to_value(&event).unwrap(), input);
    }
}

#[test]
fn any_json_is_accepted() {
    for text in [
        "null",
        "1",
        "\"s\"",
        "[]",
        "{}",
        "[{\"specversion\":\"0\"},{}]",
        "true",
    ] {
        let event = AnyEvent::from_slice(text.as_bytes()).unwrap();
        assert_eq!(event.kind(), "custom", "{text}");
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            serde_json::to_string(&serde_json::from_str::<Value>(text).unwrap()).unwrap()
        );
    }
    assert!(AnyEvent::from_slice(b"{not json").is_err());
}
