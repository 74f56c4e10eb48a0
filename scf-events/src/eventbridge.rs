//! EventBridge trigger: a CloudEvents-style envelope around a source-specific `data` object, with
//! [`TdmqData`] for the TDMQ (Pulsar) connector.
//!
//! ```json
//! {
//!   "specversion": "0",
//!   "id": "13a3f42d-7258-4ada-da6d-023a333b4662",
//!   "source": "tdmq.cloud.tencent",
//!   "type": "connector:tdmq",
//!   "subjuect": "qcs::tdmq:$region:$account:topicName/$topicSets.clusterId/$topicSets.environmentId/$topicSets.topicName",
//!   "time": "1615430559146",
//!   "region": "ap-guangzhou",
//!   "datacontenttype": "application/json;charset=utf-8",
//!   "data": {
//!     "topic": "persistent://appid/namespace/topic-1",
//!     "tags": "testtopic",
//!     "TopicType": "0",
//!     "subscriptionName": "xxxxxx",
//!     "toTimestamp": "1615430559146",
//!     "partitions": "0",
//!     "msgId": "123345346",
//!     "msgBody": "Hello from TDMQ!"
//!   }
//! }
//! ```
//!
//! Things to know: the SCF docs spell `subject` as `subjuect` (both are read, `subject` is written);
//! `time`, `TopicType`, `partitions` and `toTimestamp` arrive as strings or numbers (the form is
//! kept); with batch delivery the function receives a **top-level array** of envelopes
//! ([`EventBridgeBatch`]).
//!
//! ```
//! use scf_events::eventbridge::{EventBridgeEvent, TdmqData, TdmqTopicType};
//!
//! let event: EventBridgeEvent<TdmqData> = serde_json::from_str(r#"{
//!   "specversion":"0","id":"1","source":"tdmq.cloud.tencent","type":"connector:tdmq",
//!   "subjuect":"qcs::tdmq:ap-guangzhou:uin/1:topicName/c/e/t","time":"1615430559146",
//!   "region":"ap-guangzhou","datacontenttype":"application/json;charset=utf-8",
//!   "data":{"topic":"persistent://appid/ns/topic-1","tags":"","TopicType":2,
//!           "subscriptionName":"sub","toTimestamp":"1615430559146","partitions":"3",
//!           "msgId":"1","msgBody":"hi"}}"#).unwrap();
//! assert_eq!(event.time_millis(), Some(1615430559146));
//! assert_eq!(event.data.topic_type(), Some(TdmqTopicType::PartitionedOrder));
//! assert_eq!(event.data.partitions(), Some(3));
//! // The typo is read, the canonical name is written.
//! assert!(serde_json::to_string(&event).unwrap().contains(r#""subject":"#));
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::custom_serde::number::{StringOrI64, StringOrU64};

/// A batch delivery: the function receives a top-level JSON array of envelopes.
pub type EventBridgeBatch<D = serde_json::Value> = Vec<EventBridgeEvent<D>>;

/// An EventBridge envelope. `D` is the source-specific `data` (default: any JSON).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(bound(serialize = "D: Serialize", deserialize = "D: Deserialize<'de>"))]
pub struct EventBridgeEvent<D = serde_json::Value> {
    /// `"0"` (SCF and older EventBridge docs) or `"1.0"` (newer).
    #[serde(rename = "specversion")]
    pub specversion: String,
    /// The event id.
    #[serde(rename = "id", default)]
    pub id: String,
    /// The event type, e.g. `connector:tdmq`, `cos:created:object`, `cvm:CloudEvent:ApiCall`
    /// (key `type`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The producer, `<product>.cloud.tencent`.
    #[serde(rename = "source")]
    pub source: String,
    /// The resource the event is about. Read from `subject` or the SCF docs' `subjuect`; written as
    /// `subject`.
    #[serde(rename = "subject", alias = "subjuect", default)]
    pub subject: String,
    /// Epoch milliseconds, as sent (string or number); see [`time_millis`](Self::time_millis).
    #[serde(rename = "time", default)]
    pub time: StringOrI64,
    /// The region, e.g. `ap-guangzhou`.
    #[serde(rename = "region", default)]
    pub region: String,
    /// The content type of `data`, e.g. `application/json;charset=utf-8`.
    #[serde(rename = "datacontenttype", default)]
    pub datacontenttype: String,
    /// The source-specific payload.
    #[serde(rename = "data")]
    pub data: D,
    /// Tags (CloudAudit sample); absent for most sources.
    #[serde(rename = "tags", default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, String>>,
    /// Resource names (CloudAudit sample); absent for most sources.
    #[serde(rename = "resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Vec<String>>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl<D> EventBridgeEvent<D> {
    /// The event time in epoch milliseconds, whichever form it arrived in.
    pub fn time_millis(&self) -> Option<i64> {
        self.time.value()
    }

    /// The event time as a UTC time.
    #[cfg(feature = "chrono")]
    pub fn time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.time_millis()
            .and_then(chrono::DateTime::from_timestamp_millis)
    }
}

/// The `data` of a TDMQ (Pulsar) connector event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TdmqData {
    /// The full topic name, e.g. `persistent://appid/namespace/topic-1`.
    #[serde(rename = "topic")]
    pub topic: String,
    /// The message's tags, as sent.
    #[serde(rename = "tags", default)]
    pub tags: String,
    /// The topic type as sent (string or number; key `TopicType`); see
    /// [`topic_type`](Self::topic_type).
    #[serde(rename = "TopicType", default)]
    pub topic_type: StringOrU64,
    /// The subscription that delivered the message.
    #[serde(rename = "subscriptionName", default)]
    pub subscription_name: String,
    /// Epoch milliseconds, as sent.
    #[serde(rename = "toTimestamp", default)]
    pub to_timestamp: StringOrI64,
    /// The partition count, as sent; see [`partitions`](Self::partitions).
    #[serde(rename = "partitions", default)]
    pub partitions: StringOrU64,
    /// The message id.
    #[serde(rename = "msgId", default)]
    pub msg_id: String,
    /// The message body.
    #[serde(rename = "msgBody", default)]
    pub msg_body: String,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl TdmqData {
    /// The topic type; `None` when `TopicType` is not a number.
    pub fn topic_type(&self) -> Option<TdmqTopicType> {
        self.topic_type.value().map(TdmqTopicType::from_code)
    }

    /// The partition count.
    pub fn partitions(&self) -> Option<u64> {
        self.partitions.value()
    }

    /// `toTimestamp` in epoch milliseconds.
    pub fn to_timestamp_millis(&self) -> Option<i64> {
        self.to_timestamp.value()
    }
}

/// The kind of TDMQ topic a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TdmqTopicType {
    /// 0: a normal topic.
    Normal,
    /// 1: globally ordered.
    GlobalOrder,
    /// 2: ordered per partition.
    PartitionedOrder,
    /// 3: a retry topic.
    Retry,
    /// 4: a dead-letter topic.
    DeadLetter,
    /// Any other code.
    Other(u64),
}

impl TdmqTopicType {
    /// The type for a numeric code.
    pub fn from_code(code: u64) -> Self {
        match code {
            0 => Self::Normal,
            1 => Self::GlobalOrder,
            2 => Self::PartitionedOrder,
            3 => Self::Retry,
            4 => Self::DeadLetter,
            other => Self::Other(other),
        }
    }

    /// The numeric code.
    pub fn code(self) -> u64 {
        match self {
            Self::Normal => 0,
            Self::GlobalOrder => 1,
            Self::PartitionedOrder => 2,
            Self::Retry => 3,
            Self::DeadLetter => 4,
            Self::Other(code) => code,
        }
    }
}
