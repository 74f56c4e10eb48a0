//! Building the CKafka event ([CKafka trigger](https://www.tencentcloud.com/document/product/583/17530))
//! from fetched messages.
//!
//! Each message becomes one record `{"Ckafka":{"topic","partition","offset","msgKey","msgBody"}}`;
//! a batch is `{"Records":[…]}` with its records in offset order. Records are encoded once, when
//! fetched, so a batch that has to be resent (or cut smaller) costs no re-encoding.

use std::collections::VecDeque;

use bytes::Bytes;
use scf_events::ckafka::{CkafkaMessage, CkafkaRecord};

use crate::fault::MAX_SYNC_EVENT_BYTES;

/// Largest batch event, bytes: the platform's limit for a synchronous event
/// ([`MAX_SYNC_EVENT_BYTES`], 6 MB), as CKafka is a synchronous trigger there. A single message
/// larger than this still goes out, alone.
pub const MAX_BATCH_BYTES: usize = MAX_SYNC_EVENT_BYTES;

/// `msgKey` of a message without a key: the literal text the platform sends.
pub const NO_KEY: &str = "None";

/// One fetched message, encoded as its record of the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EncodedRecord {
    /// The message's offset in its partition.
    pub offset: i64,
    /// The record's JSON text.
    pub json: String,
    /// Whether the key or the value was not UTF-8 and was decoded lossily.
    pub lossy: bool,
}

/// Text of a key or value: as is when it is UTF-8, else decoded lossily (every invalid
/// sequence becomes U+FFFD). Returns whether it was lossy.
pub(super) fn text(bytes: Vec<u8>) -> (String, bool) {
    match String::from_utf8(bytes) {
        Ok(s) => (s, false),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
    }
}

/// Encodes one message of `topic`/`partition` as its record: a missing key is `"None"` (as on
/// the platform), a missing value (a tombstone) is `""`.
pub(super) fn encode_record(
    topic: &str,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
) -> EncodedRecord {
    let (msg_key, key_lossy) = match key {
        None => (NO_KEY.to_owned(), false),
        Some(k) => text(k),
    };
    let (msg_body, body_lossy) = match value {
        None => (String::new(), false),
        Some(v) => text(v),
    };
    // `..Default::default()` fills the catch-all maps when scf-events has `catch-all-fields`.
    #[allow(clippy::needless_update)]
    let record = CkafkaRecord {
        ckafka: CkafkaMessage {
            topic: topic.to_owned(),
            partition: i64::from(partition),
            offset,
            msg_key,
            msg_body,
            ..Default::default()
        },
        ..Default::default()
    };
    let json = serde_json::to_string(&record).unwrap_or_else(|e| {
        // Strings and integers always serialise; keep a valid record regardless.
        tracing::error!(target: "scf::kafka", "cannot encode a CKafka record: {e}");
        String::from("{}")
    });
    EncodedRecord {
        offset,
        json,
        lossy: key_lossy || body_lossy,
    }
}

const HEAD: &str = "{\"Records\":[";
const TAIL: &str = "]}";

/// How many of the first records of `records` go into the next batch: at most `max_records`,
/// and no more than fit in `max_bytes` (but always at least one).
pub(super) fn batch_len(
    records: &VecDeque<EncodedRecord>,
    max_records: usize,
    max_bytes: usize,
) -> usize {
    let mut bytes = HEAD.len() + TAIL.len();
    let mut n = 0;
    for record in records.iter().take(max_records.max(1)) {
        let more = record.json.len() + usize::from(n > 0);
        if n > 0 && bytes + more > max_bytes {
            break;
        }
        bytes += more;
        n += 1;
    }
    n
}

/// The event `{"Records":[…]}` of the first `n` records.
pub(super) fn event(records: &VecDeque<EncodedRecord>, n: usize) -> Bytes {
    let size: usize = records.iter().take(n).map(|r| r.json.len() + 1).sum();
    let mut out = String::with_capacity(HEAD.len() + size + TAIL.len());
    out.push_str(HEAD);
    for (i, record) in records.iter().take(n).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&record.json);
    }
    out.push_str(TAIL);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf_events::ckafka::CkafkaEvent;

    fn records(n: i64) -> VecDeque<EncodedRecord> {
        (0..n)
            .map(|i| {
                encode_record(
                    "orders",
                    3,
                    i + 3_000_000_000,
                    Some(format!("k{i}").into_bytes()),
                    Some(format!("{{\"n\":{i}}}").into_bytes()),
                )
            })
            .collect()
    }

    #[test]
    fn a_batch_parses_as_the_ckafka_event() {
        let all = records(3);
        let bytes = event(&all, 3);
        let parsed: CkafkaEvent = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed.records.len(), 3);
        for (i, m) in parsed.messages().enumerate() {
            assert_eq!(m.topic, "orders");
            assert_eq!(m.partition, 3);
            assert_eq!(m.offset, 3_000_000_000 + i as i64);
            assert_eq!(m.key(), Some(format!("k{i}").as_str()));
            assert_eq!(m.msg_body, format!("{{\"n\":{i}}}"));
        }
        // The exact wire names and types of the platform's CKafka event.
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let first = &value["Records"][0]["Ckafka"];
        let mut keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["msgBody", "msgKey", "offset", "partition", "topic"]);
        assert!(first["partition"].is_i64() && first["offset"].is_i64());
        assert!(first["msgBody"].is_string());
        // A typed body is parsed from the JSON inside msgBody.
        #[derive(serde::Deserialize, serde::Serialize, Default, Debug)]
        struct Body {
            n: u32,
        }
        let typed: CkafkaEvent<Body> = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(typed.records[2].ckafka.msg_body.n, 2);
    }

    #[test]
    fn missing_key_and_value_and_binary_data() {
        let r = encode_record("t", 0, 7, None, None);
        assert!(!r.lossy);
        let one: VecDeque<_> = [r].into();
        let parsed: CkafkaEvent = serde_json::from_slice(&event(&one, 1)).unwrap();
        let m = &parsed.records[0].ckafka;
        assert_eq!(
            (m.msg_key.as_str(), m.key(), m.msg_body.as_str()),
            ("None", None, "")
        );

        let r = encode_record(
            "t",
            0,
            8,
            Some(vec![0xff, b'k']),
            Some(b"caf\xc3\xa9 \xfe!".to_vec()),
        );
        assert!(r.lossy);
        let one: VecDeque<_> = [r].into();
        let parsed: CkafkaEvent = serde_json::from_slice(&event(&one, 1)).unwrap();
        let m = &parsed.records[0].ckafka;
        assert_eq!(m.msg_key, "\u{fffd}k");
        assert_eq!(m.msg_body, "café \u{fffd}!");

        let quoted = encode_record("t", 0, 9, Some(b"\"q\"\n".to_vec()), Some(b"\\".to_vec()));
        assert!(!quoted.lossy);
        let one: VecDeque<_> = [quoted].into();
        let parsed: CkafkaEvent = serde_json::from_slice(&event(&one, 1)).unwrap();
        assert_eq!(parsed.records[0].ckafka.msg_key, "\"q\"\n");
        assert_eq!(parsed.records[0].ckafka.msg_body, "\\");
    }

    #[test]
    fn batches_are_cut_by_count_and_size() {
        let all = records(10);
        assert_eq!(batch_len(&all, 4, MAX_BATCH_BYTES), 4);
        assert_eq!(batch_len(&all, 100, MAX_BATCH_BYTES), 10);
        assert_eq!(batch_len(&all, 0, MAX_BATCH_BYTES), 1);
        assert_eq!(batch_len(&VecDeque::new(), 4, MAX_BATCH_BYTES), 0);
        // Exactly three records fit: the size limit counts the wrapper and the commas.
        let three = event(&all, 3).len();
        assert_eq!(batch_len(&all, 100, three), 3);
        assert_eq!(batch_len(&all, 100, three - 1), 2);
        // One record over the limit still goes out alone.
        assert_eq!(batch_len(&all, 100, 10), 1);
        let empty = event(&all, 0);
        assert_eq!(&empty[..], b"{\"Records\":[]}");
    }
}
