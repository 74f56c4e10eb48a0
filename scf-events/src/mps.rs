//! MPS (Media Processing Service) trigger: a workflow or edit-media task changed state.
//!
//! ```json
//! {
//!   "EventType": "WorkflowTask",
//!   "WorkflowTaskEvent": {
//!     "TaskId": "245****654-WorkflowTask-f46dac7fe2436c47******d71946986t0",
//!     "Status": "FINISH",
//!     "ErrCode": 0,
//!     "Message": "",
//!     "InputInfo": { "Type": "COS", "CosInputInfo": { "Bucket": "b-125000000", "Region": "ap-chongqing", "Object": "/in/a.mp4" } },
//!     "MetaData": null,
//!     "MediaProcessResultSet": [{
//!       "Type": "Transcode",
//!       "TranscodeTask": { "Status": "SUCCESS", "ErrCode": 0, "Message": "", "Input": {}, "Output": {} },
//!       "AnimatedGraphicTask": null, "SnapshotByTimeOffsetTask": null,
//!       "SampleSnapshotTask": null, "ImageSpriteTask": null
//!     }]
//!   }
//! }
//! ```
//!
//! All keys are PascalCase and most objects may be `null` (read as `None`, written back as `null`).
//! The envelope and the status fields are typed; each task's `Input` and `Output` stay
//! `serde_json::Value` (their shapes are in the MPS API reference).
//!
//! ```
//! use scf_events::mps::{MpsEvent, MpsEventType, MpsTaskStatus};
//!
//! let event: MpsEvent = serde_json::from_str(r#"{"EventType":"EditMediaTask",
//!   "EditMediaTaskEvent":{"TaskId":"t-1","Status":"FINISH","ErrCode":0,"Message":"",
//!   "Input":{"InputType":"FILE"},"Output":null}}"#).unwrap();
//! assert_eq!(event.event_type, MpsEventType::EditMediaTask);
//! let task = event.edit_media_task_event.unwrap();
//! assert_eq!(task.status, MpsTaskStatus::Finish);
//! assert!(task.output.is_null());
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

include!("string_enum.rs");

/// The event an MPS trigger delivers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsEvent {
    /// Which task the event is about; tells which of the two `*TaskEvent` fields is set.
    pub event_type: MpsEventType,
    /// Set for [`MpsEventType::WorkflowTask`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_task_event: Option<MpsWorkflowTaskEvent>,
    /// Set for [`MpsEventType::EditMediaTask`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_media_task_event: Option<MpsEditMediaTaskEvent>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

string_enum! {
    /// The kind of MPS event (`EventType`).
    pub enum MpsEventType {
        /// `WorkflowTask`: a workflow (transcode, snapshot, ... on upload).
        WorkflowTask = "WorkflowTask",
        /// `EditMediaTask`: a clip/splice task.
        EditMediaTask = "EditMediaTask",
    }
}

string_enum! {
    /// The state of a whole task (`PROCESSING`, `FINISH`).
    pub enum MpsTaskStatus {
        /// `WAITING`
        Waiting = "WAITING",
        /// `PROCESSING`
        Processing = "PROCESSING",
        /// `FINISH`
        Finish = "FINISH",
    }
}

string_enum! {
    /// The result of one sub-task (`SUCCESS`, `FAIL`).
    pub enum MpsResultStatus {
        /// `PROCESSING`
        Processing = "PROCESSING",
        /// `SUCCESS`
        Success = "SUCCESS",
        /// `FAIL`
        Fail = "FAIL",
    }
}

/// A workflow task's state (`WorkflowTaskEvent`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsWorkflowTaskEvent {
    /// The task id.
    #[serde(default)]
    pub task_id: String,
    /// `PROCESSING` or `FINISH`.
    #[serde(default)]
    pub status: MpsTaskStatus,
    /// Deprecated by MPS in favour of each sub-task's own code; 0 on success.
    #[serde(default)]
    pub err_code: i64,
    /// Deprecated by MPS in favour of each sub-task's own message.
    #[serde(default)]
    pub message: String,
    /// Where the input file came from.
    #[serde(default)]
    pub input_info: Option<MpsInputInfo>,
    /// The input file's media metadata.
    #[serde(default)]
    pub meta_data: Option<MpsMetaData>,
    /// One entry per media-processing sub-task.
    #[serde(default, deserialize_with = "null_as_default")]
    pub media_process_result_set: Vec<MpsMediaProcessResult>,
    /// Content review results (listed in the docs, absent from the sample).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_content_review_result_set: Option<Vec<Value>>,
    /// Content analysis results (listed in the docs, absent from the sample).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_analysis_result_set: Option<Vec<Value>>,
    /// Content recognition results (listed in the docs, absent from the sample).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_recognition_result_set: Option<Vec<Value>>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// Where a task's input came from (`InputInfo`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsInputInfo {
    /// `COS` or `URL` (key `Type`).
    #[serde(rename = "Type", default)]
    pub kind: String,
    /// Set when the input is a COS object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cos_input_info: Option<MpsCosInputInfo>,
    /// Set when the input is a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_input_info: Option<Value>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// A COS input object (`CosInputInfo`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsCosInputInfo {
    /// The bucket, e.g. `b-125000000`.
    #[serde(default)]
    pub bucket: String,
    /// The region, e.g. `ap-chongqing`.
    #[serde(default)]
    pub region: String,
    /// The object path, e.g. `/in/a.mp4`.
    #[serde(default)]
    pub object: String,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// Media metadata of the input (`MetaData`). Every field is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsMetaData {
    /// Audio duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_duration: Option<f64>,
    /// Audio streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_stream_set: Option<Vec<MpsAudioStream>>,
    /// Bitrate in bit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<i64>,
    /// Container format, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    /// Rotation in degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<i64>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Video duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_duration: Option<f64>,
    /// Video streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_stream_set: Option<Vec<MpsVideoStream>>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// An audio stream of the input.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsAudioStream {
    /// Bitrate in bit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<i64>,
    /// Codec, e.g. `aac`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    /// Sampling rate in Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_rate: Option<i64>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// A video stream of the input.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsVideoStream {
    /// Bitrate in bit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<i64>,
    /// Codec, e.g. `h264`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    /// Frame rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<i64>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// One entry of `MediaProcessResultSet`: the sub-task named by `Type` is set, the others are `null`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsMediaProcessResult {
    /// `Transcode`, `AnimatedGraphics`, `SnapshotByTimeOffset`, `SampleSnapshot` or `ImageSprites`
    /// (key `Type`).
    #[serde(rename = "Type", default)]
    pub kind: String,
    /// Set when `Type` is `Transcode`.
    #[serde(default)]
    pub transcode_task: Option<MpsTaskResult>,
    /// Set when `Type` is `AnimatedGraphics`.
    #[serde(default)]
    pub animated_graphic_task: Option<MpsTaskResult>,
    /// Set when `Type` is `SnapshotByTimeOffset`.
    #[serde(default)]
    pub snapshot_by_time_offset_task: Option<MpsTaskResult>,
    /// Set when `Type` is `SampleSnapshot`.
    #[serde(default)]
    pub sample_snapshot_task: Option<MpsTaskResult>,
    /// Set when `Type` is `ImageSprites`.
    #[serde(default)]
    pub image_sprite_task: Option<MpsTaskResult>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

impl MpsMediaProcessResult {
    /// The sub-task that is set, whichever it is.
    pub fn task(&self) -> Option<&MpsTaskResult> {
        [
            &self.transcode_task,
            &self.animated_graphic_task,
            &self.snapshot_by_time_offset_task,
            &self.sample_snapshot_task,
            &self.image_sprite_task,
        ]
        .into_iter()
        .find_map(Option::as_ref)
    }
}

/// The outcome of one media-processing sub-task.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsTaskResult {
    /// `SUCCESS` or `FAIL`.
    #[serde(default)]
    pub status: MpsResultStatus,
    /// 0 on success.
    #[serde(default)]
    pub err_code: i64,
    /// The error message, `""` on success.
    #[serde(default)]
    pub message: String,
    /// The sub-task's input parameters (shape per the MPS API reference).
    #[serde(default)]
    pub input: Value,
    /// The sub-task's output; `null` when it produced none.
    #[serde(default)]
    pub output: Value,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// An edit-media task's state (`EditMediaTaskEvent`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MpsEditMediaTaskEvent {
    /// The task id.
    #[serde(default)]
    pub task_id: String,
    /// `PROCESSING` or `FINISH`.
    #[serde(default)]
    pub status: MpsTaskStatus,
    /// 0 on success.
    #[serde(default)]
    pub err_code: i64,
    /// The error message, `""` on success.
    #[serde(default)]
    pub message: String,
    /// The task's input (shape per the MPS API reference).
    #[serde(default)]
    pub input: Value,
    /// The task's output; `null` when there is none yet.
    #[serde(default)]
    pub output: Value,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// Reads `null` as the type's default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
