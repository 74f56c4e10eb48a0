//! CMQ Topic trigger (legacy): a message published to a CMQ topic, pushed to the function.
//!
//! ```json
//! {
//!   "Records": [{
//!     "CMQ": {
//!       "type": "topic",
//!       "topicOwner": "1200000000",
//!       "topicName": "testtopic",
//!       "subscriptionName": "xxxxxx",
//!       "publishTime": "1970-01-01T00:00:00.000Z",
//!       "msgId": "123345346",
//!       "requestId": "123345346",
//!       "msgBody": "Hello from CMQ!",
//!       "msgTag": "tag1,tag2"
//!     }
//!   }]
//! }
//! ```
//!
//! Things to know: the key is `CMQ`; `topicOwner` is a number in some samples and a string in
//! others; `msgTag` is `"tag1,tag2"`, `"a, b"` or `["tag1","tag2"]`; `publishTime` may or may not
//! have milliseconds. The wire forms are kept and [`CmqMessage::topic_owner`] /
//! [`CmqMessage::tags`] normalise them.
//!
//! ```
//! use scf_events::cmq::CmqEvent;
//!
//! let event: CmqEvent = serde_json::from_str(r#"{"Records":[{"CMQ":{
//!   "type":"topic","topicOwner":1253970026,"topicName":"t","subscriptionName":"s",
//!   "publishTime":"2019-08-16T10:48:49Z","msgId":"123","requestId":"456",
//!   "msgBody":"hi","msgTag":"aaaa, bbbbb"}}]}"#).unwrap();
//! let msg = &event.records[0].cmq;
//! assert_eq!(msg.topic_owner(), Some(1253970026));
//! assert_eq!(msg.tags().collect::<Vec<_>>(), ["aaaa", "bbbbb"]);
//! ```

use serde::{Deserialize, Serialize};

use crate::custom_serde::list::CommaList;
use crate::custom_serde::number::StringOrU64;

// The body helper lives in `ckafka` when that feature is on; it is included here otherwise.
#[cfg(feature = "ckafka")]
use crate::ckafka::msg_body;
#[cfg(not(feature = "ckafka"))]
#[path = "msg_body.rs"]
mod msg_body;

/// The event a CMQ Topic trigger delivers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct CmqEvent<T = String> {
    /// The messages (key `Records`).
    #[serde(rename = "Records")]
    pub records: Vec<CmqRecord<T>>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl<T> CmqEvent<T> {
    /// The messages, without their `CMQ` wrappers.
    pub fn messages(&self) -> impl Iterator<Item = &CmqMessage<T>> + '_ {
        self.records.iter().map(|r| &r.cmq)
    }
}

/// One record of a CMQ event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct CmqRecord<T = String> {
    /// The message (key `CMQ`).
    #[serde(rename = "CMQ")]
    pub cmq: CmqMessage<T>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A CMQ message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct CmqMessage<T = String> {
    /// `topic` (or `queue`) (key `type`).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The topic owner's account id, as sent (number or string); see
    /// [`topic_owner`](Self::topic_owner).
    #[serde(rename = "topicOwner")]
    pub topic_owner: StringOrU64,
    /// The topic.
    #[serde(rename = "topicName")]
    pub topic_name: String,
    /// The subscription that delivered the message.
    #[serde(rename = "subscriptionName", default)]
    pub subscription_name: String,
    /// When the message was published: RFC 3339, with or without milliseconds. See
    /// [`publish_time`](Self::publish_time) (feature `chrono`).
    #[serde(rename = "publishTime", default)]
    pub publish_time: String,
    /// The message id: numeric-looking, kept as a string.
    #[serde(rename = "msgId", default)]
    pub msg_id: String,
    /// The request id: numeric, may exceed `i64`, kept as a string.
    #[serde(rename = "requestId", default)]
    pub request_id: String,
    /// The message body. `T = String` keeps it as sent; any other `T` is parsed from the JSON
    /// inside it (and written back as a JSON string).
    #[serde(rename = "msgBody", with = "msg_body")]
    pub msg_body: T,
    /// The message's tags as sent; see [`tags`](Self::tags).
    #[serde(rename = "msgTag", default)]
    pub msg_tag: CommaList,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl<T> CmqMessage<T> {
    /// The topic owner's account id, whether it arrived as a number or a string.
    pub fn topic_owner(&self) -> Option<u64> {
        self.topic_owner.value()
    }

    /// The tags: `"a,b"`, `"a, b"` and `["a","b"]` all yield `a`, `b`; `""` yields none.
    pub fn tags(&self) -> impl Iterator<Item = &str> + '_ {
        self.msg_tag.items()
    }

    /// The publish time; `None` when it is not RFC 3339.
    #[cfg(feature = "chrono")]
    pub fn publish_time(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        chrono::DateTime::parse_from_rfc3339(self.publish_time.trim()).ok()
    }
}
