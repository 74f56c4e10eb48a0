//! CKafka trigger (and self-built Apache Kafka, whose JSON is not published and is assumed to be the
//! same): a batch of messages the platform's consumer pulled from a topic.
//!
//! ```json
//! {
//!   "Records": [
//!     { "Ckafka": { "topic": "test-topic", "partition": 1, "offset": 36,
//!                   "msgKey": "None", "msgBody": "Hello from Ckafka!" } },
//!     { "Ckafka": { "topic": "test-topic", "partition": 1, "offset": 37,
//!                   "msgKey": "None", "msgBody": "Hello from Ckafka again!" } }
//!   ]
//! }
//! ```
//!
//! Things to know: the key is spelled `Ckafka`; one doc page writes `Partition` (accepted, written
//! back as `partition`); offsets pass 2^31; a message without a key shows the literal string
//! `"None"` as `msgKey` (kept as is, see [`CkafkaMessage::key`]).
//!
//! The body type `T` defaults to `String` (the body as sent). Any other `T` is parsed from the JSON
//! inside the body string:
//!
//! ```
//! use scf_events::ckafka::CkafkaEvent;
//!
//! #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq, Default)]
//! struct Order { id: u64 }
//!
//! let json = r#"{"Records":[{"Ckafka":{"topic":"orders","Partition":0,"offset":3000000000,
//!     "msgKey":"order-1","msgBody":"{\"id\":7}"}}]}"#;
//! let raw: CkafkaEvent = serde_json::from_str(json).unwrap();
//! assert_eq!(raw.records[0].ckafka.msg_body, r#"{"id":7}"#);
//!
//! let typed: CkafkaEvent<Order> = serde_json::from_str(json).unwrap();
//! let msg = &typed.records[0].ckafka;
//! assert_eq!((msg.partition, msg.offset, msg.msg_body.id), (0, 3_000_000_000, 7));
//! assert_eq!(msg.key(), Some("order-1"));
//! ```

use serde::{Deserialize, Serialize};

#[path = "msg_body.rs"]
pub(crate) mod msg_body;

/// The event a CKafka trigger delivers: a batch of 1 to `maxMsgNum` messages.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct CkafkaEvent<T = String> {
    /// The messages (key `Records`), in partition order. Never assume a fixed count.
    #[serde(rename = "Records")]
    pub records: Vec<CkafkaRecord<T>>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl<T> CkafkaEvent<T> {
    /// The messages, without their `Ckafka` wrappers.
    pub fn messages(&self) -> impl Iterator<Item = &CkafkaMessage<T>> + '_ {
        self.records.iter().map(|r| &r.ckafka)
    }
}

/// One record of a CKafka batch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct CkafkaRecord<T = String> {
    /// The message (key `Ckafka`).
    #[serde(rename = "Ckafka")]
    pub ckafka: CkafkaMessage<T>,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A Kafka message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct CkafkaMessage<T = String> {
    /// The topic.
    #[serde(rename = "topic")]
    pub topic: String,
    /// The partition. Also read from `Partition`; always written as `partition`.
    #[serde(rename = "partition", alias = "Partition")]
    pub partition: i64,
    /// The offset within the partition (passes 2^31).
    #[serde(rename = "offset")]
    pub offset: i64,
    /// The message key as sent. A message without a key shows the literal `"None"`; see
    /// [`key`](Self::key).
    #[serde(rename = "msgKey", default)]
    pub msg_key: String,
    /// The message value. On the wire a string; `T = String` keeps it as sent, any other `T` is
    /// parsed from the JSON inside it (and written back as a JSON string).
    #[serde(rename = "msgBody", with = "msg_body")]
    pub msg_body: T,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl<T> CkafkaMessage<T> {
    /// The message key, or `None` when the platform reported no key (`"None"` or `""`).
    ///
    /// A message whose real key is the text `None` cannot be told apart; read
    /// [`msg_key`](Self::msg_key) if that matters.
    pub fn key(&self) -> Option<&str> {
        match self.msg_key.as_str() {
            "None" | "" => None,
            key => Some(key),
        }
    }
}
