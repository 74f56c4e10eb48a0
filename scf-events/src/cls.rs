//! CLS (Cloud Log Service) trigger: a batch of log lines shipped from a log topic.
//!
//! On the wire the logs are base64 of a gzip stream of JSON:
//!
//! ```json
//! { "clslogs": { "data": "H4sIAAAAAAAAA..." } }
//! ```
//!
//! Decoded, `data` reads:
//!
//! ```json
//! {
//!   "topic_id": "xxxx-xx-xx-xx-yyyyyyyy",
//!   "topic_name": "testname",
//!   "records": [
//!     { "timestamp": "1605578090000000", "content": "{\"level\":\"info\",\"msg\":\"started\"}" }
//!   ]
//! }
//! ```
//!
//! [`ClsEvent`] decodes `data` into [`ClsLogs`] while deserialising and encodes it again while
//! serialising (the compressed bytes may differ from the input; the decoded JSON does not). A payload
//! that is not base64, not gzip/zlib/plain JSON, or not this JSON fails with a serde error saying
//! which step failed.
//!
//! ```
//! use scf_events::cls::{ClsEvent, ClsLogs, ClsRecord};
//!
//! let logs = ClsLogs {
//!     topic_id: "t-1".into(),
//!     topic_name: "app".into(),
//!     records: vec![ClsRecord {
//!         timestamp: "1605578090000000".into(),
//!         content: "started".into(),
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let event = ClsEvent::from_logs(logs.clone());
//! let wire = serde_json::to_string(&event).unwrap();
//! let back: ClsEvent = serde_json::from_str(&wire).unwrap();
//! assert_eq!(back.logs(), &logs);
//! assert_eq!(back.logs().records[0].timestamp_micros(), Some(1_605_578_090_000_000));
//! ```

use serde::{Deserialize, Serialize};

use crate::custom_serde::{gzip, time};

/// The event a CLS trigger delivers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClsEvent {
    /// The envelope (key `clslogs`).
    #[serde(rename = "clslogs")]
    pub clslogs: ClsPayload,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ClsEvent {
    /// An event carrying `logs` (encoded when serialised).
    pub fn from_logs(logs: ClsLogs) -> Self {
        let mut event = Self::default();
        event.clslogs.data = logs;
        event
    }

    /// The decoded logs.
    pub fn logs(&self) -> &ClsLogs {
        &self.clslogs.data
    }
}

/// The `clslogs` envelope.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClsPayload {
    /// The decoded logs. On the wire: base64 of gzip-compressed JSON (key `data`).
    #[serde(rename = "data", with = "gzip::base64_gzip_json")]
    pub data: ClsLogs,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The decoded `clslogs.data`: one log topic's batch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClsLogs {
    /// The log topic's id.
    #[serde(rename = "topic_id", default)]
    pub topic_id: String,
    /// The log topic's name.
    #[serde(rename = "topic_name", default)]
    pub topic_name: String,
    /// The log lines (key `records`, lower-case).
    #[serde(rename = "records", default)]
    pub records: Vec<ClsRecord>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClsRecord {
    /// When the line was logged: **microseconds** since the epoch as a 16-digit string, as sent.
    /// See [`timestamp_micros`](Self::timestamp_micros).
    #[serde(rename = "timestamp", default)]
    pub timestamp: String,
    /// The raw log line; it may itself be JSON (see [`content_json`](Self::content_json)).
    #[serde(rename = "content", default)]
    pub content: String,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ClsRecord {
    /// The timestamp in microseconds; `None` when it is not a string of digits.
    pub fn timestamp_micros(&self) -> Option<i64> {
        time::micros_str::to_micros(&self.timestamp)
    }

    /// The timestamp as a UTC time.
    #[cfg(feature = "chrono")]
    pub fn time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.timestamp_micros()
            .and_then(chrono::DateTime::from_timestamp_micros)
    }

    /// Parses the log line as JSON into `T`.
    pub fn content_json<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(&self.content)
    }
}
