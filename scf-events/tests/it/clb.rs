//! CLB fixtures: concrete fields and round trips.

use scf_events::clb::ClbEvent;
use serde_json::{Value, json};

use crate::support::fixture;

fn round_trip(name: &str) -> ClbEvent {
    let input = fixture(name);
    let event: ClbEvent = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out, input, "{name}: serialising changed the event");
    assert_eq!(serde_json::from_value::<ClbEvent>(out).unwrap(), event);
    event
}

#[test]
fn legacy_sample_with_string_flag_and_object_payload() {
    let e = round_trip("clb-doc-legacy");
    assert!(!e.is_base64_encoded());
    assert!(e.is_base64_encoded.is_string());
    assert_eq!(e.payload["key1"], "123");
    assert_eq!(e.payload["nested"]["n"], 1);
    assert_eq!(e.header("content-type"), Some("application/json"));
    assert_eq!(e.header("Content-type"), Some("application/json"));
    assert_eq!(e.client_ip(), Some("9.43.175.219"));
    assert_eq!(e.stgw_time_millis(), Some(1_591_692_977_774));
    assert_eq!(e.method(), None);
    assert_eq!(e.uri(), None);
    let payload: Value = e.payload_json().unwrap();
    assert_eq!(payload, e.payload);
    let bytes = e.payload_bytes().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), e.payload);
}

#[test]
fn new_sample_with_custom_headers_and_no_flag() {
    let e = round_trip("clb-doc-new");
    assert!(e.is_base64_encoded.is_absent());
    assert!(!e.is_base64_encoded());
    assert_eq!(e.method(), Some("POST"));
    assert_eq!(e.uri(), Some("/v1/notes?draft=1"));
    assert_eq!(e.header("x-vip"), Some("10.0.0.8"));
    assert_eq!(e.header("X-Vport"), Some("80"));
    assert_eq!(e.stgw_time_millis(), Some(1_700_000_000_050));
    assert_eq!(e.payload, json!("remember the milk"));
    assert_eq!(e.payload_bytes().unwrap().as_ref(), b"remember the milk");
}

#[test]
fn binary_payload_is_decoded() {
    let e = round_trip("clb-binary");
    assert!(e.is_base64_encoded());
    assert_eq!(
        e.payload_bytes().unwrap().as_ref(),
        &[0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0xff, 0xee]
    );
    assert_eq!(e.stgw_time_millis(), Some(1_700_000_123_456));
    #[cfg(feature = "chrono")]
    assert_eq!(e.stgw_time().unwrap().timestamp_millis(), 1_700_000_123_456);
}

#[test]
fn odd_values_do_not_fail_the_event() {
    let e: ClbEvent = serde_json::from_value(json!({
        "headers": {"X-Stgw-Time": "soon", "X-Url": "/old"}, "payload": null
    }))
    .unwrap();
    assert_eq!(e.stgw_time_millis(), None);
    assert_eq!(e.uri(), Some("/old"));
    assert_eq!(e.payload_bytes().unwrap().as_ref(), b"");
    let e: ClbEvent =
        serde_json::from_value(json!({"headers": null, "payload": "%%", "isBase64Encoded": true}))
            .unwrap();
    assert!(e.payload_bytes().unwrap_err().is_base64());
}
