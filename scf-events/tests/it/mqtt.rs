//! MQTT: untyped until the platform documents its JSON; whatever arrives is kept unchanged.

use scf_events::mqtt::MqttEvent;
use serde_json::json;

#[test]
fn any_json_is_kept_and_written_back() {
    for v in [
        json!({"Records": [{"topic": "home/+/temp", "payload": "MjEuNQ==", "qos": 1}]}),
        json!([1, 2, 3]),
        json!("text"),
        json!(null),
    ] {
        let e: MqttEvent = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(e.as_value(), &v);
        assert_eq!(serde_json::to_value(&e).unwrap(), v);
        assert_eq!(e.into_value(), v);
    }
}

#[test]
fn parse_into_a_user_type() {
    #[derive(serde::Deserialize)]
    struct Msg {
        topic: String,
        qos: u8,
    }
    let e = MqttEvent::from(json!({"topic": "a/b", "qos": 1}));
    let m: Msg = e.parse().unwrap();
    assert_eq!((m.topic.as_str(), m.qos), ("a/b", 1));
    assert!(e.parse::<Vec<u8>>().is_err());
}
