//! MPS fixtures: workflow and edit-media events, nulls kept, round trips.

use scf_events::mps::{MpsEvent, MpsEventType, MpsResultStatus, MpsTaskStatus};
use serde_json::{Value, json};

use crate::support::fixture;

fn round_trip(name: &str) -> MpsEvent {
    let input = fixture(name);
    let event: MpsEvent = serde_json::from_value(input.clone()).unwrap();
    let out = serde_json::to_value(&event).unwrap();
    assert_eq!(out, input, "{name}: serialising changed the event");
    assert_eq!(
        serde_json::from_value::<MpsEvent>(out).unwrap(),
        event,
        "{name}"
    );
    event
}

#[test]
fn finished_transcode_workflow() {
    let e = round_trip("mps-workflow");
    assert_eq!(e.event_type, MpsEventType::WorkflowTask);
    assert!(e.edit_media_task_event.is_none());
    let w = e.workflow_task_event.unwrap();
    assert_eq!(w.status, MpsTaskStatus::Finish);
    assert_eq!(w.err_code, 0);
    let input = w.input_info.unwrap();
    assert_eq!(input.kind, "COS");
    let cos = input.cos_input_info.unwrap();
    assert_eq!(cos.bucket, "mps-input-1250000000");
    assert_eq!(cos.region, "ap-chongqing");
    assert_eq!(cos.object, "/input/demo.mp4");
    let meta = w.meta_data.unwrap();
    assert_eq!(meta.duration, Some(243.5));
    assert_eq!((meta.width, meta.height), (Some(1920), Some(1080)));
    assert_eq!(
        meta.video_stream_set.unwrap()[0].codec.as_deref(),
        Some("h264")
    );
    assert_eq!(meta.audio_stream_set.unwrap()[0].sampling_rate, Some(48000));
    let result = &w.media_process_result_set[0];
    assert_eq!(result.kind, "Transcode");
    assert!(result.animated_graphic_task.is_none() && result.image_sprite_task.is_none());
    let task = result.task().unwrap();
    assert_eq!(task.status, MpsResultStatus::Success);
    assert_eq!(task.output["Path"], "/output/demo_transcode_10.mp4");
    assert_eq!(task.input["Definition"], 10);
}

#[test]
fn edit_media_with_null_output() {
    let e = round_trip("mps-edit-media");
    assert_eq!(e.event_type, MpsEventType::EditMediaTask);
    assert!(e.workflow_task_event.is_none());
    let t = e.edit_media_task_event.unwrap();
    assert_eq!(t.status, MpsTaskStatus::Processing);
    assert!(t.output.is_null());
    assert_eq!(t.input["FileInfoSet"][0]["EndTimeOffset"], 10);
}

#[test]
fn null_metadata_and_unknown_statuses() {
    let mut input = fixture("mps-workflow");
    input["WorkflowTaskEvent"]["MetaData"] = Value::Null;
    input["WorkflowTaskEvent"]["InputInfo"] = Value::Null;
    input["WorkflowTaskEvent"]["Status"] = json!("ABORTED");
    input["EventType"] = json!("ScheduleTask");
    let e: MpsEvent = serde_json::from_value(input.clone()).unwrap();
    let w = e.workflow_task_event.as_ref().unwrap();
    assert!(w.meta_data.is_none() && w.input_info.is_none());
    assert_eq!(w.status, MpsTaskStatus::Other("ABORTED".into()));
    assert_eq!(e.event_type.as_str(), "ScheduleTask");
    assert_eq!(serde_json::to_value(&e).unwrap(), input);
}

#[test]
fn failed_sub_task() {
    let mut input = fixture("mps-workflow");
    let task = &mut input["WorkflowTaskEvent"]["MediaProcessResultSet"][0]["TranscodeTask"];
    task["Status"] = json!("FAIL");
    task["ErrCode"] = json!(70000);
    task["Message"] = json!("source file error");
    task["Output"] = Value::Null;
    let e: MpsEvent = serde_json::from_value(input).unwrap();
    let w = e.workflow_task_event.unwrap();
    let t = w.media_process_result_set[0].task().unwrap();
    assert_eq!(t.status, MpsResultStatus::Fail);
    assert_eq!(t.err_code, 70000);
    assert!(t.output.is_null());
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_round_trip() {
    let mut input = fixture("mps-workflow");
    input["WorkflowTaskEvent"]["SessionId"] = json!("s-1");
    input["WorkflowTaskEvent"]["MediaProcessResultSet"][0]["AdaptiveDynamicStreamingTask"] =
        Value::Null;
    let e: MpsEvent = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(serde_json::to_value(&e).unwrap(), input);
}
