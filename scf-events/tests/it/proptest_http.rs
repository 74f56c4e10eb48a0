//! Property tests: arbitrary JSON, mutated fixtures and arbitrary bytes never panic the HTTP-style
//! event types, integrated responses, `AnyEvent` or the `http` adapter, and whatever parses
//! survives a serialise/parse round trip.
//!
//! About 115k cases in total; the counts are per test below.

use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use scf_events::apigw::{ApiGatewayRequest, ApiGatewayWebSocketEvent, WebSocketReply};
use scf_events::clb::ClbEvent;
use scf_events::function_url::FunctionUrlRequest;
use scf_events::{AnyEvent, IntegratedResponse, detect, detect_slice};

use crate::support::fixture;

/// Keys the HTTP-style types and `AnyEvent` look for, so generated objects reach past the top.
const KEYS: &[&str] = &[
    "requestContext",
    "httpMethod",
    "path",
    "headers",
    "body",
    "isBase64Encoded",
    "queryString",
    "pathParameters",
    "queryStringParameters",
    "headerParameters",
    "stageVariables",
    "identity",
    "secretId",
    "serviceId",
    "stage",
    "websocket",
    "action",
    "secConnectionID",
    "dataType",
    "data",
    "errNo",
    "payload",
    "statusCode",
    "X-Stgw-Time",
    "Type",
    "TriggerName",
    "Records",
    "cos",
    "Ckafka",
    "CMQ",
    "clslogs",
    "EventType",
    "WorkflowTaskEvent",
    "specversion",
    "type",
    "source",
];

/// Strings that mean something to the parsers.
const WORDS: &[&str] = &[
    "",
    "true",
    "TRUE",
    "false",
    "GET",
    "POST",
    "Timer",
    "/",
    "/a b?c#d",
    "binary",
    "text",
    "data send",
    "connecting",
    "aGk=",
    "%%%",
    "1591692977.774",
    "text/plain",
    "\u{0}\n",
    "ü",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u64..1000).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(WORDS).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z -]{0,8}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..7)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The HTTP-style fixtures, for mutation.
const FIXTURES: &[&str] = &[
    "apigw-get",
    "apigw-post-json",
    "apigw-base64-string-flag",
    "apigw-base64-bool",
    "apigw-null-maps",
    "apigw-ws-connect",
    "apigw-ws-data-binary",
    "apigw-ws-connect-reply",
    "apigw-response-multiheader",
    "apigw-response-binary",
    "function-url-post",
    "clb-doc-legacy",
    "clb-doc-new",
    "clb-binary",
];

/// Replaces the node reached by following `steps` (each picks a child by index) with `new`.
fn mutate(value: &mut Value, steps: &[usize], new: Value) {
    let Some((&step, rest)) = steps.split_first() else {
        *value = new;
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(step % map.len()).cloned().unwrap();
            mutate(map.get_mut(&key).unwrap(), rest, new);
        }
        Value::Array(items) if !items.is_empty() => {
            let len = items.len();
            mutate(&mut items[step % len], rest, new);
        }
        _ => *value = new,
    }
}

/// If `value` parses as `T`, serialising and parsing again gives the same `T`.
fn check<T>(value: &Value) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let parsed = T::deserialize(value).ok()?;
    let out = serde_json::to_value(&parsed).expect("a parsed event serialises");
    let again: T = serde_json::from_value(out).expect("a serialised event parses");
    assert_eq!(again, parsed);
    Some(parsed)
}

/// Runs every type and accessor over one value.
fn exercise(value: &Value) {
    if let Some(e) = check::<ApiGatewayRequest>(value) {
        let _ = e.body_bytes();
        let _ = e.json::<Value>();
        let _ = (
            e.uri(),
            e.request_id(),
            e.header("content-type"),
            e.query("a"),
        );
        #[cfg(feature = "http")]
        let _ = e.into_http_request();
    }
    if let Some(e) = check::<FunctionUrlRequest>(value) {
        let _ = (e.body_bytes(), e.uri(), e.remote_addr());
        #[cfg(feature = "http")]
        let _ = e.into_http_request();
    }
    if let Some(e) = check::<ApiGatewayWebSocketEvent>(value) {
        let _ = e.websocket.data_bytes();
        let _ = WebSocketReply::accept(&e);
    }
    check::<WebSocketReply>(value);
    if let Some(e) = check::<ClbEvent>(value) {
        let _ = (
            e.payload_bytes(),
            e.payload_json::<Value>(),
            e.stgw_time_millis(),
            e.uri(),
        );
    }
    if let Some(r) = check::<IntegratedResponse>(value) {
        let _ = r.body_bytes();
    }
    // The host's check: whatever it accepts serialises to something it accepts again, and
    // becomes an HTTP answer.
    if let Ok(r) = IntegratedResponse::from_value(value) {
        // (Through `Value`, not text: serde_json's text round trip of floats is not exact.)
        let wire = serde_json::to_value(&r).unwrap();
        assert_eq!(IntegratedResponse::from_value(&wire).unwrap(), r);
        #[cfg(feature = "http")]
        r.into_http()
            .expect("a checked reply is a valid HTTP answer");
    }
    #[cfg(feature = "http")]
    let _ = check::<scf_events::http::HttpEvent>(value);
    // AnyEvent: never fails, agrees with detect, and is stable under a round trip.
    let event = AnyEvent::from_value(value.clone());
    let kind = detect(value).unwrap_or("custom");
    assert!(
        event.kind() == kind || event.is_custom(),
        "{} vs {kind}",
        event.kind()
    );
    let again = AnyEvent::from_value(serde_json::to_value(&event).unwrap());
    assert_eq!(again, event);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40_000))]

    /// Arbitrary JSON (objects built from the keys the parsers look for).
    #[test]
    fn arbitrary_json_never_panics(value in json()) {
        exercise(&value);
        // Under a top-level key too, so the typed fields see arbitrary values.
        for wrapper in ["requestContext", "websocket", "headers", "queryString", "payload"] {
            let mut obj = Map::new();
            obj.insert(wrapper.to_owned(), value.clone());
            obj.insert("httpMethod".to_owned(), Value::from("GET"));
            exercise(&Value::Object(obj));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40_000))]

    /// Real shapes with one node replaced by arbitrary JSON.
    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        steps in prop::collection::vec(any::<usize>(), 0..5),
        new in json(),
    ) {
        let mut value = fixture(FIXTURES[which]);
        mutate(&mut value, &steps, new);
        exercise(&value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(35_000))]

    /// Arbitrary bytes, and JSON text cut short.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96), cut in any::<usize>()) {
        let _ = AnyEvent::from_slice(&bytes);
        let _ = IntegratedResponse::from_slice(&bytes);
        let _ = detect_slice(&bytes);
        let _ = serde_json::from_slice::<ApiGatewayRequest>(&bytes);
        let _ = serde_json::from_slice::<ClbEvent>(&bytes);
        let text = fixture(FIXTURES[cut % FIXTURES.len()]).to_string();
        let short = &text.as_bytes()[..cut % (text.len() + 1)];
        let _ = AnyEvent::from_slice(short);
        let _ = IntegratedResponse::from_slice(short);
        let _ = serde_json::from_slice::<ApiGatewayRequest>(short);
    }
}
