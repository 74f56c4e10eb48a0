//! EventBridge: routes what an EventBridge rule delivers by its source: TDMQ (Pulsar) messages
//! from the TDMQ connector, and CloudAudit API-call records; other sources are reported as not
//! routed.
//!
//! Shows the envelope (`EventBridgeEvent`, with `data` kept as JSON until the source is known,
//! then read as `TdmqData` for TDMQ), the fields that arrive as strings or numbers (`time`,
//! `TopicType`, `partitions`), the SCF docs' `subjuect` spelling, and batch delivery: with
//! batching on, the function receives a top-level **array** of envelopes, so the handler takes
//! a [`Delivery`] that accepts both. An envelope whose `data` does not fit its source is reported
//! as unreadable without failing the rest of the batch.
//!
//! Try it: `cargo run -p scf-runtime-server -- serve` hosts it as `eventbridge`, then
//! `cargo run -p scf-runtime-server -- invoke eventbridge --event eventbridge:batch` (or
//! `eventbridge:cloudaudit`, `eventbridge:tdmq-numeric`), or
//! `curl --data-binary @scf-events/fixtures/eventbridge-tdmq.json http://127.0.0.1:9000/functions/eventbridge/invocations`.

use scf::events::eventbridge::{EventBridgeEvent, TdmqData, TdmqTopicType};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One envelope or a batch of them, as the trigger delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery(pub Vec<EventBridgeEvent>);

impl<'de> Deserialize<'de> for Delivery {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    serde_json::from_value(item)
                        .map_err(|e| D::Error::custom(format!("batch item [{i}]: {e}")))
                })
                .collect::<Result<_, _>>()
                .map(Delivery),
            one => serde_json::from_value(one)
                .map(|event| Delivery(vec![event]))
                .map_err(D::Error::custom),
        }
    }
}

/// Where one envelope went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "route", rename_all = "snake_case")]
pub enum Route {
    /// A TDMQ message.
    Tdmq {
        /// The full topic name.
        topic: String,
        /// `normal`, `global-order`, `partitioned-order`, `retry`, `dead-letter` or `type-<n>`.
        topic_type: Option<String>,
        /// The topic's partition count.
        partitions: Option<u64>,
        /// The message id.
        msg_id: String,
        /// The body: its JSON when it is JSON, else the text.
        body: Value,
    },
    /// A CloudAudit record of an API call.
    Audit {
        /// The API action, e.g. `StopInstances`.
        action: String,
        /// Who called it.
        principal: String,
        /// From where.
        source_ip: String,
        /// The resources the call was about.
        resources: Vec<String>,
    },
    /// A source this function does not handle.
    NotRouted,
    /// The `data` does not fit its source.
    Unreadable {
        /// Why.
        reason: String,
    },
}

/// One envelope's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Routed {
    /// The event id.
    pub id: String,
    /// The producer.
    pub source: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event time, epoch milliseconds.
    pub time_ms: Option<i64>,
    /// What the event is about.
    pub subject: String,
    /// Where it went.
    #[serde(flatten)]
    pub route: Route,
}

/// Routes every envelope of the delivery.
#[scf::function]
pub fn handler(delivery: Delivery, ctx: &scf::Context) -> Vec<Routed> {
    scf::tracing::info!(
        request_id = ctx.request_id(),
        events = delivery.0.len(),
        "routing"
    );
    delivery.0.into_iter().map(route).collect()
}

fn route(event: EventBridgeEvent) -> Routed {
    let route = match event.source.as_str() {
        "tdmq.cloud.tencent" => match TdmqData::deserialize(&event.data) {
            Ok(data) => Route::Tdmq {
                topic_type: data.topic_type().map(topic_type_name),
                partitions: data.partitions(),
                body: serde_json::from_str(&data.msg_body)
                    .unwrap_or_else(|_| Value::String(data.msg_body.clone())),
                topic: data.topic,
                msg_id: data.msg_id,
            },
            Err(e) => Route::Unreadable {
                reason: format!("TDMQ data: {e}"),
            },
        },
        "cloudaudit.cloud.tencent" => {
            audit(&event.data, event.resource.clone().unwrap_or_default())
        }
        _ => Route::NotRouted,
    };
    Routed {
        time_ms: event.time_millis(),
        id: event.id,
        source: event.source,
        kind: event.kind,
        subject: event.subject,
        route,
    }
}

fn audit(data: &Value, resources: Vec<String>) -> Route {
    let text = |pointer: &str| data.pointer(pointer).and_then(Value::as_str);
    match text("/eventName") {
        Some(action) => Route::Audit {
            action: action.to_owned(),
            principal: text("/userIdentity/principalId")
                .unwrap_or_default()
                .to_owned(),
            source_ip: text("/sourceIPAddress").unwrap_or_default().to_owned(),
            resources,
        },
        None => Route::Unreadable {
            reason: "CloudAudit data without eventName".to_owned(),
        },
    }
}

fn topic_type_name(kind: TdmqTopicType) -> String {
    match kind {
        TdmqTopicType::Normal => "normal".to_owned(),
        TdmqTopicType::GlobalOrder => "global-order".to_owned(),
        TdmqTopicType::PartitionedOrder => "partitioned-order".to_owned(),
        TdmqTopicType::Retry => "retry".to_owned(),
        TdmqTopicType::DeadLetter => "dead-letter".to_owned(),
        other => format!("type-{}", other.code()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run_fixture(name: &str) -> Vec<Routed> {
        let raw = scf::events::fixtures::get(name).expect("the fixture is bundled");
        handler(serde_json::from_str(raw).unwrap(), &scf::Context::default())
    }

    #[test]
    fn one_tdmq_message() {
        let routed = run_fixture("eventbridge-tdmq");
        assert_eq!(routed.len(), 1);
        assert_eq!(routed[0].time_ms, Some(1_615_430_559_146));
        // Read from the docs' `subjuect` spelling.
        assert!(routed[0].subject.starts_with("qcs::tdmq:ap-guangzhou"));
        assert_eq!(
            routed[0].route,
            Route::Tdmq {
                topic: "persistent://appid/namespace/topic-1".into(),
                topic_type: Some("normal".into()),
                partitions: Some(0),
                msg_id: "123345346".into(),
                body: json!("Hello from TDMQ!"),
            }
        );
    }

    #[test]
    fn a_batch_is_a_top_level_array() {
        let routed = run_fixture("eventbridge-batch");
        let ids: Vec<&str> = routed
            .iter()
            .map(|r| match &r.route {
                Route::Tdmq { msg_id, .. } => msg_id.as_str(),
                other => panic!("not a TDMQ route: {other:?}"),
            })
            .collect();
        assert_eq!(ids, ["123345346", "123345347"]);
    }

    #[test]
    fn numeric_fields_and_a_json_body() {
        let routed = run_fixture("eventbridge-tdmq-numeric");
        let Route::Tdmq {
            topic_type,
            partitions,
            body,
            ..
        } = &routed[0].route
        else {
            panic!("not a TDMQ route: {:?}", routed[0].route);
        };
        assert_eq!(topic_type.as_deref(), Some("partitioned-order"));
        assert_eq!(*partitions, Some(3));
        assert_eq!(body, &json!({"orderId": 42}));
    }

    #[test]
    fn a_cloudaudit_api_call() {
        let routed = run_fixture("eventbridge-cloudaudit");
        assert_eq!(routed[0].kind, "cvm:CloudEvent:ApiCall");
        assert_eq!(
            routed[0].route,
            Route::Audit {
                action: "StopInstances".into(),
                principal: "100000000001".into(),
                source_ip: "203.0.113.9".into(),
                resources: vec![
                    "qcs::cvm:ap-guangzhou:uin/100000000001:instance/ins-abcd1234".into()
                ],
            }
        );
        let json = serde_json::to_value(&routed[0]).unwrap();
        assert_eq!(json["route"], "audit");
        assert_eq!(json["action"], "StopInstances");
    }

    #[test]
    fn other_sources_and_bad_data_do_not_fail_the_batch() {
        let envelope = |id: &str, source: &str, data: Value| {
            json!({"specversion": "1.0", "id": id, "source": source, "type": "t",
                   "time": 1, "data": data})
        };
        let delivery: Delivery = serde_json::from_value(json!([
            envelope("a", "cos.cloud.tencent", json!({"key": "photo.jpg"})),
            envelope("b", "tdmq.cloud.tencent", json!({"msgBody": "no topic"})),
            envelope("c", "cloudaudit.cloud.tencent", json!({})),
        ]))
        .unwrap();
        let routed = handler(delivery, &scf::Context::default());
        assert_eq!(routed[0].route, Route::NotRouted);
        assert!(
            matches!(&routed[1].route, Route::Unreadable { reason } if reason.contains("missing field `topic`")),
            "{:?}",
            routed[1].route
        );
        assert!(matches!(routed[2].route, Route::Unreadable { .. }));
    }

    #[test]
    fn an_envelope_without_its_required_keys_names_the_batch_item() {
        let err = serde_json::from_value::<Delivery>(json!([
            {"specversion": "0", "source": "s", "type": "t", "data": {}},
            {"specversion": "0", "source": "s", "data": {}},
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("batch item [1]: missing field `type`"),
            "{err}"
        );
        assert!(serde_json::from_value::<Delivery>(json!("hello")).is_err());
    }
}
