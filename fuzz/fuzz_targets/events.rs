//! Every event type of `scf-events`, from raw JSON: parsing never panics, and whatever parses
//! serialises to JSON that parses back to the same value (and its accessors do not panic).
//!
//! Types: `ApiGatewayRequest`, `ApiGatewayWebSocketEvent`, `WebSocketReply`,
//! `FunctionUrlRequest`, `ClbEvent`, `IntegratedResponse`, `http::HttpEvent`, `TimerEvent`,
//! `CosEvent`, `CkafkaEvent` (`String` and `Value` bodies), `CmqEvent` (both), `ClsEvent`,
//! `MpsEvent`, `EventBridgeEvent` (`Value` and `TdmqData`), `EventBridgeBatch`, `MqttEvent`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use scf_events::IntegratedResponse;
use scf_events::apigw::{ApiGatewayRequest, ApiGatewayWebSocketEvent, WebSocketReply};
use scf_events::ckafka::CkafkaEvent;
use scf_events::clb::ClbEvent;
use scf_events::cls::ClsEvent;
use scf_events::cmq::CmqEvent;
use scf_events::cos::CosEvent;
use scf_events::eventbridge::{EventBridgeBatch, EventBridgeEvent, TdmqData};
use scf_events::function_url::FunctionUrlRequest;
use scf_events::mps::MpsEvent;
use scf_events::mqtt::MqttEvent;
use scf_events::timer::TimerEvent;
use scf_fuzz::{assert_parses_again, assert_round_trip};

/// Parses `data` as `T`; when it parses, the round trip must give it back.
fn check<T>(data: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let parsed = serde_json::from_slice::<T>(data).ok()?;
    assert_round_trip(&parsed);
    Some(parsed)
}

/// For types carrying a JSON body re-read from text: parsing and re-parsing must not fail.
fn check_loose<T>(data: &[u8])
where
    T: Serialize + DeserializeOwned + std::fmt::Debug,
{
    if let Ok(parsed) = serde_json::from_slice::<T>(data) {
        assert_parses_again(&parsed);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(e) = check::<ApiGatewayRequest>(data) {
        let _ = (e.body_bytes(), e.json::<Value>(), e.uri(), e.request_id());
        let _ = (e.header("content-type"), e.query("a"));
        let _ = e.into_http_request();
    }
    if let Some(e) = check::<ApiGatewayWebSocketEvent>(data) {
        let _ = e.websocket.data_bytes();
        let reply = WebSocketReply::accept(&e);
        assert_round_trip(&reply);
    }
    check::<WebSocketReply>(data);
    if let Some(e) = check::<FunctionUrlRequest>(data) {
        let _ = (e.body_bytes(), e.uri(), e.remote_addr());
        let _ = e.into_http_request();
    }
    if let Some(e) = check::<ClbEvent>(data) {
        let _ = (
            e.payload_bytes(),
            e.payload_json::<Value>(),
            e.stgw_time_millis(),
            e.uri(),
        );
    }
    if let Some(r) = check::<IntegratedResponse>(data) {
        let _ = r.body_bytes();
    }
    // The host's check of a function's answer: what it accepts, it accepts again once
    // serialised, and it always makes a valid HTTP answer.
    if let Ok(value) = serde_json::from_slice::<Value>(data)
        && let Ok(r) = IntegratedResponse::from_value(&value)
    {
        let wire = serde_json::to_value(&r).expect("a checked reply serialises");
        assert_eq!(IntegratedResponse::from_value(&wire).as_ref(), Ok(&r));
        r.into_http()
            .expect("a checked reply is a valid HTTP answer");
    }
    check::<scf_events::http::HttpEvent>(data);
    check::<TimerEvent>(data);
    check::<CosEvent>(data);
    check::<CkafkaEvent>(data);
    check_loose::<CkafkaEvent<Value>>(data);
    check::<CmqEvent>(data);
    check_loose::<CmqEvent<Value>>(data);
    check::<ClsEvent>(data);
    check::<MpsEvent>(data);
    check::<EventBridgeEvent>(data);
    check::<EventBridgeEvent<TdmqData>>(data);
    check::<EventBridgeBatch>(data);
    check::<MqttEvent>(data);
});
