//! CKafka: totals the orders of a CKafka batch per currency and reports, per partition, the last
//! offset seen (what a consumer would commit).
//!
//! Shows the message body as your own type. `CkafkaEvent<Body>` reads every `msgBody` string as a
//! [`Body`], an untagged enum: a body holding an order's JSON becomes [`Body::Order`]; a body that
//! is JSON of another shape, or not JSON at all (`Hello from Ckafka!`), becomes [`Body::Other`]
//! (plain text is kept as a JSON string) and is reported as skipped instead of failing the whole
//! batch. The alternatives: `CkafkaEvent<Order>` fails the batch on the first body that is not an
//! order; the default `CkafkaEvent` (`String` bodies) leaves every body for you to parse.
//!
//! Try it: `cargo run -p scf-runtime-server -- serve` hosts it as `ckafka`, then
//! `cargo run -p scf-runtime-server -- invoke ckafka --event ckafka:large-offset`, or
//! `curl --data-binary @scf-events/fixtures/ckafka-large-offset.json http://127.0.0.1:9000/functions/ckafka/invocations`.
//! With a Kafka broker at hand, the commented `ckafka` trigger in `scf.toml` feeds it real batches.

use std::collections::BTreeMap;

use scf::events::ckafka::{CkafkaEvent, CkafkaMessage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An order, as the producer writes it into the message body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order's id.
    pub order_id: u64,
    /// The amount in the currency's main unit, e.g. `19.99`.
    pub amount: f64,
    /// ISO 4217 code, e.g. `CNY`.
    pub currency: String,
}

/// A message body: an order, or anything else.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Body {
    /// A body holding an order's JSON.
    Order(Order),
    /// Any other body: other JSON as it is, text that is not JSON as a JSON string.
    Other(Value),
}

/// A message that was not counted, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i64,
    /// The offset.
    pub offset: i64,
    /// The message key, when it has one.
    pub key: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// Where one partition got to in this batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionProgress {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i64,
    /// Messages of this partition in the batch.
    pub messages: usize,
    /// The highest offset of this partition in the batch.
    pub last_offset: i64,
}

/// The function's answer for one batch.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Summary {
    /// Orders counted.
    pub orders: usize,
    /// The sum of the counted orders per currency, in hundredths (`19.99` is `1999`).
    pub totals_cents: BTreeMap<String, i64>,
    /// Messages that were not counted.
    pub skipped: Vec<Skipped>,
    /// Per topic and partition, sorted.
    pub partitions: Vec<PartitionProgress>,
}

/// Totals the batch's orders and tracks each partition's last offset.
#[scf::function]
pub fn handler(event: CkafkaEvent<Body>, ctx: &scf::Context) -> Summary {
    let mut summary = Summary::default();
    let mut progress: BTreeMap<(String, i64), (usize, i64)> = BTreeMap::new();
    for message in event.messages() {
        let seen = progress
            .entry((message.topic.clone(), message.partition))
            .or_insert((0, message.offset));
        seen.0 += 1;
        seen.1 = seen.1.max(message.offset);

        match &message.msg_body {
            Body::Order(order) => match cents(order.amount) {
                Some(cents) => {
                    summary.orders += 1;
                    *summary
                        .totals_cents
                        .entry(order.currency.clone())
                        .or_default() += cents;
                }
                None => summary.skipped.push(skipped(
                    message,
                    format!(
                        "order {} has an invalid amount {}",
                        order.order_id, order.amount
                    ),
                )),
            },
            Body::Other(Value::String(text)) => summary
                .skipped
                .push(skipped(message, format!("not JSON: {}", preview(text)))),
            Body::Other(other) => summary.skipped.push(skipped(
                message,
                format!("not an order: {}", preview(&other.to_string())),
            )),
        }
    }
    summary.partitions = progress
        .into_iter()
        .map(
            |((topic, partition), (messages, last_offset))| PartitionProgress {
                topic,
                partition,
                messages,
                last_offset,
            },
        )
        .collect();
    scf::tracing::info!(
        request_id = ctx.request_id(),
        messages = event.records.len(),
        orders = summary.orders,
        skipped = summary.skipped.len(),
        "batch done"
    );
    summary
}

/// An amount in hundredths; `None` for a negative or non-finite amount, or one too large.
fn cents(amount: f64) -> Option<i64> {
    let cents = (amount * 100.0).round();
    (cents.is_finite() && (0.0..=1e15).contains(&cents)).then_some(cents as i64)
}

fn skipped(message: &CkafkaMessage<Body>, reason: String) -> Skipped {
    Skipped {
        topic: message.topic.clone(),
        partition: message.partition,
        offset: message.offset,
        key: message.key().map(str::to_owned),
        reason,
    }
}

/// At most 40 characters of `text`, for a log-friendly reason.
fn preview(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> CkafkaEvent<Body> {
        let raw = scf::events::fixtures::get(name).expect("the fixture is bundled");
        serde_json::from_str(raw).unwrap()
    }

    fn progress(
        topic: &str,
        partition: i64,
        messages: usize,
        last_offset: i64,
    ) -> PartitionProgress {
        PartitionProgress {
            topic: topic.into(),
            partition,
            messages,
            last_offset,
        }
    }

    #[test]
    fn an_order_past_offset_2_pow_31_is_counted() {
        let summary = handler(fixture("ckafka-large-offset"), &scf::Context::default());
        assert_eq!(summary.orders, 1);
        assert_eq!(summary.totals_cents, BTreeMap::from([("CNY".into(), 1999)]));
        assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
        assert_eq!(
            summary.partitions,
            [progress("orders", 7, 1, 3_000_000_123)]
        );
    }

    #[test]
    fn text_bodies_are_skipped_not_fatal() {
        let summary = handler(fixture("ckafka-doc"), &scf::Context::default());
        assert_eq!(summary.orders, 0);
        assert!(summary.totals_cents.is_empty());
        let offsets: Vec<i64> = summary.skipped.iter().map(|s| s.offset).collect();
        assert_eq!(offsets, [36, 37]);
        assert_eq!(summary.skipped[0].reason, "not JSON: Hello from Ckafka!");
        // `msgKey: "None"` is the platform's way of saying "no key".
        assert_eq!(summary.skipped[0].key, None);
        assert_eq!(summary.partitions, [progress("test-topic", 1, 2, 37)]);
    }

    #[test]
    fn the_capitalised_partition_key_is_read() {
        let summary = handler(
            fixture("ckafka-partition-capital"),
            &scf::Context::default(),
        );
        assert_eq!(summary.partitions, [progress("test-topic", 2, 1, 1024)]);
    }

    #[test]
    fn a_mixed_batch_over_two_partitions() {
        let record = |partition: i64, offset: i64, key: &str, body: &str| {
            json!({"Ckafka": {"topic": "orders", "partition": partition, "offset": offset,
                              "msgKey": key, "msgBody": body}})
        };
        let event = json!({"Records": [
            record(0, 10, "o-1", r#"{"orderId":1,"amount":10.5,"currency":"CNY"}"#),
            record(0, 11, "o-2", r#"{"orderId":2,"amount":0.1,"currency":"USD"}"#),
            record(1, 4, "o-3", r#"{"orderId":3,"amount":0.2,"currency":"USD"}"#),
            record(1, 5, "None", r#"{"ping":true}"#),
            record(1, 6, "o-4", r#"{"orderId":4,"amount":-3,"currency":"CNY"}"#),
            record(0, 12, "o-5", r#"{"orderId":5,"amount":1.25,"currency":"CNY"}"#),
        ]});
        let event: CkafkaEvent<Body> = serde_json::from_value(event).unwrap();
        let summary = handler(event, &scf::Context::default());

        assert_eq!(summary.orders, 4);
        assert_eq!(
            summary.totals_cents,
            BTreeMap::from([("CNY".into(), 1175), ("USD".into(), 30)])
        );
        let reasons: Vec<(i64, &str)> = summary
            .skipped
            .iter()
            .map(|s| (s.offset, s.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (5, r#"not an order: {"ping":true}"#),
                (6, "order 4 has an invalid amount -3"),
            ]
        );
        assert_eq!(summary.skipped[1].key.as_deref(), Some("o-4"));
        assert_eq!(
            summary.partitions,
            [progress("orders", 0, 3, 12), progress("orders", 1, 3, 6)]
        );
    }

    #[test]
    fn an_empty_batch_is_an_empty_summary() {
        let event: CkafkaEvent<Body> = serde_json::from_str(r#"{"Records":[]}"#).unwrap();
        assert_eq!(handler(event, &scf::Context::default()), Summary::default());
    }

    #[test]
    fn a_strict_body_type_fails_the_whole_batch() {
        // What `Body` avoids: with `Order` as the body type, one text body fails every message.
        let raw = scf::events::fixtures::get("ckafka-doc").unwrap();
        let err = serde_json::from_str::<CkafkaEvent<Order>>(raw).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}
