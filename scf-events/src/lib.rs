//! Typed events for every Tencent Cloud SCF trigger, tolerant of what the platform really sends.
//!
//! An SCF event function receives one JSON document per invocation. Its shape depends on the
//! trigger: an API Gateway request, a timer firing, COS notifications, a CKafka batch, ... This crate
//! has one type per trigger, parsed leniently: numbers sent as strings, `"true"` for `true`, keys
//! spelled two ways, base64+gzip payloads and query values that are a string, an array or `true`
//! all parse, and serialising an event gives back the platform's shape. Parsing never panics.
//!
//! ```
//! # #[cfg(feature = "apigw")] {
//! use scf_events::apigw::ApiGatewayRequest;
//! use scf_events::IntegratedResponse;
//!
//! // What the API Gateway trigger sends for `GET /hello?name=scf`:
//! let event: ApiGatewayRequest = serde_json::from_str(r#"{
//!   "requestContext": {"serviceId": "service-f94sy04v", "path": "/hello", "httpMethod": "ANY",
//!                      "identity": {}, "sourceIp": "10.0.2.14", "stage": "release"},
//!   "headers": {"host": "example.com", "x-api-requestid": "24281851d905b02a"},
//!   "pathParameters": {}, "queryStringParameters": {}, "headerParameters": {},
//!   "path": "/hello", "queryString": {"name": "scf"}, "httpMethod": "GET"
//! }"#).unwrap();
//!
//! // The handler's answer: an integrated response the gateway turns into HTTP.
//! let name = event.query("name").unwrap_or("world");
//! let reply = IntegratedResponse::text(200, format!("Hello, {name}!"));
//! assert_eq!(reply.body, "Hello, scf!");
//! assert_eq!(event.request_id(), Some("24281851d905b02a"));
//! # }
//! ```
//!
//! When the trigger is not known in advance, [`AnyEvent`] recognises it:
//!
//! ```
//! # #[cfg(feature = "ckafka")] {
//! let event: scf_events::AnyEvent = serde_json::from_str(
//!     r#"{"Records":[{"Ckafka":{"topic":"t","partition":0,"offset":1,"msgKey":"None","msgBody":"hi"}}]}"#,
//! ).unwrap();
//! assert_eq!(event.kind(), "ckafka");
//! # }
//! ```
//!
//! # Triggers
//!
//! | Module | Trigger | Headline type |
//! |---|---|---|
//! | `apigw` | API Gateway (integrated request) and WebSocket APIs | `ApiGatewayRequest`, `ApiGatewayWebSocketEvent` |
//! | `function_url` | Function URL (event functions) | `FunctionUrlRequest` |
//! | `clb` | CLB (load balancer) | `ClbEvent` |
//! | `timer` | Timer (cron), with `timer::cron` | `TimerEvent` |
//! | `cos` | COS object notifications | `CosEvent` |
//! | `ckafka` | CKafka (and self-built Apache Kafka) | `CkafkaEvent<T = String>` |
//! | `cmq` | CMQ topic (legacy) | `CmqEvent<T = String>` |
//! | `cls` | CLS log shipping | `ClsEvent` |
//! | `mps` | MPS media processing | `MpsEvent` |
//! | `eventbridge` | EventBridge (TDMQ and other sources) | `EventBridgeEvent<D = Value>` |
//! | `mqtt` | TDMQ for MQTT (shape unpublished) | `MqttEvent` |
//!
//! API Gateway, CLB and Function URL functions answer with an [`IntegratedResponse`].
//!
//! # Cargo features
//!
//! | Feature | Default | What it adds |
//! |---|---|---|
//! | `apigw`, `function_url`, `clb`, `timer`, `cos`, `ckafka`, `cmq`, `cls`, `mps`, `eventbridge`, `mqtt` | yes | the trigger's module (and its [`AnyEvent`] variant) |
//! | `chrono` | no | typed timestamp accessors (`chrono::DateTime`) |
//! | `http` | no | `http`: events to `http::Request`, `http::Response` to [`IntegratedResponse`], and `call_service` for a `tower::Service` such as an axum `Router` |
//! | `catch-all-fields` | no | every struct keeps unknown keys in `other` and writes them back |
//! | `fixtures` | no | `fixtures`: bundled sample events by name |
//!
//! # Helpers
//!
//! [`custom_serde`] holds the lenient (de)serializers the types use, for your own types too.

pub mod custom_serde;

mod any_event;
mod body;
mod integrated_response;
pub mod json;

#[cfg(feature = "apigw")]
pub mod apigw;
#[cfg(feature = "clb")]
pub mod clb;
#[cfg(feature = "function_url")]
pub mod function_url;

#[cfg(feature = "ckafka")]
pub mod ckafka;
#[cfg(feature = "cls")]
pub mod cls;
#[cfg(feature = "cmq")]
pub mod cmq;
#[cfg(feature = "cos")]
pub mod cos;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
#[cfg(feature = "mps")]
pub mod mps;
#[cfg(feature = "mqtt")]
pub mod mqtt;
#[cfg(feature = "timer")]
pub mod timer;

#[cfg(feature = "fixtures")]
pub mod fixtures;
#[cfg(feature = "http")]
pub mod http;

pub use any_event::{AnyEvent, KINDS, describe_kind, detect, detect_slice};
pub use body::BodyError;
pub use integrated_response::{IntegratedResponse, InvalidResponse};

#[cfg(feature = "apigw")]
pub use apigw::{ApiGatewayRequest, ApiGatewayWebSocketEvent};
#[cfg(feature = "ckafka")]
pub use ckafka::CkafkaEvent;
#[cfg(feature = "clb")]
pub use clb::ClbEvent;
#[cfg(feature = "cls")]
pub use cls::ClsEvent;
#[cfg(feature = "cmq")]
pub use cmq::CmqEvent;
#[cfg(feature = "cos")]
pub use cos::CosEvent;
#[cfg(feature = "eventbridge")]
pub use eventbridge::EventBridgeEvent;
#[cfg(feature = "function_url")]
pub use function_url::FunctionUrlRequest;
#[cfg(feature = "mps")]
pub use mps::MpsEvent;
#[cfg(feature = "mqtt")]
pub use mqtt::MqttEvent;
#[cfg(feature = "timer")]
pub use timer::TimerEvent;
