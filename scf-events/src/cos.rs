//! COS (Cloud Object Storage) trigger: object created, removed or restored in a bucket.
//!
//! ```json
//! {
//!   "Records": [{
//!     "cos": {
//!       "cosSchemaVersion": "1.0",
//!       "cosObject": {
//!         "url": "http://testpic-1253970026.cos.ap-chengdu.myqcloud.com/testfile",
//!         "meta": { "x-cos-request-id": "NWMxOWY4MGFfMjViMjU4NjRfMTUy", "Content-Type": "" },
//!         "vid": "",
//!         "key": "/1253970026/testpic/testfile",
//!         "size": 1029
//!       },
//!       "cosBucket": { "region": "cd", "name": "testpic", "appid": "1253970026" },
//!       "cosNotificationId": "unkown"
//!     },
//!     "event": {
//!       "eventName": "cos:ObjectCreated:Put",
//!       "eventVersion": "1.0",
//!       "eventTime": 1545205770,
//!       "eventSource": "qcs::cos",
//!       "requestParameters": { "requestSourceIP": "192.168.15.101", "requestHeaders": { "Authorization": "..." } },
//!       "eventQueue": "qcs:0:lambda:cd:appid/1253970026:default.printevent.$LATEST",
//!       "reservedInfo": "",
//!       "reqid": 179398952
//!     }
//!   }]
//! }
//! ```
//!
//! Things to know: `key` is prefixed with `/<appid>/<bucket>/` (use [`CosObject::object_key`]),
//! `region` is a legacy short code (`cd`, `gz`, `bj`), `appid` is a number sent as a string, and
//! `eventTime` is Unix seconds.
//!
//! ```
//! use scf_events::cos::{CosEvent, CosEventName};
//!
//! let event: CosEvent = serde_json::from_str(r#"{"Records":[{
//!   "cos":{"cosSchemaVersion":"1.0",
//!     "cosObject":{"url":"http://b-1253970026.cos.ap-chengdu.myqcloud.com/a/b.jpg","meta":{},
//!                  "vid":"","key":"/1253970026/b/a/b.jpg","size":10},
//!     "cosBucket":{"region":"cd","name":"b","appid":"1253970026"},"cosNotificationId":"unkown"},
//!   "event":{"eventName":"cos:ObjectCreated:Put","eventVersion":"1.0","eventTime":1545205770,
//!     "eventSource":"qcs::cos","requestParameters":{"requestSourceIP":"1.2.3.4","requestHeaders":{}},
//!     "eventQueue":"","reservedInfo":"","reqid":179398952}}]}"#).unwrap();
//! let record = &event.records[0];
//! assert_eq!(record.cos.cos_object.object_key(), "a/b.jpg");
//! assert_eq!(record.event.event_name, CosEventName::ObjectCreatedPut);
//! assert!(record.event.event_name.is_created());
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

include!("string_enum.rs");

/// The event a COS trigger delivers: one or more records.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CosEvent {
    /// The records (key `Records`); usually one, possibly several.
    #[serde(rename = "Records")]
    pub records: Vec<CosRecord>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// One COS notification.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CosRecord {
    /// The bucket and object (key `cos`).
    #[serde(rename = "cos")]
    pub cos: CosEntity,
    /// What happened (key `event`).
    #[serde(rename = "event")]
    pub event: CosEventInfo,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The `cos` part of a record: the bucket and the object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CosEntity {
    /// `1.0`.
    #[serde(rename = "cosSchemaVersion", default)]
    pub cos_schema_version: String,
    /// The object.
    #[serde(rename = "cosObject")]
    pub cos_object: CosObject,
    /// The bucket.
    #[serde(rename = "cosBucket")]
    pub cos_bucket: CosBucket,
    /// The notification rule's id; `unkown` (sic) in the samples.
    #[serde(rename = "cosNotificationId", default)]
    pub cos_notification_id: String,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The object a COS event is about.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CosObject {
    /// The object's URL. Host forms differ between regions and over time; do not parse the host.
    #[serde(rename = "url")]
    pub url: String,
    /// Object metadata with mixed-case keys (`x-cos-request-id`, `Content-Type`, `x-cos-meta-*`,
    /// ...). Values may be `""`; `null` reads as empty.
    #[serde(rename = "meta", default, deserialize_with = "null_as_default")]
    pub meta: HashMap<String, String>,
    /// The version id; `""` when the bucket is not versioned.
    #[serde(rename = "vid", default)]
    pub vid: String,
    /// The key **prefixed** with `/<appid>/<bucket>/`; see [`object_key`](Self::object_key).
    #[serde(rename = "key")]
    pub key: String,
    /// Size in bytes.
    #[serde(rename = "size", default)]
    pub size: u64,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl CosObject {
    /// The object key inside the bucket: [`key`](Self::key) without its `/<appid>/<bucket>/`
    /// prefix. A key without that prefix is returned without its leading `/`.
    ///
    /// ```
    /// let mut o = scf_events::cos::CosObject::default();
    /// o.key = "/1253970026/testpic/dir/file.txt".into();
    /// assert_eq!(o.object_key(), "dir/file.txt");
    /// ```
    pub fn object_key(&self) -> &str {
        let rest = self.key.strip_prefix('/').unwrap_or(&self.key);
        let mut parts = rest.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(appid), Some(_bucket), Some(key))
                if !appid.is_empty() && appid.bytes().all(|b| b.is_ascii_digit()) =>
            {
                key
            }
            _ => rest,
        }
    }

    /// A metadata value by name, ignoring ASCII case (`content-type` finds `Content-Type`).
    pub fn meta_value(&self, name: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The bucket a COS event is about.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CosBucket {
    /// A legacy short region code (`cd`, `gz`, `bj`, ...), not `ap-chengdu`.
    #[serde(rename = "region", default)]
    pub region: String,
    /// The bucket name **without** its `-<appid>` suffix.
    #[serde(rename = "name")]
    pub name: String,
    /// The owner's APPID: a number sent as a string.
    #[serde(rename = "appid", default)]
    pub appid: String,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The `event` part of a record: what happened and who asked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CosEventInfo {
    /// The event type, e.g. `cos:ObjectCreated:Put`.
    #[serde(rename = "eventName")]
    pub event_name: CosEventName,
    /// `1.0`.
    #[serde(rename = "eventVersion", default)]
    pub event_version: String,
    /// Unix seconds. See [`event_time`](Self::event_time) (feature `chrono`).
    #[serde(rename = "eventTime", default)]
    pub event_time: i64,
    /// `qcs::cos`.
    #[serde(rename = "eventSource", default)]
    pub event_source: String,
    /// The request that caused the event.
    #[serde(rename = "requestParameters", default)]
    pub request_parameters: CosRequestParameters,
    /// The delivery queue, e.g. `qcs:0:scf:cd:appid/1253970026:default.fn.$LATEST`.
    #[serde(rename = "eventQueue", default)]
    pub event_queue: String,
    /// Reserved, `""`.
    #[serde(rename = "reservedInfo", default)]
    pub reserved_info: String,
    /// The request id (key `reqid`).
    #[serde(rename = "reqid", default)]
    pub reqid: u64,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl CosEventInfo {
    /// [`event_time`](Self::event_time) as a UTC time; `None` when out of range.
    #[cfg(feature = "chrono")]
    pub fn event_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp(self.event_time, 0)
    }
}

/// The request behind a COS event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CosRequestParameters {
    /// The client's IP (key `requestSourceIP`).
    #[serde(rename = "requestSourceIP", default)]
    pub request_source_ip: String,
    /// The request's headers; values may be `""`, `null` reads as empty.
    #[serde(
        rename = "requestHeaders",
        default,
        deserialize_with = "null_as_default"
    )]
    pub request_headers: HashMap<String, String>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

string_enum! {
    /// A COS event type. Unknown values are kept in [`CosEventName::Other`].
    ///
    /// A real upload has been seen reporting the configured wildcard (`cos:ObjectCreated:*`)
    /// rather than the operation.
    pub enum CosEventName {
        /// `cos:ObjectCreated:*`
        ObjectCreatedAll = "cos:ObjectCreated:*",
        /// `cos:ObjectCreated:Put`
        ObjectCreatedPut = "cos:ObjectCreated:Put",
        /// `cos:ObjectCreated:Post`
        ObjectCreatedPost = "cos:ObjectCreated:Post",
        /// `cos:ObjectCreated:Copy`
        ObjectCreatedCopy = "cos:ObjectCreated:Copy",
        /// `cos:ObjectCreated:CompleteMultipartUpload`
        ObjectCreatedCompleteMultipartUpload = "cos:ObjectCreated:CompleteMultipartUpload",
        /// `cos:ObjectCreated:Origin` (created by origin-pull)
        ObjectCreatedOrigin = "cos:ObjectCreated:Origin",
        /// `cos:ObjectCreated:Replication`
        ObjectCreatedReplication = "cos:ObjectCreated:Replication",
        /// `cos:ObjectRemove:*`
        ObjectRemoveAll = "cos:ObjectRemove:*",
        /// `cos:ObjectRemove:Delete`
        ObjectRemoveDelete = "cos:ObjectRemove:Delete",
        /// `cos:ObjectRemove:DeleteMarkerCreated`
        ObjectRemoveDeleteMarkerCreated = "cos:ObjectRemove:DeleteMarkerCreated",
        /// `cos:ObjectRestore:Post`
        ObjectRestorePost = "cos:ObjectRestore:Post",
        /// `cos:ObjectRestore:Completed`
        ObjectRestoreCompleted = "cos:ObjectRestore:Completed",
    }
}

impl CosEventName {
    /// Whether this is an `ObjectCreated` event (by its wire prefix, so unknown variants count).
    pub fn is_created(&self) -> bool {
        self.as_str().starts_with("cos:ObjectCreated:")
    }

    /// Whether this is an `ObjectRemove` event.
    pub fn is_removed(&self) -> bool {
        self.as_str().starts_with("cos:ObjectRemove:")
    }

    /// Whether this is an `ObjectRestore` event.
    pub fn is_restored(&self) -> bool {
        self.as_str().starts_with("cos:ObjectRestore:")
    }
}

/// Reads `null` as the type's default (an empty map).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
