//! COS fixtures: concrete fields and round trips.

use scf_events::cos::{CosEvent, CosEventName};
use serde_json::{Value, json};

use crate::support::fixture;

fn round_trip(name: &str) -> CosEvent {
    let input = fixture(name);
    let event: CosEvent = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out, input, "{name}: serialising changed the event");
    assert_eq!(
        serde_json::from_value::<CosEvent>(out).unwrap(),
        event,
        "{name}"
    );
    event
}

#[test]
fn put_doc_sample() {
    let e = round_trip("cos-put");
    assert_eq!(e.records.len(), 1);
    let r = &e.records[0];
    assert_eq!(r.event.event_name, CosEventName::ObjectCreatedPut);
    assert!(r.event.event_name.is_created());
    assert_eq!(r.cos.cos_bucket.appid, "1253970026");
    assert_eq!(r.cos.cos_bucket.region, "cd");
    assert_eq!(r.cos.cos_bucket.name, "testpic");
    assert_eq!(r.cos.cos_object.key, "/1253970026/testpic/testfile");
    assert_eq!(r.cos.cos_object.object_key(), "testfile");
    assert_eq!(r.cos.cos_object.vid, "");
    assert_eq!(r.cos.cos_object.size, 1029);
    assert_eq!(r.cos.cos_object.meta_value("content-type"), Some(""));
    assert_eq!(r.cos.cos_notification_id, "unkown");
    assert_eq!(r.event.event_time, 1_545_205_770);
    assert_eq!(r.event.reqid, 179_398_952);
    assert_eq!(
        r.event.request_parameters.request_source_ip,
        "192.168.15.101"
    );
    assert_eq!(r.event.event_source, "qcs::cos");
}

#[test]
fn real_wildcard_upload() {
    let e = round_trip("cos-real-wildcard");
    let r = &e.records[0];
    assert_eq!(r.event.event_name, CosEventName::ObjectCreatedAll);
    assert_eq!(r.event.event_name.as_str(), "cos:ObjectCreated:*");
    assert_eq!(r.cos.cos_object.vid, "MTg0NDUxNTc1NjIzMTQ1MDAwODg");
    assert!(r.cos.cos_object.url.contains(".cosbj.myqcloud.com/"));
    assert_eq!(r.cos.cos_object.object_key(), "photos/2024/cat.png");
    assert_eq!(r.cos.cos_object.meta["x-cos-meta-uploader"], "web-console");
    assert_eq!(
        r.event.request_parameters.request_headers["Authorization"],
        ""
    );
    assert_eq!(r.event.reqid, 8_712_634_091);
    assert_eq!(r.cos.cos_bucket.region, "bj");
}

#[test]
fn delete() {
    let e = round_trip("cos-delete");
    let r = &e.records[0];
    assert_eq!(r.event.event_name, CosEventName::ObjectRemoveDelete);
    assert!(r.event.event_name.is_removed() && !r.event.event_name.is_created());
    assert_eq!(r.cos.cos_object.size, 0);
    assert_eq!(r.cos.cos_object.object_key(), "old/report-2023.csv");
}

#[test]
fn multi_record() {
    let e = round_trip("cos-multi-record");
    let keys: Vec<_> = e
        .records
        .iter()
        .map(|r| r.cos.cos_object.object_key())
        .collect();
    assert_eq!(keys, ["uploads/a.jpg", "uploads/video.mp4"]);
    assert_eq!(
        e.records[1].event.event_name,
        CosEventName::ObjectCreatedCompleteMultipartUpload
    );
    assert_eq!(e.records[1].cos.cos_object.size, 734_003_200);
}

#[test]
fn unknown_event_names_and_null_maps() {
    let mut input = fixture("cos-put");
    input["Records"][0]["event"]["eventName"] = json!("cos:ObjectCreated:Rename");
    input["Records"][0]["cos"]["cosObject"]["meta"] = Value::Null;
    input["Records"][0]["event"]["requestParameters"]["requestHeaders"] = Value::Null;
    let e: CosEvent = serde_json::from_value(input).unwrap();
    let r = &e.records[0];
    assert_eq!(
        r.event.event_name,
        CosEventName::Other("cos:ObjectCreated:Rename".into())
    );
    assert!(r.event.event_name.is_created());
    assert!(r.cos.cos_object.meta.is_empty());
    let out = serde_json::to_value(&e).unwrap();
    assert_eq!(
        out["Records"][0]["event"]["eventName"],
        "cos:ObjectCreated:Rename"
    );
    assert_eq!(out["Records"][0]["cos"]["cosObject"]["meta"], json!({}));
}

#[test]
fn every_documented_event_name_round_trips() {
    for name in [
        "cos:ObjectCreated:*",
        "cos:ObjectCreated:Put",
        "cos:ObjectCreated:Post",
        "cos:ObjectCreated:Copy",
        "cos:ObjectCreated:CompleteMultipartUpload",
        "cos:ObjectCreated:Origin",
        "cos:ObjectCreated:Replication",
        "cos:ObjectRemove:*",
        "cos:ObjectRemove:Delete",
        "cos:ObjectRemove:DeleteMarkerCreated",
        "cos:ObjectRestore:Post",
        "cos:ObjectRestore:Completed",
    ] {
        let parsed: CosEventName = serde_json::from_value(json!(name)).unwrap();
        assert!(
            !matches!(parsed, CosEventName::Other(_)),
            "{name} should be a known variant"
        );
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json!(name));
    }
    assert!(CosEventName::ObjectRestoreCompleted.is_restored());
}

#[test]
fn large_numbers_do_not_overflow() {
    let mut input = fixture("cos-put");
    input["Records"][0]["cos"]["cosObject"]["size"] = json!(5_497_558_138_880u64);
    input["Records"][0]["event"]["reqid"] = json!(u64::MAX);
    let e: CosEvent = serde_json::from_value(input).unwrap();
    assert_eq!(e.records[0].cos.cos_object.size, 5_497_558_138_880);
    assert_eq!(e.records[0].event.reqid, u64::MAX);
}

#[cfg(feature = "chrono")]
#[test]
fn typed_event_time() {
    let e = round_trip("cos-put");
    let t = e.records[0].event.event_time().unwrap();
    assert_eq!(t.to_rfc3339(), "2018-12-19T07:49:30+00:00");
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_round_trip_at_every_level() {
    let mut input = fixture("cos-put");
    input["top"] = json!(1);
    input["Records"][0]["extra"] = json!(2);
    input["Records"][0]["cos"]["cosObject"]["storageClass"] = json!("STANDARD");
    input["Records"][0]["event"]["requestParameters"]["userAgent"] = json!("curl");
    let e: CosEvent = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(
        e.records[0].cos.cos_object.other["storageClass"],
        "STANDARD"
    );
    assert_eq!(serde_json::to_value(&e).unwrap(), input);
}
