//! [`AnyEvent`] and [`detect`]: which trigger a payload came from.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Any SCF event, typed when its trigger is recognised by its keys.
///
/// The trigger is decided **by key inspection, in this order** (never by trying every type in
/// turn, which would give serde's unhelpful "did not match any variant"):
///
/// | # | Test | [`AnyEvent::kind`] |
/// |---|---|---|
/// | 1 | a non-empty top-level array whose every element is an object with `specversion` | `eventbridge` (batch) |
/// | 2 | a `websocket` object with `action` | `apigw_websocket` |
/// | 3 | a `requestContext` object and `httpMethod` | `apigw` |
/// | 4 | `httpMethod`, `path` and `headers`, no `requestContext` | `function_url` |
/// | 5 | `payload` and `headers`, no `httpMethod` | `clb` |
/// | 6 | `Type == "Timer"` and `TriggerName` | `timer` |
/// | 7 | a non-empty `Records` array whose first element has `cos` / `Ckafka` / `CMQ` | `cos` / `ckafka` / `cmq` |
/// | 8 | a `clslogs` object with `data` | `cls` |
/// | 9 | an `EventType` string and a `WorkflowTaskEvent` or `EditMediaTaskEvent` object | `mps` |
/// | 10 | `specversion`, `type` and `source` | `eventbridge` |
/// | 11 | anything else (`{"Records":[]}`, plain arrays, scalars, MQTT, Cloud API payloads) | `custom` |
///
/// When a payload matches a row but does not parse as that trigger's type (or the trigger's cargo
/// feature is off), it is kept as [`AnyEvent::Custom`]. Deserialising an `AnyEvent` never fails on
/// valid JSON, and serialising it writes the platform's shape back.
///
/// ```
/// use scf_events::AnyEvent;
///
/// let event: AnyEvent = serde_json::from_str(r#"{"Type":"Timer","TriggerName":"EveryDay",
///     "Time":"2019-02-21T11:49:00Z","Message":""}"#).unwrap();
/// # #[cfg(feature = "timer")]
/// assert_eq!(event.kind(), "timer");
///
/// let event: AnyEvent = serde_json::from_str(r#"{"Records":[]}"#).unwrap();
/// assert_eq!(event.kind(), "custom");
/// assert_eq!(scf_events::detect(&serde_json::json!({"clslogs": {"data": ""}})), Some("cls"));
/// ```
///
/// Each variant exists when its trigger's cargo feature is on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnyEvent {
    /// An API Gateway request (`apigw`).
    #[cfg(feature = "apigw")]
    ApiGateway(Box<crate::apigw::ApiGatewayRequest>),
    /// An API Gateway WebSocket event (`apigw_websocket`).
    #[cfg(feature = "apigw")]
    ApiGatewayWebSocket(Box<crate::apigw::ApiGatewayWebSocketEvent>),
    /// A Function URL request (`function_url`).
    #[cfg(feature = "function_url")]
    FunctionUrl(Box<crate::function_url::FunctionUrlRequest>),
    /// A timer firing (`timer`).
    #[cfg(feature = "timer")]
    Timer(Box<crate::timer::TimerEvent>),
    /// COS object notifications (`cos`).
    #[cfg(feature = "cos")]
    Cos(Box<crate::cos::CosEvent>),
    /// A CKafka batch (`ckafka`).
    #[cfg(feature = "ckafka")]
    Ckafka(Box<crate::ckafka::CkafkaEvent>),
    /// CMQ topic messages (`cmq`).
    #[cfg(feature = "cmq")]
    Cmq(Box<crate::cmq::CmqEvent>),
    /// A CLS log batch (`cls`).
    #[cfg(feature = "cls")]
    Cls(Box<crate::cls::ClsEvent>),
    /// An MPS task event (`mps`).
    #[cfg(feature = "mps")]
    Mps(Box<crate::mps::MpsEvent>),
    /// A CLB request (`clb`).
    #[cfg(feature = "clb")]
    Clb(Box<crate::clb::ClbEvent>),
    /// One EventBridge envelope (`eventbridge`).
    #[cfg(feature = "eventbridge")]
    EventBridge(Box<crate::eventbridge::EventBridgeEvent>),
    /// An EventBridge batch: a top-level array of envelopes (`eventbridge`).
    #[cfg(feature = "eventbridge")]
    EventBridgeBatch(crate::eventbridge::EventBridgeBatch),
    /// Anything else, kept as JSON (`custom`): Cloud API invocations, MQTT, unknown shapes, and
    /// payloads that look like a trigger but do not parse as it.
    Custom(Value),
}

impl Default for AnyEvent {
    /// `Custom(null)`.
    fn default() -> Self {
        Self::Custom(Value::Null)
    }
}

/// Every value [`AnyEvent::kind`] and [`detect`] can give, in the order of the table.
pub const KINDS: [&str; 12] = [
    "eventbridge",
    "apigw_websocket",
    "apigw",
    "function_url",
    "clb",
    "timer",
    "cos",
    "ckafka",
    "cmq",
    "cls",
    "mps",
    "custom",
];

impl AnyEvent {
    /// Which trigger this is: `apigw`, `apigw_websocket`, `function_url`, `timer`, `cos`, `ckafka`,
    /// `cmq`, `cls`, `mps`, `clb`, `eventbridge` or `custom`.
    pub fn kind(&self) -> &'static str {
        match self {
            #[cfg(feature = "apigw")]
            Self::ApiGateway(_) => "apigw",
            #[cfg(feature = "apigw")]
            Self::ApiGatewayWebSocket(_) => "apigw_websocket",
            #[cfg(feature = "function_url")]
            Self::FunctionUrl(_) => "function_url",
            #[cfg(feature = "timer")]
            Self::Timer(_) => "timer",
            #[cfg(feature = "cos")]
            Self::Cos(_) => "cos",
            #[cfg(feature = "ckafka")]
            Self::Ckafka(_) => "ckafka",
            #[cfg(feature = "cmq")]
            Self::Cmq(_) => "cmq",
            #[cfg(feature = "cls")]
            Self::Cls(_) => "cls",
            #[cfg(feature = "mps")]
            Self::Mps(_) => "mps",
            #[cfg(feature = "clb")]
            Self::Clb(_) => "clb",
            #[cfg(feature = "eventbridge")]
            Self::EventBridge(_) | Self::EventBridgeBatch(_) => "eventbridge",
            Self::Custom(_) => "custom",
        }
    }

    /// Recognises and parses a JSON value; never fails (unrecognised or unparsable payloads are
    /// [`Custom`](Self::Custom)).
    pub fn from_value(value: Value) -> Self {
        match detect(&value).and_then(|kind| typed(kind, &value)) {
            Some(event) => event,
            None => Self::Custom(value),
        }
    }

    /// Parses JSON bytes; fails only when they are not JSON.
    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes).map(Self::from_value)
    }

    /// Whether this is [`Custom`](Self::Custom).
    pub fn is_custom(&self) -> bool {
        matches!(self, Self::Custom(_))
    }

    /// The event as JSON in the platform's shape.
    pub fn to_value(&self) -> serde_json::Result<Value> {
        serde_json::to_value(self)
    }
}

/// Parses `value` as the type of `kind`; `None` when it does not parse or the feature is off.
fn typed(kind: &str, value: &Value) -> Option<AnyEvent> {
    // Unused only when every trigger feature is off.
    #[allow(dead_code)]
    fn parse<'a, T: Deserialize<'a>>(value: &'a Value) -> Option<T> {
        T::deserialize(value).ok()
    }
    let _ = value; // unused only when every trigger feature is off
    match kind {
        #[cfg(feature = "apigw")]
        "apigw" => Some(AnyEvent::ApiGateway(parse(value)?)),
        #[cfg(feature = "apigw")]
        "apigw_websocket" => Some(AnyEvent::ApiGatewayWebSocket(parse(value)?)),
        #[cfg(feature = "function_url")]
        "function_url" => Some(AnyEvent::FunctionUrl(parse(value)?)),
        #[cfg(feature = "timer")]
        "timer" => Some(AnyEvent::Timer(parse(value)?)),
        #[cfg(feature = "cos")]
        "cos" => Some(AnyEvent::Cos(parse(value)?)),
        #[cfg(feature = "ckafka")]
        "ckafka" => Some(AnyEvent::Ckafka(parse(value)?)),
        #[cfg(feature = "cmq")]
        "cmq" => Some(AnyEvent::Cmq(parse(value)?)),
        #[cfg(feature = "cls")]
        "cls" => Some(AnyEvent::Cls(parse(value)?)),
        #[cfg(feature = "mps")]
        "mps" => Some(AnyEvent::Mps(parse(value)?)),
        #[cfg(feature = "clb")]
        "clb" => Some(AnyEvent::Clb(parse(value)?)),
        #[cfg(feature = "eventbridge")]
        "eventbridge" if value.is_array() => Some(AnyEvent::EventBridgeBatch(parse(value)?)),
        #[cfg(feature = "eventbridge")]
        "eventbridge" => Some(AnyEvent::EventBridge(parse(value)?)),
        _ => None,
    }
}

/// Which trigger a JSON payload looks like, by the table on [`AnyEvent`]; `None` when
/// none matches (`custom`). Cheap: it only looks at a few keys.
///
/// The answer does not depend on cargo features, and a payload that is detected may still fail to
/// parse as that trigger's type.
///
/// ```
/// use serde_json::json;
///
/// let cos = json!({"Records": [{"cos": {}, "event": {}}]});
/// assert_eq!(scf_events::detect(&cos), Some("cos"));
/// assert_eq!(scf_events::detect(&json!([1, 2, 3])), None);
/// ```
pub fn detect(value: &Value) -> Option<&'static str> {
    let obj = match value {
        Value::Array(items) => {
            let batch = !items.is_empty()
                && items.iter().all(|item| {
                    item.as_object()
                        .is_some_and(|o| o.contains_key("specversion"))
                });
            return batch.then_some("eventbridge");
        }
        Value::Object(obj) => obj,
        _ => return None,
    };
    let has = |key: &str| obj.contains_key(key);
    if obj
        .get("websocket")
        .and_then(Value::as_object)
        .is_some_and(|ws| ws.contains_key("action"))
    {
        return Some("apigw_websocket");
    }
    let context = obj.get("requestContext").is_some_and(Value::is_object);
    if context && has("httpMethod") {
        return Some("apigw");
    }
    if has("httpMethod") && has("path") && has("headers") && !has("requestContext") {
        return Some("function_url");
    }
    if has("payload") && has("headers") && !has("httpMethod") {
        return Some("clb");
    }
    if obj.get("Type").and_then(Value::as_str) == Some("Timer") && has("TriggerName") {
        return Some("timer");
    }
    if let Some(first) = obj
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|records| records.first())
        .and_then(Value::as_object)
    {
        for (key, kind) in [("cos", "cos"), ("Ckafka", "ckafka"), ("CMQ", "cmq")] {
            if first.contains_key(key) {
                return Some(kind);
            }
        }
    }
    if obj
        .get("clslogs")
        .and_then(Value::as_object)
        .is_some_and(|logs| logs.contains_key("data"))
    {
        return Some("cls");
    }
    let object = |key: &str| obj.get(key).is_some_and(Value::is_object);
    if obj.get("EventType").is_some_and(Value::is_string)
        && (object("WorkflowTaskEvent") || object("EditMediaTaskEvent"))
    {
        return Some("mps");
    }
    if has("specversion") && has("type") && has("source") {
        return Some("eventbridge");
    }
    None
}

/// [`detect`] on JSON bytes; `None` when they are not JSON or match no trigger.
pub fn detect_slice(bytes: &[u8]) -> Option<&'static str> {
    detect(&serde_json::from_slice(bytes).ok()?)
}

/// A phrase naming a kind for messages, e.g. `"a COS event"` for `cos`; `None` for an unknown kind.
///
/// ```
/// assert_eq!(scf_events::describe_kind("apigw"), Some("an API Gateway request"));
/// ```
pub fn describe_kind(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "apigw" => "an API Gateway request",
        "apigw_websocket" => "an API Gateway WebSocket event",
        "function_url" => "a Function URL request",
        "timer" => "a timer event",
        "cos" => "a COS event",
        "ckafka" => "a CKafka event",
        "cmq" => "a CMQ topic event",
        "cls" => "a CLS log event",
        "mps" => "an MPS event",
        "clb" => "a CLB request",
        "eventbridge" => "an EventBridge event",
        "custom" => "a custom event",
        _ => return None,
    })
}

impl Serialize for AnyEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            #[cfg(feature = "apigw")]
            Self::ApiGateway(e) => e.serialize(serializer),
            #[cfg(feature = "apigw")]
            Self::ApiGatewayWebSocket(e) => e.serialize(serializer),
            #[cfg(feature = "function_url")]
            Self::FunctionUrl(e) => e.serialize(serializer),
            #[cfg(feature = "timer")]
            Self::Timer(e) => e.serialize(serializer),
            #[cfg(feature = "cos")]
            Self::Cos(e) => e.serialize(serializer),
            #[cfg(feature = "ckafka")]
            Self::Ckafka(e) => e.serialize(serializer),
            #[cfg(feature = "cmq")]
            Self::Cmq(e) => e.serialize(serializer),
            #[cfg(feature = "cls")]
            Self::Cls(e) => e.serialize(serializer),
            #[cfg(feature = "mps")]
            Self::Mps(e) => e.serialize(serializer),
            #[cfg(feature = "clb")]
            Self::Clb(e) => e.serialize(serializer),
            #[cfg(feature = "eventbridge")]
            Self::EventBridge(e) => e.serialize(serializer),
            #[cfg(feature = "eventbridge")]
            Self::EventBridgeBatch(e) => e.serialize(serializer),
            Self::Custom(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for AnyEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::from_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detection_follows_the_table_order() {
        let cases = [
            (
                json!([{"specversion": "0"}, {"specversion": "1.0"}]),
                Some("eventbridge"),
            ),
            (json!([{"specversion": "0"}, 1]), None),
            (json!([]), None),
            (
                json!({"websocket": {"action": "closing"}, "requestContext": {}, "httpMethod": "GET"}),
                Some("apigw_websocket"),
            ),
            (json!({"websocket": {}}), None),
            (
                json!({"requestContext": {}, "httpMethod": "GET", "path": "/", "headers": {}}),
                Some("apigw"),
            ),
            (json!({"requestContext": "x", "httpMethod": "GET"}), None),
            (
                json!({"httpMethod": "GET", "path": "/", "headers": {}}),
                Some("function_url"),
            ),
            (json!({"httpMethod": "GET", "path": "/"}), None),
            (json!({"payload": "", "headers": {}}), Some("clb")),
            (
                json!({"payload": "", "headers": {}, "httpMethod": "GET"}),
                None,
            ),
            (json!({"Type": "Timer", "TriggerName": "t"}), Some("timer")),
            (json!({"Type": "timer", "TriggerName": "t"}), None),
            (json!({"Records": [{"cos": {}}]}), Some("cos")),
            (json!({"Records": [{"Ckafka": {}}]}), Some("ckafka")),
            (json!({"Records": [{"CMQ": {}}]}), Some("cmq")),
            (json!({"Records": []}), None),
            (json!({"Records": [1]}), None),
            (json!({"clslogs": {"data": "x"}}), Some("cls")),
            (json!({"clslogs": {}}), None),
            (
                json!({"EventType": "WorkflowTask", "WorkflowTaskEvent": {}}),
                Some("mps"),
            ),
            (
                json!({"EventType": "EditMediaTask", "WorkflowTaskEvent": null, "EditMediaTaskEvent": {}}),
                Some("mps"),
            ),
            (
                json!({"EventType": "WorkflowTask", "WorkflowTaskEvent": null}),
                None,
            ),
            (json!({"EventType": 1, "WorkflowTaskEvent": {}}), None),
            (
                json!({"specversion": "0", "type": "t", "source": "s"}),
                Some("eventbridge"),
            ),
            (json!(1), None),
            (json!("x"), None),
            (json!(null), None),
        ];
        for (value, kind) in cases {
            assert_eq!(detect(&value), kind, "{value}");
            assert_eq!(detect_slice(value.to_string().as_bytes()), kind, "{value}");
        }
        assert_eq!(detect_slice(b"not json"), None);
    }

    #[test]
    fn every_kind_is_described() {
        for kind in KINDS {
            assert!(describe_kind(kind).is_some(), "{kind}");
        }
        assert_eq!(describe_kind("nope"), None);
    }

    #[test]
    fn unparsable_matches_are_custom() {
        // Looks like a timer, but `Time` is a number where a string is expected.
        let v = json!({"Type": "Timer", "TriggerName": "t", "Time": 5, "Message": ""});
        let e = AnyEvent::from_value(v.clone());
        assert!(e.is_custom());
        assert_eq!(e.to_value().unwrap(), v);
        assert_eq!(AnyEvent::default(), AnyEvent::Custom(Value::Null));
    }
}
