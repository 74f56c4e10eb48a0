//! CLS fixtures: base64+gzip decoding, typed records and re-encoding.

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use scf_events::cls::{ClsEvent, ClsLogs};
use serde_json::{Value, json};

use crate::support::fixture;

/// Decodes `clslogs.data` by hand (base64, then gunzip) to compare with what the type decoded.
fn decode_by_hand(event: &Value) -> Value {
    let b64 = event["clslogs"]["data"].as_str().unwrap();
    let gz = STANDARD.decode(b64).unwrap();
    let mut out = Vec::new();
    let mut dec = flate2::write::GzDecoder::new(&mut out);
    dec.write_all(&gz).unwrap();
    dec.finish().unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// base64(gzip(JSON)) by hand, independent of the crate's encoder.
fn encode_by_hand(value: &Value) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(value.to_string().as_bytes()).unwrap();
    STANDARD.encode(gz.finish().unwrap())
}

fn round_trip(name: &str) -> ClsEvent {
    let input = fixture(name);
    let event: ClsEvent = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    // gzip bytes may differ; the decoded JSON must not.
    assert_eq!(decode_by_hand(&out), decode_by_hand(&input), "{name}");
    assert_eq!(
        out.as_object().unwrap().len(),
        input.as_object().unwrap().len()
    );
    assert_eq!(
        serde_json::from_value::<ClsEvent>(out).unwrap(),
        event,
        "{name}"
    );
    event
}

#[test]
fn doc_payload() {
    let e = round_trip("cls-doc");
    let logs = e.logs();
    assert_eq!(logs.topic_id, "xxxx-xx-xx-xx-yyyyyyyy");
    assert_eq!(logs.topic_name, "testname");
    assert_eq!(logs.records.len(), 1);
    assert_eq!(logs.records[0].timestamp, "1605578090000000");
    assert_eq!(
        logs.records[0].timestamp_micros(),
        Some(1_605_578_090_000_000)
    );
    assert_eq!(logs.records[0].content, "log content");
}

#[test]
fn multi_record_with_json_content() {
    let e = round_trip("cls-multi-record");
    let r = &e.logs().records;
    assert_eq!(r.len(), 3);
    assert_eq!(e.logs().topic_name, "web-access");
    assert_eq!(r[1].timestamp_micros(), Some(1_605_578_090_123_456));
    let line: Value = r[1].content_json().unwrap();
    assert_eq!(line["level"], "error");
    assert_eq!(line["latency_ms"], 5003);
    assert!(r[0].content_json::<Value>().is_err());
    assert!(r.iter().all(|rec| rec.timestamp.len() == 16));
}

#[test]
fn decoded_payload_matches_encoding_done_here() {
    // The documented decoded payload, encoded in the test: what the type reads must equal it.
    let decoded = json!({
        "topic_id": "xxxx-xx-xx-xx-yyyyyyyy",
        "topic_name": "testname",
        "records": [{"timestamp": "1605578090000000", "content": "log content"}]
    });
    let data = encode_by_hand(&decoded);
    let e: ClsEvent = serde_json::from_value(json!({"clslogs": {"data": data}})).unwrap();
    let expected: ClsLogs = serde_json::from_value(decoded).unwrap();
    assert_eq!(e.logs(), &expected);
    assert_eq!(e, round_trip("cls-doc"));
}

#[test]
fn bad_payloads_are_errors_not_panics() {
    for (data, what) in [
        (json!("%%%"), "base64"),
        (json!(STANDARD.encode([0x1f, 0x8b, 0, 1, 2])), "gzip"),
        (json!(STANDARD.encode("[1,2,3]")), "JSON"),
        (json!(42), "string"),
    ] {
        let err =
            serde_json::from_value::<ClsEvent>(json!({"clslogs": {"data": data}})).unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}

#[cfg(feature = "chrono")]
#[test]
fn typed_record_time() {
    let e = round_trip("cls-doc");
    let t = e.logs().records[0].time().unwrap();
    assert_eq!(t.to_rfc3339(), "2020-11-17T01:54:50+00:00");
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_round_trip_inside_the_payload() {
    let decoded = json!({
        "topic_id": "t", "topic_name": "n", "source": "10.0.0.1",
        "records": [{"timestamp": "1605578090000000", "content": "x", "filename": "/var/log/app.log"}]
    });
    let data = encode_by_hand(&decoded);
    let input = json!({"clslogs": {"data": data, "version": 2}, "extra": true});
    let e: ClsEvent = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(e.logs().other["source"], "10.0.0.1");
    let out = serde_json::to_value(&e).unwrap();
    assert_eq!(out["extra"], true);
    assert_eq!(out["clslogs"]["version"], 2);
    assert_eq!(decode_by_hand(&out), decoded);
}
